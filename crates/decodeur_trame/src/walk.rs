//! The walk from layer to layer (16.11's `decode_trame`, extended to the
//! link layers and protocols a real capture holds): the lab's text blocks,
//! byte for byte.
//!
//! Students diff our output against their own `decodeur_trame.py`, so every
//! line below is a contract:
//!
//! ```text
//! >>> Trame Ethernet <<<
//!     Adresse MAC Destination : 52:0c:c7:1d:ca:35
//!     Adresse MAC Source      : 37:38:1f:55:6b:98
//!     Protocol                : 2048
//!     --- Paquet IP ---
//!         Version          : 4
//!         Longueur en-tête : 8
//!         Protocole        : 17
//!         Adresse source   : 234.216.160.229
//!         Adresse dest.    : 76.218.134.147
//!         +++ Paquet UDP +++
//!             Port source      : 45
//!             Port destination : 55710
//!             Longueur totale  : 14
//!             Données          : b'coucou'
//! ```
//!
//! (Issue 2's example block says `Protocole : 1` above a UDP block: it
//! chains `decode_Ethernet`, `decode_IP` and `decode_UDP` by hand, as the
//! test `issue_example_from_the_lab_functions` does; the whole-frame
//! decoder follows the protocol number.)
//!
//! Rules:
//! - each layer indents its title by 4 more spaces than its parent and its
//!   fields by 4 more than its title; labels are padded with spaces to one
//!   width per layer, counted in *characters* (`Longueur en-tête` holds a
//!   two-byte `ê`): 23 for the link layer, 16 for the others;
//! - every line ends with `\n`;
//! - after the innermost header, its payload on one `Données` line, as
//!   Python's `repr(bytes)` prints it (ARP carries none: what follows it is
//!   Ethernet padding);
//! - a protocol we do not decode: one line naming its number, where its block
//!   would have started, then the `Données` line of the layer that carries it;
//! - a truncated or invalid header: one line with the [`ParseError`], where
//!   its block would have started, and nothing after it;
//! - IPv4 as the lab's `decode_IP` reads it: the transport block starts at
//!   IHL × 4 bytes and is chosen by the protocol number alone, whatever the
//!   flags, fragment offset or checksums say (the lab's `ex_complet` frames
//!   have random ones); Total Length and UDP Length bound the data when
//!   they agree with the bytes present (Ethernet padding is not data),
//!   otherwise the bytes present are the data. No checksum line, no
//!   fragment note: those are `--details` (`details`);
//! - in a Linux cooked capture the protocol field is never an IEEE 802.3
//!   length: a value up to 1500 is a protocol of its own (4 = LLC 802.2 …),
//!   printed as any protocol we do not decode.
//!
//! # The lab's functions and this walk
//! The lab's functions ([`crate::sheet`]) return `String`s as the Python
//! ones do; [`write_frame`] uses their block writers, appending UTF-8 text
//! to a caller's `Vec<u8>` with no formatting machinery and no allocation
//! of its own: the binary lays out millions of frames in one buffer that it
//! hands to stdout as is.

use std::io::Write as _;

use protocols::arp::ArpPacket;
use protocols::checksum::PseudoHeader;
use protocols::error::{Layer, ParseError};
use protocols::ethernet::{ethertype, EthernetFrame};
use protocols::icmp::IcmpPacket;
use protocols::icmpv6::Icmpv6Packet;
use protocols::ipv4::{protocol, Ipv4Packet};
use protocols::ipv6::Ipv6Packet;
use protocols::linux_sll::{LinuxSll, LinuxSll2};
use protocols::tcp::TcpSegment;
use protocols::udp::UdpDatagram;

use crate::details;
use crate::sheet::*;
use crate::text::*;

/// How a capture's frames begin (pcap `LINKTYPE_*` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II (`LINKTYPE_ETHERNET` = 1); what `AF_PACKET` gives on
    /// Ethernet and loopback interfaces.
    Ethernet,
    /// Linux "cooked" capture v1 (`LINKTYPE_LINUX_SLL` = 113), as
    /// `tcpdump -i any` writes.
    LinuxSll,
    /// Linux "cooked" capture v2 (`LINKTYPE_LINUX_SLL2` = 276).
    LinuxSll2,
    /// A bare IPv4 or IPv6 packet (`LINKTYPE_RAW` = 101, 228, 229): tunnels,
    /// `tun` interfaces.
    RawIp,
}

impl LinkType {
    /// The link type of a pcap/pcapng `LINKTYPE_*` number, if we decode it.
    pub fn from_pcap(linktype: u32) -> Option<LinkType> {
        match linktype {
            1 => Some(LinkType::Ethernet),
            113 => Some(LinkType::LinuxSll),
            276 => Some(LinkType::LinuxSll2),
            101 | 228 | 229 => Some(LinkType::RawIp),
            _ => None,
        }
    }
}

/// A protocol the frame decoder recognizes, for per-protocol counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Ethernet,
    LinuxSll,
    RawIp,
    Vlan,
    Arp,
    Ipv4,
    Ipv6,
    Icmp,
    Icmpv6,
    Tcp,
    Udp,
}

impl Proto {
    /// Every variant, in display order.
    pub const ALL: [Proto; 11] = [
        Proto::Ethernet,
        Proto::LinuxSll,
        Proto::RawIp,
        Proto::Vlan,
        Proto::Arp,
        Proto::Ipv4,
        Proto::Ipv6,
        Proto::Icmp,
        Proto::Icmpv6,
        Proto::Tcp,
        Proto::Udp,
    ];

    /// The name the lab (and Wireshark) use.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Ethernet => "Ethernet",
            Proto::LinuxSll => "Linux SLL",
            Proto::RawIp => "IP brut",
            Proto::Vlan => "VLAN 802.1Q",
            Proto::Arp => "ARP",
            Proto::Ipv4 => "IPv4",
            Proto::Ipv6 => "IPv6",
            Proto::Icmp => "ICMP",
            Proto::Icmpv6 => "ICMPv6",
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// What [`write_frame`] found in one frame (for `--stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameSummary {
    /// One bit per [`Proto`] decoded.
    seen: u16,
    /// The layer whose header was truncated or invalid, if any.
    pub error: Option<Layer>,
    /// Some protocol number was not decoded.
    pub undecoded: bool,
    /// Some checksum was wrong.
    pub bad_checksum: bool,
    /// An IP fragment other than the first.
    pub fragment: bool,
    /// The TCP or UDP ports (source, destination), if any.
    pub ports: Option<(u16, u16)>,
}

impl FrameSummary {
    /// Whether the frame held a header of this protocol.
    pub fn contains(&self, proto: Proto) -> bool {
        self.seen & proto.bit() != 0
    }

    fn add(&mut self, proto: Proto) {
        self.seen |= proto.bit();
    }
}

/// One line with a header's error, at the depth its block would have had.
fn error_line(out: &mut Vec<u8>, depth: usize, error: &ParseError, summary: &mut FrameSummary) {
    put(out, label::INDENT[depth.min(3)]);
    let _ = write!(out, "{error}");
    out.push(b'\n');
    summary.error = Some(error.layer());
}

// ---------------------------------------------------------------------------
// The whole frame.
// ---------------------------------------------------------------------------

/// Appends the text of one whole frame to `out` and says what it held.
///
/// Never fails and never panics, whatever the bytes: a header that cannot be
/// read becomes one error line.
pub fn write_frame(out: &mut Vec<u8>, frame: &[u8], link: LinkType) -> FrameSummary {
    write_frame_with(out, frame, link, Options::default())
}

/// What the walk writes beyond the lab's blocks, and what it may trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// `--details`: the fields tshark shows that the lab does not (IPv4
    /// lengths, flags, TTL, checksums with their verdict; TCP numbers,
    /// flags, window ...), each after the lab's lines of its layer.
    pub details: bool,
    /// Whether transport checksums can be verified.
    pub checksums: TransportChecksums,
}

/// Whether TCP, UDP and ICMPv6 checksums can be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportChecksums {
    #[default]
    Verify,
    /// Not verified: frames captured as this host sends them (and all
    /// loopback frames) leave the checksum to the network card, so the
    /// capture holds a partial one ("checksum offload"). Wireshark skips
    /// them too; tcpdump reports them all as incorrect.
    Skip,
}

/// What the walk down the layers carries along.
struct Walk {
    summary: FrameSummary,
    options: Options,
}

/// [`write_frame`] with [`Options`].
pub fn write_frame_with(
    out: &mut Vec<u8>,
    frame: &[u8],
    link: LinkType,
    options: Options,
) -> FrameSummary {
    let mut walk = Walk {
        summary: FrameSummary::default(),
        options,
    };
    match link {
        LinkType::Ethernet => match EthernetFrame::new(frame) {
            Ok(eth) => {
                walk.summary.add(Proto::Ethernet);
                if eth.vlan_id().is_some() {
                    walk.summary.add(Proto::Vlan);
                }
                write_ethernet_block(out, &eth);
                write_network(out, link, eth.ethertype(), eth.payload(), &mut walk);
            }
            Err(e) => error_line(out, 0, &e, &mut walk.summary),
        },
        LinkType::LinuxSll => match LinuxSll::new(frame) {
            Ok(sll) => {
                walk.summary.add(Proto::LinuxSll);
                write_sll_block(out, &sll);
                write_network(out, link, sll.protocol(), sll.payload(), &mut walk);
            }
            Err(e) => error_line(out, 0, &e, &mut walk.summary),
        },
        LinkType::LinuxSll2 => match LinuxSll2::new(frame) {
            Ok(sll) => {
                walk.summary.add(Proto::LinuxSll);
                write_sll2_block(out, &sll);
                write_network(out, link, sll.protocol(), sll.payload(), &mut walk);
            }
            Err(e) => error_line(out, 0, &e, &mut walk.summary),
        },
        LinkType::RawIp => {
            walk.summary.add(Proto::RawIp);
            put(out, label::RAW_IP);
            // The version nibble tells IPv4 from IPv6; anything else is
            // refused by the IPv4 view with a clear "version" error.
            let ethertype = match frame.first() {
                Some(b) if b >> 4 == 6 => ethertype::IPV6,
                _ => ethertype::IPV4,
            };
            write_network(out, link, ethertype, frame, &mut walk);
        }
    }
    walk.summary
}

/// Decodes what a link layer's type field announces (depth 1: network title
/// at 4 spaces). `link` says what the field is: in Ethernet, a value up to
/// 1500 is an IEEE 802.3 length; in a Linux cooked capture, a protocol
/// (see [`sll_protocol_name`]).
fn write_network(
    out: &mut Vec<u8>,
    link: LinkType,
    ethertype: u16,
    payload: &[u8],
    walk: &mut Walk,
) {
    match ethertype {
        ethertype::IPV4 => write_ipv4(out, payload, walk),
        ethertype::IPV6 => write_ipv6(out, payload, walk),
        ethertype::ARP => match ArpPacket::new(payload) {
            Ok(arp) => {
                walk.summary.add(Proto::Arp);
                write_arp_block(out, &arp);
            }
            Err(e) => error_line(out, 1, &e, &mut walk.summary),
        },
        other => {
            walk.summary.undecoded = true;
            if link == LinkType::Ethernet && other <= ethertype::MAX_802_3_LENGTH {
                // IEEE 802.3: the field is a length and an LLC header follows.
                put(out, "    Trame IEEE 802.3 (longueur ");
                push_u32(out, other.into());
                put(out, ") : LLC non décodé\n");
            } else {
                put(out, "    Protocole ");
                push_u32(out, other.into());
                put(out, " (");
                push_hex16(out, other);
                if let Some(name) = sll_protocol_name(link, other) {
                    put(out, ", ");
                    put(out, name);
                }
                put(out, ") non décodé\n");
            }
            data_line(out, label::LINK_DATA, payload);
        }
    }
}

/// What a Linux cooked capture's protocol field names when it is not an
/// EtherType (<https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html>,
/// the kernel's `ETH_P_*` values below 1536).
fn sll_protocol_name(link: LinkType, protocol: u16) -> Option<&'static str> {
    if !matches!(link, LinkType::LinuxSll | LinkType::LinuxSll2) {
        return None;
    }
    match protocol {
        0x0001 => Some("Novell 802.3 sans LLC"),
        0x0004 => Some("LLC 802.2"),
        0x000c => Some("CAN"),
        0x000d => Some("CAN FD"),
        _ => None,
    }
}

/// Where an IP packet's data lies in the datagram it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extent {
    /// Not fragmented (or an IPv6 atomic fragment: offset 0, no more).
    Whole,
    /// Offset 0, more fragments follow: the transport header and the start
    /// of its data.
    FirstFragment,
    /// A non-zero offset: the middle or end of the data, no header.
    LaterFragment { offset_bytes: u32 },
}

impl Extent {
    /// From a fragment offset (8-byte units) and the "more fragments" flag.
    fn of(offset_units: u16, more_fragments: bool) -> Extent {
        match (offset_units, more_fragments) {
            (0, false) => Extent::Whole,
            (0, true) => Extent::FirstFragment,
            (units, _) => Extent::LaterFragment {
                offset_bytes: u32::from(units) * 8,
            },
        }
    }
}

/// The lab's `decode_IP`: Total Length bounds the data only when it agrees
/// with the bytes present; the flags, the fragment offset and the checksum
/// change nothing in the default text (the lab's frames have random ones).
fn write_ipv4(out: &mut Vec<u8>, data: &[u8], walk: &mut Walk) {
    let ip = match Ipv4Packet::new_lenient(data) {
        Ok(ip) => ip,
        Err(e) => return error_line(out, 1, &e, &mut walk.summary),
    };
    walk.summary.add(Proto::Ipv4);
    write_ipv4_block(out, &ip);
    let checksum_ok = ip.checksum_ok();
    walk.summary.bad_checksum |= !checksum_ok;
    let extent = Extent::of(ip.fragment_offset(), ip.more_fragments());
    if walk.options.details {
        details::ipv4(out, &ip, checksum_ok);
    }
    let carried = Carried {
        protocol: ip.protocol(),
        data: ip.payload(),
        pseudo: ip.pseudo_header(),
        extent,
        complete: ip.total_len_consistent(),
    };
    write_ip_data(out, &carried, walk);
}

fn write_ipv6(out: &mut Vec<u8>, data: &[u8], walk: &mut Walk) {
    let ip = match Ipv6Packet::new(data) {
        Ok(ip) => ip,
        Err(e) => return error_line(out, 1, &e, &mut walk.summary),
    };
    walk.summary.add(Proto::Ipv6);
    write_ipv6_block(out, &ip);
    let carried = Carried {
        protocol: ip.upper_protocol(),
        data: ip.upper_payload(),
        pseudo: ip.pseudo_header(),
        extent: Extent::of(ip.fragment_offset(), ip.more_fragments()),
        complete: true,
    };
    write_ip_data(out, &carried, walk);
}

/// What an IP packet hands to the transport layer.
pub(crate) struct Carried<'a> {
    /// The upper protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// Its bytes, up to the IP length fields.
    pub data: &'a [u8],
    /// What its checksum covers besides them.
    pub pseudo: PseudoHeader,
    /// Where these bytes lie in the datagram.
    pub extent: Extent,
    /// Whether the IP length field agreed with the bytes present.
    pub complete: bool,
}

/// The transport block of an IP packet, chosen by the protocol number alone
/// as the lab's `decode_trame` does (a later fragment included: `--details`
/// says that its bytes are no transport header).
fn write_ip_data(out: &mut Vec<u8>, carried: &Carried<'_>, walk: &mut Walk) {
    if let Extent::LaterFragment { offset_bytes } = carried.extent {
        walk.summary.fragment = true;
        if walk.options.details {
            details::later_fragment(out, offset_bytes, carried.protocol);
        }
    }
    let data = carried.data;
    match carried.protocol {
        protocol::UDP => write_transport_header(out, UdpDatagram::new_lenient(data), carried, walk),
        protocol::TCP => write_transport_header(out, TcpSegment::new(data), carried, walk),
        protocol::ICMP => write_transport_header(out, IcmpPacket::new(data), carried, walk),
        protocol::ICMPV6 => write_transport_header(out, Icmpv6Packet::new(data), carried, walk),
        other => {
            walk.summary.undecoded = true;
            put(out, "        Protocole ");
            push_u32(out, other.into());
            put(out, " non décodé\n");
            data_line(out, label::IP_DATA, data);
        }
    }
}

/// A checksum's verdict, for `--details` and `--stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Correct,
    Incorrect,
    /// Not verifiable here, and why.
    NotVerified(&'static str),
}

/// What the frame decoder needs of a transport header's view.
trait TransportHeader<'a> {
    const PROTO: Proto;
    /// The lab's block.
    fn write_block(&self, out: &mut Vec<u8>);
    /// The `--details` lines.
    fn write_details(&self, out: &mut Vec<u8>, verdict: Verdict);
    /// Whether the checksum is right under `pseudo`; `None` when it cannot
    /// be verified from this view.
    fn checksum_ok(&self, pseudo: &PseudoHeader) -> Result<bool, &'static str>;
    /// Whether the checksum is computed by the sender's network card
    /// (offload): not for ICMP, whose checksum the kernel computes.
    const OFFLOADED: bool = true;
    /// The data after the header.
    fn data(&self) -> &'a [u8];
    /// Source and destination ports (TCP, UDP).
    fn ports(&self) -> Option<(u16, u16)> {
        None
    }
}

impl<'a> TransportHeader<'a> for UdpDatagram<'a> {
    fn ports(&self) -> Option<(u16, u16)> {
        Some((self.source_port(), self.destination_port()))
    }
    const PROTO: Proto = Proto::Udp;
    fn write_block(&self, out: &mut Vec<u8>) {
        write_udp_block(out, self);
    }
    fn write_details(&self, out: &mut Vec<u8>, verdict: Verdict) {
        details::udp(out, self, verdict);
    }
    fn checksum_ok(&self, pseudo: &PseudoHeader) -> Result<bool, &'static str> {
        if !self.is_complete() && self.checksum() != 0 {
            return Err("longueur UDP incohérente");
        }
        Ok(UdpDatagram::checksum_ok(self, pseudo))
    }
    fn data(&self) -> &'a [u8] {
        self.payload()
    }
}

impl<'a> TransportHeader<'a> for TcpSegment<'a> {
    fn ports(&self) -> Option<(u16, u16)> {
        Some((self.source_port(), self.destination_port()))
    }
    const PROTO: Proto = Proto::Tcp;
    fn write_block(&self, out: &mut Vec<u8>) {
        write_tcp_block(out, self);
    }
    fn write_details(&self, out: &mut Vec<u8>, verdict: Verdict) {
        details::tcp(out, self, verdict);
    }
    fn checksum_ok(&self, pseudo: &PseudoHeader) -> Result<bool, &'static str> {
        Ok(TcpSegment::checksum_ok(self, pseudo))
    }
    fn data(&self) -> &'a [u8] {
        self.payload()
    }
}

impl<'a> TransportHeader<'a> for IcmpPacket<'a> {
    const PROTO: Proto = Proto::Icmp;
    const OFFLOADED: bool = false;
    fn write_block(&self, out: &mut Vec<u8>) {
        write_icmp_block(out, self);
    }
    fn write_details(&self, out: &mut Vec<u8>, verdict: Verdict) {
        details::icmp(out, self.code(), self.checksum(), verdict);
    }
    /// Its checksum covers the message alone.
    fn checksum_ok(&self, _: &PseudoHeader) -> Result<bool, &'static str> {
        Ok(IcmpPacket::checksum_ok(self))
    }
    fn data(&self) -> &'a [u8] {
        self.payload()
    }
}

impl<'a> TransportHeader<'a> for Icmpv6Packet<'a> {
    const PROTO: Proto = Proto::Icmpv6;
    fn write_block(&self, out: &mut Vec<u8>) {
        write_icmpv6_block(out, self);
    }
    fn write_details(&self, out: &mut Vec<u8>, verdict: Verdict) {
        details::icmp(out, self.code(), self.checksum(), verdict);
    }
    /// Its checksum covers an IPv6 pseudo-header: not verified over IPv4.
    fn checksum_ok(&self, pseudo: &PseudoHeader) -> Result<bool, &'static str> {
        match *pseudo {
            PseudoHeader::V6 {
                source,
                destination,
            } => Ok(Icmpv6Packet::checksum_ok(self, source, destination)),
            PseudoHeader::V4 { .. } => Err("ICMPv6 dans IPv4"),
        }
    }
    fn data(&self) -> &'a [u8] {
        self.payload()
    }
}

/// A transport block, its `--details` lines, its data; or its error line.
fn write_transport_header<'a, T: TransportHeader<'a>>(
    out: &mut Vec<u8>,
    header: Result<T, ParseError>,
    carried: &Carried<'_>,
    walk: &mut Walk,
) {
    let header = match header {
        Ok(header) => header,
        Err(e) => return error_line(out, 2, &e, &mut walk.summary),
    };
    walk.summary.add(T::PROTO);
    walk.summary.ports = walk.summary.ports.or(header.ports());
    header.write_block(out);
    let verdict = if carried.extent != Extent::Whole {
        Verdict::NotVerified("datagramme fragmenté")
    } else if !carried.complete {
        Verdict::NotVerified("paquet IP incomplet")
    } else if T::OFFLOADED && walk.options.checksums == TransportChecksums::Skip {
        Verdict::NotVerified("envoyé par cet hôte")
    } else {
        match header.checksum_ok(&carried.pseudo) {
            Ok(true) => Verdict::Correct,
            Ok(false) => Verdict::Incorrect,
            Err(why) => Verdict::NotVerified(why),
        }
    };
    walk.summary.bad_checksum |= verdict == Verdict::Incorrect;
    if walk.options.details {
        header.write_details(out, verdict);
    }
    data_line(out, label::L4_DATA, header.data());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Every field prefix of a layer puts its ` : ` at the same character
    /// column (bytes would differ: `ê` and `é` take two).
    #[test]
    fn labels_are_aligned() {
        let groups: [(usize, usize, &[&str]); 3] = [
            (
                4,
                23,
                &[
                    label::MAC_DST,
                    label::MAC_SRC,
                    label::VLAN,
                    label::PROTOCOL,
                    label::PACKET_TYPE,
                    label::INTERFACE,
                    label::LINK_DATA,
                ],
            ),
            (
                8,
                16,
                &[
                    label::IP_VERSION,
                    label::IP_IHL,
                    label::IP_PROTOCOL,
                    label::IP_SRC,
                    label::IP_DST,
                    label::IP_CHECKSUM,
                    label::IP_DATA,
                    label::IP_TOTAL_LEN,
                    label::IP_ID,
                    label::IP_FLAGS,
                    label::IP_FRAGMENT,
                    label::IP_TTL,
                    label::ARP_OPERATION,
                    label::ARP_SENDER_MAC,
                    label::ARP_SENDER_IP,
                    label::ARP_TARGET_MAC,
                    label::ARP_TARGET_IP,
                ],
            ),
            (
                12,
                16,
                &[
                    label::SRC_PORT,
                    label::DST_PORT,
                    label::UDP_LENGTH,
                    label::TCP_OFFSET,
                    label::ICMP_TYPE,
                    label::L4_CHECKSUM,
                    label::L4_DATA,
                    label::TCP_SEQ,
                    label::TCP_ACK,
                    label::TCP_FLAGS,
                    label::TCP_WINDOW,
                    label::ICMP_CODE,
                ],
            ),
        ];
        for (indent, width, labels) in groups {
            for l in labels {
                let text = l.strip_prefix(&" ".repeat(indent)).expect(l);
                let name = text.strip_suffix(" : ").expect(l);
                assert!(!name.starts_with(' '), "{l:?}");
                assert_eq!(name.chars().count(), width, "{l:?}");
                assert_eq!(name.trim_end(), name.trim_end().trim_start(), "{l:?}");
            }
        }
    }

    use proptest::prelude::*;

    /// The `--details` text of an Ethernet frame.
    fn details_of(frame: &[u8]) -> String {
        let mut out = Vec::new();
        let options = Options {
            details: true,
            ..Options::default()
        };
        write_frame_with(&mut out, frame, LinkType::Ethernet, options);
        String::from_utf8(out).expect("UTF-8 output")
    }

    /// `write_frame`'s text, checked to be UTF-8.
    fn text_of(frame: &[u8], link: LinkType) -> (String, FrameSummary) {
        let mut out = Vec::new();
        let summary = write_frame(&mut out, frame, link);
        (String::from_utf8(out).expect("UTF-8 output"), summary)
    }

    proptest! {
        /// IPv6 text as Rust's `Display` (hence tshark and Python) writes it,
        /// on addresses rich in zero groups and on IPv4-mapped ones.
        #[test]
        fn ipv6_text_is_rfc5952(groups in proptest::array::uniform8(prop_oneof![Just(0u16), Just(1), Just(0xffff), any::<u16>()]), v4 in any::<u32>()) {
            for addr in [Ipv6Addr::from(groups), Ipv4Addr::from(v4).to_ipv6_mapped()] {
                let mut out = Vec::new();
                push_ipv6(&mut out, addr);
                prop_assert_eq!(String::from_utf8(out).unwrap(), addr.to_string());
            }
        }
    }

    // --- Frames, over the one builder (`protocols`' `Repr::emit`). ---

    use protocols::ethernet::{EthernetRepr, MacAddr};
    use protocols::icmp::IcmpRepr;
    use protocols::ipv4::Ipv4Repr;
    use protocols::ipv6::Ipv6Repr;
    use protocols::tcp::TcpRepr;
    use protocols::udp::UdpRepr;

    const DST: [u8; 6] = [0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35];
    const SRC: [u8; 6] = [0x37, 0x38, 0x1f, 0x55, 0x6b, 0x98];
    const IP_SRC: [u8; 4] = [234, 216, 160, 229];
    const IP_DST: [u8; 4] = [76, 218, 134, 147];

    /// Ethernet II, padded to 60 bytes as a card would.
    fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        EthernetRepr {
            destination: MacAddr(DST),
            source: MacAddr(SRC),
            vlans: tags.to_vec(),
            ethertype,
        }
        .emit(payload, &mut f);
        f
    }

    /// IPv4 with `options` (a multiple of 4 bytes), identification 0x1234,
    /// TTL 64, the flags/offset word given, and a correct checksum.
    fn ipv4(protocol: u8, options: &[u8], flags_offset: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        Ipv4Repr {
            dont_fragment: flags_offset & 0x4000 != 0,
            more_fragments: flags_offset & 0x2000 != 0,
            fragment_offset: flags_offset & 0x1fff,
            options: options.to_vec(),
            ..Ipv4Repr::new(IP_SRC.into(), IP_DST.into(), protocol)
        }
        .emit(payload, &mut p);
        p
    }

    fn v4_pseudo() -> PseudoHeader {
        PseudoHeader::V4 {
            source: IP_SRC.into(),
            destination: IP_DST.into(),
        }
    }

    fn udp(pseudo: &PseudoHeader, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        UdpRepr {
            source_port: sport,
            destination_port: dport,
        }
        .emit(pseudo, payload, &mut d);
        d
    }

    /// Ports 80 -> 51000, sequence 1, PSH ACK, window 0xfaf0.
    fn tcp(pseudo: &PseudoHeader, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        TcpRepr {
            source_port: 80,
            destination_port: 51000,
            sequence: 1,
            acknowledgment: 0,
            flags: 0x18,
            window: 0xfaf0,
            urgent_pointer: 0,
            options: options.to_vec(),
        }
        .emit(pseudo, payload, &mut s);
        s
    }

    fn icmp_echo(payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        IcmpRepr {
            icmp_type: 8,
            code: 0,
            rest: [0x12, 0x34, 0, 1],
        }
        .emit(payload, &mut m);
        m
    }

    const V6_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const V6_DST: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x1);

    /// IPv6 whose payload starts with already built extension headers
    /// (`next_header` is the first one's type).
    fn ipv6(next_header: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        Ipv6Repr::new(V6_SRC, V6_DST, next_header).emit(payload, &mut p);
        p
    }

    // --- The issue's example, byte for byte. ---

    const ISSUE_EXAMPLE: &str = "\
>>> Trame Ethernet <<<
    Adresse MAC Destination : 52:0c:c7:1d:ca:35
    Adresse MAC Source      : 37:38:1f:55:6b:98
    Protocol                : 2048
    --- Paquet IP ---
        Version          : 4
        Longueur en-tête : 8
        Protocole        : 1
        Adresse source   : 234.216.160.229
        Adresse dest.    : 76.218.134.147
        +++ Paquet UDP +++
            Port source      : 45
            Port destination : 55710
            Longueur totale  : 14
";

    /// 12 bytes of IP options: IHL 8, as in the example.
    const OPTIONS: [u8; 12] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0];

    /// The example chains the lab's functions by hand: its IP header says
    /// protocol 1 (ICMP) yet its data is read as UDP, which `decode_trame`
    /// would not do. The blocks of `decode_ethernet`, `decode_ip` and
    /// `decode_udp` still give it exactly.
    #[test]
    fn issue_example_from_the_lab_functions() {
        let datagram = udp(&v4_pseudo(), 45, 55710, b"coucou");
        let frame = eth(&[], 0x0800, &ipv4(1, &OPTIONS, 0x4000, &datagram));
        let (eth_block, ethertype, ip_data) = decode_Ethernet(&frame).unwrap();
        assert_eq!(ethertype, 2048);
        let (ip_block, protocol, udp_data) = decode_IP(ip_data).unwrap();
        assert_eq!(protocol, 1);
        // Ethernet padding (46 -> 60 bytes) stops at the IP total length.
        assert_eq!(udp_data, &datagram[..]);
        let (udp_block, data) = decode_UDP(udp_data).unwrap();
        assert_eq!(data, b"coucou");
        assert_eq!(eth_block + &ip_block + &udp_block, ISSUE_EXAMPLE);
    }

    #[test]
    fn whole_udp_frame() {
        let frame = eth(
            &[],
            0x0800,
            &ipv4(
                17,
                &OPTIONS,
                0x4000,
                &udp(&v4_pseudo(), 45, 55710, b"coucou"),
            ),
        );
        let expected = ISSUE_EXAMPLE.replace("Protocole        : 1\n", "Protocole        : 17\n")
            + "            Données          : b'coucou'\n";
        assert_eq!(decode_trame(&frame), expected);
    }

    /// The example's frame as it really is (protocol 1): read as ICMP, whose
    /// checksum (the UDP port bytes) is wrong and said so.
    #[test]
    fn example_frame_as_icmp_reports_its_checksum_in_details() {
        let frame = eth(
            &[],
            0x0800,
            &ipv4(
                1,
                &OPTIONS,
                0x4000,
                &udp(&v4_pseudo(), 45, 55710, b"coucou"),
            ),
        );
        let expected = ISSUE_EXAMPLE
            .split("        +++")
            .next()
            .unwrap()
            .to_string()
            + "        +++ Paquet ICMP +++\n"
            + "            Type             : 0\n"
            + "            Données          : b'coucou'\n";
        let (out, summary) = text_of(&frame, LinkType::Ethernet);
        assert_eq!(out, expected);
        let details = details_of(&frame);
        assert!(
            details.ends_with("            Type             : 0\n            Code             : 45\n            Checksum         : 0xd99e (incorrect)\n            Données          : b'coucou'\n"),
            "{details}"
        );
        assert!(summary.bad_checksum && summary.contains(Proto::Icmp) && summary.error.is_none());
    }

    #[test]
    fn tcp_block() {
        let segment = tcp(&v4_pseudo(), &[2, 4, 5, 0xb4], b"GET / HTTP/1.0\r\n\r\n");
        let frame = eth(&[], 0x0800, &ipv4(6, &[], 0x4000, &segment));
        assert_eq!(
            decode_trame(&frame),
            "\
>>> Trame Ethernet <<<
    Adresse MAC Destination : 52:0c:c7:1d:ca:35
    Adresse MAC Source      : 37:38:1f:55:6b:98
    Protocol                : 2048
    --- Paquet IP ---
        Version          : 4
        Longueur en-tête : 5
        Protocole        : 6
        Adresse source   : 234.216.160.229
        Adresse dest.    : 76.218.134.147
        +++ Paquet TCP +++
            Port source      : 80
            Port destination : 51000
            Longueur en-tête : 6
            Données          : b'GET / HTTP/1.0\\r\\n\\r\\n'
"
        );
        let (block, data) = decode_TCP(&segment).unwrap();
        assert!(decode_trame(&frame).contains(&block));
        assert_eq!(data, b"GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn vlan_tagged_icmp() {
        let frame = eth(&[42], 0x0800, &ipv4(1, &[], 0, &icmp_echo(b"it's")));
        assert_eq!(
            decode_trame(&frame),
            "\
>>> Trame Ethernet <<<
    Adresse MAC Destination : 52:0c:c7:1d:ca:35
    Adresse MAC Source      : 37:38:1f:55:6b:98
    VLAN                    : 42
    Protocol                : 2048
    --- Paquet IP ---
        Version          : 4
        Longueur en-tête : 5
        Protocole        : 1
        Adresse source   : 234.216.160.229
        Adresse dest.    : 76.218.134.147
        +++ Paquet ICMP +++
            Type             : 8
            Données          : b\"it's\"
"
        );
        assert_eq!(
            decode_ICMP(&icmp_echo(b"")).unwrap(),
            "        +++ Paquet ICMP +++\n            Type             : 8\n"
        );
    }

    #[test]
    fn ipv6_with_extension_headers() {
        let pseudo = PseudoHeader::V6 {
            source: V6_SRC,
            destination: V6_DST,
        };
        let datagram = udp(&pseudo, 5353, 53, b"\x00\xff");
        // Hop-by-hop (8 bytes, next: destination options), destination
        // options (8 bytes, next: UDP).
        let mut payload = vec![60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
        payload.extend_from_slice(&datagram);
        let frame = eth(&[], 0x86dd, &ipv6(0, &payload));
        assert_eq!(
            decode_trame(&frame),
            "\
>>> Trame Ethernet <<<
    Adresse MAC Destination : 52:0c:c7:1d:ca:35
    Adresse MAC Source      : 37:38:1f:55:6b:98
    Protocol                : 34525
    --- Paquet IPv6 ---
        Version          : 6
        Protocole        : 17
        Adresse source   : 2001:db8::1
        Adresse dest.    : fe80::1
        +++ Paquet UDP +++
            Port source      : 5353
            Port destination : 53
            Longueur totale  : 10
            Données          : b'\\x00\\xff'
"
        );
        let packet = ipv6(0, &payload);
        let (_, protocol, upper) = decode_ipv6(&packet).unwrap();
        assert_eq!((protocol, upper), (17, &datagram[..]));
    }

    #[test]
    fn icmpv6_echo() {
        let mut m = Vec::new();
        protocols::icmpv6::Icmpv6Repr {
            icmp_type: 128,
            code: 0,
            rest: [0, 7, 0, 1],
        }
        .emit(V6_SRC, V6_DST, b"ping", &mut m);
        let frame = eth(&[], 0x86dd, &ipv6(58, &m));
        let text = decode_trame(&frame);
        assert!(
            text.ends_with(
                "\
        Protocole        : 58
        Adresse source   : 2001:db8::1
        Adresse dest.    : fe80::1
        +++ Paquet ICMPv6 +++
            Type             : 128
            Données          : b'ping'
"
            ),
            "{text}"
        );
    }

    #[test]
    fn arp_request() {
        let mut arp = Vec::new();
        protocols::arp::ArpRepr {
            operation: 1,
            sender_mac: MacAddr(SRC),
            sender_ip: Ipv4Addr::new(192, 168, 1, 10),
            target_mac: MacAddr([0; 6]),
            target_ip: Ipv4Addr::new(192, 168, 1, 1),
        }
        .emit(&mut arp);
        let frame = eth(&[], 0x0806, &arp);
        assert_eq!(
            decode_trame(&frame),
            "\
>>> Trame Ethernet <<<
    Adresse MAC Destination : 52:0c:c7:1d:ca:35
    Adresse MAC Source      : 37:38:1f:55:6b:98
    Protocol                : 2054
    --- Paquet ARP ---
        Opération        : 1 (requête)
        MAC source       : 37:38:1f:55:6b:98
        IP source        : 192.168.1.10
        MAC cible        : 00:00:00:00:00:00
        IP cible         : 192.168.1.1
"
        );
    }

    #[test]
    fn unknown_protocols_name_their_number() {
        let frame = eth(&[], 0x88cc, b"\x02\x07");
        let text = decode_trame(&frame);
        let tail = "    Protocol                : 35020\n    Protocole 35020 (0x88cc) non décodé\n    Données                 : b'\\x02\\x07";
        assert!(text.contains(tail), "{text}");

        let frame = eth(&[], 0x0800, &ipv4(47, &[], 0, b"gre!"));
        let text = decode_trame(&frame);
        assert!(
            text.ends_with("        Protocole        : 47\n        Adresse source   : 234.216.160.229\n        Adresse dest.    : 76.218.134.147\n        Protocole 47 non décodé\n        Données          : b'gre!'\n"),
            "{text}"
        );
        assert!(text_of(&frame, LinkType::Ethernet).1.undecoded);
    }

    #[test]
    fn ieee_802_3_frames_are_named() {
        let mut frame = [[0x01, 0x80, 0xc2, 0, 0, 0], SRC].concat();
        frame.extend_from_slice(&[0, 5, 0x42, 0x42, 3, 0, 0]);
        frame.resize(60, 0);
        assert!(decode_trame(&frame).ends_with(
            "    Protocol                : 5\n    Trame IEEE 802.3 (longueur 5) : LLC non décodé\n    Données                 : b'BB\\x03\\x00\\x00'\n"
        ));
    }

    /// As the lab's `decode_trame`: the protocol number alone chooses the
    /// block, whatever the fragment offset (the lab's frames have random
    /// ones); `--details` says that these bytes are no UDP header.
    #[test]
    fn later_fragments_are_read_by_protocol_number() {
        // Offset 185 * 8 = 1480 bytes, more fragments follow.
        let frame = eth(
            &[],
            0x0800,
            &ipv4(17, &[], 0x2000 | 185, b"\x01\x02suite!!"),
        );
        let text = decode_trame(&frame);
        assert!(
            text.ends_with("        Adresse dest.    : 76.218.134.147\n        +++ Paquet UDP +++\n            Port source      : 258\n            Port destination : 29557\n            Longueur totale  : 26996\n            Données          : b'!'\n"),
            "{text}"
        );
        let details = details_of(&frame);
        assert!(
            details.contains("        Drapeaux         : MF\n        Décalage         : 1480 octets\n        TTL              : 64\n"),
            "{details}"
        );
        assert!(
            details.contains("        Fragment non initial (décalage 1480 octets) : ces octets ne sont pas un en-tête UDP\n        +++ Paquet UDP +++\n"),
            "{details}"
        );
        assert!(
            details.contains(
                "            Checksum         : 0x6521 (non vérifié : datagramme fragmenté)\n"
            ),
            "{details}"
        );
    }

    /// The first fragment of a large UDP datagram (MF set, offset 0): its
    /// header is decoded although Length exceeds the fragment, the data
    /// present is shown, and the checksum (over the whole datagram) is not
    /// verified.
    #[test]
    fn first_fragment_of_a_large_udp_datagram() {
        let data: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let whole = udp(&v4_pseudo(), 45, 55710, &data);
        // 1480 bytes of IP data: the 8-byte header and 1472 bytes of data.
        let frame = eth(&[], 0x0800, &ipv4(17, &[], 0x2000, &whole[..1480]));
        let (text, summary) = text_of(&frame, LinkType::Ethernet);
        let expected = format!(
            "        Adresse dest.    : 76.218.134.147\n\
             \x20       +++ Paquet UDP +++\n\
             \x20           Port source      : 45\n\
             \x20           Port destination : 55710\n\
             \x20           Longueur totale  : 3008\n\
             \x20           Données          : {}\n",
            protocols::pyrepr::bytes_repr(&data[..1472])
        );
        assert!(text.ends_with(&expected), "{text}");
        assert_eq!(summary.error, None);
        assert!(summary.contains(Proto::Udp) && !summary.bad_checksum && !summary.fragment);

        // The same over IPv6: a fragment header with offset 0 and M set.
        let pseudo = PseudoHeader::V6 {
            source: V6_SRC,
            destination: V6_DST,
        };
        let whole = udp(&pseudo, 45, 55710, &data);
        let mut payload = vec![17, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe];
        payload.extend_from_slice(&whole[..1448]);
        let (text, summary) = text_of(&eth(&[], 0x86dd, &ipv6(44, &payload)), LinkType::Ethernet);
        let expected = expected.replace("76.218.134.147", "fe80::1").replace(
            &protocols::pyrepr::bytes_repr(&data[..1472]),
            &protocols::pyrepr::bytes_repr(&data[..1440]),
        );
        assert!(text.ends_with(&expected), "{text}");
        assert!(summary.contains(Proto::Udp) && summary.error.is_none() && !summary.bad_checksum);
    }

    /// TCP and ICMP in a first fragment: decoded, checksum not verified; a
    /// TCP header cut by a tiny first fragment is a TCP truncation, after
    /// the line that explains it.
    #[test]
    fn first_fragments_of_tcp_and_icmp() {
        let segment = tcp(&v4_pseudo(), &[], b"GET / HTTP/1.0\r\n\r\n");
        let frame = eth(&[], 0x0800, &ipv4(6, &[], 0x2000, &segment[..24]));
        let (text, summary) = text_of(&frame, LinkType::Ethernet);
        assert!(
            text.ends_with("        +++ Paquet TCP +++\n            Port source      : 80\n            Port destination : 51000\n            Longueur en-tête : 5\n            Données          : b'GET '\n"),
            "{text}"
        );
        assert!(!summary.bad_checksum && summary.contains(Proto::Tcp));

        let frame = eth(&[], 0x0800, &ipv4(6, &[], 0x2000, &segment[..8]));
        let (text, summary) = text_of(&frame, LinkType::Ethernet);
        assert!(
            text.ends_with("        TCP tronqué : 20 octets nécessaires, 8 présents\n"),
            "{text}"
        );
        assert_eq!(summary.error, Some(Layer::Tcp));

        let echo = icmp_echo(b"ping ping");
        let frame = eth(&[], 0x0800, &ipv4(1, &[], 0x2000, &echo[..12]));
        let (text, summary) = text_of(&frame, LinkType::Ethernet);
        assert!(
            text.ends_with("        +++ Paquet ICMP +++\n            Type             : 8\n            Données          : b'ping'\n"),
            "{text}"
        );
        assert!(!summary.bad_checksum);
    }

    /// IPv6 later fragments say their offset as IPv4 ones do; an atomic
    /// fragment (offset 0, no more) is a whole datagram, checksum verified.
    #[test]
    fn ipv6_fragments() {
        // Offset 181 * 8 = 1448 bytes, M set.
        let mut payload = vec![17, 0, 0x05, 0xa9, 0xca, 0xfe, 0xba, 0xbe];
        payload.extend_from_slice(b"suite");
        let text = decode_trame(&eth(&[], 0x86dd, &ipv6(44, &payload)));
        assert!(
            text.ends_with("        Adresse dest.    : fe80::1\n        UDP tronqué : 8 octets nécessaires, 5 présents\n"),
            "{text}"
        );

        let pseudo = PseudoHeader::V6 {
            source: V6_SRC,
            destination: V6_DST,
        };
        let mut datagram = udp(&pseudo, 45, 55710, b"coucou");
        datagram[6] ^= 0xff;
        let mut payload = vec![17, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe];
        payload.extend_from_slice(&datagram);
        let frame = eth(&[], 0x86dd, &ipv6(44, &payload));
        let (text, summary) = text_of(&frame, LinkType::Ethernet);
        assert!(!text.contains("Checksum"), "{text}");
        assert!(summary.bad_checksum, "{text}");
        assert!(details_of(&frame).contains("(incorrect)\n"));
    }

    /// In a Linux cooked capture the protocol field is never an 802.3
    /// length: small values are protocols (1 Novell 802.3, 4 LLC 802.2 ...).
    #[test]
    fn linux_cooked_small_protocols_are_not_lengths() {
        let llc = [0x42, 0x42, 0x03, 0, 0];
        for (protocol, line) in [
            (4u16, "    Protocole 4 (0x0004, LLC 802.2) non décodé\n"),
            (
                1,
                "    Protocole 1 (0x0001, Novell 802.3 sans LLC) non décodé\n",
            ),
            (3, "    Protocole 3 (0x0003) non décodé\n"),
            (0x0c, "    Protocole 12 (0x000c, CAN) non décodé\n"),
        ] {
            let mut sll = vec![0, 0, 0, 1, 0, 6];
            sll.extend_from_slice(&SRC);
            sll.extend_from_slice(&[0, 0]);
            sll.extend_from_slice(&protocol.to_be_bytes());
            sll.extend_from_slice(&llc);
            let mut sll2 = protocol.to_be_bytes().to_vec();
            sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6]);
            sll2.extend_from_slice(&SRC);
            sll2.extend_from_slice(&[0, 0]);
            sll2.extend_from_slice(&llc);
            for (frame, link) in [(sll, LinkType::LinuxSll), (sll2, LinkType::LinuxSll2)] {
                let (text, summary) = text_of(&frame, link);
                let protocol_line = format!("    Protocol                : {protocol}\n");
                let tail =
                    protocol_line + line + "    Données                 : b'BB\\x03\\x00\\x00'\n";
                assert!(text.ends_with(&tail), "{text}");
                assert!(!text.contains("802.3 (longueur"), "{text}");
                assert!(summary.undecoded && summary.error.is_none());
            }
        }
    }

    #[test]
    fn wrong_checksums_show_in_details_only() {
        let mut datagram = udp(&v4_pseudo(), 45, 55710, b"coucou");
        datagram[6..8].copy_from_slice(&[0x12, 0x34]);
        let mut ip = ipv4(17, &[], 0, &datagram);
        ip[10] ^= 0xff;
        let bad_ip_sum = u16::from_be_bytes([ip[10], ip[11]]);
        let frame = eth(&[], 0x0800, &ip);
        let (text, summary) = text_of(&frame, LinkType::Ethernet);
        assert!(!text.contains("Checksum"), "{text}");
        assert!(summary.bad_checksum);
        let text = details_of(&frame);
        let expected_ip_line = format!("        Checksum         : {bad_ip_sum:#06x} (incorrect)\n        +++ Paquet UDP +++\n");
        assert!(text.contains(&expected_ip_line), "{text}");
        assert!(
            text.ends_with("            Longueur totale  : 14\n            Checksum         : 0x1234 (incorrect)\n            Données          : b'coucou'\n"),
            "{text}"
        );
    }

    /// Every prefix of a valid frame: the error names the layer whose header
    /// was cut, never a panic. A length field announcing more than is there
    /// is no error: the bytes present are the data.
    #[test]
    fn every_truncation_of_a_frame_names_its_layer() {
        let segment = tcp(&v4_pseudo(), &[2, 4, 5, 0xb4], b"GET / HTTP/1.0\r\n\r\n");
        let mut frame = eth(&[], 0x0800, &ipv4(6, &OPTIONS, 0x4000, &segment));
        let full = 14 + 32 + segment.len();
        frame.truncate(full);
        for len in 0..full {
            let (text, summary) = text_of(&frame[..len], LinkType::Ethernet);
            let expected = match len {
                0..14 => Some(Layer::Ethernet),
                14..46 => Some(Layer::Ipv4),
                46..70 => Some(Layer::Tcp),
                _ => None,
            };
            assert_eq!(summary.error, expected, "{len}: {text}");
            let last = text.lines().last().unwrap();
            match expected {
                Some(_) => assert!(last.contains("tronqué"), "{len}: {text}"),
                None => assert_eq!(
                    last,
                    format!(
                        "            Données          : {}",
                        protocols::pyrepr::bytes_repr(&frame[70..len])
                    ),
                ),
            }
        }
        // Inside a correct IP packet, a cut transport header is the
        // transport's error.
        for len in 0..20 {
            let ip = ipv4(6, &[], 0, &segment[..len]);
            let (text, summary) = text_of(&eth(&[], 0x0800, &ip), LinkType::Ethernet);
            assert_eq!(summary.error, Some(Layer::Tcp), "{len}: {text}");
            assert!(
                text.ends_with(&format!(
                    "        TCP tronqué : 20 octets nécessaires, {len} présents\n"
                )),
                "{text}"
            );
        }
        assert_eq!(text_of(&frame, LinkType::Ethernet).1.error, None);
    }

    #[test]
    fn linux_cooked_v2_block() {
        let ip = ipv4(1, &[], 0, &icmp_echo(b"x"));
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6];
        sll2.extend_from_slice(&SRC);
        sll2.extend_from_slice(&[0, 0]);
        sll2.extend_from_slice(&ip);
        let (out, summary) = text_of(&sll2, LinkType::LinuxSll2);
        assert!(
            out.starts_with(
                ">>> Trame Linux SLL2 <<<\n    Interface               : 3\n    Type de paquet          : 0\n    Protocol                : 2048\n    --- Paquet IP ---\n"
            ),
            "{out}"
        );
        assert!(summary.contains(Proto::LinuxSll) && summary.contains(Proto::Icmp));
    }

    #[test]
    fn transport_checksums_can_be_skipped_for_offloaded_frames() {
        let mut datagram = udp(&v4_pseudo(), 45, 55710, b"coucou");
        datagram[6..8].copy_from_slice(&[0x12, 0x34]);
        let frame = eth(&[], 0x0800, &ipv4(17, &[], 0, &datagram));
        let mut out = Vec::new();
        let options = Options {
            details: true,
            checksums: TransportChecksums::Skip,
        };
        let summary = write_frame_with(&mut out, &frame, LinkType::Ethernet, options);
        assert!(!summary.bad_checksum);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "            Checksum         : 0x1234 (non vérifié : envoyé par cet hôte)\n"
            ),
            "{text}"
        );
        assert!(text_of(&frame, LinkType::Ethernet).1.bad_checksum);
    }

    /// A header that cannot be read gives one line with the error, at the
    /// depth its block would have had, and nothing after it.
    #[test]
    fn truncated_and_invalid_headers() {
        assert_eq!(
            decode_trame(&DST[..5]),
            "Ethernet tronqué : 14 octets nécessaires, 5 présents\n"
        );

        let mut short_ip = eth(&[], 0x0800, &[]);
        short_ip.truncate(14);
        short_ip.extend_from_slice(&[0x45, 0, 0, 20, 0, 0]);
        let error = Ipv4Packet::new(&short_ip[14..]).unwrap_err();
        assert!(decode_trame(&short_ip).ends_with(&format!(
            "    Protocol                : 2048\n    {error}\n"
        )));

        let mut bad_tcp = tcp(&v4_pseudo(), &[], b"");
        bad_tcp[12] = 3 << 4;
        let frame = eth(&[], 0x0800, &ipv4(6, &[], 0, &bad_tcp));
        let error = TcpSegment::new(&bad_tcp).unwrap_err();
        assert_eq!(error.layer(), Layer::Tcp);
        let text = decode_trame(&frame);
        assert!(
            text.ends_with(&format!(
                "        Adresse dest.    : 76.218.134.147\n        {error}\n"
            )),
            "{text}"
        );

        // A UDP Length below 8 is no error: the bytes present are data.
        let bad_udp = [0, 1, 0, 2, 0, 4, 0, 0, b'!'];
        let frame = eth(&[], 0x0800, &ipv4(17, &[], 0, &bad_udp));
        let (out, summary) = text_of(&frame, LinkType::Ethernet);
        assert_eq!(summary.error, None);
        assert!(
            out.ends_with(
                "            Longueur totale  : 4\n            Données          : b'!'\n"
            ),
            "{out}"
        );
        let short_udp = &bad_udp[..5];
        let frame = eth(&[], 0x0800, &ipv4(17, &[], 0, short_udp));
        let (out, summary) = text_of(&frame, LinkType::Ethernet);
        assert_eq!(summary.error, Some(Layer::Udp));
        assert!(
            out.ends_with(&format!(
                "        {}\n",
                UdpDatagram::new(short_udp).unwrap_err()
            )),
            "{out}"
        );
        assert_eq!(decode_UDP(&bad_udp).unwrap_err().layer(), Layer::Udp);
    }

    #[test]
    fn linux_cooked_and_raw_ip() {
        let ip = ipv4(1, &[], 0, &icmp_echo(b"x"));
        let mut sll = vec![0, 4, 0, 1, 0, 6];
        sll.extend_from_slice(&SRC);
        sll.extend_from_slice(&[0, 0, 8, 0]);
        sll.extend_from_slice(&ip);
        let (out, _) = text_of(&sll, LinkType::LinuxSll);
        assert!(
            out.starts_with(">>> Trame Linux SLL <<<\n    Type de paquet          : 4\n    Protocol                : 2048\n    --- Paquet IP ---\n"),
            "{out}"
        );
        let (out, _) = text_of(&ip, LinkType::RawIp);
        assert!(
            out.starts_with(
                ">>> Paquet IP brut <<<\n    --- Paquet IP ---\n        Version          : 4\n"
            ),
            "{out}"
        );
        assert!(
            out.ends_with("            Données          : b'x'\n"),
            "{out}"
        );
    }

    proptest! {
        /// Whatever the bytes: no panic, and every line ends with `\n`.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            for link in [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::RawIp] {
                let (out, _) = text_of(&data, link);
                prop_assert!(out.ends_with('\n'));
            }
        }

        /// Valid headers followed by random bytes reach the deeper layers.
        #[test]
        fn random_payloads_behind_valid_headers(
            protocol in prop_oneof![Just(1u8), Just(6), Just(17), Just(58), any::<u8>()],
            tail in proptest::collection::vec(any::<u8>(), 0..80),
            frag in any::<u16>(),
        ) {
            let frame = eth(&[7], 0x0800, &ipv4(protocol, &[], frag, &tail));
            let text = decode_trame(&frame);
            prop_assert!(text.ends_with('\n'));
            prop_assert!(text.contains("--- Paquet IP ---"));
            let v6 = eth(&[], 0x86dd, &ipv6(protocol, &tail));
            prop_assert!(decode_trame(&v6).ends_with('\n'));
        }
    }

    #[test]
    fn small_writers() {
        let mut s = Vec::new();
        for n in [0, 7, 10, 65535, 1_000_000_000, u32::MAX] {
            s.clear();
            push_u32(&mut s, n);
            assert_eq!(s, n.to_string().as_bytes());
        }
        s.clear();
        push_hex16(&mut s, 0x0a1f);
        assert_eq!(s, b"0x0a1f");
        for text in [
            "::",
            "::1",
            "1::",
            "1:0:0:2::3",
            "1::2:0:0:3",
            "2001:db8::ff00:42:8329",
            "::ffff:1.2.3.4",
            "fe80::1:0:0:0",
        ] {
            let addr: Ipv6Addr = text.parse().unwrap();
            s.clear();
            push_ipv6(&mut s, addr);
            assert_eq!(String::from_utf8_lossy(&s), addr.to_string());
        }
        assert_eq!(decode_adresse_IP(2475088460), "147.134.218.76");
        assert_eq!(decode_adresse_IP(0), "0.0.0.0");
        assert_eq!(
            decode_adresse_MAC([0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35]),
            "52:0c:c7:1d:ca:35"
        );
    }
}
