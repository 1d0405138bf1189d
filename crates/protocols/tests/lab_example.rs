//! The lab's example values (issue 2, lab 16), decoded layer by layer the way
//! the frame decoder chains the views: each layer's payload feeds the next.

use protocols::ethernet::{ethertype, EthernetFrame};
use protocols::icmp::IcmpPacket;
use protocols::ipv4::{protocol, Ipv4Packet};
use protocols::udp::UdpDatagram;
use protocols::unpack::{tuple_repr, unpack, Value};

/// The example's Ethernet header, then an IPv4 header with IHL 8 (12 bytes
/// of options) from 234.216.160.229 to 76.218.134.147 carrying `upper`,
/// then 6 bytes of Ethernet padding.
fn lab_frame(ip_protocol: u8, upper: &[u8]) -> Vec<u8> {
    let mut frame = b"\x52\x0c\xc7\x1d\xca\x35\x37\x38\x1f\x55\x6b\x98\x08\x00".to_vec();
    let total = (32 + upper.len()) as u16;
    frame.extend_from_slice(&[0x48, 0]);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0, 64, ip_protocol, 0, 0]);
    frame.extend_from_slice(&[234, 216, 160, 229, 76, 218, 134, 147]);
    frame.extend_from_slice(&[1; 12]);
    frame.extend_from_slice(upper);
    frame.extend_from_slice(&[0; 6]);
    frame
}

#[test]
fn the_example_frame_decodes_as_the_lab_prints_it() {
    let frame = lab_frame(protocol::ICMP, &[5, 1, 0, 0, 10, 0, 0, 1]);
    let eth = EthernetFrame::new(&frame).unwrap();
    assert_eq!(eth.destination().to_string(), "52:0c:c7:1d:ca:35");
    assert_eq!(eth.source().to_string(), "37:38:1f:55:6b:98");
    assert_eq!(eth.ethertype(), 2048);
    assert_eq!(eth.ethertype(), ethertype::IPV4);

    let ip = Ipv4Packet::new(eth.payload()).unwrap();
    assert_eq!(ip.version(), 4);
    assert_eq!(ip.ihl(), 8);
    assert_eq!(ip.protocol(), 1);
    assert_eq!(ip.source().to_string(), "234.216.160.229");
    assert_eq!(ip.destination().to_string(), "76.218.134.147");
    assert!(!ip.checksum_ok(), "the example's checksum field is 0");

    let icmp = IcmpPacket::new(ip.payload()).unwrap();
    assert_eq!(icmp.icmp_type(), 5);
    assert_eq!(icmp.payload(), b"", "Ethernet padding must not show");
}

#[test]
fn the_example_udp_block() {
    let udp = [
        0, 45, 0xd9, 0x9e, 0, 14, 0, 0, b'c', b'o', b'u', b'c', b'o', b'u',
    ];
    let frame = lab_frame(protocol::UDP, &udp);
    let ip = Ipv4Packet::new(EthernetFrame::new(&frame).unwrap().payload()).unwrap();
    let udp = UdpDatagram::new(ip.payload()).unwrap();
    assert_eq!(udp.source_port(), 45);
    assert_eq!(udp.destination_port(), 55710);
    assert_eq!(udp.length(), 14);
    assert_eq!(udp.payload(), b"coucou");
}

#[test]
fn the_sheets_helper_examples() {
    // 16.7 (`decode_adresse_IP` itself is decodeur_trame's: the sheet's
    // function, over the standard library's conversion).
    assert_eq!(
        std::net::Ipv4Addr::from(2475088460).to_string(),
        "147.134.218.76"
    );
    // 16.1
    let values = unpack(
        "!HH5sLBL",
        b"\x00\x01\x00\x02trois\x00\x00\x00\x04\x05\x00\x00\x00\x06",
    )
    .unwrap();
    assert_eq!(tuple_repr(&values), "(1, 2, b'trois', 4, 5, 6)");
    // The sheet's struct example.
    let values = unpack("!BLB2s", b"\x04\x00\x00\x00\n\x10hi").unwrap();
    assert_eq!(tuple_repr(&values), "(4, 10, 16, b'hi')");
    // 16.2: the 4 high bits of 237 (0b1110_1101), from the unpacked byte.
    let values = unpack("B", &[237]).unwrap();
    assert_eq!(values, [Value::UInt(237)]);
    assert_eq!(values[0].to_string(), "237");
}
