//! The answers of the preliminary questions, printed as a Python session
//! would show them, so students can compare with their own interpreter.

use std::fmt::Write as _;

use protocols::pyrepr::bytes_repr;
use protocols::unpack::{tuple_repr, unpack, UnpackError};

/// The sheet's example: `struct.unpack("!BLB2s", b'\x04\x00\x00\x00\n\x10hi')`.
pub const SHEET_FORMAT: &str = "!BLB2s";
pub const SHEET_BYTES: &[u8] = b"\x04\x00\x00\x00\n\x10hi";

/// 16.1: two 2-byte integers, 5 characters, a 4-byte, a 1-byte and a 4-byte
/// integer, in network byte order.
pub const Q16_1_FORMAT: &str = "!HH5sLBL";
pub const Q16_1_BYTES: &[u8] = b"\x00\x01\x00\x02trois\x00\x00\x00\x04\x05\x00\x00\x00\x06";

/// 16.2: the 4 leftmost bits of 0b11101101.
pub const Q16_2_BYTE: u8 = 237;

/// The text of `decodeur_trame exemples`.
pub fn text() -> Result<String, UnpackError> {
    let mut out = String::new();
    let mut session = |title: &str, format: &str, data: &[u8]| -> Result<(), UnpackError> {
        let values = unpack(format, data)?;
        let _ = writeln!(out, "# {title}");
        let _ = writeln!(out, ">>> struct.unpack(\"{format}\", {})", bytes_repr(data));
        let _ = writeln!(out, "{}", tuple_repr(&values));
        let _ = writeln!(out);
        Ok(())
    };
    session(
        "Exemple de la feuille : un entier sur 1 octet, un sur 4 octets, un sur 1 octet, 2 caractères",
        SHEET_FORMAT,
        SHEET_BYTES,
    )?;
    session(
        "16.1 : 2 entiers sur 2 octets, 5 caractères, un entier sur 4 octets, un sur 1 octet, un sur 4 octets",
        Q16_1_FORMAT,
        Q16_1_BYTES,
    )?;
    let _ = writeln!(out, "# 16.2 : les 4 bits de gauche de 0b{Q16_2_BYTE:08b} ({Q16_2_BYTE}) : décalage de 8 - 4 = 4 bits");
    let _ = writeln!(out, ">>> {Q16_2_BYTE} >> 4");
    let _ = writeln!(out, "{}", Q16_2_BYTE >> 4);
    Ok(out)
}
