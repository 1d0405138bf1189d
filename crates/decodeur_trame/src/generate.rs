//! A deterministic mix of frames for the benchmark and the tests: TCP, UDP,
//! ICMP over IPv4, TCP/UDP/ICMPv6 over IPv6 (some behind a hop-by-hop
//! header), ARP, some of them 802.1Q-tagged, with text and binary payloads.
//! The same seed always gives the same frames, byte for byte.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use pcap_file::pcap::{PcapPacket, PcapWriter};
use protocols::arp::ArpRepr;
use protocols::checksum::PseudoHeader;
use protocols::ethernet::{ethertype, EthernetRepr, MacAddr};
use protocols::icmp::IcmpRepr;
use protocols::icmpv6::Icmpv6Repr;
use protocols::ipv4::{protocol as ip_protocol, Ipv4Repr};
use protocols::ipv6::{Ipv6Extension, Ipv6Repr};
use protocols::tcp::{flags as tcp_flags, TcpRepr};
use protocols::udp::UdpRepr;

/// xorshift64*: tiny, fast, and good enough to vary frames.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // xorshift must not start at 0.
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

const TEXTS: [&[u8]; 4] = [
    b"GET /index.html HTTP/1.1\r\nHost: exemple.fr\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 13\r\n\r\n<p>coucou</p>",
    b"coucou",
    b"it's \"quoted\" \\ and tabs\t",
];

fn mac(rng: &mut Rng) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&rng.bytes(6));
    m[0] &= 0xfe; // unicast
    m
}

fn v4(rng: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::from(rng.next_u64() as u32)
}

fn v6(rng: &mut Rng) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&rng.bytes(16));
    a[0] = 0x20;
    a[1] = 0x01;
    Ipv6Addr::from(a)
}

fn payload(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => Vec::new(),
        1 => TEXTS[rng.below(TEXTS.len() as u64) as usize].to_vec(),
        // Binary: what most captured payloads look like (TLS, DNS ...).
        _ => {
            let n = rng.below(160) as usize;
            rng.bytes(n)
        }
    }
}

/// How many conversations the mix draws its frames from. A real capture
/// holds a few conversations with many frames each; a new conversation per
/// frame would also make tcpdump's per-connection table (it tracks TCP
/// sequence numbers) degenerate, and the bench would measure that instead.
pub const CONVERSATIONS: usize = 256;

/// One conversation: the two ends, their addresses and ports.
#[derive(Debug, Clone)]
struct Conversation {
    macs: ([u8; 6], [u8; 6]),
    v4: (Ipv4Addr, Ipv4Addr),
    v6: (Ipv6Addr, Ipv6Addr),
    ports: (u16, u16),
    vlan: Option<u16>,
}

/// `pair` as is, or swapped: the two directions of a conversation.
fn orient<T>(forward: bool, (a, b): (T, T)) -> (T, T) {
    if forward {
        (a, b)
    } else {
        (b, a)
    }
}

/// An endless, deterministic stream of mixed frames.
#[derive(Debug, Clone)]
pub struct Mix {
    rng: Rng,
    conversations: Vec<Conversation>,
}

impl Mix {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let conversations = (0..CONVERSATIONS)
            .map(|_| Conversation {
                macs: (mac(&mut rng), mac(&mut rng)),
                v4: (v4(&mut rng), v4(&mut rng)),
                v6: (v6(&mut rng), v6(&mut rng)),
                ports: (
                    1024 + rng.below(60000) as u16,
                    // No port tcpdump would dissect further (DNS, NFS ...):
                    // both tools print the same depth of headers.
                    [80u16, 443, 5555, 8080, 22][rng.below(5) as usize],
                ),
                vlan: (rng.below(10) == 0).then_some(42),
            })
            .collect();
        Mix { rng, conversations }
    }

    /// The next frame of the mix.
    pub fn next_frame(&mut self) -> Vec<u8> {
        let rng = &mut self.rng;
        let c = &self.conversations[rng.below(CONVERSATIONS as u64) as usize];
        // Either direction of the conversation.
        let forward = rng.below(2) == 0;
        let (src, dst) = orient(forward, c.macs);
        let (sport, dport) = orient(forward, c.ports);
        let vlans: &[u16] = match &c.vlan {
            Some(vid) => std::slice::from_ref(vid),
            None => &[],
        };
        let kind = rng.below(100);
        match kind {
            // ARP
            0..=7 => {
                let (s, d) = orient(forward, c.v4);
                let op = 1 + rng.below(2) as u16;
                let mut body = Vec::with_capacity(28);
                ArpRepr {
                    operation: op,
                    sender_mac: MacAddr(src),
                    sender_ip: s,
                    target_mac: MacAddr([0; 6]),
                    target_ip: d,
                }
                .emit(&mut body);
                ethernet(dst, src, vlans, ethertype::ARP, &body)
            }
            // IPv6: TCP, UDP or ICMPv6, sometimes behind a hop-by-hop header.
            8..=27 => {
                let (s, d) = orient(forward, c.v6);
                let pseudo = PseudoHeader::V6 {
                    source: s,
                    destination: d,
                };
                let data = payload(rng);
                let (proto, upper) = match rng.below(3) {
                    0 => (
                        ip_protocol::TCP,
                        data_segment(rng, &pseudo, (sport, dport), &[], &data),
                    ),
                    1 => (ip_protocol::UDP, udp(&pseudo, sport, dport, &data)),
                    _ => {
                        let mut m = Vec::with_capacity(8 + data.len());
                        Icmpv6Repr {
                            icmp_type: 128,
                            code: 0,
                            rest: [0, 1, 0, 7],
                        }
                        .emit(s, d, &data, &mut m);
                        (ip_protocol::ICMPV6, m)
                    }
                };
                let extensions = if rng.below(4) == 0 {
                    vec![Ipv6Extension {
                        kind: 0,
                        body: vec![1, 4, 0, 0, 0, 0],
                    }]
                } else {
                    Vec::new()
                };
                let mut ip = Vec::with_capacity(48 + upper.len());
                Ipv6Repr {
                    extensions,
                    ..Ipv6Repr::new(s, d, proto)
                }
                .emit(&upper, &mut ip);
                ethernet(dst, src, vlans, ethertype::IPV6, &ip)
            }
            // IPv4
            _ => {
                let (s, d) = orient(forward, c.v4);
                let pseudo = PseudoHeader::V4 {
                    source: s,
                    destination: d,
                };
                let data = payload(rng);
                let (proto, upper) = match kind {
                    28..=39 => {
                        let mut m = Vec::with_capacity(8 + data.len());
                        IcmpRepr {
                            icmp_type: 8,
                            code: 0,
                            rest: [0x12, 0x34, 0, 1],
                        }
                        .emit(&data, &mut m);
                        (ip_protocol::ICMP, m)
                    }
                    40..=64 => (ip_protocol::UDP, udp(&pseudo, sport, dport, &data)),
                    _ => (
                        ip_protocol::TCP,
                        data_segment(rng, &pseudo, (sport, dport), &[2, 4, 5, 0xb4], &data),
                    ),
                };
                let mut ip = Vec::with_capacity(20 + upper.len());
                Ipv4Repr::new(s, d, proto).emit(&upper, &mut ip);
                ethernet(dst, src, vlans, ethertype::IPV4, &ip)
            }
        }
    }
}

/// A TCP data segment (ACK, PSH) at a random sequence number.
fn data_segment(
    rng: &mut Rng,
    pseudo: &PseudoHeader,
    (sport, dport): (u16, u16),
    options: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let sequence = rng.next_u64() as u32;
    let mut segment = Vec::with_capacity(24 + data.len());
    TcpRepr {
        source_port: sport,
        destination_port: dport,
        sequence,
        acknowledgment: sequence.wrapping_mul(31),
        flags: tcp_flags::ACK | tcp_flags::PSH,
        window: 64240,
        urgent_pointer: 0,
        options: options.to_vec(),
    }
    .emit(pseudo, data, &mut segment);
    segment
}

fn ethernet(dst: [u8; 6], src: [u8; 6], vlans: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(64 + payload.len());
    EthernetRepr {
        destination: MacAddr(dst),
        source: MacAddr(src),
        vlans: vlans.to_vec(),
        ethertype,
    }
    .emit(payload, &mut frame);
    frame
}

fn udp(pseudo: &PseudoHeader, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(8 + data.len());
    UdpRepr {
        source_port: sport,
        destination_port: dport,
    }
    .emit(pseudo, data, &mut datagram);
    datagram
}

/// Writes `count` frames of the mix (seed `seed`) as an Ethernet pcap file.
pub fn write_pcap<W: Write>(out: W, count: u64, seed: u64) -> Result<(), pcap_file::PcapError> {
    let mut writer = PcapWriter::new(out)?;
    let mut mix = Mix::new(seed);
    for i in 0..count {
        let data = mix.next_frame();
        let ts = Duration::from_micros(1_700_000_000_000_000 + i * 137);
        writer.write_packet(&PcapPacket::new(ts, data.len() as u32, &data))?;
    }
    Ok(())
}
