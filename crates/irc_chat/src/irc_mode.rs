//! Real IRC clients (RFC 1459/2812 subset): registration, PING, JOIN/PART,
//! PRIVMSG/NOTICE, NAMES, LIST, WHO, TOPIC, KICK, MODE +o/-o, NICK, QUIT.
//!
//! Channel `#x` is the project's channel `x`, so an IRC client and a
//! client of the project's protocol share channels: each line here is
//! mapped onto the hub's shared operations, which tell every member in its
//! own protocol. Refusals are the project's sentences inside the numeric
//! RFC 2812 gives for them (482 for what only an admin may do).

use protocols::irc::{numeric::*, Message, MAX_CONTENT_BYTES};
use protocols::irc_text::{escape_controls, IRC_FORMATTING};

use crate::hub::{ClientId, Hub, Refusal};
use crate::texts;

/// The version in 002 and 004.
const VERSION: &str = concat!("irc_chat-", env!("CARGO_PKG_VERSION"));
/// Most bytes of nicknames in one 353 line (the line stays under 512).
const NAMES_CHUNK: usize = 400;

impl Hub {
    pub(crate) fn irc_line(&mut self, id: ClientId, line: &str) {
        if line.len() > MAX_CONTENT_BYTES {
            let m = self.numeric(
                id,
                ERR_INPUTTOOLONG,
                ["Ligne trop longue (512 octets au plus)"],
            );
            return self.send_irc(id, &m);
        }
        let m = match Message::parse(line) {
            Ok(m) => m,
            Err(protocols::irc::IrcError::Empty) => return,
            Err(e) => {
                let m = self.numeric(id, ERR_UNKNOWNCOMMAND, ["*".to_owned(), e.to_string()]);
                return self.send_irc(id, &m);
            }
        };
        let registered = self.clients[&id].registered;
        match m.command.as_str() {
            "CAP" => self.irc_cap(id, &m),
            "PASS" if registered => {
                self.reply(id, ERR_ALREADYREGISTRED, ["Vous êtes déjà enregistré"])
            }
            "PASS" | "PONG" => {}
            "NICK" => self.irc_nick(id, &m),
            "USER" => self.irc_user(id, &m),
            "PING" => {
                let server = self.config.server_name.clone();
                let token = m.param(0).unwrap_or("").to_owned();
                let pong = Message::new("PONG", [server.clone(), token]).from(&server);
                self.send_irc(id, &pong);
            }
            "QUIT" => {
                let reason = match m.param(0) {
                    Some(r) if !r.is_empty() => {
                        format!("Quit: {}", escape_controls(r, IRC_FORMATTING))
                    }
                    _ => "Quit".to_owned(),
                };
                let host = self.clients[&id].host.clone();
                self.send(id, &format!("ERROR :Closing Link: {host} ({reason})\r\n"));
                self.close(id, &reason);
            }
            _ if !registered => self.reply(id, ERR_NOTREGISTERED, ["Vous n'êtes pas enregistré"]),
            "JOIN" => self.irc_join(id, &m),
            "PART" => self.irc_part(id, &m),
            "PRIVMSG" => self.irc_privmsg(id, &m, false),
            "NOTICE" => self.irc_privmsg(id, &m, true),
            "NAMES" => self.irc_names_cmd(id, &m),
            "LIST" => self.irc_list(id),
            "WHO" => self.irc_who(id, &m),
            "TOPIC" => self.irc_topic(id, &m),
            "KICK" => self.irc_kick(id, &m),
            "MODE" => self.irc_mode(id, &m),
            other => {
                let other = escape_controls(other, &[]);
                self.reply(id, ERR_UNKNOWNCOMMAND, [other, "Commande inconnue".into()]);
            }
        }
    }

    fn reply<I, S>(&mut self, id: ClientId, code: u16, params: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let m = self.numeric(id, code, params);
        self.send_irc(id, &m);
    }

    /// A refusal as its numeric; `chan` is the channel it is about.
    fn refuse(&mut self, id: ClientId, r: &Refusal, chan: &str) {
        let text = texts::refusal(r).trim_end().to_owned();
        let chan = format!("#{chan}");
        match r {
            Refusal::NotMember | Refusal::NoCurrent => {
                self.reply(id, ERR_NOTONCHANNEL, [chan, text]);
            }
            Refusal::UnknownUser(n) => self.reply(id, ERR_NOSUCHNICK, [n.clone(), text]),
            Refusal::NotInChannel(n) => {
                self.reply(id, ERR_USERNOTINCHANNEL, [n.clone(), chan, text]);
            }
            Refusal::BadChannel(_) => self.reply(id, ERR_NOSUCHCHANNEL, [chan, text]),
            Refusal::TooManyChannels => self.reply(id, ERR_TOOMANYCHANNELS, [chan, text]),
            Refusal::BadNick(_) => self.reply(id, ERR_ERRONEUSNICKNAME, ["*".into(), text]),
            Refusal::NickTaken => self.reply(id, ERR_NICKNAMEINUSE, ["*".into(), text]),
            Refusal::AlreadyIn | Refusal::Alone | Refusal::EmptyMessage => {}
            // No file transfer in IRC mode: never refused to an IRC client.
            Refusal::SendToSelf
            | Refusal::BadFileName(_)
            | Refusal::FileTooBig(_)
            | Refusal::NoOffer(_)
            | Refusal::IrcPeer(_)
            | Refusal::TooManyOffers => {}
            Refusal::NotAdmin
            | Refusal::NotMainAdmin
            | Refusal::KickSelf
            | Refusal::KickAdmin
            | Refusal::AlreadyAdmin(_)
            | Refusal::NotAdminNick(_)
            | Refusal::RevokeSelf
            | Refusal::KillSelf
            | Refusal::ChannelExists => self.reply(id, ERR_CHANOPRIVSNEEDED, [chan, text]),
        }
    }

    fn irc_cap(&mut self, id: ClientId, m: &Message) {
        let server = self.config.server_name.clone();
        let nick = self.nick(id).to_owned();
        let sub = m.param(0).unwrap_or("").to_ascii_uppercase();
        let c = self.clients.get_mut(&id).expect("known");
        let answer = match sub.as_str() {
            "LS" | "LIST" => {
                c.cap_pending |= !c.registered;
                Some(Message::new("CAP", [nick, sub, String::new()]))
            }
            // No capability is offered, so every request is refused.
            "REQ" => {
                c.cap_pending |= !c.registered;
                let asked = m.param(1).unwrap_or("").to_owned();
                Some(Message::new("CAP", [nick, "NAK".into(), asked]))
            }
            "END" => {
                c.cap_pending = false;
                None
            }
            _ => None,
        };
        if let Some(a) = answer {
            self.send_irc(id, &a.from(&server));
        }
        self.maybe_welcome(id);
    }

    fn irc_nick(&mut self, id: ClientId, m: &Message) {
        let Some(nick) = m.param(0).filter(|n| !n.is_empty()) else {
            return self.reply(id, ERR_NONICKNAMEGIVEN, ["Pas de pseudonyme donné"]);
        };
        let nick = nick.to_owned();
        match self.check_nick(id, &nick) {
            Err(r) => {
                let text = texts::refusal(&r).trim_end().to_owned();
                let code = if r == Refusal::NickTaken {
                    ERR_NICKNAMEINUSE
                } else {
                    ERR_ERRONEUSNICKNAME
                };
                self.reply(id, code, [escape_controls(&nick, &[]), text]);
            }
            Ok(()) if self.clients[&id].registered => {
                if self.nick(id) != nick {
                    self.change_nick(id, &nick);
                }
            }
            Ok(()) => {
                self.set_nick(id, &nick);
                self.maybe_welcome(id);
            }
        }
    }

    fn irc_user(&mut self, id: ClientId, m: &Message) {
        if self.clients[&id].registered {
            return self.reply(id, ERR_ALREADYREGISTRED, ["Vous êtes déjà enregistré"]);
        }
        if m.params.len() < 4 {
            return self.reply(id, ERR_NEEDMOREPARAMS, ["USER", "Paramètres manquants"]);
        }
        let user: String = m.params[0]
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '~'))
            .take(16)
            .collect();
        let c = self.clients.get_mut(&id).expect("known");
        c.user = Some(if user.is_empty() { "user".into() } else { user });
        c.realname = escape_controls(&m.params[3], &[]);
        self.maybe_welcome(id);
    }

    /// 001 to 004 (and 005, 422) once NICK and USER are in and CAP is over.
    fn maybe_welcome(&mut self, id: ClientId) {
        let c = &self.clients[&id];
        if c.registered || c.nick.is_none() || c.user.is_none() || c.cap_pending {
            return;
        }
        self.clients.get_mut(&id).expect("known").registered = true;
        let server = self.config.server_name.clone();
        let started = self.started.clone();
        let prefix = self.prefix(id);
        self.reply(
            id,
            RPL_WELCOME,
            [format!("Bienvenue sur le tchat IRC {prefix}")],
        );
        self.reply(
            id,
            RPL_YOURHOST,
            [format!("Votre serveur est {server}, version {VERSION}")],
        );
        self.reply(
            id,
            RPL_CREATED,
            [format!("Ce serveur a démarré à {started}")],
        );
        self.reply(
            id,
            RPL_MYINFO,
            [server, VERSION.into(), "i".into(), "o".into()],
        );
        self.reply(
            id,
            5,
            [
                "CHANTYPES=#",
                "PREFIX=(o)@",
                "NICKLEN=32",
                "CHANNELLEN=33",
                "sont pris en charge par ce serveur",
            ],
        );
        self.reply(id, ERR_NOMOTD, ["Pas de message du jour"]);
    }

    /// `#name` to `name`, or None for a name that is not a channel.
    fn channel_param(p: &str) -> Option<&str> {
        p.strip_prefix('#')
    }

    fn irc_join(&mut self, id: ClientId, m: &Message) {
        let Some(list) = m.param(0) else {
            return self.reply(id, ERR_NEEDMOREPARAMS, ["JOIN", "Paramètres manquants"]);
        };
        if list == "0" {
            for cid in self.clients[&id].channels.clone() {
                let nick = self.nick(id).to_owned();
                self.leave(id, cid, &nick);
            }
            return;
        }
        for target in list.split(',').map(str::to_owned).collect::<Vec<_>>() {
            let name = Self::channel_param(&target).unwrap_or("");
            if let Err(r) = Self::check_channel_name(name) {
                let text = texts::refusal(&r).trim_end().to_owned();
                self.reply(id, ERR_NOSUCHCHANNEL, [escape_controls(&target, &[]), text]);
                continue;
            }
            // Joining again is silently ignored, as IRC servers do.
            if let Err(r) = self.join(id, name) {
                self.refuse(id, &r, name);
                continue;
            }
            let cid = self.clients[&id].current.expect("just joined");
            if let Some(topic) = self.chan(cid).topic.clone() {
                let chan = format!("#{}", self.chan(cid).name);
                let topic = escape_controls(&topic, IRC_FORMATTING);
                self.reply(id, RPL_TOPIC, [chan, topic]);
            }
            self.irc_names(id, cid);
        }
    }

    /// 353 (as many as needed) then 366 for channel `cid`.
    pub(crate) fn irc_names(&mut self, id: ClientId, cid: u64) {
        let chan = self.chan(cid);
        let name = format!("#{}", chan.name);
        let names: Vec<String> = chan
            .members
            .iter()
            .map(|m| {
                let at = if chan.is_admin(*m) { "@" } else { "" };
                format!("{at}{}", self.nick(*m))
            })
            .collect();
        let mut line = String::new();
        for n in names {
            if !line.is_empty() && line.len() + n.len() > NAMES_CHUNK {
                let l = std::mem::take(&mut line);
                self.reply(id, RPL_NAMREPLY, ["=".to_owned(), name.clone(), l]);
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&n);
        }
        self.reply(id, RPL_NAMREPLY, ["=".to_owned(), name.clone(), line]);
        self.reply(id, RPL_ENDOFNAMES, [name, "Fin de la liste /NAMES".into()]);
    }

    fn irc_part(&mut self, id: ClientId, m: &Message) {
        let Some(list) = m.param(0) else {
            return self.reply(id, ERR_NEEDMOREPARAMS, ["PART", "Paramètres manquants"]);
        };
        let reason = escape_controls(m.param(1).unwrap_or(self.nick(id)), IRC_FORMATTING);
        for target in list.split(',').map(str::to_owned).collect::<Vec<_>>() {
            match self.irc_channel_of(id, &target) {
                Some(cid) => self.leave(id, cid, &reason),
                None => continue,
            }
        }
    }

    /// The channel `target` (`#x`) names, if `id` is in it; otherwise the
    /// numeric saying why (403 or 442) is sent and None returned.
    fn irc_channel_of(&mut self, id: ClientId, target: &str) -> Option<u64> {
        let clean = escape_controls(target, &[]);
        let Some(cid) = Self::channel_param(target).and_then(|n| self.find_channel(n)) else {
            self.reply(id, ERR_NOSUCHCHANNEL, [clean, "Chaîne inconnue".into()]);
            return None;
        };
        if !self.chan(cid).members.contains(&id) {
            let name = format!("#{}", self.chan(cid).name);
            let text = texts::NOT_IN_THAT_CHANNEL.trim_end().to_owned();
            self.reply(id, ERR_NOTONCHANNEL, [name, text]);
            return None;
        }
        Some(cid)
    }

    fn irc_privmsg(&mut self, id: ClientId, m: &Message, notice: bool) {
        let (Some(targets), Some(text)) = (m.param(0), m.param(1)) else {
            if !notice {
                if m.params.is_empty() {
                    let cmd = m.command.clone();
                    self.reply(
                        id,
                        ERR_NORECIPIENT,
                        [format!("Pas de destinataire ({cmd})")],
                    );
                } else {
                    self.reply(id, ERR_NOTEXTTOSEND, ["Pas de texte à envoyer"]);
                }
            }
            return;
        };
        if text.is_empty() {
            if !notice {
                self.reply(id, ERR_NOTEXTTOSEND, ["Pas de texte à envoyer"]);
            }
            return;
        }
        let text = text.to_owned();
        for target in targets.split(',').map(str::to_owned).collect::<Vec<_>>() {
            let clean = escape_controls(&target, &[]);
            if let Some(name) = Self::channel_param(&target) {
                match self.find_channel(name) {
                    Some(cid) if self.chan(cid).members.contains(&id) => {
                        self.say(id, cid, &text, notice);
                    }
                    Some(_) if !notice => {
                        let text = texts::NOT_IN_THAT_CHANNEL.trim_end().to_owned();
                        self.reply(id, ERR_CANNOTSENDTOCHAN, [clean, text]);
                    }
                    None if !notice => {
                        self.reply(id, ERR_NOSUCHNICK, [clean, "Chaîne inconnue".into()]);
                    }
                    _ => {}
                }
            } else {
                match self
                    .find_nick(&target)
                    .filter(|t| self.clients[t].registered)
                {
                    Some(to) => self.private(id, to, &text, notice),
                    None if !notice => {
                        let text = texts::unknown_user(&clean).trim_end().to_owned();
                        self.reply(id, ERR_NOSUCHNICK, [clean, text]);
                    }
                    None => {}
                }
            }
        }
    }

    fn irc_names_cmd(&mut self, id: ClientId, m: &Message) {
        let list = m.param(0).unwrap_or("").to_owned();
        for target in list.split(',').filter(|t| !t.is_empty()) {
            match Self::channel_param(target).and_then(|n| self.find_channel(n)) {
                Some(cid) => self.irc_names(id, cid),
                None => {
                    let clean = escape_controls(target, &[]);
                    self.reply(id, RPL_ENDOFNAMES, [clean, "Fin de la liste /NAMES".into()]);
                }
            }
        }
        if list.is_empty() {
            self.reply(id, RPL_ENDOFNAMES, ["*", "Fin de la liste /NAMES"]);
        }
    }

    fn irc_list(&mut self, id: ClientId) {
        self.reply(id, RPL_LISTSTART, ["Channel", "Users  Name"]);
        let rows: Vec<(String, usize, String)> = self
            .channels
            .values()
            .map(|c| {
                let topic = c.topic.as_deref().unwrap_or("");
                (
                    format!("#{}", c.name),
                    c.members.len(),
                    escape_controls(topic, IRC_FORMATTING),
                )
            })
            .collect();
        for (name, count, topic) in rows {
            self.reply(id, RPL_LIST, [name, count.to_string(), topic]);
        }
        self.reply(id, RPL_LISTEND, ["Fin de /LIST"]);
    }

    fn irc_who(&mut self, id: ClientId, m: &Message) {
        let mask = m.param(0).unwrap_or("*").to_owned();
        let server = self.config.server_name.clone();
        let mut rows = Vec::new();
        if let Some(cid) = Self::channel_param(&mask).and_then(|n| self.find_channel(n)) {
            let chan = self.chan(cid);
            for member in &chan.members {
                let flag = if chan.is_admin(*member) { "H@" } else { "H" };
                rows.push((format!("#{}", chan.name), *member, flag));
            }
        } else if let Some(who) = self.find_nick(&mask).filter(|t| self.clients[t].registered) {
            rows.push(("*".to_owned(), who, "H"));
        }
        for (chan, member, flag) in rows {
            let c = &self.clients[&member];
            let nick = self.nick(member).to_owned();
            let user = c.user.clone().unwrap_or_else(|| nick.clone());
            let params = [
                chan,
                user,
                c.host.clone(),
                server.clone(),
                nick,
                flag.to_owned(),
                format!("0 {}", c.realname),
            ];
            self.reply(id, RPL_WHOREPLY, params);
        }
        self.reply(
            id,
            RPL_ENDOFWHO,
            [escape_controls(&mask, &[]), "Fin de la liste /WHO".into()],
        );
    }

    fn irc_topic(&mut self, id: ClientId, m: &Message) {
        let Some(target) = m.param(0).map(str::to_owned) else {
            return self.reply(id, ERR_NEEDMOREPARAMS, ["TOPIC", "Paramètres manquants"]);
        };
        let Some(cid) = self.irc_channel_of(id, &target) else {
            return;
        };
        let name = format!("#{}", self.chan(cid).name);
        match m.param(1) {
            None => match self.chan(cid).topic.clone() {
                Some(t) => self.reply(id, RPL_TOPIC, [name, escape_controls(&t, IRC_FORMATTING)]),
                None => self.reply(id, RPL_NOTOPIC, [name, "Pas de sujet".into()]),
            },
            Some(topic) => {
                let topic = topic.to_owned();
                let nick = self.nick(id).to_owned();
                let members = self.chan(cid).members.clone();
                let m = Message::new("TOPIC", [name, escape_controls(&topic, IRC_FORMATTING)])
                    .from(&self.prefix(id));
                let text = texts::topic_changed(&nick, &escape_controls(&topic, &[]));
                self.fan(&members, Some(&text), Some(&m));
                self.channels.get_mut(&cid).expect("exists").topic =
                    (!topic.is_empty()).then_some(topic);
            }
        }
    }

    fn irc_kick(&mut self, id: ClientId, m: &Message) {
        let (Some(target), Some(nick)) = (m.param(0), m.param(1)) else {
            return self.reply(id, ERR_NEEDMOREPARAMS, ["KICK", "Paramètres manquants"]);
        };
        let (target, nick) = (target.to_owned(), nick.to_owned());
        let reason = escape_controls(m.param(2).unwrap_or(self.nick(id)), IRC_FORMATTING);
        let Some(cid) = self.irc_channel_of(id, &target) else {
            return;
        };
        let name = self.chan(cid).name.clone();
        match self.check_kick(id, cid, &nick) {
            Ok(victim) => self.kick(id, cid, victim, &reason),
            Err(r) => self.refuse(id, &r, &name),
        }
    }

    fn irc_mode(&mut self, id: ClientId, m: &Message) {
        let Some(target) = m.param(0).map(str::to_owned) else {
            return self.reply(id, ERR_NEEDMOREPARAMS, ["MODE", "Paramètres manquants"]);
        };
        let Some(chan_name) = Self::channel_param(&target) else {
            // User modes: none are kept.
            return if self.find_nick(&target) == Some(id) {
                self.reply(id, RPL_UMODEIS, ["+"])
            } else {
                self.reply(id, 502, ["Vous ne pouvez changer que vos propres modes"])
            };
        };
        let Some(cid) = self.find_channel(chan_name) else {
            let clean = escape_controls(&target, &[]);
            return self.reply(id, ERR_NOSUCHCHANNEL, [clean, "Chaîne inconnue".into()]);
        };
        let name = self.chan(cid).name.clone();
        let modes = m.param(1).unwrap_or("").to_owned();
        if modes.is_empty() {
            return self.reply(id, RPL_CHANNELMODEIS, [format!("#{name}"), "+".into()]);
        }
        if modes.trim_start_matches('+') == "b" {
            return self.reply(
                id,
                RPL_ENDOFBANLIST,
                [format!("#{name}"), "Fin de la liste des bannis".into()],
            );
        }
        if !self.chan(cid).members.contains(&id) {
            return self.refuse(id, &Refusal::NotMember, &name);
        }
        let mut args = m.params.iter().skip(2);
        let mut adding = true;
        for c in modes.chars() {
            match c {
                '+' => adding = true,
                '-' => adding = false,
                'o' => {
                    let Some(nick) = args.next() else {
                        self.reply(id, ERR_NEEDMOREPARAMS, ["MODE", "Paramètres manquants"]);
                        continue;
                    };
                    let checked = if adding {
                        self.check_grant(id, cid, nick)
                    } else {
                        self.check_revoke(id, cid, nick)
                    };
                    match checked {
                        Ok(t) => self.set_admin(id, cid, t, adding),
                        Err(r) => self.refuse(id, &r, &name),
                    }
                }
                other => {
                    let other = escape_controls(&other.to_string(), &[]);
                    self.reply(id, ERR_UNKNOWNMODE, [other, "Mode inconnu".into()]);
                }
            }
        }
    }
}
