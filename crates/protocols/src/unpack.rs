//! Python's `struct.unpack` for lab 16.1: cut a byte string into typed
//! fields following a format such as `"!HH5sLBL"`.
//!
//! Supported, with Python's exact semantics (sizes, alignment, byte order,
//! whitespace between codes, error cases):
//!
//! | prefix | byte order | sizes | alignment |
//! |--------|------------|-------|-----------|
//! | `@` or none | native | native (`l`/`L` are C `long`: 8 bytes on 64-bit Linux) | native |
//! | `=` | native | standard | none |
//! | `<` | little-endian | standard | none |
//! | `>`, `!` | big-endian (network) | standard | none |
//!
//! | code | C type | Python value | standard size |
//! |------|--------|--------------|---------------|
//! | `x` | pad byte | (none) | 1 |
//! | `c` | `char` | `bytes` of length 1 | 1 |
//! | `b` / `B` | `signed char` / `unsigned char` | `int` | 1 |
//! | `?` | `_Bool` | `bool` | 1 |
//! | `h` / `H` | `short` / `unsigned short` | `int` | 2 |
//! | `i` / `I` | `int` / `unsigned int` | `int` | 4 |
//! | `l` / `L` | `long` / `unsigned long` | `int` | 4 |
//! | `q` / `Q` | `long long` / `unsigned long long` | `int` | 8 |
//! | `Ns` | `char[N]` | `bytes` of length N | N |
//!
//! A count before a code repeats it (`2H` is `HH`), except for `s` where it
//! is the string's length (`5s` is one 5-byte value, `0s` is `b''`). Python's
//! other codes (`n N e f d p P`) are refused as unknown.
//!
//! ```
//! use protocols::unpack::{tuple_repr, unpack};
//!
//! let values = unpack("!BLB2s", b"\x04\x00\x00\x00\n\x10hi").unwrap();
//! assert_eq!(tuple_repr(&values), "(4, 10, 16, b'hi')");
//! ```

use std::fmt;
use std::mem::{align_of, size_of};

use crate::pyrepr::write_bytes_repr;

/// One unpacked field, as Python would return it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A signed integer (`b h i l q`).
    Int(i64),
    /// An unsigned integer (`B H I L Q`).
    UInt(u64),
    /// A boolean (`?`): any non-zero byte is `True`.
    Bool(bool),
    /// A byte string (`c`, `Ns`).
    Bytes(Vec<u8>),
}

/// Python's `repr` of the value: `42`, `True`, `b'trois'`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::UInt(n) => write!(f, "{n}"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Bytes(bytes) => write_bytes_repr(f, bytes),
        }
    }
}

/// Python's `repr` of the tuple of `values`: `(1, 2, b'trois', 4, 5, 6)`,
/// `(1,)` for one element, `()` for none.
pub fn tuple_repr(values: &[Value]) -> String {
    let mut out = String::from("(");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing into a String cannot fail.
        let _ = fmt::Write::write_fmt(&mut out, format_args!("{value}"));
    }
    if values.len() == 1 {
        out.push(',');
    }
    out.push(')');
    out
}

/// Why a format or a buffer was refused (the cases where Python raises
/// `struct.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnpackError {
    /// A character that is not a format code (or a byte-order prefix placed
    /// after the start). Python: "bad char in struct format".
    BadChar {
        /// The whole format.
        format: String,
        /// The offending character.
        ch: char,
        /// Its byte offset in `format`.
        at: usize,
    },
    /// The format ends with a count and no code. Python: "repeat count given
    /// without format specifier".
    CountWithoutCode {
        /// The whole format.
        format: String,
    },
    /// The format describes more bytes than memory could hold. Python:
    /// "total struct size too long".
    TooLong {
        /// The whole format.
        format: String,
    },
    /// The buffer is not exactly as long as the format. Python: "unpack
    /// requires a buffer of N bytes".
    LengthMismatch {
        /// The whole format.
        format: String,
        /// Bytes the format describes (`struct.calcsize`).
        needed: usize,
        /// Bytes given.
        got: usize,
    },
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnpackError::BadChar { format, ch, at } => write!(
                f,
                "caractère {ch:?} invalide à la position {at} du format {format:?}"
            ),
            UnpackError::CountWithoutCode { format } => write!(
                f,
                "le format {format:?} se termine par un nombre sans code de format"
            ),
            UnpackError::TooLong { format } => write!(f, "le format {format:?} est trop long"),
            UnpackError::LengthMismatch {
                format,
                needed,
                got,
            } => write!(
                f,
                "le format {format:?} demande {needed} octets, {got} reçus"
            ),
        }
    }
}

impl std::error::Error for UnpackError {}

/// How multi-byte integers are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `@` or no prefix: native order, native sizes, native alignment.
    Native,
    /// `=`, `<`, `>`, `!`: standard sizes, no alignment.
    Standard {
        /// Big-endian (`>`, `!`, or `=` on a big-endian machine).
        big_endian: bool,
    },
}

impl Mode {
    /// Whether multi-byte integers are big-endian.
    fn big_endian(self) -> bool {
        match self {
            Mode::Native => cfg!(target_endian = "big"),
            Mode::Standard { big_endian } => big_endian,
        }
    }

    /// Size and alignment of one item of `code` (for `s`, of one byte of the
    /// string), or `None` if `code` is not a supported format code.
    fn layout(self, code: char) -> Option<(usize, usize)> {
        use std::ffi::{c_int, c_long, c_longlong, c_short};
        let (standard, native) = match code {
            'x' | 'c' | 'b' | 'B' | '?' | 's' => (1, (1, 1)),
            'h' | 'H' => (2, (size_of::<c_short>(), align_of::<c_short>())),
            'i' | 'I' => (4, (size_of::<c_int>(), align_of::<c_int>())),
            'l' | 'L' => (4, (size_of::<c_long>(), align_of::<c_long>())),
            'q' | 'Q' => (8, (size_of::<c_longlong>(), align_of::<c_longlong>())),
            _ => return None,
        };
        Some(match self {
            Mode::Native => native,
            Mode::Standard { .. } => (standard, 1),
        })
    }
}

/// One code of a format with its count.
#[derive(Debug, Clone, Copy)]
struct Item {
    code: char,
    /// The repeat count (for `s`, the string's length).
    count: usize,
    /// Bytes of one item (for `s`, of one byte of the string).
    size: usize,
    /// Bytes to skip before the item so that its offset is a multiple of this.
    align: usize,
}

/// A parsed format.
#[derive(Debug)]
struct Format {
    mode: Mode,
    items: Vec<Item>,
    /// Total bytes, padding included (`struct.calcsize`).
    size: usize,
}

/// Parses `format` as CPython's `prepare_s` does: an optional byte-order
/// prefix, then codes with optional counts; whitespace between codes is
/// ignored, but not between a count and its code.
fn parse(format: &str) -> Result<Format, UnpackError> {
    let too_long = || UnpackError::TooLong {
        format: format.to_owned(),
    };
    let mut chars = format.char_indices().peekable();
    let mode = match chars.peek().map(|&(_, c)| c) {
        Some('<') => Mode::Standard { big_endian: false },
        Some('>' | '!') => Mode::Standard { big_endian: true },
        Some('=') => Mode::Standard {
            big_endian: cfg!(target_endian = "big"),
        },
        _ => Mode::Native,
    };
    if matches!(chars.peek(), Some((_, '@' | '=' | '<' | '>' | '!'))) {
        chars.next();
    }
    let mut items = Vec::new();
    let mut size: usize = 0;
    while let Some((at, c)) = chars.next() {
        if c.is_ascii_whitespace() || c == '\x0b' {
            continue;
        }
        let (at, code, count) = match c.to_digit(10) {
            Some(first) => {
                let mut count = first as usize;
                loop {
                    match chars.next() {
                        None => {
                            return Err(UnpackError::CountWithoutCode {
                                format: format.to_owned(),
                            })
                        }
                        Some((at, c)) => match c.to_digit(10) {
                            Some(d) => {
                                count = count
                                    .checked_mul(10)
                                    .and_then(|n| n.checked_add(d as usize))
                                    .ok_or_else(too_long)?;
                            }
                            None => break (at, c, count),
                        },
                    }
                }
            }
            None => (at, c, 1),
        };
        let Some((item_size, align)) = mode.layout(code) else {
            return Err(UnpackError::BadChar {
                format: format.to_owned(),
                ch: code,
                at,
            });
        };
        // Native alignment pads before the item (never after the last one).
        size = size.checked_next_multiple_of(align).ok_or_else(too_long)?;
        size = item_size
            .checked_mul(count)
            .and_then(|n| size.checked_add(n))
            .filter(|&n| isize::try_from(n).is_ok())
            .ok_or_else(too_long)?;
        items.push(Item {
            code,
            count,
            size: item_size,
            align,
        });
    }
    Ok(Format { mode, items, size })
}

/// `struct.calcsize(format)`: the number of bytes `format` describes.
pub fn calcsize(format: &str) -> Result<usize, UnpackError> {
    parse(format).map(|f| f.size)
}

/// `struct.unpack(format, data)`: the values of `data` as `format` describes
/// them; `data` must be exactly [`calcsize`] bytes long.
pub fn unpack(format: &str, data: &[u8]) -> Result<Vec<Value>, UnpackError> {
    let parsed = parse(format)?;
    if data.len() != parsed.size {
        return Err(UnpackError::LengthMismatch {
            format: format.to_owned(),
            needed: parsed.size,
            got: data.len(),
        });
    }
    let big_endian = parsed.mode.big_endian();
    let mut values = Vec::new();
    let mut rest = data;
    let mut offset: usize = 0;
    for item in &parsed.items {
        let padding = offset.next_multiple_of(item.align) - offset;
        rest = rest.get(padding..).unwrap_or_default();
        offset += padding;
        let (count, size) = match item.code {
            // One value of `count` bytes.
            's' => (1, item.count),
            _ => (item.count, item.size),
        };
        for _ in 0..count {
            // `data` is exactly `parsed.size` bytes, the sum of every item and
            // its padding: the split always succeeds.
            let Some((field, after)) = rest.split_at_checked(size) else {
                break;
            };
            rest = after;
            offset += size;
            if let Some(value) = decode(item.code, field, big_endian) {
                values.push(value);
            }
        }
    }
    Ok(values)
}

/// The value of one item of `code` stored in `field` (`None` for padding).
fn decode(code: char, field: &[u8], big_endian: bool) -> Option<Value> {
    // Integers of 1 to 8 bytes, in either order, widened to 64 bits.
    let mut raw: u64 = 0;
    if big_endian {
        for &byte in field {
            raw = raw << 8 | u64::from(byte);
        }
    } else {
        for &byte in field.iter().rev() {
            raw = raw << 8 | u64::from(byte);
        }
    }
    let bits = (field.len() * 8) as u32;
    let signed = || {
        // Sign-extend from `bits` to 64.
        let shift = 64u32.saturating_sub(bits);
        Value::Int(((raw << shift) as i64) >> shift)
    };
    Some(match code {
        'x' => return None,
        'c' | 's' => Value::Bytes(field.to_vec()),
        '?' => Value::Bool(raw != 0),
        'b' | 'h' | 'i' | 'l' | 'q' => signed(),
        _ => Value::UInt(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_16_1_and_the_sheets_example() {
        let values = unpack(
            "!HH5sLBL",
            b"\x00\x01\x00\x02trois\x00\x00\x00\x04\x05\x00\x00\x00\x06",
        )
        .unwrap();
        assert_eq!(tuple_repr(&values), "(1, 2, b'trois', 4, 5, 6)");
        assert_eq!(values[2], Value::Bytes(b"trois".to_vec()));
        let values = unpack("!BLB2s", b"\x04\x00\x00\x00\n\x10hi").unwrap();
        assert_eq!(tuple_repr(&values), "(4, 10, 16, b'hi')");
        assert_eq!(calcsize("!BLB2s"), Ok(8));
    }

    /// 43 bytes `(i * 37 + 200) % 256`; the expected tuples are Python's.
    fn mixed_bytes() -> Vec<u8> {
        (0..43u32).map(|i| ((i * 37 + 200) % 256) as u8).collect()
    }

    #[test]
    fn every_code_in_both_orders() {
        let data = mixed_bytes();
        assert_eq!(calcsize("!xcbB?hHiIlLqQ2s"), Ok(43));
        assert_eq!(
            tuple_repr(&unpack("!xcbB?hHiIlLqQ2s", &data).unwrap()),
            "(b'\\xed', 18, 55, True, -32346, 52208, 356147076, 2848912152, 1029867436, \
             3522566976, 7316853873864229736, 10210460783092329360, b'\\xb5\\xda')"
        );
        assert_eq!(
            tuple_repr(&unpack("<xcbB?hHiIlLqQ2s", &data).unwrap()),
            "(b'\\xed', 18, 55, True, -22911, 61643, -2074133995, 418631337, -1400413635, \
             1075574481, 7512882661748083301, 10406488475759522445, b'\\xb5\\xda')"
        );
        // `>` is `!`; `=` is the machine's order.
        assert_eq!(
            unpack(">xcbB?hHiIlLqQ2s", &data),
            unpack("!xcbB?hHiIlLqQ2s", &data)
        );
        let native = if cfg!(target_endian = "big") {
            "!"
        } else {
            "<"
        };
        assert_eq!(
            unpack("=xcbB?hHiIlLqQ2s", &data),
            unpack(&format!("{native}xcbB?hHiIlLqQ2s"), &data)
        );
    }

    #[test]
    fn repeat_counts_whitespace_and_empty() {
        assert_eq!(
            tuple_repr(&unpack("!2H 3x 0s 2c", b"\x00\x01\x00\x02...ab").unwrap()),
            "(1, 2, b'', b'a', b'b')"
        );
        assert_eq!(
            tuple_repr(&unpack("!10s", b"it's\x00\xff\t\\\"'").unwrap()),
            r#"(b'it\'s\x00\xff\t\\"\'',)"#
        );
        assert_eq!(tuple_repr(&unpack("", b"").unwrap()), "()");
        assert_eq!(tuple_repr(&unpack("!", b"").unwrap()), "()");
        assert_eq!(tuple_repr(&unpack("<?", b"\x00").unwrap()), "(False,)");
        assert_eq!(tuple_repr(&unpack("<?", b"\x02").unwrap()), "(True,)");
        assert_eq!(tuple_repr(&unpack("<q", &[0xff; 8]).unwrap()), "(-1,)");
        assert_eq!(
            tuple_repr(&unpack("<Q", &[0xff; 8]).unwrap()),
            "(18446744073709551615,)"
        );
    }

    #[test]
    fn native_mode_aligns_and_uses_c_sizes() {
        let long = size_of::<std::ffi::c_long>();
        assert_eq!(calcsize("bi"), Ok(8));
        assert_eq!(calcsize("@bi"), Ok(8));
        assert_eq!(calcsize("ib"), Ok(5), "no padding after the last item");
        assert_eq!(calcsize("=bi"), Ok(5));
        assert_eq!(calcsize("l"), Ok(long));
        assert_eq!(calcsize("bl"), Ok(2 * long));
        let mut data = vec![7, 0xaa, 0xbb, 0xcc];
        data.extend_from_slice(&(-5i32).to_ne_bytes());
        assert_eq!(tuple_repr(&unpack("bi", &data).unwrap()), "(7, -5)");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            unpack("!BLB2s", b"\x04\x00\x00\x00\n\x10h")
                .unwrap_err()
                .to_string(),
            "le format \"!BLB2s\" demande 8 octets, 7 reçus"
        );
        assert_eq!(
            unpack("!H", b"abc").unwrap_err(),
            UnpackError::LengthMismatch {
                format: "!H".into(),
                needed: 2,
                got: 3
            }
        );
        assert_eq!(
            unpack("!Hz", b"ab").unwrap_err(),
            UnpackError::BadChar {
                format: "!Hz".into(),
                ch: 'z',
                at: 2
            }
        );
        assert_eq!(
            calcsize("H!").unwrap_err(),
            UnpackError::BadChar {
                format: "H!".into(),
                ch: '!',
                at: 1
            }
        );
        assert!(matches!(
            calcsize("2 H"),
            Err(UnpackError::BadChar { ch: ' ', .. })
        ));
        assert!(matches!(
            calcsize("!é"),
            Err(UnpackError::BadChar {
                ch: 'é', at: 1, ..
            })
        ));
        assert!(matches!(
            calcsize("!f"),
            Err(UnpackError::BadChar { ch: 'f', .. })
        ));
        assert_eq!(
            calcsize("!H12").unwrap_err(),
            UnpackError::CountWithoutCode {
                format: "!H12".into()
            }
        );
        assert_eq!(
            calcsize("!99999999999999999999H").unwrap_err(),
            UnpackError::TooLong {
                format: "!99999999999999999999H".into()
            }
        );
        assert!(matches!(
            calcsize("!9999999999999999999Q"),
            Err(UnpackError::TooLong { .. })
        ));
        assert_eq!(
            unpack("!Hz", b"").unwrap_err().to_string(),
            "caractère 'z' invalide à la position 2 du format \"!Hz\""
        );
    }
}
