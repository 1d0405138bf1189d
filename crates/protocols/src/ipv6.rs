//! IPv6 packets (RFC 8200), with their extension headers skipped to reach
//! the upper-layer protocol.
//!
//! ```text
//!  0       4               12                                      31
//! +-------+---------------+---------------------------------------+
//! |Version| Traffic Class |              Flow Label               |
//! +-------+---------------+-------+---------------+---------------+
//! |        Payload Length         |  Next Header  |   Hop Limit   |
//! +-------------------------------+---------------+---------------+
//! |                  Source Address (16 bytes)                    |
//! +---------------------------------------------------------------+
//! |                Destination Address (16 bytes)                 |
//! +---------------------------------------------------------------+
//! | extension headers ... | upper-layer header and data ...       |
//! +---------------------------------------------------------------+
//! ```
//!
//! The constructor walks the hop-by-hop (0), routing (43), fragment (44) and
//! destination options (60) headers, each checked to lie within Payload
//! Length. A fragment header with a non-zero offset ends the walk: what
//! follows is the middle of the original payload, not a header.
//!
//! A routing header with segments left names the packet's *final*
//! destination, which the upper-layer checksums cover instead of the
//! Destination Address (RFC 8200 §8.1): [`Ipv6Packet::pseudo_header`] uses
//! it for the routing types that carry plain addresses (0, 2 and 4).
//!
//! Jumbograms (RFC 2675: Payload Length 0 and a hop-by-hop Jumbo Payload
//! option) are not supported: Payload Length 0 means an empty payload.

use std::net::Ipv6Addr;

use crate::checksum::PseudoHeader;
use crate::endian::{array_at, u16_at, u32_at, u8_at};
use crate::error::{Layer, ParseError};
use crate::ipv4::protocol;

/// Length of the fixed header.
const HEADER_LEN: usize = 40;
/// Length of a fragment header, and the shortest any extension header is.
const EXTENSION_MIN_LEN: usize = 8;

/// Byte ranges of the fixed header.
mod field {
    use std::ops::Range;

    /// Version (4 bits), traffic class (8 bits), flow label (20 bits).
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SOURCE: Range<usize> = 8..24;
    pub const DESTINATION: Range<usize> = 24..40;
}

/// Byte ranges of an extension header's first 8 bytes.
mod ext_field {
    use std::ops::Range;

    pub const NEXT_HEADER: usize = 0;
    /// Hop-by-hop, routing, destination options: length in 8-byte units,
    /// not counting the first 8 bytes.
    pub const HDR_EXT_LEN: usize = 1;
    /// Fragment header: offset (13 bits, 8-byte units), 2 reserved bits, M.
    pub const FRAGMENT_OFFSET_M: Range<usize> = 2..4;
    /// Routing header: the routing type.
    pub const ROUTING_TYPE: usize = 2;
    /// Routing header: how many listed nodes are still to be visited.
    pub const SEGMENTS_LEFT: usize = 3;
}

/// Routing header types whose addresses follow the first 8 bytes as a plain
/// list of 16-byte addresses.
mod routing_type {
    /// Type 0 (deprecated by RFC 5095, still met in captures): the final
    /// destination is the last address.
    pub const SOURCE_ROUTE: u8 = 0;
    /// Type 2 (Mobile IPv6, RFC 6275): one address, the home address.
    pub const MOBILE_IPV6: u8 = 2;
    /// Type 4 (Segment Routing, RFC 8754): Segment List[0] is the last
    /// segment.
    pub const SEGMENT_ROUTING: u8 = 4;
}

/// Length of an IPv6 address.
const ADDRESS_LEN: usize = 16;

/// The final destination a routing header names while it still has
/// segments left, for the types that list plain addresses; `None` when the
/// Destination Address already is the final one or the type is not known.
fn routing_final_destination(header: &[u8]) -> Option<&[u8; ADDRESS_LEN]> {
    let (first, addresses) = header.split_first_chunk::<EXTENSION_MIN_LEN>()?;
    if u8_at(first, ext_field::SEGMENTS_LEFT) == 0 {
        return None;
    }
    let last = match u8_at(first, ext_field::ROUTING_TYPE) {
        routing_type::SOURCE_ROUTE => addresses.len() / ADDRESS_LEN,
        routing_type::MOBILE_IPV6 | routing_type::SEGMENT_ROUTING => 1,
        _ => return None,
    };
    let start = last.checked_sub(1)? * ADDRESS_LEN;
    addresses.get(start..)?.first_chunk::<ADDRESS_LEN>()
}

/// A checked view over an IPv6 packet, bounded by its Payload Length.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<'a> {
    /// The 40-byte fixed header.
    fixed: &'a [u8; HEADER_LEN],
    /// Everything after the fixed header, up to Payload Length.
    payload: &'a [u8],
    /// What follows the extension headers, up to Payload Length.
    upper_payload: &'a [u8],
    /// The protocol of `upper_payload`.
    upper_protocol: u8,
    /// A fragment header was walked.
    fragmented: bool,
    /// That fragment header's offset, in 8-byte units (non-zero: a later
    /// fragment).
    fragment_offset: u16,
    /// That fragment header has the M (more fragments) flag.
    more_fragments: bool,
    /// The final destination named by a routing header, if any.
    final_destination: Option<&'a [u8; ADDRESS_LEN]>,
}

impl<'a> Ipv6Packet<'a> {
    /// Length of the fixed header.
    pub const HEADER_LEN: usize = HEADER_LEN;
    /// Same as [`Self::HEADER_LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = HEADER_LEN;

    /// Checks 40 bytes, version 6, the whole payload present, then walks the
    /// extension headers. An extension header that does not fit in Payload
    /// Length is `Truncated { layer: Ipv6, needed, got }`, counted from the
    /// start of the packet (`got` is then `40 + Payload Length`). Bytes past
    /// Payload Length (Ethernet padding) are ignored.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        let Some((fixed, after)) = data.split_first_chunk::<HEADER_LEN>() else {
            return Err(ParseError::Truncated {
                layer: Layer::Ipv6,
                needed: HEADER_LEN,
                got: data.len(),
            });
        };
        let version = u8_at(fixed, 0) >> 4;
        if version != 6 {
            return Err(ParseError::InvalidField {
                layer: Layer::Ipv6,
                field: "version",
                value: u64::from(version),
                expected: "6",
            });
        }
        let payload_len = usize::from(u16_at(fixed, field::PAYLOAD_LEN));
        let Some(payload) = after.get(..payload_len) else {
            return Err(ParseError::Truncated {
                layer: Layer::Ipv6,
                needed: HEADER_LEN + payload_len,
                got: data.len(),
            });
        };

        let mut packet = Ipv6Packet {
            fixed,
            payload,
            upper_payload: payload,
            upper_protocol: u8_at(fixed, field::NEXT_HEADER),
            fragmented: false,
            fragment_offset: 0,
            more_fragments: false,
            final_destination: None,
        };
        // Each header consumes at least 8 bytes, so the walk ends within
        // Payload Length / 8 rounds.
        loop {
            let rest = packet.upper_payload;
            let truncated = |len: usize| ParseError::Truncated {
                layer: Layer::Ipv6,
                needed: HEADER_LEN + (payload.len() - rest.len()) + len,
                got: HEADER_LEN + payload.len(),
            };
            let ext_len = match packet.upper_protocol {
                protocol::HOP_BY_HOP
                | protocol::IPV6_ROUTING
                | protocol::IPV6_DESTINATION_OPTIONS => {
                    let first = rest
                        .first_chunk::<EXTENSION_MIN_LEN>()
                        .ok_or_else(|| truncated(EXTENSION_MIN_LEN))?;
                    (usize::from(u8_at(first, ext_field::HDR_EXT_LEN)) + 1) * 8
                }
                protocol::IPV6_FRAGMENT => EXTENSION_MIN_LEN,
                _ => break,
            };
            let (ext, upper) = rest
                .split_at_checked(ext_len)
                .ok_or_else(|| truncated(ext_len))?;
            let Some(first) = ext.first_chunk::<EXTENSION_MIN_LEN>() else {
                return Err(truncated(EXTENSION_MIN_LEN));
            };
            let kind = packet.upper_protocol;
            packet.upper_protocol = u8_at(first, ext_field::NEXT_HEADER);
            packet.upper_payload = upper;
            if kind == protocol::IPV6_ROUTING {
                packet.final_destination = routing_final_destination(ext);
            }
            if kind == protocol::IPV6_FRAGMENT {
                let offset_m = u16_at(first, ext_field::FRAGMENT_OFFSET_M);
                packet.fragmented = true;
                packet.more_fragments = offset_m & 1 != 0;
                packet.fragment_offset = offset_m >> 3;
                if packet.fragment_offset != 0 {
                    break;
                }
            }
        }
        Ok(packet)
    }

    /// The version field: always 6 in a constructed view.
    #[inline]
    pub fn version(&self) -> u8 {
        u8_at(self.fixed, 0) >> 4
    }

    /// The traffic class (DSCP and ECN).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        // Version (4 bits) | traffic class (8) | flow label (20): the mask
        // keeps the 8 traffic class bits, so the cast loses nothing.
        ((u32_at(self.fixed, field::VER_TC_FLOW) >> 20) & 0xff) as u8
    }

    /// The 20-bit flow label.
    #[inline]
    pub fn flow_label(&self) -> u32 {
        u32_at(self.fixed, field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// The Payload Length field: bytes after the 40-byte header, extension
    /// headers included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        u16_at(self.fixed, field::PAYLOAD_LEN)
    }

    /// The raw Next Header field of the fixed header (may name an extension
    /// header; see [`Self::upper_protocol`]).
    #[inline]
    pub fn next_header(&self) -> u8 {
        u8_at(self.fixed, field::NEXT_HEADER)
    }

    /// The hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        u8_at(self.fixed, field::HOP_LIMIT)
    }

    /// The source address.
    #[inline]
    pub fn source(&self) -> Ipv6Addr {
        Ipv6Addr::from(array_at::<HEADER_LEN, 16>(self.fixed, field::SOURCE))
    }

    /// The destination address.
    #[inline]
    pub fn destination(&self) -> Ipv6Addr {
        Ipv6Addr::from(array_at::<HEADER_LEN, 16>(self.fixed, field::DESTINATION))
    }

    /// Everything after the fixed header, extension headers included, up to
    /// Payload Length.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Total length of the extension headers walked.
    #[inline]
    pub fn extension_headers_len(&self) -> usize {
        self.payload.len() - self.upper_payload.len()
    }

    /// The protocol after the extension headers (6 TCP, 17 UDP, 58 ICMPv6,
    /// 59 no next header, ...).
    #[inline]
    pub fn upper_protocol(&self) -> u8 {
        self.upper_protocol
    }

    /// What follows the extension headers, up to Payload Length.
    #[inline]
    pub fn upper_payload(&self) -> &'a [u8] {
        self.upper_payload
    }

    /// A non-first fragment: [`Self::upper_payload`] is the middle of the
    /// original payload, not an upper-layer header.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.fragment_offset != 0
    }

    /// The fragment header's offset, in 8-byte units, as
    /// [`Ipv4Packet::fragment_offset`](crate::ipv4::Ipv4Packet::fragment_offset)
    /// (0 without a fragment header).
    #[inline]
    pub fn fragment_offset(&self) -> u16 {
        self.fragment_offset
    }

    /// The packet has a fragment header (first fragment included): the
    /// upper-layer checksum covers data this packet does not hold all of,
    /// unless it is an atomic fragment (offset 0, no more fragments).
    #[inline]
    pub fn has_fragment_header(&self) -> bool {
        self.fragmented
    }

    /// The M flag of the fragment header (false without one).
    #[inline]
    pub fn more_fragments(&self) -> bool {
        self.more_fragments
    }

    /// The destination the upper-layer checksums cover (RFC 8200 §8.1): the
    /// last address of a routing header that still has segments left (types
    /// 0, 2 and 4), otherwise the Destination Address.
    #[inline]
    pub fn final_destination(&self) -> Ipv6Addr {
        match self.final_destination {
            Some(&address) => Ipv6Addr::from(address),
            None => self.destination(),
        }
    }

    /// The pseudo-header the TCP, UDP and ICMPv6 checksums cover, with the
    /// [final destination](Self::final_destination).
    #[inline]
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::V6 {
            source: self.source(),
            destination: self.final_destination(),
        }
    }
}

/// An extension header before the upper protocol: its type (0 hop-by-hop,
/// 43 routing, 44 fragment, 60 destination options) and its body after the
/// next-header byte and the length byte (after the reserved byte, for 44).
/// [`Ipv6Repr::emit`] pads bodies to their header's size rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Extension {
    pub kind: u8,
    pub body: Vec<u8>,
}

/// The fields of an IPv6 header and its extension headers, to write one
/// ([`Ipv6Repr::emit`], lengths and chain computed) or read one back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub traffic_class: u8,
    pub flow_label: u32,
    pub hop_limit: u8,
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub extensions: Vec<Ipv6Extension>,
    /// The upper protocol, after the extension headers.
    pub protocol: u8,
}

impl Ipv6Repr {
    /// A header as a host sends one: hop limit 64, no extension header.
    pub fn new(source: Ipv6Addr, destination: Ipv6Addr, protocol: u8) -> Self {
        Ipv6Repr {
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 64,
            source,
            destination,
            extensions: Vec::new(),
            protocol,
        }
    }

    /// The fields of a packet's header and extension headers.
    pub fn parse(ip: &Ipv6Packet<'_>) -> Self {
        let mut extensions = Vec::new();
        let mut kind = ip.next_header();
        let mut chain = ip
            .payload()
            .get(..ip.extension_headers_len())
            .unwrap_or_default();
        while let [next, len, rest @ ..] = chain {
            let size = if kind == protocol::IPV6_FRAGMENT {
                8
            } else {
                (usize::from(*len) + 1) * 8
            };
            let body = rest.get(..size - 2).unwrap_or(rest);
            extensions.push(Ipv6Extension {
                kind,
                body: body.to_vec(),
            });
            kind = *next;
            chain = chain.get(size..).unwrap_or_default();
        }
        Ipv6Repr {
            traffic_class: ip.traffic_class(),
            flow_label: ip.flow_label(),
            hop_limit: ip.hop_limit(),
            source: ip.source(),
            destination: ip.destination(),
            extensions,
            protocol: ip.upper_protocol(),
        }
    }

    /// The pseudo-header of the transport checksums this packet carries.
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::V6 {
            source: self.source,
            destination: self.destination,
        }
    }

    /// Appends the header, the extension headers and `payload`.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        let mut chain = Vec::new();
        for (i, ext) in self.extensions.iter().enumerate() {
            let next = self.extensions.get(i + 1).map_or(self.protocol, |e| e.kind);
            chain.push(next);
            let mut body = ext.body.clone();
            if ext.kind == protocol::IPV6_FRAGMENT {
                chain.push(0);
                body.resize(6, 0);
            } else {
                // (2 + body) must be a multiple of 8.
                body.resize((2 + body.len()).div_ceil(8) * 8 - 2, 0);
                chain.push(((2 + body.len()) / 8 - 1) as u8);
            }
            chain.extend_from_slice(&body);
        }
        let first = self.extensions.first().map_or(self.protocol, |e| e.kind);
        let word = 6u32 << 28 | u32::from(self.traffic_class) << 20 | (self.flow_label & 0xf_ffff);
        out.extend_from_slice(&word.to_be_bytes());
        out.extend_from_slice(&((chain.len() + payload.len()) as u16).to_be_bytes());
        out.extend_from_slice(&[first, self.hop_limit]);
        out.extend_from_slice(&self.source.octets());
        out.extend_from_slice(&self.destination.octets());
        out.extend_from_slice(&chain);
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let mut repr = Ipv6Repr::new(Ipv6Addr::LOCALHOST, "2001:db8::1".parse().unwrap(), 17);
        repr.traffic_class = 0xb8;
        repr.flow_label = 0x12345;
        repr.extensions = vec![
            Ipv6Extension {
                kind: 0,
                body: vec![1, 4, 0, 0, 0, 0],
            },
            Ipv6Extension {
                kind: 60,
                body: vec![1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            },
            Ipv6Extension {
                kind: 44,
                body: vec![0, 1, 0xca, 0xfe, 0xba, 0xbe],
            },
        ];
        let mut bytes = Vec::new();
        repr.emit(b"udp!", &mut bytes);
        let ip = Ipv6Packet::new(&bytes).unwrap();
        assert_eq!(Ipv6Repr::parse(&ip), repr);
        assert_eq!(
            (ip.upper_protocol(), ip.upper_payload()),
            (17, &b"udp!"[..])
        );
        assert!(ip.has_fragment_header() && ip.more_fragments());
    }
    use crate::checksum::transport_checksum;
    use crate::udp::UdpDatagram;

    /// A fixed header with payload length `len`, next header `next`,
    /// traffic class 0xab, flow label 0x12345, hop limit 64, fe80::1 -> ff02::2.
    fn fixed(len: u16, next: u8) -> Vec<u8> {
        let mut p = vec![0x6a, 0xb1, 0x23, 0x45];
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&"ff02::2".parse::<Ipv6Addr>().unwrap().octets());
        p
    }

    #[test]
    fn reads_every_field() {
        let mut data = fixed(4, protocol::UDP);
        data.extend_from_slice(b"abcd\0\0"); // 2 bytes of padding
        let ip = Ipv6Packet::new(&data).unwrap();
        assert_eq!(ip.version(), 6);
        assert_eq!(ip.traffic_class(), 0xab);
        assert_eq!(ip.flow_label(), 0x12345);
        assert_eq!(ip.payload_len(), 4);
        assert_eq!(ip.next_header(), protocol::UDP);
        assert_eq!(ip.hop_limit(), 64);
        assert_eq!(ip.source().to_string(), "fe80::1");
        assert_eq!(ip.destination().to_string(), "ff02::2");
        assert_eq!(ip.upper_protocol(), protocol::UDP);
        assert_eq!(ip.payload(), b"abcd");
        assert_eq!(ip.upper_payload(), b"abcd", "padding must not show");
        assert_eq!(ip.extension_headers_len(), 0);
        assert!(!ip.is_fragment() && !ip.has_fragment_header() && !ip.more_fragments());
        assert_eq!(ip.fragment_offset(), 0);
        assert!(matches!(ip.pseudo_header(), PseudoHeader::V6 { .. }));
    }

    /// Hop-by-hop (8) -> routing (24) -> fragment (8, offset `offset`, M) ->
    /// destination options (16) -> TCP, then "tcp!".
    fn chained(offset: u16) -> Vec<u8> {
        let mut ext = vec![protocol::IPV6_ROUTING, 0, 1, 4, 0, 0, 0, 0];
        ext.extend_from_slice(&[protocol::IPV6_FRAGMENT, 2, 0, 0]);
        ext.extend_from_slice(&[0; 20]);
        ext.extend_from_slice(&[protocol::IPV6_DESTINATION_OPTIONS, 0]);
        ext.extend_from_slice(&(offset << 3 | 1).to_be_bytes());
        ext.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        ext.extend_from_slice(&[protocol::TCP, 1]);
        ext.extend_from_slice(&[0; 14]);
        ext.extend_from_slice(b"tcp!");
        let mut data = fixed(ext.len() as u16, protocol::HOP_BY_HOP);
        data.extend_from_slice(&ext);
        data
    }

    #[test]
    fn walks_extension_headers() {
        let data = chained(0);
        let ip = Ipv6Packet::new(&data).unwrap();
        assert_eq!(ip.next_header(), protocol::HOP_BY_HOP);
        assert_eq!(ip.upper_protocol(), protocol::TCP);
        assert_eq!(ip.extension_headers_len(), 56);
        assert_eq!(ip.upper_payload(), b"tcp!");
        assert!(!ip.is_fragment());
        assert_eq!(ip.fragment_offset(), 0);
        assert!(ip.has_fragment_header() && ip.more_fragments());
    }

    #[test]
    fn later_fragment_stops_the_walk() {
        let data = chained(100);
        let ip = Ipv6Packet::new(&data).unwrap();
        assert!(ip.is_fragment());
        assert_eq!(ip.fragment_offset(), 100);
        // The destination options header is the fragment's data, not walked.
        assert_eq!(ip.upper_protocol(), protocol::IPV6_DESTINATION_OPTIONS);
        assert_eq!(ip.extension_headers_len(), 40);
        assert_eq!(ip.upper_payload().len(), 20);
    }

    /// A routing header of `kind` with `segments_left` listing `addresses`,
    /// then a UDP datagram whose checksum covers `to`.
    fn routed(kind: u8, segments_left: u8, addresses: &[Ipv6Addr], to: Ipv6Addr) -> Vec<u8> {
        let units = u8::try_from(addresses.len() * 2).unwrap();
        let mut ext = vec![protocol::UDP, units, kind, segments_left, 0, 0, 0, 0];
        for address in addresses {
            ext.extend_from_slice(&address.octets());
        }
        let mut udp = vec![0x12, 0x34, 0x00, 0x35, 0, 10, 0, 0, b'o', b'k'];
        let pseudo = PseudoHeader::V6 {
            source: "fe80::1".parse().unwrap(),
            destination: to,
        };
        let checksum = transport_checksum(&pseudo, protocol::UDP, &udp);
        udp[6..8].copy_from_slice(&checksum.to_be_bytes());
        let mut data = fixed((ext.len() + udp.len()) as u16, protocol::IPV6_ROUTING);
        data.extend_from_slice(&ext);
        data.extend_from_slice(&udp);
        data
    }

    #[test]
    fn routing_header_names_the_checksums_final_destination() {
        let header_destination: Ipv6Addr = "ff02::2".parse().unwrap();
        let a: Ipv6Addr = "2001:db8::a".parse().unwrap();
        let b: Ipv6Addr = "2001:db8::b".parse().unwrap();
        // (type, segments left, addresses, final destination)
        let cases = [
            (0, 2, vec![a, b], b),                  // source route: the last one
            (2, 1, vec![a], a),                     // Mobile IPv6: the home address
            (4, 1, vec![a, b], a),                  // SRv6: Segment List[0]
            (4, 0, vec![a, b], header_destination), // already there
            (3, 1, vec![a], header_destination),    // RPL: compressed, not read
            (4, 1, vec![], header_destination),     // no address to read
        ];
        for (kind, left, addresses, expected) in cases {
            let data = routed(kind, left, &addresses, expected);
            let ip = Ipv6Packet::new(&data).unwrap();
            assert_eq!(ip.destination(), header_destination);
            assert_eq!(ip.final_destination(), expected, "type {kind}");
            assert_eq!(
                ip.pseudo_header(),
                PseudoHeader::V6 {
                    source: ip.source(),
                    destination: expected
                }
            );
            let udp = UdpDatagram::new(ip.upper_payload()).unwrap();
            assert!(udp.checksum_ok(&ip.pseudo_header()), "type {kind}");
        }
    }

    #[test]
    fn every_truncation_and_invalid_version() {
        let data = chained(0);
        for len in 0..40 {
            assert_eq!(
                Ipv6Packet::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ipv6,
                    needed: 40,
                    got: len
                }
            );
        }
        for len in 40..data.len() {
            assert_eq!(
                Ipv6Packet::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ipv6,
                    needed: data.len(),
                    got: len
                }
            );
        }
        // Payload Length too short for the extension headers: every cut
        // names the header that does not fit, from the packet's start.
        let ends = [48, 72, 80, 96]; // where each extension header ends
        for payload_len in 0..56u16 {
            let mut cut = data[..40 + usize::from(payload_len)].to_vec();
            cut[4..6].copy_from_slice(&payload_len.to_be_bytes());
            let got = cut.len();
            let result = Ipv6Packet::new(&cut);
            let starts = [40, 48, 72, 80];
            let i = ends.iter().position(|&end| end > got).unwrap();
            // The header needs its first 8 bytes to tell its length.
            let needed = if got < starts[i] + 8 {
                starts[i] + 8
            } else {
                ends[i]
            };
            assert_eq!(
                result.unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ipv6,
                    needed,
                    got
                },
                "payload length {payload_len}"
            );
        }
        for version in [4u8, 0, 15] {
            let mut bad = data.clone();
            bad[0] = version << 4;
            assert_eq!(
                Ipv6Packet::new(&bad).unwrap_err(),
                ParseError::InvalidField {
                    layer: Layer::Ipv6,
                    field: "version",
                    value: u64::from(version),
                    expected: "6"
                }
            );
        }
    }
}
