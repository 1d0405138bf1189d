//! The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-header.
//!
//! The checksum is the ones' complement of the ones' complement sum of the
//! data taken as big-endian 16-bit words. Because that sum is associative and
//! endian-neutral in the right way (RFC 1071 §2), we add 32-bit words into a
//! 64-bit accumulator and fold once at the end: half the additions, no
//! carry handling in the loop.
//!
//! Verifying is summing the data *with* its checksum field: a correct packet
//! sums to `0xffff`, so [`internet_checksum`] returns 0.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ipv4::protocol;

/// IP protocol number of TCP.
pub const PROTOCOL_TCP: u8 = protocol::TCP;
/// IP protocol number of UDP.
pub const PROTOCOL_UDP: u8 = protocol::UDP;
/// IP protocol number of ICMPv6.
pub const PROTOCOL_ICMPV6: u8 = protocol::ICMPV6;

/// RFC 1071 checksum of the concatenation of `chunks`.
///
/// Chunks of odd length are handled as if the chunks were one buffer (the
/// odd byte pairs with the first byte of the next chunk); an odd total is
/// padded with a zero byte. Returns the value to store in a checksum field
/// that was zero during the computation, or 0 when verifying a correct
/// packet including its checksum field.
#[inline]
pub fn internet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = Sum::default();
    for chunk in chunks {
        sum.add(chunk);
    }
    !sum.fold()
}

/// A running ones' complement sum.
#[derive(Debug, Default, Clone, Copy)]
struct Sum {
    /// Sum of 32-bit (or 16-bit) big-endian words; a `u64` cannot overflow
    /// before 16 GiB of data, far beyond any packet.
    total: u64,
    /// The last byte of an odd-length chunk, waiting for its partner.
    pending: Option<u8>,
}

impl Sum {
    #[inline]
    fn add(&mut self, mut data: &[u8]) {
        if let Some(high) = self.pending.take() {
            match data.split_first() {
                Some((&low, rest)) => {
                    self.total += u64::from(u16::from_be_bytes([high, low]));
                    data = rest;
                }
                None => {
                    self.pending = Some(high);
                    return;
                }
            }
        }
        let mut words = data.chunks_exact(4);
        for word in &mut words {
            if let &[a, b, c, d] = word {
                self.total += u64::from(u32::from_be_bytes([a, b, c, d]));
            }
        }
        match *words.remainder() {
            [] => {}
            [a] => self.pending = Some(a),
            [a, b] => self.total += u64::from(u16::from_be_bytes([a, b])),
            [a, b, c] => {
                self.total += u64::from(u16::from_be_bytes([a, b]));
                self.pending = Some(c);
            }
            _ => {}
        }
    }

    /// The 16-bit ones' complement sum (before the final complement).
    #[inline]
    fn fold(self) -> u16 {
        let mut total = self.total;
        if let Some(high) = self.pending {
            total += u64::from(u16::from_be_bytes([high, 0]));
        }
        // Fold 64 -> 16 bits, adding the carries back in (at most a few rounds).
        total = (total & 0xffff_ffff) + (total >> 32);
        while total > 0xffff {
            total = (total & 0xffff) + (total >> 16);
        }
        total as u16
    }
}

/// The IP addresses of the pseudo-header that TCP, UDP and ICMPv6 checksums
/// cover (RFC 793 §3.1, RFC 768, RFC 8200 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// Over IPv4: source, destination, zero, protocol, 16-bit length.
    V4 {
        /// The IPv4 source address.
        source: Ipv4Addr,
        /// The IPv4 destination address.
        destination: Ipv4Addr,
    },
    /// Over IPv6: source, destination, 32-bit length, zeros, next header.
    V6 {
        /// The IPv6 source address.
        source: Ipv6Addr,
        /// The IPv6 destination address (the final one, RFC 8200 §8.1).
        destination: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// Sum of the pseudo-header for an upper-layer packet of `length` bytes.
    #[inline]
    fn sum(&self, protocol: u8, length: usize) -> Sum {
        let mut sum = Sum::default();
        match self {
            PseudoHeader::V4 {
                source,
                destination,
            } => {
                sum.add(&source.octets());
                sum.add(&destination.octets());
                // The IPv4 pseudo-header length is 16 bits; IPv4 payloads
                // cannot exceed it.
                let length = u16::try_from(length).unwrap_or(u16::MAX);
                sum.add(&[0, protocol]);
                sum.add(&length.to_be_bytes());
            }
            PseudoHeader::V6 {
                source,
                destination,
            } => {
                sum.add(&source.octets());
                sum.add(&destination.octets());
                let length = u32::try_from(length).unwrap_or(u32::MAX);
                sum.add(&length.to_be_bytes());
                sum.add(&[0, 0, 0, protocol]);
            }
        }
        sum
    }
}

/// Whether `segment` (a whole TCP segment, UDP datagram or ICMPv6 message,
/// checksum field included) carries a correct checksum for `protocol`
/// under `pseudo`.
///
/// This does not know UDP's "checksum 0 = not computed" rule: see
/// [`UdpDatagram::checksum_ok`](crate::udp::UdpDatagram::checksum_ok).
#[inline]
pub fn transport_checksum_ok(pseudo: &PseudoHeader, protocol: u8, segment: &[u8]) -> bool {
    let mut sum = pseudo.sum(protocol, segment.len());
    sum.add(segment);
    sum.fold() == 0xffff
}

/// The checksum to store in `segment`, whose checksum field must be zero.
///
/// For UDP a computed 0 is sent as `0xffff` (RFC 768), since 0 means "no
/// checksum"; both verify the same way.
pub fn transport_checksum(pseudo: &PseudoHeader, protocol: u8, segment: &[u8]) -> u16 {
    let mut sum = pseudo.sum(protocol, segment.len());
    sum.add(segment);
    let checksum = !sum.fold();
    if checksum == 0 && protocol == PROTOCOL_UDP {
        0xffff
    } else {
        checksum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), !0xddf2);
        // Any split of the same bytes, odd ones included, gives the same sum.
        for cut in 0..=data.len() {
            let (a, b) = data.split_at(cut);
            assert_eq!(internet_checksum(&[a, b]), !0xddf2, "cut at {cut}");
            for cut2 in cut..=data.len() {
                let (b1, b2) = data[cut..].split_at(cut2 - cut);
                assert_eq!(internet_checksum(&[a, &[], b1, b2]), !0xddf2);
            }
        }
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(internet_checksum(&[&[0x12]]), !0x1200);
        assert_eq!(
            internet_checksum(&[&[0x12, 0x34, 0x56]]),
            !(0x1234 + 0x5600)
        );
        assert_eq!(internet_checksum(&[]), 0xffff);
    }

    #[test]
    fn known_ipv4_header() {
        // A classic example header (Wikipedia, "IPv4 header checksum").
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&[&header]), 0xb861);
        header[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(internet_checksum(&[&header]), 0);
    }

    #[test]
    fn carries_fold_around() {
        // Many 0xffff words make the 64-bit accumulator carry several times.
        let data = vec![0xff; 4099];
        let expected = {
            let mut sum: u32 = 0;
            for pair in data.chunks(2) {
                let word = u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
                sum += word;
                sum = (sum & 0xffff) + (sum >> 16);
            }
            !(sum as u16)
        };
        assert_eq!(internet_checksum(&[&data]), expected);
    }

    #[test]
    fn transport_checksum_round_trips() {
        let v4 = PseudoHeader::V4 {
            source: Ipv4Addr::new(10, 0, 0, 1),
            destination: Ipv4Addr::new(10, 0, 0, 2),
        };
        let v6 = PseudoHeader::V6 {
            source: "fe80::1".parse().unwrap(),
            destination: "ff02::1".parse().unwrap(),
        };
        for pseudo in [v4, v6] {
            // A UDP datagram: ports 1234 -> 53, length 11, checksum 0, "abc".
            let mut udp = [0x04, 0xd2, 0x00, 0x35, 0x00, 0x0b, 0, 0, b'a', b'b', b'c'];
            let checksum = transport_checksum(&pseudo, PROTOCOL_UDP, &udp);
            assert_ne!(checksum, 0);
            udp[6..8].copy_from_slice(&checksum.to_be_bytes());
            assert!(transport_checksum_ok(&pseudo, PROTOCOL_UDP, &udp));
            assert!(!transport_checksum_ok(&pseudo, PROTOCOL_TCP, &udp));
            udp[10] ^= 1;
            assert!(!transport_checksum_ok(&pseudo, PROTOCOL_UDP, &udp));
        }
    }
}
