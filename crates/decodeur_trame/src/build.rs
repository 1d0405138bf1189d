//! Building valid frames, byte by byte, with correct lengths and checksums.
//!
//! Used by the bench generator (`decodeur_trame generer`) and by the tests,
//! which need frames whose every field they know. Deliberately naive: one
//! `Vec` per layer, clarity over speed.

use std::net::{Ipv4Addr, Ipv6Addr};

use protocols::checksum::{internet_checksum, transport_checksum, PseudoHeader};

pub use protocols::ethernet::ethertype;
pub use protocols::ipv4::protocol as ip_protocol;

/// An Ethernet II frame; `vlans` are 802.1Q tags (VIDs), outermost first.
/// Frames shorter than the 60-byte minimum are padded with zeros, as a
/// network card would.
pub fn ethernet(
    dst: [u8; 6],
    src: [u8; 6],
    vlans: &[u16],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = Vec::with_capacity(18 + 4 * vlans.len() + payload.len());
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    for &vid in vlans {
        frame.extend_from_slice(&ethertype::VLAN.to_be_bytes());
        frame.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    if frame.len() < 60 {
        frame.resize(60, 0);
    }
    frame
}

/// The IPv4 header fields a test may want to choose.
#[derive(Debug, Clone)]
pub struct Ipv4Options {
    pub ttl: u8,
    pub identification: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// In 8-byte units.
    pub fragment_offset: u16,
    /// IP options (padded with zeros to a multiple of 4 bytes).
    pub options: Vec<u8>,
}

impl Default for Ipv4Options {
    fn default() -> Self {
        Ipv4Options {
            ttl: 64,
            identification: 0x1234,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            options: Vec::new(),
        }
    }
}

/// An IPv4 packet with a correct header checksum.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(&Ipv4Options::default(), src, dst, protocol, payload)
}

/// An IPv4 packet with chosen header fields.
pub fn ipv4_with(
    opts: &Ipv4Options,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut options = opts.options.clone();
    while options.len() % 4 != 0 {
        options.push(0);
    }
    let header_len = 20 + options.len();
    let total = (header_len + payload.len()) as u16;
    let mut flags_offset = opts.fragment_offset & 0x1fff;
    if opts.dont_fragment {
        flags_offset |= 0x4000;
    }
    if opts.more_fragments {
        flags_offset |= 0x2000;
    }
    let mut p = Vec::with_capacity(header_len + payload.len());
    p.push(0x40 | (header_len / 4) as u8);
    p.push(0);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&opts.identification.to_be_bytes());
    p.extend_from_slice(&flags_offset.to_be_bytes());
    p.push(opts.ttl);
    p.push(protocol);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&options);
    let checksum = internet_checksum(&[&p]);
    p[10..12].copy_from_slice(&checksum.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 extension header to put before the upper protocol: its type
/// (0 hop-by-hop, 43 routing, 44 fragment, 60 destination options) and its
/// body after the next-header byte (and length byte, except for 44). Bodies
/// are padded to the header's size rule.
#[derive(Debug, Clone)]
pub struct Extension {
    pub kind: u8,
    pub body: Vec<u8>,
}

/// An IPv6 packet, with extension headers before the upper protocol.
pub fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    extensions: &[Extension],
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut chain = Vec::new();
    for (i, ext) in extensions.iter().enumerate() {
        let next = extensions.get(i + 1).map_or(protocol, |e| e.kind);
        chain.push(next);
        if ext.kind == 44 {
            // Fragment header: fixed 8 bytes.
            chain.push(0);
            let mut body = ext.body.clone();
            body.resize(6, 0);
            chain.extend_from_slice(&body);
        } else {
            let mut body = ext.body.clone();
            // (2 + body) must be a multiple of 8.
            while (2 + body.len()) % 8 != 0 {
                body.push(0);
            }
            chain.push(((2 + body.len()) / 8 - 1) as u8);
            chain.extend_from_slice(&body);
        }
    }
    let first = extensions.first().map_or(protocol, |e| e.kind);
    let payload_len = (chain.len() + payload.len()) as u16;
    let mut p = Vec::with_capacity(40 + chain.len() + payload.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&payload_len.to_be_bytes());
    p.push(first);
    p.push(64);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&chain);
    p.extend_from_slice(payload);
    p
}

/// A UDP datagram with its checksum over `pseudo`.
pub fn udp(pseudo: &PseudoHeader, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&src_port.to_be_bytes());
    d.extend_from_slice(&dst_port.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let mut checksum = transport_checksum(pseudo, ip_protocol::UDP, &d);
    if checksum == 0 {
        // 0 means "no checksum" in UDP: a computed 0 is sent as 0xffff.
        checksum = 0xffff;
    }
    d[6..8].copy_from_slice(&checksum.to_be_bytes());
    d
}

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// A TCP segment with its checksum over `pseudo`; `options` are padded with
/// zeros (end of option list) to a multiple of 4 bytes.
pub fn tcp(
    pseudo: &PseudoHeader,
    src_port: u16,
    dst_port: u16,
    sequence: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut options = options.to_vec();
    while options.len() % 4 != 0 {
        options.push(0);
    }
    let header_len = 20 + options.len();
    let mut s = Vec::with_capacity(header_len + payload.len());
    s.extend_from_slice(&src_port.to_be_bytes());
    s.extend_from_slice(&dst_port.to_be_bytes());
    s.extend_from_slice(&sequence.to_be_bytes());
    s.extend_from_slice(&sequence.wrapping_mul(31).to_be_bytes());
    s.push(((header_len / 4) as u8) << 4);
    s.push(flags);
    s.extend_from_slice(&64240u16.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(&options);
    s.extend_from_slice(payload);
    let checksum = transport_checksum(pseudo, ip_protocol::TCP, &s);
    s[16..18].copy_from_slice(&checksum.to_be_bytes());
    s
}

/// An ICMP message (echo request: type 8, echo reply: 0).
pub fn icmp(icmp_type: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut m = vec![icmp_type, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(payload);
    let checksum = internet_checksum(&[&m]);
    m[2..4].copy_from_slice(&checksum.to_be_bytes());
    m
}

/// An ICMPv6 message with its checksum over the IPv6 pseudo-header.
pub fn icmpv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    icmp_type: u8,
    code: u8,
    rest: [u8; 4],
    payload: &[u8],
) -> Vec<u8> {
    let mut m = vec![icmp_type, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(payload);
    let pseudo = PseudoHeader::V6 {
        source: src,
        destination: dst,
    };
    let checksum = transport_checksum(&pseudo, ip_protocol::ICMPV6, &m);
    m[2..4].copy_from_slice(&checksum.to_be_bytes());
    m
}

/// An Ethernet/IPv4 ARP packet (1 request, 2 reply).
pub fn arp(
    operation: u16,
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(28);
    p.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    p.extend_from_slice(&operation.to_be_bytes());
    p.extend_from_slice(&sender_mac);
    p.extend_from_slice(&sender_ip.octets());
    p.extend_from_slice(&target_mac);
    p.extend_from_slice(&target_ip.octets());
    p
}

/// A Linux cooked capture (v1) header before `payload`.
pub fn linux_sll(packet_type: u16, src: [u8; 6], protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + payload.len());
    f.extend_from_slice(&packet_type.to_be_bytes());
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(payload);
    f
}
