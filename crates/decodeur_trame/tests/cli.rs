//! `decodeur_trame exemples` and `decodeur_trame trame`: the lab's answers
//! and one frame given as text, with the exit codes of bad input.

mod common;

use std::process::Command;

use common::*;
use decodeur_trame::sheet::decode_trame;
use protocols::pyrepr::bytes_repr;

#[test]
fn exemples_print_the_answers_as_python_does() {
    let out = run(&["exemples"], b"");
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let answer = |command: &str| -> &str {
        let at = lines
            .iter()
            .position(|l| *l == format!(">>> {command}"))
            .unwrap_or_else(|| panic!("{command} not in {stdout}"));
        lines[at + 1]
    };
    let q16_1 = r#"struct.unpack("!HH5sLBL", b'\x00\x01\x00\x02trois\x00\x00\x00\x04\x05\x00\x00\x00\x06')"#;
    let sheet = r#"struct.unpack("!BLB2s", b'\x04\x00\x00\x00\n\x10hi')"#;
    assert_eq!(answer(q16_1), "(1, 2, b'trois', 4, 5, 6)");
    assert_eq!(answer(sheet), "(4, 10, 16, b'hi')");
    assert_eq!(answer("237 >> 4"), "14");
    assert_eq!(answer("decode_adresse_IP(2475088460)"), "'147.134.218.76'");
    assert_eq!(
        answer(r"decode_adresse_MAC(b'R\x0c\xc7\x1d\xca5')"),
        "'52:0c:c7:1d:ca:35'"
    );

    // The real interpreter, when there is one, agrees line for line.
    let script = format!("import struct\nprint({q16_1})\nprint({sheet})\nprint(237 >> 4)\n");
    match Command::new("python3").args(["-c", &script]).output() {
        Ok(py) if py.status.success() => {
            let py = text(&py.stdout);
            let mut expected = py.lines();
            for command in [q16_1, sheet, "237 >> 4"] {
                assert_eq!(answer(command), expected.next().unwrap());
            }
        }
        _ => e2e::skip("SKIP comparison with python3: python3 absent"),
    }
}

/// The lab's frame as hex (with spaces and colons), as a Python literal in
/// both quote styles, and from stdin: the same text as `decode_trame`.
#[test]
fn trame_accepts_hex_literals_and_stdin() {
    let frame = special_frames().remove(0);
    let expected = decode_trame(&frame);
    assert!(expected.contains("            Données          : b'coucou'\n"));

    let spaced: String = frame.iter().map(|b| format!("{b:02x} ")).collect();
    let colons: String = frame
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let literal = bytes_repr(&frame);
    assert!(literal.starts_with("b'R\\x0c\\xc7"), "{literal}");
    for arg in [spaced.as_str(), colons.as_str(), literal.as_str()] {
        let out = run(&["trame", arg], b"");
        assert!(out.status.success(), "{arg}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), expected, "{arg}");
    }
    let out = run(&["trame", "-"], format!("{spaced}\n").as_bytes());
    assert_eq!(text(&out.stdout), expected);

    // Double quotes, as Python prints data holding a single quote.
    let with_quote = special_frames().remove(3);
    let literal = bytes_repr(&with_quote);
    assert!(literal.starts_with("b\""), "{literal}");
    let out = run(&["trame", &literal], b"");
    assert_eq!(text(&out.stdout), decode_trame(&with_quote));
}

#[test]
fn bad_frames_and_bad_usage() {
    for (arg, message) in [
        (
            "52 0c zz",
            "decodeur_trame: caractère 'z' inattendu à la position 6",
        ),
        (
            "520",
            "decodeur_trame: nombre impair de chiffres hexadécimaux (3)",
        ),
        (r"b'\xq0'", "decodeur_trame: littéral bytes invalide"),
        ("", "decodeur_trame: trame vide"),
    ] {
        let out = run(&["trame", arg], b"");
        assert_eq!(out.status.code(), Some(1), "{arg}");
        let err = text(&out.stderr);
        assert!(err.starts_with(message), "{arg}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    // A frame too short is not an error: the block says what is missing.
    let out = run(&["trame", "52 0c"], b"");
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "Ethernet tronqué : 14 octets nécessaires, 2 présents\n"
    );

    for args in [
        &[][..],
        &["trame"][..],
        &["pcap"][..],
        &["live", "--nombre", "x"][..],
        &["inconnu"][..],
    ] {
        assert_eq!(run(args, b"").status.code(), Some(2), "{args:?}");
    }
}
