//! Differential test against tshark: on a capture mixing every protocol we
//! decode, tshark's `-T fields` values must equal ours for every frame.
//! Skipped (with a clear message) when tshark is not installed.

mod common;

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::process::Command;

use common::*;
use decodeur_trame::generate::Mix;
use protocols::pyrepr::parse_bytes_literal;

const FIELDS: &[&str] = &[
    "frame.number",
    "frame.cap_len",
    "eth.dst",
    "eth.src",
    "vlan.id",
    "vlan.etype",
    "eth.type",
    "ip.hdr_len",
    "ip.proto",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.hdr_len",
    "tcp.payload",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.payload",
    "icmp.type",
    "icmpv6.type",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
];

fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Our `Données` repr as tshark's hex (empty for no data).
fn data_hex(ours: &HashMap<String, String>, key: &str) -> String {
    ours.get(key)
        .map(|repr| hex(&parse_bytes_literal(repr).expect("our data is a Python literal")))
        .unwrap_or_default()
}

#[test]
fn fields_equal_tsharks_on_every_frame() {
    if !have_tshark() {
        e2e::skip(
            "SKIP fields_equal_tsharks_on_every_frame: tshark absent (apt-get install tshark)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.pcap");
    let mut frames = special_frames();
    let mut mix = Mix::new(2024);
    frames.extend((0..400).map(|_| mix.next_frame()));
    write_pcap(&path, &frames);

    let mut cmd = Command::new("tshark");
    cmd.args([
        "-r",
        path.to_str().unwrap(),
        "-n",
        // A first fragment alone: dissect its transport header, as we do,
        // rather than wait for the fragments that would reassemble it.
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "ipv6.defragment:FALSE",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let tshark = cmd.output().expect("run tshark");
    assert!(tshark.status.success(), "{}", text(&tshark.stderr));
    let tshark = text(&tshark.stdout);
    let rows: Vec<HashMap<&str, &str>> = tshark
        .lines()
        .map(|line| FIELDS.iter().copied().zip(line.split('\t')).collect())
        .collect();

    let out = run(&["pcap", path.to_str().unwrap()], b"");
    assert!(out.status.success());
    let ours = split_frames(&text(&out.stdout));
    assert_eq!(rows.len(), frames.len());
    assert_eq!(ours.len(), frames.len());

    let mut checked = HashMap::<&str, usize>::new();
    for (n, (row, (header, block))) in rows.iter().zip(&ours).enumerate() {
        let f = fields(block);
        let ctx = format!("frame {}:\n{block}\ntshark: {row:?}", n + 1);
        let t = |name: &str| row.get(name).copied().unwrap_or("");
        let mut eq = |name: &'static str, theirs: String, ours: String| {
            assert_eq!(theirs, ours, "{name} differs, {ctx}");
            *checked.entry(name).or_default() += 1;
        };
        eq(
            "frame.number",
            t("frame.number").into(),
            (n + 1).to_string(),
        );
        eq(
            "frame.cap_len",
            format!("=== Trame {} : {} octets ===", n + 1, t("frame.cap_len")),
            header.clone(),
        );
        eq(
            "eth.dst",
            t("eth.dst").into(),
            f["Ethernet/Adresse MAC Destination"].clone(),
        );
        eq(
            "eth.src",
            t("eth.src").into(),
            f["Ethernet/Adresse MAC Source"].clone(),
        );
        eq(
            "vlan.id",
            t("vlan.id").into(),
            f.get("Ethernet/VLAN").cloned().unwrap_or_default(),
        );
        // Our Protocol is the EtherType after the tags: tshark's last vlan.etype.
        let ethertype = t("vlan.etype")
            .rsplit(',')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(t("eth.type"));
        let ethertype = u16::from_str_radix(ethertype.trim_start_matches("0x"), 16).unwrap();
        eq(
            "ethertype",
            ethertype.to_string(),
            f["Ethernet/Protocol"].clone(),
        );

        if !t("ip.src").is_empty() {
            eq("ip.src", t("ip.src").into(), f["IP/Adresse source"].clone());
            eq("ip.dst", t("ip.dst").into(), f["IP/Adresse dest."].clone());
            eq("ip.proto", t("ip.proto").into(), f["IP/Protocole"].clone());
            let ihl: u32 = f["IP/Longueur en-tête"].parse().unwrap();
            eq("ip.hdr_len", t("ip.hdr_len").into(), (ihl * 4).to_string());
        }
        if !t("ipv6.src").is_empty() {
            let addr = |s: &str| s.parse::<Ipv6Addr>().unwrap();
            eq(
                "ipv6.src",
                addr(t("ipv6.src")).to_string(),
                addr(&f["IPv6/Adresse source"]).to_string(),
            );
            eq(
                "ipv6.dst",
                addr(t("ipv6.dst")).to_string(),
                addr(&f["IPv6/Adresse dest."]).to_string(),
            );
            // Our Protocole is the upper protocol, after extension headers.
            let upper = if !t("tcp.srcport").is_empty() {
                "6"
            } else if !t("udp.srcport").is_empty() {
                "17"
            } else if !t("icmpv6.type").is_empty() {
                "58"
            } else {
                "?"
            };
            eq(
                "ipv6 upper protocol",
                upper.into(),
                f["IPv6/Protocole"].clone(),
            );
        }
        if !t("tcp.srcport").is_empty() {
            eq(
                "tcp.srcport",
                t("tcp.srcport").into(),
                f["TCP/Port source"].clone(),
            );
            eq(
                "tcp.dstport",
                t("tcp.dstport").into(),
                f["TCP/Port destination"].clone(),
            );
            let offset: u32 = f["TCP/Longueur en-tête"].parse().unwrap();
            eq(
                "tcp.hdr_len",
                t("tcp.hdr_len").into(),
                (offset * 4).to_string(),
            );
            eq(
                "tcp.payload",
                t("tcp.payload").replace(':', ""),
                data_hex(&f, "TCP/Données"),
            );
        }
        if !t("udp.srcport").is_empty() {
            eq(
                "udp.srcport",
                t("udp.srcport").into(),
                f["UDP/Port source"].clone(),
            );
            eq(
                "udp.dstport",
                t("udp.dstport").into(),
                f["UDP/Port destination"].clone(),
            );
            eq(
                "udp.length",
                t("udp.length").into(),
                f["UDP/Longueur totale"].clone(),
            );
            eq(
                "udp.payload",
                t("udp.payload").replace(':', ""),
                data_hex(&f, "UDP/Données"),
            );
        }
        if !t("icmp.type").is_empty() {
            eq("icmp.type", t("icmp.type").into(), f["ICMP/Type"].clone());
        }
        if !t("icmpv6.type").is_empty() {
            eq(
                "icmpv6.type",
                t("icmpv6.type").into(),
                f["ICMPv6/Type"].clone(),
            );
        }
        if !t("arp.opcode").is_empty() {
            let op = f["ARP/Opération"].split(' ').next().unwrap().to_string();
            eq("arp.opcode", t("arp.opcode").into(), op);
            eq(
                "arp.src.hw_mac",
                t("arp.src.hw_mac").into(),
                f["ARP/MAC source"].clone(),
            );
            eq(
                "arp.src.proto_ipv4",
                t("arp.src.proto_ipv4").into(),
                f["ARP/IP source"].clone(),
            );
            eq(
                "arp.dst.hw_mac",
                t("arp.dst.hw_mac").into(),
                f["ARP/MAC cible"].clone(),
            );
            eq(
                "arp.dst.proto_ipv4",
                t("arp.dst.proto_ipv4").into(),
                f["ARP/IP cible"].clone(),
            );
        }
    }
    // Both first fragments (special frames 9 and 10) had their UDP header
    // compared: Length 3008, beyond the fragment.
    let first_fragments = rows
        .iter()
        .filter(|row| row.get("udp.length") == Some(&"3008"))
        .count();
    assert_eq!(
        first_fragments, 2,
        "tshark did not dissect the first fragments"
    );
    // The capture exercised every comparison, many times.
    for name in [
        "ip.src",
        "ipv6.src",
        "tcp.payload",
        "udp.payload",
        "icmp.type",
        "icmpv6.type",
        "arp.opcode",
        "vlan.id",
    ] {
        assert!(
            checked.get(name).copied().unwrap_or(0) >= 5,
            "{name} checked only {:?} times",
            checked.get(name)
        );
    }
}
