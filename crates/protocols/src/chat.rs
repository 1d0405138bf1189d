//! Lab 18's UDP chat protocol, written once for `serveur_chat` and
//! `client_chat`: the sheet's three tags (under the sheet's names), the
//! datagrams the server writes, the name rule, and the one escaping rule for
//! text that reaches a terminal.
//!
//! # The sheet's protocol
//! - client -> server: `__new_name__:NAME`, `__message__:TEXT`, `__quit__`;
//! - server -> clients: `\n***NAME*** vient de rentrer sur le chat !\n`,
//!   `[NAME] : TEXT`, `\n***NAME*** a quitté le chat.\n`, and `__quit__` to
//!   the one who leaves.
//!
//! # Beyond the sheet
//! - [`BALISE_KEEPALIVE`] (client -> server): "still here", never broadcast,
//!   so that a member whose client vanished can be expired.
//! - [`BALISE_NAME_REFUSED`] and [`BALISE_FULL`] (server -> newcomer): a
//!   registration refused, with the reason in French after the tag. A sheet
//!   client prints the datagram as it is, which still reads well.
//! - [`escape_text`] / [`escape_bytes`] / [`escape_for_terminal`]: what a
//!   terminal must never receive
//!   raw (line breaks, escape sequences, bidi overrides) written as Python
//!   escapes, `\x1b`, `\u202e`. The server applies it to every message it
//!   forwards, so that `[NAME] : TEXT` is always exactly one line that no
//!   member can forge; clients apply it to everything they print (keeping
//!   line feeds, which the sheet's notifications hold).
//! - [`check_name`]: 1 to 32 letters (any script), digits, `_`, `-`, `.`;
//!   two names are the same when their NFKC forms are equal ignoring case.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use unicode_normalization::UnicodeNormalization;

/// Registration tag (sheet 18.2): `__new_name__:NAME`.
pub const BALISE_NEW_NAME: &str = "__new_name__:";
/// Message tag (sheet 18.2): `__message__:TEXT`.
pub const BALISE_MESSAGE: &str = "__message__:";
/// The whole datagram a client sends to leave, and the server's answer to it
/// (sheet 18.2).
pub const BALISE_QUIT: &str = "__quit__";
/// Beyond the sheet: the whole datagram `client_chat` sends while idle, so
/// that the server knows it is still there. Never broadcast.
pub const BALISE_KEEPALIVE: &str = "__keepalive__";
/// Beyond the sheet: the server's answer to a name it refuses, followed by
/// the reason. The client may try another name from the same address.
pub const BALISE_NAME_REFUSED: &str = "__name_refused__:";
/// Beyond the sheet: the server's answer to a newcomer it cannot take (the
/// chat, or this host's share of it, is full), followed by the reason.
pub const BALISE_FULL: &str = "__full__:";

/// How often `client_chat` sends [`BALISE_KEEPALIVE`]: well within the
/// server's default inactivity delay (30 min), short enough for one set to a
/// few minutes.
pub const KEEPALIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Longest name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 32;
/// Largest UDP payload over IPv4 (65,535 - 20 - 8); also what the chat
/// allows over IPv6, so that a message forwarded to an IPv4 member fits.
pub const MAX_DATAGRAM: usize = 65_507;

/// A datagram a client sends, by its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `__new_name__:` and the raw name (not yet checked).
    NewName(&'a [u8]),
    /// `__message__:` and the raw text (not yet checked).
    Message(&'a [u8]),
    /// Exactly `__quit__`.
    Quit,
    /// Exactly `__keepalive__`.
    KeepAlive,
}

impl<'a> Request<'a> {
    /// The request `data` holds, or `None` when it starts with no known tag
    /// (tags are case-sensitive; `__quit__` and `__keepalive__` must be the
    /// whole datagram, as the sheet says of `__quit__`).
    pub fn parse(data: &'a [u8]) -> Option<Request<'a>> {
        if let Some(name) = data.strip_prefix(BALISE_NEW_NAME.as_bytes()) {
            Some(Request::NewName(name))
        } else if let Some(text) = data.strip_prefix(BALISE_MESSAGE.as_bytes()) {
            Some(Request::Message(text))
        } else if data == BALISE_QUIT.as_bytes() {
            Some(Request::Quit)
        } else if data == BALISE_KEEPALIVE.as_bytes() {
            Some(Request::KeepAlive)
        } else {
            None
        }
    }

    /// The datagram, as a client sends it.
    pub fn emit(&self) -> Vec<u8> {
        match self {
            Request::NewName(name) => [BALISE_NEW_NAME.as_bytes(), name].concat(),
            Request::Message(text) => [BALISE_MESSAGE.as_bytes(), text].concat(),
            Request::Quit => BALISE_QUIT.as_bytes().to_vec(),
            Request::KeepAlive => BALISE_KEEPALIVE.as_bytes().to_vec(),
        }
    }
}

/// `\n***NAME*** vient de rentrer sur le chat !\n` (sheet, c.).
pub fn entrance_notification(name: &str) -> String {
    format!("\n***{name}*** vient de rentrer sur le chat !\n")
}

/// `[NAME] : TEXT` (sheet, d.), with TEXT escaped by [`escape_text`]: the
/// sheet's texts come out unchanged, and no member can make it two lines.
pub fn message(name: &str, text: &str) -> String {
    let text = escape_text(text);
    let mut out = String::with_capacity(name.len() + 5 + text.len());
    out.push('[');
    out.push_str(name);
    out.push_str("] : ");
    out.push_str(&text);
    out
}

/// `\n***NAME*** a quitté le chat.\n` (sheet, e.).
pub fn quit_notification(name: &str) -> String {
    format!("\n***{name}*** a quitté le chat.\n")
}

/// A refused name, and why: [`BALISE_NAME_REFUSED`] then the reason.
pub fn name_refused(why: &NameError) -> String {
    format!("{BALISE_NAME_REFUSED}{why}")
}

/// What a refused newcomer reads: [`BALISE_FULL`] then the reason.
pub fn full(why: &str) -> String {
    format!("{BALISE_FULL}{why}")
}

/// What the server answers to a registration, as a client reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The name was refused; the text says why. Another name may be tried.
    NameRefused(&'a [u8]),
    /// The chat cannot take us; the text says why.
    Full(&'a [u8]),
    /// Anything else: our entrance notification (or, from a server that
    /// predates the refusals, whatever it says), printed as received.
    Other,
}

impl<'a> Answer<'a> {
    pub fn parse(data: &'a [u8]) -> Answer<'a> {
        if let Some(why) = data.strip_prefix(BALISE_NAME_REFUSED.as_bytes()) {
            Answer::NameRefused(why)
        } else if let Some(why) = data.strip_prefix(BALISE_FULL.as_bytes()) {
            Answer::Full(why)
        } else {
            Answer::Other
        }
    }
}

// ---------------------------------------------------------------------------
// Names

/// Why a name is refused. `Display` is the French reason the client prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    NotUtf8,
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters (how many).
    TooLong(usize),
    /// A character outside letters, digits, `_`, `-`, `.`.
    Forbidden(char),
    /// A member already has this name (up to case and NFKC): the name asked.
    Taken(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const RULE: &str = "lettres, chiffres, _ - . seulement";
        match self {
            NameError::NotUtf8 => write!(f, "nom refusé : ce n'est pas de l'UTF-8"),
            NameError::Empty => write!(f, "nom refusé : il est vide"),
            NameError::TooLong(n) => {
                write!(f, "nom refusé : {n} caractères, {MAX_NAME_CHARS} au plus")
            }
            NameError::Forbidden(c) => {
                let shown = if needs_escape(*c) || c.is_whitespace() {
                    escape_char_always(*c)
                } else {
                    format!("« {c} »")
                };
                write!(f, "nom refusé : caractère {shown} interdit ({RULE})")
            }
            NameError::Taken(name) => write!(
                f,
                "nom refusé : « {name} » est déjà pris, choisissez-en un autre"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// A name that passed [`check_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// As shown to everyone: trimmed, in NFC.
    pub display: String,
    /// What uniqueness compares: NFKC, lower case, NFKC again (so `ALICE`,
    /// `alice` and `ａｌｉｃｅ` (full-width) are one name).
    pub key: String,
}

/// Is `c` allowed in a name: a letter of any script (with the marks that
/// belong to its letters), a digit, `_`, `-` or `.`.
pub fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Checks a raw name (surrounding white space is trimmed) against the rule;
/// uniqueness is the caller's, through [`Name::key`].
pub fn check_name(raw: &[u8]) -> Result<Name, NameError> {
    let text = std::str::from_utf8(raw).map_err(|_| NameError::NotUtf8)?;
    let display: String = text.trim().nfc().collect();
    let chars = display.chars().count();
    if chars == 0 {
        return Err(NameError::Empty);
    }
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong(chars));
    }
    if let Some(c) = display.chars().find(|&c| !name_char(c)) {
        return Err(NameError::Forbidden(c));
    }
    let key = name_key(&display);
    Ok(Name { display, key })
}

/// The key names are compared by: NFKC, lower case, NFKC again (lower-casing
/// can leave a string that is not in NFKC). Chat-IRC's names use it too.
pub fn name_key(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

// ---------------------------------------------------------------------------
// Text escaping

/// Format characters (Unicode category Cf) that are escaped: bidi controls,
/// zero-width spaces, invisible operators, tags... all but ZWNJ (U+200C) and
/// ZWJ (U+200D), which Persian and Indic scripts and emoji sequences (👩‍💻)
/// need and which neither move text nor break lines. Ranges of Unicode 15
/// (checked against Python's `unicodedata` by `crates/protocols/tests/chat_python.rs`).
const FORMAT_CHARS: [(u32, u32); 22] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200B),
    (0x200E, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Does `c` get escaped: C0 controls but tab, DEL, C1 controls, the line
/// and paragraph separators (U+2028, U+2029) and the format characters of
/// `FORMAT_CHARS`.
pub fn needs_escape(c: char) -> bool {
    let u = c as u32;
    match u {
        0x09 => false,
        0x00..=0x1F | 0x7F..=0x9F | 0x2028 | 0x2029 => true,
        0x20..=0x7E | 0xA0..=0xAC => false,
        _ => FORMAT_CHARS.iter().any(|&(lo, hi)| (lo..=hi).contains(&u)),
    }
}

/// `c` as Python writes it in a `repr`: `\x1b`, `\u202e`, `\U000e0001`.
fn escape_char_always(c: char) -> String {
    let u = c as u32;
    if u <= 0xFF {
        format!("\\x{u:02x}")
    } else if u <= 0xFFFF {
        format!("\\u{u:04x}")
    } else {
        format!("\\U{u:08x}")
    }
}

/// The one escaping rule: every character of [`needs_escape`] becomes its
/// Python escape (`\n` -> `\x0a`, ESC -> `\x1b`, RLO -> `\u202e`); all
/// else, accents, emoji, tabs and backslashes included, is kept byte for
/// byte. The result is one line that cannot move the cursor, clear the
/// screen, set a window title, reach the clipboard (OSC 52) or reorder text.
/// It is for display: a typed `\x1b` and an escaped ESC look the same.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    escape_with(text, needs_escape)
}

/// [`escape_text`], but the characters of `keep` stay as they are (IRC's
/// formatting codes, for IRC clients, which render them).
pub fn escape_text_keeping<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    escape_with(text, |c| needs_escape(c) && !keep.contains(&c))
}

/// What a client prints: [`escape_text`]'s rule, but a line feed is kept,
/// since the sheet's own notifications (`\n***pr*** vient de rentrer...\n`)
/// are several lines. A line feed only moves down a line; what could
/// rewrite or hide a line (CR, ESC, bidi controls...) is still escaped.
/// Lines in *messages* cannot be forged through our server, which escapes
/// them with [`escape_text`].
pub fn escape_for_terminal(bytes: &[u8]) -> Cow<'_, str> {
    escape_bytes_with(bytes, |c| c != '\n' && needs_escape(c))
}

fn escape_with(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.push_str(&escape_char_always(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape_text`] for bytes that may not be UTF-8 (what a client received):
/// a byte that is not part of valid UTF-8 is written `\xNN` too.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    escape_bytes_with(bytes, needs_escape)
}

fn escape_bytes_with(bytes: &[u8], escaped: impl Fn(char) -> bool + Copy) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape_with(text, escaped);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_with(chunk.valid(), escaped));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sheets_texts_are_unchanged() {
        for text in [
            "coucou",
            "hello",
            "hey",
            "je suis là !",
            "",
            "tab\there",
            "C:\\chemin",
            "😀 👩‍💻 🇫🇷",
            "ﻣﯽ‌خواهم",
        ] {
            assert!(matches!(escape_text(text), Cow::Borrowed(_)), "{text:?}");
        }
        assert_eq!(message("hs", "je suis là !"), "[hs] : je suis là !");
    }

    #[test]
    fn a_forged_line_and_terminal_escapes_stay_on_one_line() {
        let attack =
            "hi\n[alice] : give me your password\n\x1b[2J\x1b]0;owned\x07\x1b]52;c;aGk=\x07";
        let line = message("mallory", attack);
        assert_eq!(
            line,
            "[mallory] : hi\\x0a[alice] : give me your password\\x0a\\x1b[2J\\x1b]0;owned\\x07\\x1b]52;c;aGk=\\x07"
        );
        assert!(!line.chars().any(|c| c.is_control()));
        assert_eq!(
            escape_text("a\u{202e}b\u{200b}c\u{2028}d\r\u{85}\u{7f}\u{e0041}"),
            "a\\u202eb\\u200bc\\u2028d\\x0d\\x85\\x7f\\U000e0041"
        );
    }

    #[test]
    fn invalid_utf8_is_escaped_byte_by_byte() {
        assert_eq!(escape_bytes(b"ok"), "ok");
        assert_eq!(
            escape_bytes(b"a\xff\x1b[2Jl\xc3\xa0\xc3"),
            "a\\xff\\x1b[2Jlà\\xc3"
        );
    }

    #[test]
    fn a_terminal_gets_the_sheets_line_feeds_and_nothing_else() {
        let welcome = "\n***pr*** vient de rentrer sur le chat !\n";
        assert!(matches!(
            escape_for_terminal(welcome.as_bytes()),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_for_terminal(b"a\nb\rc\x1b[2J\xe2\x80\xae\xff"),
            "a\nb\\x0dc\\x1b[2J\\u202e\\xff"
        );
    }

    #[test]
    fn every_control_character_is_escaped() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert_eq!(needs_escape(c), c != '\t', "{c:?}");
        }
        for c in ['\u{200c}', '\u{200d}', 'é', ' ', '~', '\u{a0}', '\u{fe0f}'] {
            assert!(!needs_escape(c), "{c:?}");
        }
    }

    #[test]
    fn names_letters_of_any_script_digits_and_three_signs() {
        for ok in [
            "pr",
            "as",
            "élodie",
            "Ζωή",
            "李小龍",
            "nom_2.0-b",
            &"é".repeat(32),
        ] {
            let name = check_name(ok.as_bytes()).unwrap();
            assert_eq!(name.display, ok);
        }
        assert_eq!(check_name(b"  b \t").unwrap().display, "b");
        // Decomposed é (e + U+0301) is shown composed.
        assert_eq!(
            check_name("e\u{301}lodie".as_bytes()).unwrap().display,
            "élodie"
        );
        let long = "é".repeat(33);
        let cases: [(&[u8], NameError); 8] = [
            (b"", NameError::Empty),
            (b"   ", NameError::Empty),
            (b"\xff", NameError::NotUtf8),
            (long.as_bytes(), NameError::TooLong(33)),
            (b"a\nb", NameError::Forbidden('\n')),
            ("ali\u{202e}ce".as_bytes(), NameError::Forbidden('\u{202e}')),
            ("al\u{200b}ice".as_bytes(), NameError::Forbidden('\u{200b}')),
            (b"alice] : hi [x", NameError::Forbidden(']')),
        ];
        for (raw, why) in cases {
            assert_eq!(check_name(raw), Err(why), "{raw:?}");
        }
    }

    #[test]
    fn look_alike_names_share_a_key() {
        let key = |s: &str| check_name(s.as_bytes()).unwrap().key;
        assert_eq!(key("alice"), key("ALICE"));
        assert_eq!(key("alice"), key("Alice"));
        assert_eq!(key("alice"), key("ａｌｉｃｅ")); // full-width, NFKC
        assert_eq!(key("ﬁle"), key("FILE")); // ligature fi, NFKC
        assert_eq!(key("élodie"), key("E\u{301}LODIE"));
        assert_ne!(key("alice"), key("alicia"));
    }

    #[test]
    fn refusals_read_as_sentences() {
        assert_eq!(
            name_refused(&NameError::Taken("alice".into())),
            "__name_refused__:nom refusé : « alice » est déjà pris, choisissez-en un autre"
        );
        assert_eq!(
            NameError::Forbidden('\u{202e}').to_string(),
            "nom refusé : caractère \\u202e interdit (lettres, chiffres, _ - . seulement)"
        );
        assert_eq!(
            NameError::Forbidden(']').to_string(),
            "nom refusé : caractère « ] » interdit (lettres, chiffres, _ - . seulement)"
        );
        assert!(NameError::Forbidden(' ')
            .to_string()
            .contains("caractère \\x20 interdit"));
        let refusal = name_refused(&NameError::Empty);
        assert_eq!(
            Answer::parse(refusal.as_bytes()),
            Answer::NameRefused("nom refusé : il est vide".as_bytes())
        );
        assert_eq!(Answer::parse(b"__full__:x"), Answer::Full(b"x"));
        assert_eq!(
            Answer::parse(entrance_notification("pr").as_bytes()),
            Answer::Other
        );
    }

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::NewName(b"pr"),
            Request::Message("je suis là !".as_bytes()),
            Request::Quit,
            Request::KeepAlive,
        ] {
            assert_eq!(Request::parse(&r.emit()), Some(r));
        }
        for junk in [&b"__quit__ "[..], b"__MESSAGE__:x", b"", b"__keepalive__x"] {
            assert_eq!(Request::parse(junk), None);
        }
    }
}
