//! Reading the frame given to `decodeur_trame trame`: hex text (spaces,
//! colons, dashes and newlines allowed between digits, as `xxd -p`,
//! Wireshark's "Copy as Hex Stream" or `tcpdump -xx` print it once the
//! offsets are removed) or a Python bytes literal (`b'R\x0c\xc7…'`), exactly
//! what students copy from their lab file.

use std::fmt;

use protocols::pyrepr::{parse_bytes_literal, LiteralError};

/// Why the frame text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameTextError {
    /// Empty text.
    Empty,
    /// A character that is neither a hex digit nor an allowed separator.
    NotHex { character: char, position: usize },
    /// An odd number of hex digits.
    OddDigits(usize),
    /// A malformed Python literal.
    Literal(LiteralError),
}

impl fmt::Display for FrameTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameTextError::Empty => f.write_str("trame vide"),
            FrameTextError::NotHex {
                character,
                position,
            } => write!(
                f,
                "caractère {character:?} inattendu à la position {position} \
                 (attendu : chiffres hexadécimaux, ou un littéral Python b'...')"
            ),
            FrameTextError::OddDigits(n) => {
                write!(
                    f,
                    "nombre impair de chiffres hexadécimaux ({n}) : un octet = 2 chiffres"
                )
            }
            FrameTextError::Literal(e) => write!(f, "littéral bytes invalide : {e}"),
        }
    }
}

impl std::error::Error for FrameTextError {}

/// Parses hex text or a Python bytes literal into the frame's bytes.
pub fn parse_frame_text(text: &str) -> Result<Vec<u8>, FrameTextError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FrameTextError::Empty);
    }
    if text.starts_with(['b', 'B']) && text[1..].starts_with(['\'', '"']) {
        return parse_bytes_literal(text).map_err(FrameTextError::Literal);
    }
    parse_hex(text)
}

fn parse_hex(text: &str) -> Result<Vec<u8>, FrameTextError> {
    let mut bytes = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0;
    for (position, character) in text.chars().enumerate() {
        if character.is_whitespace() || matches!(character, ':' | '-') {
            continue;
        }
        let Some(value) = character.to_digit(16) else {
            return Err(FrameTextError::NotHex {
                character,
                position,
            });
        };
        digits += 1;
        // `to_digit(16)` is below 16, so it fits a nibble.
        let nibble = value as u8;
        match high.take() {
            None => high = Some(nibble),
            Some(h) => bytes.push(h << 4 | nibble),
        }
    }
    if high.is_some() {
        return Err(FrameTextError::OddDigits(digits));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_separators() {
        assert_eq!(
            parse_frame_text("52 0c:C7-1d\nca35").unwrap(),
            [0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35]
        );
        assert_eq!(parse_frame_text("  00ff\n").unwrap(), [0, 255]);
    }

    #[test]
    fn python_literals_in_both_quote_styles() {
        assert_eq!(
            parse_frame_text(r"b'R\x0c\xc7'").unwrap(),
            [b'R', 0x0c, 0xc7]
        );
        assert_eq!(parse_frame_text("b\"it's\"").unwrap(), b"it's");
    }

    #[test]
    fn errors_are_precise() {
        assert_eq!(parse_frame_text(" "), Err(FrameTextError::Empty));
        assert_eq!(
            parse_frame_text("0g"),
            Err(FrameTextError::NotHex {
                character: 'g',
                position: 1
            })
        );
        assert_eq!(parse_frame_text("abc"), Err(FrameTextError::OddDigits(3)));
        assert!(matches!(
            parse_frame_text(r"b'\xZZ'"),
            Err(FrameTextError::Literal(_))
        ));
        // A "b" alone is hex digit b, not a literal.
        assert_eq!(parse_frame_text("bb"), Ok(vec![0xbb]));
    }
}
