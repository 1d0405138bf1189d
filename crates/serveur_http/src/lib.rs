//! `serveur_http`: the HTTP server of lab 17. It serves `pages_serveur/fr/`
//! or `pages_serveur/en/` by `Accept-Language`, answers
//! `HTTP/1.0 404 NotFound` with `page404.html`, and prints every request it
//! receives.
//!
//! # Layout
//! - [`site`]: the served folder, and the sheet's `get_reponse` /
//!   `traite_requete` (the parsing itself is in [`protocols::http`], which
//!   does no I/O).
//! - [`cache`]: pages read once, kept in memory, looked at again at most once
//!   a second; symlinks leading out of the root are never followed.
//! - [`conn`]: one request: the acceptors' non-blocking fast path, and
//!   the workers' bounded head reading (8 KiB, 100 lines: 431), idle
//!   timeout (408), answer (sent whole within `--delai-reponse`, however
//!   slowly the client reads).
//! - [`persistent`]: `--keep-alive`: the event loops (epoll) that hold the
//!   persistent connections and answer their simple requests.
//! - [`listener`]: the listening socket's options in the sheet's mode
//!   (`TCP_DEFER_ACCEPT`, `TCP_CORK`).
//! - [`log`]: the logger thread that prints requests on stdout.
//! - [`fiche`]: `serveur_http fiche ...`, what the sheet's functions return
//!   on the sheet's examples.
//! - [`run`]: the acceptors, the bounded queue and the fixed pool of workers.
//!
//! # Threads
//! One acceptor thread per core shares the listener. In the sheet's mode
//! (one request per connection) most clients have sent their whole request
//! by the time the connection is accepted: then the acceptor answers at once
//! with non-blocking calls (accept, recv, send, close: four system calls per
//! request) when the answer is a page in memory. Every other connection
//! (request not all there yet, an error to answer, a big file) goes, with
//! the bytes already read, into a bounded crossbeam channel, from which a
//! fixed pool of workers takes it; workers may block (with timeouts). When
//! the channel is full the acceptor answers 503 itself, so an overload never
//! piles up threads or memory. Nobody prints: request heads go to the
//! logger thread, never waited for.
//!
//! With `--keep-alive` the acceptors hand every connection to one of the
//! event loops (one per core, see [`persistent`]): a persistent connection
//! waits there between requests, costing no thread, and the loop answers
//! the requests whose answer is a page in memory; the others go to the
//! workers, which give the connection back when it stays open.
//!
//! ```mermaid
//! flowchart LR
//!     C[clients] -->|connexions TCP| A[accepteurs<br/>un par cœur]
//!     A -->|requête déjà là,<br/>page en mémoire| C
//!     A -->|sinon : try_send| Q[(file bornée<br/>crossbeam, 1024)]
//!     A -->|file pleine : 503| C
//!     A -->|--keep-alive| B[boucles epoll<br/>une par cœur]
//!     B -->|page en mémoire| C
//!     B -->|le reste| Q
//!     Q --> W[travailleurs<br/>32 fils]
//!     W -->|connexion gardée ouverte| B
//!     W -->|réponse, 408, 431,<br/>400, 405| C
//!     A & B & W -->|try_send des en-têtes| L[journal]
//!     L -->|stdout tamponné| O[console]
//!     S[Ctrl-C] -.->|shutdown de la socket d'écoute,<br/>eventfd des boucles,<br/>shutdown des sockets en cours| A & B & W
//! ```
//!
//! On Ctrl-C the listener is shut down, which wakes every acceptor, and
//! they stop; each event loop is woken by its eventfd and closes its
//! connections; the sockets being served are shut down so that no worker
//! waits for its idle timeout; the channel is closed, and workers and logger
//! are joined.
//!
//! Measured on the 2-core bench machine (`scripts/bench_http.sh`, see
//! `CONCEPTION.md`): workers sharing `accept` cost ~85 µs of CPU per
//! `Connection: close` request against ~60 µs for acceptor + channel; the
//! acceptor's fast path brings it to ~50 µs (no futex, no context switch),
//! and the listener's options to ~41 µs, by letting the fast path find the
//! request nearly every time (see [`listener`]). With keep-alive, a worker
//! blocked in `recv` per connection woke once per request (25-27 µs per
//! request, nginx 24-26 µs); the event loops serve every ready connection
//! after one `epoll_wait`.

pub mod cache;
pub mod conn;
pub mod fiche;
pub mod listener;
pub mod log;
pub mod persistent;
pub mod site;

use std::io;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use protocols::http::{Negotiation, Status};
use server_kit::cli::BoxError;
use server_kit::{PortChoice, Shutdown};

use conn::Job;
pub use conn::BIEN_RECU;
pub use site::{find_root, Answer, Site, DEFAULT_ROOT};

pub const SERVER_BINARY: &str = "serveur_http";
pub const DEFAULT_PORT: u16 = 8080;
/// Workers: threads block on slow clients, so several per core.
pub const DEFAULT_WORKERS: usize = 32;
/// Connections waiting for a worker before new ones get a 503.
pub const DEFAULT_QUEUE: usize = 1024;
/// A client has this long to send its request (and, with `--keep-alive`, the
/// next one).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// An answer must be sent whole within this delay, however slowly the
/// client reads: a client reading a trickle cannot hold a worker longer.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// With `--keep-alive`, connections kept open at once. Each is a
/// descriptor, and a shell's usual limit is 1,024 of them.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// The listen backlog asked of the kernel.
const BACKLOG: i32 = 1024;

/// One acceptor per core.
pub fn default_acceptors() -> usize {
    thread::available_parallelism().map_or(1, usize::from)
}

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    /// The folder holding `fr/`, `en/` and `page404.html`.
    pub root: PathBuf,
    /// Print each request head on stdout (off with `--silencieux`).
    pub print_requests: bool,
    /// 17.1: answer `Bien reçu !` to anything.
    pub bien_recu: bool,
    pub negotiation: Negotiation,
    /// Persistent HTTP/1.1 connections instead of the sheet's HTTP/1.0.
    pub keep_alive: bool,
    /// Threads accepting connections (and answering those whose request is
    /// already there).
    pub acceptors: usize,
    pub workers: usize,
    pub queue: usize,
    /// With `--keep-alive`: connections kept open in all (the event loops'
    /// share); beyond, the one idle the longest is closed.
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub answer_timeout: Duration,
}

impl Config {
    /// The sheet's server on `root`, with every default.
    pub fn new(root: PathBuf) -> Config {
        Config {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: PortChoice::DefaultOrNext(DEFAULT_PORT),
            root,
            print_requests: true,
            bien_recu: false,
            negotiation: Negotiation::Prefix,
            keep_alive: false,
            acceptors: default_acceptors(),
            workers: DEFAULT_WORKERS,
            queue: DEFAULT_QUEUE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
        }
    }

    /// Descriptors the server may hold at its busiest: every connection
    /// waiting in the workers' queue or in the event loops' channels, kept
    /// open by a loop, or being served with a file open; plus a margin for
    /// the listener, epoll, eventfds and standard streams.
    pub fn descriptors_needed(&self) -> u64 {
        let workers = self.workers.max(1);
        let mut needed = self.queue.max(1) + 2 * workers + self.acceptors.max(1) + 64;
        if self.keep_alive {
            needed += self.max_connections + self.acceptors.max(1) * persistent::DOOR_CAPACITY;
        }
        needed as u64
    }
}

/// The socket each worker is serving, so that Ctrl-C can shut it down. A
/// worker clears its slot (under the lock) before closing the socket, so the
/// descriptor shut down is never a reused one.
type Slots = Arc<Vec<Mutex<Option<RawFd>>>>;

/// Binds, prints the ready line, and serves until `shutdown` is triggered.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let site = Site::open(&config.root, config.negotiation).map_err(|e| {
        format!(
            "dossier des pages {} illisible : {e}",
            config.root.display()
        )
    })?;
    server_kit::descriptors::raise_open_files(SERVER_BINARY, config.descriptors_needed());
    let listener = server_kit::bind_tcp(config.bind, config.port, BACKLOG)?;
    let addr = listener.local_addr()?;
    let acceptors = config.acceptors.max(1);
    shutdown.wake_tcp_listener(&listener)?;

    let (logger, logger_thread) = log::start(config.print_requests)?;
    let mut context = conn::Context {
        site,
        logger: logger.clone(),
        keep_alive: config.keep_alive,
        bien_recu: config.bien_recu,
        idle_timeout: config.idle_timeout,
        accept_deferral: Duration::ZERO,
        answer_timeout: config.answer_timeout,
        shutdown: shutdown.clone(),
    };
    if context.one_request_mode() {
        let wanted = listener::deferral_for(config.idle_timeout);
        context.accept_deferral = listener::tune_for_one_request(&listener, wanted);
    }
    let context = Arc::new(context);
    let workers = config.workers.max(1);
    let (tx, rx) = crossbeam_channel::bounded::<Job>(config.queue.max(1));
    let slots: Slots = Arc::new((0..workers).map(|_| Mutex::new(None)).collect());
    shut_down_on_trigger(&shutdown, &slots);
    let (loops, loop_handles) = if config.keep_alive {
        let (loops, handles) = persistent::start(acceptors, config.max_connections, &context, &tx)?;
        (Some(loops), handles)
    } else {
        (None, Vec::new())
    };

    let mut handles = Vec::with_capacity(workers);
    for id in 0..workers {
        let (rx, context, slots) = (rx.clone(), Arc::clone(&context), Arc::clone(&slots));
        let loops = loops.as_ref().map(|l| l.starting_at(id));
        let handle = thread::Builder::new()
            .name(format!("travailleur-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || work(&rx, &context, &slots[id], loops));
        match handle {
            Ok(h) => handles.push(h),
            Err(e) => {
                shutdown.trigger();
                return Err(format!("impossible de lancer les travailleurs : {e}").into());
            }
        }
    }
    drop(rx);
    server_kit::announce(SERVER_BINARY, addr, None);

    // The extra acceptors share the listener (the kernel hands each
    // connection to one of the threads blocked in accept).
    let mut extra = Vec::new();
    for id in 1..acceptors {
        let (listener, tx, context) = (listener.try_clone()?, tx.clone(), Arc::clone(&context));
        let loops = loops.as_ref().map(|l| l.starting_at(id));
        let handle = thread::Builder::new()
            .name(format!("accepteur-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || accept_loop(&listener, &tx, &context, loops))?;
        extra.push(handle);
    }
    accept_loop(&listener, &tx, &context, loops);
    for handle in extra.into_iter().chain(loop_handles) {
        let _ = handle.join();
    }

    drop(tx);
    for handle in handles {
        let _ = handle.join();
    }
    drop(context);
    drop(logger);
    // Not forever: a stdout nobody reads must not keep us from exiting.
    logger_thread.join_within(server_kit::journal::JOIN_PATIENCE);
    Ok(())
}

fn shut_down_on_trigger(shutdown: &Shutdown, slots: &Slots) {
    let slots = Arc::clone(slots);
    shutdown.on_trigger(move || {
        for slot in slots.iter() {
            let guard = slot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(fd) = *guard {
                // Wakes the worker blocked in read(); it then sees the signal.
                let _ = nix::sys::socket::shutdown(fd, nix::sys::socket::Shutdown::Both);
            }
        }
    });
}

/// Accepts connections until the shutdown. With `--keep-alive` they go to
/// the event `loops`; otherwise a request already there is answered at
/// once, and the rest goes to the workers.
fn accept_loop(
    listener: &TcpListener,
    queue: &Sender<Job>,
    context: &conn::Context,
    mut loops: Option<persistent::Loops>,
) {
    let mut buffers = conn::Buffers::default();
    loop {
        let accepted = listener.accept();
        if context.shutdown.is_triggered() {
            return;
        }
        match accepted {
            Ok((stream, peer)) if loops.is_some() => {
                let incoming = persistent::Incoming {
                    stream,
                    peer,
                    pending: Vec::new(),
                    answered: false,
                };
                if let Some(Err(refused)) = loops.as_mut().map(|l| l.send(incoming)) {
                    reject(&refused.stream, context);
                }
            }
            Ok((stream, peer)) => {
                let start = match conn::serve_if_ready(&stream, context, &mut buffers) {
                    conn::Ready::Done => continue,
                    conn::Ready::Handoff(start) => start,
                };
                match queue.try_send(Job {
                    stream,
                    peer,
                    start,
                    home: None,
                }) {
                    Ok(()) => {}
                    Err(TrySendError::Full(Job {
                        stream,
                        start: conn::Start::Fresh { .. },
                        ..
                    })) => reject(&stream, context),
                    // Part of an answer is already out: a 503 would be glued
                    // to it. Closing leaves a body shorter than its
                    // Content-Length, which the client can tell.
                    Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            Err(e) => match e.kind() {
                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => {}
                _ => {
                    // Out of descriptors, most likely: wait instead of spinning.
                    context.logger.problem(format!("accept : {e}"));
                    thread::sleep(Duration::from_millis(50));
                }
            },
        }
    }
}

/// 503 from the acceptor itself: nobody can take the connection now.
fn reject(stream: &TcpStream, context: &conn::Context) {
    conn::refuse_at_once(stream, Status::ServiceUnavailable, context.closing_mode());
}

/// A worker: serves the connections of the queue one request at a time,
/// and gives those that stay open back to the event `loops`.
fn work(
    queue: &Receiver<Job>,
    context: &conn::Context,
    slot: &Mutex<Option<RawFd>>,
    mut loops: Option<persistent::Loops>,
) {
    let mut buffers = conn::Buffers::default();
    for Job {
        stream,
        peer,
        start,
        home,
    } in queue.iter()
    {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream.as_raw_fd());
        let mut served = conn::Served::Closed;
        if !context.shutdown.is_triggered() {
            // A bug in serving one connection must not shrink the pool for
            // good: that connection is closed, the worker carries on.
            match panic::catch_unwind(AssertUnwindSafe(|| {
                conn::serve(&stream, peer, start, context, &mut buffers)
            })) {
                Ok(outcome) => served = outcome,
                Err(payload) => {
                    context.logger.problem(format!(
                        "{peer} : erreur interne ({}), connexion fermée",
                        panic_message(&*payload)
                    ));
                    // Whatever state the panic left them in.
                    buffers = conn::Buffers::default();
                }
            }
        }
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let (conn::Served::KeepOpen { pending }, Some(loops)) = (served, loops.as_mut()) {
            let incoming = persistent::Incoming {
                stream,
                peer,
                pending,
                answered: true,
            };
            if let Err(refused) = loops.send_back(home, incoming) {
                // No loop can take it (shutting down, or overloaded): close
                // it, the answer and a FIN first, without lingering (the
                // pool is needed); the client opens another.
                conn::push_out(&refused.stream);
            }
        }
    }
}

/// The text a panic was raised with, if it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panique")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::SocketAddr;

    /// A connected pair: (client, server side as accepted, peer).
    fn pair() -> (TcpStream, TcpStream, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (server, peer) = listener.accept().unwrap();
        (client, server, peer)
    }

    #[test]
    fn a_panic_closes_its_connection_and_the_worker_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/a.html"), "A").unwrap();
        let (context, _logger_thread) = conn::test_context(dir.path());
        let (tx, rx) = crossbeam_channel::bounded(4);
        let mut clients = Vec::new();
        // conn.rs panics on this target in test builds only.
        for target in [conn::PANIC_FOR_TESTS, "/a.html"] {
            let (mut client, stream, peer) = pair();
            write!(client, "GET {target} HTTP/1.0\r\n\r\n").unwrap();
            let prefix = Vec::new();
            let start = conn::Start::Fresh {
                prefix,
                silent_for: Duration::ZERO,
            };
            tx.send(Job {
                stream,
                peer,
                start,
                home: None,
            })
            .unwrap();
            clients.push(client);
        }
        drop(tx);
        // One worker serves both, in this thread: it must come back.
        work(&rx, &context, &Mutex::new(None), None);
        let answers: Vec<String> = clients
            .iter_mut()
            .map(|c| {
                let mut text = String::new();
                let _ = c.read_to_string(&mut text);
                text
            })
            .collect();
        assert_eq!(answers[0], "", "the panicking connection is just closed");
        assert_eq!(
            answers[1],
            "HTTP/1.0 200 OK\r\nContent-Type:text/html\r\nContent-Length:2\r\n\r\nA\n"
        );
    }
}
