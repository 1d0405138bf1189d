//! `unpack`, `calcsize` and `tuple_repr` against CPython's `struct` module:
//! one `python3` process reads `format<TAB>data` lines (both hex-encoded)
//! and prints `calcsize(format)` and `repr(struct.unpack(format, data))`, or
//! the kind of error; every line must equal ours. Skipped (with a message)
//! where python3 is missing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::thread;

use protocols::unpack::{calcsize, tuple_repr, unpack, UnpackError};

const PYTHON: &str = r#"
import struct, sys

def kind(e):
    m = str(e)
    if isinstance(e, UnicodeError) or "bad char" in m:
        return "bad-char"
    if "repeat count given without format specifier" in m:
        return "count-without-code"
    if "too long" in m:
        return "too-long"
    if "requires a buffer of" in m:
        return "length"
    return "other: " + m

out = sys.stdout
for line in sys.stdin:
    fmt_hex, data_hex = line.rstrip("\n").split("\t")
    fmt = bytes.fromhex(fmt_hex).decode("utf-8")
    data = bytes.fromhex(data_hex)
    try:
        size = str(struct.calcsize(fmt))
    except Exception as e:
        size = "ERR " + kind(e)
    try:
        values = repr(struct.unpack(fmt, data))
    except Exception as e:
        values = "ERR " + kind(e)
    out.write(size + "\t" + values + "\n")
out.flush()
"#;

/// What Python prints for one case, computed with our implementation.
fn ours(format: &str, data: &[u8]) -> String {
    fn kind(e: &UnpackError) -> &'static str {
        match e {
            UnpackError::BadChar { .. } => "bad-char",
            UnpackError::CountWithoutCode { .. } => "count-without-code",
            UnpackError::TooLong { .. } => "too-long",
            UnpackError::LengthMismatch { .. } => "length",
        }
    }
    let size = match calcsize(format) {
        Ok(size) => size.to_string(),
        Err(e) => format!("ERR {}", kind(&e)),
    };
    let values = match unpack(format, data) {
        Ok(values) => tuple_repr(&values),
        Err(e) => format!("ERR {}", kind(&e)),
    };
    format!("{size}\t{values}")
}

use test_support::TestRng as Rng;

/// Random bytes favouring 0x00, 0xff and 0x80, so that signs and booleans
/// are exercised.
fn biased_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| match rng.below(4) {
            0 => [0x00, 0xff, 0x80, 0x7f, 0x01, 0x02][rng.below(6) as usize],
            _ => rng.next_u64() as u8,
        })
        .collect()
}

fn cases() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        (
            "!HH5sLBL".into(),
            b"\x00\x01\x00\x02trois\x00\x00\x00\x04\x05\x00\x00\x00\x06".to_vec(),
        ),
        ("!BLB2s".into(), b"\x04\x00\x00\x00\n\x10hi".to_vec()),
        ("!BLB2s".into(), b"\x04\x00\x00\x00\n\x10h".to_vec()),
        ("".into(), vec![]),
        ("!".into(), vec![]),
        ("B".into(), vec![237]),
        ("! H".into(), vec![1, 2]),
        (" !H".into(), vec![1, 2]),
        ("\x0bH\t".into(), vec![1, 2]),
        ("2 H".into(), vec![1, 2]),
        ("H!".into(), vec![1, 2]),
        ("!H12".into(), vec![1, 2]),
        ("!é".into(), vec![]),
        ("!99999999999999999999H".into(), vec![]),
        ("!10000000000000000000x".into(), vec![]),
        ("!9999999999Q".into(), vec![]),
        ("0s0x0H".into(), vec![]),
        ("@bhbiblbqc".into(), vec![0xfe; 41]),
        ("=bhbiblbqc".into(), vec![0xfe; 24]),
        ("<?????".into(), vec![0, 1, 2, 0x80, 0xff]),
        ("@?".into(), vec![3]),
        ("!c3s".into(), b"'\"\\\xff".to_vec()),
        ("<qQ".into(), vec![0xff; 16]),
        (
            ">qQ".into(),
            [vec![0x80], vec![0; 7], vec![0x80], vec![0; 7]].concat(),
        ),
    ];
    let codes = b"xcbB?hHiIlLqQs";
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..3000 {
        let mut format = String::new();
        match rng.below(7) {
            0 => {}
            n => format.push(['@', '=', '<', '>', '!', '!'][n as usize - 1]),
        }
        for _ in 0..rng.below(7) {
            match rng.below(20) {
                0 => format.push(' '),
                1 => format.push(['z', 'a', 'u', '!', '<', 'é'][rng.below(6) as usize]),
                2 => format.push_str(&rng.below(4).to_string()),
                3..=6 => {
                    format.push_str(&rng.below(12).to_string());
                    format.push(codes[rng.below(codes.len() as u64) as usize] as char);
                }
                _ => format.push(codes[rng.below(codes.len() as u64) as usize] as char),
            }
        }
        let len = match calcsize(&format) {
            Ok(size) if size < 4096 => match rng.below(8) {
                0 => size + 1,
                1 => size.saturating_sub(1),
                _ => size,
            },
            _ => rng.below(8) as usize,
        };
        let data = biased_bytes(&mut rng, len);
        cases.push((format, data));
    }
    cases
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn unpack_matches_python_struct() {
    let child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        test_support::skip("SKIP unpack_matches_python_struct: python3 not found");
        return;
    };
    let cases = cases();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = cases
        .iter()
        .map(|(format, data)| format!("{}\t{}\n", hex(format.as_bytes()), hex(data)))
        .collect();
    // Write from another thread so a full pipe cannot deadlock us.
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut checked = 0;
    for ((format, data), line) in cases.iter().zip(stdout.lines()) {
        let theirs = line.unwrap();
        assert_eq!(
            ours(format, data),
            theirs,
            "format {format:?}, data {data:02x?}"
        );
        assert!(
            !theirs.contains("other:"),
            "unexpected Python error: {theirs}"
        );
        checked += 1;
    }
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(checked, cases.len(), "python3 stopped early");
    // The generator must reach both successes and each kind of error.
    let outcomes: Vec<String> = cases.iter().map(|(f, d)| ours(f, d)).collect();
    for needle in [
        "\t(",
        "ERR bad-char",
        "ERR length",
        "ERR count-without-code",
        "ERR too-long",
    ] {
        assert!(
            outcomes.iter().any(|o| o.contains(needle)),
            "no case gave {needle}"
        );
    }
}
