//! `--schema`: each header drawn as its RFC draws it, 32 bits a row, each
//! field's box holding its name and this frame's value, so that a student
//! sees which bytes are which field (the lab's "Rappels sur les formats des
//! différents protocoles" pages, filled in):
//!
//! ```text
//! IPv4 (RFC 791)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|         Total Length          |
//! |   4   |   5   |     0x00      |              46               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Drawn: Ethernet II (with its 802.1Q tags), IPv4 (RFC 791), TCP (RFC
//! 9293), UDP (RFC 768), ICMP (RFC 792); the transport header is chosen by
//! the protocol number, as in the default text. A value wider than its box
//! shows `*` there and its text below the diagram, keyed by the field's
//! name. Other protocols get one line saying they are not drawn.

use std::fmt::Write as _;

use protocols::ethernet::{ethertype, EthernetFrame};
use protocols::icmp::IcmpPacket;
use protocols::ipv4::{protocol, Ipv4Packet};
use protocols::tcp::TcpSegment;
use protocols::udp::UdpDatagram;

use crate::walk::LinkType;

/// One field: its name, a shorter one for a narrow box, its width in bits
/// and this frame's value as text.
struct Field {
    name: &'static str,
    short: &'static str,
    bits: usize,
    value: String,
}

fn field(name: &'static str, bits: usize, value: impl Into<String>) -> Field {
    Field {
        name,
        short: name,
        bits,
        value: value.into(),
    }
}

fn flag(name: &'static str, short: &'static str, set: bool) -> Field {
    Field {
        name,
        short,
        bits: 1,
        value: u8::from(set).to_string(),
    }
}

/// `0x1234 (4660)`.
fn hex16(v: u16) -> String {
    format!("{v:#06x} ({v})")
}

/// Appends the diagrams of one frame's headers.
pub fn write_frame(out: &mut Vec<u8>, frame: &[u8], link: LinkType) {
    let mut text = String::new();
    draw_frame(&mut text, frame, link);
    out.extend_from_slice(text.as_bytes());
}

fn draw_frame(out: &mut String, frame: &[u8], link: LinkType) {
    if link != LinkType::Ethernet {
        let _ = writeln!(out, "Pas de schéma pour ce type de lien ({link:?})");
        return;
    }
    let eth = match EthernetFrame::new(frame) {
        Ok(eth) => eth,
        Err(e) => {
            let _ = writeln!(out, "{e}");
            return;
        }
    };
    let mut fields = vec![
        field("Destination Address", 48, eth.destination().to_string()),
        field("Source Address", 48, eth.source().to_string()),
    ];
    for vid in eth.vlan_ids() {
        fields.push(field("TPID (802.1Q)", 16, hex16(ethertype::VLAN)));
        fields.push(field("TCI", 16, format!("VID {vid}")));
    }
    fields.push(field("EtherType", 16, hex16(eth.ethertype())));
    draw("Ethernet II", &fields, out);
    if eth.ethertype() != ethertype::IPV4 {
        let _ = writeln!(
            out,
            "\nPas de schéma pour l'EtherType {:#06x}",
            eth.ethertype()
        );
        return;
    }
    out.push('\n');
    let ip = match Ipv4Packet::new_lenient(eth.payload()) {
        Ok(ip) => ip,
        Err(e) => {
            let _ = writeln!(out, "{e}");
            return;
        }
    };
    draw_ipv4(&ip, out);
    out.push('\n');
    let data = ip.payload();
    match ip.protocol() {
        protocol::TCP => match TcpSegment::new(data) {
            Ok(tcp) => draw_tcp(&tcp, out),
            Err(e) => {
                let _ = writeln!(out, "{e}");
            }
        },
        protocol::UDP => match UdpDatagram::new_lenient(data) {
            Ok(udp) => draw_udp(&udp, out),
            Err(e) => {
                let _ = writeln!(out, "{e}");
            }
        },
        protocol::ICMP => match IcmpPacket::new(data) {
            Ok(icmp) => draw_icmp(&icmp, out),
            Err(e) => {
                let _ = writeln!(out, "{e}");
            }
        },
        other => {
            let _ = writeln!(out, "Pas de schéma pour le protocole {other}");
        }
    }
}

fn draw_ipv4(ip: &Ipv4Packet<'_>, out: &mut String) {
    let mut flags = Vec::new();
    for (set, name) in [
        (ip.reserved_flag(), "R"),
        (ip.dont_fragment(), "DF"),
        (ip.more_fragments(), "MF"),
    ] {
        if set {
            flags.push(name);
        }
    }
    let flags = if flags.is_empty() {
        "0".to_string()
    } else {
        flags.join(" ")
    };
    let offset = ip.fragment_offset();
    let mut fields = vec![
        field("Version", 4, ip.version().to_string()),
        field("IHL", 4, ip.ihl().to_string()),
        field("Type of Service", 8, format!("{:#04x}", ip.dscp_ecn())),
        field("Total Length", 16, ip.total_len().to_string()),
        field("Identification", 16, hex16(ip.identification())),
        Field {
            name: "Flags",
            short: "Flg",
            bits: 3,
            value: flags,
        },
        field(
            "Fragment Offset",
            13,
            format!("{offset} ({} octets)", u32::from(offset) * 8),
        ),
        field("Time to Live", 8, ip.ttl().to_string()),
        field("Protocol", 8, ip.protocol().to_string()),
        field(
            "Header Checksum",
            16,
            format!("{:#06x}", ip.header_checksum()),
        ),
        field("Source Address", 32, ip.source().to_string()),
        field("Destination Address", 32, ip.destination().to_string()),
    ];
    if !ip.options().is_empty() {
        fields.push(field("Options", ip.options().len() * 8, hex(ip.options())));
    }
    draw("IPv4 (RFC 791)", &fields, out);
}

fn draw_tcp(tcp: &TcpSegment<'_>, out: &mut String) {
    let bits = tcp.flags();
    let mut fields = vec![
        field("Source Port", 16, tcp.source_port().to_string()),
        field("Destination Port", 16, tcp.destination_port().to_string()),
        field("Sequence Number", 32, tcp.sequence().to_string()),
        field(
            "Acknowledgment Number",
            32,
            tcp.acknowledgment().to_string(),
        ),
        field("DOffset", 4, tcp.data_offset().to_string()),
        field("Rsrvd", 4, ((bits >> 8) & 0xf).to_string()),
    ];
    for (bit, name, short) in [
        (0x80, "CWR", "C"),
        (0x40, "ECE", "E"),
        (0x20, "URG", "U"),
        (0x10, "ACK", "A"),
        (0x08, "PSH", "P"),
        (0x04, "RST", "R"),
        (0x02, "SYN", "S"),
        (0x01, "FIN", "F"),
    ] {
        fields.push(flag(name, short, bits & bit != 0));
    }
    fields.extend([
        field("Window", 16, tcp.window().to_string()),
        field("Checksum", 16, format!("{:#06x}", tcp.checksum())),
        field("Urgent Pointer", 16, tcp.urgent_pointer().to_string()),
    ]);
    if !tcp.options().is_empty() {
        fields.push(field(
            "Options",
            tcp.options().len() * 8,
            hex(tcp.options()),
        ));
    }
    draw("TCP (RFC 9293)", &fields, out);
}

fn draw_udp(udp: &UdpDatagram<'_>, out: &mut String) {
    let fields = [
        field("Source Port", 16, udp.source_port().to_string()),
        field("Destination Port", 16, udp.destination_port().to_string()),
        field("Length", 16, udp.length().to_string()),
        field("Checksum", 16, format!("{:#06x}", udp.checksum())),
    ];
    draw("UDP (RFC 768)", &fields, out);
}

fn draw_icmp(icmp: &IcmpPacket<'_>, out: &mut String) {
    let mut fields = vec![
        field("Type", 8, icmp.icmp_type().to_string()),
        field("Code", 8, icmp.code().to_string()),
        field("Checksum", 16, format!("{:#06x}", icmp.checksum())),
    ];
    // Echo and echo reply (types 8 and 0) name their rest of header.
    if matches!(icmp.icmp_type(), 0 | 8) {
        fields.push(field("Identifier", 16, hex16(icmp.echo_identifier())));
        fields.push(field(
            "Sequence Number",
            16,
            icmp.echo_sequence().to_string(),
        ));
    } else {
        fields.push(field("Rest of Header", 32, hex(&icmp.rest_of_header())));
    }
    draw("ICMP (RFC 792)", &fields, out);
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

const RULER: &str = " 0                   1                   2                   3\n \
                     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1\n";

/// `+-+-...+` under `bits` bits.
fn border(bits: usize, out: &mut String) {
    out.push('+');
    for _ in 0..bits {
        out.push_str("-+");
    }
    out.push('\n');
}

/// `text` centred in `width` characters (the extra space on the right, as
/// the RFCs place it).
fn centred(text: &str, width: usize, out: &mut String) {
    let len = text.chars().count();
    let left = (width - len) / 2;
    out.extend(std::iter::repeat(' ').take(left));
    out.push_str(text);
    out.extend(std::iter::repeat(' ').take(width - len - left));
}

/// One piece of a field in a row: which field, how many bits here, and
/// whether it is the field's first piece (the one holding its value).
struct Piece {
    field: usize,
    bits: usize,
    first: bool,
}

/// Draws `fields` in rows of 32 bits; a field crossing a row boundary is
/// split, its value in its first piece and `(suite)` in the others.
fn draw(title: &str, fields: &[Field], out: &mut String) {
    let mut rows: Vec<Vec<Piece>> = vec![Vec::new()];
    let mut used = 0;
    for (i, f) in fields.iter().enumerate() {
        let mut left = f.bits;
        let mut first = true;
        while left > 0 {
            if used == 32 {
                rows.push(Vec::new());
                used = 0;
            }
            let bits = left.min(32 - used);
            if let Some(row) = rows.last_mut() {
                row.push(Piece {
                    field: i,
                    bits,
                    first,
                });
            }
            used += bits;
            left -= bits;
            first = false;
        }
    }
    let _ = writeln!(out, "{title}");
    out.push_str(RULER);
    border(32, out);
    let mut below: Vec<(&str, &str)> = Vec::new();
    for row in &rows {
        let row_bits: usize = row.iter().map(|p| p.bits).sum();
        let mut names = String::from("|");
        let mut values = String::from("|");
        for piece in row {
            let f = &fields[piece.field];
            let width = 2 * piece.bits - 1;
            let name = [f.name, f.short]
                .into_iter()
                .find(|n| n.chars().count() <= width)
                .unwrap_or("");
            let value = if !piece.first {
                if width >= 7 {
                    "(suite)"
                } else {
                    ""
                }
            } else if f.value.chars().count() <= width {
                f.value.as_str()
            } else {
                below.push((f.name, f.value.as_str()));
                "*"
            };
            centred(name, width, &mut names);
            names.push('|');
            centred(value, width, &mut values);
            values.push('|');
        }
        out.push_str(&names);
        out.push('\n');
        out.push_str(&values);
        out.push('\n');
        border(row_bits, out);
    }
    for (name, value) in below {
        let _ = writeln!(out, "  {name} : {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_across_rows_and_overflow_below() {
        let mut out = String::new();
        draw(
            "T",
            &[
                field("A", 48, "abc"),
                Field {
                    name: "Flags",
                    short: "F",
                    bits: 2,
                    value: "too wide".into(),
                },
                field("Rest", 14, "x"),
            ],
            &mut out,
        );
        let expected = format!(
            "T\n{RULER}{}\n\
             |                               A                               |\n\
             |                              abc                              |\n\
             {}\n\
             |               A               | F |           Rest            |\n\
             |            (suite)            | * |             x             |\n\
             {}\n  Flags : too wide\n",
            "+-".repeat(32) + "+",
            "+-".repeat(32) + "+",
            "+-".repeat(32) + "+",
        );
        assert_eq!(out, expected);
    }
}
