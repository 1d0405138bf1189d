//! Randomized stress: clients of both protocols join, leave, talk, rename,
//! kick, grant, kill and vanish at random; after every event the hub's
//! invariants hold (checked by [`Sim::event`]): no ghost user, no channel
//! without its main admin, no empty channel, indexes consistent.

use proptest::prelude::*;

use super::Sim;
use crate::hub::ClientId;
use crate::Flood;

const NICKS: [&str; 8] = ["n0", "n1", "n2", "N2", "n3", "n4", "ｎ5", "n5"];
const CHANS: [&str; 4] = ["c0", "c1", "C1", "c2"];

fn apply(s: &mut Sim, live: &mut Vec<(ClientId, bool)>, op: (u8, u8, u8, u8)) {
    let (kind, a, b, c) = op;
    if live.is_empty() || kind % 16 == 0 {
        let irc = a % 2 == 0;
        let id = s.connect();
        let nick = NICKS[b as usize % NICKS.len()];
        if irc {
            s.line(id, &format!("NICK {nick}"));
            s.line(id, &format!("NICK {}", NICKS[c as usize % NICKS.len()]));
            s.line(id, "USER u 0 * :stress");
        } else {
            s.line(id, &format!("message{nick}"));
            s.line(id, &format!("message{}", NICKS[c as usize % NICKS.len()]));
        }
        live.push((id, irc));
        return;
    }
    let (id, irc) = live[a as usize % live.len()];
    let chan = CHANS[b as usize % CHANS.len()];
    let nick = NICKS[c as usize % NICKS.len()];
    let line = match (kind % 16, irc) {
        (1 | 2, false) => format!("JOIN {chan}"),
        (1 | 2, true) => format!("JOIN #{chan}"),
        (3, false) => "LEAVE".into(),
        (3, true) => format!("PART #{chan}"),
        (4, false) => "messagebonjour".into(),
        (4, true) => format!("PRIVMSG #{chan} :bonjour"),
        (5, false) => format!("KICK {nick}"),
        (5, true) => format!("KICK #{chan} {nick}"),
        (6, false) => format!("REN {chan}"),
        (6, true) => format!("TOPIC #{chan} :sujet"),
        (7, false) => format!("NICK {nick}"),
        (7, true) => format!("NICK {nick}"),
        (8, false) => format!("GRANT {nick}"),
        (8, true) => format!("MODE #{chan} +o {nick}"),
        (9, false) => format!("REVOKE {nick}"),
        (9, true) => format!("MODE #{chan} -o {nick}"),
        (10, false) => format!("KILL {nick}"),
        (10, true) => "JOIN 0".into(),
        (11, false) => format!("CURRENT {chan}"),
        (11, true) => format!("NAMES #{chan}"),
        (12, false) => format!("MSG {nick};n1 psst"),
        (12, true) => format!("PRIVMSG {nick} :psst"),
        (13, false) => "BYE".into(),
        (13, true) => "QUIT :salut".into(),
        (14, _) => {
            s.disconnect(id);
            String::new()
        }
        _ => "WHO".into(),
    };
    if !line.is_empty() {
        s.line(id, &line);
    }
    // The server sees the end of every connection the hub closed.
    for closed in s.closed.clone() {
        s.disconnect(closed);
    }
    live.retain(|(id, _)| !s.closed.contains(id) && s.hub.clients.contains_key(id));
    assert_eq!(s.hub.client_count(), live.len(), "a ghost client");
    s.take_all();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_sessions_keep_the_invariants(
        ops in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..400)
    ) {
        let mut s = Sim::with_flood(Flood::relaxed());
        let mut live = Vec::new();
        for op in ops {
            apply(&mut s, &mut live, op);
        }
        for (id, _) in live.clone() {
            s.disconnect(id);
        }
        prop_assert_eq!(s.hub.client_count(), 0);
        prop_assert!(s.hub.channel_names().is_empty());
        prop_assert!(s.hub.nicks().is_empty());
    }
}
