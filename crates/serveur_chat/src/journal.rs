//! The server's log, written by its own thread so that a slow or stuck
//! stdout/stderr never blocks the receive loop.
//!
//! The receive loop hands each entry (a copy of the datagram, or a rejection)
//! to a bounded channel with `try_send`, which never blocks; the writer thread
//! formats the entries into buffered stdout/stderr and flushes when the
//! channel is empty, so a burst costs one `write` per batch, not per line, and
//! an interactive user still sees each line at once. While entries keep
//! coming, the writer sleeps 2 ms between batches rather than blocking on the
//! channel, so the receive loop never pays for waking it up. If the writer falls
//! behind by more than [`MAX_QUEUED_ENTRIES`] entries or [`MAX_QUEUED_BYTES`]
//! bytes, entries are dropped and counted, and the count is logged on stderr
//! as soon as there is room again: memory stays bounded and the chat keeps
//! running even if nobody reads the log.
//!
//! Alternative considered: a `BufWriter` written by the receive loop itself
//! and flushed when the socket has nothing to read. It is as cheap (both are
//! small next to the `send_to` calls, see `scripts/bench_chat.sh`), but it
//! blocks the whole chat as soon as the terminal or pipe behind stdout stops
//! reading (a paused terminal, `serveur_chat | less`).
//!
//! ```mermaid
//! flowchart LR
//!     R[receive loop] -- try_send, never blocks --> C[(bounded channel)]
//!     C --> W[writer thread]
//!     W -- recv_data : b'...' --> O[stdout, buffered]
//!     W -- rejections, send errors --> E[stderr, buffered]
//! ```

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use protocols::pyrepr::write_bytes_repr;

use crate::protocol::Rejection;

/// Entries waiting for the writer before new ones are dropped.
pub const MAX_QUEUED_ENTRIES: usize = 16_384;
/// Datagram bytes waiting for the writer before new entries are dropped.
pub const MAX_QUEUED_BYTES: usize = 32 << 20;

#[derive(Debug)]
enum Entry {
    /// A datagram as received: `recv_data : b'...'` on stdout.
    Received(Vec<u8>),
    /// A datagram that changed nothing, on stderr.
    Rejected(SocketAddr, Rejection),
    /// A `send_to` that failed, on stderr.
    SendFailed(SocketAddr, io::Error),
    /// Entries dropped because the writer was behind.
    Dropped(u64),
}

/// The receive loop's handle on the log.
#[derive(Debug)]
pub struct Journal {
    tx: Option<Sender<Entry>>,
    queued_bytes: Arc<AtomicUsize>,
    dropped: u64,
    writer: Option<JoinHandle<()>>,
}

impl Journal {
    /// Starts the writer thread. `binary` prefixes the stderr lines.
    pub fn start<O, E>(binary: &'static str, out: O, err: E) -> io::Result<Journal>
    where
        O: Write + Send + 'static,
        E: Write + Send + 'static,
    {
        let (tx, rx) = crossbeam_channel::bounded(MAX_QUEUED_ENTRIES);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&queued_bytes);
        let writer = thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_entries(binary, rx, counter, out, err))?;
        Ok(Journal {
            tx: Some(tx),
            queued_bytes,
            dropped: 0,
            writer: Some(writer),
        })
    }

    /// Logs a received datagram (`recv_data : ` + its Python repr).
    pub fn received(&mut self, datagram: &[u8]) {
        if self.queued_bytes.load(Ordering::Relaxed) + datagram.len() > MAX_QUEUED_BYTES {
            self.dropped += 1;
            return;
        }
        self.queued_bytes
            .fetch_add(datagram.len(), Ordering::Relaxed);
        if !self.push(Entry::Received(datagram.to_vec())) {
            self.queued_bytes
                .fetch_sub(datagram.len(), Ordering::Relaxed);
        }
    }

    /// Logs why a datagram from `from` was ignored.
    pub fn rejected(&mut self, from: SocketAddr, why: Rejection) {
        self.push(Entry::Rejected(from, why));
    }

    /// Logs a failed send.
    pub fn send_failed(&mut self, to: SocketAddr, error: io::Error) {
        self.push(Entry::SendFailed(to, error));
    }

    /// Queues an entry without blocking; returns whether it was queued.
    fn push(&mut self, entry: Entry) -> bool {
        let Some(tx) = &self.tx else { return false };
        if self.dropped > 0 && tx.try_send(Entry::Dropped(self.dropped)).is_ok() {
            self.dropped = 0;
        }
        match tx.try_send(entry) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                false
            }
            // The writer stopped (stdout closed): it said why on stderr.
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Writes out what is queued and stops the writer thread.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.tx.take() {
            if self.dropped > 0 {
                // The writer drains the channel before exiting, so waiting
                // here for room is bounded.
                let _ = tx.send(Entry::Dropped(self.dropped));
            }
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_entries<O: Write, E: Write>(
    binary: &'static str,
    rx: Receiver<Entry>,
    queued_bytes: Arc<AtomicUsize>,
    out: O,
    err: E,
) {
    let mut writer = Writer {
        binary,
        out: io::BufWriter::with_capacity(64 << 10, out),
        out_ok: true,
        err: io::BufWriter::new(err),
        line: String::new(),
        queued_bytes,
    };
    // Idle: block until an entry comes, and write it at once (a user at a
    // terminal sees each line as it arrives). Busy: drain, flush, then pause
    // instead of blocking, so the receive loop's `try_send` finds no parked
    // thread to wake (a futex syscall per datagram otherwise); back to
    // blocking once a pause brought nothing.
    while let Ok(first) = rx.recv() {
        writer.write(first);
        loop {
            while let Ok(entry) = rx.try_recv() {
                writer.write(entry);
            }
            writer.flush();
            thread::sleep(BUSY_PAUSE);
            if rx.is_empty() {
                break;
            }
        }
    }
}

/// How long the writer pauses between two batches while entries keep coming.
const BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

struct Writer<O: Write, E: Write> {
    binary: &'static str,
    out: io::BufWriter<O>,
    /// False once stdout failed (closed pipe): said once, then left alone.
    out_ok: bool,
    err: io::BufWriter<E>,
    line: String,
    queued_bytes: Arc<AtomicUsize>,
}

impl<O: Write, E: Write> Writer<O, E> {
    fn write(&mut self, entry: Entry) {
        let binary = self.binary;
        match entry {
            Entry::Received(datagram) => {
                self.queued_bytes
                    .fetch_sub(datagram.len(), Ordering::Relaxed);
                if self.out_ok {
                    self.line.clear();
                    self.line.push_str("recv_data : ");
                    let _ = write_bytes_repr(&mut self.line, &datagram);
                    self.line.push('\n');
                    let result = self.out.write_all(self.line.as_bytes());
                    self.check_out(result);
                }
            }
            Entry::Rejected(from, why) => {
                let _ = writeln!(self.err, "{binary}: datagramme de {from} ignoré : {why}");
            }
            Entry::SendFailed(to, e) => {
                let _ = writeln!(self.err, "{binary}: envoi vers {to} impossible : {e}");
            }
            Entry::Dropped(n) => {
                let _ = writeln!(
                    self.err,
                    "{binary}: journal en retard, {n} entrée(s) perdue(s)"
                );
            }
        }
    }

    fn flush(&mut self) {
        if self.out_ok {
            let result = self.out.flush();
            self.check_out(result);
        }
        let _ = self.err.flush();
    }

    fn check_out(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.out_ok = false;
            let _ = writeln!(
                self.err,
                "{}: journal sur la sortie standard arrêté : {e}",
                self.binary
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use e2e::SharedBuffer as Shared;

    #[test]
    fn writes_repr_lines_and_rejections() {
        let (out, err) = (Shared::default(), Shared::default());
        let mut journal = Journal::start("t", out.clone(), err.clone()).unwrap();
        journal.received("je suis là !".as_bytes());
        journal.received(b"it's");
        journal.rejected(([127, 0, 0, 1], 9).into(), Rejection::UnknownTag);
        journal.finish();
        assert_eq!(
            out.text(),
            "recv_data : b'je suis l\\xc3\\xa0 !'\nrecv_data : b\"it's\"\n"
        );
        assert_eq!(
            err.text(),
            "t: datagramme de 127.0.0.1:9 ignoré : balise inconnue\n"
        );
    }

    /// A stdout nobody reads: every write blocks until the test lets go.
    struct Stuck(Arc<Mutex<()>>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            drop(self.0.lock().unwrap());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            drop(self.0.lock().unwrap());
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stdout_never_blocks_the_caller_and_losses_are_counted() {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let err = Shared::default();
        let mut journal = Journal::start("t", Stuck(Arc::clone(&gate)), err.clone()).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..(MAX_QUEUED_ENTRIES + 70_000) {
            journal.received(&[b'x'; 100]);
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        drop(held);
        journal.finish();
        let text = err.text();
        assert!(text.contains("entrée(s) perdue(s)"), "{text}");
    }

    #[test]
    fn a_closed_stdout_stops_the_log_not_the_caller() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let err = Shared::default();
        let mut journal = Journal::start("t", Closed, err.clone()).unwrap();
        for _ in 0..10 {
            journal.received(&[0u8; 70_000]);
        }
        journal.finish();
        assert_eq!(err.text().matches("arrêté").count(), 1, "{}", err.text());
    }
}
