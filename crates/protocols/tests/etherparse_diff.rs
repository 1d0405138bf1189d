//! Differential tests against etherparse 0.21 on generated valid frames.
//!
//! proptest builds Ethernet frames (0-2 VLAN tags, IPv4 with options or
//! IPv6 with extension headers, TCP with options, UDP, ICMP, ICMPv6 or an
//! undecoded protocol, random payloads and Ethernet padding). Checksums are
//! filled in with etherparse's own checksum functions. Then, on each frame:
//! - our views and etherparse's slices must agree on addresses, ports,
//!   protocol numbers, lengths and payload slices, and both must match what
//!   was generated;
//! - our checksum checks must accept etherparse's checksums, and refuse them
//!   once a bit of the covered data is flipped;
//! - every prefix of every layer gives exactly the expected `Truncated`
//!   error (IPv4/TCP options, UDP length, IPv6 extension-header chains).

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{
    Icmpv4Slice, Icmpv6Slice, Ipv4HeaderSlice, LenSource, LinkExtSlice, LinkSlice, NetSlice,
    SlicedPacket, TcpSlice, TransportSlice, UdpSlice,
};
use proptest::collection::vec;
use proptest::prelude::*;
use protocols::ethernet::{ethertype, EthernetFrame};
use protocols::icmp::IcmpPacket;
use protocols::icmpv6::Icmpv6Packet;
use protocols::ipv4::Ipv4Packet;
use protocols::ipv6::Ipv6Packet;
use protocols::tcp::TcpSegment;
use protocols::udp::UdpDatagram;
use protocols::{Layer, ParseError};

/// IP protocol numbers either parser treats specially; "other" protocols
/// avoid them.
const SPECIAL_PROTOCOLS: &[u8] = &[
    0, 1, 2, 6, 17, 43, 44, 50, 51, 58, 60, 135, 139, 140, 253, 254,
];

#[derive(Debug, Clone)]
enum Transport {
    Tcp {
        ports: (u16, u16),
        seq_ack: (u32, u32),
        flags: u16,
        window: u16,
        urgent: u16,
        /// A multiple of 4 bytes, at most 40.
        options: Vec<u8>,
        payload: Vec<u8>,
    },
    Udp {
        ports: (u16, u16),
        /// Over IPv4, leave the checksum at 0 ("not computed").
        no_checksum: bool,
        payload: Vec<u8>,
    },
    /// ICMP over IPv4, ICMPv6 over IPv6.
    Icmp {
        kind: u8,
        code: u8,
        rest: [u8; 4],
        payload: Vec<u8>,
    },
    /// A protocol neither parser decodes.
    Other { protocol: u8, payload: Vec<u8> },
}

/// An IPv6 extension header: (kind, length in 8-byte units beyond the first 8).
type Ext = (u8, u8);

#[derive(Debug, Clone)]
enum Net {
    V4 {
        source: [u8; 4],
        destination: [u8; 4],
        ttl: u8,
        identification: u16,
        dont_fragment: bool,
        /// (more fragments, offset in 8-byte units)
        fragment: (bool, u16),
        /// A multiple of 4 bytes, at most 40.
        options: Vec<u8>,
    },
    V6 {
        source: [u8; 16],
        destination: [u8; 16],
        traffic_class: u8,
        flow_label: u32,
        hop_limit: u8,
        /// Hop-by-hop (first only), routing, destination options.
        exts: Vec<Ext>,
        /// A fragment header after them: (offset, M flag).
        fragment: Option<(u16, bool)>,
    },
}

#[derive(Debug, Clone)]
struct Spec {
    destination: [u8; 6],
    source: [u8; 6],
    /// (TPID, TCI) of each tag, outermost first.
    vlans: Vec<(u16, u16)>,
    net: Net,
    transport: Transport,
    /// Bytes after the IP packet (Ethernet padding or trailer).
    padding: Vec<u8>,
}

/// Where things are in a built frame.
#[derive(Debug)]
struct Built {
    frame: Vec<u8>,
    /// Start of the IP header.
    l3: usize,
    /// Start of each IPv6 extension header, and the end of the last one.
    ext_bounds: Vec<(usize, usize)>,
    /// Start of the transport header.
    l4: usize,
    /// End of the IP packet (before padding).
    end: usize,
}

impl Spec {
    fn fragmented(&self) -> bool {
        match &self.net {
            Net::V4 { fragment, .. } => fragment.0 || fragment.1 != 0,
            Net::V6 { fragment, .. } => fragment.is_some_and(|(offset, m)| m || offset != 0),
        }
    }

    fn protocol(&self) -> u8 {
        match (&self.transport, &self.net) {
            (Transport::Tcp { .. }, _) => 6,
            (Transport::Udp { .. }, _) => 17,
            (Transport::Icmp { .. }, Net::V4 { .. }) => 1,
            (Transport::Icmp { .. }, Net::V6 { .. }) => 58,
            (Transport::Other { protocol, .. }, _) => *protocol,
        }
    }

    fn transport_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.transport {
            Transport::Tcp {
                ports,
                seq_ack,
                flags,
                window,
                urgent,
                options,
                payload,
            } => {
                out.extend_from_slice(&ports.0.to_be_bytes());
                out.extend_from_slice(&ports.1.to_be_bytes());
                out.extend_from_slice(&seq_ack.0.to_be_bytes());
                out.extend_from_slice(&seq_ack.1.to_be_bytes());
                let offset = (5 + options.len() / 4) as u16;
                out.extend_from_slice(&(offset << 12 | flags).to_be_bytes());
                out.extend_from_slice(&window.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&urgent.to_be_bytes());
                out.extend_from_slice(options);
                out.extend_from_slice(payload);
            }
            Transport::Udp { ports, payload, .. } => {
                out.extend_from_slice(&ports.0.to_be_bytes());
                out.extend_from_slice(&ports.1.to_be_bytes());
                out.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(payload);
            }
            Transport::Icmp {
                kind,
                code,
                rest,
                payload,
            } => {
                out.extend_from_slice(&[*kind, *code, 0, 0]);
                out.extend_from_slice(rest);
                out.extend_from_slice(payload);
            }
            Transport::Other { payload, .. } => out.extend_from_slice(payload),
        }
        out
    }

    /// Serializes the frame, checksums included (computed by etherparse).
    fn build(&self) -> Built {
        let mut frame = Vec::new();
        frame.extend_from_slice(&self.destination);
        frame.extend_from_slice(&self.source);
        for (tpid, tci) in &self.vlans {
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&tci.to_be_bytes());
        }
        let transport = self.transport_bytes();
        let protocol = self.protocol();
        let l3 = frame.len() + 2;
        let mut ext_bounds = Vec::new();
        match &self.net {
            Net::V4 {
                source,
                destination,
                ttl,
                identification,
                dont_fragment,
                fragment,
                options,
            } => {
                frame.extend_from_slice(&ethertype::IPV4.to_be_bytes());
                let ihl = 5 + options.len() / 4;
                let total = (ihl * 4 + transport.len()) as u16;
                frame.push(0x40 | ihl as u8);
                frame.push(0);
                frame.extend_from_slice(&total.to_be_bytes());
                frame.extend_from_slice(&identification.to_be_bytes());
                let flags =
                    u16::from(*dont_fragment) << 14 | u16::from(fragment.0) << 13 | fragment.1;
                frame.extend_from_slice(&flags.to_be_bytes());
                frame.extend_from_slice(&[*ttl, protocol, 0, 0]);
                frame.extend_from_slice(source);
                frame.extend_from_slice(destination);
                frame.extend_from_slice(options);
                let checksum = Ipv4HeaderSlice::from_slice(&frame[l3..])
                    .unwrap()
                    .to_header()
                    .calc_header_checksum();
                frame[l3 + 10..l3 + 12].copy_from_slice(&checksum.to_be_bytes());
            }
            Net::V6 {
                source,
                destination,
                traffic_class,
                flow_label,
                hop_limit,
                exts,
                fragment,
            } => {
                frame.extend_from_slice(&ethertype::IPV6.to_be_bytes());
                let mut chain: Vec<(u8, usize)> = exts
                    .iter()
                    .map(|&(kind, units)| (kind, 8 + 8 * usize::from(units)))
                    .collect();
                if fragment.is_some() {
                    chain.push((44, 8));
                }
                let ext_len: usize = chain.iter().map(|&(_, len)| len).sum();
                let first = u32::from(6u8) << 28 | u32::from(*traffic_class) << 20 | flow_label;
                frame.extend_from_slice(&first.to_be_bytes());
                frame.extend_from_slice(&((ext_len + transport.len()) as u16).to_be_bytes());
                frame.push(chain.first().map_or(protocol, |&(kind, _)| kind));
                frame.push(*hop_limit);
                frame.extend_from_slice(source);
                frame.extend_from_slice(destination);
                for (i, &(kind, len)) in chain.iter().enumerate() {
                    let next = chain.get(i + 1).map_or(protocol, |&(kind, _)| kind);
                    let start = frame.len();
                    ext_bounds.push((start, start + len));
                    if kind == 44 {
                        let (offset, more) = fragment.unwrap_or_default();
                        frame.extend_from_slice(&[next, 0]);
                        frame.extend_from_slice(&(offset << 3 | u16::from(more)).to_be_bytes());
                        frame.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                    } else {
                        frame.extend_from_slice(&[next, (len / 8 - 1) as u8]);
                        // PadN option filling the rest: type 1, length.
                        frame.extend_from_slice(&[1, (len - 4) as u8]);
                        frame.resize(start + len, 0);
                    }
                }
            }
        }
        let l4 = frame.len();
        frame.extend_from_slice(&transport);
        let end = frame.len();
        fill_transport_checksum(&mut frame[l4..end], self);
        frame.extend_from_slice(&self.padding);
        Built {
            frame,
            l3,
            ext_bounds,
            l4,
            end,
        }
    }

    fn addresses_v4(&self) -> Option<([u8; 4], [u8; 4])> {
        match &self.net {
            Net::V4 {
                source,
                destination,
                ..
            } => Some((*source, *destination)),
            Net::V6 { .. } => None,
        }
    }

    fn addresses_v6(&self) -> Option<([u8; 16], [u8; 16])> {
        match &self.net {
            Net::V6 {
                source,
                destination,
                ..
            } => Some((*source, *destination)),
            Net::V4 { .. } => None,
        }
    }
}

/// Writes the transport checksum etherparse computes into `segment`.
fn fill_transport_checksum(segment: &mut [u8], spec: &Spec) {
    let v4 = spec.addresses_v4();
    let v6 = spec.addresses_v6();
    let (at, checksum) = match &spec.transport {
        Transport::Tcp { .. } => {
            let tcp = TcpSlice::from_slice(segment).unwrap();
            let checksum = match (v4, v6) {
                (Some((s, d)), _) => tcp.calc_checksum_ipv4(s, d).unwrap(),
                (_, Some((s, d))) => tcp.calc_checksum_ipv6(s, d).unwrap(),
                _ => unreachable!(),
            };
            (16, checksum)
        }
        Transport::Udp { no_checksum, .. } => {
            if *no_checksum && v4.is_some() {
                return;
            }
            let udp = UdpSlice::from_slice(segment).unwrap();
            let header = udp.to_header();
            let checksum = match (v4, v6) {
                (Some((s, d)), _) => header.calc_checksum_ipv4_raw(s, d, udp.payload()).unwrap(),
                (_, Some((s, d))) => header.calc_checksum_ipv6_raw(s, d, udp.payload()).unwrap(),
                _ => unreachable!(),
            };
            (6, checksum)
        }
        Transport::Icmp { .. } => {
            let checksum = match v6 {
                None => {
                    let icmp = Icmpv4Slice::from_slice(segment).unwrap();
                    icmp.icmp_type().calc_checksum(icmp.payload())
                }
                Some((s, d)) => {
                    let icmp = Icmpv6Slice::from_slice(segment).unwrap();
                    icmp.icmp_type()
                        .calc_checksum(s, d, icmp.payload())
                        .unwrap()
                }
            };
            (2, checksum)
        }
        Transport::Other { .. } => return,
    };
    segment[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..8), vec(any::<u8>(), 0..300)]
}

/// Options: a multiple of 4 bytes, at most 40.
fn options() -> impl Strategy<Value = Vec<u8>> {
    (0..=10usize).prop_flat_map(|words| vec(any::<u8>(), words * 4))
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        (
            any::<(u16, u16)>(),
            any::<(u32, u32)>(),
            0..0x200u16,
            any::<u16>(),
            any::<u16>(),
            options(),
            payload()
        )
            .prop_map(
                |(ports, seq_ack, flags, window, urgent, options, payload)| Transport::Tcp {
                    ports,
                    seq_ack,
                    flags,
                    window,
                    urgent,
                    options,
                    payload,
                }
            ),
        (any::<(u16, u16)>(), any::<bool>(), payload()).prop_map(
            |(ports, no_checksum, payload)| Transport::Udp {
                ports,
                no_checksum,
                payload
            }
        ),
        // Echo types (etherparse's header is 8 bytes for them) and others.
        // (etherparse wants ICMP timestamps to be exactly 20 bytes: none here.)
        (
            prop_oneof![Just(0u8), Just(8), Just(128), Just(129), any::<u8>()]
                .prop_filter("timestamp", |k| *k != 13 && *k != 14),
            any::<u8>(),
            any::<[u8; 4]>(),
            payload()
        )
            .prop_map(|(kind, code, rest, payload)| Transport::Icmp {
                kind,
                code,
                rest,
                payload
            }),
        (
            any::<u8>().prop_filter("decoded protocol", |p| !SPECIAL_PROTOCOLS.contains(p)),
            payload()
        )
            .prop_map(|(protocol, payload)| Transport::Other { protocol, payload }),
    ]
}

fn net() -> impl Strategy<Value = Net> {
    let v4 = (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
        prop_oneof![3 => Just((false, 0u16)), 1 => (any::<bool>(), 0..0x2000u16)],
        options(),
    )
        .prop_map(
            |(source, destination, ttl, identification, dont_fragment, fragment, options)| {
                Net::V4 {
                    source,
                    destination,
                    ttl,
                    identification,
                    dont_fragment,
                    fragment,
                    options,
                }
            },
        );
    let ext = prop_oneof![(Just(43u8), 0..4u8), (Just(60u8), 0..4u8)];
    let v6 = (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u8>(),
        0..0x10_0000u32,
        any::<u8>(),
        (proptest::option::of(0..4u8), vec(ext, 0..3)),
        proptest::option::weighted(0.3, (0..0x2000u16, any::<bool>())),
    )
        .prop_map(
            |(source, destination, traffic_class, flow_label, hop_limit, (hop, rest), fragment)| {
                let mut exts: Vec<Ext> = hop.map(|units| (0, units)).into_iter().collect();
                exts.extend(rest);
                Net::V6 {
                    source,
                    destination,
                    traffic_class,
                    flow_label,
                    hop_limit,
                    exts,
                    fragment,
                }
            },
        );
    prop_oneof![v4, v6]
}

fn spec() -> impl Strategy<Value = Spec> {
    let tpid = prop_oneof![Just(ethertype::VLAN), Just(ethertype::QINQ)];
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        vec((tpid, any::<u16>()), 0..=2),
        net(),
        transport(),
        prop_oneof![Just(Vec::new()), vec(any::<u8>(), 1..24)],
    )
        .prop_map(
            |(destination, source, vlans, net, transport, padding)| Spec {
                destination,
                source,
                vlans,
                net,
                transport,
                padding,
            },
        )
}

/// Both parsers agree with each other and with the spec.
fn check_against_etherparse(spec: &Spec, built: &Built) -> Result<(), TestCaseError> {
    let frame = &built.frame;
    let theirs = SlicedPacket::from_ethernet(frame)
        .map_err(|e| TestCaseError::fail(format!("etherparse: {e:?}")))?;
    let eth = EthernetFrame::new(frame).unwrap();

    let Some(LinkSlice::Ethernet2(their_eth)) = &theirs.link else {
        return Err(TestCaseError::fail("etherparse saw no Ethernet header"));
    };
    prop_assert_eq!(eth.destination().0, their_eth.destination());
    prop_assert_eq!(eth.source().0, their_eth.source());
    prop_assert_eq!(eth.destination().0, spec.destination);
    let their_vids: Vec<u16> = theirs
        .link_exts
        .iter()
        .map(|ext| match ext {
            LinkExtSlice::Vlan(vlan) => vlan.vlan_identifier().value(),
            LinkExtSlice::Macsec(_) => u16::MAX,
        })
        .collect();
    prop_assert_eq!(eth.vlan_ids().collect::<Vec<_>>(), their_vids);
    prop_assert_eq!(
        eth.vlan_id(),
        spec.vlans.first().map(|&(_, tci)| tci & 0x0fff)
    );
    let their_ethertype = match theirs.link_exts.last() {
        Some(LinkExtSlice::Vlan(vlan)) => vlan.ether_type(),
        _ => their_eth.ether_type(),
    };
    prop_assert_eq!(eth.ethertype(), u16::from(their_ethertype));
    prop_assert_eq!(eth.header_len(), built.l3);
    prop_assert_eq!(eth.payload(), &frame[built.l3..]);

    let (upper_protocol, upper_payload) = match theirs.net.as_ref() {
        Some(NetSlice::Ipv4(their_ip)) => {
            let ip = Ipv4Packet::new(eth.payload()).unwrap();
            let h = their_ip.header();
            prop_assert_eq!(ip.source(), Ipv4Addr::from(h.source()));
            prop_assert_eq!(ip.destination(), Ipv4Addr::from(h.destination()));
            prop_assert_eq!(ip.version(), h.version());
            prop_assert_eq!(ip.ihl(), h.ihl());
            prop_assert_eq!(ip.total_len(), h.total_len());
            prop_assert_eq!(ip.identification(), h.identification());
            prop_assert_eq!(ip.dont_fragment(), h.dont_fragment());
            prop_assert_eq!(ip.more_fragments(), h.more_fragments());
            prop_assert_eq!(ip.fragment_offset(), h.fragments_offset().value());
            prop_assert_eq!(ip.ttl(), h.ttl());
            prop_assert_eq!(ip.protocol(), h.protocol().0);
            prop_assert_eq!(ip.header_checksum(), h.header_checksum());
            prop_assert_eq!(ip.options(), h.options());
            prop_assert_eq!(ip.payload(), their_ip.payload().payload);
            prop_assert_eq!(ip.protocol(), their_ip.payload().ip_number.0);
            prop_assert_eq!(
                ip.payload(),
                &frame[built.l4..built.end],
                "padding must not show"
            );
            prop_assert!(ip.checksum_ok(), "etherparse's header checksum refused");
            (ip.protocol(), ip.payload())
        }
        Some(NetSlice::Ipv6(their_ip)) => {
            let ip = Ipv6Packet::new(eth.payload()).unwrap();
            let h = their_ip.header();
            prop_assert_eq!(ip.source(), Ipv6Addr::from(h.source()));
            prop_assert_eq!(ip.destination(), Ipv6Addr::from(h.destination()));
            prop_assert_eq!(ip.version(), h.version());
            prop_assert_eq!(ip.traffic_class(), h.traffic_class());
            prop_assert_eq!(ip.flow_label(), h.flow_label().value());
            prop_assert_eq!(ip.payload_len(), h.payload_length());
            prop_assert_eq!(ip.next_header(), h.next_header().0);
            prop_assert_eq!(ip.hop_limit(), h.hop_limit());
            prop_assert_eq!(ip.upper_protocol(), their_ip.payload().ip_number.0);
            if h.payload_length() == 0 && their_ip.payload().len_source == LenSource::Slice {
                // With bytes after the header (padding), etherparse reads a
                // zero Payload Length as "up to the end of the slice" (room for
                // jumbograms); RFC 8200 says the payload is empty.
                prop_assert_eq!(ip.payload(), b"");
            } else {
                prop_assert_eq!(ip.upper_payload(), their_ip.payload().payload);
            }
            prop_assert_eq!(
                ip.extension_headers_len(),
                their_ip.extensions().slice().len()
            );
            prop_assert_eq!(
                ip.is_fragment() || ip.more_fragments(),
                their_ip.payload().fragmented
            );
            prop_assert_eq!(ip.upper_protocol(), spec.protocol());
            prop_assert_eq!(
                ip.upper_payload(),
                &frame[built.l4..built.end],
                "padding must not show"
            );
            (ip.upper_protocol(), ip.upper_payload())
        }
        other => return Err(TestCaseError::fail(format!("etherparse net: {other:?}"))),
    };
    prop_assert_eq!(upper_protocol, spec.protocol());

    match theirs.transport.as_ref() {
        Some(TransportSlice::Tcp(their)) => {
            let tcp = TcpSegment::new(upper_payload).unwrap();
            prop_assert_eq!(tcp.source_port(), their.source_port());
            prop_assert_eq!(tcp.destination_port(), their.destination_port());
            prop_assert_eq!(tcp.sequence(), their.sequence_number());
            prop_assert_eq!(tcp.acknowledgment(), their.acknowledgment_number());
            prop_assert_eq!(tcp.data_offset(), their.data_offset());
            let their_flags = [
                their.fin(),
                their.syn(),
                their.rst(),
                their.psh(),
                their.ack(),
                their.urg(),
            ];
            prop_assert_eq!(
                [
                    tcp.fin(),
                    tcp.syn(),
                    tcp.rst(),
                    tcp.psh(),
                    tcp.ack(),
                    tcp.urg()
                ],
                their_flags
            );
            prop_assert_eq!(
                tcp.flags() >> 6,
                u16::from(their.ece()) | u16::from(their.cwr()) << 1 | u16::from(their.ns()) << 2
            );
            prop_assert_eq!(tcp.window(), their.window_size());
            prop_assert_eq!(tcp.checksum(), their.checksum());
            prop_assert_eq!(tcp.urgent_pointer(), their.urgent_pointer());
            prop_assert_eq!(tcp.options(), their.options());
            prop_assert_eq!(tcp.payload(), their.payload());
            if let Transport::Tcp { ports, payload, .. } = &spec.transport {
                prop_assert_eq!((tcp.source_port(), tcp.destination_port()), *ports);
                prop_assert_eq!(tcp.payload(), &payload[..]);
            }
        }
        Some(TransportSlice::Udp(their)) => {
            let udp = UdpDatagram::new(upper_payload).unwrap();
            prop_assert_eq!(udp.source_port(), their.source_port());
            prop_assert_eq!(udp.destination_port(), their.destination_port());
            prop_assert_eq!(udp.length(), their.length());
            prop_assert_eq!(udp.checksum(), their.checksum());
            prop_assert_eq!(udp.payload(), their.payload());
            if let Transport::Udp { ports, payload, .. } = &spec.transport {
                prop_assert_eq!((udp.source_port(), udp.destination_port()), *ports);
                prop_assert_eq!(udp.payload(), &payload[..]);
            }
        }
        Some(TransportSlice::Icmpv4(their)) => {
            let icmp = IcmpPacket::new(upper_payload).unwrap();
            prop_assert_eq!(icmp.icmp_type(), their.type_u8());
            prop_assert_eq!(icmp.code(), their.code_u8());
            prop_assert_eq!(icmp.checksum(), their.checksum());
            prop_assert_eq!(icmp.rest_of_header(), their.bytes5to8());
            if their.header_len() == 8 {
                prop_assert_eq!(icmp.payload(), their.payload());
            }
        }
        Some(TransportSlice::Icmpv6(their)) => {
            let icmp = Icmpv6Packet::new(upper_payload).unwrap();
            prop_assert_eq!(icmp.icmp_type(), their.type_u8());
            prop_assert_eq!(icmp.code(), their.code_u8());
            prop_assert_eq!(icmp.checksum(), their.checksum());
            prop_assert_eq!(icmp.rest_of_header(), their.bytes5to8());
            prop_assert_eq!(icmp.payload(), their.payload());
            if let Some((s, d)) = spec.addresses_v6() {
                prop_assert_eq!(
                    icmp.checksum_ok(Ipv6Addr::from(s), Ipv6Addr::from(d)),
                    their.is_checksum_valid(s, d)
                );
            }
        }
        Some(other) => {
            return Err(TestCaseError::fail(format!(
                "unexpected transport {other:?}"
            )))
        }
        None => {
            // etherparse stops at fragments and undecoded protocols; so
            // must the spec say.
            let undecoded = matches!(spec.transport, Transport::Other { .. });
            prop_assert!(
                spec.fragmented() || undecoded,
                "etherparse found no transport"
            );
        }
    }
    Ok(())
}

/// Our checksum checks accept etherparse's checksums and refuse a flipped bit.
fn check_checksums(spec: &Spec, built: &Built, flip: usize, bit: u8) -> Result<(), TestCaseError> {
    if spec.fragmented() {
        return Ok(());
    }
    let ok = |frame: &[u8]| -> bool {
        let eth = EthernetFrame::new(frame).unwrap();
        let (pseudo, data) = match eth.ethertype() {
            ethertype::IPV4 => {
                let ip = Ipv4Packet::new(eth.payload()).unwrap();
                if !ip.checksum_ok() {
                    return false;
                }
                (ip.pseudo_header(), ip.payload())
            }
            _ => {
                let ip = Ipv6Packet::new(eth.payload()).unwrap();
                (ip.pseudo_header(), ip.upper_payload())
            }
        };
        match &spec.transport {
            Transport::Tcp { .. } => TcpSegment::new(data).unwrap().checksum_ok(&pseudo),
            Transport::Udp { .. } => UdpDatagram::new(data).unwrap().checksum_ok(&pseudo),
            Transport::Icmp { .. } => match pseudo {
                protocols::checksum::PseudoHeader::V4 { .. } => {
                    IcmpPacket::new(data).unwrap().checksum_ok()
                }
                protocols::checksum::PseudoHeader::V6 {
                    source,
                    destination,
                } => Icmpv6Packet::new(data)
                    .unwrap()
                    .checksum_ok(source, destination),
            },
            Transport::Other { .. } => true,
        }
    };
    prop_assert!(ok(&built.frame), "a correct checksum was refused");

    // Flip one bit in what the transport checksum covers (the segment and,
    // through the pseudo-header, the addresses), or in the IPv4 header
    // fields that do not change the packet's shape.
    let segment = built.l4..built.end;
    // Not the fields that give the segment its shape (TCP data offset, UDP
    // length): changing them changes what is parsed, not just the sum.
    let shape: &[usize] = match spec.transport {
        Transport::Tcp { .. } => &[12],
        Transport::Udp { .. } => &[4, 5],
        _ => &[],
    };
    let mut targets: Vec<usize> = segment
        .clone()
        .filter(|at| !shape.contains(&(at - built.l4)))
        .collect();
    let v4 = matches!(spec.net, Net::V4 { .. });
    if v4 {
        targets.extend(
            (built.l3 + 4..built.l3 + 6)
                .chain(built.l3 + 8..built.l3 + 9)
                .chain(built.l3 + 12..built.l3 + 20),
        );
    } else {
        targets.extend(built.l3 + 8..built.l3 + 40);
    }
    if matches!(spec.transport, Transport::Other { .. }) {
        targets.retain(|t| !segment.contains(t));
        if !v4 {
            return Ok(()); // nothing covered by a checksum
        }
    }
    let at = targets[flip % targets.len()];
    let mut corrupted = built.frame.clone();
    corrupted[at] ^= 1 << (bit % 8);
    // UDP over IPv4 with a checksum turned into 0 is "not computed": fine.
    if let Transport::Udp { .. } = spec.transport {
        let field = built.l4 + 6..built.l4 + 8;
        if v4 && corrupted[field.clone()] == [0, 0]
            || v4 && built.frame[field] == [0, 0] && segment.contains(&at)
        {
            return Ok(());
        }
    }
    prop_assert!(!ok(&corrupted), "a flipped bit at {} went unnoticed", at);
    Ok(())
}

/// Every prefix of every layer is refused with the expected `Truncated`.
fn check_truncations(spec: &Spec, built: &Built) -> Result<(), TestCaseError> {
    let frame = &built.frame;
    let l3 = built.l3;
    for cut in 0..l3 {
        let expected = if cut < 14 {
            ParseError::Truncated {
                layer: Layer::Ethernet,
                needed: 14,
                got: cut,
            }
        } else {
            let needed = 14 + 4 * ((cut - 14) / 4 + 1);
            ParseError::Truncated {
                layer: Layer::Vlan,
                needed,
                got: cut,
            }
        };
        prop_assert_eq!(EthernetFrame::new(&frame[..cut]).unwrap_err(), expected);
    }
    let packet = &frame[l3..built.end];
    let l4 = built.l4 - l3;
    match &spec.net {
        Net::V4 { .. } => {
            for cut in 0..packet.len() {
                let needed = if cut < 20 {
                    20
                } else if cut < l4 {
                    l4
                } else {
                    packet.len()
                };
                prop_assert_eq!(
                    Ipv4Packet::new(&packet[..cut]).unwrap_err(),
                    ParseError::Truncated {
                        layer: Layer::Ipv4,
                        needed,
                        got: cut
                    }
                );
            }
        }
        Net::V6 { .. } => {
            for cut in 0..packet.len() {
                let needed = if cut < 40 { 40 } else { packet.len() };
                prop_assert_eq!(
                    Ipv6Packet::new(&packet[..cut]).unwrap_err(),
                    ParseError::Truncated {
                        layer: Layer::Ipv6,
                        needed,
                        got: cut
                    }
                );
            }
            // A Payload Length that ends inside the extension headers.
            for payload_len in 0..l4 - 40 {
                let mut short = packet[..40 + payload_len].to_vec();
                short[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
                let got = short.len();
                let (start, end) = built
                    .ext_bounds
                    .iter()
                    .map(|&(s, e)| (s - l3, e - l3))
                    .find(|&(_, end)| end > got)
                    .unwrap();
                let needed = if got < start + 8 { start + 8 } else { end };
                prop_assert_eq!(
                    Ipv6Packet::new(&short).unwrap_err(),
                    ParseError::Truncated {
                        layer: Layer::Ipv6,
                        needed,
                        got
                    }
                );
            }
        }
    }
    if spec.fragmented() {
        return Ok(());
    }
    let segment = &frame[built.l4..built.end];
    match &spec.transport {
        Transport::Tcp { options, .. } => {
            let header_len = 20 + options.len();
            for cut in 0..header_len {
                let needed = if cut < 20 { 20 } else { header_len };
                prop_assert_eq!(
                    TcpSegment::new(&segment[..cut]).unwrap_err(),
                    ParseError::Truncated {
                        layer: Layer::Tcp,
                        needed,
                        got: cut
                    }
                );
            }
        }
        Transport::Udp { .. } => {
            for cut in 0..segment.len() {
                let needed = if cut < 8 { 8 } else { segment.len() };
                prop_assert_eq!(
                    UdpDatagram::new(&segment[..cut]).unwrap_err(),
                    ParseError::Truncated {
                        layer: Layer::Udp,
                        needed,
                        got: cut
                    }
                );
            }
        }
        Transport::Icmp { .. } => {
            let layer = if matches!(spec.net, Net::V4 { .. }) {
                Layer::Icmp
            } else {
                Layer::Icmpv6
            };
            for cut in 0..8 {
                let err = match layer {
                    Layer::Icmp => IcmpPacket::new(&segment[..cut]).unwrap_err(),
                    _ => Icmpv6Packet::new(&segment[..cut]).unwrap_err(),
                };
                prop_assert_eq!(
                    err,
                    ParseError::Truncated {
                        layer,
                        needed: 8,
                        got: cut
                    }
                );
            }
        }
        Transport::Other { .. } => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn agrees_with_etherparse(spec in spec()) {
        let built = spec.build();
        check_against_etherparse(&spec, &built)?;
    }

    #[test]
    fn checksums_match_etherparse_and_catch_flipped_bits(spec in spec(), flip in any::<usize>(), bit in any::<u8>()) {
        let built = spec.build();
        check_checksums(&spec, &built, flip, bit)?;
    }

    #[test]
    fn every_prefix_gives_the_expected_truncation(spec in spec()) {
        let built = spec.build();
        check_truncations(&spec, &built)?;
    }
}

/// A fixed packet built by etherparse's `PacketBuilder` (an independent
/// serializer, checksums included): our views read back what it wrote.
#[test]
fn reads_etherparse_packet_builder_output() {
    use etherparse::PacketBuilder;

    let mut tcp = Vec::new();
    PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35])
        .single_vlan(42.try_into().unwrap())
        .ipv4([234, 216, 160, 229], [76, 218, 134, 147], 64)
        .tcp(45, 55710, 1000, 4096)
        .syn()
        .write(&mut tcp, b"hello")
        .unwrap();
    let eth = EthernetFrame::new(&tcp).unwrap();
    assert_eq!(eth.destination().to_string(), "52:0c:c7:1d:ca:35");
    assert_eq!(eth.vlan_id(), Some(42));
    let ip = Ipv4Packet::new(eth.payload()).unwrap();
    assert!(ip.checksum_ok());
    assert_eq!(ip.source().to_string(), "234.216.160.229");
    let seg = TcpSegment::new(ip.payload()).unwrap();
    assert_eq!(
        (seg.source_port(), seg.destination_port(), seg.sequence()),
        (45, 55710, 1000)
    );
    assert!(seg.syn() && !seg.ack());
    assert_eq!(seg.payload(), b"hello");
    assert!(seg.checksum_ok(&ip.pseudo_header()));

    let mut udp = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv6(
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            1,
        )
        .udp(5353, 5353)
        .write(&mut udp, b"mdns?")
        .unwrap();
    let ip = Ipv6Packet::new(EthernetFrame::new(&udp).unwrap().payload()).unwrap();
    let dgram = UdpDatagram::new(ip.upper_payload()).unwrap();
    assert_eq!(dgram.payload(), b"mdns?");
    assert!(dgram.checksum_ok(&ip.pseudo_header()));
    let mut corrupted = udp.clone();
    *corrupted.last_mut().unwrap() ^= 0x10;
    let ip = Ipv6Packet::new(EthernetFrame::new(&corrupted).unwrap().payload()).unwrap();
    assert!(!UdpDatagram::new(ip.upper_payload())
        .unwrap()
        .checksum_ok(&ip.pseudo_header()));

    let mut ping = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .icmpv4_echo_request(0x1c46, 1)
        .write(&mut ping, b"abcdefgh")
        .unwrap();
    let ip = Ipv4Packet::new(EthernetFrame::new(&ping).unwrap().payload()).unwrap();
    let icmp = IcmpPacket::new(ip.payload()).unwrap();
    assert_eq!(
        (
            icmp.icmp_type(),
            icmp.echo_identifier(),
            icmp.echo_sequence()
        ),
        (8, 0x1c46, 1)
    );
    assert!(icmp.checksum_ok());
}

/// The case proptest found: IPv6 with Payload Length 0 followed by Ethernet
/// padding, which etherparse (unlike RFC 8200) reads as payload.
#[test]
fn zero_payload_length_then_padding() {
    let spec = Spec {
        destination: [0; 6],
        source: [0; 6],
        vlans: Vec::new(),
        net: Net::V6 {
            source: [0; 16],
            destination: [0; 16],
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 0,
            exts: Vec::new(),
            fragment: None,
        },
        transport: Transport::Other {
            protocol: 3,
            payload: Vec::new(),
        },
        padding: vec![0],
    };
    let built = spec.build();
    check_against_etherparse(&spec, &built).unwrap();
    check_checksums(&spec, &built, 0, 0).unwrap();
    check_truncations(&spec, &built).unwrap();
}

proptest! {
    /// The other way round: what our `Repr::emit` writers build, etherparse
    /// reads with the same fields, and its own checksum computations give
    /// the checksums we wrote.
    #[test]
    fn etherparse_reads_our_emit_writers(
        ports in any::<(u16, u16)>(),
        seq in any::<u32>(),
        ttl in any::<u8>(),
        id in any::<u16>(),
        payload in vec(any::<u8>(), 0..64),
        v4 in any::<([u8; 4], [u8; 4])>(),
        kind in 0..3u8,
    ) {
        use protocols::ethernet::{EthernetRepr, MacAddr};
        use protocols::icmp::IcmpRepr;
        use protocols::ipv4::Ipv4Repr;
        use protocols::tcp::TcpRepr;
        use protocols::udp::UdpRepr;

        let (source, destination) = (Ipv4Addr::from(v4.0), Ipv4Addr::from(v4.1));
        let protocol = [6u8, 17, 1][usize::from(kind)];
        let ip = Ipv4Repr { ttl, identification: id, ..Ipv4Repr::new(source, destination, protocol) };
        let pseudo = ip.pseudo_header();
        let mut transport = Vec::new();
        match protocol {
            6 => TcpRepr {
                source_port: ports.0,
                destination_port: ports.1,
                sequence: seq,
                acknowledgment: !seq,
                flags: 0x018,
                window: 1000,
                urgent_pointer: 0,
                options: vec![2, 4, 5, 0xb4],
            }
            .emit(&pseudo, &payload, &mut transport),
            17 => UdpRepr { source_port: ports.0, destination_port: ports.1 }
                .emit(&pseudo, &payload, &mut transport),
            _ => IcmpRepr { icmp_type: 8, code: 0, rest: seq.to_be_bytes() }
                .emit(&payload, &mut transport),
        }
        let mut packet = Vec::new();
        ip.emit(&transport, &mut packet);
        let mut frame = Vec::new();
        EthernetRepr {
            destination: MacAddr([2; 6]),
            source: MacAddr([4; 6]),
            vlans: vec![],
            ethertype: ethertype::IPV4,
        }
        .emit(&packet, &mut frame);

        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        let Some(NetSlice::Ipv4(ipv4)) = &sliced.net else { panic!("no IPv4") };
        let header = ipv4.header();
        prop_assert_eq!(header.ttl(), ttl);
        prop_assert_eq!(header.identification(), id);
        prop_assert_eq!(header.header_checksum(), header.to_header().calc_header_checksum());
        let (s, d) = (v4.0, v4.1);
        match sliced.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                prop_assert_eq!((tcp.source_port(), tcp.destination_port()), ports);
                prop_assert_eq!(tcp.sequence_number(), seq);
                prop_assert_eq!(tcp.checksum(), tcp.calc_checksum_ipv4(s, d).unwrap());
                prop_assert_eq!(tcp.payload(), &payload[..]);
            }
            Some(TransportSlice::Udp(udp)) => {
                prop_assert_eq!((udp.source_port(), udp.destination_port()), ports);
                let expected = udp.to_header().calc_checksum_ipv4_raw(s, d, udp.payload()).unwrap();
                prop_assert_eq!(udp.checksum(), expected);
                prop_assert_eq!(udp.payload(), &payload[..]);
            }
            Some(TransportSlice::Icmpv4(icmp)) => {
                prop_assert_eq!(icmp.checksum(), icmp.icmp_type().calc_checksum(icmp.payload()));
                prop_assert_eq!(icmp.payload(), &payload[..]);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }
}
