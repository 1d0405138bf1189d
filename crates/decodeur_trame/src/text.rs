//! The small writers every text of the decoder uses: labels padded to
//! their layer's width, decimal and hex numbers, addresses, Python's
//! `repr(bytes)`. No `format!`, no allocation beyond the output's growth:
//! the binary lays out millions of frames in one buffer.

use std::net::{Ipv4Addr, Ipv6Addr};

use protocols::ethernet::MacAddr;
use protocols::pyrepr::write_bytes_repr_vec;

/// Every line prefix, padded to its layer's width. `labels_are_aligned`
/// (tests) checks the widths in characters.
pub(crate) mod label {
    pub const ETHERNET: &str = ">>> Trame Ethernet <<<\n";
    pub const SLL: &str = ">>> Trame Linux SLL <<<\n";
    pub const SLL2: &str = ">>> Trame Linux SLL2 <<<\n";
    pub const RAW_IP: &str = ">>> Paquet IP brut <<<\n";

    // Link layer: 4 spaces, width 23.
    pub const MAC_DST: &str = "    Adresse MAC Destination : ";
    pub const MAC_SRC: &str = "    Adresse MAC Source      : ";
    pub const VLAN: &str = "    VLAN                    : ";
    pub const PROTOCOL: &str = "    Protocol                : ";
    pub const PACKET_TYPE: &str = "    Type de paquet          : ";
    pub const INTERFACE: &str = "    Interface               : ";
    pub const LINK_DATA: &str = "    Données                 : ";

    // Network layer: title at 4 spaces, fields at 8, width 16.
    pub const IPV4: &str = "    --- Paquet IP ---\n";
    pub const IPV6: &str = "    --- Paquet IPv6 ---\n";
    pub const ARP: &str = "    --- Paquet ARP ---\n";
    pub const IP_VERSION: &str = "        Version          : ";
    pub const IP_IHL: &str = "        Longueur en-tête : ";
    pub const IP_PROTOCOL: &str = "        Protocole        : ";
    pub const IP_SRC: &str = "        Adresse source   : ";
    pub const IP_DST: &str = "        Adresse dest.    : ";
    pub const IP_CHECKSUM: &str = "        Checksum         : ";
    pub const IP_DATA: &str = "        Données          : ";
    pub const ARP_OPERATION: &str = "        Opération        : ";
    pub const ARP_SENDER_MAC: &str = "        MAC source       : ";
    pub const ARP_SENDER_IP: &str = "        IP source        : ";
    pub const ARP_TARGET_MAC: &str = "        MAC cible        : ";
    pub const ARP_TARGET_IP: &str = "        IP cible         : ";

    // `--details`, network layer.
    pub const IP_TOTAL_LEN: &str = "        Longueur totale  : ";
    pub const IP_ID: &str = "        Identification   : ";
    pub const IP_FLAGS: &str = "        Drapeaux         : ";
    pub const IP_FRAGMENT: &str = "        Décalage         : ";
    pub const IP_TTL: &str = "        TTL              : ";

    // Transport layer: title at 8 spaces, fields at 12, width 16.
    pub const UDP: &str = "        +++ Paquet UDP +++\n";
    pub const TCP: &str = "        +++ Paquet TCP +++\n";
    pub const ICMP: &str = "        +++ Paquet ICMP +++\n";
    pub const ICMPV6: &str = "        +++ Paquet ICMPv6 +++\n";
    pub const SRC_PORT: &str = "            Port source      : ";
    pub const DST_PORT: &str = "            Port destination : ";
    pub const UDP_LENGTH: &str = "            Longueur totale  : ";
    pub const TCP_OFFSET: &str = "            Longueur en-tête : ";
    pub const ICMP_TYPE: &str = "            Type             : ";
    pub const L4_CHECKSUM: &str = "            Checksum         : ";
    // `--details`, transport layer.
    pub const TCP_SEQ: &str = "            Séquence         : ";
    pub const TCP_ACK: &str = "            Acquittement     : ";
    pub const TCP_FLAGS: &str = "            Drapeaux         : ";
    pub const TCP_WINDOW: &str = "            Fenêtre          : ";
    pub const ICMP_CODE: &str = "            Code             : ";
    pub const L4_DATA: &str = "            Données          : ";

    /// Indentation of each depth: link title, link fields / network title,
    /// network fields / transport title, transport fields.
    pub const INDENT: [&str; 4] = ["", "    ", "        ", "            "];
}

// ---------------------------------------------------------------------------
// Small writers: no `format!`, no allocation beyond the output's growth.
// ---------------------------------------------------------------------------

/// Appends text (labels, separators) to the output.
#[inline(always)]
pub(crate) fn put(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

/// Appends the decimal digits of `n`, without the formatting machinery.
#[inline]
pub(crate) fn push_u32(out: &mut Vec<u8>, n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = n;
    // At most 10 digits for a u32: `at` never goes below 0.
    while let Some(slot) = at.checked_sub(1).and_then(|i| digits.get_mut(i)) {
        *slot = b'0' + (n % 10) as u8;
        at -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `0x` and four lowercase hex digits.
pub(crate) fn push_hex16(out: &mut Vec<u8>, n: u16) {
    let [hi, lo] = n.to_be_bytes();
    out.extend_from_slice(&[
        b'0',
        b'x',
        HEX[usize::from(hi >> 4)],
        HEX[usize::from(hi & 0xf)],
        HEX[usize::from(lo >> 4)],
        HEX[usize::from(lo & 0xf)],
    ]);
}

pub(crate) fn push_ipv4(out: &mut Vec<u8>, addr: Ipv4Addr) {
    let [a, b, c, d] = addr.octets();
    push_u32(out, a.into());
    out.push(b'.');
    push_u32(out, b.into());
    out.push(b'.');
    push_u32(out, c.into());
    out.push(b'.');
    push_u32(out, d.into());
}

/// RFC 5952 text, as Python's `ipaddress`, tshark and Rust's `Display`
/// write it (a test compares with `Display` on random addresses): lowercase
/// hex groups without leading zeros, the longest run of two or more zero
/// groups (the first one on a tie) as `::`, and `::ffff:a.b.c.d` for an
/// IPv4-mapped address.
pub(crate) fn push_ipv6(out: &mut Vec<u8>, addr: Ipv6Addr) {
    if let Some(v4) = addr.to_ipv4_mapped() {
        put(out, "::ffff:");
        return push_ipv4(out, v4);
    }
    let groups = addr.segments();
    // The longest run of zero groups.
    let (mut best_start, mut best_len, mut start, mut len) = (0, 0, 0, 0);
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            if len == 0 {
                start = i;
            }
            len += 1;
            if len > best_len {
                (best_start, best_len) = (start, len);
            }
        } else {
            len = 0;
        }
    }
    let push_groups = |out: &mut Vec<u8>, groups: &[u16]| {
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                out.push(b':');
            }
            push_hex_group(out, g);
        }
    };
    if best_len > 1 {
        push_groups(out, groups.get(..best_start).unwrap_or_default());
        put(out, "::");
        push_groups(out, groups.get(best_start + best_len..).unwrap_or_default());
    } else {
        push_groups(out, &groups);
    }
}

/// A 16-bit group in lowercase hex, without leading zeros.
pub(crate) fn push_hex_group(out: &mut Vec<u8>, g: u16) {
    let digits = [
        HEX[usize::from(g >> 12)],
        HEX[usize::from((g >> 8) & 0xf)],
        HEX[usize::from((g >> 4) & 0xf)],
        HEX[usize::from(g & 0xf)],
    ];
    let skip = match g {
        0..=0xf => 3,
        0x10..=0xff => 2,
        0x100..=0xfff => 1,
        _ => 0,
    };
    out.extend_from_slice(digits.get(skip..).unwrap_or_default());
}

pub(crate) fn push_mac(out: &mut Vec<u8>, mac: MacAddr) {
    out.extend_from_slice(&mac.to_ascii());
}

/// `label` + decimal value + `\n`.
#[inline]
pub(crate) fn field_u32(out: &mut Vec<u8>, label: &str, value: u32) {
    put(out, label);
    push_u32(out, value);
    out.push(b'\n');
}

/// The `Données` line: `label` + Python `repr(bytes)` + `\n`.
pub(crate) fn data_line(out: &mut Vec<u8>, label: &str, data: &[u8]) {
    put(out, label);
    write_bytes_repr_vec(out, data);
    out.push(b'\n');
}
