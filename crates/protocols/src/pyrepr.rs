//! Python's `bytes` literals: printing them as `repr(bytes)` does, and reading
//! them back.
//!
//! Students compare our output with what their Python programs print, so
//! [`bytes_repr`] must match CPython 3 to the byte: the quote rule (double
//! quotes only when the data holds a `'` and no `"`), the four named escapes
//! and lowercase `\xNN` for everything outside printable ASCII.
//!
//! One implementation serves every writer ([`bytes_repr`],
//! [`write_bytes_repr`], [`write_bytes_repr_vec`]): a 256-entry escape table
//! per quote style, applied a piece of data at a time into a stack buffer.
//! Payloads are most of the frame decoder's output, so this is its hot path:
//! no branch per byte, one copy per piece.

use std::convert::Infallible;
use std::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How one byte appears inside a Python bytes literal: up to 4 ASCII bytes.
#[derive(Clone, Copy)]
struct Escape {
    text: [u8; 4],
    len: u8,
}

impl Escape {
    const fn new(text: &[u8]) -> Escape {
        let mut padded = [0; 4];
        let mut i = 0;
        while i < text.len() {
            padded[i] = text[i];
            i += 1;
        }
        Escape {
            text: padded,
            len: text.len() as u8,
        }
    }
}

/// The 256 escapes for a literal quoted with `quote`, as CPython's
/// `bytes.__repr__` writes them (Objects/bytesobject.c).
const fn escapes(quote: u8) -> [Escape; 256] {
    let mut table = [Escape::new(b""); 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = match b {
            b'\\' => Escape::new(b"\\\\"),
            b'\t' => Escape::new(b"\\t"),
            b'\n' => Escape::new(b"\\n"),
            b'\r' => Escape::new(b"\\r"),
            _ if b == quote => Escape::new(&[b'\\', quote]),
            0x20..=0x7e => Escape::new(&[b]),
            _ => Escape::new(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]),
        };
        i += 1;
    }
    table
}

static SINGLE_QUOTED: [Escape; 256] = escapes(b'\'');
static DOUBLE_QUOTED: [Escape; 256] = escapes(b'"');

/// Bytes of data escaped per piece (the stack buffer holds 4 times more).
const PIECE: usize = 128;

/// Hands `repr(data)` to `emit` in order, as pieces of ASCII text: `b` and
/// the opening quote, the escaped data, the closing quote.
#[inline]
fn emit_repr<E>(data: &[u8], mut emit: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    // CPython: '"' only if there is a single quote and no double quote.
    let (quote, table) = if data.contains(&b'\'') && !data.contains(&b'"') {
        (b'"', &DOUBLE_QUOTED)
    } else {
        (b'\'', &SINGLE_QUOTED)
    };
    emit(&[b'b', quote])?;
    let mut buf = [0u8; PIECE * 4];
    for piece in data.chunks(PIECE) {
        let mut n = 0;
        for &byte in piece {
            let escape = &table[usize::from(byte)];
            // Always copy 4 bytes, keep `len`: no branch per byte. `n` stays
            // at most 4 * (PIECE - 1), so the range is always there.
            if let Some(slot) = buf.get_mut(n..n + 4) {
                slot.copy_from_slice(&escape.text);
            }
            n += usize::from(escape.len);
        }
        emit(buf.get(..n).unwrap_or_default())?;
    }
    emit(&[quote])
}

/// `repr(data)` as Python 3 prints it, e.g. `b'je suis l\xc3\xa0 !'`.
pub fn bytes_repr(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + 3);
    // Writing into a String cannot fail.
    let _ = write_bytes_repr(&mut out, data);
    out
}

/// Writes `repr(data)` into any formatter without an intermediate `String`.
pub fn write_bytes_repr<W: fmt::Write>(out: &mut W, data: &[u8]) -> fmt::Result {
    // The pieces are ASCII by construction: `from_utf8` never fails.
    emit_repr(data, |text| {
        out.write_str(std::str::from_utf8(text).unwrap_or_default())
    })
}

/// Appends `repr(data)` to a byte buffer: the frame decoder's hot path,
/// which lays out its text as bytes.
#[inline]
pub fn write_bytes_repr_vec(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() * 4 + 3);
    let _ = emit_repr(data, |text| {
        out.extend_from_slice(text);
        Ok::<(), Infallible>(())
    });
}

/// Why a Python bytes literal could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralError {
    /// Not of the form `b'...'` or `b"..."`.
    NotALiteral,
    /// A backslash escape Python would refuse, at this character offset.
    BadEscape(usize),
    /// A non-ASCII character inside the literal (Python forbids them in bytes).
    NonAscii(usize),
    /// The closing quote appears before the end of the text.
    UnescapedQuote(usize),
}

impl fmt::Display for LiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiteralError::NotALiteral => {
                f.write_str("ce n'est pas un littéral bytes Python (b'...' ou b\"...\")")
            }
            LiteralError::BadEscape(at) => {
                write!(f, "séquence d'échappement invalide à la position {at}")
            }
            LiteralError::NonAscii(at) => write!(f, "caractère non ASCII à la position {at}"),
            LiteralError::UnescapedQuote(at) => {
                write!(f, "guillemet non échappé à la position {at}")
            }
        }
    }
}

impl std::error::Error for LiteralError {}

/// Parses a Python bytes literal (`b'R\x0c\xc7'`, `b"it's"`, also with a `B`
/// prefix), accepting every escape Python accepts in bytes: `\\ \' \" \a \b
/// \f \n \r \t \v \xNN`, octal `\ooo` and backslash-newline.
pub fn parse_bytes_literal(text: &str) -> Result<Vec<u8>, LiteralError> {
    let text = text.trim();
    let body = text
        .strip_prefix(['b', 'B'])
        .ok_or(LiteralError::NotALiteral)?;
    let quote = body.chars().next().ok_or(LiteralError::NotALiteral)?;
    if quote != '\'' && quote != '"' || body.len() < 2 || !body.ends_with(quote) {
        return Err(LiteralError::NotALiteral);
    }
    let inner = &body.as_bytes()[1..body.len() - 1];
    let offset = 2; // "b'" before `inner`, for error positions
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if !c.is_ascii() {
            return Err(LiteralError::NonAscii(offset + i));
        }
        if c == quote as u8 {
            return Err(LiteralError::UnescapedQuote(offset + i));
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let esc = *inner
            .get(i + 1)
            .ok_or(LiteralError::BadEscape(offset + i))?;
        i += 2;
        match esc {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(esc),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = inner
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(LiteralError::BadEscape(offset + i - 2))?;
                out.push(hex);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut value: u32 = u32::from(esc - b'0');
                let mut digits = 1;
                while digits < 3 {
                    match inner.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                            digits += 1;
                        }
                        _ => break,
                    }
                }
                // Python keeps the low 8 bits of `\777` (with a warning).
                out.push((value & 0xff) as u8);
            }
            // Python keeps unknown escapes as is (with a warning): so do we.
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test oracle: CPython's `bytes.__repr__` transcribed byte by byte,
    /// as plainly as possible (the table-driven writer must agree with it;
    /// `tests/pyrepr_python.rs` checks `bytes_repr`, hence the shared table,
    /// against python3 itself).
    fn reference_repr(data: &[u8]) -> String {
        let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
            '"'
        } else {
            '\''
        };
        let mut out = format!("b{quote}");
        for &b in data {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'\t' => out.push_str("\\t"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                _ if char::from(b) == quote => {
                    out.push('\\');
                    out.push(quote);
                }
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        out.push(quote);
        out
    }

    /// Every writer gives the oracle's text.
    fn check_writers(data: &[u8]) -> Result<(), TestCaseError> {
        let expected = reference_repr(data);
        prop_assert_eq!(&bytes_repr(data), &expected);
        let mut vec = b"prefix ".to_vec();
        write_bytes_repr_vec(&mut vec, data);
        prop_assert_eq!(vec, format!("prefix {expected}").into_bytes());
        Ok(())
    }

    proptest! {
        /// Random bytes, across several pieces of the stack buffer.
        #[test]
        fn writers_match_the_reference(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            check_writers(&data)?;
        }

        /// Quotes and backslashes are rare in random bytes: force them.
        #[test]
        fn writers_match_the_reference_on_quotes(data in proptest::collection::vec(prop_oneof![Just(b'\''), Just(b'"'), Just(b'\\'), Just(b'a'), Just(0u8)], 0..300)) {
            check_writers(&data)?;
        }
    }

    #[test]
    fn every_byte_and_piece_boundaries() {
        for b in 0..=255u8 {
            check_writers(&[b]).unwrap();
            check_writers(&[b'\'', b]).unwrap();
        }
        for len in [PIECE - 1, PIECE, PIECE + 1, 3 * PIECE] {
            check_writers(&vec![0xff; len]).unwrap();
            check_writers(&vec![b'\''; len]).unwrap();
        }
    }

    #[test]
    fn matches_the_sheets_examples() {
        assert_eq!(
            bytes_repr("je suis là !".as_bytes()),
            r"b'je suis l\xc3\xa0 !'"
        );
        assert_eq!(bytes_repr(b"coucou"), "b'coucou'");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr(b"\x00\xff"), r"b'\x00\xff'");
        assert_eq!(
            bytes_repr(b"\x04\x00\x00\x00\n\x10hi"),
            r"b'\x04\x00\x00\x00\n\x10hi'"
        );
    }

    #[test]
    fn quote_rule_and_named_escapes() {
        assert_eq!(bytes_repr(b""), "b''");
        assert_eq!(bytes_repr(b"'\""), r#"b'\'"'"#);
        assert_eq!(bytes_repr(b"\""), r#"b'"'"#);
        assert_eq!(bytes_repr(b"\\\t\r\n\x7f"), r"b'\\\t\r\n\x7f'");
    }

    #[test]
    fn literals_round_trip() {
        for data in [
            &b""[..],
            b"it's",
            b"'\"",
            b"\x00\x01\xfe\\\n\t\r",
            b"R\x0c\xc7\x1d",
        ] {
            assert_eq!(parse_bytes_literal(&bytes_repr(data)).unwrap(), data);
        }
        assert_eq!(parse_bytes_literal(r"b'\101\7\a'").unwrap(), b"A\x07\x07");
        assert_eq!(parse_bytes_literal("B\"x\"").unwrap(), b"x");
    }

    #[test]
    fn literal_errors_say_where() {
        assert_eq!(parse_bytes_literal("'abc'"), Err(LiteralError::NotALiteral));
        assert_eq!(parse_bytes_literal("b'abc"), Err(LiteralError::NotALiteral));
        assert_eq!(
            parse_bytes_literal(r"b'\xg0'"),
            Err(LiteralError::BadEscape(2))
        );
        assert_eq!(
            parse_bytes_literal("b'a'b'"),
            Err(LiteralError::UnescapedQuote(3))
        );
        assert_eq!(parse_bytes_literal("b'é'"), Err(LiteralError::NonAscii(2)));
    }
}
