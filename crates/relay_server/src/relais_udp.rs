//! Exercise 2.2: the relay over UDP, where there is no connection to wait
//! for: the first datagram from an address registers it.
//!
//! - The first address heard is client 1 (the sender), the next one is
//!   client 2 (the receiver); what the receiver's first datagram says is
//!   not relayed (ours is empty, it only says "I am here").
//! - Every non-empty datagram from client 1 is sent on to client 2 as it
//!   is, one datagram for one datagram (UDP keeps message boundaries). Those
//!   that come before client 2 is known wait (up to [`WAITING_MAX`]), as
//!   the bytes of a TCP sender wait in the kernel until the receiver
//!   connects.
//! - An empty datagram from a member ends the pair: "I leave". The server
//!   tells the other member with an empty datagram of its own, and the next
//!   two addresses heard form the next pair. A pair silent for the
//!   `--inactivite` delay ends the same way (both are told), and so does
//!   Ctrl-C.
//! - A datagram from a third address while the pair is complete is not
//!   relayed (and logged once per pair): a stranger can neither speak to
//!   the receiver nor end the pair. (Anyone able to forge a member's source
//!   address still can; UDP cannot prevent that.) It is answered with
//!   [`BUSY_TEXT`] as one datagram, at most [`REFUSALS_PER_SECOND`] a
//!   second: a forged source address must not turn the server into a
//!   generator of datagrams aimed at someone else.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use server_kit::Shutdown;

use crate::{timed_out, BUSY_TEXT, SERVER_BINARY};

/// Datagrams of client 1 kept while client 2 is not there yet.
pub const WAITING_MAX: usize = 64;
/// Most [`BUSY_TEXT`] answers sent in one second.
pub const REFUSALS_PER_SECOND: u32 = 50;

/// Relays pair after pair until `shutdown`.
pub fn serve(socket: UdpSocket, shutdown: &Shutdown, idle: Duration) -> io::Result<()> {
    shutdown.wake_udp_socket(&socket)?;
    let mut pair = Pair::default();
    let mut refusals = RefusalBudget::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        socket.set_read_timeout(pair.time_left(idle))?;
        let received = server_kit::udp::recv_from(&socket, &mut buf);
        if shutdown.is_triggered() {
            // Our clients would otherwise wait for a relay that is gone.
            if pair.first.is_some() {
                pair.end(&socket, "arrêt du serveur", [true, true]);
            }
            return Ok(());
        }
        match received {
            Ok((n, Some(from))) => {
                if pair.handle(&socket, &buf[..n], from) == Heard::Stranger && refusals.allow() {
                    send(&socket, BUSY_TEXT.as_bytes(), from);
                }
            }
            Ok((_, None)) => continue,
            Err(e) if timed_out(&e) => {
                if pair.time_left(idle).is_some_and(|left| left <= MIN_WAIT) {
                    let why = format!("paire inactive depuis {} s", idle.as_secs());
                    pair.end(&socket, &why, [true, true]);
                }
            }
            // An ICMP error about an earlier datagram, or a signal.
            Err(_) => continue,
        }
    }
}

/// `set_read_timeout` refuses zero.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// Who a datagram came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    Member,
    Stranger,
}

/// Counts the refusals of the current second.
#[derive(Debug)]
struct RefusalBudget {
    second: Instant,
    sent: u32,
}

impl RefusalBudget {
    fn new() -> RefusalBudget {
        RefusalBudget {
            second: Instant::now(),
            sent: 0,
        }
    }

    /// Whether one more refusal may be sent now.
    fn allow(&mut self) -> bool {
        if self.second.elapsed() >= Duration::from_secs(1) {
            *self = RefusalBudget::new();
        }
        self.sent += 1;
        self.sent <= REFUSALS_PER_SECOND
    }
}

/// The pair being formed or served.
#[derive(Debug)]
struct Pair {
    first: Option<SocketAddr>,
    second: Option<SocketAddr>,
    waiting: VecDeque<Vec<u8>>,
    /// When a member was last heard.
    last: Instant,
    /// Strangers and overflows are logged once per pair, not per datagram.
    stranger_logged: bool,
    overflow_logged: bool,
}

impl Default for Pair {
    fn default() -> Self {
        Pair {
            first: None,
            second: None,
            waiting: VecDeque::new(),
            last: Instant::now(),
            stranger_logged: false,
            overflow_logged: false,
        }
    }
}

impl Pair {
    /// How long the members may stay silent still (None: nobody to wait for).
    fn time_left(&self, idle: Duration) -> Option<Duration> {
        self.first
            .map(|_| idle.saturating_sub(self.last.elapsed()).max(MIN_WAIT))
    }

    fn handle(&mut self, socket: &UdpSocket, data: &[u8], from: SocketAddr) -> Heard {
        if Some(from) == self.first {
            self.last = Instant::now();
            if data.is_empty() {
                self.end(socket, "le client 1 est parti", [false, true]);
            } else if let Some(to) = self.second {
                send(socket, data, to);
            } else {
                self.wait(data);
            }
        } else if Some(from) == self.second {
            self.last = Instant::now();
            if data.is_empty() {
                self.end(socket, "le client 2 est parti", [true, false]);
            }
            // Anything else from the receiver is not relayed (2.2: one way).
        } else if self.first.is_none() {
            eprintln!("{SERVER_BINARY}: client 1 enregistré : {from}");
            self.first = Some(from);
            self.last = Instant::now();
            if !data.is_empty() {
                self.wait(data);
            }
        } else if self.second.is_none() {
            eprintln!("{SERVER_BINARY}: client 2 enregistré : {from}");
            self.second = Some(from);
            self.last = Instant::now();
            for datagram in std::mem::take(&mut self.waiting) {
                send(socket, &datagram, from);
            }
        } else {
            if !self.stranger_logged {
                self.stranger_logged = true;
                eprintln!(
                    "{SERVER_BINARY}: datagramme de {from} refusé : la paire est complète \
                     (les suivants aussi, sans autre ligne de journal)"
                );
            }
            return Heard::Stranger;
        }
        Heard::Member
    }

    fn wait(&mut self, data: &[u8]) {
        if self.waiting.len() < WAITING_MAX {
            self.waiting.push_back(data.to_vec());
        } else if !self.overflow_logged {
            self.overflow_logged = true;
            eprintln!(
                "{SERVER_BINARY}: pas encore de client 2 et déjà {WAITING_MAX} datagrammes \
                 en attente : les suivants sont perdus"
            );
        }
    }

    /// Ends the pair: tells the members flagged in `tell` (first, second)
    /// with an empty datagram, and starts over.
    fn end(&mut self, socket: &UdpSocket, why: &str, tell: [bool; 2]) {
        for (member, tell) in [self.first, self.second].into_iter().zip(tell) {
            if let (Some(addr), true) = (member, tell) {
                send(socket, &[], addr);
            }
        }
        eprintln!("{SERVER_BINARY}: fin de la paire ({why}) ; en attente de la paire suivante");
        *self = Pair::default();
    }
}

/// A failed send concerns one datagram to one client (UDP gives no
/// guarantee anyway): logged, not fatal.
fn send(socket: &UdpSocket, data: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(data, to) {
        eprintln!("{SERVER_BINARY}: envoi vers {to} impossible : {e}");
    }
}
