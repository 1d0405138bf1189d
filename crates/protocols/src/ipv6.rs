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
    /// That fragment header has a non-zero offset.
    later_fragment: bool,
    /// That fragment header has the M (more fragments) flag.
    more_fragments: bool,
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
            later_fragment: false,
            more_fragments: false,
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
            if kind == protocol::IPV6_FRAGMENT {
                let offset_m = u16_at(first, ext_field::FRAGMENT_OFFSET_M);
                packet.fragmented = true;
                packet.more_fragments = offset_m & 1 != 0;
                if offset_m >> 3 != 0 {
                    packet.later_fragment = true;
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
        // Bits 4..12 of the first word: always fits in a byte.
        (u32_at(self.fixed, field::VER_TC_FLOW) >> 20) as u8
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
        self.later_fragment
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

    /// The pseudo-header the TCP, UDP and ICMPv6 checksums cover.
    ///
    /// With a routing header the checksum uses the *final* destination,
    /// which this does not look for (RFC 8200 §8.1).
    #[inline]
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::V6 {
            source: self.source(),
            destination: self.destination(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(ip.has_fragment_header() && ip.more_fragments());
    }

    #[test]
    fn later_fragment_stops_the_walk() {
        let data = chained(100);
        let ip = Ipv6Packet::new(&data).unwrap();
        assert!(ip.is_fragment());
        // The destination options header is the fragment's data, not walked.
        assert_eq!(ip.upper_protocol(), protocol::IPV6_DESTINATION_OPTIONS);
        assert_eq!(ip.extension_headers_len(), 40);
        assert_eq!(ip.upper_payload().len(), 20);
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
