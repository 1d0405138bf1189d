//! Linux "cooked" capture pseudo-headers, which `tcpdump -i any` and
//! captures on non-Ethernet interfaces write instead of an Ethernet header.
//!
//! ```text
//! SLL (pcap link type 113, 16 bytes)      SLL2 (link type 276, 20 bytes)
//!  0..2   packet type                      0..2   protocol (EtherType)
//!  2..4   ARPHRD_ type                     2..4   reserved
//!  4..6   link-layer address length        4..8   interface index
//!  6..14  link-layer address (padded)      8..10  ARPHRD_ type
//! 14..16  protocol (EtherType)            10      packet type
//!                                          11      link-layer address length
//!                                         12..20  link-layer address (padded)
//! ```
//!
//! See <https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html> and
//! `LINKTYPE_LINUX_SLL2.html`.

use crate::endian::{u16_at, u32_at, u8_at};
use crate::error::{Layer, ParseError};

/// Length of an SLL (v1) header.
const SLL_LEN: usize = 16;
/// Length of an SLL2 header.
const SLL2_LEN: usize = 20;
/// Room for the link-layer address in both versions.
const ADDRESS_ROOM: usize = 8;

/// Values of the packet type field: who the packet was for.
pub mod packet_type {
    /// Sent to us.
    pub const HOST: u16 = 0;
    /// Broadcast by somebody else.
    pub const BROADCAST: u16 = 1;
    /// Multicast by somebody else.
    pub const MULTICAST: u16 = 2;
    /// Sent by somebody else to somebody else (promiscuous mode).
    pub const OTHERHOST: u16 = 3;
    /// Sent by us.
    pub const OUTGOING: u16 = 4;
}

/// Byte ranges of the SLL (v1) header.
mod field {
    use std::ops::Range;

    pub const PACKET_TYPE: Range<usize> = 0..2;
    pub const HARDWARE_TYPE: Range<usize> = 2..4;
    pub const ADDRESS_LEN: Range<usize> = 4..6;
    pub const ADDRESS: Range<usize> = 6..14;
    pub const PROTOCOL: Range<usize> = 14..16;
}

/// Byte ranges of the SLL2 header.
mod field2 {
    use std::ops::Range;

    pub const PROTOCOL: Range<usize> = 0..2;
    pub const INTERFACE_INDEX: Range<usize> = 4..8;
    pub const HARDWARE_TYPE: Range<usize> = 8..10;
    pub const PACKET_TYPE: usize = 10;
    pub const ADDRESS_LEN: usize = 11;
    pub const ADDRESS: Range<usize> = 12..20;
}

/// The first `len` bytes of the 8-byte address room (all 8 if `len` is larger).
#[inline]
fn link_address(room: &[u8], len: usize) -> &[u8] {
    room.get(..len.min(ADDRESS_ROOM)).unwrap_or(room)
}

/// A checked view over a Linux cooked capture (SLL, v1) frame.
#[derive(Debug, Clone, Copy)]
pub struct LinuxSll<'a> {
    /// The 16-byte pseudo-header.
    header: &'a [u8; SLL_LEN],
    /// Everything after it.
    payload: &'a [u8],
}

impl<'a> LinuxSll<'a> {
    /// Length of the pseudo-header.
    pub const HEADER_LEN: usize = SLL_LEN;

    /// Checks that the 16-byte pseudo-header is present.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        match data.split_first_chunk::<SLL_LEN>() {
            Some((header, payload)) => Ok(LinuxSll { header, payload }),
            None => Err(ParseError::Truncated {
                layer: Layer::LinuxSll,
                needed: SLL_LEN,
                got: data.len(),
            }),
        }
    }

    /// Who the packet was for (see [`packet_type`]).
    #[inline]
    pub fn packet_type(&self) -> u16 {
        u16_at(self.header, field::PACKET_TYPE)
    }

    /// The ARPHRD_ type of the interface (1 Ethernet, 772 loopback, ...).
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        u16_at(self.header, field::HARDWARE_TYPE)
    }

    /// The link-layer source address, as long as its length field says (at
    /// most 8 bytes).
    #[inline]
    pub fn link_address(&self) -> &'a [u8] {
        let header: &'a [u8; SLL_LEN] = self.header;
        let room = header.get(field::ADDRESS).unwrap_or_default();
        link_address(room, usize::from(u16_at(self.header, field::ADDRESS_LEN)))
    }

    /// The protocol of the payload: an EtherType for IP and ARP.
    #[inline]
    pub fn protocol(&self) -> u16 {
        u16_at(self.header, field::PROTOCOL)
    }

    /// Everything after the pseudo-header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A checked view over a Linux cooked capture v2 (SLL2) frame.
#[derive(Debug, Clone, Copy)]
pub struct LinuxSll2<'a> {
    /// The 20-byte pseudo-header.
    header: &'a [u8; SLL2_LEN],
    /// Everything after it.
    payload: &'a [u8],
}

impl<'a> LinuxSll2<'a> {
    /// Length of the pseudo-header.
    pub const HEADER_LEN: usize = SLL2_LEN;

    /// Checks that the 20-byte pseudo-header is present.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        match data.split_first_chunk::<SLL2_LEN>() {
            Some((header, payload)) => Ok(LinuxSll2 { header, payload }),
            None => Err(ParseError::Truncated {
                layer: Layer::LinuxSll,
                needed: SLL2_LEN,
                got: data.len(),
            }),
        }
    }

    /// The protocol of the payload: an EtherType for IP and ARP.
    #[inline]
    pub fn protocol(&self) -> u16 {
        u16_at(self.header, field2::PROTOCOL)
    }

    /// The index of the interface the packet was captured on.
    #[inline]
    pub fn interface_index(&self) -> u32 {
        u32_at(self.header, field2::INTERFACE_INDEX)
    }

    /// The ARPHRD_ type of the interface (1 Ethernet, 772 loopback, ...).
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        u16_at(self.header, field2::HARDWARE_TYPE)
    }

    /// Who the packet was for (see [`packet_type`]); one byte in SLL2,
    /// widened to match [`LinuxSll::packet_type`].
    #[inline]
    pub fn packet_type(&self) -> u16 {
        u16::from(u8_at(self.header, field2::PACKET_TYPE))
    }

    /// The link-layer source address, as long as its length field says (at
    /// most 8 bytes).
    #[inline]
    pub fn link_address(&self) -> &'a [u8] {
        let header: &'a [u8; SLL2_LEN] = self.header;
        let room = header.get(field2::ADDRESS).unwrap_or_default();
        link_address(room, usize::from(u8_at(self.header, field2::ADDRESS_LEN)))
    }

    /// Everything after the pseudo-header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// The fields of a Linux cooked capture (v1) pseudo-header, to write one
/// ([`LinuxSllRepr::emit`]) or read one back ([`LinuxSllRepr::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxSllRepr {
    /// 0 to us, 4 sent by us, ...
    pub packet_type: u16,
    /// ARPHRD_ type (1 Ethernet).
    pub hardware_type: u16,
    /// The link-layer source address (at most 8 bytes).
    pub address: Vec<u8>,
    pub protocol: u16,
}

impl LinuxSllRepr {
    pub fn parse(sll: &LinuxSll<'_>) -> Self {
        LinuxSllRepr {
            packet_type: sll.packet_type(),
            hardware_type: sll.hardware_type(),
            address: sll.link_address().to_vec(),
            protocol: sll.protocol(),
        }
    }

    /// Appends the 16-byte pseudo-header and `payload`.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        let address = self.address.get(..8).unwrap_or(&self.address);
        out.extend_from_slice(&self.packet_type.to_be_bytes());
        out.extend_from_slice(&self.hardware_type.to_be_bytes());
        out.extend_from_slice(&(address.len() as u16).to_be_bytes());
        out.extend_from_slice(address);
        out.extend(std::iter::repeat(0).take(8 - address.len()));
        out.extend_from_slice(&self.protocol.to_be_bytes());
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let repr = LinuxSllRepr {
            packet_type: 4,
            hardware_type: 1,
            address: vec![0x37, 0x38, 0x1f, 0x55, 0x6b, 0x98],
            protocol: 0x0800,
        };
        let mut bytes = Vec::new();
        repr.emit(b"ip", &mut bytes);
        let sll = LinuxSll::new(&bytes).unwrap();
        assert_eq!(LinuxSllRepr::parse(&sll), repr);
        assert_eq!(sll.payload(), b"ip");
    }

    #[test]
    fn sll_v1_fields() {
        // Outgoing IPv4 on an Ethernet interface, then 2 payload bytes.
        let data = [
            0, 4, 0, 1, 0, 6, 0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35, 0, 0, 0x08, 0x00, 0x45, 0x00,
        ];
        let sll = LinuxSll::new(&data).unwrap();
        assert_eq!(sll.packet_type(), packet_type::OUTGOING);
        assert_eq!(sll.hardware_type(), 1);
        assert_eq!(sll.link_address(), [0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35]);
        assert_eq!(sll.protocol(), 0x0800);
        assert_eq!(sll.payload(), [0x45, 0]);
        let mut long = data;
        long[5] = 200; // an address length past the room is clamped
        assert_eq!(LinuxSll::new(&long).unwrap().link_address().len(), 8);
        for len in 0..16 {
            assert_eq!(
                LinuxSll::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::LinuxSll,
                    needed: 16,
                    got: len
                }
            );
        }
    }

    #[test]
    fn sll_v2_fields() {
        // IPv6 received on interface 3 (loopback, no address), 1 payload byte.
        let data = [
            0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x60,
        ];
        let sll = LinuxSll2::new(&data).unwrap();
        assert_eq!(sll.protocol(), 0x86dd);
        assert_eq!(sll.interface_index(), 3);
        assert_eq!(sll.hardware_type(), 772);
        assert_eq!(sll.packet_type(), packet_type::HOST);
        assert_eq!(sll.link_address(), b"");
        assert_eq!(sll.payload(), [0x60]);
        for len in 0..20 {
            assert_eq!(
                LinuxSll2::new(&data[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::LinuxSll,
                    needed: 20,
                    got: len
                }
            );
        }
    }
}
