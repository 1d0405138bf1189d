//! The Chat-IRC file transfer (`SEND` / `RECV`): what travels on the chat
//! connection to negotiate it, and the lines of the second connection that
//! carries the bytes. No I/O.
//!
//! ```text
//! alice -> server   SEND bob 1048576 0123456789abcdef rapport.pdf   (the offer: size and hash)
//! bob   -> server   RECV alice                                      (the acceptance)
//! server -> alice   Transfert <jeton-a> : envoyez rapport.pdf (1048576 octets, empreinte 0123456789abcdef) à bob
//! server -> bob     Transfert <jeton-b> : recevez rapport.pdf (1048576 octets, empreinte 0123456789abcdef) de alice
//! each, on a new connection to the same port:   FICHIER <jeton>
//! server -> each    DEBUT            (both are there; alice sends the bytes, bob reads them)
//! bob   -> server   FIN OK | FIN ECHEC   (after checking size and hash; relayed to alice)
//! server -> either  ERREUR <phrase>  (unknown or expired token, the other side gone...)
//! ```
//!
//! - [`Order`]: the server's `Transfert` line, written and parsed here (the
//!   client acts on it);
//! - [`data_line`] / [`parse_data_line`]: the first line of a data
//!   connection (`FICHIER` and a space: no nickname and no IRC command
//!   looks like that);
//! - [`FileHash`]: the cheap hash both ends compute over the bytes;
//! - [`check_file_name`]: a name without path or control characters.

use std::fmt;

use crate::irc_text::is_dangerous;

/// Largest file offered: 100 MiB.
pub const MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;
/// Longest file name, in bytes (most file systems' limit).
pub const MAX_FILE_NAME: usize = 255;
/// Hexadecimal digits of a token (128 bits).
pub const TOKEN_HEX: usize = 32;
/// What a data connection's first line starts with.
pub const DATA_PREFIX: &str = "FICHIER ";
/// Server -> both ends of a data connection: the transfer starts.
pub const START: &str = "DEBUT";
/// Receiver -> server -> sender: the file arrived intact.
pub const DONE_OK: &str = "FIN OK";
/// Receiver -> server -> sender: size or hash did not match.
pub const DONE_FAILED: &str = "FIN ECHEC";
/// Server -> a data connection: why it ends (a French sentence follows).
pub const ERROR_PREFIX: &str = "ERREUR ";

/// The first line of a data connection (without its `\n`).
pub fn data_line(token: &str) -> String {
    format!("{DATA_PREFIX}{token}")
}

/// Does this first line open a data connection (whatever follows)?
pub fn is_data_line(line: &[u8]) -> bool {
    line.starts_with(DATA_PREFIX.as_bytes())
}

/// The token of a data connection's first line (`\n`/`\r\n` removed), if
/// well formed.
pub fn parse_data_line(line: &[u8]) -> Option<&str> {
    let token = std::str::from_utf8(line.strip_prefix(DATA_PREFIX.as_bytes())?).ok()?;
    is_token(token).then_some(token)
}

/// 32 lowercase hexadecimal digits.
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_HEX && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Which way a [`Order`] sends the file, seen from its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// "envoyez": read the file and send it.
    Send,
    /// "recevez": receive it and check it.
    Receive,
}

/// The server's order to one end of an accepted transfer:
/// `Transfert <jeton> : envoyez <fichier> (<taille> octets, empreinte <hash>) à <pseudo>`
/// or `... recevez ... de <pseudo>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub token: String,
    pub direction: Direction,
    pub file: String,
    pub size: u64,
    pub hash: u64,
    /// The other end's nickname.
    pub peer: String,
}

const ORDER_PREFIX: &str = "Transfert ";

impl Order {
    /// The line, without its `\n`.
    pub fn to_line(&self) -> String {
        let (verb, to) = match self.direction {
            Direction::Send => ("envoyez", "à"),
            Direction::Receive => ("recevez", "de"),
        };
        format!(
            "{ORDER_PREFIX}{} : {verb} {} ({} octets, empreinte {}) {to} {}",
            self.token,
            self.file,
            self.size,
            hash_hex(self.hash),
            self.peer
        )
    }

    /// Parses a line the server sent (no `\n`); `None` for any other line.
    pub fn parse(line: &str) -> Option<Order> {
        let rest = line.strip_prefix(ORDER_PREFIX)?;
        let (token, rest) = rest.split_once(" : ")?;
        if !is_token(token) {
            return None;
        }
        let (direction, rest, to) = if let Some(r) = rest.strip_prefix("envoyez ") {
            (Direction::Send, r, ") à ")
        } else {
            (Direction::Receive, rest.strip_prefix("recevez ")?, ") de ")
        };
        let (head, peer) = rest.rsplit_once(to)?;
        let (file, inner) = head.rsplit_once(" (")?;
        let (size, hash) = inner.split_once(" octets, empreinte ")?;
        if peer.is_empty() || peer.contains(' ') || file.is_empty() {
            return None;
        }
        Some(Order {
            token: token.to_owned(),
            direction,
            file: file.to_owned(),
            size: size.parse().ok()?,
            hash: parse_hash(hash)?,
            peer: peer.to_owned(),
        })
    }
}

/// A hash as sent: 16 lowercase hexadecimal digits.
pub fn hash_hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// The inverse of [`hash_hex`] (exactly 16 digits).
pub fn parse_hash(s: &str) -> Option<u64> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// A cheap 64-bit hash over a byte stream, fed in pieces of any size: it
/// catches a truncated, reordered or damaged transfer, not an attacker (a
/// file's sender could forge any hash anyway). Eight bytes at a time (an
/// FNV-1a step over 64-bit words, then a rotation), so it stays fast in
/// debug builds; the length is folded in at the end.
///
/// Each step is a bijection of the state, so a change in one word always
/// changes the result.
#[derive(Debug, Clone)]
pub struct FileHash {
    state: u64,
    len: u64,
    tail: [u8; 8],
    tail_len: usize,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for FileHash {
    fn default() -> Self {
        FileHash {
            state: FNV_OFFSET,
            len: 0,
            tail: [0; 8],
            tail_len: 0,
        }
    }
}

impl FileHash {
    pub fn new() -> FileHash {
        FileHash::default()
    }

    fn word(&mut self, w: u64) {
        self.state = (self.state ^ w).wrapping_mul(FNV_PRIME).rotate_left(23);
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(bytes.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&bytes[..take]);
            self.tail_len += take;
            bytes = &bytes[take..];
            if self.tail_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.word(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    pub fn finish(&self) -> u64 {
        let mut h = self.clone();
        if h.tail_len > 0 {
            let mut last = [0u8; 8];
            last[..h.tail_len].copy_from_slice(&h.tail[..h.tail_len]);
            h.word(u64::from_le_bytes(last));
        }
        h.word(h.len);
        h.state
    }

    /// The hash of `bytes` in one go.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut h = FileHash::new();
        h.update(bytes);
        h.finish()
    }
}

/// Why a file name is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileNameError {
    Empty,
    TooLong(usize),
    /// `/` or `\`: a path, not a name.
    Path,
    /// `.` or `..`.
    Dots,
    /// A control character (or a bidirectional control).
    Control,
}

impl fmt::Display for FileNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileNameError::Empty => f.write_str("nom vide"),
            FileNameError::TooLong(n) => {
                write!(f, "{n} octets, {MAX_FILE_NAME} au plus")
            }
            FileNameError::Path => f.write_str("un nom de fichier, pas un chemin (ni / ni \\)"),
            FileNameError::Dots => f.write_str(". et .. ne sont pas des noms de fichier"),
            FileNameError::Control => f.write_str("caractère de contrôle interdit"),
        }
    }
}

impl std::error::Error for FileNameError {}

/// A file name both ends can use as is: no path component, no control
/// character, not `.`/`..`, not empty, at most [`MAX_FILE_NAME`] bytes,
/// no spaces around it.
pub fn check_file_name(name: &str) -> Result<(), FileNameError> {
    if name.trim().is_empty() {
        return Err(FileNameError::Empty);
    }
    if name.len() > MAX_FILE_NAME {
        return Err(FileNameError::TooLong(name.len()));
    }
    if name.contains(['/', '\\']) {
        return Err(FileNameError::Path);
    }
    if name == "." || name == ".." {
        return Err(FileNameError::Dots);
    }
    if name.chars().any(is_dangerous) {
        return Err(FileNameError::Control);
    }
    if name.trim() != name {
        return Err(FileNameError::Empty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn orders_read_as_french_and_parse_back() {
        let order = Order {
            token: "0123456789abcdef0123456789abcdef".into(),
            direction: Direction::Receive,
            file: "mon rapport (v2).pdf".into(),
            size: 1_048_576,
            hash: 0xdead_beef,
            peer: "alice".into(),
        };
        assert_eq!(
            order.to_line(),
            "Transfert 0123456789abcdef0123456789abcdef : recevez mon rapport (v2).pdf \
             (1048576 octets, empreinte 00000000deadbeef) de alice"
        );
        assert_eq!(Order::parse(&order.to_line()), Some(order));
        // Lines a user can make the server send are not orders.
        assert_eq!(Order::parse("Transfert: bonjour"), None);
        assert_eq!(Order::parse("Transfert a rejoint la chaîne c"), None);
    }

    #[test]
    fn data_lines() {
        let t = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse_data_line(data_line(t).as_bytes()), Some(t));
        assert!(is_data_line(b"FICHIER x"));
        assert_eq!(parse_data_line(b"FICHIER x"), None);
        assert_eq!(
            parse_data_line(b"FICHIER 0123456789ABCDEF0123456789ABCDEF"),
            None
        );
        assert!(!is_data_line(b"messageFICHIER x"));
    }

    #[test]
    fn file_names() {
        assert_eq!(check_file_name("rapport final.pdf"), Ok(()));
        assert_eq!(check_file_name("../etc/passwd"), Err(FileNameError::Path));
        assert_eq!(check_file_name("a\\b"), Err(FileNameError::Path));
        assert_eq!(check_file_name(".."), Err(FileNameError::Dots));
        assert_eq!(check_file_name(""), Err(FileNameError::Empty));
        assert_eq!(check_file_name("a\u{1b}[2J"), Err(FileNameError::Control));
        assert_eq!(
            check_file_name("a\u{202e}fdp.exe"),
            Err(FileNameError::Control)
        );
        assert_eq!(
            check_file_name(&"x".repeat(256)),
            Err(FileNameError::TooLong(256))
        );
    }

    #[test]
    fn the_hash_sees_one_changed_byte_and_the_length() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let h = FileHash::of(&data);
        let mut changed = data.clone();
        changed[500] ^= 0x80;
        assert_ne!(FileHash::of(&changed), h);
        assert_ne!(FileHash::of(&data[..999]), h);
        let mut zeros = data.clone();
        zeros.push(0);
        assert_ne!(FileHash::of(&zeros), h);
        assert_eq!(parse_hash(&hash_hex(h)), Some(h));
    }

    proptest! {
        #[test]
        fn the_hash_does_not_depend_on_how_bytes_are_cut(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut h = FileHash::new();
            let mut at = 0;
            for c in cuts {
                h.update(&data[at..c]);
                at = c;
            }
            h.update(&data[at..]);
            prop_assert_eq!(h.finish(), FileHash::of(&data));
        }

        #[test]
        fn any_line_parses_or_fails_cleanly(s in any::<String>()) {
            let _ = Order::parse(&s);
            let _ = parse_data_line(s.as_bytes());
            let _ = check_file_name(&s);
        }
    }
}
