//! Exercises 2.1 and 2.3 over TCP: wait for a first client, then a second,
//! and copy everything the first sends to the second, as it arrives.
//!
//! The sheet insists that TCP is a byte stream: the relay copies bytes,
//! unchanged and in order, and adds nothing; message boundaries are the
//! clients' business (ours send lines). With `--roles` (2.3) the server
//! sends the single byte `1` to the first client right after accepting it,
//! and `2` to the second.
//!
//! A pair ends when either client leaves (or stays silent, or stops reading,
//! for the `--inactivite` delay): both connections are closed, which is how
//! the one left behind learns it, and the server waits for the next pair.
//! A client who connects while a pair is in progress gets one line,
//! [`BUSY_TEXT`], and is closed; the pair carries on undisturbed.

use std::io::{self, Read, Write};
use std::net::{Shutdown as Direction, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use server_kit::accept::Registry;
use server_kit::journal::{self, Diagnostic, Journal};
use server_kit::refusal::Refusals;
use server_kit::Shutdown;

use crate::{timed_out, transient, BUSY_TEXT, ROLE_RECEIVER, ROLE_SENDER, SERVER_BINARY};

#[derive(Debug, Clone)]
pub struct Options {
    /// Exercise 2.3: send `1` / `2` to each client right after `accept`.
    pub roles: bool,
    /// How long the sender may stay silent, and the receiver not read.
    pub idle: Duration,
}

/// Bytes copied per read: large enough for a 1 MiB line in few calls.
const CHUNK: usize = 64 * 1024;

type Client = (TcpStream, SocketAddr);

/// Serves pair after pair until `shutdown`.
///
/// The accept loop stays free while a pair is relayed on its own thread, so
/// that a third client is answered at once ([`BUSY_TEXT`], then closed)
/// instead of waiting unseen in the listen queue, and never disturbs the
/// pair. Once the pair ends, the next two clients form the next pair.
pub fn serve(listener: TcpListener, shutdown: &Shutdown, options: &Options) -> io::Result<()> {
    shutdown.wake_tcp_listener(&listener)?;
    let registry = Registry::closed_on(shutdown);
    let busy = Arc::new(AtomicBool::new(false));
    let refusals = Refusals::default();
    // Diagnostics go through their own thread: a stderr nobody reads must
    // not stop the accept loop (a flood of refused clients) or a pair.
    let (diag, diag_thread) = journal::diagnostics(SERVER_BINARY)?;
    let mut first: Option<Client> = None;
    let mut pair_thread: Option<JoinHandle<()>> = None;
    while let Some(client) = accept_client(&listener, shutdown, &diag) {
        if busy.load(Ordering::Acquire) {
            refuse(client, &refusals, &diag);
            continue;
        }
        let Some(waiting) = first.take() else {
            first = greet(&client, options, ROLE_SENDER, 1, &diag).then_some(client);
            continue;
        };
        if !still_there(&waiting.0) {
            diag.log(Diagnostic(format!(
                "le client 1 ({}) est parti avant l'arrivée du client 2",
                waiting.1
            )));
            // The newcomer takes the first place, and is told `1`.
            first = greet(&client, options, ROLE_SENDER, 1, &diag).then_some(client);
            continue;
        }
        if !greet(&client, options, ROLE_RECEIVER, 2, &diag) {
            first = Some(waiting);
            continue;
        }
        // The previous pair's thread has already freed its place; let it
        // finish so threads never pile up.
        if let Some(previous) = pair_thread.take() {
            let _ = previous.join();
        }
        busy.store(true, Ordering::Release);
        match start_pair(waiting, client, &registry, shutdown, options, &busy, &diag) {
            Ok(thread) => pair_thread = Some(thread),
            Err(e) => {
                busy.store(false, Ordering::Release);
                diag.log(Diagnostic(format!("paire abandonnée ({e})")));
            }
        }
    }
    if let Some(thread) = pair_thread {
        let _ = thread.join();
    }
    drop(diag);
    diag_thread.join_within(journal::JOIN_PATIENCE);
    Ok(())
}

/// Registers the pair's connections (so Ctrl-C closes them) and relays on a
/// new thread, which clears `busy` as soon as the pair ends.
fn start_pair(
    first: Client,
    second: Client,
    registry: &Arc<Registry>,
    shutdown: &Shutdown,
    options: &Options,
    busy: &Arc<AtomicBool>,
    diag: &Journal<Diagnostic>,
) -> io::Result<JoinHandle<()>> {
    let guards = (
        registry.register(&first.0, usize::MAX)?,
        registry.register(&second.0, usize::MAX)?,
    );
    if shutdown.is_triggered() {
        // Registered after the registry was closed: close them ourselves.
        let _ = first.0.shutdown(Direction::Both);
        let _ = second.0.shutdown(Direction::Both);
    }
    diag.log(Diagnostic(format!(
        "relais de {} vers {}",
        first.1, second.1
    )));
    let (busy, shutdown, diag) = (Arc::clone(busy), shutdown.clone(), diag.clone());
    let idle = options.idle;
    thread::Builder::new()
        .name(format!("paire {} -> {}", first.1, second.1))
        .spawn(move || {
            let end = relay_pair(first.0, second.0, idle, &busy);
            drop(guards);
            if shutdown.is_triggered() {
                return;
            }
            match end {
                Ok(why) => diag.log(Diagnostic(format!(
                    "fin de la paire ({why}) ; en attente de la paire suivante"
                ))),
                Err(e) => diag.log(Diagnostic(format!("fin de la paire ({e})"))),
            }
        })
}

/// Tells a late client the server is busy, without holding up the accept
/// loop (server_kit's polite refusal: the line arrives even if the client
/// spoke first).
fn refuse((stream, from): Client, refusals: &Refusals, diag: &Journal<Diagnostic>) {
    diag.log(Diagnostic(format!(
        "client {from} refusé : une paire est déjà en cours"
    )));
    if let Some(problem) = refusals
        .refuse(stream, format!("{BUSY_TEXT}\n").as_bytes())
        .problem()
    {
        diag.log(Diagnostic(format!("client {from} : {problem}")));
    }
}

/// Accepts one connection (None on shutdown).
fn accept_client(
    listener: &TcpListener,
    shutdown: &Shutdown,
    diag: &Journal<Diagnostic>,
) -> Option<Client> {
    loop {
        match listener.accept() {
            Ok((stream, from)) => {
                // Lines typed one by one must not wait for the previous
                // one's ACK (Nagle).
                let _ = stream.set_nodelay(true);
                return Some((stream, from));
            }
            Err(_) if shutdown.is_triggered() => return None,
            Err(e) => {
                diag.log(Diagnostic(format!("accept : {e}")));
                if !transient(&e) {
                    // EMFILE and the like: give the system a moment.
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// Gives a client its place: with `--roles`, the role byte (2.3); then the
/// log line. False if the client cannot be written to.
fn greet(
    client: &Client,
    options: &Options,
    role: u8,
    number: u8,
    diag: &Journal<Diagnostic>,
) -> bool {
    let (stream, from) = client;
    if options.roles {
        // A new connection's send buffer is empty: this cannot block.
        if let Err(e) = (&*stream).write_all(&[role]) {
            diag.log(Diagnostic(format!("client {from} : rôle non envoyé ({e})")));
            return false;
        }
    }
    diag.log(Diagnostic(format!(
        "client {number} connecté depuis {from}"
    )));
    true
}

/// Whether the peer has not closed (nor reset) its connection, without
/// consuming anything it sent.
fn still_there(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let alive = match stream.peek(&mut [0u8; 1]) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    };
    alive && stream.set_nonblocking(false).is_ok()
}

/// Copies `first` to `second` until either leaves; returns why it ended.
///
/// Two threads: this one copies; a second one reads (and drops) whatever
/// the receiver sends, which is how its departure is seen at once rather
/// than at the next write. Whichever ends first records why, clears
/// `busy` and shuts both connections down, which ends the other.
fn relay_pair(
    first: TcpStream,
    second: TcpStream,
    idle: Duration,
    busy: &Arc<AtomicBool>,
) -> io::Result<String> {
    first.set_read_timeout(Some(idle))?;
    second.set_write_timeout(Some(idle))?;
    let why: Arc<Mutex<Option<String>>> = Arc::default();
    let end = {
        let (first, second, why) = (first.try_clone()?, second.try_clone()?, Arc::clone(&why));
        let busy = Arc::clone(busy);
        Arc::new(move |reason: String| {
            let mut why = why.lock().unwrap_or_else(|e| e.into_inner());
            if why.is_none() {
                // Free the place before the clients see the end, so that a
                // client who reconnects as soon as it is told is served.
                busy.store(false, Ordering::Release);
                *why = Some(reason);
            }
            drop(why);
            let _ = first.shutdown(Direction::Both);
            let _ = second.shutdown(Direction::Both);
        })
    };
    let drain = {
        let (mut receiver, end) = (second.try_clone()?, Arc::clone(&end));
        thread::spawn(move || {
            let mut sink = vec![0u8; CHUNK];
            let reason = loop {
                match receiver.read(&mut sink) {
                    Ok(0) => break "le client 2 est parti".to_string(),
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break format!("client 2 : {e}"),
                }
            };
            end(reason);
        })
    };
    let reason = copy(&first, &second, idle);
    end(reason);
    let _ = drain.join();
    let why = why.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(why.unwrap_or_default())
}

/// The relay proper: every byte read from `from` is written to `to`.
fn copy(mut from: &TcpStream, mut to: &TcpStream, idle: Duration) -> String {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return "le client 1 est parti".into(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if timed_out(&e) => {
                return format!("client 1 silencieux depuis {} s", idle.as_secs())
            }
            Err(e) => return format!("client 1 : {e}"),
        };
        match to.write_all(&buf[..n]) {
            Ok(()) => {}
            Err(e) if timed_out(&e) => {
                return format!("le client 2 ne lit plus depuis {} s", idle.as_secs())
            }
            Err(e) => return format!("client 2 : {e}"),
        }
    }
}
