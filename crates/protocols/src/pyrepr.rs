//! Python's `bytes` literals: printing them as `repr(bytes)` does, and reading
//! them back.
//!
//! Students compare our output with what their Python programs print, so
//! [`bytes_repr`] must match CPython 3 to the byte: the quote rule (double
//! quotes only when the data holds a `'` and no `"`), the four named escapes
//! and lowercase `\xNN` for everything outside printable ASCII.

use std::fmt;

/// `repr(data)` as Python 3 prints it, e.g. `b'je suis l\xc3\xa0 !'`.
pub fn bytes_repr(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + 3);
    // Writing into a String cannot fail.
    let _ = write_bytes_repr(&mut out, data);
    out
}

/// Writes `repr(data)` into any formatter without an intermediate `String`,
/// for the frame decoder's hot path.
pub fn write_bytes_repr<W: fmt::Write>(out: &mut W, data: &[u8]) -> fmt::Result {
    // CPython (Objects/bytesobject.c): use '"' only if there is a single quote
    // and no double quote.
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.write_char('b')?;
    out.write_char(quote as char)?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &byte) in data.iter().enumerate() {
        let plain = (0x20..0x7f).contains(&byte) && byte != b'\\' && byte != quote;
        if plain {
            continue;
        }
        // Flush the run of plain ASCII before this byte in one call.
        out.write_str(ascii_run(&data[start..i]))?;
        start = i + 1;
        match byte {
            b'\\' => out.write_str("\\\\")?,
            b'\t' => out.write_str("\\t")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            b if b == quote => {
                out.write_char('\\')?;
                out.write_char(quote as char)?;
            }
            b => {
                out.write_str("\\x")?;
                out.write_char(HEX[usize::from(b >> 4)] as char)?;
                out.write_char(HEX[usize::from(b & 0x0f)] as char)?;
            }
        }
    }
    out.write_str(ascii_run(&data[start..]))?;
    out.write_char(quote as char)
}

/// A run the caller has checked to be printable ASCII, hence valid UTF-8.
fn ascii_run(run: &[u8]) -> &str {
    std::str::from_utf8(run).unwrap_or_default()
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
