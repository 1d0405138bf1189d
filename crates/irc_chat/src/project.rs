//! The project's own protocol: the report's client's lines, one command
//! each ([`protocols::chat_irc::Command`]), answered with the report's
//! sentences ([`crate::texts`]).

use protocols::chat_irc::{nickname_line, Command, CommandError};

use crate::hub::{ClientId, Hub, Refusal};
use crate::texts;

impl Hub {
    pub(crate) fn project_line(&mut self, id: ClientId, line: &str) {
        self.greet(id);
        if !self.clients[&id].registered {
            self.project_register(id, line);
            return;
        }
        let command = match Command::parse(line) {
            Ok(c) => c,
            // An empty line (a bare Enter from a raw client): nothing to do.
            Err(CommandError::Unknown(w)) if w.is_empty() => return,
            Err(CommandError::Unknown(w)) => {
                let w = protocols::irc_text::escape_controls(&w, &[]);
                return self.send(id, &texts::unknown_command(&w));
            }
            Err(CommandError::Usage(u)) => return self.send(id, &texts::usage(u)),
        };
        if let Err(r) = self.project_command(id, command) {
            self.send(id, &texts::refusal(&r));
        }
    }

    fn project_register(&mut self, id: ClientId, line: &str) {
        if line.trim() == "BYE" {
            self.close(id, "BYE");
            return;
        }
        let nick = nickname_line(line);
        match self.check_nick(id, nick) {
            Ok(()) => {
                self.set_nick(id, nick);
                self.clients.get_mut(&id).expect("known").registered = true;
                self.send(id, &texts::welcome(nick));
            }
            Err(r) => {
                let again = format!("{}{}", texts::refusal(&r), texts::CHOOSE_NICK);
                self.send(id, &again);
            }
        }
    }

    fn project_command(&mut self, id: ClientId, command: Command) -> Result<(), Refusal> {
        match command {
            Command::Help => self.send(id, texts::HELP),
            Command::List => {
                let text = if self.channels.is_empty() {
                    texts::NO_CHANNELS.to_owned()
                } else {
                    texts::channels(self.channels.values().map(|c| c.name.as_str()))
                };
                self.send(id, &text);
            }
            Command::Join(name) => {
                Self::check_channel_name(&name)?;
                let created = self.join(id, &name)?;
                let name = self.chan(self.current(id)?).name.clone();
                let text = if created {
                    texts::created(&name)
                } else {
                    texts::joined(&name)
                };
                self.send(id, &text);
            }
            Command::Leave => {
                let cid = self.current(id)?;
                self.leave(id, cid, "LEAVE");
                let text = match self.clients[&id].current {
                    Some(now) => texts::left_now_in(&self.chan(now).name),
                    None => texts::LEFT_TO_LOBBY.to_owned(),
                };
                self.send(id, &text);
            }
            Command::Who => {
                let chan = self.chan(self.current(id)?);
                if chan.members.len() == 1 {
                    return Err(Refusal::Alone);
                }
                let list: Vec<(String, bool)> = chan
                    .members
                    .iter()
                    .filter(|m| **m != id)
                    .map(|m| (self.nick(*m).to_owned(), chan.is_admin(*m)))
                    .collect();
                let text = texts::members(list.iter().map(|(n, a)| (n.as_str(), *a)));
                self.send(id, &text);
            }
            Command::Text(text) => {
                let cid = self.current(id)?;
                if text.trim().is_empty() {
                    return Err(Refusal::EmptyMessage);
                }
                if self.chan(cid).members.len() == 1 {
                    return Err(Refusal::Alone);
                }
                self.say(id, cid, &text, false);
            }
            Command::Msg { to, text } => {
                let cid = self.current(id)?;
                // Each recipient is checked on its own: the valid ones get
                // the message, the sender hears about the others.
                for nick in to {
                    match self.member(cid, &nick) {
                        Ok(target) => self.private(id, target, &text, false),
                        Err(r) => self.send(id, &texts::refusal(&r)),
                    }
                }
            }
            Command::Bye => self.close(id, "BYE"),
            Command::Kick(nick) => {
                let cid = self.current(id)?;
                let victim = self.check_kick(id, cid, &nick)?;
                self.kick(id, cid, victim, "KICK");
            }
            Command::Ren(name) => {
                let cid = self.current(id)?;
                self.check_rename(id, cid, &name)?;
                self.rename(id, cid, &name);
            }
            Command::Current(None) => {
                let cid = self.current(id)?;
                let text = texts::current(&self.chan(cid).name);
                self.send(id, &text);
            }
            Command::Current(Some(name)) => {
                let cid = self
                    .find_channel(&name)
                    .filter(|cid| self.clients[&id].channels.contains(cid))
                    .ok_or(Refusal::NotMember)?;
                self.clients.get_mut(&id).expect("known").current = Some(cid);
                let text = texts::current(&self.chan(cid).name);
                self.send(id, &text);
            }
            Command::Nick(nick) => {
                self.check_nick(id, &nick)?;
                self.change_nick(id, &nick);
            }
            Command::Grant(nick) => {
                let cid = self.current(id)?;
                let target = self.check_grant(id, cid, &nick)?;
                self.set_admin(id, cid, target, true);
            }
            Command::Revoke(nick) => {
                let cid = self.current(id)?;
                let target = self.check_revoke(id, cid, &nick)?;
                self.set_admin(id, cid, target, false);
            }
            Command::Kill(nick) => {
                let cid = self.current(id)?;
                let victim = self.check_kill(id, cid, &nick)?;
                self.kill(id, victim);
            }
            Command::History => {
                let text = self.history_text(self.current(id)?);
                self.send(id, &text);
            }
            Command::Send {
                to,
                size,
                hash,
                file,
            } => self.offer_file(id, &to, size, hash, &file)?,
            // The folder is the receiving client's business.
            Command::Recv { from, .. } => self.accept_file(id, &from)?,
        }
        Ok(())
    }
}
