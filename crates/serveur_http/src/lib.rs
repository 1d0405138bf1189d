//! `serveur_http`: the HTTP server of lab 17. It serves `pages_serveur/fr/`
//! or `pages_serveur/en/` by `Accept-Language`, answers
//! `HTTP/1.0 404 NotFound` with `page404.html`, and prints every request it
//! receives.
//!
//! # The sheet's flow, as this crate runs it
//! 1. accept a connection: [`accept_loop`];
//! 2. read the request head, bounded (8 KiB, 100 lines, the idle delay):
//!    [`conn::serve_if_ready`] when it is already there, else an event
//!    loop ([`events`]);
//! 3. `decode_requete_http(requete)`: [`protocols::http::decode_requete_http`];
//! 4. `traite_requete(requete)`, `fr/` or `en/` by `Accept-Language`:
//!    [`Site::traite_requete`];
//! 5. `get_reponse(url)`, the page or the 404 page: [`Site::get_reponse`];
//! 6. write the answer, close: [`conn::Outgoing::send_some`],
//!    [`conn::push_out`].
//!
//! Every request, in every mode, is answered by [`conn::respond`], which
//! calls `traite_requete` (which calls the two others); what is sent is the
//! bytes it returns (`tests/sheet_path.rs` checks it on generated requests).
//!
//! # Beyond the sheet, and why
//! - [`events`]: every connection waits for its head in an epoll loop (two
//!   per core, so that a loop sleeps between bursts and is woken at once
//!   rather than waiting for its turn on the CPU), not in a thread, and is
//!   shed when slow, silent or in the way: so that no client can deny
//!   service to the others.
//! - [`conn`]: the acceptors' fast path (a request already there is answered
//!   at once, without waking a loop), and answers sent without blocking
//!   (`sendfile` for big files).
//! - [`cache`]: pages read once, kept in memory, looked at again at most once
//!   a second; symlinks leading out of the root are never followed.
//! - [`listener`]: the listening socket's options in the sheet's mode
//!   (`TCP_DEFER_ACCEPT`, `TCP_CORK`).
//! - [`log`]: the logger thread that prints requests on stdout, never making
//!   anyone wait.
//! - [`fiche`]: `serveur_http fiche ...`, what the sheet's functions return
//!   on the sheet's examples.
//!
//! Measured figures (CPU per request, latency under attack, against nginx)
//! are in `CONCEPTION.md` and in the output of `scripts/bench_http.sh` and
//! `scripts/attaque_http.sh`.
//!
//! # Threads
//! One acceptor per core shares the listener, two event loops per core, one
//! logger thread: a fixed number, whatever the clients do.
//!
//! ```mermaid
//! flowchart LR
//!     C[clients] -->|connexions TCP| A[accepteurs<br/>un par cœur]
//!     A -->|requête déjà là,<br/>réponse en mémoire| C
//!     A -->|sinon : canal borné + eventfd,<br/>à la boucle la moins chargée| B[boucles epoll<br/>deux par cœur]
//!     A -->|boucle pleine : 503| C
//!     B -->|en-tête entier : traite_requete,<br/>send / sendfile| C
//!     A & B -->|try_send des en-têtes| L[journal]
//!     L -->|stdout tamponné| O[console]
//!     S[Ctrl-C] -.->|shutdown de la socket d'écoute,<br/>eventfd des boucles| A & B
//! ```
//!
//! On Ctrl-C the listener is shut down, which wakes every acceptor, and
//! they stop; each event loop is woken by its eventfd and closes its
//! connections; the logger is joined.

pub mod cache;
pub mod conn;
pub mod events;
pub mod fiche;
pub mod listener;
pub mod log;
pub mod site;

use std::io;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use protocols::http::{Negotiation, Status};
use server_kit::cli::BoxError;
use server_kit::{PortChoice, Shutdown};

pub use conn::BIEN_RECU;
pub use site::{find_root, Answer, Reponse, Site, DEFAULT_ROOT};

pub const SERVER_BINARY: &str = "serveur_http";
pub const DEFAULT_PORT: u16 = 8080;
/// A client has this long to send its request (and, with `--keep-alive`, the
/// next one).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// An answer must be sent whole within this delay, however slowly the
/// client reads.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections open at once; beyond, the loops shed the least useful (see
/// [`events`]). Each is a descriptor (two while a big file is sent): the
/// server raises its descriptor limit to match, within the hard limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// The listen backlog asked of the kernel.
const BACKLOG: i32 = 1024;

/// One acceptor per core.
pub fn default_acceptors() -> usize {
    thread::available_parallelism().map_or(1, usize::from)
}

/// Two event loops per core: why not one, see [`events`] ("Why two loops
/// per core").
pub fn default_loops() -> usize {
    2 * default_acceptors()
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
    /// Event loops serving every other connection.
    pub loops: usize,
    /// Connections open at once, in all; beyond, the least useful are shed.
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
            loops: default_loops(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
        }
    }

    /// Descriptors the server may hold at its busiest: every connection
    /// kept by a loop (with a file open while a big one is sent) or waiting
    /// in a loop's channel; plus a margin for the listener, epoll, eventfds
    /// and standard streams.
    pub fn descriptors_needed(&self) -> u64 {
        let loops = self.loops.max(1);
        let needed = 2 * self.max_connections + loops * (events::DOOR_CAPACITY + 4) + 64;
        needed as u64
    }
}

/// Binds, prints the ready line, and serves until `shutdown` is triggered.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let site = Site::open(&config.root, config.negotiation)
        .map_err(|e| {
            format!(
                "dossier des pages {} illisible : {e}",
                config.root.display()
            )
        })?
        .with_keep_alive(config.keep_alive);
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
    let (loops, loop_handles) = events::start(config.loops, config.max_connections, &context)?;
    server_kit::announce(SERVER_BINARY, addr, None);

    // The extra acceptors share the listener (the kernel hands each
    // connection to one of the threads blocked in accept).
    let mut extra = Vec::new();
    for id in 1..acceptors {
        let (listener, context) = (listener.try_clone()?, Arc::clone(&context));
        let loops = loops.starting_at(id);
        let handle = thread::Builder::new()
            .name(format!("accepteur-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || accept_loop(&listener, &context, loops))?;
        extra.push(handle);
    }
    accept_loop(&listener, &context, loops);
    for handle in extra.into_iter().chain(loop_handles) {
        let _ = handle.join();
    }
    drop(context);
    drop(logger);
    // Not forever: a stdout nobody reads must not keep us from exiting.
    logger_thread.join_within(server_kit::journal::JOIN_PATIENCE);
    Ok(())
}

/// Accepts connections until the shutdown. A request already there is
/// answered at once (the sheet's mode); every other connection goes to an
/// event loop, which waits for its head.
pub fn accept_loop(listener: &TcpListener, context: &conn::Context, mut loops: events::Loops) {
    let mut buffers = conn::Buffers::default();
    loop {
        let accepted = listener.accept();
        if context.shutdown.is_triggered() {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                let handoff = match conn::serve_if_ready(&stream, context, &mut buffers) {
                    conn::Ready::Done => continue,
                    conn::Ready::Handoff(handoff) => handoff,
                };
                let answer_started = handoff.out.is_some();
                let incoming = events::Incoming {
                    stream,
                    peer,
                    handoff,
                };
                if let Err(refused) = loops.send(incoming) {
                    // A 503 would be glued to an answer already started.
                    if !answer_started {
                        reject(&refused, context);
                    }
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

/// 503 from the acceptor itself: no loop can take the connection now.
fn reject(stream: &TcpStream, context: &conn::Context) {
    conn::refuse_at_once(stream, Status::ServiceUnavailable, context.closing_mode());
}

/// The text a panic was raised with, if it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panique")
}
