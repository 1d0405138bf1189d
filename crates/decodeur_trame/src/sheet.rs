//! The lab's functions (16.4 to 16.11), with the lab's names and return
//! values, and the blocks they print: the default output of
//! `decodeur_trame` is exactly these blocks, one after the other.
//!
//! | sheet | here |
//! | --- | --- |
//! | 16.4 `decode_UDP(data)` | [`decode_UDP`] |
//! | 16.5 `decode_TCP(data)` | [`decode_TCP`] |
//! | 16.6 `decode_ICMP(data)` | [`decode_ICMP`] |
//! | 16.7 `decode_adresse_IP(n)` | [`decode_adresse_IP`] |
//! | 16.8 `decode_IP(data)` | [`decode_IP`] |
//! | 16.9 `decode_adresse_MAC(mac)` | [`decode_adresse_MAC`] |
//! | 16.10 `decode_Ethernet(data)` | [`decode_Ethernet`] |
//! | 16.11 `decode_trame(trame)` | [`decode_trame`] (the walk: [`crate::walk`]) |

// The sheet's names, as the instructor searches for them.
#![allow(non_snake_case)]

use std::net::Ipv4Addr;

use protocols::arp::ArpPacket;
use protocols::error::ParseError;
use protocols::ethernet::{EthernetFrame, MacAddr};
use protocols::icmp::IcmpPacket;
use protocols::icmpv6::Icmpv6Packet;
use protocols::ipv4::Ipv4Packet;
use protocols::ipv6::Ipv6Packet;
use protocols::linux_sll::{LinuxSll, LinuxSll2};
use protocols::tcp::TcpSegment;
use protocols::udp::UdpDatagram;

use crate::text::*;
use crate::walk::{write_frame, LinkType};

// ---------------------------------------------------------------------------
// One block per header: the lab's lines, exactly.
// ---------------------------------------------------------------------------

/// The Ethernet block (title, addresses, VLAN tags, inner EtherType).
pub fn write_ethernet_block(out: &mut Vec<u8>, frame: &EthernetFrame<'_>) {
    put(out, label::ETHERNET);
    put(out, label::MAC_DST);
    push_mac(out, frame.destination());
    out.push(b'\n');
    put(out, label::MAC_SRC);
    push_mac(out, frame.source());
    out.push(b'\n');
    for vid in frame.vlan_ids() {
        field_u32(out, label::VLAN, vid.into());
    }
    field_u32(out, label::PROTOCOL, frame.ethertype().into());
}

/// The Linux cooked capture block (v1).
pub fn write_sll_block(out: &mut Vec<u8>, sll: &LinuxSll<'_>) {
    put(out, label::SLL);
    field_u32(out, label::PACKET_TYPE, sll.packet_type().into());
    field_u32(out, label::PROTOCOL, sll.protocol().into());
}

/// The Linux cooked capture block (v2).
pub fn write_sll2_block(out: &mut Vec<u8>, sll: &LinuxSll2<'_>) {
    put(out, label::SLL2);
    field_u32(out, label::INTERFACE, sll.interface_index());
    field_u32(out, label::PACKET_TYPE, sll.packet_type().into());
    field_u32(out, label::PROTOCOL, sll.protocol().into());
}

/// The lab's IP block.
pub fn write_ipv4_block(out: &mut Vec<u8>, ip: &Ipv4Packet<'_>) {
    put(out, label::IPV4);
    field_u32(out, label::IP_VERSION, ip.version().into());
    field_u32(out, label::IP_IHL, ip.ihl().into());
    field_u32(out, label::IP_PROTOCOL, ip.protocol().into());
    put(out, label::IP_SRC);
    push_ipv4(out, ip.source());
    out.push(b'\n');
    put(out, label::IP_DST);
    push_ipv4(out, ip.destination());
    out.push(b'\n');
}

/// The IPv6 block; `Protocole` is the upper protocol, after the extension
/// headers.
pub fn write_ipv6_block(out: &mut Vec<u8>, ip: &Ipv6Packet<'_>) {
    put(out, label::IPV6);
    field_u32(out, label::IP_VERSION, ip.version().into());
    field_u32(out, label::IP_PROTOCOL, ip.upper_protocol().into());
    put(out, label::IP_SRC);
    push_ipv6(out, ip.source());
    out.push(b'\n');
    put(out, label::IP_DST);
    push_ipv6(out, ip.destination());
    out.push(b'\n');
}

/// The ARP block.
pub fn write_arp_block(out: &mut Vec<u8>, arp: &ArpPacket<'_>) {
    put(out, label::ARP);
    put(out, label::ARP_OPERATION);
    let operation = arp.operation();
    push_u32(out, operation.into());
    put(
        out,
        match operation {
            1 => " (requête)\n",
            2 => " (réponse)\n",
            _ => "\n",
        },
    );
    put(out, label::ARP_SENDER_MAC);
    push_mac(out, arp.sender_mac());
    out.push(b'\n');
    put(out, label::ARP_SENDER_IP);
    push_ipv4(out, arp.sender_ip());
    out.push(b'\n');
    put(out, label::ARP_TARGET_MAC);
    push_mac(out, arp.target_mac());
    out.push(b'\n');
    put(out, label::ARP_TARGET_IP);
    push_ipv4(out, arp.target_ip());
    out.push(b'\n');
}

/// The lab's UDP block.
pub fn write_udp_block(out: &mut Vec<u8>, udp: &UdpDatagram<'_>) {
    put(out, label::UDP);
    field_u32(out, label::SRC_PORT, udp.source_port().into());
    field_u32(out, label::DST_PORT, udp.destination_port().into());
    field_u32(out, label::UDP_LENGTH, udp.length().into());
}

/// The lab's TCP block (`Longueur en-tête` is the raw data offset).
pub fn write_tcp_block(out: &mut Vec<u8>, tcp: &TcpSegment<'_>) {
    put(out, label::TCP);
    field_u32(out, label::SRC_PORT, tcp.source_port().into());
    field_u32(out, label::DST_PORT, tcp.destination_port().into());
    field_u32(out, label::TCP_OFFSET, tcp.data_offset().into());
}

/// The lab's ICMP block.
pub fn write_icmp_block(out: &mut Vec<u8>, icmp: &IcmpPacket<'_>) {
    put(out, label::ICMP);
    field_u32(out, label::ICMP_TYPE, icmp.icmp_type().into());
}

/// The ICMPv6 block.
pub fn write_icmpv6_block(out: &mut Vec<u8>, icmp: &Icmpv6Packet<'_>) {
    put(out, label::ICMPV6);
    field_u32(out, label::ICMP_TYPE, icmp.icmp_type().into());
}

/// 16.11: the text of one Ethernet frame, as the lab's `decode_trame`
/// prints it.
pub fn decode_trame(frame: &[u8]) -> String {
    let mut out = Vec::with_capacity(512);
    write_frame(&mut out, frame, LinkType::Ethernet);
    into_text(out)
}

// ---------------------------------------------------------------------------
// The lab's functions, with the lab's names and return values.
// ---------------------------------------------------------------------------

/// The writers only append UTF-8 text (ASCII, the labels' accents and
/// `Display` output), so this never takes the lossy path; it just avoids a
/// panic path.
fn into_text(out: Vec<u8>) -> String {
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// 16.4: the UDP block and the datagram's data.
pub fn decode_UDP(data: &[u8]) -> Result<(String, &[u8]), ParseError> {
    let udp = UdpDatagram::new(data)?;
    let mut out = Vec::with_capacity(128);
    write_udp_block(&mut out, &udp);
    Ok((into_text(out), udp.payload()))
}

/// 16.5: the TCP block and the segment's data.
pub fn decode_TCP(data: &[u8]) -> Result<(String, &[u8]), ParseError> {
    let tcp = TcpSegment::new(data)?;
    let mut out = Vec::with_capacity(128);
    write_tcp_block(&mut out, &tcp);
    Ok((into_text(out), tcp.payload()))
}

/// 16.6: the ICMP block (the lab returns no data for ICMP).
pub fn decode_ICMP(data: &[u8]) -> Result<String, ParseError> {
    let icmp = IcmpPacket::new(data)?;
    let mut out = Vec::with_capacity(64);
    write_icmp_block(&mut out, &icmp);
    Ok(into_text(out))
}

/// The ICMPv6 block and the message's body.
pub fn decode_icmpv6(data: &[u8]) -> Result<(String, &[u8]), ParseError> {
    let icmp = Icmpv6Packet::new(data)?;
    let mut out = Vec::with_capacity(64);
    write_icmpv6_block(&mut out, &icmp);
    Ok((into_text(out), icmp.payload()))
}

/// 16.7: a 32-bit address as `X.Y.Z.T` (`2475088460` → `147.134.218.76`).
pub fn decode_adresse_IP(addr: u32) -> String {
    let mut out = Vec::with_capacity(15);
    push_ipv4(&mut out, Ipv4Addr::from(addr));
    into_text(out)
}

/// 16.8: the IP block, the encapsulated protocol number and the data.
pub fn decode_IP(data: &[u8]) -> Result<(String, u8, &[u8]), ParseError> {
    let ip = Ipv4Packet::new(data)?;
    let mut out = Vec::with_capacity(192);
    write_ipv4_block(&mut out, &ip);
    Ok((into_text(out), ip.protocol(), ip.payload()))
}

/// The IPv6 block, the upper protocol (after extension headers) and its data.
pub fn decode_ipv6(data: &[u8]) -> Result<(String, u8, &[u8]), ParseError> {
    let ip = Ipv6Packet::new(data)?;
    let mut out = Vec::with_capacity(192);
    write_ipv6_block(&mut out, &ip);
    Ok((into_text(out), ip.upper_protocol(), ip.upper_payload()))
}

/// The ARP block.
pub fn decode_arp(data: &[u8]) -> Result<String, ParseError> {
    let arp = ArpPacket::new(data)?;
    let mut out = Vec::with_capacity(192);
    write_arp_block(&mut out, &arp);
    Ok(into_text(out))
}

/// 16.9: six bytes as `a1:a2:a3:a4:a5:a6` (lowercase, as `"%.2x"` gives).
pub fn decode_adresse_MAC(mac: [u8; 6]) -> String {
    let mut out = Vec::with_capacity(17);
    push_mac(&mut out, MacAddr(mac));
    into_text(out)
}

/// 16.10: the Ethernet block, the EtherType (after VLAN tags) and the data.
pub fn decode_Ethernet(data: &[u8]) -> Result<(String, u16, &[u8]), ParseError> {
    let frame = EthernetFrame::new(data)?;
    let mut out = Vec::with_capacity(160);
    write_ethernet_block(&mut out, &frame);
    Ok((into_text(out), frame.ethertype(), frame.payload()))
}
