//! `irc_server`: the hub on TCP, on `server_kit`'s plumbing. One hub
//! thread owns the [`Hub`] and is fed by crossbeam-channel; the capped
//! accept loop ([`server_kit::accept`]) gives each connection a thread,
//! which reads its lines and turns them into events (at most
//! `LINES_IN_FLIGHT` (16) on their way, so no client's backlog delays the
//! others); one writer thread per connection ([`ClientWriter::for_stream`])
//! drains a bounded queue under a write deadline, so the hub never waits for
//! a socket, and a client whose queue is full is cut off (`SendQ
//! exceeded`). The hub works in batches: every input already waiting is
//! applied, then each connection gets what the batch gave it in one push
//! (one wake-up of its writer, which writes it in one call). Ctrl-C: the
//! accept loop's registry shuts every socket down, every thread ends, exit 0.
//!
//! A connection whose first line is `FICHIER <jeton>` is the data
//! connection of a file transfer: it never reaches the hub
//! ([`crate::transfer`]).
//!
//! ```mermaid
//! flowchart LR
//!     A[accept loop, capped, registry] -- "a thread per connection" --> C{first line?}
//!     C -- "FICHIER jeton" --> T[transfer: splice sender -> receiver]
//!     C -- "anything else, or silence" --> R1[reader: lines]
//!     R1 -- "Open + writer, Line / TooLong / Disconnect (16 in flight)" --> H[hub thread: batch, Hub::handle]
//!     H -. "line taken: credit back" .-> R1
//!     T0((100 ms tick)) -.-> H
//!     H -- "end of batch: one push per connection, never blocks" --> W1[(queue 1)] --> X1[writer 1 + deadline] --> S1[socket 1]
//!     H -- "queue full: disconnect, Disconnect(SendQ exceeded)" --> H
//!     H -- "Transfer(tokens)" --> T
//! ```

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use protocols::chat_irc_file::DATA_PREFIX;
use server_kit::accept::{self, Limits};
use server_kit::cli::BoxError;
use server_kit::journal::{self, Diagnostic, Journal};
use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::refusal::Refusals;
use server_kit::{BindError, ClientWriter, PortChoice, SendError, Shutdown, Stream};

use crate::hub::{ClientId, Delivery, Event, Hub, HubConfig, SystemClock};
use crate::transfer::{self, Rendezvous, TransferConfig};

/// The binary's name, in the ready line and log lines.
pub const BINARY: &str = "irc_server";
/// The issue's port (IRC's RFC number).
pub const DEFAULT_PORT: u16 = 1459;
/// Longest line read from a client (IRC mode is capped at 512 by the hub).
pub const MAX_LINE: usize = 4096;
/// Messages queued per client before it is dropped (`SendQ exceeded`).
pub const WRITER_QUEUE: usize = 4096;
/// Most connections at once (data connections of transfers included).
pub const DEFAULT_MAX_CLIENTS: usize = 1024;
/// What a client beyond the cap reads before the server closes.
pub const SERVER_FULL: &str = "Serveur complet, réessayez plus tard\n";
/// How often the hub's clock ticks (throttled lines, greetings, timeouts).
const TICK: Duration = Duration::from_millis(100);
/// A burst of lines not written within this long means the peer does not
/// read: the writer gives up and the connection ends.
const WRITE_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    pub hub: HubConfig,
    pub max_clients: usize,
    pub transfer: TransferConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: PortChoice::DefaultOrNext(DEFAULT_PORT),
            hub: HubConfig::default(),
            max_clients: DEFAULT_MAX_CLIENTS,
            transfer: TransferConfig::default(),
        }
    }
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: Config,
}

/// What the hub thread receives.
enum Input {
    /// A new chat connection: its writer, the hub's end of its credit.
    Open {
        id: ClientId,
        host: String,
        conn: Conn,
    },
    Event(Event),
}

/// Lines one connection may have on their way to the hub: its reader stops
/// reading (and TCP slows the client down) beyond that. Without it, a
/// client sending faster than the hub applies (no flood control) would
/// fill the hub's queue, and every other client's line would wait behind
/// its backlog: seconds, measured, for the witness of the test of a
/// client that never reads.
const LINES_IN_FLIGHT: usize = 16;

/// A connection's lines in flight to the hub, as tokens in a channel of
/// [`LINES_IN_FLIGHT`]: its reader sends one before each line (and waits
/// while the channel is full), the hub takes one back with each line. The
/// hub drops its end when it is done with the connection: the reader then
/// never waits again (it reads on until the end of the stream the writer
/// causes).
fn credit() -> (Sender<()>, Receiver<()>) {
    bounded(LINES_IN_FLIGHT)
}

/// The reader's side of the credit: waits for room for one more line.
fn take_credit(credit: &Sender<()>) {
    // An error means the hub is done with the connection: no wait.
    let _ = credit.send(());
}

/// What every connection thread shares.
struct Context {
    hub: Sender<Input>,
    rendezvous: Arc<Rendezvous>,
    next_id: AtomicU64,
    /// How long a silent new connection is waited for before it counts as
    /// a client of the project's protocol (who waits to be greeted).
    first_words: Duration,
}

impl Server {
    pub fn bind(config: Config) -> Result<Server, BindError> {
        let listener = server_kit::bind_tcp(config.bind, config.port, 128)?;
        Ok(Server { listener, config })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is triggered; every thread is joined.
    pub fn serve(self, shutdown: &Shutdown) -> io::Result<()> {
        let (tx, rx) = unbounded::<Input>();
        let rendezvous = Arc::new(Rendezvous::new(self.config.transfer));
        let on_stop = Arc::clone(&rendezvous);
        shutdown.on_trigger(move || on_stop.close_all());
        // The wait for a client's first words happens at the socket (a data
        // connection must be told apart before the hub greets it), so the
        // hub only waits one tick more: the time for the reader of a client
        // that spoke first to hand its line over.
        let hub_config = HubConfig {
            greeting_delay: TICK.min(self.config.hub.greeting_delay),
            ..self.config.hub.clone()
        };
        // Diagnostics go through their own thread: a stderr nobody reads
        // (`2>&1 | less`, paused) must not stop the hub or the accept loop.
        let (diag, diag_thread) = journal::diagnostics(BINARY)?;
        let stop = shutdown.clone();
        let hub_rendezvous = Arc::clone(&rendezvous);
        let hub_diag = diag.clone();
        let hub = thread::Builder::new()
            .name("hub".into())
            .spawn(move || hub_loop(hub_config, &rx, &stop, &hub_rendezvous, &hub_diag))?;
        let context = Context {
            hub: tx,
            rendezvous,
            next_id: AtomicU64::new(1),
            first_words: self.config.hub.greeting_delay,
        };
        let limits = Limits {
            max_clients: self.config.max_clients,
            one_at_a_time: false,
        };
        // The polite refusal: a client that spoke first (an IRC client sends
        // NICK at once) still reads the line instead of a reset.
        let refusals = Refusals::default();
        let served = accept::serve(
            &self.listener,
            shutdown,
            limits,
            |stream, peer| {
                diag.log(Diagnostic(format!("{peer} refusé : serveur complet")));
                if let Some(problem) = refusals.refuse(stream, SERVER_FULL.as_bytes()).problem() {
                    diag.log(Diagnostic(format!("{peer} : {problem}")));
                }
            },
            move |stream, peer| connection(stream, peer, &context),
        );
        // Every connection thread has ended, and with them every sender of
        // the hub's channel: the hub drains it and ends.
        let _ = hub.join();
        drop(diag);
        diag_thread.join_within(journal::JOIN_PATIENCE);
        served
    }
}

/// One connection's thread: a data connection of a file transfer, or a
/// chat client whose lines go to the hub until the end of the stream.
fn connection(stream: TcpStream, peer: SocketAddr, cx: &Context) {
    let _ = stream.set_nodelay(true);
    match opens_data_connection(&stream, cx.first_words) {
        Ok(true) => return transfer::serve_data(stream, &cx.rendezvous),
        Ok(false) => {}
        Err(_) => return,
    }
    let _ = stream.set_read_timeout(None);
    let id = cx.next_id.fetch_add(1, Ordering::Relaxed);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let (writer, writer_thread) =
        ClientWriter::for_stream(Stream::plain(write_half), WRITER_QUEUE, WRITE_DEADLINE);
    let (credit, hub_credit) = credit();
    let _ = cx.hub.send(Input::Open {
        id,
        host: peer.ip().to_string(),
        conn: Conn {
            writer,
            writer_thread,
            credit: hub_credit,
            pending: Vec::new(),
        },
    });
    read_loop(id, stream, &cx.hub, &credit);
}

/// Waits up to `wait` for the client's first bytes, without reading them:
/// true when they start a data connection (`FICHIER `). Silence means a
/// client of the project's protocol, who waits for the greeting.
fn opens_data_connection(stream: &TcpStream, wait: Duration) -> io::Result<bool> {
    let prefix = DATA_PREFIX.as_bytes();
    let until = Instant::now() + wait;
    let mut buf = [0u8; 8];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        stream.set_read_timeout(Some(left))?;
        match stream.peek(&mut buf[..prefix.len()]) {
            Ok(0) => return Ok(false),
            Ok(n) if n < prefix.len() && prefix.starts_with(&buf[..n]) => {
                // "FICH" so far: wait for the rest of the word.
                thread::sleep(Duration::from_millis(5));
            }
            Ok(n) => return Ok(buf[..n] == *prefix),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One connection's lines to the hub, until the end of the stream.
fn read_loop(id: ClientId, stream: TcpStream, tx: &Sender<Input>, credit: &Sender<()>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::with_capacity(256);
    let mut skipping = false;
    let reason = loop {
        match read_line_bounded(&mut reader, &mut buf, MAX_LINE) {
            Ok(LineRead::Line) if skipping => skipping = false,
            Ok(LineRead::Line) => {
                let line = std::mem::take(&mut buf);
                take_credit(credit);
                if tx.send(Input::Event(Event::Line { id, line })).is_err() {
                    return;
                }
            }
            Ok(LineRead::TooLong) => {
                // Reported once, then the rest of the line is skipped.
                if !skipping {
                    take_credit(credit);
                    let _ = tx.send(Input::Event(Event::TooLong { id }));
                }
                skipping = true;
            }
            Ok(LineRead::Eof) => {
                // The report's client sends its last BYE without `\n`.
                if !buf.is_empty() && !skipping {
                    let line = std::mem::take(&mut buf);
                    take_credit(credit);
                    let _ = tx.send(Input::Event(Event::Line { id, line }));
                }
                break "Connexion fermée".to_owned();
            }
            Err(e) => break format!("Erreur de lecture : {e}"),
        }
    };
    let _ = tx.send(Input::Event(Event::Disconnect { id, reason }));
}

/// A connection the hub holds: its writer, the writer's thread, and its
/// end of the reader's credit.
struct Conn {
    writer: ClientWriter,
    writer_thread: JoinHandle<()>,
    /// The hub's end of the connection's credit.
    credit: Receiver<()>,
    /// Bytes gathered for it during the hub's batch.
    pending: Vec<u8>,
}

/// Inputs the hub takes in one batch at most: every input already waiting
/// is applied before anything is pushed to the writers, up to this many
/// (so a flood of inputs still reaches the writers every so often).
const MAX_BATCH: usize = 1024;
/// Bytes gathered for one connection before they are pushed to its writer
/// without waiting for the end of the batch. Each push is one entry of the
/// writer's queue: with [`WRITER_QUEUE`] entries of at most this plus one
/// line, a client that does not read holds about as much memory (33 MB at
/// most) as when each line was an entry.
const PUSH_AT: usize = MAX_LINE;

/// The hub's side of the connections: their writers, what each is to be
/// sent at the end of the batch, the writer threads to join.
struct Outbox<'a> {
    conns: HashMap<ClientId, Conn>,
    /// Connections with something pending, in the order first touched.
    touched: Vec<ClientId>,
    finished: Vec<JoinHandle<()>>,
    rendezvous: &'a Rendezvous,
    diag: &'a Journal<Diagnostic>,
}

impl Outbox<'_> {
    fn open(&mut self, id: ClientId, conn: Conn) {
        self.conns.insert(id, conn);
    }

    /// A line of `id` was taken off the hub's queue.
    fn give_back(&self, id: ClientId) {
        if let Some(c) = self.conns.get(&id) {
            let _ = c.credit.try_recv();
        }
    }

    /// Applies one of the hub's deliveries: bytes are gathered, not sent
    /// yet. Connections found gone come back as events in `events`.
    fn deliver(&mut self, d: Delivery, events: &mut Vec<Event>) {
        match d {
            Delivery::Send { to, payload } => {
                for id in to {
                    let Some(c) = self.conns.get_mut(&id) else {
                        continue;
                    };
                    if c.pending.is_empty() {
                        self.touched.push(id);
                    }
                    c.pending.extend_from_slice(&payload);
                    if c.pending.len() >= PUSH_AT {
                        self.push(id, events);
                    }
                }
            }
            Delivery::Close { id } => {
                // What was gathered for it (its farewell) goes first.
                self.push(id, events);
                self.end(id);
            }
            Delivery::Transfer {
                sender,
                receiver,
                size,
            } => self.rendezvous.register(sender, receiver, size),
        }
    }

    /// Pushes what was gathered for `id` to its writer, in one message.
    /// A full queue (the client does not read) or a closed writer ends the
    /// connection, and the hub is told by an event.
    fn push(&mut self, id: ClientId, events: &mut Vec<Event>) {
        let Some(c) = self.conns.get_mut(&id).filter(|c| !c.pending.is_empty()) else {
            return;
        };
        let message: Arc<[u8]> = Arc::from(c.pending.as_slice());
        c.pending.clear();
        if let Err(e) = c.writer.send(message) {
            if e == SendError::QueueFull {
                self.diag
                    .log(Diagnostic(format!("client {id} déconnecté : {e}")));
            }
            // Cut at once: this client is not reading (a writer stuck in
            // a write wakes up).
            c.writer.disconnect();
            self.end(id);
            let reason = match e {
                SendError::QueueFull => "SendQ exceeded",
                SendError::Closed => "Connexion perdue",
            };
            events.push(Event::Disconnect {
                id,
                reason: reason.into(),
            });
        }
    }

    /// The end of a batch: one push per connection that has something.
    fn push_all(&mut self, events: &mut Vec<Event>) {
        let touched = std::mem::take(&mut self.touched);
        for &id in &touched {
            self.push(id, events);
        }
        self.touched = touched;
        self.touched.clear();
    }

    /// The connection is done: its writer flushes what is queued and ends.
    fn end(&mut self, id: ClientId) {
        if let Some(c) = self.conns.remove(&id) {
            self.finished.push(end(c));
        }
    }
}

fn hub_loop(
    config: HubConfig,
    rx: &Receiver<Input>,
    shutdown: &Shutdown,
    rendezvous: &Rendezvous,
    diag: &Journal<Diagnostic>,
) {
    let mut hub = Hub::new(config, Box::new(SystemClock::default()));
    let mut out = Outbox {
        conns: HashMap::new(),
        touched: Vec::new(),
        finished: Vec::new(),
        rendezvous,
        diag,
    };
    let mut last_tick = Instant::now();
    let mut events: Vec<Event> = Vec::new();
    while !shutdown.is_triggered() {
        let first = match rx.recv_timeout(TICK) {
            Ok(input) => Some(input),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // A busy hub still ticks: greetings, throttled lines and
        // registration timeouts must not wait for a quiet moment.
        if first.is_none() || last_tick.elapsed() >= TICK {
            events.push(Event::Tick);
            last_tick = Instant::now();
        }
        // This input and every one already waiting, in their order.
        let waiting = std::iter::from_fn(|| rx.try_recv().ok());
        for input in first.into_iter().chain(waiting).take(MAX_BATCH) {
            events.push(match input {
                Input::Open { id, host, conn } => {
                    out.open(id, conn);
                    Event::Connect { id, host }
                }
                Input::Event(e) => {
                    if let Event::Line { id, .. } | Event::TooLong { id } = &e {
                        out.give_back(*id);
                    }
                    e
                }
            });
        }
        // Connections found gone while pushing come back as events, until
        // none is left.
        while !events.is_empty() {
            for event in std::mem::take(&mut events) {
                if let Event::Disconnect { id, .. } = &event {
                    // What was gathered for it goes first (it may only
                    // have closed its sending side).
                    out.push(*id, &mut events);
                    out.end(*id);
                }
                for d in hub.handle(event) {
                    out.deliver(d, &mut events);
                }
            }
            out.push_all(&mut events);
        }
        out.finished.retain(|h| !h.is_finished());
    }
    // Shutdown: the registry has cut every socket, so every writer ends;
    // writers of connections announced meanwhile too. The channel
    // disconnects once every connection thread is gone.
    out.finished.extend(out.conns.drain().map(|(_, c)| end(c)));
    while let Ok(input) = rx.recv() {
        if let Input::Open { conn, .. } = input {
            conn.writer.disconnect();
            out.finished.push(end(conn));
        }
    }
    for h in out.finished {
        let _ = h.join();
    }
}

/// Lets a connection's writer flush what is queued (the farewell
/// included) and end; it then shuts the socket down, which ends the
/// connection's reader too.
fn end(c: Conn) -> JoinHandle<()> {
    drop(c.credit);
    drop(c.writer);
    c.writer_thread
}

/// Binds, prints the ready line, serves until `shutdown`.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let server = Server::bind(config)?;
    server_kit::announce(BINARY, server.local_addr()?, None);
    server.serve(&shutdown)?;
    Ok(())
}
