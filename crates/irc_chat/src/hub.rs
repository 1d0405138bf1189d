//! The hub: all of the server's state and every rule, as a pure state
//! machine. [`Hub::handle`] takes one [`Event`] (a connection, a line, a
//! disconnection, a clock tick) and returns the [`Delivery`]s to make. No
//! socket and no thread here: the server feeds it, the tests too.
//!
//! The operations both protocols share (join, leave, kick, rename, nick,
//! grant, revoke, kill, say, quit) are written once, here; each takes the
//! already-checked arguments and tells every member in the member's own
//! protocol (`Hub::fan`: a sentence for the project's clients, an IRC line
//! for IRC clients). [`crate::project`] and [`crate::irc_mode`] parse lines,
//! check rights (the `check_*` functions, which return a [`Refusal`]) and
//! call them.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use protocols::chat_irc_file::FileNameError;
use protocols::irc::Message;
use protocols::irc_text::{self, escape_controls, name_key, NameError, IRC_FORMATTING};

use crate::flood::{Bucket, Flood};
use crate::texts;

/// A connection, numbered by the server.
pub type ClientId = u64;
type ChanId = u64;

/// Messages kept per channel for HISTORY.
pub const HISTORY_LEN: usize = 50;
/// Channels one client may be in at once (IRC's CHANLIMIT): without it,
/// one client could create channels, and fill memory, without end.
pub const MAX_CHANNELS_PER_CLIENT: usize = 20;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was accepted from `host` (its IP address, as text).
    Connect { id: ClientId, host: String },
    /// One line, its `\n` (and `\r`) removed.
    Line { id: ClientId, line: Vec<u8> },
    /// The client sent a line longer than the reader's bound (skipped).
    TooLong { id: ClientId },
    /// The connection is gone (end of stream, error, full writer queue).
    Disconnect { id: ClientId, reason: String },
    /// Time passes: queued lines of throttled clients, delayed greetings.
    Tick,
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The same bytes to each of `to`.
    Send {
        to: Vec<ClientId>,
        payload: Arc<[u8]>,
    },
    /// Flush what was queued for `id`, then close its connection.
    Close { id: ClientId },
    /// A file transfer was accepted: the data connections presenting these
    /// tokens are to be joined, `size` bytes from the sender's to the
    /// receiver's (made before the orders carrying the tokens are sent).
    Transfer {
        sender: String,
        receiver: String,
        size: u64,
    },
}

/// The hub's time: a monotonic duration and the time of day for HISTORY.
pub trait Clock: Send {
    /// Time since some fixed start, never going back.
    fn now(&self) -> Duration;
    /// The wall-clock time of day, `HH:MM:SS`.
    fn time_of_day(&self) -> String;
}

/// Settings of a hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The server's name in IRC prefixes and numerics.
    pub server_name: String,
    pub flood: Flood,
    /// How long a new connection stays silent before the project's
    /// greeting: an IRC client speaks first, at once, and must not receive
    /// French sentences it cannot parse.
    pub greeting_delay: Duration,
    /// How long a connection may stay without a nickname: a connection
    /// that never registers is closed rather than kept for ever.
    pub registration_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            server_name: "irc_server".into(),
            flood: Flood::default(),
            greeting_delay: Duration::from_millis(300),
            registration_timeout: Duration::from_secs(60),
        }
    }
}

/// Which protocol a client speaks, known from its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Undecided,
    Project,
    Irc,
}

#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) host: String,
    pub(crate) mode: Mode,
    pub(crate) nick: Option<String>,
    /// IRC's USER name (the project's clients use their nickname).
    pub(crate) user: Option<String>,
    pub(crate) realname: String,
    pub(crate) registered: bool,
    /// IRC capability negotiation under way: registration waits for CAP END.
    pub(crate) cap_pending: bool,
    /// Channels, in the order joined.
    pub(crate) channels: Vec<ChanId>,
    pub(crate) current: Option<ChanId>,
    greeted: bool,
    connected_at: Duration,
    bucket: Bucket,
    pending: VecDeque<Vec<u8>>,
    /// Closed by the hub (BYE, QUIT, KILL, flood): no more lines.
    closing: bool,
}

#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) name: String,
    /// In the order they joined: the first is the longest present.
    pub(crate) members: Vec<ClientId>,
    pub(crate) main_admin: ClientId,
    /// Admins granted by the main admin (never the main admin).
    pub(crate) granted: Vec<ClientId>,
    pub(crate) topic: Option<String>,
    history: VecDeque<(String, String, String)>,
}

impl Channel {
    pub(crate) fn is_admin(&self, id: ClientId) -> bool {
        self.main_admin == id || self.granted.contains(&id)
    }
}

/// Why a command is refused; each protocol words it its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoCurrent,
    /// The asker is not in that channel.
    NotMember,
    NotAdmin,
    NotMainAdmin,
    UnknownUser(String),
    NotInChannel(String),
    KickSelf,
    KickAdmin,
    AlreadyAdmin(String),
    NotAdminNick(String),
    RevokeSelf,
    KillSelf,
    NickTaken,
    BadNick(NameError),
    BadChannel(NameError),
    ChannelExists,
    Alone,
    EmptyMessage,
    AlreadyIn,
    TooManyChannels,
    /// SEND to oneself.
    SendToSelf,
    BadFileName(FileNameError),
    /// Over [`protocols::chat_irc_file::MAX_FILE_SIZE`].
    FileTooBig(u64),
    /// RECV from someone who offers nothing.
    NoOffer(String),
    /// A file for (or from) an IRC client, which has no file transfer.
    IrcPeer(String),
    /// Already [`crate::files::MAX_OFFERS`] offers waiting.
    TooManyOffers,
}

/// A read-only view of a channel, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub name: String,
    pub members: Vec<String>,
    pub main_admin: String,
    pub granted: Vec<String>,
}

/// The whole state.
pub struct Hub {
    pub(crate) config: HubConfig,
    clock: Box<dyn Clock>,
    pub(crate) clients: BTreeMap<ClientId, Client>,
    /// Nickname key ([`name_key`]) -> client.
    nicks: HashMap<String, ClientId>,
    pub(crate) channels: BTreeMap<ChanId, Channel>,
    /// Channel name key -> channel.
    chan_index: HashMap<String, ChanId>,
    next_chan: ChanId,
    pub(crate) started: String,
    /// Files offered and not yet accepted ([`crate::files`]).
    pub(crate) offers: Vec<crate::files::Offer>,
    /// Where transfer tokens come from (random; fixed in some tests).
    pub(crate) tokens: Box<dyn FnMut() -> String + Send>,
    pub(crate) out: Vec<Delivery>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("clients", &self.clients.len())
            .field("channels", &self.channels.len())
            .finish()
    }
}

impl Hub {
    pub fn new(config: HubConfig, clock: Box<dyn Clock>) -> Hub {
        let started = clock.time_of_day();
        Hub {
            config,
            clock,
            clients: BTreeMap::new(),
            nicks: HashMap::new(),
            channels: BTreeMap::new(),
            chan_index: HashMap::new(),
            next_chan: 0,
            started,
            offers: Vec::new(),
            tokens: Box::new(crate::files::random_token),
            out: Vec::new(),
        }
    }

    /// Replaces the source of transfer tokens (tests).
    pub fn with_tokens(mut self, tokens: impl FnMut() -> String + Send + 'static) -> Hub {
        self.tokens = Box::new(tokens);
        self
    }

    /// Applies one event; returns what to send, in order.
    pub fn handle(&mut self, event: Event) -> Vec<Delivery> {
        match event {
            Event::Connect { id, host } => {
                let now = self.clock.now();
                self.clients.insert(
                    id,
                    Client {
                        host,
                        mode: Mode::Undecided,
                        nick: None,
                        user: None,
                        realname: String::new(),
                        registered: false,
                        cap_pending: false,
                        channels: Vec::new(),
                        current: None,
                        greeted: false,
                        connected_at: now,
                        bucket: Bucket::default(),
                        pending: VecDeque::new(),
                        closing: false,
                    },
                );
            }
            Event::Line { id, line } => self.on_line(id, line),
            Event::TooLong { id } => self.on_too_long(id),
            Event::Disconnect { id, reason } => self.remove_client(id, &reason),
            Event::Tick => self.on_tick(),
        }
        std::mem::take(&mut self.out)
    }

    fn on_line(&mut self, id: ClientId, line: Vec<u8>) {
        let now = self.clock.now();
        let flood = self.config.flood;
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if c.closing {
            return;
        }
        if c.pending.is_empty() && c.bucket.try_take(&flood, now) {
            self.process_line(id, &line);
        } else if c.pending.len() < flood.queue {
            c.pending.push_back(line);
        } else {
            self.flood_out(id);
        }
    }

    fn on_tick(&mut self) {
        let now = self.clock.now();
        let flood = self.config.flood;
        let delay = self.config.greeting_delay;
        let timeout = self.config.registration_timeout;
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            let Some(c) = self.clients.get_mut(&id) else {
                continue;
            };
            if !c.registered && !c.closing && now >= c.connected_at + timeout {
                if c.mode == Mode::Irc {
                    let line =
                        format!("ERROR :Closing Link: {} (Registration timeout)\r\n", c.host);
                    self.send(id, &line);
                } else {
                    self.send(id, texts::REGISTRATION_TIMEOUT);
                }
                self.close(id, "Registration timeout");
                continue;
            }
            if c.mode == Mode::Undecided && !c.greeted && now >= c.connected_at + delay {
                self.greet(id);
            }
            while let Some(c) = self.clients.get_mut(&id) {
                if c.closing || c.pending.is_empty() || !c.bucket.try_take(&flood, now) {
                    break;
                }
                let line = c.pending.pop_front().unwrap_or_default();
                self.process_line(id, &line);
            }
        }
    }

    fn on_too_long(&mut self, id: ClientId) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        match c.mode {
            Mode::Irc => {
                let m = self.numeric(id, 417, ["Ligne trop longue (512 octets au plus)"]);
                self.send_irc(id, &m);
            }
            _ => self.send(id, texts::TOO_LONG),
        }
    }

    fn flood_out(&mut self, id: ClientId) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        if c.mode == Mode::Irc {
            let line = format!("ERROR :Closing Link: {} (Excess Flood)\r\n", c.host);
            self.send(id, &line);
        } else {
            self.send(id, texts::FLOOD);
        }
        self.close(id, "Excess Flood");
    }

    /// The project's greeting, once.
    pub(crate) fn greet(&mut self, id: ClientId) {
        if let Some(c) = self.clients.get_mut(&id) {
            if !c.greeted {
                c.greeted = true;
                let text = format!("{}{}", texts::CONNECTED, texts::CHOOSE_NICK);
                self.send(id, &text);
            }
        }
    }

    fn process_line(&mut self, id: ClientId, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw).into_owned();
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if c.mode == Mode::Undecided {
            let first = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
            c.mode = if matches!(first.as_str(), "CAP" | "PASS" | "NICK" | "USER") {
                Mode::Irc
            } else {
                Mode::Project
            };
        }
        match c.mode {
            Mode::Irc => self.irc_line(id, &text),
            _ => self.project_line(id, &text),
        }
    }

    // ----- output -----

    pub(crate) fn send(&mut self, id: ClientId, text: &str) {
        self.out.push(Delivery::Send {
            to: vec![id],
            payload: Arc::from(text.as_bytes()),
        });
    }

    pub(crate) fn send_irc(&mut self, id: ClientId, m: &Message) {
        self.send(id, &m.to_line());
    }

    /// Sends `project` to the project's clients among `ids` and `irc` to
    /// the IRC ones (either may be absent: nothing for that kind).
    pub(crate) fn fan(&mut self, ids: &[ClientId], project: Option<&str>, irc: Option<&Message>) {
        let (mut p, mut i) = (Vec::new(), Vec::new());
        for id in ids {
            match self.clients.get(id).map(|c| c.mode) {
                Some(Mode::Irc) => i.push(*id),
                Some(_) => p.push(*id),
                None => {}
            }
        }
        if let (Some(text), false) = (project, p.is_empty()) {
            self.out.push(Delivery::Send {
                to: p,
                payload: Arc::from(text.as_bytes()),
            });
        }
        if let (Some(m), false) = (irc, i.is_empty()) {
            self.out.push(Delivery::Send {
                to: i,
                payload: Arc::from(m.to_line().as_bytes()),
            });
        }
    }

    /// Ends a client the hub decided to drop (BYE, QUIT, KILL, flood): the
    /// others are told, then its connection is closed after what is queued.
    pub(crate) fn close(&mut self, id: ClientId, reason: &str) {
        self.remove_client(id, reason);
        self.out.push(Delivery::Close { id });
    }

    // ----- lookups -----

    pub(crate) fn nick(&self, id: ClientId) -> &str {
        self.clients
            .get(&id)
            .and_then(|c| c.nick.as_deref())
            .unwrap_or("*")
    }

    /// `nick!user@host`, the origin of a client's IRC lines.
    pub(crate) fn prefix(&self, id: ClientId) -> String {
        let c = &self.clients[&id];
        let nick = c.nick.as_deref().unwrap_or("*");
        let user = c.user.as_deref().unwrap_or(nick);
        format!("{nick}!{user}@{}", c.host)
    }

    /// A numeric reply to `id`.
    pub(crate) fn numeric<I, S>(&self, id: ClientId, code: u16, params: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Message::numeric(&self.config.server_name, code, self.nick(id), params)
    }

    pub(crate) fn find_nick(&self, nick: &str) -> Option<ClientId> {
        self.nicks.get(&name_key(nick)).copied()
    }

    pub(crate) fn find_channel(&self, name: &str) -> Option<ChanId> {
        self.chan_index.get(&name_key(name)).copied()
    }

    pub(crate) fn chan(&self, cid: ChanId) -> &Channel {
        &self.channels[&cid]
    }

    pub(crate) fn current(&self, id: ClientId) -> Result<ChanId, Refusal> {
        self.clients[&id].current.ok_or(Refusal::NoCurrent)
    }

    /// `nick`, a member of `cid`.
    pub(crate) fn member(&self, cid: ChanId, nick: &str) -> Result<ClientId, Refusal> {
        let target = self
            .find_nick(nick)
            .filter(|t| self.clients[t].registered)
            .ok_or_else(|| Refusal::UnknownUser(escape_controls(nick, &[])))?;
        if self.chan(cid).members.contains(&target) {
            Ok(target)
        } else {
            Err(Refusal::NotInChannel(self.nick(target).to_owned()))
        }
    }

    /// The member of `cid` named `nick`, for a command only the channel's
    /// main admin may give (GRANT, REVOKE, KILL): that is checked first.
    fn main_admins_member(
        &self,
        actor: ClientId,
        cid: ChanId,
        nick: &str,
    ) -> Result<ClientId, Refusal> {
        if self.chan(cid).main_admin != actor {
            return Err(Refusal::NotMainAdmin);
        }
        self.member(cid, nick)
    }

    /// Everyone sharing a channel with `id` (without `id`), once each.
    fn co_members(&self, id: ClientId) -> Vec<ClientId> {
        let mut set = BTreeSet::new();
        for cid in &self.clients[&id].channels {
            set.extend(self.chan(*cid).members.iter().copied());
        }
        set.remove(&id);
        set.into_iter().collect()
    }

    // ----- nicknames -----

    /// Checks that `nick` may be taken by `id` (its own nick, in another
    /// case, is fine).
    pub(crate) fn check_nick(&self, id: ClientId, nick: &str) -> Result<(), Refusal> {
        irc_text::check_name(nick).map_err(Refusal::BadNick)?;
        match self.find_nick(nick) {
            Some(other) if other != id => Err(Refusal::NickTaken),
            _ => Ok(()),
        }
    }

    /// Sets (or replaces) `id`'s nickname in the index; checked before.
    pub(crate) fn set_nick(&mut self, id: ClientId, nick: &str) {
        let c = self.clients.get_mut(&id).expect("known client");
        if let Some(old) = c.nick.replace(nick.to_owned()) {
            self.nicks.remove(&name_key(&old));
        }
        self.nicks.insert(name_key(nick), id);
    }

    /// A registered client changes its nickname: everyone sharing a
    /// channel is told, and the client itself.
    pub(crate) fn change_nick(&mut self, id: ClientId, new: &str) {
        let old = self.nick(id).to_owned();
        let prefix = self.prefix(id);
        self.set_nick(id, new);
        let others = self.co_members(id);
        let m = Message::new("NICK", [new]).from(&prefix);
        self.fan(&others, Some(&texts::nick_changed(&old, new)), Some(&m));
        self.fan(&[id], Some(texts::NICK_UPDATED), Some(&m));
    }

    // ----- channels -----

    pub(crate) fn check_channel_name(name: &str) -> Result<(), Refusal> {
        irc_text::check_name(name).map_err(Refusal::BadChannel)
    }

    /// `id` joins `name` (checked), creating it if needed; returns whether
    /// it was created. Members are told; the joiner's own answer is the
    /// caller's.
    pub(crate) fn join(&mut self, id: ClientId, name: &str) -> Result<bool, Refusal> {
        let full = self.clients[&id].channels.len() >= MAX_CHANNELS_PER_CLIENT;
        let (cid, created) = match self.find_channel(name) {
            Some(cid) => {
                if self.chan(cid).members.contains(&id) {
                    return Err(Refusal::AlreadyIn);
                }
                if full {
                    return Err(Refusal::TooManyChannels);
                }
                (cid, false)
            }
            None if full => return Err(Refusal::TooManyChannels),
            None => {
                let cid = self.next_chan;
                self.next_chan += 1;
                self.channels.insert(
                    cid,
                    Channel {
                        name: name.to_owned(),
                        members: Vec::new(),
                        main_admin: id,
                        granted: Vec::new(),
                        topic: None,
                        history: VecDeque::new(),
                    },
                );
                self.chan_index.insert(name_key(name), cid);
                (cid, true)
            }
        };
        let chan_name = self.chan(cid).name.clone();
        let others = self.chan(cid).members.clone();
        let m = Message::new("JOIN", [format!("#{chan_name}")]).from(&self.prefix(id));
        self.fan(
            &others,
            Some(&texts::someone_joined(self.nick(id), &chan_name)),
            Some(&m),
        );
        self.channels
            .get_mut(&cid)
            .expect("exists")
            .members
            .push(id);
        let c = self.clients.get_mut(&id).expect("known client");
        c.channels.push(cid);
        c.current = Some(cid);
        // The joiner's own JOIN comes back to an IRC client first.
        self.fan(&[id], None, Some(&m));
        Ok(created)
    }

    /// Takes `id` out of `cid` without telling anyone that it left (the
    /// callers word that): hands the channel over if it was the main
    /// admin, deletes it if empty, and moves `id`'s current channel.
    fn detach(&mut self, id: ClientId, cid: ChanId) {
        let Some(chan) = self.channels.get_mut(&cid) else {
            return;
        };
        chan.members.retain(|m| *m != id);
        chan.granted.retain(|m| *m != id);
        if chan.members.is_empty() {
            let key = name_key(&chan.name);
            self.channels.remove(&cid);
            self.chan_index.remove(&key);
        } else if chan.main_admin == id {
            let heir = chan.members[0];
            chan.main_admin = heir;
            chan.granted.retain(|m| *m != heir);
            let name = chan.name.clone();
            let members = chan.members.clone();
            let m = Message::new(
                "MODE",
                [format!("#{name}"), "+o".into(), self.nick(heir).into()],
            )
            .from(&self.config.server_name);
            self.fan(&[heir], Some(&texts::new_admin(&name)), None);
            self.fan(&members, None, Some(&m));
        }
        if let Some(c) = self.clients.get_mut(&id) {
            c.channels.retain(|x| *x != cid);
            if c.current == Some(cid) {
                c.current = c.channels.last().copied();
            }
        }
    }

    /// `id` leaves `cid`: the others are told (`nick est parti`, IRC PART,
    /// echoed to an IRC leaver).
    pub(crate) fn leave(&mut self, id: ClientId, cid: ChanId, reason: &str) {
        let chan = self.chan(cid);
        let members = chan.members.clone();
        let m = Message::new("PART", [format!("#{}", chan.name), reason.to_owned()])
            .from(&self.prefix(id));
        let others: Vec<ClientId> = members.iter().copied().filter(|m| *m != id).collect();
        self.fan(&others, Some(&texts::gone(self.nick(id))), Some(&m));
        self.fan(&[id], None, Some(&m));
        self.detach(id, cid);
    }

    pub(crate) fn check_kick(
        &self,
        actor: ClientId,
        cid: ChanId,
        nick: &str,
    ) -> Result<ClientId, Refusal> {
        let chan = self.chan(cid);
        if !chan.is_admin(actor) {
            return Err(Refusal::NotAdmin);
        }
        let target = self.member(cid, nick)?;
        if target == actor {
            return Err(Refusal::KickSelf);
        }
        if target == chan.main_admin || (chan.is_admin(target) && chan.main_admin != actor) {
            return Err(Refusal::KickAdmin);
        }
        Ok(target)
    }

    /// `actor` kicks `victim` out of `cid` (checked).
    pub(crate) fn kick(&mut self, actor: ClientId, cid: ChanId, victim: ClientId, reason: &str) {
        let chan = self.chan(cid);
        let name = chan.name.clone();
        let members = chan.members.clone();
        let (by, nick) = (self.nick(actor).to_owned(), self.nick(victim).to_owned());
        let m = Message::new(
            "KICK",
            [format!("#{name}"), nick.clone(), reason.to_owned()],
        )
        .from(&self.prefix(actor));
        let others: Vec<ClientId> = members.iter().copied().filter(|m| *m != victim).collect();
        self.fan(&others, Some(&texts::kicked(&nick, &by)), Some(&m));
        self.fan(&[victim], Some(&texts::kicked_you(&by, &name)), Some(&m));
        self.detach(victim, cid);
    }

    pub(crate) fn check_rename(
        &self,
        actor: ClientId,
        cid: ChanId,
        new: &str,
    ) -> Result<(), Refusal> {
        if !self.chan(cid).is_admin(actor) {
            return Err(Refusal::NotAdmin);
        }
        Self::check_channel_name(new)?;
        match self.find_channel(new) {
            Some(other) if other != cid => Err(Refusal::ChannelExists),
            _ => Ok(()),
        }
    }

    /// `actor` renames `cid` to `new` (checked). The project's clients are
    /// told; IRC has no rename, so its clients see the old channel PARTed
    /// and the new one JOINed, with its names.
    pub(crate) fn rename(&mut self, actor: ClientId, cid: ChanId, new: &str) {
        let chan = self.channels.get_mut(&cid).expect("exists");
        let old = std::mem::replace(&mut chan.name, new.to_owned());
        let members = chan.members.clone();
        self.chan_index.remove(&name_key(&old));
        self.chan_index.insert(name_key(new), cid);
        let others: Vec<ClientId> = members.iter().copied().filter(|m| *m != actor).collect();
        self.fan(&others, Some(&texts::renamed(new)), None);
        self.fan(&[actor], Some(texts::RENAMED_OK), None);
        for id in members {
            if self.clients[&id].mode == Mode::Irc {
                let prefix = self.prefix(id);
                let part = Message::new("PART", [format!("#{old}"), format!("renommée en #{new}")])
                    .from(&prefix);
                let join = Message::new("JOIN", [format!("#{new}")]).from(&prefix);
                self.send_irc(id, &part);
                self.send_irc(id, &join);
                self.irc_names(id, cid);
            }
        }
    }

    pub(crate) fn check_grant(
        &self,
        actor: ClientId,
        cid: ChanId,
        nick: &str,
    ) -> Result<ClientId, Refusal> {
        let target = self.main_admins_member(actor, cid, nick)?;
        if self.chan(cid).is_admin(target) {
            return Err(Refusal::AlreadyAdmin(self.nick(target).to_owned()));
        }
        Ok(target)
    }

    /// `actor` grants (`on`) or revokes `target`'s admin rights in `cid`
    /// (checked): the target and the actor are told in French, IRC members
    /// see `MODE #c +o/-o nick`.
    pub(crate) fn set_admin(&mut self, actor: ClientId, cid: ChanId, target: ClientId, on: bool) {
        let chan = self.channels.get_mut(&cid).expect("exists");
        chan.granted.retain(|m| *m != target);
        if on {
            chan.granted.push(target);
        }
        let (name, members) = (chan.name.clone(), chan.members.clone());
        let (by, nick) = (self.nick(actor).to_owned(), self.nick(target).to_owned());
        let mode = if on { "+o" } else { "-o" };
        let m = Message::new("MODE", [format!("#{name}"), mode.into(), nick.clone()])
            .from(&self.prefix(actor));
        let (to_target, to_actor) = if on {
            (texts::granted_you(&by), texts::granted(&nick))
        } else {
            (texts::revoked_you(&by), texts::revoked(&nick))
        };
        self.fan(&[target], Some(&to_target), None);
        self.fan(&[actor], Some(&to_actor), None);
        self.fan(&members, None, Some(&m));
    }

    pub(crate) fn check_revoke(
        &self,
        actor: ClientId,
        cid: ChanId,
        nick: &str,
    ) -> Result<ClientId, Refusal> {
        let target = self.main_admins_member(actor, cid, nick)?;
        if target == actor {
            return Err(Refusal::RevokeSelf);
        }
        if !self.chan(cid).granted.contains(&target) {
            return Err(Refusal::NotAdminNick(self.nick(target).to_owned()));
        }
        Ok(target)
    }

    pub(crate) fn check_kill(
        &self,
        actor: ClientId,
        cid: ChanId,
        nick: &str,
    ) -> Result<ClientId, Refusal> {
        let target = self.main_admins_member(actor, cid, nick)?;
        if target == actor {
            return Err(Refusal::KillSelf);
        }
        Ok(target)
    }

    pub(crate) fn kill(&mut self, actor: ClientId, victim: ClientId) {
        let by = self.nick(actor).to_owned();
        let nick = self.nick(victim).to_owned();
        let host = self.clients[&victim].host.clone();
        let error = format!("ERROR :Closing Link: {host} (Killed ({by}))\r\n");
        match self.clients[&victim].mode {
            Mode::Irc => self.send(victim, &error),
            _ => self.send(victim, &texts::killed_you(&by)),
        }
        self.close(victim, &format!("Killed ({by})"));
        self.fan(&[actor], Some(&texts::killed(&nick)), None);
    }

    // ----- messages -----

    /// `id` says `text` in `cid` (a PRIVMSG, or a NOTICE when `notice`).
    pub(crate) fn say(&mut self, id: ClientId, cid: ChanId, text: &str, notice: bool) {
        let nick = self.nick(id).to_owned();
        let chan = self.chan(cid);
        let others: Vec<ClientId> = chan.members.iter().copied().filter(|m| *m != id).collect();
        let target = format!("#{}", chan.name);
        let project = project_text(&nick, text, false);
        let irc = irc_message(&self.prefix(id), notice, &target, text);
        self.fan(&others, Some(&project), Some(&irc));
        if !notice {
            let time = self.clock.time_of_day();
            let chan = self.channels.get_mut(&cid).expect("exists");
            if chan.history.len() == HISTORY_LEN {
                chan.history.pop_front();
            }
            chan.history.push_back((time, nick, text.to_owned()));
        }
    }

    /// `id` sends `text` to `target` alone.
    pub(crate) fn private(&mut self, id: ClientId, target: ClientId, text: &str, notice: bool) {
        let nick = self.nick(id).to_owned();
        let project = project_text(&nick, text, true);
        let irc = irc_message(&self.prefix(id), notice, self.nick(target), text);
        self.fan(&[target], Some(&project), Some(&irc));
    }

    /// The channel's last messages, as the project's clients read them.
    pub(crate) fn history_text(&self, cid: ChanId) -> String {
        let chan = self.chan(cid);
        if chan.history.is_empty() {
            return texts::NO_HISTORY.into();
        }
        let mut s = texts::history_head(&chan.name);
        for (time, nick, text) in &chan.history {
            s.push_str(&texts::history_line(time, &project_text(nick, text, false)));
        }
        s
    }

    // ----- leaving -----

    /// Removes a client everywhere (no-op if unknown): everyone sharing a
    /// channel is told once (`nick est parti`, IRC QUIT), admin rights are
    /// handed over, empty channels disappear, the nickname is freed.
    pub(crate) fn remove_client(&mut self, id: ClientId, reason: &str) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if c.closing {
            return;
        }
        c.closing = true;
        c.pending.clear();
        self.offers.retain(|o| o.from != id && o.to != id);
        if self.clients[&id].registered {
            let others = self.co_members(id);
            let m = Message::new("QUIT", [reason]).from(&self.prefix(id));
            self.fan(&others, Some(&texts::gone(self.nick(id))), Some(&m));
        }
        for cid in self.clients[&id].channels.clone() {
            self.detach(id, cid);
        }
        if let Some(nick) = self.clients[&id].nick.clone() {
            self.nicks.remove(&name_key(&nick));
        }
        self.clients.remove(&id);
    }

    // ----- views for tests and diagnostics -----

    /// Registered nicknames, by client number.
    pub fn nicks(&self) -> Vec<String> {
        self.clients
            .values()
            .filter(|c| c.registered)
            .filter_map(|c| c.nick.clone())
            .collect()
    }

    /// Connected clients (registered or not).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Channel names, in creation order.
    pub fn channel_names(&self) -> Vec<String> {
        self.channels.values().map(|c| c.name.clone()).collect()
    }

    pub fn channel(&self, name: &str) -> Option<ChannelView> {
        let chan = self.chan(self.find_channel(name)?);
        let nick = |id: &ClientId| self.nick(*id).to_owned();
        Some(ChannelView {
            name: chan.name.clone(),
            members: chan.members.iter().map(nick).collect(),
            main_admin: nick(&chan.main_admin),
            granted: chan.granted.iter().map(nick).collect(),
        })
    }

    /// The channel `nick` is talking in.
    pub fn current_of(&self, nick: &str) -> Option<String> {
        let id = self.find_nick(nick)?;
        let cid = self.clients[&id].current?;
        Some(self.chan(cid).name.clone())
    }

    /// Checks every invariant of the state; the error says which broke.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (cid, chan) in &self.channels {
            if chan.members.is_empty() {
                return Err(format!("chaîne vide {}", chan.name));
            }
            if !chan.members.contains(&chan.main_admin) {
                return Err(format!("{} : administrateur absent", chan.name));
            }
            if chan.granted.iter().any(|g| !chan.members.contains(g)) {
                return Err(format!("{} : administrateur accordé absent", chan.name));
            }
            if chan.granted.contains(&chan.main_admin) {
                return Err(format!(
                    "{} : administrateur principal en double",
                    chan.name
                ));
            }
            let unique: BTreeSet<_> = chan.members.iter().collect();
            if unique.len() != chan.members.len() {
                return Err(format!("{} : membre en double", chan.name));
            }
            for m in &chan.members {
                let Some(c) = self.clients.get(m) else {
                    return Err(format!("{} : membre fantôme {m}", chan.name));
                };
                if !c.registered || !c.channels.contains(cid) {
                    return Err(format!("{} : membre {m} incohérent", chan.name));
                }
            }
            if self.chan_index.get(&name_key(&chan.name)) != Some(cid) {
                return Err(format!("{} : index des chaînes faux", chan.name));
            }
        }
        if self.chan_index.len() != self.channels.len() {
            return Err("index des chaînes de taille fausse".into());
        }
        for (id, c) in &self.clients {
            for cid in &c.channels {
                match self.channels.get(cid) {
                    Some(chan) if chan.members.contains(id) => {}
                    _ => return Err(format!("client {id} dans une chaîne qui l'ignore")),
                }
            }
            if let Some(cur) = c.current {
                if !c.channels.contains(&cur) {
                    return Err(format!("client {id} : chaîne actuelle hors de ses chaînes"));
                }
            } else if !c.channels.is_empty() && c.mode == Mode::Project {
                return Err(format!("client {id} : pas de chaîne actuelle"));
            }
            if let Some(nick) = &c.nick {
                if self.nicks.get(&name_key(nick)) != Some(id) {
                    return Err(format!("client {id} : pseudo {nick} hors de l'index"));
                }
            }
        }
        if self.nicks.values().any(|id| !self.clients.contains_key(id)) {
            return Err("pseudo d'un client parti".into());
        }
        Ok(())
    }
}

/// A message as a project client reads it: controls escaped, an IRC
/// `/me` as `* nick text`.
fn project_text(nick: &str, text: &str, private: bool) -> String {
    let action = text
        .strip_prefix("\u{1}ACTION ")
        .map(|t| t.strip_suffix('\u{1}').unwrap_or(t));
    match (action, private) {
        (Some(a), false) => texts::action(nick, &escape_controls(a, &[])),
        (Some(a), true) => texts::private(nick, &format!("* {}", escape_controls(a, &[]))),
        (None, false) => texts::said(nick, &escape_controls(text, &[])),
        (None, true) => texts::private(nick, &escape_controls(text, &[])),
    }
}

/// A message as an IRC client reads it: IRC's formatting kept, other
/// controls escaped.
fn irc_message(prefix: &str, notice: bool, target: &str, text: &str) -> Message {
    let command = if notice { "NOTICE" } else { "PRIVMSG" };
    Message::new(
        command,
        [target.to_owned(), escape_controls(text, IRC_FORMATTING)],
    )
    .from(prefix)
}

/// The real clock: monotonic time since the hub started, local time of day.
#[derive(Debug)]
pub struct SystemClock {
    start: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn time_of_day(&self) -> String {
        chrono::Local::now().format("%H:%M:%S").to_string()
    }
}
