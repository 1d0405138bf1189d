//! `--details`: what tshark shows beyond the lab's lines, in the same
//! layout. Each layer's extra lines come after the lab's lines of that layer
//! (before its `Données` line), at that layer's indentation, so that
//! removing them gives back the default text exactly (a test checks it).
//!
//! - IPv4: Total Length, Identification, flags (`DF`, `MF`), fragment
//!   offset in bytes, TTL, header checksum and its verdict; for a fragment
//!   other than the first, one line saying that its bytes are not a
//!   transport header (tshark shows them as data).
//! - TCP: sequence and acknowledgement numbers, flags by name, window,
//!   checksum and its verdict.
//! - UDP: checksum and verdict. ICMP and ICMPv6: code, checksum and verdict.

use protocols::ipv4::{protocol, Ipv4Packet};
use protocols::tcp::TcpSegment;
use protocols::udp::UdpDatagram;

use crate::text::*;
use crate::walk::Verdict;

/// The IPv4 lines.
pub(crate) fn ipv4(out: &mut Vec<u8>, ip: &Ipv4Packet<'_>, checksum_ok: bool) {
    field_u32(out, label::IP_TOTAL_LEN, ip.total_len().into());
    put(out, label::IP_ID);
    push_hex16(out, ip.identification());
    put(out, " (");
    push_u32(out, ip.identification().into());
    put(out, ")\n");
    put(out, label::IP_FLAGS);
    let flags = [
        (ip.reserved_flag(), "réservé"),
        (ip.dont_fragment(), "DF"),
        (ip.more_fragments(), "MF"),
    ];
    names(out, &flags, "aucun");
    let offset_bytes = u32::from(ip.fragment_offset()) * 8;
    put(out, label::IP_FRAGMENT);
    push_u32(out, offset_bytes);
    put(out, " octets\n");
    field_u32(out, label::IP_TTL, ip.ttl().into());
    checksum(
        out,
        label::IP_CHECKSUM,
        ip.header_checksum(),
        if checksum_ok {
            Verdict::Correct
        } else {
            Verdict::Incorrect
        },
    );
}

/// A fragment other than the first: what follows is no transport header.
pub(crate) fn later_fragment(out: &mut Vec<u8>, offset_bytes: u32, carried: u8) {
    put(out, "        Fragment non initial (décalage ");
    push_u32(out, offset_bytes);
    put(out, " octets) : ces octets ne sont pas un en-tête ");
    put(
        out,
        match carried {
            protocol::TCP => "TCP",
            protocol::UDP => "UDP",
            protocol::ICMP => "ICMP",
            protocol::ICMPV6 => "ICMPv6",
            _ => "de transport",
        },
    );
    out.push(b'\n');
}

/// The TCP lines.
pub(crate) fn tcp(out: &mut Vec<u8>, tcp: &TcpSegment<'_>, verdict: Verdict) {
    field_u32(out, label::TCP_SEQ, tcp.sequence());
    field_u32(out, label::TCP_ACK, tcp.acknowledgment());
    put(out, label::TCP_FLAGS);
    let bits = tcp.flags();
    let flags = TCP_FLAG_NAMES.map(|(bit, name)| (bits & bit != 0, name));
    names_inline(out, &flags, "aucun");
    put(out, " (0x");
    let [hi, lo] = (bits & 0x0fff).to_be_bytes();
    out.extend_from_slice(&[
        HEX[usize::from(hi & 0xf)],
        HEX[usize::from(lo >> 4)],
        HEX[usize::from(lo & 0xf)],
    ]);
    put(out, ")\n");
    field_u32(out, label::TCP_WINDOW, tcp.window().into());
    checksum(out, label::L4_CHECKSUM, tcp.checksum(), verdict);
}

/// TCP flag bits and their names, in the order Wireshark's summary lists
/// them (`SYN ACK`, `FIN PSH ACK`).
const TCP_FLAG_NAMES: [(u16, &str); 9] = [
    (0x001, "FIN"),
    (0x002, "SYN"),
    (0x004, "RST"),
    (0x008, "PSH"),
    (0x010, "ACK"),
    (0x020, "URG"),
    (0x040, "ECE"),
    (0x080, "CWR"),
    (0x100, "AE"),
];

/// The UDP line.
pub(crate) fn udp(out: &mut Vec<u8>, udp: &UdpDatagram<'_>, verdict: Verdict) {
    // Over IPv4, 0 means "no checksum" (RFC 768).
    let verdict = if udp.checksum() == 0 && verdict == Verdict::Correct {
        Verdict::NotVerified("absent")
    } else {
        verdict
    };
    checksum(out, label::L4_CHECKSUM, udp.checksum(), verdict);
}

/// The ICMP (and ICMPv6) lines.
pub(crate) fn icmp(out: &mut Vec<u8>, code: u8, value: u16, verdict: Verdict) {
    field_u32(out, label::ICMP_CODE, code.into());
    checksum(out, label::L4_CHECKSUM, value, verdict);
}

/// `Checksum : 0x1c46 (correct)`.
fn checksum(out: &mut Vec<u8>, label: &str, value: u16, verdict: Verdict) {
    put(out, label);
    push_hex16(out, value);
    match verdict {
        Verdict::Correct => put(out, " (correct)\n"),
        Verdict::Incorrect => put(out, " (incorrect)\n"),
        Verdict::NotVerified(why) => {
            put(out, " (non vérifié : ");
            put(out, why);
            put(out, ")\n");
        }
    }
}

/// The names whose flag is set, separated by spaces, then `\n`.
fn names(out: &mut Vec<u8>, flags: &[(bool, &str)], none: &str) {
    names_inline(out, flags, none);
    out.push(b'\n');
}

fn names_inline(out: &mut Vec<u8>, flags: &[(bool, &str)], none: &str) {
    let mut any = false;
    for &(set, name) in flags {
        if set {
            if any {
                out.push(b' ');
            }
            put(out, name);
            any = true;
        }
    }
    if !any {
        put(out, none);
    }
}
