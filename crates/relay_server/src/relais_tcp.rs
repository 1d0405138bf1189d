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
//! Clients who connect meanwhile wait in the listen queue.

use std::io::{self, Read, Write};
use std::net::{Shutdown as Direction, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use server_kit::Shutdown;

use crate::current::Current;
use crate::{timed_out, transient, ROLE_RECEIVER, ROLE_SENDER, SERVER_BINARY};

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
pub fn serve(listener: TcpListener, shutdown: &Shutdown, options: &Options) -> io::Result<()> {
    shutdown.wake_tcp_listener(&listener)?;
    let current = Current::new(shutdown);
    loop {
        let Some((first, second)) = accept_pair(&listener, shutdown, options) else {
            return Ok(());
        };
        if !current.set(&[&first.0, &second.0]) || shutdown.is_triggered() {
            current.clear();
            continue;
        }
        eprintln!("{SERVER_BINARY}: relais de {} vers {}", first.1, second.1);
        let end = relay_pair(first.0, second.0, options.idle);
        current.clear();
        if shutdown.is_triggered() {
            return Ok(());
        }
        match end {
            Ok(why) => eprintln!(
                "{SERVER_BINARY}: fin de la paire ({why}) ; en attente de la paire suivante"
            ),
            Err(e) => eprintln!("{SERVER_BINARY}: fin de la paire ({e})"),
        }
    }
}

/// Accepts the first client, then the second (None on shutdown). A first
/// client that left before the second came is replaced by the newcomer,
/// which is then told `1`, not `2`: the role is sent only once the pair's
/// first place is known to be held.
fn accept_pair(
    listener: &TcpListener,
    shutdown: &Shutdown,
    options: &Options,
) -> Option<(Client, Client)> {
    let mut first = accept_first(listener, shutdown, options)?;
    loop {
        let second = accept_client(listener, shutdown)?;
        if !still_there(&first.0) {
            eprintln!(
                "{SERVER_BINARY}: le client 1 ({}) est parti avant l'arrivée du client 2",
                first.1
            );
            if greet(&second, options, ROLE_SENDER, 1) {
                first = second;
            } else {
                first = accept_first(listener, shutdown, options)?;
            }
            continue;
        }
        if greet(&second, options, ROLE_RECEIVER, 2) {
            return Some((first, second));
        }
    }
}

fn accept_first(listener: &TcpListener, shutdown: &Shutdown, options: &Options) -> Option<Client> {
    loop {
        let client = accept_client(listener, shutdown)?;
        if greet(&client, options, ROLE_SENDER, 1) {
            return Some(client);
        }
    }
}

/// Accepts one connection (None on shutdown).
fn accept_client(listener: &TcpListener, shutdown: &Shutdown) -> Option<Client> {
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
                eprintln!("{SERVER_BINARY}: accept : {e}");
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
fn greet(client: &Client, options: &Options, role: u8, number: u8) -> bool {
    let (stream, from) = client;
    if options.roles {
        // A new connection's send buffer is empty: this cannot block.
        if let Err(e) = (&*stream).write_all(&[role]) {
            eprintln!("{SERVER_BINARY}: client {from} : rôle non envoyé ({e})");
            return false;
        }
    }
    eprintln!("{SERVER_BINARY}: client {number} connecté depuis {from}");
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
/// than at the next write. Whichever ends first records why and shuts both
/// connections down, which ends the other.
fn relay_pair(first: TcpStream, second: TcpStream, idle: Duration) -> io::Result<String> {
    first.set_read_timeout(Some(idle))?;
    second.set_write_timeout(Some(idle))?;
    let why: Arc<Mutex<Option<String>>> = Arc::default();
    let end = {
        let (first, second, why) = (first.try_clone()?, second.try_clone()?, Arc::clone(&why));
        Arc::new(move |reason: String| {
            why.lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(reason);
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
