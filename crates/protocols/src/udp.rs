//! UDP datagrams (RFC 768).
//!
//! ```text
//!  0                   1                   2                   3
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |
//! +-------------------------------+-------------------------------+
//! |            Length             |           Checksum            |
//! +-------------------------------+-------------------------------+
//! |                          Data ...                             |
//! +---------------------------------------------------------------+
//! ```
//!
//! The view is bounded by the Length field (header included), so bytes past
//! it never show in [`UdpDatagram::payload`].

use crate::checksum::{transport_checksum, transport_checksum_ok, PseudoHeader, PROTOCOL_UDP};
use crate::endian::u16_at;
use crate::error::{Layer, ParseError};

/// Length of the header.
const HEADER_LEN: usize = 8;

/// Byte ranges of the header.
mod field {
    use std::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// A checked view over a UDP datagram, bounded by its Length field.
#[derive(Debug, Clone, Copy)]
pub struct UdpDatagram<'a> {
    /// The 8-byte header.
    header: &'a [u8; HEADER_LEN],
    /// The datagram, header included, cut at its Length field.
    datagram: &'a [u8],
    /// The data after the header, up to Length.
    payload: &'a [u8],
}

impl<'a> UdpDatagram<'a> {
    /// Length of the header.
    pub const HEADER_LEN: usize = HEADER_LEN;
    /// Same as [`Self::HEADER_LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = Self::HEADER_LEN;

    /// Checks 8 bytes, Length ≥ 8 and Length ≤ the bytes present; bytes past
    /// Length are ignored.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse(data, false)
    }

    /// A view over the first fragment of a datagram that IP fragmented: the
    /// same checks as [`Self::new`] (8 bytes, Length ≥ 8), except that
    /// Length may exceed the bytes present, the rest of the datagram
    /// travelling in later fragments. [`Self::payload`] is then the data
    /// present (still bounded by Length) and [`Self::is_complete`] says
    /// whether it is all there.
    #[inline]
    pub fn new_first_fragment(data: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse(data, true)
    }

    /// A view as lab 16's decoder reads a datagram: 8 bytes are needed, and
    /// Length bounds the data only when it is consistent with the bytes
    /// present (8 ≤ Length ≤ bytes); otherwise every byte after the header
    /// is data. [`Self::is_complete`] is then false and the checksum is not
    /// verifiable.
    #[inline]
    pub fn new_lenient(data: &'a [u8]) -> Result<Self, ParseError> {
        let Some(header) = data.first_chunk::<{ HEADER_LEN }>() else {
            return Err(ParseError::Truncated {
                layer: Layer::Udp,
                needed: Self::HEADER_LEN,
                got: data.len(),
            });
        };
        let length = usize::from(u16_at(header, field::LENGTH));
        let end = if (Self::HEADER_LEN..=data.len()).contains(&length) {
            length
        } else {
            data.len()
        };
        let datagram = data.get(..end).unwrap_or(data);
        let payload = data.get(Self::HEADER_LEN..end).unwrap_or_default();
        Ok(UdpDatagram {
            header,
            datagram,
            payload,
        })
    }

    #[inline(always)]
    fn parse(data: &'a [u8], cut_short_ok: bool) -> Result<Self, ParseError> {
        let Some(header) = data.first_chunk::<{ HEADER_LEN }>() else {
            return Err(ParseError::Truncated {
                layer: Layer::Udp,
                needed: Self::HEADER_LEN,
                got: data.len(),
            });
        };
        let length = usize::from(u16_at(header, field::LENGTH));
        if length < Self::HEADER_LEN {
            return Err(ParseError::InvalidField {
                layer: Layer::Udp,
                field: "length",
                value: length as u64,
                expected: "au moins 8",
            });
        }
        let end = if cut_short_ok {
            length.min(data.len())
        } else {
            length
        };
        let (Some(datagram), Some(payload)) = (data.get(..end), data.get(Self::HEADER_LEN..end))
        else {
            return Err(ParseError::Truncated {
                layer: Layer::Udp,
                needed: length,
                got: data.len(),
            });
        };
        Ok(UdpDatagram {
            header,
            datagram,
            payload,
        })
    }

    /// The source port.
    #[inline]
    pub fn source_port(&self) -> u16 {
        u16_at(self.header, field::SRC_PORT)
    }

    /// The destination port.
    #[inline]
    pub fn destination_port(&self) -> u16 {
        u16_at(self.header, field::DST_PORT)
    }

    /// The Length field: header plus data, in bytes.
    #[inline]
    pub fn length(&self) -> u16 {
        u16_at(self.header, field::LENGTH)
    }

    /// The checksum field as sent (0 over IPv4: not computed).
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.header, field::CHECKSUM)
    }

    /// The data after the header, up to Length.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The datagram, header included, up to Length (or up to the bytes
    /// present, for an incomplete first fragment).
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.datagram
    }

    /// Whether the view holds the whole datagram, Length bytes: always after
    /// [`Self::new`]; after [`Self::new_first_fragment`], only when the
    /// fragment held it all.
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.datagram.len() == usize::from(self.length())
    }

    /// Whether the checksum is correct under `pseudo` (the addresses of the
    /// enclosing IP packet). Over IPv4 a zero checksum means "not computed"
    /// and is accepted (RFC 768); over IPv6 it is mandatory (RFC 8200 §8.1).
    /// An [incomplete](Self::is_complete) view cannot be verified (the sum
    /// covers bytes that are not there): `false`, unless the checksum is
    /// "not computed".
    #[inline]
    pub fn checksum_ok(&self, pseudo: &PseudoHeader) -> bool {
        if self.checksum() == 0 {
            return matches!(pseudo, PseudoHeader::V4 { .. });
        }
        self.is_complete() && transport_checksum_ok(pseudo, PROTOCOL_UDP, self.datagram)
    }
}

/// The fields of a UDP header, to write one ([`UdpRepr::emit`], Length and
/// checksum computed) or read one back ([`UdpRepr::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub source_port: u16,
    pub destination_port: u16,
}

impl UdpRepr {
    pub fn parse(udp: &UdpDatagram<'_>) -> Self {
        UdpRepr {
            source_port: udp.source_port(),
            destination_port: udp.destination_port(),
        }
    }

    /// Appends the header and `payload`, with the checksum over `pseudo`
    /// (a computed 0 is sent as 0xffff: 0 means "no checksum").
    pub fn emit(&self, pseudo: &PseudoHeader, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.source_port.to_be_bytes());
        out.extend_from_slice(&self.destination_port.to_be_bytes());
        out.extend_from_slice(&((HEADER_LEN + payload.len()) as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(payload);
        let checksum = match transport_checksum(pseudo, PROTOCOL_UDP, &out[start..]) {
            0 => 0xffff,
            sum => sum,
        };
        out[start + 6..start + 8].copy_from_slice(&checksum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let pseudo = PseudoHeader::V4 {
            source: Ipv4Addr::new(10, 0, 0, 1),
            destination: Ipv4Addr::new(10, 0, 0, 2),
        };
        let repr = UdpRepr {
            source_port: 45,
            destination_port: 55710,
        };
        let mut bytes = Vec::new();
        repr.emit(&pseudo, b"coucou", &mut bytes);
        let udp = UdpDatagram::new(&bytes).unwrap();
        assert_eq!(UdpRepr::parse(&udp), repr);
        assert!(udp.checksum_ok(&pseudo));
        assert_eq!((udp.length(), udp.payload()), (14, &b"coucou"[..]));
        assert_eq!(bytes[..6], DATAGRAM[..6]);
    }

    #[test]
    fn lenient_view_trusts_length_only_when_consistent() {
        // Length 14 of 16 bytes: bounded (padding is not data).
        let d = UdpDatagram::new_lenient(DATAGRAM).unwrap();
        assert_eq!((d.payload(), d.is_complete()), (&b"coucou"[..], true));
        // Length beyond the bytes, or below 8: the bytes present are data.
        for length in [0u16, 7, 17, 0xffff] {
            let mut bytes = DATAGRAM.to_vec();
            bytes[4..6].copy_from_slice(&length.to_be_bytes());
            let d = UdpDatagram::new_lenient(&bytes).unwrap();
            assert_eq!(d.payload(), &bytes[8..], "{length}");
            assert_eq!(d.length(), length);
            assert!(!d.is_complete());
        }
        assert!(UdpDatagram::new_lenient(&DATAGRAM[..7]).is_err());
    }
    use crate::checksum::transport_checksum;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The issue's example: ports 45 -> 55710, length 14, then 6 data bytes
    /// and 2 bytes of padding past Length.
    const DATAGRAM: &[u8] = b"\x00\x2d\xd9\x9e\x00\x0e\x00\x00coucou\x00\x00";

    #[test]
    fn reads_every_field() {
        let udp = UdpDatagram::new(DATAGRAM).unwrap();
        assert_eq!(udp.source_port(), 45);
        assert_eq!(udp.destination_port(), 55710);
        assert_eq!(udp.length(), 14);
        assert_eq!(udp.checksum(), 0);
        assert_eq!(udp.payload(), b"coucou", "bytes past Length must not show");
        assert_eq!(udp.as_bytes(), &DATAGRAM[..14]);
    }

    #[test]
    fn checksum_rules() {
        let v4 = PseudoHeader::V4 {
            source: Ipv4Addr::LOCALHOST,
            destination: Ipv4Addr::LOCALHOST,
        };
        let v6 = PseudoHeader::V6 {
            source: Ipv6Addr::LOCALHOST,
            destination: Ipv6Addr::LOCALHOST,
        };
        // Zero: "not computed" is fine over IPv4 only.
        assert!(UdpDatagram::new(DATAGRAM).unwrap().checksum_ok(&v4));
        assert!(!UdpDatagram::new(DATAGRAM).unwrap().checksum_ok(&v6));
        for pseudo in [v4, v6] {
            let mut data = DATAGRAM.to_vec();
            let checksum = transport_checksum(&pseudo, PROTOCOL_UDP, &data[..14]);
            data[6..8].copy_from_slice(&checksum.to_be_bytes());
            assert!(UdpDatagram::new(&data).unwrap().checksum_ok(&pseudo));
            // Padding past Length is not covered.
            data[15] = 0xaa;
            assert!(UdpDatagram::new(&data).unwrap().checksum_ok(&pseudo));
            data[9] ^= 4;
            assert!(!UdpDatagram::new(&data).unwrap().checksum_ok(&pseudo));
        }
    }

    #[test]
    fn every_truncation_and_invalid_length() {
        for len in 0..8 {
            assert_eq!(
                UdpDatagram::new(&DATAGRAM[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Udp,
                    needed: 8,
                    got: len
                }
            );
        }
        for len in 8..14 {
            assert_eq!(
                UdpDatagram::new(&DATAGRAM[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Udp,
                    needed: 14,
                    got: len
                }
            );
        }
        for length in 0..8u16 {
            let mut bad = DATAGRAM.to_vec();
            bad[4..6].copy_from_slice(&length.to_be_bytes());
            assert_eq!(
                UdpDatagram::new(&bad).unwrap_err(),
                ParseError::InvalidField {
                    layer: Layer::Udp,
                    field: "length",
                    value: u64::from(length),
                    expected: "au moins 8"
                }
            );
        }
        let mut empty = DATAGRAM.to_vec();
        empty[4..6].copy_from_slice(&8u16.to_be_bytes());
        assert_eq!(UdpDatagram::new(&empty).unwrap().payload(), b"");
    }

    /// A first fragment holds the header and the start of the data: every
    /// cut from 8 bytes on is accepted, the data present shown, the view
    /// said incomplete and its checksum never taken for correct.
    #[test]
    fn first_fragment_accepts_a_datagram_cut_short() {
        let v4 = PseudoHeader::V4 {
            source: Ipv4Addr::LOCALHOST,
            destination: Ipv4Addr::LOCALHOST,
        };
        let mut data = DATAGRAM.to_vec();
        let checksum = transport_checksum(&v4, PROTOCOL_UDP, &data[..14]);
        data[6..8].copy_from_slice(&checksum.to_be_bytes());
        for len in 0..8 {
            assert_eq!(
                UdpDatagram::new_first_fragment(&data[..len]).unwrap_err(),
                UdpDatagram::new(&data[..len]).unwrap_err()
            );
        }
        for len in 8..14 {
            let udp = UdpDatagram::new_first_fragment(&data[..len]).unwrap();
            assert_eq!((udp.source_port(), udp.destination_port()), (45, 55710));
            assert_eq!(udp.length(), 14);
            assert_eq!(udp.payload(), &b"coucou"[..len - 8]);
            assert_eq!(udp.as_bytes(), &data[..len]);
            assert!(!udp.is_complete());
            assert!(!udp.checksum_ok(&v4), "{len}");
        }
        // Whole (padding included): the same view as `new`.
        let udp = UdpDatagram::new_first_fragment(&data).unwrap();
        assert!(udp.is_complete() && udp.checksum_ok(&v4));
        assert_eq!(udp.payload(), b"coucou");
        assert_eq!(udp.as_bytes(), UdpDatagram::new(&data).unwrap().as_bytes());
        // Length < 8 stays invalid.
        let mut bad = data.clone();
        bad[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            UdpDatagram::new_first_fragment(&bad).unwrap_err(),
            UdpDatagram::new(&bad).unwrap_err()
        );
    }

    #[test]
    fn first_fragment_with_no_checksum() {
        // Over IPv4, "not computed" stays acceptable, whole or not.
        let v4 = PseudoHeader::V4 {
            source: Ipv4Addr::LOCALHOST,
            destination: Ipv4Addr::LOCALHOST,
        };
        assert!(UdpDatagram::new_first_fragment(&DATAGRAM[..10])
            .unwrap()
            .checksum_ok(&v4));
    }
}
