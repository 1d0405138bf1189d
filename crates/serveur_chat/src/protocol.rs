//! The chat of lab 18 as a pure state machine, under the sheet's names
//! (f. [`Chat::traite_data`], c. [`Chat::send_entrance_notification`],
//! d. [`Chat::send_message`], e. [`Chat::send_quit_notification`]): a
//! datagram, its sender and the time in, the datagrams to send and what to
//! log out. No socket and no clock here: the caller passes `now`, so every
//! rule (expiry, rate limits) is unit-tested without the network or sleeps.
//!
//! The wire format (tags, texts, name rule, escaping) is `protocols::chat`.
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
//!
//! # Beyond the sheet (each a hostile peer's attack, and its answer)
//! - Forged lines: message text goes through `protocols::chat::escape_text`.
//! - Impersonation: names follow `protocols::chat::check_name`, and no two
//!   members share a name up to case and NFKC; a refused name is answered
//!   (`__name_refused__:why`) so the client can ask for another.
//! - Lockout: at most [`Limits::max_members`] members, [`Limits::per_host`]
//!   per IP address; a newcomer turned away is told (`__full__:why`).
//!   Members leave by `__quit__`, by an ICMP port unreachable
//!   ([`Chat::gone`], the socket's error queue) or after
//!   [`Limits::inactivity`] without a datagram ([`Chat::expire`]).
//! - Starving: each member has a token bucket ([`TokenBucket`]); messages
//!   beyond it are dropped, and the member told once per burst.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use protocols::chat::{self as wire, Name, NameError, Request};

pub use protocols::chat::{BALISE_MESSAGE, BALISE_NEW_NAME, BALISE_QUIT, MAX_DATAGRAM};

/// The server's bounds; [`Limits::default`] is what `serveur_chat` uses
/// unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Members at once. Anyone can register from many ports (or forged
    /// addresses), and every registration is announced to every member:
    /// the fan-out would grow quadratically without a bound.
    pub max_members: usize,
    /// Members at once from one IP address, so one host cannot take all
    /// the seats.
    pub per_host: usize,
    /// A member silent this long is removed (`client_chat` sends a
    /// keep-alive well within it; a sheet client sends none).
    pub inactivity: Duration,
    /// Messages a member may send at once before the rate applies.
    pub burst: u32,
    /// Messages per second a member may sustain.
    pub rate: f64,
}

pub const DEFAULT_MAX_MEMBERS: u64 = 1024;
pub const DEFAULT_PER_HOST: u64 = 32;
pub const DEFAULT_INACTIVITY: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_BURST: u32 = 100;
pub const DEFAULT_RATE: f64 = 50.0;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_members: DEFAULT_MAX_MEMBERS as usize,
            per_host: DEFAULT_PER_HOST as usize,
            inactivity: DEFAULT_INACTIVITY,
            burst: DEFAULT_BURST,
            rate: DEFAULT_RATE,
        }
    }
}

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
    /// Starts with none of the tags (or is `__quit__` plus more).
    UnknownTag,
    /// `__message__:`, `__quit__` or a keep-alive from an address that
    /// never registered.
    NotRegistered,
    /// `__new_name__:` from an address already registered (as this name).
    AlreadyRegistered(String),
    /// The name breaks the rule or is taken (the newcomer was told).
    Name(NameError),
    /// The message text is not UTF-8.
    InvalidUtf8,
    /// The forwarded message would not fit in one datagram.
    TooLong,
    /// [`Limits::max_members`] members already (the newcomer was told).
    Full,
    /// [`Limits::per_host`] members from this IP already (told too).
    HostFull,
    /// Over the member's token bucket: dropped.
    RateLimited,
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
            Rejection::Name(why) => write!(f, "{why}"),
            Rejection::InvalidUtf8 => f.write_str("message qui n'est pas de l'UTF-8"),
            Rejection::TooLong => {
                f.write_str("message trop long pour un datagramme une fois préfixé du nom")
            }
            Rejection::Full => f.write_str("tchat complet"),
            Rejection::HostFull => f.write_str("trop de membres depuis cette adresse IP"),
            Rejection::RateLimited => f.write_str(
                "trop de messages : ignoré, ainsi que les suivants jusqu'à la fin de la rafale (non journalisés)",
            ),
        }
    }
}

/// Why a member left without `__quit__`, for the stderr log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// An ICMP port unreachable: its socket is closed.
    Unreachable,
    /// Silent for [`Limits::inactivity`].
    Inactive,
}

/// A token bucket with the time passed in: `burst` tokens at most, refilled
/// at `rate` per second, one token per message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
    /// The member was told it is over the limit, and has not let its bucket
    /// fill up since: it is told once per burst of excess, not once per
    /// dropped message, nor every time the rate lets one through.
    told: bool,
}

/// What the bucket says about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Pass,
    /// Dropped, and the sender is to be told (the first of this burst).
    DropAndTell,
    Drop,
}

impl TokenBucket {
    pub fn full(now: Instant, burst: u32) -> Self {
        TokenBucket {
            tokens: f64::from(burst),
            last: now,
            told: false,
        }
    }

    pub fn take(&mut self, now: Instant, burst: u32, rate: f64) -> Take {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(burst));
        self.last = now;
        // A full bucket again: the member calmed down for a whole burst,
        // the next time it goes over is a new episode, told anew.
        if self.tokens >= f64::from(burst) {
            self.told = false;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Take::Pass
        } else if !self.told {
            self.told = true;
            Take::DropAndTell
        } else {
            Take::Drop
        }
    }
}

#[derive(Debug, Clone)]
struct Member {
    addr: SocketAddr,
    name: Name,
    last_seen: Instant,
    bucket: TokenBucket,
}

/// The members (the sheet's `adresses` dictionary), in registration order
/// (as a Python `dict` keeps them, so deliveries go out in the order the
/// sheet's server sends them).
///
/// A `Vec` rather than a map: every accepted message is followed by a
/// delivery to (almost) every member, so a linear lookup costs no more than
/// the fan-out that follows it, and the order is kept for free.
#[derive(Debug, Clone)]
pub struct Chat {
    members: Vec<Member>,
    limits: Limits,
    /// One bucket for all the refusals sent (see [`REFUSALS_PER_SECOND`]).
    refusals: TokenBucket,
    /// The members removed since the caller last took them
    /// ([`Chat::departed`]), whatever the reason (`__quit__`, unreachable,
    /// inactive): recorded in [`Chat::remove`], the one place a member
    /// leaves, so the server's other bookkeeping (the set-asides) never has
    /// to guess who left from the datagrams.
    departed: Vec<SocketAddr>,
}

/// Refusals (`__name_refused__:`, `__full__:`) go to addresses nobody has
/// verified, and are larger than the `__new_name__:x` that asks for them: a
/// source address forged as a victim's would make the server a reflector
/// that multiplies the attacker's traffic. So all refusals together share
/// one token bucket (the excess is still refused, silently, and logged).
pub const REFUSALS_PER_SECOND: f64 = 100.0;
pub const REFUSAL_BURST: u32 = 200;

impl Default for Chat {
    fn default() -> Self {
        Chat::new(Limits::default())
    }
}

impl Chat {
    pub fn new(limits: Limits) -> Self {
        Chat {
            members: Vec::new(),
            limits,
            refusals: TokenBucket::full(Instant::now(), REFUSAL_BURST),
            departed: Vec::new(),
        }
    }

    /// The addresses of the members removed since the last call, in the
    /// order they left, whatever the reason; the list is emptied (its
    /// buffer kept: no allocation once warm). The owner of a `Chat` drains
    /// it after each datagram and each sweep, as the server does: undrained,
    /// it grows by one address per departure.
    pub fn departed(&mut self) -> std::vec::Drain<'_, SocketAddr> {
        self.departed.drain(..)
    }

    /// The members' addresses and names, in registration order.
    pub fn members(&self) -> Vec<(SocketAddr, String)> {
        self.members
            .iter()
            .map(|m| (m.addr, m.name.display.clone()))
            .collect()
    }

    fn position(&self, addr: SocketAddr) -> Option<usize> {
        self.members.iter().position(|m| m.addr == addr)
    }

    fn all_but(&self, addr: SocketAddr) -> Vec<SocketAddr> {
        self.members
            .iter()
            .map(|m| m.addr)
            .filter(|a| *a != addr)
            .collect()
    }

    /// f. `traite_data(addr, data)`: dispatches one datagram from `addr` by
    /// its tag, at time `now`.
    pub fn traite_data(&mut self, now: Instant, addr: SocketAddr, data: &[u8]) -> Reaction {
        // Any datagram from a member shows its client is still there.
        if let Some(i) = self.position(addr) {
            self.members[i].last_seen = now;
        }
        let outcome = match Request::parse(data) {
            Some(Request::NewName(name)) => self.send_entrance_notification(now, addr, name),
            Some(Request::Message(message)) => self.send_message(now, addr, message),
            Some(Request::Quit) => self.send_quit_notification(addr),
            Some(Request::KeepAlive) => match self.position(addr) {
                Some(_) => Ok(Vec::new()),
                None => Err((Rejection::NotRegistered, Vec::new())),
            },
            None => Err((Rejection::UnknownTag, Vec::new())),
        };
        match outcome {
            Ok(deliveries) => Reaction {
                deliveries,
                rejected: None,
            },
            Err((why, deliveries)) => Reaction {
                deliveries,
                rejected: Some(why),
            },
        }
    }

    /// c. `send_entrance_notification(addr, name)`: registers `addr` under
    /// `name` if both are free, and tells everyone (the newcomer too).
    /// A refused newcomer is told why, in one datagram.
    pub fn send_entrance_notification(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        raw_name: &[u8],
    ) -> Outcome {
        if let Some(i) = self.position(addr) {
            let name = self.members[i].name.display.clone();
            return Err((Rejection::AlreadyRegistered(name), Vec::new()));
        }
        // Answers to strangers are bounded (see REFUSALS_PER_SECOND).
        let mut refusals = self.refusals;
        let mut tell = |text: String| {
            if refusals.take(now, REFUSAL_BURST, REFUSALS_PER_SECOND) != Take::Pass {
                return Vec::new();
            }
            vec![Delivery {
                payload: text.into_bytes(),
                to: vec![addr],
            }]
        };
        let outcome = self.admit(now, addr, raw_name, &mut tell);
        self.refusals = refusals;
        outcome
    }

    fn admit(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        raw_name: &[u8],
        tell: &mut impl FnMut(String) -> Vec<Delivery>,
    ) -> Outcome {
        let name = match wire::check_name(raw_name) {
            Ok(name) => name,
            Err(why) => {
                let answer = tell(wire::name_refused(&why));
                return Err((Rejection::Name(why), answer));
            }
        };
        if let Some(taken) = self.members.iter().find(|m| m.name.key == name.key) {
            let why = NameError::Taken(taken.name.display.clone());
            let answer = tell(wire::name_refused(&why));
            return Err((Rejection::Name(why), answer));
        }
        if self.members.len() >= self.limits.max_members {
            let text = format!(
                "tchat complet ({} membres), réessayez plus tard",
                self.limits.max_members
            );
            return Err((Rejection::Full, tell(wire::full(&text))));
        }
        if self.members_on_host(addr.ip()) >= self.limits.per_host {
            let text = format!(
                "déjà {} membres depuis l'adresse {}, le maximum par machine",
                self.limits.per_host,
                addr.ip()
            );
            return Err((Rejection::HostFull, tell(wire::full(&text))));
        }
        let payload = wire::entrance_notification(&name.display).into_bytes();
        self.members.push(Member {
            addr,
            name,
            last_seen: now,
            bucket: TokenBucket::full(now, self.limits.burst),
        });
        let to = self.members.iter().map(|m| m.addr).collect();
        Ok(vec![Delivery { payload, to }])
    }

    fn members_on_host(&self, ip: IpAddr) -> usize {
        self.members.iter().filter(|m| m.addr.ip() == ip).count()
    }

    /// d. `send_message(addr, message)`: `[NAME] : TEXT` to every member but
    /// the sender, TEXT escaped, within the sender's token bucket.
    pub fn send_message(&mut self, now: Instant, addr: SocketAddr, message: &[u8]) -> Outcome {
        let i = self
            .position(addr)
            .ok_or((Rejection::NotRegistered, Vec::new()))?;
        let text =
            std::str::from_utf8(message).map_err(|_| (Rejection::InvalidUtf8, Vec::new()))?;
        let Limits { burst, rate, .. } = self.limits;
        let member = &mut self.members[i];
        match member.bucket.take(now, burst, rate) {
            Take::Pass => {}
            Take::Drop => return Err((Rejection::RateLimited, Vec::new())),
            Take::DropAndTell => {
                let notice = format!(
                    "\n*** trop de messages : les suivants sont ignorés \
                     ({burst} d'affilée au plus, puis {rate} par seconde) ***\n"
                );
                let answer = vec![Delivery {
                    payload: notice.into_bytes(),
                    to: vec![addr],
                }];
                return Err((Rejection::RateLimited, answer));
            }
        }
        let payload = wire::message(&member.name.display, text).into_bytes();
        if payload.len() > MAX_DATAGRAM {
            return Err((Rejection::TooLong, Vec::new()));
        }
        Ok(vec![Delivery {
            payload,
            to: self.all_but(addr),
        }])
    }

    /// e. `send_quit_notification(addr)`: tells the others, answers
    /// `__quit__` to the sender, and forgets it.
    pub fn send_quit_notification(&mut self, addr: SocketAddr) -> Outcome {
        let i = self
            .position(addr)
            .ok_or((Rejection::NotRegistered, Vec::new()))?;
        let farewell = self.remove(i);
        let ack = Delivery {
            payload: BALISE_QUIT.as_bytes().to_vec(),
            to: vec![addr],
        };
        Ok(vec![farewell, ack])
    }

    /// Removes member `i` (recorded for [`Chat::departed`]); the farewell
    /// the others get.
    fn remove(&mut self, i: usize) -> Delivery {
        let member = self.members.remove(i);
        self.departed.push(member.addr);
        Delivery {
            payload: wire::quit_notification(&member.name.display).into_bytes(),
            to: self.all_but(member.addr),
        }
    }

    /// The member at `addr` is gone (an ICMP port unreachable came back for
    /// it): removed, the others told as if it had quit. Its name, if it was
    /// a member.
    pub fn gone(&mut self, addr: SocketAddr) -> Option<(String, Delivery)> {
        let i = self.position(addr)?;
        let name = self.members[i].name.display.clone();
        Some((name, self.remove(i)))
    }

    /// Removes the members silent for [`Limits::inactivity`] at `now`; for
    /// each, its address, its name and the farewell the others get.
    pub fn expire(&mut self, now: Instant) -> Vec<(SocketAddr, String, Delivery)> {
        let mut gone = Vec::new();
        while let Some(i) = self
            .members
            .iter()
            .position(|m| now.saturating_duration_since(m.last_seen) >= self.limits.inactivity)
        {
            let (addr, name) = (self.members[i].addr, self.members[i].name.display.clone());
            gone.push((addr, name, self.remove(i)));
        }
        gone
    }
}

/// What one of the sheet's functions decided: the deliveries, or why the
/// datagram changed nothing and what the sender is told about it.
pub type Outcome = Result<Vec<Delivery>, (Rejection, Vec<Delivery>)>;

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn host(ip: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, ip], port))
    }

    fn sends(r: &Reaction) -> Vec<(Vec<SocketAddr>, String)> {
        r.deliveries
            .iter()
            .map(|d| (d.to.clone(), String::from_utf8(d.payload.clone()).unwrap()))
            .collect()
    }

    /// A chat and a clock that only moves when told.
    struct Clock(Instant);

    impl Clock {
        fn new() -> Self {
            Clock(Instant::now())
        }
        fn advance(&mut self, d: Duration) -> Instant {
            self.0 += d;
            self.0
        }
    }

    fn chat() -> (Chat, Instant) {
        (Chat::default(), Instant::now())
    }

    #[test]
    fn the_sheets_session() {
        let (pr, as_, hs) = (addr(1), addr(2), addr(3));
        let (mut chat, t) = chat();
        let r = chat.traite_data(t, pr, b"__new_name__:pr");
        assert_eq!(
            sends(&r),
            [(
                vec![pr],
                "\n***pr*** vient de rentrer sur le chat !\n".into()
            )]
        );
        let r = chat.traite_data(t, as_, b"__new_name__:as");
        assert_eq!(
            sends(&r),
            [(
                vec![pr, as_],
                "\n***as*** vient de rentrer sur le chat !\n".into()
            )]
        );
        let r = chat.traite_data(t, as_, b"__message__:coucou");
        assert_eq!(sends(&r), [(vec![pr], "[as] : coucou".into())]);
        let r = chat.traite_data(t, pr, b"__message__:hello");
        assert_eq!(sends(&r), [(vec![as_], "[pr] : hello".into())]);
        chat.traite_data(t, hs, b"__new_name__:hs");
        let r = chat.traite_data(t, hs, "__message__:je suis là !".as_bytes());
        assert_eq!(sends(&r), [(vec![pr, as_], "[hs] : je suis là !".into())]);
        let r = chat.traite_data(t, pr, b"__quit__");
        assert_eq!(
            sends(&r),
            [
                (vec![as_, hs], "\n***pr*** a quitté le chat.\n".into()),
                (vec![pr], "__quit__".into())
            ]
        );
        assert_eq!(
            chat.members(),
            [(as_, "as".to_string()), (hs, "hs".to_string())]
        );
        assert!(r.rejected.is_none());
    }

    #[test]
    fn a_forged_line_reaches_the_others_as_one_escaped_line() {
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:mallory");
        chat.traite_data(t, addr(2), b"__new_name__:alice");
        chat.traite_data(t, addr(3), b"__new_name__:bob");
        let r = chat.traite_data(
            t,
            addr(1),
            b"__message__:hi\n[alice] : give me your password\n\x1b[2J\x1b]0;owned\x07",
        );
        assert_eq!(
            sends(&r),
            [(
                vec![addr(2), addr(3)],
                "[mallory] : hi\\x0a[alice] : give me your password\\x0a\\x1b[2J\\x1b]0;owned\\x07"
                    .into()
            )]
        );
    }

    #[test]
    fn names_are_trimmed_checked_and_refusals_answered() {
        let (mut chat, t) = chat();
        let r = chat.traite_data(t, addr(1), b"__new_name__:  \xc3\xa9lodie \t");
        assert_eq!(
            sends(&r)[0].1,
            "\n***élodie*** vient de rentrer sur le chat !\n"
        );
        let long = format!("__new_name__:{}", "é".repeat(32));
        assert!(chat
            .traite_data(t, addr(2), long.as_bytes())
            .rejected
            .is_none());
        let too_long = format!("__new_name__:{}", "é".repeat(33));
        for (bad, why) in [
            (too_long.as_bytes(), NameError::TooLong(33)),
            (b"__new_name__:", NameError::Empty),
            (b"__new_name__:   ", NameError::Empty),
            (b"__new_name__:a\nb", NameError::Forbidden('\n')),
            (b"__new_name__:\xff", NameError::NotUtf8),
            (
                "__new_name__:ali\u{202e}ce".as_bytes(),
                NameError::Forbidden('\u{202e}'),
            ),
            (
                "__new_name__:al\u{200b}ice".as_bytes(),
                NameError::Forbidden('\u{200b}'),
            ),
            (b"__new_name__:alice] : hi [x", NameError::Forbidden(']')),
        ] {
            let r = chat.traite_data(t, addr(3), bad);
            assert_eq!(r.rejected, Some(Rejection::Name(why.clone())), "{bad:?}");
            // The newcomer, and only it, is told why.
            assert_eq!(
                sends(&r),
                [(vec![addr(3)], format!("__name_refused__:{why}"))]
            );
        }
        assert_eq!(chat.members().len(), 2);
    }

    #[test]
    fn a_taken_name_is_refused_up_to_case_and_nfkc() {
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:alice");
        for (port, name) in [(2, "alice"), (3, "ALICE"), (4, "Alice"), (5, "ａｌｉｃｅ")] {
            let r = chat.traite_data(t, addr(port), format!("__new_name__:{name}").as_bytes());
            assert_eq!(
                sends(&r),
                [(
                    vec![addr(port)],
                    "__name_refused__:nom refusé : « alice » est déjà pris, choisissez-en un autre"
                        .into()
                )],
                "{name}"
            );
        }
        // The refused address may try another name at once.
        let r = chat.traite_data(t, addr(2), b"__new_name__:alice2");
        assert!(r.rejected.is_none());
        assert_eq!(chat.members().len(), 2);
        // Once alice left, her name is free again.
        chat.traite_data(t, addr(1), b"__quit__");
        assert!(chat
            .traite_data(t, addr(3), b"__new_name__:ALICE")
            .rejected
            .is_none());
    }

    #[test]
    fn junk_changes_nothing() {
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:pr");
        let before = chat.members();
        let cases: [(SocketAddr, &[u8], Rejection); 9] = [
            (addr(9), b"__quit__", Rejection::NotRegistered),
            (addr(9), b"__message__:hi", Rejection::NotRegistered),
            (addr(9), b"__keepalive__", Rejection::NotRegistered),
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
            let r = chat.traite_data(t, from, data);
            assert!(r.deliveries.is_empty(), "{data:?}");
            assert_eq!(r.rejected, Some(why), "{data:?}");
        }
        assert_eq!(chat.members(), before);
    }

    #[test]
    fn refusals_to_strangers_are_bounded_in_rate() {
        let mut clock = Clock::new();
        let mut chat = Chat::default();
        // 1,000 strangers with an invalid name: how many are answered.
        let mut answered = |t| {
            (0..1000u16)
                .filter(|&p| {
                    let r = chat.traite_data(t, addr(p), b"__new_name__:\n");
                    !r.deliveries.is_empty()
                })
                .count()
        };
        assert_eq!(
            answered(clock.advance(Duration::from_secs(10))),
            REFUSAL_BURST as usize
        );
        assert_eq!(
            answered(clock.advance(Duration::from_secs(1))),
            REFUSALS_PER_SECOND as usize
        );
    }

    #[test]
    fn a_keepalive_is_never_broadcast() {
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:pr");
        chat.traite_data(t, addr(2), b"__new_name__:as");
        let r = chat.traite_data(t, addr(1), b"__keepalive__");
        assert_eq!(r, Reaction::default());
    }

    #[test]
    fn a_message_that_would_not_fit_is_refused() {
        // "[NAME] : " is longer than "__message__:" once NAME has more than
        // 6 bytes, so a full-size datagram cannot be forwarded.
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:abcdefghij");
        chat.traite_data(t, addr(2), b"__new_name__:as");
        let mut data = b"__message__:".to_vec();
        data.resize(MAX_DATAGRAM, b'x');
        assert_eq!(
            chat.traite_data(t, addr(1), &data).rejected,
            Some(Rejection::TooLong)
        );
        // Exactly the largest payload that still fits.
        data.truncate(MAX_DATAGRAM - "[abcdefghij] : ".len() + BALISE_MESSAGE.len());
        let r = chat.traite_data(t, addr(1), &data);
        assert_eq!(r.deliveries[0].payload.len(), MAX_DATAGRAM);
    }

    #[test]
    fn a_full_chat_answers_newcomers_until_someone_leaves() {
        let limits = Limits {
            max_members: 40,
            per_host: 1000,
            ..Limits::default()
        };
        let mut chat = Chat::new(limits);
        let t = Instant::now();
        for port in 1..=40 {
            let name = format!("__new_name__:n{port}");
            let r = chat.traite_data(t, addr(port), name.as_bytes());
            assert!(r.rejected.is_none(), "{port}");
        }
        let late = addr(41);
        let r = chat.traite_data(t, late, b"__new_name__:late");
        assert_eq!(r.rejected, Some(Rejection::Full));
        assert_eq!(
            sends(&r),
            [(
                vec![late],
                "__full__:tchat complet (40 membres), réessayez plus tard".into()
            )]
        );
        assert_eq!(chat.members().len(), 40);
        chat.traite_data(t, addr(1), b"__quit__");
        assert!(chat
            .traite_data(t, late, b"__new_name__:late")
            .rejected
            .is_none());
    }

    #[test]
    fn one_host_holds_at_most_per_host_members() {
        let (mut chat, t) = chat();
        for port in 0..DEFAULT_PER_HOST as u16 {
            let r = chat.traite_data(t, host(1, port), format!("__new_name__:h{port}").as_bytes());
            assert!(r.rejected.is_none());
        }
        let r = chat.traite_data(t, host(1, 999), b"__new_name__:encore");
        assert_eq!(r.rejected, Some(Rejection::HostFull));
        assert_eq!(
            sends(&r),
            [(
                vec![host(1, 999)],
                "__full__:déjà 32 membres depuis l'adresse 10.0.0.1, le maximum par machine".into()
            )]
        );
        // Another host still gets in.
        let r = chat.traite_data(t, host(2, 1), b"__new_name__:autre");
        assert!(r.rejected.is_none());
    }

    #[test]
    fn silent_members_expire_and_are_announced() {
        let mut clock = Clock::new();
        let mut chat = Chat::default();
        let t0 = clock.0;
        chat.traite_data(t0, addr(1), b"__new_name__:pr");
        chat.traite_data(t0, addr(2), b"__new_name__:as");
        chat.traite_data(t0, addr(3), b"__new_name__:hs");
        // as keeps its client alive, hs chats, pr says nothing.
        let t = clock.advance(DEFAULT_INACTIVITY / 2);
        chat.traite_data(t, addr(2), b"__keepalive__");
        chat.traite_data(t, addr(3), b"__message__:hey");
        let t = clock.advance(DEFAULT_INACTIVITY / 2 - Duration::from_secs(1));
        assert!(chat.expire(t).is_empty());
        let t = clock.advance(Duration::from_secs(1));
        let gone = chat.expire(t);
        assert_eq!(gone.len(), 1);
        let (a, name, farewell) = &gone[0];
        assert_eq!((*a, name.as_str()), (addr(1), "pr"));
        assert_eq!(farewell.to, [addr(2), addr(3)]);
        assert_eq!(farewell.payload, b"\n***pr*** a quitt\xc3\xa9 le chat.\n");
        assert_eq!(chat.members().len(), 2);
        // Half an hour later, without a keep-alive, the rest go too.
        let t = clock.advance(DEFAULT_INACTIVITY);
        assert_eq!(chat.expire(t).len(), 2);
        assert!(chat.members().is_empty());
    }

    #[test]
    fn a_member_gone_is_removed_and_announced() {
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:pr");
        chat.traite_data(t, addr(2), b"__new_name__:as");
        let (name, farewell) = chat.gone(addr(1)).unwrap();
        assert_eq!(name, "pr");
        assert_eq!(farewell.to, [addr(2)]);
        assert!(chat.gone(addr(1)).is_none());
        assert!(chat.gone(addr(9)).is_none());
    }

    #[test]
    fn every_departure_is_recorded_once_whatever_the_reason() {
        let mut clock = Clock::new();
        let mut chat = Chat::default();
        let t0 = clock.0;
        for port in 1..=4 {
            chat.traite_data(t0, addr(port), format!("__new_name__:m{port}").as_bytes());
        }
        assert_eq!(chat.departed().count(), 0);
        // Datagrams that remove nobody record nobody.
        let t = clock.advance(Duration::from_secs(1));
        chat.traite_data(t, addr(9), b"__quit__");
        chat.traite_data(t, addr(1), b"__quit__ ");
        chat.traite_data(t, addr(1), b"__message__:hi");
        chat.traite_data(t, addr(3), b"__keepalive__");
        assert_eq!(chat.departed().count(), 0);
        assert!(chat.gone(addr(9)).is_none());
        // __quit__, unreachable, then inactive (m1 and m3 stayed active).
        chat.traite_data(t, addr(2), b"__quit__");
        chat.gone(addr(4));
        assert_eq!(chat.departed().collect::<Vec<_>>(), [addr(2), addr(4)]);
        assert_eq!(chat.departed().count(), 0);
        let t = clock.advance(DEFAULT_INACTIVITY);
        assert_eq!(chat.expire(t).len(), 2);
        assert_eq!(chat.departed().collect::<Vec<_>>(), [addr(1), addr(3)]);
        assert!(chat.members().is_empty());
        // A refused newcomer records nobody.
        chat.traite_data(t, addr(5), b"__new_name__:\n");
        assert_eq!(chat.departed().count(), 0);
    }

    #[test]
    fn the_token_bucket_allows_a_burst_then_the_rate() {
        let mut clock = Clock::new();
        let mut bucket = TokenBucket::full(clock.0, 3);
        let t = clock.0;
        assert_eq!(
            [0; 5].map(|_| bucket.take(t, 3, 2.0)),
            [
                Take::Pass,
                Take::Pass,
                Take::Pass,
                Take::DropAndTell,
                Take::Drop
            ]
        );
        // 2 per second: half a second gives one token; still the same
        // episode, so no new notice.
        let t = clock.advance(Duration::from_millis(500));
        assert_eq!(bucket.take(t, 3, 2.0), Take::Pass);
        assert_eq!(bucket.take(t, 3, 2.0), Take::Drop);
        // Quiet until the bucket is full again (1.5 s): a new episode.
        let t = clock.advance(Duration::from_millis(1500));
        assert_eq!(
            [0; 4].map(|_| bucket.take(t, 3, 2.0)),
            [Take::Pass, Take::Pass, Take::Pass, Take::DropAndTell]
        );
        // Never more than the burst, however long the silence.
        let t = clock.advance(Duration::from_secs(3600));
        let taken = (0..10)
            .filter(|_| bucket.take(t, 3, 2.0) == Take::Pass)
            .count();
        assert_eq!(taken, 3);
    }

    #[test]
    fn a_flooder_is_dropped_and_told_once_per_burst_the_others_served() {
        let limits = Limits {
            burst: 5,
            rate: 10.0,
            ..Limits::default()
        };
        let mut chat = Chat::new(limits);
        let mut clock = Clock::new();
        let t = clock.0;
        chat.traite_data(t, addr(1), b"__new_name__:flood");
        chat.traite_data(t, addr(2), b"__new_name__:as");
        let mut forwarded = 0;
        let mut told = 0;
        for _ in 0..1000 {
            let r = chat.traite_data(t, addr(1), b"__message__:x");
            for d in &r.deliveries {
                if d.to == [addr(2)] {
                    forwarded += 1;
                } else {
                    assert_eq!(d.to, [addr(1)]);
                    assert!(String::from_utf8_lossy(&d.payload).contains("trop de messages"));
                    told += 1;
                }
            }
        }
        assert_eq!((forwarded, told), (5, 1));
        // The other member is not limited by the flooder.
        for _ in 0..5 {
            let r = chat.traite_data(t, addr(2), b"__message__:ok");
            assert!(r.rejected.is_none());
        }
        // A second later: 10 more, and a new burst gets a new notice.
        let t = clock.advance(Duration::from_secs(1));
        let r: Vec<Reaction> = (0..12)
            .map(|_| chat.traite_data(t, addr(1), b"__message__:x"))
            .collect();
        assert_eq!(r.iter().filter(|r| r.rejected.is_none()).count(), 5);
        assert_eq!(
            r.iter()
                .filter(|r| r.rejected.is_some() && !r.deliveries.is_empty())
                .count(),
            1
        );
    }

    #[test]
    fn an_empty_message_and_a_lone_member_are_fine() {
        let (mut chat, t) = chat();
        chat.traite_data(t, addr(1), b"__new_name__:pr");
        let r = chat.traite_data(t, addr(1), b"__message__:");
        assert_eq!(sends(&r), [(vec![], "[pr] : ".into())]);
        let r = chat.traite_data(t, addr(1), b"__quit__");
        assert_eq!(sends(&r)[1], (vec![addr(1)], "__quit__".into()));
        assert!(chat.members().is_empty());
        // Once gone, the address may come back.
        assert!(chat
            .traite_data(t, addr(1), b"__new_name__:pr")
            .rejected
            .is_none());
    }
}
