//! The data connections of a file transfer: each end of an accepted
//! transfer ([`crate::files`]) opens a second connection to the server's
//! port and presents its one-time token (`FICHIER <jeton>`); when both are
//! there, the thread of the second one copies the bytes from the sender to
//! the receiver through one bounded buffer, then relays the receiver's
//! verdict (`FIN OK` / `FIN ECHEC`) to the sender. Wire format:
//! [`protocols::chat_irc_file`].
//!
//! What this adds to the chat: none of it goes through the hub, so a
//! 100 MiB file costs the chat nothing but loopback bandwidth; every wait
//! is bounded (a token expires if its other end never comes, a read or
//! write that stalls ends the transfer) and Ctrl-C ends waiting ends
//! ([`Rendezvous::close_all`]) while the accept loop's registry cuts the
//! sockets of running ones.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown as Direction, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use protocols::chat_irc_file::{parse_data_line, DONE_FAILED, DONE_OK, START};

use crate::texts::data as texts;

/// Timeouts of the data connections.
#[derive(Debug, Clone, Copy)]
pub struct TransferConfig {
    /// How long an accepted transfer waits for its two connections.
    pub token_expiry: Duration,
    /// Longest a read or write of the transfer may block (a stalled end).
    pub stall: Duration,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            token_expiry: Duration::from_secs(60),
            stall: Duration::from_secs(30),
        }
    }
}

/// Bytes copied at once: the one buffer between the two ends.
const BUFFER: usize = 64 * 1024;
/// Longest first line of a data connection (`FICHIER ` and 32 digits).
const MAX_FIRST_LINE: usize = 64;

/// Which end a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Sender,
    Receiver,
}

/// The first end to arrive, waiting for the other.
struct Waiting {
    end: End,
    stream: TcpStream,
    /// Told when the other end's thread has finished the transfer.
    done: Sender<()>,
}

struct Slot {
    size: u64,
    created: Instant,
    tokens: [String; 2],
    waiting: Option<Waiting>,
}

#[derive(Default)]
struct State {
    closed: bool,
    next: u64,
    /// Token -> (transfer, which end).
    tokens: HashMap<String, (u64, End)>,
    slots: HashMap<u64, Slot>,
}

/// Accepted transfers whose connections have not both arrived.
pub struct Rendezvous {
    config: TransferConfig,
    state: Mutex<State>,
}

/// What a data connection found on arrival.
enum Arrival {
    Unknown,
    /// First there: wait for the other end's thread to do the transfer.
    Wait {
        id: u64,
        done: Receiver<()>,
        until: Instant,
    },
    /// Second there: do the transfer.
    Pair {
        sender: TcpStream,
        receiver: TcpStream,
        size: u64,
        done: Sender<()>,
    },
}

impl std::fmt::Debug for Rendezvous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendezvous")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Rendezvous {
    pub fn new(config: TransferConfig) -> Rendezvous {
        Rendezvous {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An accepted transfer (from the hub): its two tokens become valid.
    /// Transfers that expired with nobody waiting are forgotten here.
    pub fn register(&self, sender: String, receiver: String, size: u64) {
        let expiry = self.config.token_expiry;
        let mut st = self.state();
        if st.closed {
            return;
        }
        let expired: Vec<u64> = st
            .slots
            .iter()
            .filter(|(_, s)| s.waiting.is_none() && s.created.elapsed() >= expiry)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(slot) = st.slots.remove(&id) {
                for t in &slot.tokens {
                    st.tokens.remove(t);
                }
            }
        }
        let id = st.next;
        st.next += 1;
        st.tokens.insert(sender.clone(), (id, End::Sender));
        st.tokens.insert(receiver.clone(), (id, End::Receiver));
        st.slots.insert(
            id,
            Slot {
                size,
                created: Instant::now(),
                tokens: [sender, receiver],
                waiting: None,
            },
        );
    }

    /// How many transfers wait for a connection (tests, diagnostics).
    pub fn pending(&self) -> usize {
        self.state().slots.len()
    }

    /// Shutdown: every waiting end wakes and leaves; no new one is taken.
    pub fn close_all(&self) {
        let mut st = self.state();
        st.closed = true;
        st.tokens.clear();
        st.slots.clear();
    }

    fn arrive(&self, token: &str, stream: TcpStream) -> Arrival {
        let mut st = self.state();
        let Some((id, end)) = st.tokens.remove(token) else {
            return Arrival::Unknown;
        };
        let Some(slot) = st.slots.get_mut(&id) else {
            return Arrival::Unknown;
        };
        if slot.created.elapsed() >= self.config.token_expiry && slot.waiting.is_none() {
            let slot = st.slots.remove(&id).expect("present");
            for t in &slot.tokens {
                st.tokens.remove(t);
            }
            return Arrival::Unknown;
        }
        match slot.waiting.take() {
            None => {
                let (done, wait) = bounded(1);
                slot.waiting = Some(Waiting { end, stream, done });
                Arrival::Wait {
                    id,
                    done: wait,
                    until: slot.created + self.config.token_expiry,
                }
            }
            Some(first) => {
                let size = slot.size;
                st.slots.remove(&id);
                let (sender, receiver) = match end {
                    End::Sender => (stream, first.stream),
                    End::Receiver => (first.stream, stream),
                };
                debug_assert_ne!(first.end, end);
                Arrival::Pair {
                    sender,
                    receiver,
                    size,
                    done: first.done,
                }
            }
        }
    }

    /// Gives up waiting for transfer `id`'s other end; false when it
    /// arrived meanwhile (the transfer is under way).
    fn withdraw(&self, id: u64) -> bool {
        let mut st = self.state();
        match st.slots.remove(&id) {
            Some(slot) => {
                for t in &slot.tokens {
                    st.tokens.remove(t);
                }
                true
            }
            None => false,
        }
    }
}

/// Serves one data connection (its first line not read yet).
pub fn serve_data(mut stream: TcpStream, rendezvous: &Rendezvous) {
    let stall = rendezvous.config.stall;
    let _ = stream.set_read_timeout(Some(stall));
    let _ = stream.set_write_timeout(Some(stall));
    let Some(line) = read_short_line(&mut stream) else {
        return;
    };
    let Some(token) = parse_data_line(&line) else {
        let _ = stream.write_all(texts::BAD_FIRST_LINE.as_bytes());
        return;
    };
    let Ok(handle) = stream.try_clone() else {
        return;
    };
    match rendezvous.arrive(token, handle) {
        Arrival::Unknown => {
            let _ = stream.write_all(texts::UNKNOWN_TOKEN.as_bytes());
        }
        Arrival::Wait { id, done, until } => {
            match done.recv_deadline(until) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if rendezvous.withdraw(id) {
                        let _ = stream.write_all(texts::PEER_LATE.as_bytes());
                    } else {
                        // Paired at the last moment: stay until it ends, so
                        // this socket stays in the accept loop's registry.
                        let _ = done.recv();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = stream.write_all(texts::SERVER_STOPPING.as_bytes());
                }
            }
        }
        Arrival::Pair {
            sender,
            receiver,
            size,
            done,
        } => {
            splice(&sender, &receiver, size, stall);
            let _ = sender.shutdown(Direction::Both);
            let _ = receiver.shutdown(Direction::Both);
            let _ = done.send(());
        }
    }
}

/// A line of at most [`MAX_FIRST_LINE`] bytes, read a byte at a time so
/// nothing after it is taken from the socket; `\r\n` or `\n` removed.
fn read_short_line(mut stream: impl Read) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() <= MAX_FIRST_LINE {
        match stream.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(line);
            }
            Ok(1) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            _ => return None,
        }
    }
    Some(line)
}

/// Copies `size` bytes from `sender` to `receiver`, then relays the
/// receiver's verdict. Timeouts (`stall`) are set on both sockets.
fn splice(mut sender: &TcpStream, mut receiver: &TcpStream, size: u64, stall: Duration) {
    for s in [sender, receiver] {
        let _ = s.set_read_timeout(Some(stall));
        let _ = s.set_write_timeout(Some(stall));
    }
    let start = format!("{START}\n");
    if receiver.write_all(start.as_bytes()).is_err() {
        let _ = sender.write_all(texts::RECEIVER_GONE.as_bytes());
        return;
    }
    if sender.write_all(start.as_bytes()).is_err() {
        return;
    }
    let mut buf = vec![0u8; BUFFER];
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match sender.read(&mut buf[..want]) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                let _ = sender.write_all(texts::SENDER_STOPPED.as_bytes());
                return;
            }
        };
        if receiver.write_all(&buf[..n]).is_err() {
            let _ = sender.write_all(texts::RECEIVER_GONE.as_bytes());
            return;
        }
        left -= n as u64;
    }
    let verdict = read_short_line(receiver);
    let answer = match verdict.as_deref() {
        Some(v) if v == DONE_OK.as_bytes() => format!("{DONE_OK}\n"),
        Some(v) if v == DONE_FAILED.as_bytes() => format!("{DONE_FAILED}\n"),
        _ => texts::NO_VERDICT.to_owned(),
    };
    let _ = sender.write_all(answer.as_bytes());
}
