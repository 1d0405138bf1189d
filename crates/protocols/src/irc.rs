//! IRC message syntax (RFC 1459 section 2.3, RFC 2812 section 2.3), the
//! subset a chat server needs: parse one line, write one line. No I/O.
//!
//! ```text
//! message = [ ":" prefix SPACE ] command [ params ] crlf
//! params  = *14( SPACE middle ) [ SPACE ":" trailing ]
//!         / 14( SPACE middle ) [ SPACE [ ":" ] trailing ]
//! ```
//!
//! - [`Message::parse`] takes a line without its CRLF (the line reader
//!   strips it), tolerates runs of spaces between parameters (as RFC 1459
//!   does) and skips IRCv3 tags (`@k=v `), which this server never asks for
//!   but a client may send.
//! - [`Message::to_line`] writes the line with its CRLF, never longer than
//!   [`MAX_LINE_BYTES`]: a last parameter that does not fit is cut at a
//!   character boundary, as IRC servers do. It never produces a second line:
//!   CR, LF and NUL inside a parameter become spaces. The last parameter
//!   of a numeric, PRIVMSG, NOTICE, PART, KICK, QUIT, TOPIC, ERROR or PONG
//!   (free text) always gets its colon.
//! - [`Message::numeric`]: the server's numeric replies
//!   (`:server 001 nick :text`).

use std::fmt;

/// Longest IRC line, CRLF included (RFC 2812 section 2.3).
pub const MAX_LINE_BYTES: usize = 512;
/// Longest IRC line without its CRLF.
pub const MAX_CONTENT_BYTES: usize = MAX_LINE_BYTES - 2;
/// Most parameters in one message.
pub const MAX_PARAMS: usize = 15;

/// One IRC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The origin (`nick!user@host` or a server name), without its `:`.
    pub prefix: Option<String>,
    /// The command, upper-cased (`PRIVMSG`), or a three-digit numeric.
    pub command: String,
    /// The parameters, the trailing one last (without its `:`).
    pub params: Vec<String>,
}

/// Why a line is not an IRC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrcError {
    /// Nothing but spaces (or tags).
    Empty,
    /// Longer than [`MAX_CONTENT_BYTES`] (CRLF excluded).
    TooLong { len: usize },
    /// A prefix with no command after it.
    NoCommand,
    /// A command that is neither letters nor three digits.
    BadCommand(String),
    /// A NUL, CR or LF inside the line.
    ForbiddenChar,
}

impl fmt::Display for IrcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrcError::Empty => f.write_str("ligne IRC vide"),
            IrcError::TooLong { len } => write!(
                f,
                "ligne IRC de {len} octets, {MAX_CONTENT_BYTES} au plus (hors CRLF)"
            ),
            IrcError::NoCommand => f.write_str("préfixe IRC sans commande"),
            IrcError::BadCommand(c) => write!(
                f,
                "commande IRC invalide {c:?} (des lettres ou trois chiffres)"
            ),
            IrcError::ForbiddenChar => f.write_str("NUL, CR ou LF dans une ligne IRC"),
        }
    }
}

impl std::error::Error for IrcError {}

impl Message {
    /// A message without prefix (what a client sends).
    pub fn new<I, S>(command: &str, params: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Message {
            prefix: None,
            command: command.to_owned(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// The same message, sent from `prefix`.
    pub fn from(mut self, prefix: &str) -> Message {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// A numeric reply: `:server CODE target params...`.
    pub fn numeric<I, S>(server: &str, code: u16, target: &str, params: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all = vec![target.to_owned()];
        all.extend(params.into_iter().map(Into::into));
        Message {
            prefix: Some(server.to_owned()),
            command: format!("{code:03}"),
            params: all,
        }
    }

    /// The numeric code, if the command is one.
    pub fn code(&self) -> Option<u16> {
        let b = self.command.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_digit) {
            self.command.parse().ok()
        } else {
            None
        }
    }

    /// Parses one line, CRLF already removed.
    pub fn parse(line: &str) -> Result<Message, IrcError> {
        if line.len() > MAX_CONTENT_BYTES {
            return Err(IrcError::TooLong { len: line.len() });
        }
        if line.contains(FORBIDDEN) {
            return Err(IrcError::ForbiddenChar);
        }
        let mut rest = line.trim_start_matches(' ');
        if rest.starts_with('@') {
            // IRCv3 tags: ignored.
            rest = rest
                .split_once(' ')
                .map_or("", |(_, r)| r)
                .trim_start_matches(' ');
        }
        let mut prefix = None;
        if let Some(p) = rest.strip_prefix(':') {
            let (p, r) = p.split_once(' ').unwrap_or((p, ""));
            prefix = Some(p.to_owned());
            rest = r.trim_start_matches(' ');
            if rest.is_empty() {
                return Err(IrcError::NoCommand);
            }
        }
        if rest.is_empty() {
            return Err(IrcError::Empty);
        }
        let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let letters = command.bytes().all(|b| b.is_ascii_alphabetic());
        let numeric = command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit());
        if !(letters || numeric) {
            return Err(IrcError::BadCommand(command.to_owned()));
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing.to_owned());
                break;
            }
            if params.len() == MAX_PARAMS - 1 {
                // RFC 2812: the 15th parameter is the rest, colon or not.
                params.push(rest.to_owned());
                break;
            }
            let (middle, r) = rest.split_once(' ').unwrap_or((rest, ""));
            params.push(middle.to_owned());
            rest = r;
        }
        Ok(Message {
            prefix,
            command: command.to_ascii_uppercase(),
            params,
        })
    }

    /// The parameter `i`, if present.
    pub fn param(&self, i: usize) -> Option<&str> {
        self.params.get(i).map(String::as_str)
    }

    /// The line, CRLF included, at most [`MAX_LINE_BYTES`] long.
    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(64);
        if let Some(p) = &self.prefix {
            out.push(':');
            push_clean(&mut out, p);
            out.push(' ');
        }
        out.push_str(&self.command);
        let last = self.params.len().saturating_sub(1);
        // Where the last parameter is free text, it is written with its
        // colon even when one word, as servers do (some clients expect it).
        let text_last = self.code().is_some()
            || matches!(
                self.command.as_str(),
                "PRIVMSG" | "NOTICE" | "PART" | "KICK" | "QUIT" | "TOPIC" | "ERROR" | "PONG"
            );
        for (i, p) in self.params.iter().enumerate() {
            out.push(' ');
            let needs_colon = p.is_empty() || p.starts_with(':') || p.contains(FORBIDDEN);
            if i == last && (needs_colon || p.contains(' ') || text_last) {
                out.push(':');
            }
            push_clean(&mut out, p);
        }
        if out.len() > MAX_CONTENT_BYTES {
            let mut cut = MAX_CONTENT_BYTES;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
        }
        out.push_str("\r\n");
        out
    }
}

impl fmt::Display for Message {
    /// The line without its CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.to_line();
        f.write_str(line.trim_end_matches("\r\n"))
    }
}

const FORBIDDEN: [char; 3] = ['\0', '\r', '\n'];

fn push_clean(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| match c {
        '\0' | '\r' | '\n' => ' ',
        c => c,
    }));
}

/// The numerics this server sends (RFC 2812 section 5), by name.
pub mod numeric {
    pub const RPL_WELCOME: u16 = 1;
    pub const RPL_YOURHOST: u16 = 2;
    pub const RPL_CREATED: u16 = 3;
    pub const RPL_MYINFO: u16 = 4;
    pub const RPL_UMODEIS: u16 = 221;
    pub const RPL_ENDOFWHO: u16 = 315;
    pub const RPL_LISTSTART: u16 = 321;
    pub const RPL_LIST: u16 = 322;
    pub const RPL_LISTEND: u16 = 323;
    pub const RPL_CHANNELMODEIS: u16 = 324;
    pub const RPL_NOTOPIC: u16 = 331;
    pub const RPL_TOPIC: u16 = 332;
    pub const RPL_WHOREPLY: u16 = 352;
    pub const RPL_NAMREPLY: u16 = 353;
    pub const RPL_ENDOFNAMES: u16 = 366;
    pub const RPL_ENDOFBANLIST: u16 = 368;
    pub const ERR_NOSUCHNICK: u16 = 401;
    pub const ERR_NOSUCHCHANNEL: u16 = 403;
    pub const ERR_CANNOTSENDTOCHAN: u16 = 404;
    pub const ERR_TOOMANYCHANNELS: u16 = 405;
    pub const ERR_NORECIPIENT: u16 = 411;
    pub const ERR_NOTEXTTOSEND: u16 = 412;
    pub const ERR_INPUTTOOLONG: u16 = 417;
    pub const ERR_UNKNOWNCOMMAND: u16 = 421;
    pub const ERR_NOMOTD: u16 = 422;
    pub const ERR_NONICKNAMEGIVEN: u16 = 431;
    pub const ERR_ERRONEUSNICKNAME: u16 = 432;
    pub const ERR_NICKNAMEINUSE: u16 = 433;
    pub const ERR_USERNOTINCHANNEL: u16 = 441;
    pub const ERR_NOTONCHANNEL: u16 = 442;
    pub const ERR_NOTREGISTERED: u16 = 451;
    pub const ERR_NEEDMOREPARAMS: u16 = 461;
    pub const ERR_ALREADYREGISTRED: u16 = 462;
    pub const ERR_UNKNOWNMODE: u16 = 472;
    pub const ERR_CHANOPRIVSNEEDED: u16 = 482;
    pub const ERR_UMODEUNKNOWNFLAG: u16 = 501;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_rfc_shapes() {
        let m = Message::parse(":alice!a@h PRIVMSG #chan :bonjour à tous").unwrap();
        assert_eq!(m.prefix.as_deref(), Some("alice!a@h"));
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(m.params, ["#chan", "bonjour à tous"]);
        let m = Message::parse("nick  alice").unwrap();
        assert_eq!(
            (m.command.as_str(), m.params.as_slice()),
            ("NICK", &["alice".to_string()][..])
        );
        let m = Message::parse("USER a 0 * :Alice Liddell").unwrap();
        assert_eq!(m.params, ["a", "0", "*", "Alice Liddell"]);
        let m = Message::parse("PRIVMSG #c :").unwrap();
        assert_eq!(m.params, ["#c", ""]);
        let m = Message::parse("@time=x :srv 001 bob :Bienvenue").unwrap();
        assert_eq!(m.code(), Some(1));
        assert_eq!(m.params, ["bob", "Bienvenue"]);
        let m = Message::parse("QUIT").unwrap();
        assert!(m.params.is_empty() && m.prefix.is_none());
        // Fifteen parameters: the last is the rest of the line.
        let m = Message::parse("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16").unwrap();
        assert_eq!(m.params.len(), 15);
        assert_eq!(m.params[14], "15 16");
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        assert_eq!(Message::parse(""), Err(IrcError::Empty));
        assert_eq!(Message::parse("   "), Err(IrcError::Empty));
        assert_eq!(Message::parse(":srv"), Err(IrcError::NoCommand));
        assert_eq!(Message::parse(":srv   "), Err(IrcError::NoCommand));
        assert_eq!(
            Message::parse("PRIV-MSG x"),
            Err(IrcError::BadCommand("PRIV-MSG".into()))
        );
        assert_eq!(
            Message::parse("12 x"),
            Err(IrcError::BadCommand("12".into()))
        );
        assert_eq!(Message::parse("PING a\0b"), Err(IrcError::ForbiddenChar));
        let long = format!("PRIVMSG #c :{}", "x".repeat(500));
        assert_eq!(
            Message::parse(&long),
            Err(IrcError::TooLong { len: long.len() })
        );
        assert!(Message::parse(&long[..MAX_CONTENT_BYTES]).is_ok());
    }

    #[test]
    fn writes_numerics_and_trailing_parameters() {
        let m = Message::numeric("irc_server", 1, "bob", ["Bienvenue bob"]);
        assert_eq!(m.to_line(), ":irc_server 001 bob :Bienvenue bob\r\n");
        let m = Message::numeric("s", 366, "bob", ["#c", "End of /NAMES list."]);
        assert_eq!(m.to_line(), ":s 366 bob #c :End of /NAMES list.\r\n");
        let m = Message::numeric("s", 353, "bob", ["=", "#c", "@bob"]);
        assert_eq!(m.to_line(), ":s 353 bob = #c :@bob\r\n");
        assert_eq!(
            Message::new("MODE", ["#c", "+o", "bob"]).to_line(),
            "MODE #c +o bob\r\n"
        );
        assert_eq!(
            Message::new("PRIVMSG", ["bob", "salut"]).to_line(),
            "PRIVMSG bob :salut\r\n"
        );
        assert_eq!(
            Message::new("JOIN", ["#c"]).from("a!a@h").to_line(),
            ":a!a@h JOIN #c\r\n"
        );
        assert_eq!(
            Message::new("PRIVMSG", ["#c", ""]).to_line(),
            "PRIVMSG #c :\r\n"
        );
        assert_eq!(
            Message::new("PRIVMSG", ["#c", ":)"]).to_line(),
            "PRIVMSG #c ::)\r\n"
        );
        assert_eq!(
            Message::new("QUIT", Vec::<String>::new()).to_line(),
            "QUIT\r\n"
        );
        // A newline in a parameter can never start a second line.
        assert_eq!(
            Message::new("PRIVMSG", ["#c", "a\r\nQUIT"]).to_line(),
            "PRIVMSG #c :a  QUIT\r\n"
        );
        assert_eq!(Message::new("PING", ["x"]).to_string(), "PING x");
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        let text = "é".repeat(400);
        let line = Message::new("PRIVMSG", ["#c", &text])
            .from("alice!alice@127.0.0.1")
            .to_line();
        assert!(line.len() <= MAX_LINE_BYTES, "{}", line.len());
        assert!(line.len() >= MAX_LINE_BYTES - 1);
        assert!(line.ends_with("é\r\n"));
    }

    fn middle() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9#!@.*_-][a-zA-Z0-9#!@.:*_-]{0,10}"
    }

    proptest! {
        #[test]
        fn any_line_parses_or_fails_cleanly(s in any::<String>()) {
            if let Ok(m) = Message::parse(&s) {
                // What parsed writes back to something that parses the same.
                let line = m.to_line();
                prop_assert!(line.len() <= MAX_LINE_BYTES);
                let again = Message::parse(line.trim_end_matches("\r\n"));
                if line.len() < MAX_LINE_BYTES - 1 && !m.params.iter().any(|p| p.contains(['\0', '\r', '\n'])) {
                    prop_assert_eq!(again, Ok(m));
                }
            }
        }

        #[test]
        fn written_messages_parse_back(
            prefix in proptest::option::of("[a-z]{1,8}![a-z]{1,8}@[a-z0-9.]{1,12}"),
            command in "[A-Z]{1,10}|[0-9]{3}",
            middles in proptest::collection::vec(middle(), 0..10),
            trailing in proptest::option::of("[^\r\n\0]{0,100}"),
        ) {
            let mut params = middles;
            params.extend(trailing);
            let m = Message { prefix, command, params };
            let line = m.to_line();
            prop_assert_eq!(Message::parse(line.trim_end_matches("\r\n")), Ok(m));
        }
    }
}
