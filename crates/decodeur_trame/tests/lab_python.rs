//! The default output is the lab's: frames made the way the lab's generator
//! makes its `ex_complet` frames (random addresses, ports, identification,
//! flags and fragment offset, TTL and checksums around a short text) are
//! decoded byte for byte as the sheet's own Python decoder (16.4 to 16.11,
//! `tests/lab/decodeur_trame_ref.py`) decodes them.

mod common;

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use common::build::{self, ethertype, ip_protocol, Ipv4Options};
use common::*;
use e2e::TestRng;
use protocols::checksum::PseudoHeader;

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/lab/decodeur_trame_ref.py"
);

/// Hidden messages as the lab hides them, and a few that test `repr`.
const MESSAGES: [&[u8]; 6] = [
    b"bravo !",
    b"coucou",
    b"le message cach\xc3\xa9",
    b"it's",
    b"\"\\\t\r\n",
    b"",
];

/// One frame as the lab's generator makes it: the layout is valid, every
/// other field random, checksums included.
fn lab_frame(rng: &mut TestRng) -> Vec<u8> {
    let mac = |rng: &mut TestRng| -> [u8; 6] { rng.bytes(6).try_into().unwrap() };
    let (dst, src) = (mac(rng), mac(rng));
    let (a, b) = (
        Ipv4Addr::from(rng.next_u64() as u32),
        Ipv4Addr::from(rng.next_u64() as u32),
    );
    let pseudo = PseudoHeader::V4 {
        source: a,
        destination: b,
    };
    let message = if rng.below(4) == 0 {
        let n = rng.below(40) as usize;
        rng.bytes(n)
    } else {
        MESSAGES[rng.below(MESSAGES.len() as u64) as usize].to_vec()
    };
    let (protocol, mut transport) = match rng.below(3) {
        0 => {
            let mut d = build::udp(
                &pseudo,
                rng.next_u64() as u16,
                rng.next_u64() as u16,
                &message,
            );
            if rng.below(8) == 0 {
                // A Length that says anything.
                d[4..6].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
            }
            d[6..8].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
            (ip_protocol::UDP, d)
        }
        1 => {
            let words = rng.below(4) as usize;
            let options = rng.bytes(4 * words);
            let mut s = build::tcp(
                &pseudo,
                rng.next_u64() as u16,
                rng.next_u64() as u16,
                rng.next_u64() as u32,
                rng.next_u64() as u8,
                &options,
                &message,
            );
            s[16..18].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
            (ip_protocol::TCP, s)
        }
        _ => {
            let rest: [u8; 4] = rng.bytes(4).try_into().unwrap();
            let mut m = build::icmp(rng.next_u64() as u8, rng.next_u64() as u8, rest, &message);
            m[2..4].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
            (ip_protocol::ICMP, m)
        }
    };
    if transport.is_empty() {
        transport.push(0);
    }
    let flags = rng.next_u64() as u16;
    let option_words = rng.below(3) as usize;
    let options = Ipv4Options {
        ttl: rng.next_u64() as u8,
        identification: rng.next_u64() as u16,
        dont_fragment: flags & 0x4000 != 0,
        more_fragments: flags & 0x2000 != 0,
        fragment_offset: flags & 0x1fff,
        options: rng.bytes(4 * option_words),
    };
    let mut ip = build::ipv4_with(&options, a, b, protocol, &transport);
    ip[10..12].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
    if rng.below(8) == 0 {
        ip[2..4].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
    }
    // Padded to 60 bytes as a card sends it: padding is not data.
    build::ethernet(dst, src, &[], ethertype::IPV4, &ip)
}

#[test]
fn default_output_is_the_labs_python_decoder_byte_for_byte() {
    let mut rng = TestRng(0x1605_2023);
    let frames: Vec<Vec<u8>> = (0..400).map(|_| lab_frame(&mut rng)).collect();
    let input: String = frames
        .iter()
        .map(|f| f.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    let python = Command::new("python3")
        .arg(REFERENCE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut python) = python else {
        e2e::skip("SKIP default_output_is_the_labs_python_decoder_byte_for_byte: python3 absent");
        return;
    };
    python
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let expected = python.wait_with_output().unwrap();
    assert!(expected.status.success(), "{}", text(&expected.stderr));
    let expected = text(&expected.stdout);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ex_complet.pcap");
    write_pcap(&path, &frames);
    let ours = run(&["pcap", path.to_str().unwrap()], b"");
    assert!(ours.status.success(), "{}", text(&ours.stderr));
    let ours = text(&ours.stdout);
    assert_eq!(split_frames(&expected).len(), frames.len());
    // Frame by frame first, for a readable failure.
    for (i, (a, b)) in split_frames(&ours)
        .iter()
        .zip(split_frames(&expected))
        .enumerate()
    {
        assert_eq!(a, &b, "frame {} ({})", i + 1, input.lines().nth(i).unwrap());
    }
    assert_eq!(ours, expected);

    // The same frames one by one through `trame`, as a student pastes one.
    for frame in frames.iter().take(20) {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        let one = run(&["trame", &hex], b"");
        assert!(expected.contains(&text(&one.stdout)));
    }
}
