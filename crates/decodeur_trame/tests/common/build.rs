//! Frames for the tests, field by field, over the one frame builder: the
//! `Repr::emit` writers of `protocols` (lengths and checksums computed).
//! Short names for the layering a test reads, nothing more.

use std::net::{Ipv4Addr, Ipv6Addr};

use protocols::arp::ArpRepr;
use protocols::checksum::PseudoHeader;
use protocols::ethernet::{EthernetRepr, MacAddr};
use protocols::icmp::IcmpRepr;
use protocols::icmpv6::Icmpv6Repr;
use protocols::ipv4::Ipv4Repr;
use protocols::ipv6::Ipv6Repr;
use protocols::linux_sll::LinuxSllRepr;
use protocols::tcp::TcpRepr;
use protocols::udp::UdpRepr;

pub use protocols::ethernet::ethertype;
pub use protocols::ipv4::protocol as ip_protocol;
pub use protocols::ipv6::Ipv6Extension as Extension;

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// An Ethernet II frame, padded to 60 bytes; `vlans` are VLAN ids.
pub fn ethernet(
    dst: [u8; 6],
    src: [u8; 6],
    vlans: &[u16],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    EthernetRepr {
        destination: MacAddr(dst),
        source: MacAddr(src),
        vlans: vlans.iter().map(|v| v & 0x0fff).collect(),
        ethertype,
    }
    .emit(payload, &mut out);
    out
}

/// What [`ipv4_with`] takes (TTL 64, DF, identification 0x1234 by default).
#[derive(Debug, Clone)]
pub struct Ipv4Options {
    pub ttl: u8,
    pub identification: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    pub fragment_offset: u16,
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

pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(&Ipv4Options::default(), src, dst, protocol, payload)
}

pub fn ipv4_with(
    f: &Ipv4Options,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    Ipv4Repr {
        ttl: f.ttl,
        identification: f.identification,
        dont_fragment: f.dont_fragment,
        more_fragments: f.more_fragments,
        fragment_offset: f.fragment_offset,
        options: f.options.clone(),
        ..Ipv4Repr::new(src, dst, protocol)
    }
    .emit(payload, &mut out);
    out
}

pub fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    extensions: &[Extension],
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    Ipv6Repr {
        extensions: extensions.to_vec(),
        ..Ipv6Repr::new(src, dst, protocol)
    }
    .emit(payload, &mut out);
    out
}

pub fn udp(pseudo: &PseudoHeader, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    UdpRepr {
        source_port: src_port,
        destination_port: dst_port,
    }
    .emit(pseudo, payload, &mut out);
    out
}

/// Acknowledgement number: `sequence * 31`; window 64240.
pub fn tcp(
    pseudo: &PseudoHeader,
    src_port: u16,
    dst_port: u16,
    sequence: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    TcpRepr {
        source_port: src_port,
        destination_port: dst_port,
        sequence,
        acknowledgment: sequence.wrapping_mul(31),
        flags: flags.into(),
        window: 64240,
        urgent_pointer: 0,
        options: options.to_vec(),
    }
    .emit(pseudo, payload, &mut out);
    out
}

pub fn icmp(icmp_type: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    IcmpRepr {
        icmp_type,
        code,
        rest,
    }
    .emit(payload, &mut out);
    out
}

pub fn icmpv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    icmp_type: u8,
    code: u8,
    rest: [u8; 4],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    Icmpv6Repr {
        icmp_type,
        code,
        rest,
    }
    .emit(src, dst, payload, &mut out);
    out
}

pub fn arp(
    operation: u16,
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut out = Vec::new();
    ArpRepr {
        operation,
        sender_mac: MacAddr(sender_mac),
        sender_ip,
        target_mac: MacAddr(target_mac),
        target_ip,
    }
    .emit(&mut out);
    out
}

pub fn linux_sll(packet_type: u16, src: [u8; 6], protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    LinuxSllRepr {
        packet_type,
        hardware_type: 1,
        address: src.to_vec(),
        protocol,
    }
    .emit(payload, &mut out);
    out
}
