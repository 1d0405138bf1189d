//! `bytes_repr` against CPython itself: one `python3` process reads hex
//! lines and prints `repr(bytes.fromhex(line))` for each, and every line must
//! equal ours. Skipped (with a message) where python3 is missing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::thread;

use protocols::pyrepr::{bytes_repr, parse_bytes_literal};

const PYTHON: &str = r#"
import sys
out = sys.stdout
for line in sys.stdin:
    out.write(repr(bytes.fromhex(line.strip())) + "\n")
out.flush()
"#;

use test_support::TestRng as Rng;

fn cases() -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        b"'".to_vec(),
        b"\"".to_vec(),
        b"'\"".to_vec(),
        b"\"'".to_vec(),
        b"it's".to_vec(),
        b"say \"hi\"".to_vec(),
        b"both ' and \" here".to_vec(),
        b"\\".to_vec(),
        b"\\'\\\"".to_vec(),
        b"\t\n\r\x0b\x0c\x07\x08\x00\x7f\x80\xff".to_vec(),
        "je suis là !".as_bytes().to_vec(),
        (0..=255u8).collect(),
        (0..=255u8).rev().collect(),
    ];
    // Each byte value alone, and next to each quote.
    for b in 0..=255u8 {
        cases.push(vec![b]);
        cases.push(vec![b'\'', b]);
        cases.push(vec![b, b'"']);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Alphabets that make the quote rule and escapes likely.
    let tricky = b"'\"\\\t\n\rab \x00\x7f\x80\xff";
    for i in 0..6000 {
        let len = rng.below(if i % 10 == 0 { 600 } else { 40 }) as usize;
        let data = (0..len)
            .map(|_| match i % 3 {
                0 => rng.next_u64() as u8,
                1 => tricky[rng.below(tricky.len() as u64) as usize],
                _ => 0x20 + rng.below(0x5f) as u8,
            })
            .collect();
        cases.push(data);
    }
    cases
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn bytes_repr_matches_cpython() {
    let mut child = match Command::new("python3")
        .args(["-c", PYTHON])
        .env("PYTHONIOENCODING", "ascii")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            test_support::skip(&format!(
                "SKIP bytes_repr_matches_cpython: python3 introuvable ({e})"
            ));
            return;
        }
    };
    let cases = cases();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = cases.iter().map(|c| hex(c) + "\n").collect();
    // Feed from a thread: python answers while we write, and both pipes are
    // bounded.
    let feeder = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut checked = 0;
    for (case, line) in cases.iter().zip(reader.lines()) {
        let python = line.unwrap();
        assert_eq!(bytes_repr(case), python, "input {case:?}");
        assert_eq!(parse_bytes_literal(&python).unwrap(), *case);
        checked += 1;
    }
    feeder.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        checked,
        cases.len(),
        "python3 answered fewer lines than asked"
    );
}
