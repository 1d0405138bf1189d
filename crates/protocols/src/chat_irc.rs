//! The Chat-IRC mini-project's own line protocol, as its client sends it.
//! No I/O.
//!
//! The report's client sends every typed line starting with `/` without the
//! `/` (`/JOIN chan1` -> `JOIN chan1`) and any other line prefixed with
//! `message` (`bonjour` -> `messagebonjour`); its first line is the
//! nickname, sent the same way (`messagealice`). So:
//!
//! - [`client_line`]: what a client sends for a typed line;
//! - [`Command::parse`]: a received line to a command (the command word in
//!   any case, its arguments checked: one word where a name is expected);
//! - [`Command::to_line`]: the line a client sends for a command (the
//!   inverse of `parse`, tested round trip);
//! - [`nickname_line`]: the nickname a first line carries.
//!
//! Names are not checked here (see [`crate::irc_text::check_name`]): the
//! server answers a bad name with its own sentence.

use std::fmt;

use crate::chat_irc_file::{hash_hex, parse_hash};

/// The prefix of a line that is not a command.
pub const MESSAGE_PREFIX: &str = "message";

/// One line from a client, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    List,
    Join(String),
    Leave,
    Who,
    /// A line that did not start with `/`: text for the current channel.
    Text(String),
    /// `MSG a;b;c texte`.
    Msg {
        to: Vec<String>,
        text: String,
    },
    Bye,
    Kick(String),
    Ren(String),
    /// `CURRENT` (None) or `CURRENT canal`.
    Current(Option<String>),
    Nick(String),
    Grant(String),
    Revoke(String),
    /// `SEND nick taille empreinte fichier`: what `irc_client` sends for
    /// `/SEND nick chemin` once it has read the file (the name may hold
    /// spaces; see [`crate::chat_irc_file`]).
    Send {
        to: String,
        size: u64,
        hash: u64,
        file: String,
    },
    /// `RECV nick [dossier]`.
    Recv {
        from: String,
        dir: Option<String>,
    },
    History,
    Kill(String),
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The first word names no command (upper-cased, as received).
    Unknown(String),
    /// A known command with missing or extra arguments; the usage to show.
    Usage(&'static str),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(word) => write!(f, "commande inconnue {word}"),
            CommandError::Usage(usage) => write!(f, "syntaxe : {usage}"),
        }
    }
}

impl std::error::Error for CommandError {}

/// The usage line of each command with arguments, as HELP shows it.
pub mod usage {
    pub const JOIN: &str = "/JOIN <chaîne>";
    pub const MSG: &str = "/MSG <pseudo1;pseudo2;...> <message>";
    pub const KICK: &str = "/KICK <pseudo>";
    pub const REN: &str = "/REN <chaîne>";
    pub const CURRENT: &str = "/CURRENT [<chaîne>]";
    pub const NICK: &str = "/NICK <pseudo>";
    pub const GRANT: &str = "/GRANT <pseudo>";
    pub const REVOKE: &str = "/REVOKE <pseudo>";
    pub const SEND: &str = "/SEND <pseudo> <fichier>";
    /// What the client sends for [`SEND`], the file read.
    pub const SEND_LINE: &str = "SEND <pseudo> <taille> <empreinte> <fichier>";
    pub const RECV: &str = "/RECV <pseudo> [<dossier>]";
    pub const KILL: &str = "/KILL <pseudo>";
    pub const HELP: &str = "/HELP";
    pub const LIST: &str = "/LIST";
    pub const LEAVE: &str = "/LEAVE";
    pub const WHO: &str = "/WHO";
    pub const BYE: &str = "/BYE";
    pub const HISTORY: &str = "/HISTORY";
}

impl Command {
    /// Parses one received line (its `\n`/`\r\n` already removed).
    pub fn parse(line: &str) -> Result<Command, CommandError> {
        if let Some(text) = line.strip_prefix(MESSAGE_PREFIX) {
            return Ok(Command::Text(text.to_owned()));
        }
        let line = line.trim_start();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim_start();
        let word = word.to_uppercase();
        let args: Vec<&str> = rest.split_whitespace().collect();
        let none = |c: Command, u: &'static str| {
            if args.is_empty() {
                Ok(c)
            } else {
                Err(CommandError::Usage(u))
            }
        };
        let one = |u: &'static str| match args.as_slice() {
            [a] => Ok((*a).to_owned()),
            _ => Err(CommandError::Usage(u)),
        };
        match word.as_str() {
            "HELP" => none(Command::Help, usage::HELP),
            "LIST" => none(Command::List, usage::LIST),
            "LEAVE" => none(Command::Leave, usage::LEAVE),
            "WHO" => none(Command::Who, usage::WHO),
            "BYE" => none(Command::Bye, usage::BYE),
            "HISTORY" => none(Command::History, usage::HISTORY),
            "JOIN" => one(usage::JOIN).map(Command::Join),
            "KICK" => one(usage::KICK).map(Command::Kick),
            "REN" => one(usage::REN).map(Command::Ren),
            "NICK" => one(usage::NICK).map(Command::Nick),
            "GRANT" => one(usage::GRANT).map(Command::Grant),
            "REVOKE" => one(usage::REVOKE).map(Command::Revoke),
            "KILL" => one(usage::KILL).map(Command::Kill),
            "CURRENT" => match args.as_slice() {
                [] => Ok(Command::Current(None)),
                [c] => Ok(Command::Current(Some((*c).to_owned()))),
                _ => Err(CommandError::Usage(usage::CURRENT)),
            },
            "MSG" => {
                let (to, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let text = text.trim_start_matches(' ');
                let to: Vec<String> = to.split(';').map(str::to_owned).collect();
                if text.is_empty() || to.iter().any(String::is_empty) {
                    return Err(CommandError::Usage(usage::MSG));
                }
                Ok(Command::Msg {
                    to,
                    text: text.to_owned(),
                })
            }
            "SEND" => {
                let mut words = rest.splitn(4, char::is_whitespace);
                let (to, size, hash) = (words.next(), words.next(), words.next());
                let file = words.next().map(str::trim).unwrap_or("");
                match (
                    to,
                    size.and_then(|s| s.parse().ok()),
                    hash.and_then(parse_hash),
                ) {
                    (Some(to), Some(size), Some(hash)) if !file.is_empty() => Ok(Command::Send {
                        to: to.to_owned(),
                        size,
                        hash,
                        file: file.to_owned(),
                    }),
                    _ => Err(CommandError::Usage(usage::SEND_LINE)),
                }
            }
            "RECV" => match args.as_slice() {
                [from] => Ok(Command::Recv {
                    from: (*from).to_owned(),
                    dir: None,
                }),
                [from, _, ..] => Ok(Command::Recv {
                    from: (*from).to_owned(),
                    dir: Some(rest[from.len()..].trim().to_owned()),
                }),
                [] => Err(CommandError::Usage(usage::RECV)),
            },
            _ => Err(CommandError::Unknown(word)),
        }
    }

    /// The line a client sends for this command (no `\n`).
    pub fn to_line(&self) -> String {
        match self {
            Command::Help => "HELP".into(),
            Command::List => "LIST".into(),
            Command::Join(c) => format!("JOIN {c}"),
            Command::Leave => "LEAVE".into(),
            Command::Who => "WHO".into(),
            Command::Text(t) => format!("{MESSAGE_PREFIX}{t}"),
            Command::Msg { to, text } => format!("MSG {} {text}", to.join(";")),
            Command::Bye => "BYE".into(),
            Command::Kick(n) => format!("KICK {n}"),
            Command::Ren(c) => format!("REN {c}"),
            Command::Current(None) => "CURRENT".into(),
            Command::Current(Some(c)) => format!("CURRENT {c}"),
            Command::Nick(n) => format!("NICK {n}"),
            Command::Grant(n) => format!("GRANT {n}"),
            Command::Revoke(n) => format!("REVOKE {n}"),
            Command::Send {
                to,
                size,
                hash,
                file,
            } => format!("SEND {to} {size} {} {file}", hash_hex(*hash)),
            Command::Recv { from, dir: None } => format!("RECV {from}"),
            Command::Recv { from, dir: Some(d) } => format!("RECV {from} {d}"),
            Command::History => "HISTORY".into(),
            Command::Kill(n) => format!("KILL {n}"),
        }
    }
}

/// What the report's client sends for one typed line (without its `\n`):
/// `/CMD args` as `CMD args`, anything else prefixed with `message`.
pub fn client_line(typed: &str) -> String {
    match typed.strip_prefix('/') {
        Some(command) => command.to_owned(),
        None => format!("{MESSAGE_PREFIX}{typed}"),
    }
}

/// The nickname a first line asks for: the line itself, without the
/// `message` prefix the report's client puts there, and without the
/// surrounding spaces.
pub fn nickname_line(line: &str) -> &str {
    line.strip_prefix(MESSAGE_PREFIX).unwrap_or(line).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<Command, CommandError> {
        Command::parse(s)
    }

    #[test]
    fn the_reports_lines() {
        assert_eq!(parse("JOIN chan1"), Ok(Command::Join("chan1".into())));
        assert_eq!(parse("join  chan1 "), Ok(Command::Join("chan1".into())));
        assert_eq!(parse("messagebonjour"), Ok(Command::Text("bonjour".into())));
        assert_eq!(parse("message"), Ok(Command::Text(String::new())));
        assert_eq!(
            parse("MSG bob;carol salut  à vous"),
            Ok(Command::Msg {
                to: vec!["bob".into(), "carol".into()],
                text: "salut  à vous".into()
            })
        );
        assert_eq!(parse("CURRENT"), Ok(Command::Current(None)));
        assert_eq!(parse("CURRENT c2"), Ok(Command::Current(Some("c2".into()))));
        assert_eq!(parse("HELP"), Ok(Command::Help));
        assert_eq!(parse("BYE"), Ok(Command::Bye));
        assert_eq!(
            parse("SEND bob 12 00000000000000ff mon fichier.txt"),
            Ok(Command::Send {
                to: "bob".into(),
                size: 12,
                hash: 255,
                file: "mon fichier.txt".into()
            })
        );
        assert_eq!(
            parse("RECV alice /tmp/mon dossier"),
            Ok(Command::Recv {
                from: "alice".into(),
                dir: Some("/tmp/mon dossier".into())
            })
        );
        assert_eq!(
            parse("RECV alice"),
            Ok(Command::Recv {
                from: "alice".into(),
                dir: None
            })
        );
    }

    #[test]
    fn bad_lines_say_why() {
        assert_eq!(parse("JOIN"), Err(CommandError::Usage(usage::JOIN)));
        assert_eq!(parse("JOIN a b"), Err(CommandError::Usage(usage::JOIN)));
        assert_eq!(parse("WHO x"), Err(CommandError::Usage(usage::WHO)));
        assert_eq!(parse("MSG bob"), Err(CommandError::Usage(usage::MSG)));
        assert_eq!(parse("MSG bob;;c x"), Err(CommandError::Usage(usage::MSG)));
        assert_eq!(
            parse("CURRENT a b"),
            Err(CommandError::Usage(usage::CURRENT))
        );
        assert_eq!(
            parse("SEND bob"),
            Err(CommandError::Usage(usage::SEND_LINE))
        );
        assert_eq!(
            parse("SEND bob f.txt"),
            Err(CommandError::Usage(usage::SEND_LINE))
        );
        assert_eq!(parse("RECV"), Err(CommandError::Usage(usage::RECV)));
        assert_eq!(parse("FOO x"), Err(CommandError::Unknown("FOO".into())));
        assert_eq!(parse(""), Err(CommandError::Unknown(String::new())));
        assert_eq!(
            CommandError::Usage(usage::JOIN).to_string(),
            "syntaxe : /JOIN <chaîne>"
        );
    }

    #[test]
    fn client_side_lines() {
        assert_eq!(client_line("/JOIN chan1"), "JOIN chan1");
        assert_eq!(client_line("bonjour"), "messagebonjour");
        assert_eq!(client_line("alice"), "messagealice");
        assert_eq!(nickname_line("messagealice"), "alice");
        assert_eq!(nickname_line(" bob "), "bob");
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_-]{1,12}"
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            Just(Command::Help),
            Just(Command::List),
            Just(Command::Leave),
            Just(Command::Who),
            Just(Command::Bye),
            Just(Command::History),
            word().prop_map(Command::Join),
            word().prop_map(Command::Kick),
            word().prop_map(Command::Ren),
            word().prop_map(Command::Nick),
            word().prop_map(Command::Grant),
            word().prop_map(Command::Revoke),
            word().prop_map(Command::Kill),
            proptest::option::of(word()).prop_map(Command::Current),
            "[^\n\r]{0,40}".prop_map(Command::Text),
            (
                proptest::collection::vec(word(), 1..4),
                "[^ \n\r][^\n\r]{0,30}"
            )
                .prop_map(|(to, text)| Command::Msg { to, text }),
            (word(), any::<u64>(), any::<u64>(), "\\S([^\n\r]{0,20}\\S)?").prop_map(
                |(to, size, hash, file)| Command::Send {
                    to,
                    size,
                    hash,
                    file
                }
            ),
            (word(), proptest::option::of("\\S([^\n\r]{0,20}\\S)?"))
                .prop_map(|(from, dir)| Command::Recv { from, dir }),
        ]
    }

    proptest! {
        #[test]
        fn commands_round_trip(c in command()) {
            prop_assert_eq!(Command::parse(&c.to_line()), Ok(c));
        }

        #[test]
        fn any_line_parses_or_fails_cleanly(s in any::<String>()) {
            let _ = Command::parse(&s);
            let _ = nickname_line(&s);
        }
    }
}
