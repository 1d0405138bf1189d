//! ICMP messages for IPv4 (RFC 792).
//!
//! ```text
//!  0               8               16                              31
//! +---------------+---------------+-------------------------------+
//! |     Type      |     Code      |           Checksum            |
//! +---------------+---------------+-------------------------------+
//! |   Rest of header (echo: identifier, sequence; errors: unused) |
//! +---------------------------------------------------------------+
//! |                          Data ...                             |
//! +---------------------------------------------------------------+
//! ```

use crate::checksum::internet_checksum;
use crate::endian::{array_at, u16_at, u8_at};
use crate::error::{Layer, ParseError};

/// Common ICMP message types.
pub mod icmp_type {
    /// Echo reply (answer to `ping`).
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DESTINATION_UNREACHABLE: u8 = 3;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo request (`ping`).
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded (`traceroute`).
    pub const TIME_EXCEEDED: u8 = 11;
}

/// Length of the header.
const HEADER_LEN: usize = 8;

/// Byte ranges of the header.
mod field {
    use std::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST_OF_HEADER: Range<usize> = 4..8;
    /// Echo request/reply: the identifier, in the rest of header.
    pub const ECHO_IDENTIFIER: Range<usize> = 4..6;
    /// Echo request/reply: the sequence number, in the rest of header.
    pub const ECHO_SEQUENCE: Range<usize> = 6..8;
}

/// A checked view over an ICMP message (the whole IPv4 payload).
#[derive(Debug, Clone, Copy)]
pub struct IcmpPacket<'a> {
    /// The 8-byte header.
    header: &'a [u8; HEADER_LEN],
    /// The whole message, header included.
    data: &'a [u8],
    /// The data after the header.
    payload: &'a [u8],
}

impl<'a> IcmpPacket<'a> {
    /// Length of the header: type, code, checksum and the 4-byte rest of
    /// header that every ICMP message has.
    pub const HEADER_LEN: usize = HEADER_LEN;
    /// Same as [`Self::HEADER_LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = Self::HEADER_LEN;

    /// Checks that the 8-byte header is present.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        match data.split_first_chunk::<{ HEADER_LEN }>() {
            Some((header, payload)) => Ok(IcmpPacket {
                header,
                data,
                payload,
            }),
            None => Err(ParseError::Truncated {
                layer: Layer::Icmp,
                needed: Self::HEADER_LEN,
                got: data.len(),
            }),
        }
    }

    /// The message type (0 echo reply, 3 unreachable, 8 echo request, ...).
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

    /// Whether the checksum over the whole message is correct.
    #[inline]
    pub fn checksum_ok(&self) -> bool {
        internet_checksum(&[self.data]) == 0
    }

    /// The 4 bytes after the checksum, whose meaning depends on the type.
    #[inline]
    pub fn rest_of_header(&self) -> [u8; 4] {
        array_at(self.header, field::REST_OF_HEADER)
    }

    /// The identifier of an echo request or reply (meaningless otherwise).
    #[inline]
    pub fn echo_identifier(&self) -> u16 {
        u16_at(self.header, field::ECHO_IDENTIFIER)
    }

    /// The sequence number of an echo request or reply (meaningless otherwise).
    #[inline]
    pub fn echo_sequence(&self) -> u16 {
        u16_at(self.header, field::ECHO_SEQUENCE)
    }

    /// The data after the 8-byte header (for errors: the offending IP header
    /// and the start of its payload).
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

/// The fields of an ICMP header, to write one ([`IcmpRepr::emit`],
/// checksum computed) or read one back ([`IcmpRepr::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpRepr {
    pub icmp_type: u8,
    pub code: u8,
    /// The 4 bytes after the checksum (echo: identifier and sequence).
    pub rest: [u8; 4],
}

impl IcmpRepr {
    pub fn parse(icmp: &IcmpPacket<'_>) -> Self {
        IcmpRepr {
            icmp_type: icmp.icmp_type(),
            code: icmp.code(),
            rest: icmp.rest_of_header(),
        }
    }

    /// Appends the header and `payload`, with the checksum over both.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.icmp_type, self.code, 0, 0]);
        out.extend_from_slice(&self.rest);
        out.extend_from_slice(payload);
        let checksum = internet_checksum(&[&out[start..]]);
        out[start + 2..start + 4].copy_from_slice(&checksum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let repr = IcmpRepr {
            icmp_type: 8,
            code: 0,
            rest: [0x12, 0x34, 0, 1],
        };
        let mut bytes = Vec::new();
        repr.emit(b"ping", &mut bytes);
        let icmp = IcmpPacket::new(&bytes).unwrap();
        assert_eq!(IcmpRepr::parse(&icmp), repr);
        assert!(icmp.checksum_ok());
        assert_eq!(
            (icmp.echo_identifier(), icmp.payload()),
            (0x1234, &b"ping"[..])
        );
    }

    /// An echo request: id 0x1c46, seq 1, 8 data bytes; checksum 0x4a23
    /// computed independently (Python one-liner summing the 16-bit words).
    const ECHO_REQUEST: &[u8] = &[
        0x08, 0x00, 0x4a, 0x23, 0x1c, 0x46, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
        0x68,
    ];

    #[test]
    fn reads_every_field() {
        let icmp = IcmpPacket::new(ECHO_REQUEST).unwrap();
        assert_eq!(icmp.icmp_type(), icmp_type::ECHO_REQUEST);
        assert_eq!(icmp.code(), 0);
        assert_eq!(icmp.checksum(), 0x4a23);
        assert!(icmp.checksum_ok());
        assert_eq!(icmp.rest_of_header(), [0x1c, 0x46, 0, 1]);
        assert_eq!(icmp.echo_identifier(), 0x1c46);
        assert_eq!(icmp.echo_sequence(), 1);
        assert_eq!(icmp.payload(), b"abcdefgh");
        assert_eq!(icmp.as_bytes(), ECHO_REQUEST);
    }

    #[test]
    fn checksum_ok_and_corrupted() {
        let mut data = ECHO_REQUEST.to_vec();
        let checksum = {
            data[2..4].fill(0);
            internet_checksum(&[&data])
        };
        data[2..4].copy_from_slice(&checksum.to_be_bytes());
        assert!(IcmpPacket::new(&data).unwrap().checksum_ok());
        data[15] ^= 1;
        assert!(!IcmpPacket::new(&data).unwrap().checksum_ok());
    }

    #[test]
    fn every_truncation() {
        for len in 0..8 {
            assert_eq!(
                IcmpPacket::new(&ECHO_REQUEST[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Icmp,
                    needed: 8,
                    got: len
                }
            );
        }
        assert_eq!(IcmpPacket::new(&ECHO_REQUEST[..8]).unwrap().payload(), b"");
    }
}
