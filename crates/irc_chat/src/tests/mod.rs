//! Scenario tests of the hub, without sockets: a [`Sim`] feeds events and
//! keeps what each client received, and checks the hub's invariants after
//! every event.

mod files;
mod irc;
mod project;
mod stress;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hub::{ClientId, Clock, Delivery, Event, Hub, HubConfig};
use crate::Flood;

/// A clock the test moves by hand; the time of day starts at 12:00:00.
#[derive(Clone, Default)]
struct TestClock(Arc<Mutex<Duration>>);

impl Clock for TestClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }

    fn time_of_day(&self) -> String {
        let s = 12 * 3600 + self.now().as_secs();
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

struct Sim {
    hub: Hub,
    clock: TestClock,
    inbox: BTreeMap<ClientId, String>,
    closed: BTreeSet<ClientId>,
    /// Accepted transfers: (sender's token, receiver's token, size).
    transfers: Vec<(String, String, u64)>,
    next: ClientId,
}

impl Sim {
    /// Without flood control: scenario tests send many lines at once.
    fn new() -> Sim {
        Sim::with_flood(Flood::relaxed())
    }

    fn with_flood(flood: Flood) -> Sim {
        let clock = TestClock::default();
        let config = HubConfig {
            flood,
            ..HubConfig::default()
        };
        let mut n = 0u128;
        let tokens = move || {
            n += 1;
            format!("{n:032x}")
        };
        Sim {
            hub: Hub::new(config, Box::new(clock.clone())).with_tokens(tokens),
            clock,
            inbox: BTreeMap::new(),
            closed: BTreeSet::new(),
            transfers: Vec::new(),
            next: 1,
        }
    }

    fn event(&mut self, e: Event) {
        for d in self.hub.handle(e) {
            match d {
                Delivery::Send { to, payload } => {
                    assert!(!to.is_empty(), "a delivery to nobody");
                    for id in to {
                        assert!(!self.closed.contains(&id), "sent to closed {id}");
                        let text = std::str::from_utf8(&payload).unwrap();
                        self.inbox.entry(id).or_default().push_str(text);
                    }
                }
                Delivery::Close { id } => {
                    self.closed.insert(id);
                }
                Delivery::Transfer {
                    sender,
                    receiver,
                    size,
                } => self.transfers.push((sender, receiver, size)),
            }
        }
        if let Err(e) = self.hub.check_invariants() {
            panic!("invariant broken: {e}");
        }
    }

    fn connect(&mut self) -> ClientId {
        let id = self.next;
        self.next += 1;
        self.event(Event::Connect {
            id,
            host: "127.0.0.1".into(),
        });
        id
    }

    fn line(&mut self, id: ClientId, line: &str) {
        self.event(Event::Line {
            id,
            line: line.as_bytes().to_vec(),
        });
    }

    /// What `id` is answered when it sends `line` (and received before).
    fn reply(&mut self, id: ClientId, line: &str) -> String {
        self.line(id, line);
        self.take(id)
    }

    /// A scenario's set-up: each client sends its line, then every inbox
    /// is emptied (what those lines answer is checked elsewhere).
    fn set_up(&mut self, lines: &[(ClientId, &str)]) {
        for (id, line) in lines {
            self.line(*id, line);
        }
        self.take_all();
    }

    /// What `id` received since the last call.
    fn take(&mut self, id: ClientId) -> String {
        self.inbox.remove(&id).unwrap_or_default()
    }

    fn take_all(&mut self) {
        self.inbox.clear();
    }

    fn advance(&mut self, ms: u64) {
        *self.clock.0.lock().unwrap() += Duration::from_millis(ms);
    }

    /// A registered client of the project's protocol.
    fn project(&mut self, nick: &str) -> ClientId {
        let id = self.connect();
        self.line(id, &format!("message{nick}"));
        let got = self.take(id);
        assert!(got.ends_with(&crate::texts::welcome(nick)), "{got}");
        id
    }

    /// Registered clients of the project's protocol, one per nickname.
    fn projects<const N: usize>(&mut self, nicks: [&str; N]) -> [ClientId; N] {
        nicks.map(|nick| self.project(nick))
    }

    /// alice, bob and carol in chan1 (alice its admin), dave alone in
    /// chan2, every inbox empty.
    fn three_in_chan1_and_dave_in_chan2(&mut self) -> [ClientId; 4] {
        let [a, b, c, d] = self.projects(["alice", "bob", "carol", "dave"]);
        self.set_up(&[
            (a, "JOIN chan1"),
            (b, "JOIN chan1"),
            (c, "JOIN chan1"),
            (d, "JOIN chan2"),
        ]);
        [a, b, c, d]
    }

    /// A registered IRC client.
    fn irc(&mut self, nick: &str) -> ClientId {
        let id = self.connect();
        self.line(id, &format!("NICK {nick}"));
        self.line(id, &format!("USER {nick} 0 * :{nick} Test"));
        let got = self.take(id);
        assert!(
            got.starts_with(&format!(":irc_server 001 {nick} ")),
            "{got}"
        );
        id
    }

    fn disconnect(&mut self, id: ClientId) {
        self.event(Event::Disconnect {
            id,
            reason: "Connexion perdue".into(),
        });
    }
}
