//! Differential test against tshark: on a capture mixing every protocol we
//! decode, tshark's `-T fields` values must equal ours for every frame.
//! Skipped (with a clear message) when tshark is not installed.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv6Addr;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

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
    // --details
    "ip.len",
    "ip.id",
    "ip.flags.rb",
    "ip.flags.df",
    "ip.flags.mf",
    "ip.frag_offset",
    "ip.ttl",
    "ip.checksum",
    "ip.checksum.status",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.checksum",
    "tcp.checksum.status",
    "udp.checksum",
    "udp.checksum.status",
    "icmp.code",
    "icmp.checksum",
    "icmp.checksum.status",
    "icmpv6.code",
    "icmpv6.checksum",
    "icmpv6.checksum.status",
];

/// Our checksum line (`0x1c46 (correct)`) as tshark's value and status
/// (1 good, 0 bad, 2 not verified, 3 absent).
fn checksum_fields(line: &str) -> (String, String) {
    let (value, verdict) = line.split_once(' ').expect("value and verdict");
    let status = match verdict {
        "(correct)" => "1",
        "(incorrect)" => "0",
        "(non vérifié : absent)" => "3",
        _ => "2",
    };
    (value.to_string(), status.to_string())
}

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
    let (rows, checked) = compare_with_tshark(&path, Some(frames.len()));
    // Both first fragments (special frames 9 and 10) had their UDP header
    // compared: Length 3008, beyond the fragment.
    let first_fragments = rows
        .iter()
        .filter(|row| row.get("udp.length").map(String::as_str) == Some("3008"))
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
        "ip.id",
        "ip.checksum.status",
        "tcp.seq_raw",
        "tcp.flags",
        "tcp.checksum.status",
        "udp.checksum.status",
        "icmp.checksum.status",
        "icmpv6.checksum.status",
    ] {
        assert!(
            checked.get(name).copied().unwrap_or(0) >= 5,
            "{name} checked only {:?} times",
            checked.get(name)
        );
    }
}

/// Runs tshark and `decodeur_trame pcap --details` on the capture at `path`
/// (`count` frames) and compares every field tshark gives; returns tshark's
/// rows and how many times each field was compared.
fn compare_with_tshark(
    path: &std::path::Path,
    count: Option<usize>,
) -> (
    Vec<HashMap<&'static str, String>>,
    HashMap<&'static str, usize>,
) {
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
        // Verify checksums, as --details does.
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
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
    let rows: Vec<HashMap<&str, String>> = tshark
        .lines()
        .map(|line| {
            FIELDS
                .iter()
                .copied()
                .zip(line.split('\t').map(String::from))
                .collect()
        })
        .collect();

    let out = run(&["pcap", "--details", path.to_str().unwrap()], b"");
    assert!(out.status.success());
    let ours = split_frames(&text(&out.stdout));
    let count = count.unwrap_or(rows.len());
    assert_eq!(rows.len(), count);
    assert_eq!(ours.len(), count);

    let mut checked = HashMap::<&str, usize>::new();
    for (n, (row, (header, block))) in rows.iter().zip(&ours).enumerate() {
        let f = fields(block);
        let ctx = format!("frame {}:\n{block}\ntshark: {row:?}", n + 1);
        let t = |name: &str| row.get(name).map_or("", String::as_str);
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
        // --details
        if !t("ip.src").is_empty() {
            eq(
                "ip.len",
                t("ip.len").into(),
                f["IP/Longueur totale"].clone(),
            );
            let id = f["IP/Identification"]
                .split(' ')
                .next()
                .unwrap()
                .to_string();
            eq("ip.id", t("ip.id").into(), id);
            let flags = &f["IP/Drapeaux"];
            for (field, name) in [
                ("ip.flags.rb", "réservé"),
                ("ip.flags.df", "DF"),
                ("ip.flags.mf", "MF"),
            ] {
                let set = flags.split(' ').any(|n| n == name);
                eq(field, t(field).into(), u8::from(set).to_string());
            }
            eq(
                "ip.frag_offset",
                format!("{} octets", t("ip.frag_offset")),
                f["IP/Décalage"].clone(),
            );
            eq("ip.ttl", t("ip.ttl").into(), f["IP/TTL"].clone());
            let (value, status) = checksum_fields(&f["IP/Checksum"]);
            eq("ip.checksum", t("ip.checksum").into(), value);
            eq("ip.checksum.status", t("ip.checksum.status").into(), status);
        }
        if !t("tcp.srcport").is_empty() {
            eq(
                "tcp.seq_raw",
                t("tcp.seq_raw").into(),
                f["TCP/Séquence"].clone(),
            );
            eq(
                "tcp.ack_raw",
                t("tcp.ack_raw").into(),
                f["TCP/Acquittement"].clone(),
            );
            let flags = &f["TCP/Drapeaux"];
            let hex = flags.rsplit("(0x").next().unwrap().trim_end_matches(')');
            eq("tcp.flags", t("tcp.flags").into(), format!("0x{hex:0>4}"));
            eq(
                "tcp.window_size_value",
                t("tcp.window_size_value").into(),
                f["TCP/Fenêtre"].clone(),
            );
            let (value, status) = checksum_fields(&f["TCP/Checksum"]);
            eq("tcp.checksum", t("tcp.checksum").into(), value);
            eq(
                "tcp.checksum.status",
                t("tcp.checksum.status").into(),
                status,
            );
        }
        if !t("udp.srcport").is_empty() {
            let (value, status) = checksum_fields(&f["UDP/Checksum"]);
            eq("udp.checksum", t("udp.checksum").into(), value);
            eq(
                "udp.checksum.status",
                t("udp.checksum.status").into(),
                status,
            );
        }
        for (layer, prefix) in [("ICMP", "icmp"), ("ICMPv6", "icmpv6")] {
            let code = format!("{prefix}.code");
            if !t(&code).is_empty() {
                let name = |n: &str| -> &'static str {
                    FIELDS
                        .iter()
                        .find(|f| **f == format!("{prefix}.{n}"))
                        .unwrap()
                };
                eq(
                    name("code"),
                    t(&code).into(),
                    f[&format!("{layer}/Code")].clone(),
                );
                let (value, status) = checksum_fields(&f[&format!("{layer}/Checksum")]);
                eq(name("checksum"), t(name("checksum")).into(), value);
                eq(
                    name("checksum.status"),
                    t(name("checksum.status")).into(),
                    status,
                );
            }
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
    (rows, checked)
}

/// A real capture: tshark records a TCP exchange (handshake, data both
/// ways, FIN) and UDP datagrams on loopback; both decoders then read the
/// file and agree on every field, `--details` ones included (loopback's
/// partial checksums are "incorrect" for both).
#[test]
fn details_equal_tsharks_on_a_loopback_capture() {
    if !have_tshark() || !e2e::is_root() {
        e2e::skip("SKIP details_equal_tsharks_on_a_loopback_capture: needs tshark and root (capture on lo)");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = listener.local_addr().unwrap().port();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = receiver.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lo.pcap");
    let mut tshark = Command::new("tshark")
        .args(["-i", "lo", "-F", "pcap", "-w"])
        .arg(&path)
        .args(["-f", &format!("tcp port {tcp_port} or udp port {udp_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tshark");
    // "Capture started." once the capture runs.
    let mut stderr = BufReader::new(tshark.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("Capture started") {
        line.clear();
    }
    std::thread::sleep(Duration::from_millis(300));
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 7];
        conn.read_exact(&mut request).unwrap();
        conn.write_all(b"bien recu !").unwrap();
    });
    let mut client = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    client.write_all(b"bonjour").unwrap();
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    server.join().unwrap();
    drop(client);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for message in [&b"coucou"[..], b"bravo !"] {
        sender.send_to(message, ("127.0.0.1", udp_port)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(tshark.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let _ = std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    assert!(tshark.wait().unwrap().success());

    let (rows, checked) = compare_with_tshark(&path, None);
    // Handshake, data, FIN from both sides, and the datagrams.
    let flags: Vec<&str> = rows.iter().map(|r| r["tcp.flags"].as_str()).collect();
    for expected in ["0x0002", "0x0012", "0x0018", "0x0011"] {
        assert!(flags.contains(&expected), "{expected} missing: {flags:?}");
    }
    assert!(checked["udp.checksum.status"] >= 2);
    assert!(checked["tcp.seq_raw"] >= 6);
}
