//! What Python's `print` shows, so our output diffs clean against the sheet's.

use std::fmt::Write;
use std::net::SocketAddr;

/// An address as Python prints it: the tuple `socket.accept()` and
/// `recvfrom()` return: `('127.0.0.1', 54321)`, or for IPv6
/// `('::1', 54321, 0, 0)` (flow info and scope id).
pub fn address(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("('{}', {})", a.ip(), a.port()),
        SocketAddr::V6(a) => format!(
            "('{}', {}, {}, {})",
            a.ip(),
            a.port(),
            a.flowinfo(),
            a.scope_id()
        ),
    }
}

/// Received bytes as `data.decode()` then `print` show them, except that
/// nothing a peer sends reaches a terminal raw: invalid UTF-8 becomes U+FFFD
/// and control characters are escaped as Python's `repr` writes them
/// (`\n`, `\x1b`). Ordinary text is unchanged.
pub fn shown(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    if !text.chars().any(char::is_control) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_python_tuples() {
        assert_eq!(
            address("127.0.0.1:54321".parse().unwrap()),
            "('127.0.0.1', 54321)"
        );
        assert_eq!(
            address("[::1]:54321".parse().unwrap()),
            "('::1', 54321, 0, 0)"
        );
    }

    #[test]
    fn text_is_unchanged_and_controls_are_escaped() {
        assert_eq!(
            shown("Bonjour serveur TCP".as_bytes()),
            "Bonjour serveur TCP"
        );
        assert_eq!(shown("été".as_bytes()), "été");
        assert_eq!(shown(b"a\x1b[2Jb\n"), "a\\x1b[2Jb\\n");
        assert_eq!(shown(b"\xff"), "\u{fffd}");
    }
}
