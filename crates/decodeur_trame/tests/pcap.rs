//! `decodeur_trame pcap`: pcap and pcapng files built with pcap-file, read
//! back by the binary; every frame's block is checked.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::build;
use common::*;
use decodeur_trame::generate::Mix;
use decodeur_trame::sheet::decode_trame;
use decodeur_trame::walk::{write_frame, LinkType};
use pcap_file::DataLink;

fn layout(frame: &[u8], link: LinkType) -> String {
    let mut out = Vec::new();
    write_frame(&mut out, frame, link);
    text(&out)
}

/// Every frame of the file, in order, numbered from 1, with its captured
/// length, its block exactly as the library lays it out, and an empty line.
#[test]
fn every_frame_of_a_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trames.pcap");
    let mut frames = special_frames();
    frames.extend(odd_frames().into_iter().map(|(f, _)| f));
    let mut mix = Mix::new(7);
    frames.extend((0..300).map(|_| mix.next_frame()));
    write_pcap(&path, &frames);

    let out = run(&["pcap", path.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let decoded = split_frames(&stdout);
    assert_eq!(decoded.len(), frames.len());
    for (i, ((header, block), frame)) in decoded.iter().zip(&frames).enumerate() {
        assert_eq!(
            header,
            &format!("=== Trame {} : {} octets ===", i + 1, frame.len())
        );
        assert_eq!(block, &decode_trame(frame), "frame {}", i + 1);
    }

    // What the tests built, seen in the text.
    let first = fields(&decoded[0].1);
    assert_eq!(
        first["Ethernet/Adresse MAC Destination"],
        "52:0c:c7:1d:ca:35"
    );
    assert_eq!(first["IP/Longueur en-tête"], "8");
    assert_eq!(first["IP/Adresse source"], "192.168.1.10");
    assert_eq!(first["UDP/Port destination"], "55710");
    assert_eq!(first["UDP/Données"], "b'coucou'");
    let tagged = fields(&decoded[2].1);
    assert_eq!(tagged["Ethernet/VLAN"], "100,42");
    assert_eq!(
        tagged["TCP/Données"],
        r"b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'"
    );
    let v6 = fields(&decoded[4].1);
    assert_eq!(v6["IPv6/Protocole"], "17");
    assert_eq!(v6["IPv6/Adresse dest."], "fe80::2");
    assert_eq!(fields(&decoded[6].1)["ARP/Opération"], "2 (réponse)");
    for ((_, block), (_, last_line)) in decoded[special_frames().len()..].iter().zip(odd_frames()) {
        assert!(
            block.lines().any(|l| l.starts_with(last_line)),
            "{block}\nmissing {last_line:?}"
        );
    }
}

/// pcapng with several interfaces of different link types, and `--stats`.
#[test]
fn pcapng_with_ethernet_and_linux_cooked_interfaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trames.pcapng");
    let specials = special_frames();
    let mut frames = Vec::new();
    for (i, f) in specials.iter().enumerate() {
        frames.push((0, f.clone()));
        // The same packet as `tcpdump -i any` (SLL) would store it.
        let ethertype = u16::from_be_bytes([f[12], f[13]]);
        if ethertype != 0x8100 {
            frames.push((1, build::linux_sll(4, MAC_B, ethertype, &f[14..])));
        }
        // And as a raw IP packet, for IPv4/IPv6 ones.
        if i == 0 {
            frames.push((2, f[14..].to_vec()));
        }
    }
    write_pcapng(
        &path,
        &[DataLink::ETHERNET, DataLink::LINUX_SLL, DataLink::RAW],
        &frames,
    );

    let out = run(&["pcap", "--stats", path.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let decoded = split_frames(&text(&out.stdout));
    assert_eq!(decoded.len(), frames.len());
    for ((header, block), (interface, frame)) in decoded.iter().zip(&frames) {
        let link = [LinkType::Ethernet, LinkType::LinuxSll, LinkType::RawIp][*interface as usize];
        assert!(header.ends_with(&format!(" : {} octets ===", frame.len())));
        assert_eq!(block, &layout(frame, link));
        // The same network layer whatever the link layer.
        if *interface == 1 {
            assert!(
                block.starts_with(">>> Trame Linux SLL <<<\n    Type de paquet          : 4\n"),
                "{block}"
            );
        }
    }
    let stats = text(&out.stderr);
    let count = |name: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| {
                l.trim().strip_prefix(name).map(|r| {
                    r.trim_start()
                        .trim_start_matches(':')
                        .trim()
                        .parse()
                        .unwrap()
                })
            })
            .unwrap_or_else(|| panic!("no {name} in {stats}"))
    };
    assert_eq!(count("Trames"), frames.len() as u64);
    let sll = frames.iter().filter(|(i, _)| *i == 1).count() as u64;
    assert_eq!(count("Linux SLL"), sll);
    assert_eq!(count("Ethernet"), specials.len() as u64);
    // TCP in specials 2, 3, 8, each also as SLL except the tagged one.
    assert_eq!(count("TCP"), 3 + 2);
    assert_eq!(count("ARP"), 2);
    assert_eq!(count("IP brut"), 1);
}

/// Unknown link types are named, not guessed at.
#[test]
fn unknown_link_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usb.pcap");
    write_pcap_linktype(&path, DataLink::USB_LINUX, &[vec![1, 2, 3]]);
    let out = run(&["pcap", path.to_str().unwrap()], b"");
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "=== Trame 1 : 3 octets ===\nType de lien pcap 189 non décodé\n\n"
    );
}

/// `-` reads the capture from stdin (`tcpdump -w - | decodeur_trame pcap -`).
#[test]
fn capture_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.pcap");
    let frames = special_frames();
    write_pcap(&path, &frames);
    let out = run(&["pcap", "-"], &std::fs::read(&path).unwrap());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(split_frames(&text(&out.stdout)).len(), frames.len());
}

/// A file cut in the middle of a record: the frames before it are printed,
/// then one error line and exit code 1.
#[test]
fn truncated_and_foreign_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcap");
    let frames = special_frames();
    write_pcap(&path, &frames);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let out = run(&["pcap", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(split_frames(&text(&out.stdout)).len(), frames.len() - 1);
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("decodeur_trame: fichier tronqué"), "{err}");

    std::fs::write(&path, b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let out = run(&["pcap", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "decodeur_trame: ce n'est ni un fichier pcap ni un fichier pcapng\n"
    );

    std::fs::write(&path, b"").unwrap();
    let out = run(&["pcap", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "decodeur_trame: fichier vide : aucun en-tête pcap ni pcapng\n"
    );

    let out = run(&["pcap", "/nonexistent/x.pcap"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("decodeur_trame: impossible d'ouvrir /nonexistent/x.pcap"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

/// `decodeur_trame pcap big.pcap | head`: the reader goes away, we stop
/// quietly with exit code 0.
#[test]
fn closed_stdout_is_a_quiet_success() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pcap");
    let status = Command::new(BIN)
        .args(["generer", path.to_str().unwrap(), "--nombre", "30000"])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = Command::new(BIN)
        .args(["pcap", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert!(head.starts_with(b"=== Trame 1 : "));
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// A little-endian pcapng: a section header, `interfaces` interface
/// description blocks (Ethernet), then one 60-byte frame on the last one.
fn pcapng_with_interfaces(interfaces: u32) -> Vec<u8> {
    let word = |v: u32| v.to_le_bytes();
    let mut file = Vec::with_capacity(28 + 20 * interfaces as usize + 92);
    // Section header: type, length, byte-order magic, version 1.0, length -1.
    file.extend_from_slice(&word(0x0A0D_0D0A));
    file.extend_from_slice(&word(28));
    file.extend_from_slice(&word(0x1A2B_3C4D));
    file.extend_from_slice(&[1, 0, 0, 0]);
    file.extend_from_slice(&[0xff; 8]);
    file.extend_from_slice(&word(28));
    // Interface description: type 1, length 20, LINKTYPE_ETHERNET, snaplen 0.
    let idb = [word(1), word(20), [1, 0, 0, 0], word(0), word(20)].concat();
    for _ in 0..interfaces {
        file.extend_from_slice(&idb);
    }
    // Enhanced packet on the last interface.
    let frame = eth(&[], 0x88cc, b"lldp");
    for v in [6, 32 + 60, interfaces.saturating_sub(1), 0, 0, 60, 60] {
        file.extend_from_slice(&word(v));
    }
    file.extend_from_slice(&frame);
    file.extend_from_slice(&word(32 + 60));
    file
}

/// Runs `decodeur_trame pcap` under an address-space limit (`prlimit --as`),
/// on a file or, for `-`, a pipe.
fn run_limited(limit_mib: u64, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new("prlimit")
        .arg(format!("--as={}", limit_mib << 20))
        .arg(BIN)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start prlimit");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut input, &data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A pcapng repeating interface description blocks (1 million) is refused
/// with one line and exit 1, from a file and from a pipe, within 24 MiB of
/// address space (pcap-file's parser kept every block: 43 MB of RSS, and an
/// abort under this limit). Under the cap, many interfaces decode within
/// the same limit.
#[test]
fn hostile_pcapng_interfaces_stay_within_bounded_memory() {
    if !e2e::have_program("prlimit") {
        e2e::skip("SKIP hostile_pcapng_interfaces_stay_within_bounded_memory: prlimit absent (util-linux)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interfaces.pcapng");
    let hostile = pcapng_with_interfaces(1_000_000);
    std::fs::write(&path, &hostile).unwrap();
    let expected = format!(
        "decodeur_trame: fichier refusé après la trame 0 : plus de {} descriptions d'interface dans une section pcapng (fichier corrompu ?)\n",
        decodeur_trame::capture::MAX_INTERFACES
    );
    for (args, stdin) in [
        (vec!["pcap", path.to_str().unwrap()], &[][..]),
        (vec!["pcap", "-"], &hostile[..]),
    ] {
        let out = run_limited(24, &args, stdin);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), expected);
        assert!(out.stdout.is_empty());
    }

    let many = pcapng_with_interfaces(decodeur_trame::capture::MAX_INTERFACES as u32);
    let out = run_limited(24, &["pcap", "-"], &many);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("=== Trame 1 : 60 octets ===\n>>> Trame Ethernet <<<\n"),
        "{}",
        text(&out.stdout)
    );
}
