//! ICMPv6 messages (RFC 4443), neighbor discovery included.
//!
//! ```text
//!  0               8               16                              31
//! +---------------+---------------+-------------------------------+
//! |     Type      |     Code      |           Checksum            |
//! +---------------+---------------+-------------------------------+
//! |  First 4 bytes of the body (echo: id, seq; errors: MTU, ...)  |
//! +---------------------------------------------------------------+
//! |                       Rest of the body ...                    |
//! +---------------------------------------------------------------+
//! ```
//!
//! RFC 4443 defines the header as 4 bytes followed by a body, but every
//! message it and neighbor discovery (RFC 4861) define has at least 4 more
//! bytes of fixed fields. Like [`IcmpPacket`](crate::icmp::IcmpPacket), the
//! view therefore requires 8 bytes and [`Icmpv6Packet::payload`] starts
//! after them.

use std::net::Ipv6Addr;

use crate::checksum::{transport_checksum, transport_checksum_ok, PseudoHeader, PROTOCOL_ICMPV6};
use crate::endian::{array_at, u16_at, u8_at};
use crate::error::{Layer, ParseError};

/// Length of the header as this view counts it.
const HEADER_LEN: usize = 8;

/// Common ICMPv6 message types.
pub mod icmpv6_type {
    /// Destination unreachable.
    pub const DESTINATION_UNREACHABLE: u8 = 1;
    /// Packet too big.
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Echo request (`ping -6`).
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 129;
    /// Router solicitation (neighbor discovery).
    pub const ROUTER_SOLICITATION: u8 = 133;
    /// Neighbor solicitation (neighbor discovery, IPv6's ARP request).
    pub const NEIGHBOR_SOLICITATION: u8 = 135;
    /// Neighbor advertisement (neighbor discovery, IPv6's ARP reply).
    pub const NEIGHBOR_ADVERTISEMENT: u8 = 136;
}

/// Byte ranges of the header.
mod field {
    use std::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST_OF_HEADER: Range<usize> = 4..8;
}

/// A checked view over an ICMPv6 message (the IPv6 upper payload).
#[derive(Debug, Clone, Copy)]
pub struct Icmpv6Packet<'a> {
    /// The first 8 bytes.
    header: &'a [u8; HEADER_LEN],
    /// The whole message, header included.
    data: &'a [u8],
    /// The data after the first 8 bytes.
    payload: &'a [u8],
}

impl<'a> Icmpv6Packet<'a> {
    /// Length of the header as this view counts it (see the module docs).
    pub const HEADER_LEN: usize = HEADER_LEN;
    /// Same as [`Self::HEADER_LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = HEADER_LEN;

    /// Checks that the first 8 bytes are present.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        match data.split_first_chunk::<HEADER_LEN>() {
            Some((header, payload)) => Ok(Icmpv6Packet {
                header,
                data,
                payload,
            }),
            None => Err(ParseError::Truncated {
                layer: Layer::Icmpv6,
                needed: HEADER_LEN,
                got: data.len(),
            }),
        }
    }

    /// The message type (128 echo request, 135 neighbor solicitation, ...).
    #[inline]
    pub fn icmp_type(&self) -> u8 {
        u8_at(self.header, field::TYPE)
    }

    /// The message code (meaning depends on the type).
    #[inline]
    pub fn code(&self) -> u8 {
        u8_at(self.header, field::CODE)
    }

    /// The checksum field as sent.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.header, field::CHECKSUM)
    }

    /// Whether the checksum is correct; unlike ICMP for IPv4, it covers an
    /// IPv6 pseudo-header built from the enclosing packet's addresses.
    #[inline]
    pub fn checksum_ok(&self, source: Ipv6Addr, destination: Ipv6Addr) -> bool {
        let pseudo = PseudoHeader::V6 {
            source,
            destination,
        };
        transport_checksum_ok(&pseudo, PROTOCOL_ICMPV6, self.data)
    }

    /// The 4 bytes after the checksum, whose meaning depends on the type.
    #[inline]
    pub fn rest_of_header(&self) -> [u8; 4] {
        array_at(self.header, field::REST_OF_HEADER)
    }

    /// The data after the first 8 bytes.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The whole message, header included.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

/// The fields of an ICMPv6 header, to write one ([`Icmpv6Repr::emit`],
/// checksum computed over the IPv6 pseudo-header) or read one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv6Repr {
    pub icmp_type: u8,
    pub code: u8,
    pub rest: [u8; 4],
}

impl Icmpv6Repr {
    pub fn parse(icmp: &Icmpv6Packet<'_>) -> Self {
        Icmpv6Repr {
            icmp_type: icmp.icmp_type(),
            code: icmp.code(),
            rest: icmp.rest_of_header(),
        }
    }

    /// Appends the header and `payload`, with the checksum of a message
    /// from `source` to `destination`.
    pub fn emit(&self, source: Ipv6Addr, destination: Ipv6Addr, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.icmp_type, self.code, 0, 0]);
        out.extend_from_slice(&self.rest);
        out.extend_from_slice(payload);
        let pseudo = PseudoHeader::V6 {
            source,
            destination,
        };
        let checksum = transport_checksum(&pseudo, PROTOCOL_ICMPV6, &out[start..]);
        out[start + 2..start + 4].copy_from_slice(&checksum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let (source, destination) = (Ipv6Addr::LOCALHOST, "fe80::1".parse().unwrap());
        let repr = Icmpv6Repr {
            icmp_type: 128,
            code: 0,
            rest: [0, 7, 0, 1],
        };
        let mut bytes = Vec::new();
        repr.emit(source, destination, b"ping", &mut bytes);
        let icmp = Icmpv6Packet::new(&bytes).unwrap();
        assert_eq!(Icmpv6Repr::parse(&icmp), repr);
        assert!(icmp.checksum_ok(source, destination));
        assert_eq!(icmp.payload(), b"ping");
    }
    use crate::checksum::transport_checksum;

    #[test]
    fn reads_every_field_and_checks_the_checksum() {
        let source: Ipv6Addr = "::1".parse().unwrap();
        let destination: Ipv6Addr = "::1".parse().unwrap();
        let pseudo = PseudoHeader::V6 {
            source,
            destination,
        };
        let mut data = vec![128, 0, 0, 0, 0x12, 0x34, 0, 7, b'p', b'i', b'n', b'g'];
        let checksum = transport_checksum(&pseudo, PROTOCOL_ICMPV6, &data);
        data[2..4].copy_from_slice(&checksum.to_be_bytes());

        let icmp = Icmpv6Packet::new(&data).unwrap();
        assert_eq!(icmp.icmp_type(), icmpv6_type::ECHO_REQUEST);
        assert_eq!(icmp.code(), 0);
        assert_eq!(icmp.checksum(), checksum);
        assert_eq!(icmp.rest_of_header(), [0x12, 0x34, 0, 7]);
        assert_eq!(icmp.payload(), b"ping");
        assert_eq!(icmp.as_bytes(), &data[..]);
        assert!(icmp.checksum_ok(source, destination));
        assert!(!icmp.checksum_ok(source, "::2".parse().unwrap()));
        data[11] ^= 1;
        assert!(!Icmpv6Packet::new(&data)
            .unwrap()
            .checksum_ok(source, destination));
    }

    #[test]
    fn every_truncation() {
        let data = [135, 0, 0, 0, 0, 0, 0, 0];
        for len in 0..8 {
            assert_eq!(
                Icmpv6Packet::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Icmpv6,
                    needed: 8,
                    got: len
                }
            );
        }
        assert_eq!(Icmpv6Packet::new(&data).unwrap().payload(), b"");
    }
}
