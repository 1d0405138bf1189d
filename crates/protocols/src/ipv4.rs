//! IPv4 packets (RFC 791).
//!
//! ```text
//!  0       4       8               16      19                      31
//! +-------+-------+---------------+-------------------------------+
//! |Version|  IHL  |   DSCP/ECN    |          Total Length         |
//! +-------+-------+---------------+-----+-------------------------+
//! |         Identification        |Flags|     Fragment Offset     |
//! +---------------+---------------+-----+-------------------------+
//! |      TTL      |   Protocol    |        Header Checksum        |
//! +---------------+---------------+-------------------------------+
//! |                        Source Address                         |
//! +---------------------------------------------------------------+
//! |                      Destination Address                      |
//! +---------------------------------------------------------------+
//! |                 Options (IHL > 5) ...                         |
//! +---------------------------------------------------------------+
//! ```
//!
//! The view is bounded by Total Length, so the padding of short Ethernet
//! frames never shows in [`Ipv4Packet::payload`].

use std::net::Ipv4Addr;

use crate::checksum::{internet_checksum, PseudoHeader};
use crate::endian::{array_at, u16_at, u8_at};
use crate::error::{Layer, ParseError};

/// Well-known IP protocol numbers (also IPv6 "next header" values).
pub mod protocol {
    /// IPv6 hop-by-hop options extension header.
    pub const HOP_BY_HOP: u8 = 0;
    /// Internet Control Message Protocol.
    pub const ICMP: u8 = 1;
    /// Transmission Control Protocol.
    pub const TCP: u8 = 6;
    /// User Datagram Protocol.
    pub const UDP: u8 = 17;
    /// IPv6 routing extension header.
    pub const IPV6_ROUTING: u8 = 43;
    /// IPv6 fragment extension header.
    pub const IPV6_FRAGMENT: u8 = 44;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const IPV6_NO_NEXT: u8 = 59;
    /// IPv6 destination options extension header.
    pub const IPV6_DESTINATION_OPTIONS: u8 = 60;
}

/// Length of a header without options.
const MIN_HEADER_LEN: usize = 20;

/// Byte ranges (and single bytes) of the fixed header.
mod field {
    use std::ops::Range;

    /// Version (high 4 bits) and IHL (low 4 bits).
    pub const VER_IHL: usize = 0;
    /// DSCP (6 bits) and ECN (2 bits).
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENTIFICATION: Range<usize> = 4..6;
    /// Flags (3 bits) and fragment offset (13 bits).
    pub const FLAGS_FRAGMENT: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SOURCE: Range<usize> = 12..16;
    pub const DESTINATION: Range<usize> = 16..20;
}

/// "Don't fragment" bit of the flags/fragment-offset word.
const FLAG_DF: u16 = 0x4000;
/// The reserved bit of the flags/fragment-offset word.
const FLAG_RESERVED: u16 = 0x8000;
/// "More fragments" bit of the flags/fragment-offset word.
const FLAG_MF: u16 = 0x2000;
/// The fragment offset bits of the flags/fragment-offset word.
const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;

/// A checked view over an IPv4 packet, bounded by its Total Length.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<'a> {
    /// The fixed 20 bytes of the header.
    fixed: &'a [u8; MIN_HEADER_LEN],
    /// The whole header, options included (`IHL * 4` bytes).
    header: &'a [u8],
    /// The bytes between the header and Total Length.
    payload: &'a [u8],
}

impl<'a> Ipv4Packet<'a> {
    /// Length of a header without options.
    pub const MIN_HEADER_LEN: usize = MIN_HEADER_LEN;
    /// Same as [`Self::MIN_HEADER_LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = Self::MIN_HEADER_LEN;
    /// Longest header (IHL = 15).
    pub const MAX_HEADER_LEN: usize = 60;

    /// Checks, in this order: 20 bytes, version 4, IHL ≥ 5, the whole header
    /// present, Total Length ≥ header length, the whole packet present.
    /// Bytes past Total Length (Ethernet padding) are ignored.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse(data, false)
    }

    #[inline(always)]
    fn parse(data: &'a [u8], lenient: bool) -> Result<Self, ParseError> {
        let Some(fixed) = data.first_chunk::<{ MIN_HEADER_LEN }>() else {
            return Err(ParseError::Truncated {
                layer: Layer::Ipv4,
                needed: Self::MIN_HEADER_LEN,
                got: data.len(),
            });
        };
        let ver_ihl = u8_at(fixed, field::VER_IHL);
        if ver_ihl >> 4 != 4 {
            return Err(ParseError::InvalidField {
                layer: Layer::Ipv4,
                field: "version",
                value: u64::from(ver_ihl >> 4),
                expected: "4",
            });
        }
        let ihl = ver_ihl & 0x0f;
        if ihl < 5 {
            return Err(ParseError::InvalidField {
                layer: Layer::Ipv4,
                field: "IHL",
                value: u64::from(ihl),
                expected: "au moins 5",
            });
        }
        let header_len = usize::from(ihl) * 4;
        ParseError::check_len(Layer::Ipv4, header_len, data.len())?;
        let mut total_len = usize::from(u16_at(fixed, field::TOTAL_LEN));
        if lenient && !(header_len..=data.len()).contains(&total_len) {
            total_len = data.len();
        }
        if total_len < header_len {
            return Err(ParseError::InvalidField {
                layer: Layer::Ipv4,
                field: "total length",
                value: total_len as u64,
                expected: "au moins la longueur de l'en-tête",
            });
        }
        let (Some(header), Some(payload)) =
            (data.get(..header_len), data.get(header_len..total_len))
        else {
            return Err(ParseError::Truncated {
                layer: Layer::Ipv4,
                needed: total_len,
                got: data.len(),
            });
        };
        Ok(Ipv4Packet {
            fixed,
            header,
            payload,
        })
    }

    /// A view as lab 16's decoder reads a packet: the same checks as
    /// [`Self::new`] up to the whole header, but Total Length bounds the
    /// payload only when it is consistent with the bytes present (header ≤
    /// Total Length ≤ bytes); otherwise every byte after the header is
    /// payload. [`Self::total_len_consistent`] says which.
    #[inline]
    pub fn new_lenient(data: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse(data, true)
    }

    /// Whether Total Length matches the view (header + payload): false for a
    /// [lenient](Self::new_lenient) view that ignored it.
    #[inline]
    pub fn total_len_consistent(&self) -> bool {
        usize::from(self.total_len()) == self.header.len() + self.payload.len()
    }

    /// The version field: always 4 in a constructed view.
    #[inline]
    pub fn version(&self) -> u8 {
        u8_at(self.fixed, field::VER_IHL) >> 4
    }

    /// The raw 4-bit IHL field: header length in 32-bit words (5 to 15).
    #[inline]
    pub fn ihl(&self) -> u8 {
        u8_at(self.fixed, field::VER_IHL) & 0x0f
    }

    /// Header length in bytes (`IHL * 4`).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header.len()
    }

    /// The DSCP (6 bits) and ECN (2 bits) byte, once "type of service".
    #[inline]
    pub fn dscp_ecn(&self) -> u8 {
        u8_at(self.fixed, field::DSCP_ECN)
    }

    /// The Total Length field: header plus payload, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        u16_at(self.fixed, field::TOTAL_LEN)
    }

    /// The Identification field.
    #[inline]
    pub fn identification(&self) -> u16 {
        u16_at(self.fixed, field::IDENTIFICATION)
    }

    /// The reserved flag (must be 0; RFC 3514's "evil bit").
    #[inline]
    pub fn reserved_flag(&self) -> bool {
        u16_at(self.fixed, field::FLAGS_FRAGMENT) & FLAG_RESERVED != 0
    }

    /// The "don't fragment" flag.
    #[inline]
    pub fn dont_fragment(&self) -> bool {
        u16_at(self.fixed, field::FLAGS_FRAGMENT) & FLAG_DF != 0
    }

    /// The "more fragments" flag.
    #[inline]
    pub fn more_fragments(&self) -> bool {
        u16_at(self.fixed, field::FLAGS_FRAGMENT) & FLAG_MF != 0
    }

    /// The fragment offset, in 8-byte units.
    #[inline]
    pub fn fragment_offset(&self) -> u16 {
        u16_at(self.fixed, field::FLAGS_FRAGMENT) & FRAGMENT_OFFSET_MASK
    }

    /// The time-to-live field.
    #[inline]
    pub fn ttl(&self) -> u8 {
        u8_at(self.fixed, field::TTL)
    }

    /// The protocol number of the payload (1 ICMP, 6 TCP, 17 UDP, ...).
    #[inline]
    pub fn protocol(&self) -> u8 {
        u8_at(self.fixed, field::PROTOCOL)
    }

    /// The Header Checksum field as sent.
    #[inline]
    pub fn header_checksum(&self) -> u16 {
        u16_at(self.fixed, field::CHECKSUM)
    }

    /// Whether the header checksum (over the header, options included) is
    /// correct.
    #[inline]
    pub fn checksum_ok(&self) -> bool {
        internet_checksum(&[self.header]) == 0
    }

    /// The source address.
    #[inline]
    pub fn source(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<20, 4>(self.fixed, field::SOURCE))
    }

    /// The destination address.
    #[inline]
    pub fn destination(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<20, 4>(self.fixed, field::DESTINATION))
    }

    /// The raw options, between the fixed header and the payload (often empty).
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        self.header.get(Self::MIN_HEADER_LEN..).unwrap_or_default()
    }

    /// The whole header, options included.
    #[inline]
    pub fn header(&self) -> &'a [u8] {
        self.header
    }

    /// The payload: from the end of the header to Total Length.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Whether this packet is a fragment other than the first one, whose
    /// payload does not start with the upper-layer header.
    #[inline]
    pub fn is_later_fragment(&self) -> bool {
        self.fragment_offset() != 0
    }

    /// The pseudo-header the TCP and UDP checksums of the payload cover.
    #[inline]
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::V4 {
            source: self.source(),
            destination: self.destination(),
        }
    }
}

/// The fields of an IPv4 header, to write one ([`Ipv4Repr::emit`], Total
/// Length and checksum computed) or read one back ([`Ipv4Repr::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub dscp_ecn: u8,
    pub identification: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// In 8-byte units.
    pub fragment_offset: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    /// Options, a multiple of 4 bytes (`emit` pads them with zeros).
    pub options: Vec<u8>,
}

impl Ipv4Repr {
    /// A header as a host sends one: TTL 64, DF, identification 0x1234.
    pub fn new(source: Ipv4Addr, destination: Ipv4Addr, protocol: u8) -> Self {
        Ipv4Repr {
            dscp_ecn: 0,
            identification: 0x1234,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            ttl: 64,
            protocol,
            source,
            destination,
            options: Vec::new(),
        }
    }

    /// The fields of a packet's header.
    pub fn parse(ip: &Ipv4Packet<'_>) -> Self {
        Ipv4Repr {
            dscp_ecn: ip.dscp_ecn(),
            identification: ip.identification(),
            dont_fragment: ip.dont_fragment(),
            more_fragments: ip.more_fragments(),
            fragment_offset: ip.fragment_offset(),
            ttl: ip.ttl(),
            protocol: ip.protocol(),
            source: ip.source(),
            destination: ip.destination(),
            options: ip.options().to_vec(),
        }
    }

    /// The pseudo-header of the transport checksums this packet carries.
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::V4 {
            source: self.source,
            destination: self.destination,
        }
    }

    /// Appends the header (Total Length and checksum computed) and
    /// `payload`.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let options_len = self.options.len().div_ceil(4) * 4;
        let header_len = MIN_HEADER_LEN + options_len;
        let total = (header_len + payload.len()) as u16;
        let mut flags = self.fragment_offset & FRAGMENT_OFFSET_MASK;
        if self.dont_fragment {
            flags |= FLAG_DF;
        }
        if self.more_fragments {
            flags |= FLAG_MF;
        }
        out.push(0x40 | (header_len / 4) as u8);
        out.push(self.dscp_ecn);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&self.identification.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[self.ttl, self.protocol, 0, 0]);
        out.extend_from_slice(&self.source.octets());
        out.extend_from_slice(&self.destination.octets());
        out.extend_from_slice(&self.options);
        out.resize(start + header_len, 0);
        let checksum = internet_checksum(&[&out[start..]]);
        out[start + 10..start + 12].copy_from_slice(&checksum.to_be_bytes());
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let mut repr = Ipv4Repr::new([234, 216, 160, 229].into(), [76, 218, 134, 147].into(), 17);
        repr.options = vec![1; 12];
        repr.more_fragments = true;
        repr.fragment_offset = 185;
        let mut bytes = Vec::new();
        repr.emit(b"data", &mut bytes);
        let ip = Ipv4Packet::new(&bytes).unwrap();
        assert_eq!(Ipv4Repr::parse(&ip), repr);
        assert!(ip.checksum_ok());
        assert_eq!(
            (ip.ihl(), ip.total_len(), ip.payload()),
            (8, 36, &b"data"[..])
        );
        // The lab's packet, byte for byte.
        let lab = lab_packet();
        let mut again = Vec::new();
        Ipv4Repr::parse(&Ipv4Packet::new(&lab).unwrap()).emit(b"ping", &mut again);
        assert_eq!(again, lab[..36]);
    }

    /// An IPv4 header with IHL 8 (12 bytes of options), protocol 1, the lab's
    /// addresses, then 4 payload bytes and 3 bytes of Ethernet padding.
    fn lab_packet() -> Vec<u8> {
        let mut p = vec![
            0x48, 0x00, 0x00, 36, 0x12, 0x34, 0x40, 0x00, 64, 1, 0, 0, 234, 216, 160, 229, 76, 218,
            134, 147,
        ];
        p.extend_from_slice(&[1; 12]); // options: 12 NOPs
        let checksum = internet_checksum(&[&p]);
        p[10..12].copy_from_slice(&checksum.to_be_bytes());
        p.extend_from_slice(b"ping");
        p.extend_from_slice(&[0; 3]);
        p
    }

    #[test]
    fn lenient_view_trusts_total_length_only_when_consistent() {
        let data = lab_packet();
        let ip = Ipv4Packet::new_lenient(&data).unwrap();
        assert_eq!(
            (ip.payload(), ip.total_len_consistent()),
            (&b"ping"[..], true)
        );
        // Beyond the bytes or below the header: the bytes present.
        for total in [0u16, 31, 44, 0xffff] {
            let mut bad = data.clone();
            bad[2..4].copy_from_slice(&total.to_be_bytes());
            let ip = Ipv4Packet::new_lenient(&bad).unwrap();
            assert_eq!(ip.payload(), &bad[32..], "{total}");
            assert!(!ip.total_len_consistent());
            assert!(Ipv4Packet::new(&bad).is_err());
        }
        // The header itself is still checked.
        assert!(Ipv4Packet::new_lenient(&data[..31]).is_err());
    }

    #[test]
    fn decodes_the_lab_example() {
        let data = lab_packet();
        let ip = Ipv4Packet::new(&data).unwrap();
        assert_eq!(ip.version(), 4);
        assert_eq!(ip.ihl(), 8);
        assert_eq!(ip.header_len(), 32);
        assert_eq!(ip.protocol(), protocol::ICMP);
        assert_eq!(ip.source().to_string(), "234.216.160.229");
        assert_eq!(ip.destination().to_string(), "76.218.134.147");
        assert_eq!(ip.total_len(), 36);
        assert_eq!(ip.identification(), 0x1234);
        assert!(ip.dont_fragment());
        assert!(!ip.more_fragments());
        assert_eq!(ip.fragment_offset(), 0);
        assert!(!ip.is_later_fragment());
        assert_eq!(ip.ttl(), 64);
        assert_eq!(ip.dscp_ecn(), 0);
        assert!(ip.checksum_ok());
        assert_eq!(
            ip.header_checksum(),
            u16::from_be_bytes([data[10], data[11]])
        );
        assert_eq!(ip.options(), [1; 12]);
        assert_eq!(ip.header(), &data[..32]);
        assert_eq!(ip.payload(), b"ping", "padding must not show");
        assert_eq!(
            ip.pseudo_header(),
            PseudoHeader::V4 {
                source: Ipv4Addr::new(234, 216, 160, 229),
                destination: Ipv4Addr::new(76, 218, 134, 147),
            }
        );
    }

    #[test]
    fn corrupted_checksum_is_reported_not_refused() {
        let mut data = lab_packet();
        data[8] = 63; // TTL changed, checksum not updated
        let ip = Ipv4Packet::new(&data).unwrap();
        assert!(!ip.checksum_ok());
        data[8] = 64;
        data[30] ^= 0x80; // an option byte: covered by the checksum too
        assert!(!Ipv4Packet::new(&data).unwrap().checksum_ok());
    }

    #[test]
    fn fragment_fields() {
        let mut data = lab_packet();
        data[6..8].copy_from_slice(&(0x2000u16 | 185).to_be_bytes());
        let ip = Ipv4Packet::new(&data).unwrap();
        assert!(!ip.dont_fragment());
        assert!(ip.more_fragments());
        assert_eq!(ip.fragment_offset(), 185);
        assert!(ip.is_later_fragment());
    }

    #[test]
    fn every_truncation_and_invalid_field() {
        let data = lab_packet();
        for len in 0..20 {
            assert_eq!(
                Ipv4Packet::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ipv4,
                    needed: 20,
                    got: len
                }
            );
        }
        for len in 20..32 {
            assert_eq!(
                Ipv4Packet::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ipv4,
                    needed: 32,
                    got: len
                }
            );
        }
        for len in 32..36 {
            assert_eq!(
                Ipv4Packet::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ipv4,
                    needed: 36,
                    got: len
                }
            );
        }
        for len in 36..=data.len() {
            assert_eq!(Ipv4Packet::new(&data[..len]).unwrap().payload(), b"ping");
        }

        for version in [0u8, 6, 15] {
            let mut bad = data.clone();
            bad[0] = version << 4 | 5;
            assert_eq!(
                Ipv4Packet::new(&bad).unwrap_err(),
                ParseError::InvalidField {
                    layer: Layer::Ipv4,
                    field: "version",
                    value: u64::from(version),
                    expected: "4"
                }
            );
        }
        for ihl in 0..5u8 {
            let mut bad = data.clone();
            bad[0] = 0x40 | ihl;
            assert_eq!(
                Ipv4Packet::new(&bad).unwrap_err(),
                ParseError::InvalidField {
                    layer: Layer::Ipv4,
                    field: "IHL",
                    value: u64::from(ihl),
                    expected: "au moins 5"
                }
            );
        }
        for total in [0u16, 20, 31] {
            let mut bad = data.clone();
            bad[2..4].copy_from_slice(&total.to_be_bytes());
            assert!(matches!(
                Ipv4Packet::new(&bad).unwrap_err(),
                ParseError::InvalidField { layer: Layer::Ipv4, field: "total length", value, .. }
                    if value == u64::from(total)
            ));
        }
        // Total length exactly the header: empty payload.
        let mut empty = data.clone();
        empty[2..4].copy_from_slice(&32u16.to_be_bytes());
        assert_eq!(Ipv4Packet::new(&empty).unwrap().payload(), b"");
    }
}
