//! `irc_server`: the hub on TCP. One hub thread owns the [`Hub`] and is fed
//! by crossbeam-channel; one reader thread per connection turns lines into
//! events; one writer thread per connection ([`ClientWriter`]) drains a
//! bounded queue, so the hub never waits for a socket.
//!
//! ```mermaid
//! flowchart LR
//!     A[accept loop] -- "Connect + writer" --> H
//!     A -- spawns --> R1[reader thread 1]
//!     R1 -- "Line / TooLong / Disconnect" --> H[hub thread: Hub::handle]
//!     T((100 ms tick)) -.-> H
//!     H -- "try_send (never blocks)" --> W1[(queue 1)] --> X1[writer thread 1] --> S1[socket 1]
//!     H -- "queue full: shutdown, Disconnect(SendQ exceeded)" --> H
//! ```
//!
//! **Merge note**: the accept loop here is deliberately minimal (a counter
//! caps connections; a full server answers one line and closes). It is to
//! be replaced by `server_kit`'s shared capped accept loop with its
//! registry, and the writer by its writer with a write deadline, when
//! those land; the hub and the readers do not change.

use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown as SocketShutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use server_kit::cli::BoxError;
use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::{BindError, ClientWriter, PortChoice, SendError, Shutdown};

use crate::hub::{ClientId, Delivery, Event, Hub, HubConfig, SystemClock};

/// The binary's name, in the ready line and log lines.
pub const BINARY: &str = "irc_server";
/// The issue's port (IRC's RFC number).
pub const DEFAULT_PORT: u16 = 1459;
/// Longest line read from a client (IRC mode is capped at 512 by the hub).
pub const MAX_LINE: usize = 4096;
/// Messages queued per client before it is dropped (`SendQ exceeded`).
pub const WRITER_QUEUE: usize = 4096;
/// Most connections at once.
pub const DEFAULT_MAX_CLIENTS: usize = 1024;
/// How often the hub's clock ticks (throttled lines, greetings, timeouts).
const TICK: Duration = Duration::from_millis(100);
/// A write blocked this long means the peer does not read: the writer
/// thread gives up and the connection ends.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    pub hub: HubConfig,
    pub max_clients: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: PortChoice::DefaultOrNext(DEFAULT_PORT),
            hub: HubConfig::default(),
            max_clients: DEFAULT_MAX_CLIENTS,
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
    /// A new connection: its writer and a handle to shut its socket down.
    Open {
        id: ClientId,
        host: String,
        writer: ClientWriter,
        writer_thread: JoinHandle<()>,
        stream: TcpStream,
    },
    Event(Event),
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
        shutdown.wake_tcp_listener(&self.listener)?;
        let (tx, rx) = unbounded::<Input>();
        let live = Arc::new(AtomicUsize::new(0));
        let hub_config = self.config.hub.clone();
        let hub_live = Arc::clone(&live);
        let stop = shutdown.clone();
        let hub = thread::Builder::new()
            .name("hub".into())
            .spawn(move || hub_loop(hub_config, &rx, &stop, &hub_live))?;
        let mut readers: Vec<JoinHandle<()>> = Vec::new();
        let mut next_id: ClientId = 1;
        // Minimal accept loop (see the merge note above).
        for conn in self.listener.incoming() {
            if shutdown.is_triggered() {
                break;
            }
            let stream = match conn {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("{BINARY}: accept : {e}");
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            readers.retain(|h| !h.is_finished());
            if live.load(Ordering::SeqCst) >= self.config.max_clients {
                let mut s = stream;
                let _ = s.write_all("Serveur complet, réessayez plus tard\n".as_bytes());
                continue;
            }
            let id = next_id;
            next_id += 1;
            match open(id, stream, &tx, &live) {
                Ok(h) => readers.push(h),
                Err(e) => eprintln!("{BINARY}: connexion {id} : {e}"),
            }
        }
        let _ = tx.send(Input::Event(Event::Tick));
        drop(tx);
        let _ = hub.join();
        for h in readers {
            let _ = h.join();
        }
        Ok(())
    }
}

/// Starts a connection's writer and reader; the hub learns of it first.
fn open(
    id: ClientId,
    stream: TcpStream,
    tx: &Sender<Input>,
    live: &Arc<AtomicUsize>,
) -> io::Result<JoinHandle<()>> {
    let host = stream.peer_addr()?.ip().to_string();
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let (writer, writer_thread) =
        ClientWriter::spawn(ClosingStream(stream.try_clone()?), WRITER_QUEUE);
    let read_half = stream.try_clone()?;
    live.fetch_add(1, Ordering::SeqCst);
    let _ = tx.send(Input::Open {
        id,
        host,
        writer,
        writer_thread,
        stream,
    });
    let tx = tx.clone();
    thread::Builder::new()
        .name(format!("lecteur-{id}"))
        .spawn(move || read_loop(id, read_half, &tx))
}

/// One connection's lines to the hub, until the end of the stream.
fn read_loop(id: ClientId, stream: TcpStream, tx: &Sender<Input>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::with_capacity(256);
    let mut skipping = false;
    let reason = loop {
        match read_line_bounded(&mut reader, &mut buf, MAX_LINE) {
            Ok(LineRead::Line) if skipping => skipping = false,
            Ok(LineRead::Line) => {
                let line = std::mem::take(&mut buf);
                if tx.send(Input::Event(Event::Line { id, line })).is_err() {
                    return;
                }
            }
            Ok(LineRead::TooLong) => {
                // Reported once, then the rest of the line is skipped.
                if !skipping {
                    let _ = tx.send(Input::Event(Event::TooLong { id }));
                }
                skipping = true;
            }
            Ok(LineRead::Eof) => {
                // The report's client sends its last BYE without `\n`.
                if !buf.is_empty() && !skipping {
                    let line = std::mem::take(&mut buf);
                    let _ = tx.send(Input::Event(Event::Line { id, line }));
                }
                break "Connexion fermée".to_owned();
            }
            Err(e) => break format!("Erreur de lecture : {e}"),
        }
    };
    let _ = tx.send(Input::Event(Event::Disconnect { id, reason }));
}

/// A connection the hub holds: its writer, and its socket to cut.
struct Conn {
    writer: ClientWriter,
    writer_thread: JoinHandle<()>,
    stream: TcpStream,
}

fn hub_loop(config: HubConfig, rx: &Receiver<Input>, shutdown: &Shutdown, live: &AtomicUsize) {
    let mut hub = Hub::new(config, Box::new(SystemClock::default()));
    let mut conns: HashMap<ClientId, Conn> = HashMap::new();
    let mut finished: Vec<JoinHandle<()>> = Vec::new();
    while !shutdown.is_triggered() {
        let event = match rx.recv_timeout(TICK) {
            Ok(Input::Open {
                id,
                host,
                writer,
                writer_thread,
                stream,
            }) => {
                conns.insert(
                    id,
                    Conn {
                        writer,
                        writer_thread,
                        stream,
                    },
                );
                Event::Connect { id, host }
            }
            Ok(Input::Event(e)) => e,
            Err(RecvTimeoutError::Timeout) => Event::Tick,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Event::Disconnect { id, .. } = &event {
            if let Some(c) = conns.remove(id) {
                finished.push(end(c, live));
            }
        }
        let mut queue = vec![event];
        while let Some(event) = queue.pop() {
            for d in hub.handle(event) {
                deliver(d, &mut conns, &mut queue, &mut finished, live);
            }
        }
        finished.retain(|h| !h.is_finished());
    }
    // Shutdown: every socket is cut, so readers and writers end; a
    // connection opened meanwhile is cut too. The channel disconnects once
    // the accept loop and every reader are gone.
    for (_, c) in conns.drain() {
        let _ = c.stream.shutdown(SocketShutdown::Both);
        finished.push(end(c, live));
    }
    while let Ok(input) = rx.recv() {
        if let Input::Open {
            writer,
            writer_thread,
            stream,
            ..
        } = input
        {
            let _ = stream.shutdown(SocketShutdown::Both);
            let c = Conn {
                writer,
                writer_thread,
                stream,
            };
            finished.push(end(c, live));
        }
    }
    for h in finished {
        let _ = h.join();
    }
}

fn deliver(
    d: Delivery,
    conns: &mut HashMap<ClientId, Conn>,
    queue: &mut Vec<Event>,
    finished: &mut Vec<JoinHandle<()>>,
    live: &AtomicUsize,
) {
    match d {
        Delivery::Send { to, payload } => {
            for id in to {
                let Some(c) = conns.get(&id) else { continue };
                if let Err(e) = c.writer.send(Arc::clone(&payload)) {
                    if e == SendError::QueueFull {
                        eprintln!("{BINARY}: client {id} déconnecté : {e}");
                    }
                    let c = conns.remove(&id).expect("present");
                    // Cut at once: this client is not reading.
                    let _ = c.stream.shutdown(SocketShutdown::Both);
                    finished.push(end(c, live));
                    let reason = match e {
                        SendError::QueueFull => "SendQ exceeded",
                        SendError::Closed => "Connexion perdue",
                    };
                    queue.push(Event::Disconnect {
                        id,
                        reason: reason.into(),
                    });
                }
            }
        }
        Delivery::Close { id } => {
            if let Some(c) = conns.remove(&id) {
                finished.push(end(c, live));
            }
        }
    }
}

/// Lets a connection's writer flush and end; its socket is shut down when
/// the writer is done ([`ClosingStream`]), which ends the reader too.
fn end(c: Conn, live: &AtomicUsize) -> JoinHandle<()> {
    live.fetch_sub(1, Ordering::SeqCst);
    drop(c.writer);
    c.writer_thread
}

/// The writer's socket: shut down when the writer thread is done with it,
/// after it wrote everything queued (the farewell included).
struct ClosingStream(TcpStream);

impl Write for ClosingStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Drop for ClosingStream {
    fn drop(&mut self) {
        let _ = self.0.shutdown(SocketShutdown::Both);
    }
}

/// Binds, prints the ready line, serves until `shutdown`.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let server = Server::bind(config)?;
    server_kit::announce(BINARY, server.local_addr()?, None);
    server.serve(&shutdown)?;
    Ok(())
}
