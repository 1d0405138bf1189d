//! ARP packets for Ethernet and IPv4 (RFC 826), the only kind on a LAN.
//!
//! ```text
//!  0               8               16                              31
//! +-------------------------------+-------------------------------+
//! |    Hardware type (1)          |    Protocol type (0x0800)     |
//! +---------------+---------------+-------------------------------+
//! | HW len (6)    | Proto len (4) |          Operation            |
//! +---------------+---------------+-------------------------------+
//! |  Sender MAC (6 bytes) | Sender IP (4) | Target MAC (6) | Target IP (4)
//! +---------------------------------------------------------------+
//! ```
//!
//! Other hardware or protocol types (the header says so in its first 6
//! bytes) are refused with [`ParseError::InvalidField`].

use std::net::Ipv4Addr;

use crate::endian::{array_at, u16_at, u8_at};
use crate::error::{Layer, ParseError};
use crate::ethernet::{ethertype, MacAddr};

/// Length of an Ethernet/IPv4 ARP packet.
const PACKET_LEN: usize = 28;
/// The part that says which kind of ARP this is (types and lengths).
const FIXED_LEN: usize = 8;

/// ARP operation codes.
pub mod operation {
    /// "Who has `target IP`? Tell `sender IP`."
    pub const REQUEST: u16 = 1;
    /// "`sender IP` is at `sender MAC`."
    pub const REPLY: u16 = 2;
}

/// Byte ranges of the fields.
mod field {
    use std::ops::Range;

    pub const HARDWARE_TYPE: Range<usize> = 0..2;
    pub const PROTOCOL_TYPE: Range<usize> = 2..4;
    pub const HARDWARE_LEN: usize = 4;
    pub const PROTOCOL_LEN: usize = 5;
    pub const OPERATION: Range<usize> = 6..8;
    pub const SENDER_MAC: Range<usize> = 8..14;
    pub const SENDER_IP: Range<usize> = 14..18;
    pub const TARGET_MAC: Range<usize> = 18..24;
    pub const TARGET_IP: Range<usize> = 24..28;
}

/// ARP hardware type of Ethernet.
const HARDWARE_ETHERNET: u16 = 1;

/// A checked view over an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy)]
pub struct ArpPacket<'a> {
    /// The 28 bytes of the packet (Ethernet padding after them is ignored).
    data: &'a [u8; PACKET_LEN],
}

impl<'a> ArpPacket<'a> {
    /// Length of an Ethernet/IPv4 ARP packet.
    pub const LEN: usize = PACKET_LEN;
    /// Same as [`Self::LEN`]: the shortest buffer `new` accepts.
    pub const MIN_LEN: usize = PACKET_LEN;

    /// Checks that the packet is Ethernet/IPv4 ARP (hardware type 1,
    /// protocol type 0x0800, lengths 6 and 4) and 28 bytes long.
    ///
    /// A buffer too short to hold the types is `Truncated { needed: 28 }`;
    /// when the types are there but wrong, that is reported first.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        let truncated = ParseError::Truncated {
            layer: Layer::Arp,
            needed: PACKET_LEN,
            got: data.len(),
        };
        let Some(fixed) = data.first_chunk::<FIXED_LEN>() else {
            return Err(truncated);
        };
        let invalid = |field, value: u64, expected| {
            Err(ParseError::InvalidField {
                layer: Layer::Arp,
                field,
                value,
                expected,
            })
        };
        let hardware_type = u16_at(fixed, field::HARDWARE_TYPE);
        if hardware_type != HARDWARE_ETHERNET {
            return invalid("hardware type", hardware_type.into(), "1 (Ethernet)");
        }
        let protocol_type = u16_at(fixed, field::PROTOCOL_TYPE);
        if protocol_type != ethertype::IPV4 {
            return invalid("protocol type", protocol_type.into(), "0x0800 (IPv4)");
        }
        let hardware_len = u8_at(fixed, field::HARDWARE_LEN);
        if hardware_len != 6 {
            return invalid("hardware address length", hardware_len.into(), "6");
        }
        let protocol_len = u8_at(fixed, field::PROTOCOL_LEN);
        if protocol_len != 4 {
            return invalid("protocol address length", protocol_len.into(), "4");
        }
        match data.first_chunk::<PACKET_LEN>() {
            Some(data) => Ok(ArpPacket { data }),
            None => Err(truncated),
        }
    }

    /// The hardware type: always 1 (Ethernet) in a constructed view.
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        u16_at(self.data, field::HARDWARE_TYPE)
    }

    /// The protocol type: always 0x0800 (IPv4) in a constructed view.
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        u16_at(self.data, field::PROTOCOL_TYPE)
    }

    /// The operation: 1 request, 2 reply (see [`operation`]).
    #[inline]
    pub fn operation(&self) -> u16 {
        u16_at(self.data, field::OPERATION)
    }

    /// The sender's MAC address.
    #[inline]
    pub fn sender_mac(&self) -> MacAddr {
        MacAddr(array_at(self.data, field::SENDER_MAC))
    }

    /// The sender's IPv4 address.
    #[inline]
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<PACKET_LEN, 4>(self.data, field::SENDER_IP))
    }

    /// The target's MAC address (zeros in a request).
    #[inline]
    pub fn target_mac(&self) -> MacAddr {
        MacAddr(array_at(self.data, field::TARGET_MAC))
    }

    /// The target's IPv4 address.
    #[inline]
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<PACKET_LEN, 4>(self.data, field::TARGET_IP))
    }
}

/// The fields of an Ethernet/IPv4 ARP packet, to write one
/// ([`ArpRepr::emit`]) or read one back ([`ArpRepr::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// 1 request, 2 reply.
    pub operation: u16,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    pub fn parse(arp: &ArpPacket<'_>) -> Self {
        ArpRepr {
            operation: arp.operation(),
            sender_mac: arp.sender_mac(),
            sender_ip: arp.sender_ip(),
            target_mac: arp.target_mac(),
            target_ip: arp.target_ip(),
        }
    }

    /// Appends the 28-byte packet (Ethernet hardware, IPv4 protocol).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&ethertype::IPV4.to_be_bytes());
        out.extend_from_slice(&[6, 4]);
        out.extend_from_slice(&self.operation.to_be_bytes());
        out.extend_from_slice(&self.sender_mac.0);
        out.extend_from_slice(&self.sender_ip.octets());
        out.extend_from_slice(&self.target_mac.0);
        out.extend_from_slice(&self.target_ip.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let repr = ArpRepr {
            operation: 2,
            sender_mac: MacAddr([0x37, 0x38, 0x1f, 0x55, 0x6b, 0x98]),
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr([0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35]),
            target_ip: Ipv4Addr::new(192, 168, 1, 10),
        };
        let mut bytes = Vec::new();
        repr.emit(&mut bytes);
        assert_eq!(bytes.len(), 28);
        assert_eq!(ArpRepr::parse(&ArpPacket::new(&bytes).unwrap()), repr);
    }

    /// "Who has 192.168.1.1? Tell 192.168.1.42", then Ethernet padding.
    const REQUEST: &[u8] = &[
        0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35, 192, 168, 1, 42, 0, 0, 0, 0, 0,
        0, 192, 168, 1, 1, 0, 0, 0, 0,
    ];

    #[test]
    fn reads_every_field() {
        let arp = ArpPacket::new(REQUEST).unwrap();
        assert_eq!(arp.hardware_type(), 1);
        assert_eq!(arp.protocol_type(), 0x0800);
        assert_eq!(arp.operation(), operation::REQUEST);
        assert_eq!(arp.sender_mac().to_string(), "52:0c:c7:1d:ca:35");
        assert_eq!(arp.sender_ip(), Ipv4Addr::new(192, 168, 1, 42));
        assert_eq!(arp.target_mac(), MacAddr([0; 6]));
        assert_eq!(arp.target_ip(), Ipv4Addr::new(192, 168, 1, 1));
    }

    #[test]
    fn every_truncation() {
        for len in 0..28 {
            assert_eq!(
                ArpPacket::new(&REQUEST[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Arp,
                    needed: 28,
                    got: len
                }
            );
        }
        assert!(ArpPacket::new(&REQUEST[..28]).is_ok());
    }

    #[test]
    fn other_kinds_of_arp_are_invalid() {
        let cases: [(usize, u8, &str, u64); 4] = [
            (1, 6, "hardware type", 6),
            (2, 0x86, "protocol type", 0x8600),
            (4, 16, "hardware address length", 16),
            (5, 16, "protocol address length", 16),
        ];
        for (at, byte, name, value) in cases {
            let mut bad = REQUEST.to_vec();
            bad[at] = byte;
            // Reported even when the rest of the packet is missing.
            for len in [8, 28] {
                assert!(matches!(
                    ArpPacket::new(&bad[..len]).unwrap_err(),
                    ParseError::InvalidField { layer: Layer::Arp, field, value: v, .. }
                        if field == name && v == value
                ));
            }
        }
    }
}
