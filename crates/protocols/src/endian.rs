//! Big-endian reads of the fixed fields of a header.
//!
//! Every view keeps its fixed part as a `&[u8; N]` that its constructor took
//! with `first_chunk`, so the compiler knows the size: reading a constant
//! field range from it compiles to plain loads, with no bounds check and no
//! panic path. The fallbacks below are unreachable for the constant ranges
//! the views use (the unit tests read every field of every header).

use std::ops::Range;

/// The byte at `at` of a fixed-size header.
#[inline(always)]
pub(crate) fn u8_at<const N: usize>(header: &[u8; N], at: usize) -> u8 {
    match header.get(at) {
        Some(&byte) => byte,
        None => field_bug(0),
    }
}

/// The big-endian `u16` in the 2-byte `field` of a fixed-size header.
#[inline(always)]
pub(crate) fn u16_at<const N: usize>(header: &[u8; N], field: Range<usize>) -> u16 {
    match header.get(field) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => field_bug(0),
    }
}

/// The big-endian `u32` in the 4-byte `field` of a fixed-size header.
#[inline(always)]
pub(crate) fn u32_at<const N: usize>(header: &[u8; N], field: Range<usize>) -> u32 {
    match header.get(field) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => field_bug(0),
    }
}

/// The `M` bytes of `field` in a fixed-size header, as an array.
#[inline(always)]
pub(crate) fn array_at<const N: usize, const M: usize>(
    header: &[u8; N],
    field: Range<usize>,
) -> [u8; M] {
    match header
        .get(field)
        .and_then(|bytes| <[u8; M]>::try_from(bytes).ok())
    {
        Some(array) => array,
        None => field_bug([0; M]),
    }
}

/// A field range outside its header is a bug in this crate, never an input
/// error: debug builds (and so every test) stop on it; release builds read
/// zeros rather than panic.
#[cold]
#[inline(never)]
fn field_bug<T>(zero: T) -> T {
    debug_assert!(false, "header field range outside its fixed-size header");
    zero
}
