//! `--details`, `--port`, `--protocole` and `--nombre`: what they add to
//! the lab's text and which frames they keep.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use decodeur_trame::generate::Mix;

/// The lines `--details` adds: (indentation, label).
const DETAIL_LINES: [(usize, &str); 12] = [
    (8, "Longueur totale "),
    (8, "Identification "),
    (8, "Drapeaux "),
    (8, "Décalage "),
    (8, "TTL "),
    (8, "Checksum "),
    (8, "Fragment non initial "),
    (12, "Séquence "),
    (12, "Acquittement "),
    (12, "Drapeaux "),
    (12, "Fenêtre "),
    (12, "Checksum "),
];

fn is_detail_line(line: &str) -> bool {
    let indent = line.len() - line.trim_start().len();
    DETAIL_LINES
        .iter()
        .any(|&(i, label)| i == indent && line.trim_start().starts_with(label))
        || (indent == 12 && line.trim_start().starts_with("Code "))
}

fn capture(frames: &[Vec<u8>]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.pcap");
    write_pcap(&path, frames);
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

fn mix(n: usize) -> Vec<Vec<u8>> {
    let mut frames = special_frames();
    frames.extend(odd_frames().into_iter().map(|(f, _)| f));
    let mut mix = Mix::new(7);
    frames.extend((0..n).map(|_| mix.next_frame()));
    frames
}

/// `--details` only adds lines: without them, the default text exactly.
#[test]
fn details_only_add_lines_to_the_labs_text() {
    let frames = mix(300);
    let (_dir, path) = capture(&frames);
    let plain = run(&["pcap", &path], b"");
    let details = run(&["pcap", "--details", &path], b"");
    assert!(plain.status.success() && details.status.success());
    let (plain, details) = (text(&plain.stdout), text(&details.stdout));
    let stripped: String = details
        .lines()
        .filter(|l| !is_detail_line(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(stripped, plain);
    assert!(details.len() > plain.len() + 300 * 60, "few detail lines?");
    for word in [
        "        TTL              : 64\n",
        "(correct)\n",
        "            Drapeaux         : PSH ACK (0x018)\n",
        "            Drapeaux         : SYN (0x002)\n",
        "(non vérifié : datagramme fragmenté)\n",
    ] {
        assert!(details.contains(word), "{word:?} missing");
    }
    // And on `trame`.
    let hex: String = frames[1].iter().map(|b| format!("{b:02x}")).collect();
    let one = text(&run(&["trame", "--details", &hex], b"").stdout);
    assert!(one.contains("            Séquence         : 1\n"), "{one}");
}

/// `--protocole`, `--port` and `--nombre` keep exactly the frames that hold
/// them, numbered as in the capture.
#[test]
fn filters_keep_matching_frames_with_their_numbers() {
    let frames = mix(300);
    let (_dir, path) = capture(&frames);
    let all = split_frames(&text(&run(&["pcap", &path], b"").stdout));
    let holds = |block: &str, title: &str| block.contains(&format!("+++ Paquet {title} +++\n"));
    for (protocole, want) in [
        ("tcp", &(|b: &str| holds(b, "TCP")) as &dyn Fn(&str) -> bool),
        ("udp", &|b: &str| holds(b, "UDP")),
        ("icmp", &|b: &str| holds(b, "ICMP") || holds(b, "ICMPv6")),
        ("arp", &|b: &str| b.contains("--- Paquet ARP ---\n")),
    ] {
        let out = run(&["pcap", "--protocole", protocole, &path], b"");
        assert!(out.status.success());
        let expected: Vec<_> = all.iter().filter(|(_, b)| want(b)).cloned().collect();
        assert!(expected.len() >= 10, "{protocole}: {}", expected.len());
        assert_eq!(split_frames(&text(&out.stdout)), expected, "{protocole}");
    }

    let out = run(&["pcap", "--port", "80", "--protocole", "tcp", &path], b"");
    let kept = split_frames(&text(&out.stdout));
    let expected: Vec<_> = all
        .iter()
        .filter(|(_, b)| {
            let f = fields(b);
            holds(b, "TCP")
                && (f.get("TCP/Port source").map(String::as_str) == Some("80")
                    || f.get("TCP/Port destination").map(String::as_str) == Some("80"))
        })
        .cloned()
        .collect();
    assert!(expected.len() >= 5);
    assert_eq!(kept, expected);

    let out = run(&["pcap", "--nombre", "3", "--protocole", "udp", &path], b"");
    let three = split_frames(&text(&out.stdout));
    let first_udp: Vec<_> = all
        .iter()
        .filter(|(_, b)| holds(b, "UDP"))
        .take(3)
        .cloned()
        .collect();
    assert_eq!(three, first_udp);

    let bad = run(&["pcap", "--protocole", "sctp", &path], b"");
    assert_eq!(bad.status.code(), Some(2));
}

/// TP 04, questions 3.2 and 3.3: `live --interface lo --port P --details`
/// shows a TCP conversation's handshake, data and FIN exchange.
#[test]
fn live_port_filter_shows_a_tcp_handshake() {
    if !e2e::is_root() {
        e2e::skip("SKIP live_port_filter_shows_a_tcp_handshake: needs root or CAP_NET_RAW");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut child = Command::new(BIN)
        .args(["live", "--interface", "lo", "--port", &port, "--details"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut ready = String::new();
    stderr.read_line(&mut ready).unwrap();
    assert!(
        ready.starts_with("decodeur_trame: capture sur lo"),
        "{ready}"
    );
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 7];
        conn.read_exact(&mut request).unwrap();
        conn.write_all(b"bien recu !").unwrap();
    });
    let mut client = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    client.write_all(b"bonjour").unwrap();
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    server.join().unwrap();
    drop(client);

    let mut lines = Vec::new();
    let wanted = [
        "            Drapeaux         : SYN (0x002)",
        "            Drapeaux         : SYN ACK (0x012)",
        "            Données          : b'bonjour'",
        "            Données          : b'bien recu !'",
    ];
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
            lines.push(line);
        }
        let fins = lines
            .iter()
            .filter(|l| l.starts_with("            Drapeaux         : FIN "))
            .count();
        if fins >= 2 && wanted.iter().all(|w| lines.iter().any(|l| l == w)) {
            break;
        }
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let output = lines.join("\n");
    for w in wanted {
        assert!(lines.iter().any(|l| l == w), "{w:?} missing:\n{output}");
    }
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("            Drapeaux         : FIN "))
            .count()
            >= 2,
        "{output}"
    );
    // Only this conversation: every TCP block has our port.
    for block in output.split("=== Trame ").skip(1) {
        let f = fields(block);
        assert!(
            f["TCP/Port source"] == port || f["TCP/Port destination"] == port,
            "{block}"
        );
    }
}

/// `trame --schema` on one frame of each protocol drawn: the whole text.
#[test]
fn schema_draws_each_header_as_its_rfc() {
    let frames = special_frames();
    for (i, frame, expected) in [
        (0, &frames[0], SCHEMA_UDP),
        (1, &frames[1], SCHEMA_TCP),
        (3, &frames[3], SCHEMA_ICMP),
    ] {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        let out = run(&["trame", "--schema", &hex], b"");
        assert!(out.status.success());
        assert_eq!(text(&out.stdout), expected, "frame {i}");
    }
}

const SCHEMA_UDP: &str = r"Ethernet II
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                      Destination Address                      |
|                       52:0c:c7:1d:ca:35                       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|      Destination Address      |        Source Address         |
|            (suite)            |       37:38:1f:55:6b:98       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Source Address                         |
|                            (suite)                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|           EtherType           |
|         0x0800 (2048)         |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

IPv4 (RFC 791)
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|Version|  IHL  |Type of Service|         Total Length          |
|   4   |   8   |     0x00      |              46               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|        Identification         |Flags|     Fragment Offset     |
|         0x1234 (4660)         | DF  |      0 (0 octets)       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
| Time to Live  |   Protocol    |        Header Checksum        |
|      64       |      17       |            0x53d2             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Source Address                         |
|                         192.168.1.10                          |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                      Destination Address                      |
|                           10.0.0.1                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                            Options                            |
|                  0x010101010101010101010101                   |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                            Options                            |
|                            (suite)                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                            Options                            |
|                            (suite)                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

UDP (RFC 768)
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|          Source Port          |       Destination Port        |
|              45               |             55710             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|            Length             |           Checksum            |
|              14               |            0x120b             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
";

const SCHEMA_TCP: &str = r"Ethernet II
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                      Destination Address                      |
|                       52:0c:c7:1d:ca:35                       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|      Destination Address      |        Source Address         |
|            (suite)            |       37:38:1f:55:6b:98       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Source Address                         |
|                            (suite)                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|           EtherType           |
|         0x0800 (2048)         |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

IPv4 (RFC 791)
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|Version|  IHL  |Type of Service|         Total Length          |
|   4   |   5   |     0x00      |              48               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|        Identification         |Flags|     Fragment Offset     |
|         0x1234 (4660)         | DF  |      0 (0 octets)       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
| Time to Live  |   Protocol    |        Header Checksum        |
|      64       |       6       |            0x5ce1             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Source Address                         |
|                         192.168.1.10                          |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                      Destination Address                      |
|                           10.0.0.1                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

TCP (RFC 9293)
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|          Source Port          |       Destination Port        |
|             51000             |              80               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Sequence Number                        |
|                               1                               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                     Acknowledgment Number                     |
|                              31                               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|DOffset| Rsrvd |C|E|U|A|P|R|S|F|            Window             |
|   7   |   0   |0|0|0|0|0|0|1|0|             64240             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|           Checksum            |        Urgent Pointer         |
|            0xf4d2             |               0               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                            Options                            |
|                      0x020405b401010402                       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                            Options                            |
|                            (suite)                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
";

const SCHEMA_ICMP: &str = r"Ethernet II
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                      Destination Address                      |
|                       37:38:1f:55:6b:98                       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|      Destination Address      |        Source Address         |
|            (suite)            |       52:0c:c7:1d:ca:35       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Source Address                         |
|                            (suite)                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|           EtherType           |
|         0x0800 (2048)         |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

IPv4 (RFC 791)
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|Version|  IHL  |Type of Service|         Total Length          |
|   4   |   5   |     0x00      |              37               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|        Identification         |Flags|     Fragment Offset     |
|         0x1234 (4660)         | DF  |      0 (0 octets)       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
| Time to Live  |   Protocol    |        Header Checksum        |
|      64       |       1       |            0x5cf1             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                        Source Address                         |
|                           10.0.0.1                            |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                      Destination Address                      |
|                         192.168.1.10                          |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

ICMP (RFC 792)
 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|     Type      |     Code      |           Checksum            |
|       8       |       0       |            0x119c             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|          Identifier           |        Sequence Number        |
|          0x0001 (1)           |               1               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
";
