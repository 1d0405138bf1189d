//! `protocols::chat`'s escaping rule against CPython's `unicodedata`: every
//! code point Python files under Cc, Cf, Zl or Zp is escaped (but tab, and
//! ZWJ/ZWNJ, kept on purpose), and everything escaped is one of those (or
//! a format character Python's older Unicode tables do not know yet).
//! Skipped (with a message) where python3 is missing.

use std::process::Command;

use protocols::chat::needs_escape;

const PYTHON: &str = r#"
import sys, unicodedata
print(unicodedata.unidata_version)
for c in range(0x110000):
    cat = unicodedata.category(chr(c))
    if cat in ("Cc", "Cf", "Zl", "Zp"):
        print("%x %s" % (c, cat))
"#;

/// Format characters kept on purpose (emoji sequences, Persian, Indic).
const KEPT: [u32; 3] = [0x09, 0x200C, 0x200D];

#[test]
fn escaped_characters_are_pythons_controls_and_format_characters() {
    if !test_support::have_program("python3") {
        test_support::skip("SKIP escaped_characters_are_pythons_controls_and_format_characters: python3 is not installed");
        return;
    }
    let out = Command::new("python3")
        .args(["-c", PYTHON])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let version = lines.next().unwrap();
    let python: Vec<(u32, &str)> = lines
        .map(|l| {
            let (hex, cat) = l.split_once(' ').unwrap();
            (u32::from_str_radix(hex, 16).unwrap(), cat)
        })
        .collect();
    assert!(
        python.len() > 150,
        "{version}: {} code points",
        python.len()
    );
    for &(code, cat) in &python {
        let c = char::from_u32(code).unwrap();
        assert_eq!(
            needs_escape(c),
            !KEPT.contains(&code),
            "U+{code:04X} ({cat}, Unicode {version})"
        );
    }
    // The other way: all we escape is known to Python as such, or is an
    // Egyptian hieroglyph format control added after Python's Unicode.
    for c in (0..0x110000u32)
        .filter_map(char::from_u32)
        .filter(|&c| needs_escape(c))
    {
        let code = c as u32;
        let known = python.iter().any(|&(p, _)| p == code);
        assert!(
            known || (0x13439..=0x1343F).contains(&code),
            "U+{code:04X} is escaped but is not Cc/Cf/Zl/Zp for Unicode {version}"
        );
    }
}
