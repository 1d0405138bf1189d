//! TCP segments (RFC 9293).
//!
//! ```text
//!  0                   1                   2                   3
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |
//! +-------------------------------+-------------------------------+
//! |                        Sequence Number                        |
//! +---------------------------------------------------------------+
//! |                    Acknowledgment Number                      |
//! +-------+-----+-----------------+-------------------------------+
//! |  Data | Rsv |   Flags (9)     |            Window             |
//! | Offset|     |                 |                               |
//! +-------+-----+-----------------+-------------------------------+
//! |           Checksum            |        Urgent Pointer         |
//! +-------------------------------+-------------------------------+
//! |                Options (data offset > 5) ...                  |
//! +---------------------------------------------------------------+
//! ```
//!
//! A segment has no length field of its own: its end is the end of the IP
//! payload the view is built on.

use crate::checksum::{transport_checksum, transport_checksum_ok, PseudoHeader, PROTOCOL_TCP};
use crate::endian::{u16_at, u32_at};
use crate::error::{Layer, ParseError};

/// Length of a header without options.
const MIN_HEADER_LEN: usize = 20;

/// Byte ranges of the fixed header.
mod field {
    use std::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQUENCE: Range<usize> = 4..8;
    pub const ACKNOWLEDGMENT: Range<usize> = 8..12;
    /// Data offset (4 bits), reserved (3 bits), then the 9 flag bits.
    pub const OFFSET_FLAGS: Range<usize> = 12..14;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// The flag bits of [`TcpSegment::flags`].
pub mod flags {
    /// No more data from sender.
    pub const FIN: u16 = 0x001;
    /// Synchronize sequence numbers.
    pub const SYN: u16 = 0x002;
    /// Reset the connection.
    pub const RST: u16 = 0x004;
    /// Push function.
    pub const PSH: u16 = 0x008;
    /// The acknowledgment field is significant.
    pub const ACK: u16 = 0x010;
    /// The urgent pointer field is significant.
    pub const URG: u16 = 0x020;
    /// ECN-echo (RFC 3168).
    pub const ECE: u16 = 0x040;
    /// Congestion window reduced (RFC 3168).
    pub const CWR: u16 = 0x080;
    /// ECN nonce (RFC 3540, historic).
    pub const NS: u16 = 0x100;
}

/// A checked view over a TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// The fixed 20 bytes of the header.
    fixed: &'a [u8; MIN_HEADER_LEN],
    /// The whole segment: header, options and payload.
    data: &'a [u8],
    /// Header length in bytes (`data offset * 4`), at most `data.len()`.
    header_len: usize,
}

impl<'a> TcpSegment<'a> {
    /// Length of a header without options.
    pub const MIN_HEADER_LEN: usize = MIN_HEADER_LEN;
    /// Same as [`Self::MIN_HEADER_LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = Self::MIN_HEADER_LEN;

    /// Checks 20 bytes, data offset ≥ 5, and the whole header (options
    /// included) present. `data` is the IP payload: the segment's end.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        let Some(fixed) = data.first_chunk::<{ MIN_HEADER_LEN }>() else {
            return Err(ParseError::Truncated {
                layer: Layer::Tcp,
                needed: Self::MIN_HEADER_LEN,
                got: data.len(),
            });
        };
        let offset = u16_at(fixed, field::OFFSET_FLAGS) >> 12;
        if offset < 5 {
            return Err(ParseError::InvalidField {
                layer: Layer::Tcp,
                field: "data offset",
                value: u64::from(offset),
                expected: "au moins 5",
            });
        }
        let header_len = usize::from(offset) * 4;
        ParseError::check_len(Layer::Tcp, header_len, data.len())?;
        Ok(TcpSegment {
            fixed,
            data,
            header_len,
        })
    }

    /// The source port.
    #[inline]
    pub fn source_port(&self) -> u16 {
        u16_at(self.fixed, field::SRC_PORT)
    }

    /// The destination port.
    #[inline]
    pub fn destination_port(&self) -> u16 {
        u16_at(self.fixed, field::DST_PORT)
    }

    /// The sequence number.
    #[inline]
    pub fn sequence(&self) -> u32 {
        u32_at(self.fixed, field::SEQUENCE)
    }

    /// The acknowledgment number.
    #[inline]
    pub fn acknowledgment(&self) -> u32 {
        u32_at(self.fixed, field::ACKNOWLEDGMENT)
    }

    /// The raw 4-bit data offset: header length in 32-bit words (5 to 15).
    #[inline]
    pub fn data_offset(&self) -> u8 {
        // A 4-bit value always fits.
        (u16_at(self.fixed, field::OFFSET_FLAGS) >> 12) as u8
    }

    /// Header length in bytes (`data offset * 4`).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The 9 flag bits (see [`flags`]): NS, CWR, ECE, URG, ACK, PSH, RST,
    /// SYN, FIN from high to low.
    #[inline]
    pub fn flags(&self) -> u16 {
        u16_at(self.fixed, field::OFFSET_FLAGS) & 0x01ff
    }

    /// The SYN flag.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags() & flags::SYN != 0
    }

    /// The ACK flag.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags() & flags::ACK != 0
    }

    /// The FIN flag.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flags() & flags::FIN != 0
    }

    /// The RST flag.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flags() & flags::RST != 0
    }

    /// The PSH flag.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flags() & flags::PSH != 0
    }

    /// The URG flag.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flags() & flags::URG != 0
    }

    /// The receive window.
    #[inline]
    pub fn window(&self) -> u16 {
        u16_at(self.fixed, field::WINDOW)
    }

    /// The checksum field as sent.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.fixed, field::CHECKSUM)
    }

    /// The urgent pointer.
    #[inline]
    pub fn urgent_pointer(&self) -> u16 {
        u16_at(self.fixed, field::URGENT)
    }

    /// The raw options, between the fixed header and the payload.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        self.data
            .get(Self::MIN_HEADER_LEN..self.header_len)
            .unwrap_or_default()
    }

    /// The data after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.data.get(self.header_len..).unwrap_or_default()
    }

    /// The whole segment, header included, as the view was built on.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Whether the checksum is correct for this segment under `pseudo` (the
    /// addresses of the enclosing IP packet).
    #[inline]
    pub fn checksum_ok(&self, pseudo: &PseudoHeader) -> bool {
        transport_checksum_ok(pseudo, PROTOCOL_TCP, self.data)
    }
}

/// The fields of a TCP header, to write one ([`TcpRepr::emit`], data
/// offset and checksum computed) or read one back ([`TcpRepr::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRepr {
    pub source_port: u16,
    pub destination_port: u16,
    pub sequence: u32,
    pub acknowledgment: u32,
    /// The 12 bits after the data offset (reserved, then CWR ... FIN).
    pub flags: u16,
    pub window: u16,
    pub urgent_pointer: u16,
    /// Options, a multiple of 4 bytes (`emit` pads them with zeros).
    pub options: Vec<u8>,
}

impl TcpRepr {
    pub fn parse(tcp: &TcpSegment<'_>) -> Self {
        TcpRepr {
            source_port: tcp.source_port(),
            destination_port: tcp.destination_port(),
            sequence: tcp.sequence(),
            acknowledgment: tcp.acknowledgment(),
            flags: tcp.flags(),
            window: tcp.window(),
            urgent_pointer: tcp.urgent_pointer(),
            options: tcp.options().to_vec(),
        }
    }

    /// Appends the header and `payload`, with the checksum over `pseudo`.
    pub fn emit(&self, pseudo: &PseudoHeader, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let header_len = MIN_HEADER_LEN + self.options.len().div_ceil(4) * 4;
        out.extend_from_slice(&self.source_port.to_be_bytes());
        out.extend_from_slice(&self.destination_port.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.acknowledgment.to_be_bytes());
        let offset_flags = ((header_len / 4) as u16) << 12 | (self.flags & 0x0fff);
        out.extend_from_slice(&offset_flags.to_be_bytes());
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.urgent_pointer.to_be_bytes());
        out.extend_from_slice(&self.options);
        out.resize(start + header_len, 0);
        out.extend_from_slice(payload);
        let checksum = transport_checksum(pseudo, PROTOCOL_TCP, &out[start..]);
        out[start + 16..start + 18].copy_from_slice(&checksum.to_be_bytes());
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
        let repr = TcpRepr {
            source_port: 51000,
            destination_port: 80,
            sequence: 1,
            acknowledgment: 0xdead_beef,
            flags: 0x012,
            window: 64240,
            urgent_pointer: 7,
            options: vec![2, 4, 5, 0xb4],
        };
        let mut bytes = Vec::new();
        repr.emit(&pseudo, b"GET /", &mut bytes);
        let tcp = TcpSegment::new(&bytes).unwrap();
        assert_eq!(TcpRepr::parse(&tcp), repr);
        assert!(tcp.checksum_ok(&pseudo) && tcp.syn() && tcp.ack());
        assert_eq!((tcp.data_offset(), tcp.payload()), (6, &b"GET /"[..]));
    }
    use crate::checksum::transport_checksum;
    use std::net::Ipv4Addr;

    /// Ports 45 -> 55710, seq 1, ack 2, data offset 6 (one MSS option),
    /// SYN+ACK, window 1024, then "hi".
    fn segment() -> Vec<u8> {
        let mut s = vec![
            0x00, 45, 0xd9, 0x9e, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x12, 0x04, 0x00, 0, 0, 0, 7,
        ];
        s.extend_from_slice(&[2, 4, 0x05, 0xb4]);
        s.extend_from_slice(b"hi");
        s
    }

    #[test]
    fn reads_every_field() {
        let data = segment();
        let tcp = TcpSegment::new(&data).unwrap();
        assert_eq!(tcp.source_port(), 45);
        assert_eq!(tcp.destination_port(), 55710);
        assert_eq!(tcp.sequence(), 1);
        assert_eq!(tcp.acknowledgment(), 2);
        assert_eq!(tcp.data_offset(), 6);
        assert_eq!(tcp.header_len(), 24);
        assert_eq!(tcp.flags(), flags::SYN | flags::ACK);
        assert!(tcp.syn() && tcp.ack());
        assert!(!tcp.fin() && !tcp.rst() && !tcp.psh() && !tcp.urg());
        assert_eq!(tcp.window(), 1024);
        assert_eq!(tcp.checksum(), 0);
        assert_eq!(tcp.urgent_pointer(), 7);
        assert_eq!(tcp.options(), [2, 4, 0x05, 0xb4]);
        assert_eq!(tcp.payload(), b"hi");
        assert_eq!(tcp.as_bytes(), &data[..]);
    }

    #[test]
    fn all_nine_flags() {
        let mut data = segment();
        data[12] = 0x61;
        data[13] = 0xff;
        let tcp = TcpSegment::new(&data).unwrap();
        assert_eq!(tcp.flags(), 0x1ff);
        assert!(tcp.fin() && tcp.syn() && tcp.rst() && tcp.psh() && tcp.ack() && tcp.urg());
        assert_eq!(tcp.data_offset(), 6);
    }

    #[test]
    fn checksum_ok_and_corrupted() {
        let pseudo = PseudoHeader::V4 {
            source: Ipv4Addr::new(192, 168, 1, 1),
            destination: Ipv4Addr::new(192, 168, 1, 2),
        };
        let mut data = segment();
        let checksum = transport_checksum(&pseudo, PROTOCOL_TCP, &data);
        data[16..18].copy_from_slice(&checksum.to_be_bytes());
        assert!(TcpSegment::new(&data).unwrap().checksum_ok(&pseudo));
        let other = PseudoHeader::V4 {
            source: Ipv4Addr::new(192, 168, 1, 3),
            destination: Ipv4Addr::new(192, 168, 1, 2),
        };
        assert!(!TcpSegment::new(&data).unwrap().checksum_ok(&other));
        data[25] ^= 0x20;
        assert!(!TcpSegment::new(&data).unwrap().checksum_ok(&pseudo));
    }

    #[test]
    fn every_truncation_and_invalid_offset() {
        let data = segment();
        for len in 0..20 {
            assert_eq!(
                TcpSegment::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Tcp,
                    needed: 20,
                    got: len
                }
            );
        }
        for len in 20..24 {
            assert_eq!(
                TcpSegment::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Tcp,
                    needed: 24,
                    got: len
                }
            );
        }
        assert_eq!(TcpSegment::new(&data[..24]).unwrap().payload(), b"");
        for offset in 0..5u8 {
            let mut bad = data.clone();
            bad[12] = offset << 4;
            assert_eq!(
                TcpSegment::new(&bad).unwrap_err(),
                ParseError::InvalidField {
                    layer: Layer::Tcp,
                    field: "data offset",
                    value: u64::from(offset),
                    expected: "au moins 5"
                }
            );
        }
        let mut max = data.clone();
        max[12] = 0xf0;
        max.resize(60, 1);
        let tcp = TcpSegment::new(&max).unwrap();
        assert_eq!(
            (tcp.header_len(), tcp.options().len(), tcp.payload().len()),
            (60, 40, 0)
        );
        assert_eq!(
            TcpSegment::new(&max[..59]).unwrap_err(),
            ParseError::Truncated {
                layer: Layer::Tcp,
                needed: 60,
                got: 59
            }
        );
    }
}
