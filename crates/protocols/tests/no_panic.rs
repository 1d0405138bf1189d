//! Hostile bytes never panic a constructor or, once a view is built, any of
//! its accessors. Random bytes rarely pass the version and length checks, so
//! half the cases patch in plausible version/length fields to reach the
//! accessors too.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use protocols::arp::ArpPacket;
use protocols::checksum::{
    internet_checksum, transport_checksum, transport_checksum_ok, PseudoHeader,
};
use protocols::ethernet::{ethertype, EthernetFrame};
use protocols::icmp::IcmpPacket;
use protocols::icmpv6::Icmpv6Packet;
use protocols::ipv4::Ipv4Packet;
use protocols::ipv6::Ipv6Packet;
use protocols::linux_sll::{LinuxSll, LinuxSll2};
use protocols::tcp::TcpSegment;
use protocols::udp::UdpDatagram;
use protocols::unpack::{calcsize, tuple_repr, unpack};

/// Every view over `data`, each with every accessor called; returns a
/// number derived from all of them so nothing is optimized away.
fn exercise(data: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut mix = |x: u64| acc = acc.rotate_left(5) ^ x;
    let v4 = PseudoHeader::V4 {
        source: Ipv4Addr::new(10, 0, 0, 1),
        destination: Ipv4Addr::new(10, 0, 0, 2),
    };
    let v6 = PseudoHeader::V6 {
        source: Ipv6Addr::LOCALHOST,
        destination: Ipv6Addr::UNSPECIFIED,
    };

    if let Ok(e) = EthernetFrame::new(data) {
        mix(u64::from(e.destination().0[0]) ^ u64::from(e.source().0[5]));
        mix(e.destination().to_string().len() as u64);
        mix(u64::from(e.vlan_id().unwrap_or(0xffff)));
        mix(e.vlan_ids().map(u64::from).sum());
        mix(e.vlan_tcis().map(u64::from).sum());
        mix(u64::from(e.ethertype()) + e.header_len() as u64 + e.payload().len() as u64);
        if e.ethertype() > ethertype::MAX_802_3_LENGTH {
            assert_eq!(e.header_len() + e.payload().len(), data.len());
        } else {
            assert!(e.payload().len() <= usize::from(e.ethertype()));
        }
    }
    if let Ok(s) = LinuxSll::new(data) {
        mix(u64::from(s.packet_type()) + u64::from(s.hardware_type()) + u64::from(s.protocol()));
        mix(s.link_address().len() as u64 + s.payload().len() as u64);
    }
    if let Ok(s) = LinuxSll2::new(data) {
        mix(u64::from(s.packet_type()) + u64::from(s.hardware_type()) + u64::from(s.protocol()));
        mix(u64::from(s.interface_index())
            + s.link_address().len() as u64
            + s.payload().len() as u64);
    }
    if let Ok(a) = ArpPacket::new(data) {
        mix(u64::from(a.hardware_type()) + u64::from(a.protocol_type()) + u64::from(a.operation()));
        mix(u64::from(a.sender_mac().0[0]) + u64::from(a.target_mac().0[5]));
        mix(u64::from(u32::from(a.sender_ip())) ^ u64::from(u32::from(a.target_ip())));
    }
    if let Ok(ip) = Ipv4Packet::new(data) {
        mix(u64::from(ip.version()) + u64::from(ip.ihl()) + ip.header_len() as u64);
        mix(u64::from(ip.dscp_ecn()) + u64::from(ip.total_len()) + u64::from(ip.identification()));
        mix(u64::from(ip.dont_fragment()) + u64::from(ip.more_fragments()));
        mix(u64::from(ip.fragment_offset()) + u64::from(ip.is_later_fragment()));
        mix(u64::from(ip.ttl()) + u64::from(ip.protocol()) + u64::from(ip.header_checksum()));
        mix(u64::from(ip.checksum_ok()));
        mix(u64::from(u32::from(ip.source())) ^ u64::from(u32::from(ip.destination())));
        mix(ip.options().len() as u64 + ip.header().len() as u64 + ip.payload().len() as u64);
        mix(matches!(ip.pseudo_header(), PseudoHeader::V4 { .. }) as u64);
        assert_eq!(
            ip.header_len() + ip.payload().len(),
            usize::from(ip.total_len())
        );
        assert!((5..=15).contains(&ip.ihl()));
    }
    if let Ok(ip) = Ipv6Packet::new(data) {
        mix(u64::from(ip.version()) + u64::from(ip.traffic_class()) + u64::from(ip.flow_label()));
        mix(u64::from(ip.payload_len()) + u64::from(ip.next_header()) + u64::from(ip.hop_limit()));
        mix(u128::from(ip.source()) as u64 ^ u128::from(ip.destination()) as u64);
        mix(ip.payload().len() as u64 + ip.extension_headers_len() as u64);
        mix(u64::from(ip.upper_protocol()) + ip.upper_payload().len() as u64);
        mix(u64::from(ip.is_fragment()) + u64::from(ip.has_fragment_header()));
        mix(u64::from(ip.more_fragments()));
        mix(matches!(ip.pseudo_header(), PseudoHeader::V6 { .. }) as u64);
        mix(u128::from(ip.final_destination()) as u64);
        assert_eq!(
            ip.extension_headers_len() + ip.upper_payload().len(),
            ip.payload().len()
        );
    }
    if let Ok(icmp) = IcmpPacket::new(data) {
        mix(u64::from(icmp.icmp_type()) + u64::from(icmp.code()) + u64::from(icmp.checksum()));
        mix(u64::from(icmp.checksum_ok()) + u64::from(u32::from_be_bytes(icmp.rest_of_header())));
        mix(u64::from(icmp.echo_identifier()) + u64::from(icmp.echo_sequence()));
        mix(icmp.payload().len() as u64 + icmp.as_bytes().len() as u64);
    }
    if let Ok(icmp) = Icmpv6Packet::new(data) {
        mix(u64::from(icmp.icmp_type()) + u64::from(icmp.code()) + u64::from(icmp.checksum()));
        mix(u64::from(
            icmp.checksum_ok(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST),
        ));
        mix(u64::from(u32::from_be_bytes(icmp.rest_of_header())));
        mix(icmp.payload().len() as u64 + icmp.as_bytes().len() as u64);
    }
    if let Ok(tcp) = TcpSegment::new(data) {
        mix(u64::from(tcp.source_port()) + u64::from(tcp.destination_port()));
        mix(u64::from(tcp.sequence()) + u64::from(tcp.acknowledgment()));
        mix(u64::from(tcp.data_offset()) + tcp.header_len() as u64 + u64::from(tcp.flags()));
        for flag in [
            tcp.syn(),
            tcp.ack(),
            tcp.fin(),
            tcp.rst(),
            tcp.psh(),
            tcp.urg(),
        ] {
            mix(u64::from(flag));
        }
        mix(u64::from(tcp.window()) + u64::from(tcp.checksum()) + u64::from(tcp.urgent_pointer()));
        mix(tcp.options().len() as u64 + tcp.payload().len() as u64 + tcp.as_bytes().len() as u64);
        mix(u64::from(tcp.checksum_ok(&v4)) + u64::from(tcp.checksum_ok(&v6)));
        assert_eq!(tcp.header_len() + tcp.payload().len(), data.len());
    }
    if let Ok(udp) = UdpDatagram::new(data) {
        mix(u64::from(udp.source_port()) + u64::from(udp.destination_port()));
        mix(u64::from(udp.length()) + u64::from(udp.checksum()));
        mix(udp.payload().len() as u64 + udp.as_bytes().len() as u64);
        mix(u64::from(udp.checksum_ok(&v4)) + u64::from(udp.checksum_ok(&v6)));
        assert_eq!(udp.payload().len() + 8, usize::from(udp.length()));
    }
    mix(u64::from(internet_checksum(&[data, data])));
    mix(u64::from(transport_checksum(&v6, 17, data))
        + u64::from(transport_checksum_ok(&v4, 6, data)));
    acc
}

/// Random bytes, optionally patched so that the IPv4, IPv6, TCP and UDP
/// checks pass more often: version nibble, IHL/offset and length fields set
/// to values the buffer can satisfy (or just exceed).
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 0..160),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(mut data, patch, slack)| {
            let len = data.len();
            let near = |n: usize| (n + usize::from(slack % 4)).saturating_sub(2);
            match patch % 6 {
                0 if len >= 20 => {
                    // IPv4 with a plausible IHL and total length.
                    data[0] = 0x40 | (5 + (slack % 11).min((len / 4 - 5) as u8));
                    data[2..4].copy_from_slice(&(near(len) as u16).to_be_bytes());
                }
                1 if len >= 40 => {
                    data[0] = 0x60 | (data[0] & 0x0f);
                    data[4..6].copy_from_slice(&(near(len - 40) as u16).to_be_bytes());
                    // Favor extension headers.
                    data[6] = [0, 43, 44, 60, 6, 17, 58][usize::from(slack) % 7];
                }
                2 if len >= 20 => {
                    data[12] = (5 + (slack % 11).min((len / 4 - 5) as u8)) << 4 | (data[12] & 0x0f);
                }
                3 if len >= 8 => {
                    data[4..6].copy_from_slice(&(near(len) as u16).to_be_bytes());
                }
                4 if len >= 18 => {
                    // Ethernet with VLAN tags.
                    data[12..14].copy_from_slice(&[0x88, 0xa8]);
                    data[16..18].copy_from_slice(&[0x81, 0x00]);
                }
                5 if len >= 8 => {
                    // Ethernet/IPv4 ARP.
                    data[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
                }
                _ => {}
            }
            data
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes()) {
        exercise(&data);
        // Every suffix too: the decoder hands each layer the rest of a frame.
        for start in [1, 14, 18, 20, 40].into_iter().filter(|&s| s <= data.len()) {
            exercise(&data[start..]);
        }
    }

    #[test]
    fn arbitrary_formats_never_panic(
        format in "[!<>=@ ]?[0-9]{0,3}[xcbB?hHiIlLqQs0-9 zé!]{0,12}",
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(size) = calcsize(&format) {
            let values = unpack(&format, &data);
            prop_assert_eq!(values.is_ok(), size == data.len());
            if let Ok(values) = values {
                let _ = tuple_repr(&values);
            }
        } else {
            prop_assert!(unpack(&format, &data).is_err());
        }
    }
}
