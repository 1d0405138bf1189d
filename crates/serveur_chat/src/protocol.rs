//! The chat protocol of lab 18 as a pure state machine: a datagram and its
//! sender in, the datagrams to send and what to log out. No socket here, so
//! every rule is unit-tested without the network.
//!
//! ```mermaid
//! sequenceDiagram
//!     participant A as client A
//!     participant S as serveur_chat
//!     participant B as client B
//!     A->>S: __new_name__:pr
//!     S->>A: \n***pr*** vient de rentrer sur le chat !\n
//!     B->>S: __new_name__:as
//!     S->>A: \n***as*** vient de rentrer sur le chat !\n
//!     S->>B: \n***as*** vient de rentrer sur le chat !\n
//!     B->>S: __message__:coucou
//!     S->>A: [as] : coucou
//!     A->>S: __quit__
//!     S->>B: \n***pr*** a quitté le chat.\n
//!     S->>A: __quit__
//! ```

use std::fmt;
use std::net::SocketAddr;

/// Registration tag: `__new_name__:NAME`.
pub const TAG_NEW_NAME: &[u8] = b"__new_name__:";
/// Message tag: `__message__:TEXT`.
pub const TAG_MESSAGE: &[u8] = b"__message__:";
/// The whole datagram a client sends to leave, and the server's answer to it.
pub const TAG_QUIT: &[u8] = b"__quit__";
/// Longest name accepted, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 32;
/// Most clients registered at once. Anyone can register from as many
/// ports (or forged source addresses) as they like, and every registration
/// is announced to every member: without a bound, a flood of
/// `__new_name__:` would grow memory and the fan-out (quadratic) without
/// end and starve the real users.
pub const MAX_MEMBERS: usize = 1024;
/// Largest UDP payload over IPv4 (65,535 - 20 - 8); also what we allow over
/// IPv6, so that a message forwarded to an IPv4 client always fits.
pub const MAX_DATAGRAM: usize = 65_507;

/// One payload and everyone it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub payload: Vec<u8>,
    pub to: Vec<SocketAddr>,
}

/// What the server does about one datagram.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// Datagrams to send, in order.
    pub deliveries: Vec<Delivery>,
    /// Why the datagram was ignored, for the stderr log (None when accepted).
    pub rejected: Option<Rejection>,
}

/// Why a datagram changed nothing. Its `Display` is the stderr log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Starts with none of the three tags (or is `__quit__` plus more).
    UnknownTag,
    /// `__message__:` or `__quit__` from an address that never registered.
    NotRegistered,
    /// `__new_name__:` from an address already registered (as this name).
    AlreadyRegistered(String),
    /// The name is not UTF-8, is empty once trimmed, is too long or holds
    /// control characters.
    InvalidName,
    /// The message text is not UTF-8.
    InvalidUtf8,
    /// The forwarded message would not fit in one datagram.
    TooLong,
    /// [`MAX_MEMBERS`] clients are already registered.
    Full,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::UnknownTag => f.write_str("balise inconnue"),
            Rejection::NotRegistered => {
                f.write_str("expéditeur non inscrit (__new_name__: d'abord)")
            }
            Rejection::AlreadyRegistered(name) => {
                write!(f, "adresse déjà inscrite sous le nom {name:?}")
            }
            Rejection::InvalidName => write!(
                f,
                "nom invalide (UTF-8, 1 à {MAX_NAME_CHARS} caractères sans caractère de contrôle)"
            ),
            Rejection::InvalidUtf8 => f.write_str("message qui n'est pas de l'UTF-8"),
            Rejection::TooLong => {
                f.write_str("message trop long pour un datagramme une fois préfixé du nom")
            }
            Rejection::Full => write!(f, "tchat complet ({MAX_MEMBERS} inscrits)"),
        }
    }
}

/// The registered clients, in registration order (as a Python `dict` keeps
/// them, so deliveries go out in the order the sheet's server sends them).
///
/// A `Vec` rather than a map: every accepted datagram but `__quit__` is
/// followed by a delivery to (almost) every member, so a linear lookup costs
/// no more than the fan-out that follows it, and the order is kept for free.
#[derive(Debug, Default, Clone)]
pub struct Chat {
    members: Vec<(SocketAddr, String)>,
}

impl Chat {
    pub fn new() -> Self {
        Self::default()
    }

    /// The registered clients and their names, in registration order.
    pub fn members(&self) -> &[(SocketAddr, String)] {
        &self.members
    }

    fn position(&self, addr: SocketAddr) -> Option<usize> {
        self.members.iter().position(|(a, _)| *a == addr)
    }

    fn all_but(&self, addr: SocketAddr) -> Vec<SocketAddr> {
        self.members
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| *a != addr)
            .collect()
    }

    /// Applies one datagram from `from`.
    pub fn handle(&mut self, from: SocketAddr, data: &[u8]) -> Reaction {
        let outcome = if let Some(name) = data.strip_prefix(TAG_NEW_NAME) {
            self.join(from, name)
        } else if let Some(text) = data.strip_prefix(TAG_MESSAGE) {
            self.message(from, text)
        } else if data == TAG_QUIT {
            self.quit(from)
        } else {
            Err(Rejection::UnknownTag)
        };
        match outcome {
            Ok(deliveries) => Reaction {
                deliveries,
                rejected: None,
            },
            Err(why) => Reaction {
                deliveries: Vec::new(),
                rejected: Some(why),
            },
        }
    }

    fn join(&mut self, from: SocketAddr, raw_name: &[u8]) -> Result<Vec<Delivery>, Rejection> {
        if let Some(i) = self.position(from) {
            return Err(Rejection::AlreadyRegistered(self.members[i].1.clone()));
        }
        let name = valid_name(raw_name).ok_or(Rejection::InvalidName)?;
        if self.members.len() >= MAX_MEMBERS {
            return Err(Rejection::Full);
        }
        let payload = format!("\n***{name}*** vient de rentrer sur le chat !\n").into_bytes();
        self.members.push((from, name.to_owned()));
        let to = self.members.iter().map(|(a, _)| *a).collect();
        Ok(vec![Delivery { payload, to }])
    }

    fn message(&self, from: SocketAddr, text: &[u8]) -> Result<Vec<Delivery>, Rejection> {
        let i = self.position(from).ok_or(Rejection::NotRegistered)?;
        let text = std::str::from_utf8(text).map_err(|_| Rejection::InvalidUtf8)?;
        let name = &self.members[i].1;
        let payload = format!("[{name}] : {text}").into_bytes();
        if payload.len() > MAX_DATAGRAM {
            return Err(Rejection::TooLong);
        }
        Ok(vec![Delivery {
            payload,
            to: self.all_but(from),
        }])
    }

    fn quit(&mut self, from: SocketAddr) -> Result<Vec<Delivery>, Rejection> {
        let i = self.position(from).ok_or(Rejection::NotRegistered)?;
        let (_, name) = self.members.remove(i);
        let farewell = Delivery {
            payload: format!("\n***{name}*** a quitté le chat.\n").into_bytes(),
            to: self.all_but(from),
        };
        let ack = Delivery {
            payload: TAG_QUIT.to_vec(),
            to: vec![from],
        };
        Ok(vec![farewell, ack])
    }
}

/// The trimmed name, if it is one: UTF-8, 1 to 32 characters, no control
/// character (a newline in a name would forge lines in everyone's chat).
pub fn valid_name(raw: &[u8]) -> Option<&str> {
    let name = std::str::from_utf8(raw).ok()?.trim();
    let chars = name.chars().count();
    let ok = (1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control);
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn sends(r: &Reaction) -> Vec<(Vec<SocketAddr>, String)> {
        r.deliveries
            .iter()
            .map(|d| (d.to.clone(), String::from_utf8(d.payload.clone()).unwrap()))
            .collect()
    }

    #[test]
    fn the_sheets_session() {
        let (pr, as_, hs) = (addr(1), addr(2), addr(3));
        let mut chat = Chat::new();
        let r = chat.handle(pr, b"__new_name__:pr");
        assert_eq!(
            sends(&r),
            [(
                vec![pr],
                "\n***pr*** vient de rentrer sur le chat !\n".into()
            )]
        );
        let r = chat.handle(as_, b"__new_name__:as");
        assert_eq!(
            sends(&r),
            [(
                vec![pr, as_],
                "\n***as*** vient de rentrer sur le chat !\n".into()
            )]
        );
        let r = chat.handle(as_, b"__message__:coucou");
        assert_eq!(sends(&r), [(vec![pr], "[as] : coucou".into())]);
        let r = chat.handle(pr, b"__message__:hello");
        assert_eq!(sends(&r), [(vec![as_], "[pr] : hello".into())]);
        chat.handle(hs, b"__new_name__:hs");
        let r = chat.handle(hs, "__message__:je suis là !".as_bytes());
        assert_eq!(sends(&r), [(vec![pr, as_], "[hs] : je suis là !".into())]);
        let r = chat.handle(pr, b"__quit__");
        assert_eq!(
            sends(&r),
            [
                (vec![as_, hs], "\n***pr*** a quitté le chat.\n".into()),
                (vec![pr], "__quit__".into())
            ]
        );
        assert_eq!(
            chat.members(),
            &[(as_, "as".to_string()), (hs, "hs".to_string())]
        );
        assert!(r.rejected.is_none());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let mut chat = Chat::new();
        let r = chat.handle(addr(1), b"__new_name__:  \xc3\xa9lodie \t");
        assert_eq!(
            sends(&r)[0].1,
            "\n***élodie*** vient de rentrer sur le chat !\n"
        );
        let long = format!("__new_name__:{}", "é".repeat(32));
        assert!(chat.handle(addr(2), long.as_bytes()).rejected.is_none());
        let too_long = format!("__new_name__:{}", "é".repeat(33));
        for bad in [
            too_long.as_bytes(),
            b"__new_name__:",
            b"__new_name__:   ",
            b"__new_name__:a\nb",
            b"__new_name__:\xff",
        ] {
            assert_eq!(
                chat.handle(addr(3), bad).rejected,
                Some(Rejection::InvalidName)
            );
        }
        assert_eq!(chat.members().len(), 2);
    }

    #[test]
    fn junk_changes_nothing() {
        let mut chat = Chat::new();
        chat.handle(addr(1), b"__new_name__:pr");
        let before = chat.members().to_vec();
        let cases: [(SocketAddr, &[u8], Rejection); 8] = [
            (addr(9), b"__quit__", Rejection::NotRegistered),
            (addr(9), b"__message__:hi", Rejection::NotRegistered),
            (addr(1), b"__quit__ ", Rejection::UnknownTag),
            (addr(1), b"quit", Rejection::UnknownTag),
            (addr(1), b"", Rejection::UnknownTag),
            (addr(1), b"__message__:\xc3", Rejection::InvalidUtf8),
            (
                addr(1),
                b"__new_name__:other",
                Rejection::AlreadyRegistered("pr".into()),
            ),
            (addr(1), b"__MESSAGE__:x", Rejection::UnknownTag),
        ];
        for (from, data, why) in cases {
            let r = chat.handle(from, data);
            assert!(r.deliveries.is_empty(), "{data:?}");
            assert_eq!(r.rejected, Some(why), "{data:?}");
        }
        assert_eq!(chat.members(), &before[..]);
    }

    #[test]
    fn a_message_that_would_not_fit_is_refused() {
        // "[NAME] : " is longer than "__message__:" once NAME has more than
        // 6 bytes, so a full-size datagram cannot be forwarded.
        let mut chat = Chat::new();
        chat.handle(addr(1), b"__new_name__:abcdefghij");
        chat.handle(addr(2), b"__new_name__:as");
        let mut data = b"__message__:".to_vec();
        data.resize(MAX_DATAGRAM, b'x');
        assert_eq!(
            chat.handle(addr(1), &data).rejected,
            Some(Rejection::TooLong)
        );
        // Exactly the largest payload that still fits.
        data.truncate(MAX_DATAGRAM - "[abcdefghij] : ".len() + TAG_MESSAGE.len());
        let r = chat.handle(addr(1), &data);
        assert_eq!(r.deliveries[0].payload.len(), MAX_DATAGRAM);
    }

    #[test]
    fn registrations_stop_at_max_members_until_someone_leaves() {
        let mut chat = Chat::new();
        for port in 1..=MAX_MEMBERS as u16 {
            let r = chat.handle(addr(port), b"__new_name__:n");
            assert!(r.rejected.is_none(), "{port}");
        }
        let late = addr(MAX_MEMBERS as u16 + 1);
        let r = chat.handle(late, b"__new_name__:late");
        assert_eq!(r.rejected, Some(Rejection::Full));
        assert!(r.deliveries.is_empty());
        assert_eq!(chat.members().len(), MAX_MEMBERS);
        chat.handle(addr(1), b"__quit__");
        assert!(chat.handle(late, b"__new_name__:late").rejected.is_none());
    }

    #[test]
    fn an_empty_message_and_a_lone_member_are_fine() {
        let mut chat = Chat::new();
        chat.handle(addr(1), b"__new_name__:pr");
        let r = chat.handle(addr(1), b"__message__:");
        assert_eq!(sends(&r), [(vec![], "[pr] : ".into())]);
        let r = chat.handle(addr(1), b"__quit__");
        assert_eq!(sends(&r)[1], (vec![addr(1)], "__quit__".into()));
        assert!(chat.members().is_empty());
        // Once gone, the address may come back.
        assert!(chat.handle(addr(1), b"__new_name__:pr").rejected.is_none());
    }
}
