//! Helpers shared by the integration tests: run the binary, build captures,
//! split the output into frames.

#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub mod build;

use build::{ethertype, ip_protocol, tcp_flags, Extension, Ipv4Options};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use protocols::checksum::PseudoHeader;

pub const BIN: &str = env!("CARGO_BIN_EXE_decodeur_trame");

/// Runs the binary with `args`, `stdin` as its standard input.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start decodeur_trame");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The binary may not read it all: ignore a broken pipe.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait decodeur_trame");
    writer.join().expect("stdin writer");
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// The frames of a `pcap`/`live` output: (header line, block lines).
/// Checks the framing rules on the way: each frame starts with its
/// `=== Trame N : L octets ===` line and ends with an empty line.
pub fn split_frames(output: &str) -> Vec<(String, String)> {
    let mut frames = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        let (header, after) = rest.split_once('\n').expect("header line");
        assert!(
            header.starts_with("=== Trame ") && header.ends_with(" octets ==="),
            "{header:?}"
        );
        let end = after
            .find("\n\n")
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("frame without its empty line: {after:?}"));
        frames.push((header.to_string(), after[..end].to_string()));
        rest = &after[end + 1..];
    }
    frames
}

/// The fields of one frame's block, keyed `section/label` where section is
/// the title of the block the line belongs to (`Ethernet`, `IP`, `IPv6`,
/// `ARP`, `UDP`, `TCP`, `ICMP`, `ICMPv6`). Repeated labels (VLAN) are
/// joined with commas.
pub fn fields(block: &str) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = HashMap::new();
    let mut section = String::new();
    for line in block.lines() {
        let t = line.trim();
        if let Some(title) = t
            .strip_prefix(">>> Trame ")
            .and_then(|x| x.strip_suffix(" <<<"))
            .or_else(|| {
                t.strip_prefix("--- Paquet ")
                    .and_then(|x| x.strip_suffix(" ---"))
            })
            .or_else(|| {
                t.strip_prefix("+++ Paquet ")
                    .and_then(|x| x.strip_suffix(" +++"))
            })
        {
            section = title.to_string();
            continue;
        }
        if let Some((label, value)) = t.split_once(" : ") {
            let key = format!("{section}/{}", label.trim_end());
            map.entry(key)
                .and_modify(|v| {
                    v.push(',');
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_string());
        }
    }
    map
}

pub const MAC_A: [u8; 6] = [0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35];
pub const MAC_B: [u8; 6] = [0x37, 0x38, 0x1f, 0x55, 0x6b, 0x98];

/// An Ethernet frame from `MAC_A` to `MAC_B`.
pub fn eth(vlans: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    build::ethernet(MAC_A, MAC_B, vlans, ethertype, payload)
}

/// Frames whose every field the tests know, beyond the generator's mix:
/// options, extension headers, double tags, an ARP reply, first fragments
/// of a large UDP datagram (IPv4 and IPv6).
pub fn special_frames() -> Vec<Vec<u8>> {
    let (a4, b4) = (Ipv4Addr::new(192, 168, 1, 10), Ipv4Addr::new(10, 0, 0, 1));
    let (a6, b6): (Ipv6Addr, Ipv6Addr) =
        ("2001:db8::1".parse().unwrap(), "fe80::2".parse().unwrap());
    let p4 = PseudoHeader::V4 {
        source: a4,
        destination: b4,
    };
    let p6 = PseudoHeader::V6 {
        source: a6,
        destination: b6,
    };
    let mut frames = Vec::new();
    // 1. UDP "coucou" with IP options (IHL 8).
    let opts = Ipv4Options {
        options: vec![1; 12],
        ..Ipv4Options::default()
    };
    let udp = build::udp(&p4, 45, 55710, b"coucou");
    frames.push(eth(
        &[],
        ethertype::IPV4,
        &build::ipv4_with(&opts, a4, b4, ip_protocol::UDP, &udp),
    ));
    // 2. TCP SYN with options.
    let tcp = build::tcp(
        &p4,
        51000,
        80,
        1,
        tcp_flags::SYN,
        &[2, 4, 5, 0xb4, 1, 1, 4, 2],
        b"",
    );
    frames.push(eth(
        &[],
        ethertype::IPV4,
        &build::ipv4(a4, b4, ip_protocol::TCP, &tcp),
    ));
    // 3. HTTP request over TCP, double VLAN tag.
    let tcp = build::tcp(
        &p4,
        51000,
        80,
        2,
        tcp_flags::ACK | tcp_flags::PSH,
        &[],
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    frames.push(eth(
        &[100, 42],
        ethertype::IPV4,
        &build::ipv4(a4, b4, ip_protocol::TCP, &tcp),
    ));
    // 4. ICMP echo request.
    let icmp = build::icmp(8, 0, [0, 1, 0, 1], b"ping it's");
    frames.push(build::ethernet(
        MAC_B,
        MAC_A,
        &[],
        ethertype::IPV4,
        &build::ipv4(b4, a4, ip_protocol::ICMP, &icmp),
    ));
    // 5. IPv6, hop-by-hop + destination options, UDP.
    let udp6 = build::udp(&p6, 5353, 53, b"\x00\x01\x02");
    let ext = [
        Extension {
            kind: 0,
            body: vec![1, 4, 0, 0, 0, 0],
        },
        Extension {
            kind: 60,
            body: vec![1, 4, 0, 0, 0, 0],
        },
    ];
    frames.push(eth(
        &[],
        ethertype::IPV6,
        &build::ipv6(a6, b6, &ext, ip_protocol::UDP, &udp6),
    ));
    // 6. ICMPv6 echo request, VLAN 7.
    let icmp6 = build::icmpv6(a6, b6, 128, 0, [0, 9, 0, 1], b"abc");
    frames.push(eth(
        &[7],
        ethertype::IPV6,
        &build::ipv6(a6, b6, &[], ip_protocol::ICMPV6, &icmp6),
    ));
    // 7. ARP reply.
    let arp = build::arp(2, MAC_B, b4, MAC_A, a4);
    frames.push(eth(&[], ethertype::ARP, &arp));
    // 8. IPv6 TCP.
    let tcp6 = build::tcp(&p6, 443, 40000, 9, tcp_flags::ACK, &[], b"\x16\x03\x01");
    frames.push(build::ethernet(
        MAC_B,
        MAC_A,
        &[],
        ethertype::IPV6,
        &build::ipv6(a6, b6, &[], ip_protocol::TCP, &tcp6),
    ));
    // 9. First fragment of a 3008-byte UDP datagram: its header and 1472
    // bytes of data.
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let first = Ipv4Options {
        more_fragments: true,
        dont_fragment: false,
        ..Ipv4Options::default()
    };
    let udp = build::udp(&p4, 5000, 6000, &big);
    frames.push(eth(
        &[],
        ethertype::IPV4,
        &build::ipv4_with(&first, a4, b4, ip_protocol::UDP, &udp[..1480]),
    ));
    // 10. The same over IPv6: a fragment header, offset 0, M set.
    let udp6 = build::udp(&p6, 5000, 6000, &big);
    let fragment = Extension {
        kind: 44,
        body: vec![0, 1, 0xca, 0xfe, 0xba, 0xbe],
    };
    frames.push(eth(
        &[],
        ethertype::IPV6,
        &build::ipv6(a6, b6, &[fragment], ip_protocol::UDP, &udp6[..1448]),
    ));
    frames
}

/// Frames that are not decoded all the way, with what their last line says.
pub fn odd_frames() -> Vec<(Vec<u8>, &'static str)> {
    let (a4, b4) = (Ipv4Addr::new(192, 168, 1, 10), Ipv4Addr::new(10, 0, 0, 1));
    let p4 = PseudoHeader::V4 {
        source: a4,
        destination: b4,
    };
    let mut frames = Vec::new();
    frames.push((
        eth(&[], 0x88cc, b"lldp"),
        "    Données                 : b'lldp",
    ));
    frames.push((
        eth(&[], ethertype::IPV4, &build::ipv4(a4, b4, 47, b"gre")),
        "        Données          : b'gre'",
    ));
    let frag = Ipv4Options {
        more_fragments: true,
        fragment_offset: 185,
        dont_fragment: false,
        ..Ipv4Options::default()
    };
    frames.push((
        eth(
            &[],
            ethertype::IPV4,
            &build::ipv4_with(&frag, a4, b4, ip_protocol::UDP, b"suite"),
        ),
        // Read as UDP whatever its offset, as the lab's decoder does.
        "        UDP tronqué : 8 octets nécessaires, 5 présents",
    ));
    let mut udp = build::udp(&p4, 1, 2, b"x");
    udp[7] ^= 0x55;
    frames.push((
        eth(
            &[],
            ethertype::IPV4,
            &build::ipv4(a4, b4, ip_protocol::UDP, &udp),
        ),
        "            Données          : b'x'",
    ));
    let mut short = eth(&[], ethertype::IPV4, &[]);
    short.truncate(20);
    frames.push((
        short,
        "    IPv4 tronqué : 20 octets nécessaires, 6 présents",
    ));
    frames.push((
        MAC_A[..4].to_vec(),
        "Ethernet tronqué : 14 octets nécessaires, 4 présents",
    ));
    frames
}

/// Writes an Ethernet pcap of `frames`.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    write_pcap_linktype(path, DataLink::ETHERNET, frames);
}

pub fn write_pcap_linktype(path: &Path, datalink: DataLink, frames: &[Vec<u8>]) {
    let file = std::fs::File::create(path).expect("create pcap");
    let header = PcapHeader {
        datalink,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(file, header).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_millis(i as u64),
            f.len() as u32,
            f,
        ))
        .expect("write packet");
    }
}

/// Writes a pcapng with one interface per (link type, frames) group,
/// frames interleaved in the given order: `(interface, frame)`.
pub fn write_pcapng(path: &Path, interfaces: &[DataLink], frames: &[(u32, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("create pcapng");
    let mut w = PcapNgWriter::new(file).expect("pcapng header");
    for &linktype in interfaces {
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype,
            snaplen: 0,
            options: vec![],
        })
        .expect("interface block");
    }
    for (i, (interface, f)) in frames.iter().enumerate() {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: *interface,
            timestamp: Duration::from_millis(i as u64),
            original_len: f.len() as u32,
            data: Cow::Borrowed(f),
            options: vec![],
        })
        .expect("packet block");
    }
}
