//! Turning a TCP client away politely: it reads the server's one-line
//! reason, then a clean end of stream, even if it spoke first.
//!
//! Why not just write the line and close: a client that already sent
//! something (`tcp_client` sends its message at once) leaves unread data in
//! the server's receive buffer, and closing a socket with unread data makes
//! the kernel answer with a reset (RST) instead of a FIN. The reset can
//! reach the client before it read the line, and then the line is lost
//! (`ECONNRESET`). So [`send_refusal`], step by step:
//!
//! 1. writes the line (with a write deadline: a peer that never reads cannot
//!    hold the thread);
//! 2. shuts the writing half down: a FIN follows the line, the client sees
//!    the end of stream right after it;
//! 3. reads and drops whatever the client sends until it closes its side or
//!    a deadline passes, so that nothing is left unread when the socket
//!    closes, and the close is a FIN, not a reset.
//!
//! Step 3 waits on the peer, so it runs on a short thread of its own: the
//! accept loop never blocks on a refusal. [`Refusals`] caps how many such
//! threads run at once; beyond the cap (a flood of connections), a refused
//! client gets one write attempt that cannot block, then the close.

use std::io::{self, Read, Write};
use std::net::{Shutdown as Direction, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a refused client's data is drained, at most, before the close.
pub const DRAIN: Duration = Duration::from_secs(2);

/// Polite refusals at once by default: enough for any honest burst of
/// clients over a server's cap, few enough that a flood of connections
/// costs at most this many short threads.
pub const AT_ONCE: usize = 32;

/// How a refused connection was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// On a thread of its own: the line, a FIN, then the drain.
    Politely,
    /// Over the cap: one non-blocking write attempt, then the close.
    Hurriedly,
    /// No thread to be had: closed without a word.
    NotSent,
}

impl Refused {
    /// What the server's log says after the refusal line, if anything went
    /// wrong (in French, as the servers' diagnostics).
    pub fn problem(self) -> Option<&'static str> {
        match self {
            Refused::NotSent => Some("refus non envoyé (pas de thread)"),
            Refused::Politely | Refused::Hurriedly => None,
        }
    }
}

/// The refusals in progress, capped. Cheap to clone (the count is shared).
#[derive(Debug, Clone)]
pub struct Refusals {
    in_progress: Arc<AtomicUsize>,
    max: usize,
    drain: Duration,
}

impl Default for Refusals {
    /// At most [`AT_ONCE`] polite refusals at once, each draining at most
    /// [`DRAIN`].
    fn default() -> Refusals {
        Refusals::new(AT_ONCE)
    }
}

impl Refusals {
    /// At most `max` polite refusals at once, each draining at most [`DRAIN`].
    pub fn new(max: usize) -> Refusals {
        Refusals::with_drain(max, DRAIN)
    }

    /// As [`Refusals::new`], with another drain deadline (tests).
    pub fn with_drain(max: usize, drain: Duration) -> Refusals {
        Refusals {
            in_progress: Arc::default(),
            max,
            drain,
        }
    }

    /// Polite refusals running now.
    pub fn in_progress(&self) -> usize {
        self.in_progress.load(Ordering::Acquire)
    }

    /// Sends `line` to `stream` and closes it, without ever blocking the
    /// caller (see the module's doc).
    pub fn refuse(&self, stream: TcpStream, line: &[u8]) -> Refused {
        if self.in_progress.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.in_progress.fetch_sub(1, Ordering::AcqRel);
            refuse_at_once(&stream, line);
            return Refused::Hurriedly;
        }
        // The thread's own copy: the caller may reuse its line.
        let (owned, in_progress, drain) =
            (line.to_vec(), Arc::clone(&self.in_progress), self.drain);
        let spawned = thread::Builder::new().name("refus".into()).spawn(move || {
            send_refusal(&stream, &owned, drain);
            in_progress.fetch_sub(1, Ordering::AcqRel);
        });
        match spawned {
            Ok(_) => Refused::Politely,
            // The closure, and the connection in it, were dropped: closed.
            Err(_) => {
                self.in_progress.fetch_sub(1, Ordering::AcqRel);
                Refused::NotSent
            }
        }
    }
}

/// Over the cap: a new connection's send buffer is empty, so one
/// non-blocking write of a short line nearly always goes through whole;
/// the caller drops the socket right after.
fn refuse_at_once(stream: &TcpStream, line: &[u8]) {
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write_all(line);
}

/// Writes `line`, says "no more" (FIN), then reads and drops whatever the
/// peer sends until it closes or `drain` passes (the module's doc says why
/// each step). Blocks up to about twice `drain`: call it on its own thread.
pub fn send_refusal(stream: &TcpStream, line: &[u8], drain: Duration) {
    // A peer that reads nothing cannot keep this thread longer than `drain`.
    let _ = stream.set_write_timeout(Some(drain));
    if (&*stream).write_all(line).is_err() {
        return;
    }
    // The FIN goes out after the line: the peer reads it, then end of stream.
    let _ = stream.shutdown(Direction::Write);
    let deadline = Instant::now() + drain;
    let mut sink = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match (&*stream).read(&mut sink) {
            // The peer closed: nothing can be left unread.
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{SocketAddr, TcpListener};
    use std::sync::mpsc;

    const WAIT: Duration = Duration::from_secs(30);
    const LINE: &[u8] = b"Serveur plein, reessayez plus tard.\n";

    /// A listener whose accept thread refuses every connection, and reports
    /// how each was refused as soon as `refuse` returned.
    fn refusing(refusals: Refusals) -> (SocketAddr, mpsc::Receiver<Refused>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let how = refusals.refuse(stream.unwrap(), LINE);
                if tx.send(how).is_err() {
                    return;
                }
            }
        });
        (addr, rx)
    }

    /// Everything the server sent, up to its end of stream (an error, such
    /// as a reset, fails the test).
    fn read_all(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
        stream.set_read_timeout(Some(WAIT))?;
        let mut got = Vec::new();
        stream.read_to_end(&mut got)?;
        Ok(got)
    }

    #[test]
    fn clients_that_spoke_first_read_the_whole_line_then_a_clean_end() {
        let (addr, refused) = refusing(Refusals::new(32));
        let clients: Vec<_> = (0..16)
            .map(|i| {
                thread::spawn(move || {
                    let mut stream = TcpStream::connect(addr).unwrap();
                    // Unread by the server when it refuses: without the
                    // drain, its close would be a reset.
                    stream
                        .write_all(format!("Bonjour serveur TCP {i}\n").as_bytes())
                        .unwrap();
                    read_all(&mut stream)
                })
            })
            .collect();
        for client in clients {
            let got = client.join().unwrap();
            assert_eq!(got.as_deref().map_err(|e| e.kind()), Ok(LINE));
        }
        for _ in 0..16 {
            assert_eq!(refused.recv_timeout(WAIT), Ok(Refused::Politely));
        }
    }

    #[test]
    fn a_flood_beyond_the_cap_never_holds_the_accept_thread() {
        // Two silent clients keep both polite refusals draining for far
        // longer than the test waits.
        let refusals = Refusals::with_drain(2, Duration::from_secs(3600));
        let (addr, refused) = refusing(refusals.clone());
        let mut silent: Vec<TcpStream> = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(b"x").unwrap();
            assert_eq!(refused.recv_timeout(WAIT), Ok(Refused::Politely));
            // The line arrives even while the thread drains.
            let mut line = vec![0u8; LINE.len()];
            stream.set_read_timeout(Some(WAIT)).unwrap();
            stream.read_exact(&mut line).unwrap();
            assert_eq!(line, LINE);
            silent.push(stream);
        }
        assert_eq!(refusals.in_progress(), 2);
        // The flood: if a refusal held the accept thread, the first of
        // these would wait an hour and `recv_timeout` would fail.
        let flood: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for _ in &flood {
            assert_eq!(refused.recv_timeout(WAIT), Ok(Refused::Hurriedly));
        }
        for mut stream in flood {
            // It did not speak: its close is a clean end after the line.
            assert_eq!(read_all(&mut stream).unwrap(), LINE);
        }
        assert_eq!(refusals.in_progress(), 2);
        // A silent client that leaves ends its refusal thread.
        drop(silent);
        let mut freed = false;
        for _ in 0..3000 {
            if refusals.in_progress() == 0 {
                freed = true;
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        assert!(freed, "the refusal threads did not end with their clients");
    }
}
