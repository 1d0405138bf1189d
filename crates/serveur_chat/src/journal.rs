//! The server's log, written by its own thread so that a slow or stuck
//! stdout/stderr never blocks the receive loop.
//!
//! The receive loop hands each entry (a copy of the datagram, or a rejection)
//! to a bounded channel with `try_send`, which never blocks; the writer thread
//! formats the entries into buffered stdout/stderr and flushes when the
//! channel is empty, so a burst costs one `write` per batch, not per line, and
//! an interactive user still sees each line at once. If the writer falls
//! behind by more than [`MAX_QUEUED_ENTRIES`] entries or [`MAX_QUEUED_BYTES`]
//! bytes, entries are dropped and counted, and the count is logged on stderr
//! as soon as there is room again: memory stays bounded and the chat keeps
//! running even if nobody reads the log.
//!
//! Measured alternative: a `BufWriter` written by the receive loop itself and
//! flushed when the socket has nothing to read costs the same CPU (both are
//! dominated by the `send_to` calls), but blocks the chat as soon as the
//! terminal or pipe behind stdout stops reading.
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
    binary: &str,
    rx: Receiver<Entry>,
    queued_bytes: Arc<AtomicUsize>,
    out: O,
    err: E,
) {
    let mut out = io::BufWriter::with_capacity(64 << 10, out);
    let mut err = io::BufWriter::new(err);
    let mut line = String::new();
    let mut out_ok = true;
    // Blocks only when there is nothing to write; drains what is queued.
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(entry) = next {
            match entry {
                Entry::Received(datagram) => {
                    queued_bytes.fetch_sub(datagram.len(), Ordering::Relaxed);
                    if out_ok {
                        line.clear();
                        line.push_str("recv_data : ");
                        let _ = write_bytes_repr(&mut line, &datagram);
                        line.push('\n');
                        if let Err(e) = out.write_all(line.as_bytes()) {
                            out_ok = false;
                            let _ = writeln!(
                                err,
                                "{binary}: journal sur la sortie standard arrêté : {e}"
                            );
                        }
                    }
                }
                Entry::Rejected(from, why) => {
                    let _ = writeln!(err, "{binary}: datagramme de {from} ignoré : {why}");
                }
                Entry::SendFailed(to, e) => {
                    let _ = writeln!(err, "{binary}: envoi vers {to} impossible : {e}");
                }
                Entry::Dropped(n) => {
                    let _ = writeln!(err, "{binary}: journal en retard, {n} entrée(s) perdue(s)");
                }
            }
            next = rx.try_recv().ok();
        }
        if out_ok {
            if let Err(e) = out.flush() {
                out_ok = false;
                let _ = writeln!(err, "{binary}: journal sur la sortie standard arrêté : {e}");
            }
        }
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

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
