//! `serveur_chat`: the UDP chat server of lab 18. The sheet's flow, as this
//! crate runs it:
//!
//! 1. `recvfrom` in an endless loop, print `recv_data : b'...'`  -> `receive_loop`, [`journal`]
//! 2. `traite_data(addr, data)` (g.)                             -> [`Chat::traite_data`]
//! 3. `send_entrance_notification(addr, name)` (c.)              -> [`Chat::send_entrance_notification`]
//! 4. `send_message(addr, message)` (d.)                         -> [`Chat::send_message`]
//! 5. `send_quit_notification(addr)` (e.)                        -> [`Chat::send_quit_notification`]
//!
//! The sheet's functions call `sendto`; here they return the datagrams to
//! send, and the loop sends them, so they are unit-tested without sockets.
//!
//! # Beyond the sheet
//! - [`protocol`]: the sheet's functions and the hostile-peer rules around
//!   them (names, seats, token buckets, expiry), with the clock passed in.
//! - [`batch`]: up to 32 datagrams per `recvmmsg`, so that a flood is
//!   drained faster than it arrives.
//! - [`turns`]: a batch is handled round robin over its senders.
//! - [`penalty`]: a member over its token bucket is set aside in the
//!   kernel (a BPF filter on the socket drops its datagrams before the
//!   receive buffer) until its bucket is full again; [`penalty::SetAside`]
//!   is the receive loop's bookkeeping of it (fed the rejections and
//!   [`Chat::departed`]).
//! - [`fanout`]: one payload to many addresses, one `sendmmsg` per batch.
//! - [`departures`]: members whose client is gone, from the ICMP errors on
//!   the socket's error queue (`IP_RECVERR`).
//! - [`journal`]: the `recv_data : b'...'` log on stdout and the rejections
//!   on stderr, written by their own thread so the receive loop never waits
//!   for a terminal or a pipe.
//! - This file: binding (the labs' port rule, a large receive buffer), the
//!   receive loop (reading up to 8 full batches (`READ_AHEAD`) ahead of the
//!   fan-out, so a flooder is set aside as soon as its burst is read), the
//!   inactivity sweep, and shutdown.
//!
//! ```mermaid
//! flowchart LR
//!     N((UDP socket)) -- "BPF filter, recvmmsg, up to 32" --> L[receive loop]
//!     L -- "(now, addr, bytes), senders in turn" --> P[Chat::traite_data]
//!     P -- "over its bucket" --> F[penalty: filter rebuilt] -.-> N
//!     P -- deliveries --> L
//!     L -- sendmmsg, one call per 64 recipients --> N
//!     N -. "ICMP port unreachable (MSG_ERRQUEUE)" .-> D[departures::drain] --> G[Chat::gone]
//!     T[tick: Chat::expire] --> L
//!     L -- try_send --> J[journal thread] --> O[stdout / stderr]
//! ```
//!
//! One thread receives, decides and sends: the state is a plain value, no
//! lock, and datagrams are handled in the order they arrived, as the sheet's
//! single-threaded Python server does (but for the turns within a batch).

pub mod batch;
pub mod departures;
pub mod fanout;
pub mod journal;
pub mod penalty;
pub mod protocol;
pub mod turns;

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use server_kit::cli::BoxError;
use server_kit::{BindError, PortChoice, Shutdown, UdpOptions};

use fanout::Fanout;
use journal::Journal;
use penalty::SetAside;
pub use protocol::{Chat, Limits};
use protocol::{Delivery, Reaction, Rejection};
use turns::Turns;

/// The binary's name, in the ready line and log lines.
pub const BINARY: &str = "serveur_chat";
/// The sheet's port.
pub const DEFAULT_PORT: u16 = 5005;
/// The receive buffer asked for: at 6,000 messages/s, 4 MiB absorbs more than
/// half a second of backlog while the server is scheduled out.
pub const DEFAULT_RECV_BUFFER: usize = 4 << 20;
/// The 18.1 answer.
pub const BIEN_RECU: &str = "Bien reçu !";

/// What the server does with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exercise 18: the chat protocol.
    Chat,
    /// Exercise 18.1: print the request and answer `Bien reçu !`.
    BienRecu,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    pub mode: Mode,
    /// SO_RCVBUF to ask for.
    pub recv_buffer: usize,
    /// Seats, inactivity, rate limits.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: PortChoice::DefaultOrNext(DEFAULT_PORT),
            mode: Mode::Chat,
            recv_buffer: DEFAULT_RECV_BUFFER,
            limits: Limits::default(),
        }
    }
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    mode: Mode,
    limits: Limits,
}

impl Server {
    /// Binds by the port rule and sizes the receive buffer.
    pub fn bind(config: &Config) -> Result<Server, BindError> {
        let options = UdpOptions {
            recv_buffer: Some(config.recv_buffer),
            ..UdpOptions::default()
        };
        let socket = server_kit::bind_udp(config.bind, config.port, &options)?;
        force_recv_buffer(&socket, config.recv_buffer);
        if let Err(e) = departures::enable(&socket) {
            eprintln!("{BINARY}: erreurs ICMP non suivies ({e}) : les clients disparus ne partiront qu'après l'inactivité");
        }
        Ok(Server {
            socket,
            mode: config.mode,
            limits: config.limits,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Serves until `shutdown` is triggered, logging to `out` (the
    /// `recv_data` lines) and `err` (what was ignored, and why).
    pub fn serve<O, E>(self, shutdown: &Shutdown, out: O, err: E) -> io::Result<()>
    where
        O: Write + Send + 'static,
        E: Write + Send + 'static,
    {
        shutdown.wake_udp_socket(&self.socket)?;
        let journal = Journal::start(BINARY, out, err)?;
        let result = receive_loop(&self.socket, self.mode, self.limits, shutdown, &journal);
        journal.finish();
        result
    }
}

/// Binds, prints the ready line, serves on stdout/stderr until `shutdown`.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let server = Server::bind(&config)?;
    server_kit::announce(BINARY, server.local_addr()?, None);
    server.serve(&shutdown, io::stdout(), io::stderr())?;
    Ok(())
}

/// Full batches read ahead before the fan-out (see [`receive_loop`]): 256
/// datagrams, enough to reach past a default burst (100).
const READ_AHEAD: usize = 8;

/// How often silent members are looked for: often enough that a member is
/// expired within a quarter of the delay after it, at most once a second.
fn sweep_every(inactivity: Duration) -> Duration {
    (inactivity / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

fn receive_loop(
    socket: &UdpSocket,
    mode: Mode,
    limits: Limits,
    shutdown: &Shutdown,
    journal: &Journal,
) -> io::Result<()> {
    let mut chat = Chat::new(limits);
    let mut fanout = Fanout::default();
    // The receive wakes up at least this often, to expire silent members
    // (and sooner when a set-aside ends).
    let tick = sweep_every(limits.inactivity);
    let mut timeout = tick;
    socket.set_read_timeout(Some(timeout))?;
    let mut next_sweep = Instant::now() + tick;
    let mut receiver = batch::Receiver::default();
    let mut turns = Turns::default();
    let mut set_aside = SetAside::new(&limits);
    let mut logs: Vec<Option<Logged>> = Vec::with_capacity(batch::BATCH);
    let mut pending: Vec<Delivery> = Vec::new();
    // 18.1: the senders to answer, in turn order; one buffer for the whole
    // run, and the answer is the same constant for all, so a datagram costs
    // no allocation here.
    let mut answers: Vec<SocketAddr> = Vec::with_capacity(batch::BATCH * READ_AHEAD);
    loop {
        let mut received = receiver.receive(socket);
        if shutdown.is_triggered() {
            return Ok(());
        }
        let mut now = Instant::now();
        let mut icmp_errors = false;
        // Read ahead while batches come full (up to READ_AHEAD of them),
        // deciding every datagram, and send only then: a flooder over its
        // bucket is set aside after its first burst is *read*, not after it
        // was fanned out (5,000 sends for 100 messages to 50 members),
        // while the receive buffer would fill up for everyone.
        for ahead in 1.. {
            match received {
                Ok(count) => {
                    const FIRST: [usize; 1] = [0];
                    let order = if count <= 1 {
                        &FIRST[..count]
                    } else {
                        turns.order(receiver.senders())
                    };
                    // Handled in turns, logged in arrival order (the sheet's
                    // `recv_data` lines are what came, as it came).
                    logs.clear();
                    logs.resize(count, None);
                    for &i in order {
                        let (data, from) = receiver.datagram(i);
                        match mode {
                            Mode::BienRecu => {
                                logs[i] = Some(Logged::received());
                                answers.push(from);
                            }
                            Mode::Chat => {
                                let reaction = chat.traite_data(now, from, data);
                                set_aside.after(now, from, &reaction);
                                set_aside.forget(chat.departed());
                                let Reaction {
                                    deliveries,
                                    rejected,
                                } = reaction;
                                logs[i] = Some(Logged::of(rejected, !deliveries.is_empty()));
                                pending.extend(deliveries);
                            }
                        }
                    }
                    for (i, logged) in logs.drain(..).enumerate() {
                        if let Some(logged) = logged {
                            let (data, from) = receiver.datagram(i);
                            log(journal, from, data, logged);
                        }
                    }
                    if count < batch::BATCH || ahead >= READ_AHEAD {
                        break;
                    }
                }
                // The read timeout: time to look for silent members (or,
                // reading ahead, nothing more queued).
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    break
                }
                // An ICMP error about an earlier send, reported on this
                // socket: nothing is wrong with the socket itself; the
                // error queue says whom it was about.
                Err(e) if departures::is_reported_error(&e) => {
                    icmp_errors = true;
                    break;
                }
                Err(e) => return Err(e),
            }
            received = receiver.receive_queued(socket);
            now = Instant::now();
        }
        // The set-asides decided above are in force before the fan-out.
        set_aside.update(now, socket, journal);
        send_all(socket, &mut fanout, &pending, journal);
        pending.clear();
        fanout.send(socket, BIEN_RECU.as_bytes(), &answers, |to, e| {
            journal.send_failed(to, e)
        });
        answers.clear();
        // The error queue is read whenever an error was reported, and at
        // every tick anyway: queued errors take room in the receive buffer,
        // they must never pile up (in 18.1 mode they are just dropped).
        let sweep = now >= next_sweep;
        if fanout.take_reported_errors() || icmp_errors || sweep {
            for addr in departures::drain(socket) {
                if mode != Mode::Chat {
                    continue;
                }
                if let Some((name, farewell)) = chat.gone(addr) {
                    journal.departed(addr, name, protocol::Departure::Unreachable);
                    send_all(socket, &mut fanout, &[farewell], journal);
                }
            }
        }
        if sweep {
            next_sweep = now + tick;
        }
        if sweep && mode == Mode::Chat {
            for (addr, name, farewell) in chat.expire(now) {
                journal.departed(addr, name, protocol::Departure::Inactive);
                send_all(socket, &mut fanout, &[farewell], journal);
            }
        }
        set_aside.forget(chat.departed());
        set_aside.update(now, socket, journal);
        let wanted = set_aside.wake_within(now, tick);
        if wanted != timeout {
            socket.set_read_timeout(Some(wanted))?;
            timeout = wanted;
        }
    }
}

/// What to log about one datagram, once its batch was handled.
#[derive(Debug, Clone)]
struct Logged {
    rejected: Option<Rejection>,
    /// Something was sent because of it.
    answered: bool,
}

impl Logged {
    fn received() -> Self {
        Logged {
            rejected: None,
            answered: true,
        }
    }

    fn of(rejected: Option<Rejection>, answered: bool) -> Self {
        Logged { rejected, answered }
    }
}

/// The sheet's `recv_data : b'...'` line, and why the datagram was ignored
/// if it was. A flooder's messages beyond its token bucket are the
/// exception: logging each would cost the server (and its terminal) more
/// than the flood itself, so they go unlogged but for one stderr line when
/// the member is told (once per burst).
fn log(journal: &Journal, from: SocketAddr, data: &[u8], logged: Logged) {
    match logged.rejected {
        Some(Rejection::RateLimited) if !logged.answered => {}
        Some(why @ Rejection::RateLimited) => journal.rejected(from, why),
        Some(why) => {
            journal.received(data);
            journal.rejected(from, why);
        }
        None => journal.received(data),
    }
}

/// Sends deliveries in order. One client's problem (unreachable, buffer
/// full) is not the others': it is logged and the others are served.
fn send_all(socket: &UdpSocket, fanout: &mut Fanout, deliveries: &[Delivery], journal: &Journal) {
    for delivery in deliveries {
        fanout.send(socket, &delivery.payload, &delivery.to, |to, e| {
            journal.send_failed(to, e)
        });
    }
}

/// As root (CAP_NET_ADMIN), SO_RCVBUFFORCE goes past `net.core.rmem_max`;
/// otherwise the size SO_RCVBUF got is what we keep, and we say so if it is
/// smaller than asked.
fn force_recv_buffer(socket: &UdpSocket, wanted: usize) {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    let _ = setsockopt(socket, sockopt::RcvBufForce, &wanted);
    // Linux reports twice the size set (it counts its bookkeeping).
    if let Ok(got) = getsockopt(socket, sockopt::RcvBuf) {
        if got / 2 < wanted {
            eprintln!(
                "{BINARY}: tampon de réception limité à {} Kio (net.core.rmem_max) au lieu de {} Kio",
                got / 2 / 1024,
                wanted / 1024
            );
        }
    }
}
