//! Names and texts of the Chat-IRC server: the nickname/channel-name rule,
//! the key two names are compared by, and control-character escaping.
//!
//! **Merge note**: the UDP chat gets the same rules in `protocols::chat`
//! (written in parallel). This module is deliberately small and
//! self-contained (three functions and one error) so that, at merge, its
//! callers can switch to that module's equivalents and this file can go.
//!
//! - [`check_name`]: 1 to [`MAX_NAME_CHARS`] characters, each a letter, a
//!   digit, `_` or `-` (so no space, no control character, no `#`, `,`, `;`
//!   or `:`, which the two grammars use as separators).
//! - [`name_key`]: NFKC, then lower case: `Ｂob`, `BOB` and `bob` are the same
//!   name, so nobody can take a look-alike of someone else's nickname.
//! - [`escape_controls`]: what may reach another user's terminal. C0, DEL, C1
//!   and the bidirectional controls are written `\x1b`, `\u202e`..., so no
//!   text can move a cursor, clear a screen or reorder what is displayed.
//!
//! The key and the escaping are the UDP chat's ([`crate::chat`]), so both
//! chats compare names and escape text the same way.

use std::fmt;

/// Longest nickname or channel name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Why a nickname or channel name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters.
    TooLong {
        chars: usize,
    },
    /// A character that is not a letter, a digit, `_` or `-`.
    BadChar(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("nom vide"),
            NameError::TooLong { chars } => {
                write!(f, "{chars} caractères, {MAX_NAME_CHARS} au plus")
            }
            NameError::BadChar(c) => write!(
                f,
                "caractère '{}' interdit (lettres, chiffres, _ et - seulement)",
                escape_controls(&c.to_string(), &[])
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks the name rule shared by nicknames and channel names.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(NameError::BadChar(c));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { chars });
    }
    Ok(())
}

/// The key names are compared by: [`crate::chat::name_key`], the UDP
/// chat's (NFKC, lower case, NFKC again).
pub use crate::chat::name_key;

/// Is `c` one of the characters [`escape_controls`] rewrites (unless kept)?
/// The UDP chat's rule, [`crate::chat::needs_escape`].
pub use crate::chat::needs_escape as is_dangerous;

/// `text` escaped by the UDP chat's rule ([`crate::chat::escape_text`]:
/// C0 controls but tab, DEL, C1, the line separators and the format
/// characters such as the bidi controls become `\x1b`, `\u202e`...),
/// except the characters in `keep` (IRC's formatting codes, for IRC
/// clients, which render them). For display: not reversible.
pub fn escape_controls(text: &str, keep: &[char]) -> String {
    crate::chat::escape_text_keeping(text, keep).into_owned()
}

/// IRC's formatting codes (CTCP, bold, colour, reset, monospace, reverse,
/// italic, strike, underline): kept in what IRC clients receive.
pub const IRC_FORMATTING: &[char] = &[
    '\u{01}', '\u{02}', '\u{03}', '\u{0f}', '\u{11}', '\u{16}', '\u{1d}', '\u{1e}', '\u{1f}',
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_name_rule() {
        for ok in ["alice", "Bob_2", "a-b", "élodie", "x", &"n".repeat(32)] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(
            check_name(&"é".repeat(33)),
            Err(NameError::TooLong { chars: 33 })
        );
        for (bad, c) in [
            ("a b", ' '),
            ("#chan", '#'),
            ("a;b", ';'),
            ("a\nb", '\n'),
            ("a\u{1b}[2J", '\u{1b}'),
            ("a\u{202e}b", '\u{202e}'),
            ("a:b", ':'),
            ("a,b", ','),
        ] {
            assert_eq!(check_name(bad), Err(NameError::BadChar(c)), "{bad:?}");
        }
        assert_eq!(
            NameError::BadChar('\u{1b}').to_string(),
            "caractère '\\x1b' interdit (lettres, chiffres, _ et - seulement)"
        );
    }

    #[test]
    fn look_alikes_share_a_key() {
        assert_eq!(name_key("BOB"), "bob");
        // Fullwidth letters and the "ﬁ" ligature fold under NFKC.
        assert_eq!(name_key("Ｂｏｂ"), "bob");
        assert_eq!(name_key("ﬁlou"), "filou");
        // A precomposed and a decomposed é are the same name.
        assert_eq!(name_key("e\u{301}lodie"), name_key("Élodie"));
        assert_ne!(name_key("alice"), name_key("alicia"));
    }

    #[test]
    fn controls_are_escaped_and_formatting_can_be_kept() {
        assert_eq!(escape_controls("salut", &[]), "salut");
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\u{7f}\u{85}\u{202e}c\td\u{200b}", &[]),
            "a\\x1b[2Jb\\x7f\\x85\\u202ec\td\\u200b"
        );
        assert_eq!(
            escape_controls("\u{02}gras\u{02} \u{1b}", IRC_FORMATTING),
            "\u{02}gras\u{02} \\x1b"
        );
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_dangerous_character(s in any::<String>()) {
            let e = escape_controls(&s, &[]);
            prop_assert!(!e.chars().any(is_dangerous));
            let _ = check_name(&s);
            let _ = name_key(&s);
        }

        #[test]
        fn valid_names_have_valid_keys(s in "[a-zA-Z0-9_-]{1,32}") {
            prop_assert_eq!(check_name(&s), Ok(()));
            prop_assert_eq!(name_key(&s), s.to_lowercase());
        }
    }
}
