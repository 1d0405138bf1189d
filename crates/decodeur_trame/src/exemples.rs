//! The answers of the preliminary questions (16.1, 16.2) and of the two
//! address helpers (16.7, 16.9), printed as a Python session
//! would show them, so students can compare with their own interpreter.

use std::fmt::Write as _;

use crate::sheet::{decode_adresse_IP, decode_adresse_MAC};
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

/// 16.7: the address of the lab's example frame, read as one integer.
pub const Q16_7_ADDRESS: u32 = 2_475_088_460;

/// 16.9: the destination address of the lab's example frame.
pub const Q16_9_MAC: [u8; 6] = [0x52, 0x0c, 0xc7, 0x1d, 0xca, 0x35];

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
    let _ = writeln!(out);
    let _ = writeln!(out, "# 16.7 : un entier de 32 bits en adresse IP X.Y.Z.T");
    let _ = writeln!(out, ">>> decode_adresse_IP({Q16_7_ADDRESS})");
    let _ = writeln!(out, "'{}'", decode_adresse_IP(Q16_7_ADDRESS));
    let _ = writeln!(out);
    let _ = writeln!(out, "# 16.9 : 6 octets en adresse MAC");
    let _ = writeln!(out, ">>> decode_adresse_MAC({})", bytes_repr(&Q16_9_MAC));
    let _ = writeln!(out, "'{}'", decode_adresse_MAC(Q16_9_MAC));
    Ok(out)
}
