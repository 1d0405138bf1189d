//! Ethernet II frames, with up to two stacked IEEE 802.1Q / 802.1ad VLAN tags
//! (TPID 0x8100, 0x88a8, or the pre-standard 0x9100).
//!
//! ```text
//!  0                   6                  12        14
//! +-------------------+-------------------+---------+----------------
//! | destination MAC   | source MAC        | type    | payload ...
//! +-------------------+-------------------+---------+----------------
//!                     with a VLAN tag:    | 0x8100  | TCI | type | payload
//! ```
//!
//! The frame check sequence is not part of captured frames, and the padding
//! that brings short frames up to 60 bytes is left in [`EthernetFrame::payload`]:
//! the IP length fields remove it one layer up. The exception is an IEEE 802.3
//! frame, whose type field is a length (at most
//! [`ethertype::MAX_802_3_LENGTH`]): its payload (an LLC header and data) is
//! cut at that length.

use std::fmt;

use crate::endian::{array_at, u16_at};
use crate::error::{Layer, ParseError};

/// Well-known EtherType values.
pub mod ethertype {
    /// Internet Protocol version 4.
    pub const IPV4: u16 = 0x0800;
    /// Address Resolution Protocol.
    pub const ARP: u16 = 0x0806;
    /// Internet Protocol version 6.
    pub const IPV6: u16 = 0x86dd;
    /// IEEE 802.1Q VLAN tag (customer tag).
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad "QinQ" service tag.
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ service tag, still met and decoded as a VLAN tag
    /// (as tcpdump and Wireshark do).
    pub const QINQ_LEGACY: u16 = 0x9100;
    /// Largest value of the type field that is an IEEE 802.3 payload length
    /// rather than an EtherType (which start at 0x0600).
    pub const MAX_802_3_LENGTH: u16 = 1500;
}

/// Whether an EtherType announces a VLAN tag.
#[inline]
const fn is_vlan_tpid(ethertype: u16) -> bool {
    matches!(
        ethertype,
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_LEGACY
    )
}

/// Length of an untagged header.
const HEADER_LEN: usize = 14;
/// Length of one VLAN tag.
const VLAN_TAG_LEN: usize = 4;

/// Byte ranges of the fields of the untagged header.
mod field {
    use std::ops::Range;

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
}

/// Byte ranges inside one 4-byte VLAN tag (after the tag's own 0x8100,
/// which sits where the EtherType would be).
mod vlan_field {
    use std::ops::Range;

    /// Tag control information: priority (3 bits), DEI (1 bit), VID (12 bits).
    pub const TCI: Range<usize> = 0..2;
    /// The EtherType (or next tag's TPID) that follows the tag.
    pub const ETHERTYPE: Range<usize> = 2..4;
}

/// The most VLAN tags a frame may carry (802.1ad: one service tag, one
/// customer tag). A third tag is left undecoded as the frame's EtherType.
pub const MAX_VLAN_TAGS: usize = 2;

/// A 48-bit IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The six bytes, in transmission order.
    #[inline]
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The 17 ASCII bytes of `52:0c:c7:1d:ca:35`, built without formatting
    /// machinery (the frame decoder prints millions of them).
    #[inline]
    pub fn to_ascii(&self) -> [u8; 17] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b':'; 17];
        for (chunk, byte) in out.chunks_mut(3).zip(self.0) {
            if let [hi, lo, ..] = chunk {
                *hi = HEX[usize::from(byte >> 4)];
                *lo = HEX[usize::from(byte & 0x0f)];
            }
        }
        out
    }

    /// Writes the address as [`Display`](fmt::Display) does, into any
    /// [`fmt::Write`] (a `String` for instance), in one `write_str` call.
    #[inline]
    pub fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let ascii = self.to_ascii();
        // Hex digits and colons are ASCII, hence valid UTF-8.
        out.write_str(std::str::from_utf8(&ascii).unwrap_or_default())
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> Self {
        MacAddr(octets)
    }
}

/// Lowercase, colon-separated, as the lab prints it: `52:0c:c7:1d:ca:35`.
/// Honors width and alignment (`{:>20}`).
impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.to_ascii();
        f.pad(std::str::from_utf8(&ascii).unwrap_or_default())
    }
}

/// A checked view over an Ethernet II frame (without its FCS).
#[derive(Debug, Clone, Copy)]
pub struct EthernetFrame<'a> {
    /// The two MAC addresses and the first EtherType (or tag's TPID).
    header: &'a [u8; HEADER_LEN],
    /// Everything after the header and its VLAN tags.
    payload: &'a [u8],
    /// The EtherType after the VLAN tags.
    ethertype: u16,
    /// Tag control information of each tag, outermost first.
    tags: [u16; MAX_VLAN_TAGS],
    /// How many entries of `tags` are used.
    tag_count: u8,
}

impl<'a> EthernetFrame<'a> {
    /// Length of an untagged header: two addresses and the EtherType.
    pub const HEADER_LEN: usize = HEADER_LEN;
    /// Length each VLAN tag adds to the header.
    pub const VLAN_TAG_LEN: usize = VLAN_TAG_LEN;

    /// Checks that `data` holds the header and every VLAN tag it announces.
    ///
    /// A frame shorter than 14 bytes is `Truncated { layer: Ethernet }`; a
    /// VLAN tag cut short is `Truncated { layer: Vlan }`.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Self, ParseError> {
        let Some((header, mut rest)) = data.split_first_chunk::<{ HEADER_LEN }>() else {
            return Err(ParseError::Truncated {
                layer: Layer::Ethernet,
                needed: Self::HEADER_LEN,
                got: data.len(),
            });
        };
        let mut ethertype = u16_at(header, field::ETHERTYPE);
        let mut tags = [0u16; MAX_VLAN_TAGS];
        let mut tag_count = 0u8;
        for slot in &mut tags {
            if !is_vlan_tpid(ethertype) {
                break;
            }
            let Some((tag, after)) = rest.split_first_chunk::<{ VLAN_TAG_LEN }>() else {
                return Err(ParseError::Truncated {
                    layer: Layer::Vlan,
                    needed: data.len() - rest.len() + Self::VLAN_TAG_LEN,
                    got: data.len(),
                });
            };
            *slot = u16_at(tag, vlan_field::TCI);
            ethertype = u16_at(tag, vlan_field::ETHERTYPE);
            tag_count += 1;
            rest = after;
        }
        if ethertype <= ethertype::MAX_802_3_LENGTH {
            // IEEE 802.3: the field counts the bytes that follow, padding
            // excluded; a capture cut shorter keeps what it has.
            rest = rest.get(..usize::from(ethertype)).unwrap_or(rest);
        }
        Ok(EthernetFrame {
            header,
            payload: rest,
            ethertype,
            tags,
            tag_count,
        })
    }

    /// The destination MAC address.
    #[inline]
    pub fn destination(&self) -> MacAddr {
        MacAddr(array_at(self.header, field::DESTINATION))
    }

    /// The source MAC address.
    #[inline]
    pub fn source(&self) -> MacAddr {
        MacAddr(array_at(self.header, field::SOURCE))
    }

    /// The 12-bit VLAN identifier of the outermost tag, if the frame is tagged.
    #[inline]
    pub fn vlan_id(&self) -> Option<u16> {
        self.vlan_ids().next()
    }

    /// The 12-bit VLAN identifiers of every tag, outermost first.
    #[inline]
    pub fn vlan_ids(&self) -> impl Iterator<Item = u16> + 'static {
        let tags = self.tags;
        tags.into_iter()
            .take(usize::from(self.tag_count))
            .map(|tci| tci & 0x0fff)
    }

    /// The tag control information (priority, DEI, VID) of every tag,
    /// outermost first.
    #[inline]
    pub fn vlan_tcis(&self) -> impl Iterator<Item = u16> + 'static {
        let tags = self.tags;
        tags.into_iter().take(usize::from(self.tag_count))
    }

    /// The EtherType of the payload, after any VLAN tags; at most
    /// [`ethertype::MAX_802_3_LENGTH`], it is the length of an IEEE 802.3
    /// payload instead.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        self.ethertype
    }

    /// Header length in bytes: 14, plus 4 per VLAN tag.
    #[inline]
    pub fn header_len(&self) -> usize {
        Self::HEADER_LEN + Self::VLAN_TAG_LEN * usize::from(self.tag_count)
    }

    /// Everything after the header, Ethernet padding included, except in an
    /// IEEE 802.3 frame: there, the bytes its length field counts.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// The fields of an Ethernet II header, to write one ([`EthernetRepr::emit`])
/// or read one back ([`EthernetRepr::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetRepr {
    pub destination: MacAddr,
    pub source: MacAddr,
    /// The TCI (priority, DEI, VLAN id) of each 802.1Q tag, outermost first.
    pub vlans: Vec<u16>,
    /// The EtherType after the tags.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// The fields of a frame's header.
    pub fn parse(frame: &EthernetFrame<'_>) -> Self {
        EthernetRepr {
            destination: frame.destination(),
            source: frame.source(),
            vlans: frame.vlan_tcis().collect(),
            ethertype: frame.ethertype(),
        }
    }

    /// Appends the header and `payload`, padded with zeros to the 60-byte
    /// minimum as a network card sends it.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.destination.0);
        out.extend_from_slice(&self.source.0);
        for tci in &self.vlans {
            out.extend_from_slice(&ethertype::VLAN.to_be_bytes());
            out.extend_from_slice(&tci.to_be_bytes());
        }
        out.extend_from_slice(&self.ethertype.to_be_bytes());
        out.extend_from_slice(payload);
        if out.len() - start < MIN_FRAME_LEN {
            out.resize(start + MIN_FRAME_LEN, 0);
        }
    }
}

/// The shortest frame a card sends (without its FCS): shorter ones are
/// padded.
pub const MIN_FRAME_LEN: usize = 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trip() {
        let repr = EthernetRepr {
            destination: MacAddr([0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35]),
            source: MacAddr([0x37, 0x38, 0x1f, 0x55, 0x6b, 0x98]),
            vlans: vec![100, 0x2000 | 42],
            ethertype: ethertype::IPV4,
        };
        let mut bytes = Vec::new();
        repr.emit(b"payload", &mut bytes);
        assert_eq!(bytes.len(), 60, "padded");
        let frame = EthernetFrame::new(&bytes).unwrap();
        assert_eq!(EthernetRepr::parse(&frame), repr);
        assert_eq!(&frame.payload()[..7], b"payload");
    }

    /// The lab's example frame header (issue 2) followed by 3 payload bytes.
    const LAB_FRAME: &[u8] = b"\x52\x0c\xc7\x1d\xca\x35\x37\x38\x1f\x55\x6b\x98\x08\x00abc";

    #[test]
    fn decodes_the_lab_example() {
        let frame = EthernetFrame::new(LAB_FRAME).unwrap();
        assert_eq!(frame.destination().to_string(), "52:0c:c7:1d:ca:35");
        assert_eq!(frame.source().to_string(), "37:38:1f:55:6b:98");
        assert_eq!(frame.ethertype(), 2048);
        assert_eq!(frame.ethertype(), ethertype::IPV4);
        assert_eq!(frame.vlan_id(), None);
        assert_eq!(frame.vlan_ids().count(), 0);
        assert_eq!(frame.header_len(), 14);
        assert_eq!(frame.payload(), b"abc");
    }

    #[test]
    fn mac_display_pads_and_writes() {
        let mac = MacAddr([0, 0x1b, 0xff, 0xa0, 9, 0x10]);
        assert_eq!(mac.to_string(), "00:1b:ff:a0:09:10");
        assert_eq!(format!("[{mac:>19}]"), "[  00:1b:ff:a0:09:10]");
        let mut out = String::from("mac=");
        mac.write_to(&mut out).unwrap();
        assert_eq!(out, "mac=00:1b:ff:a0:09:10");
        assert_eq!(MacAddr::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");
    }

    #[test]
    fn single_and_double_vlan_tags() {
        let mut single = LAB_FRAME[..12].to_vec();
        single.extend_from_slice(&[0x81, 0x00, 0xa0, 0x2a, 0x86, 0xdd, 1, 2]);
        let frame = EthernetFrame::new(&single).unwrap();
        assert_eq!(frame.vlan_id(), Some(42));
        assert_eq!(frame.vlan_tcis().collect::<Vec<_>>(), [0xa02a]);
        assert_eq!(frame.ethertype(), ethertype::IPV6);
        assert_eq!(frame.header_len(), 18);
        assert_eq!(frame.payload(), [1, 2]);

        let mut double = LAB_FRAME[..12].to_vec();
        double.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x0f, 0xff, 0x08, 0x06]);
        let frame = EthernetFrame::new(&double).unwrap();
        let mut legacy = double.clone();
        legacy[12..14].copy_from_slice(&ethertype::QINQ_LEGACY.to_be_bytes());
        assert_eq!(EthernetFrame::new(&legacy).unwrap().vlan_ids().count(), 2);
        assert_eq!(frame.vlan_id(), Some(100));
        assert_eq!(frame.vlan_ids().collect::<Vec<_>>(), [100, 4095]);
        assert_eq!(frame.ethertype(), ethertype::ARP);
        assert_eq!(frame.header_len(), 22);
        assert_eq!(frame.payload(), b"");

        // A third tag is not decoded: it shows as the EtherType.
        let mut triple = double[..20].to_vec();
        triple.extend_from_slice(&[0x81, 0x00, 0, 1, 0x08, 0x00]);
        let frame = EthernetFrame::new(&triple).unwrap();
        assert_eq!(frame.vlan_ids().count(), 2);
        assert_eq!(frame.ethertype(), ethertype::VLAN);
        assert_eq!(frame.payload(), [0, 1, 8, 0]);
    }

    #[test]
    fn ieee_802_3_payload_is_cut_at_its_length() {
        // A spanning-tree-like LLC frame: length 5, then 3 bytes of padding.
        let mut frame = LAB_FRAME[..12].to_vec();
        frame.extend_from_slice(&[0x00, 0x05, 0x42, 0x42, 0x03, 0, 0, 0, 0, 0]);
        let eth = EthernetFrame::new(&frame).unwrap();
        assert_eq!(eth.ethertype(), 5);
        assert_eq!(eth.payload(), [0x42, 0x42, 0x03, 0, 0]);
        // Inside a VLAN tag too, and a capture cut short keeps what it has.
        let mut tagged = LAB_FRAME[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0, 7, 0x05, 0xdc, 0xaa, 0xbb]);
        let eth = EthernetFrame::new(&tagged).unwrap();
        assert_eq!(eth.ethertype(), ethertype::MAX_802_3_LENGTH);
        assert_eq!(eth.payload(), [0xaa, 0xbb]);
        // The smallest EtherType is not a length.
        tagged[16..18].copy_from_slice(&0x0600u16.to_be_bytes());
        tagged.extend_from_slice(&[0; 4]);
        assert_eq!(EthernetFrame::new(&tagged).unwrap().payload().len(), 6);
    }

    #[test]
    fn every_truncation_names_the_right_layer() {
        for len in 0..14 {
            assert_eq!(
                EthernetFrame::new(&LAB_FRAME[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Ethernet,
                    needed: 14,
                    got: len
                }
            );
        }
        let mut double = LAB_FRAME[..12].to_vec();
        double.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x0f, 0xff, 0x08, 0x06]);
        for len in 14..22 {
            let needed = if len < 18 { 18 } else { 22 };
            assert_eq!(
                EthernetFrame::new(&double[..len]).unwrap_err(),
                ParseError::Truncated {
                    layer: Layer::Vlan,
                    needed,
                    got: len
                }
            );
        }
        assert!(EthernetFrame::new(&double).is_ok());
    }
}
