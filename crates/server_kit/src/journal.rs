//! A server's log, written by its own thread so that a slow or stuck
//! stdout/stderr never blocks the threads that serve clients.
//!
//! Serving threads hand entries to a bounded channel with `try_send`, which
//! never blocks; the writer thread formats them (so the costly part, a Python
//! `repr` or an escaped request head, is not paid on the hot path) into
//! buffered stdout/stderr. If the writer falls behind by more than the
//! channel's capacity in entries, or the byte budget in queued data, new
//! entries are dropped and counted, and the count is reported on stderr as
//! soon as the writer catches up: memory stays bounded and the server keeps
//! serving even if nobody reads its output. A stdout that fails (a closed
//! pipe) is reported once and left alone; stderr lines still come.
//!
//! ```mermaid
//! flowchart LR
//!     S[serving threads] -- try_send, never blocks --> C[(bounded channel)]
//!     C --> W[writer thread]
//!     W -- Stream::Out --> O[stdout, buffered]
//!     W -- Stream::Err, losses --> E[stderr, buffered]
//! ```
//!
//! Idle, the writer blocks on the channel and writes each entry at once (a
//! user at a terminal sees every line as it comes). Busy, it drains, flushes
//! (one `write` per batch, not per line), then pauses [`BUSY_PAUSE`] instead
//! of blocking, so the serving threads' `try_send` finds no parked thread to
//! wake: without that, every entry cost them a futex system call.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// How long the writer pauses between two batches while entries keep coming.
pub const BUSY_PAUSE: Duration = Duration::from_millis(2);

/// Where an entry is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The lab's output (stdout).
    Out,
    /// Diagnostics (stderr).
    Err,
}

/// Something a server logs. Formatting happens on the writer thread.
pub trait Entry: Send + 'static {
    /// The stream the entry goes to.
    fn stream(&self) -> Stream;
    /// Appends the entry's text, whole lines ending in `\n`, to `text`.
    /// `binary` is the program's name, for stderr lines.
    fn format(&self, binary: &str, text: &mut Vec<u8>);
    /// Bytes the entry holds while queued, counted against the byte budget.
    fn queued_bytes(&self) -> usize {
        0
    }
}

/// Bounds of the queue between the serving threads and the writer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries waiting, at most.
    pub entries: usize,
    /// Bytes held by waiting entries ([`Entry::queued_bytes`]), at most.
    pub bytes: usize,
}

/// The serving threads' side of the journal (clone it freely). Dropping
/// every clone lets the writer finish.
#[derive(Debug)]
pub struct Journal<T> {
    tx: Sender<T>,
    shared: Arc<Shared>,
}

impl<T> Clone for Journal<T> {
    fn clone(&self) -> Self {
        Journal {
            tx: self.tx.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Debug)]
struct Shared {
    queued_bytes: AtomicUsize,
    max_bytes: usize,
    dropped: AtomicU64,
}

/// How long a stopping server waits for the writer to write out what is
/// queued ([`JournalThread::join_within`]).
pub const JOIN_PATIENCE: Duration = Duration::from_secs(2);

/// The writer thread: join it after every [`Journal`] clone is dropped; it
/// writes out what is queued first.
#[derive(Debug)]
pub struct JournalThread(JoinHandle<()>);

impl JournalThread {
    /// Waits for the writer to write out what is queued and finish.
    pub fn join(self) {
        let _ = self.0.join();
    }

    /// Waits, at most `patience`, for the writer to finish; says whether it
    /// did. A stdout that nobody reads (a full pipe, a paused pager) blocks
    /// the writer in `write` for good, and must not keep a server that is
    /// stopping from exiting: the writer is then left behind, and the
    /// process's exit ends it.
    pub fn join_within(self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        while !self.0.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let _ = self.0.join();
        true
    }
}

/// Starts the writer thread of `binary`'s journal, writing to `out` and
/// `err` (stdout and stderr, or buffers in tests).
pub fn start<T, O, E>(
    binary: &'static str,
    limits: Limits,
    out: O,
    err: E,
) -> io::Result<(Journal<T>, JournalThread)>
where
    T: Entry,
    O: Write + Send + 'static,
    E: Write + Send + 'static,
{
    let (tx, rx) = crossbeam_channel::bounded(limits.entries.max(1));
    let shared = Arc::new(Shared {
        queued_bytes: AtomicUsize::new(0),
        max_bytes: limits.bytes,
        dropped: AtomicU64::new(0),
    });
    let writer = Writer {
        binary,
        out: io::BufWriter::with_capacity(64 << 10, out),
        out_ok: true,
        err: io::BufWriter::new(err),
        text: Vec::new(),
        shared: Arc::clone(&shared),
    };
    let handle = thread::Builder::new()
        .name("journal".into())
        .stack_size(128 << 10)
        .spawn(move || writer.run(&rx))?;
    Ok((Journal { tx, shared }, JournalThread(handle)))
}

/// A diagnostic line, `<binary>: <text>` on stderr: the whole journal of a
/// server whose stdout is not a lab's output ([`diagnostics`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic(pub String);

impl Entry for Diagnostic {
    fn stream(&self) -> Stream {
        Stream::Err
    }

    fn format(&self, binary: &str, text: &mut Vec<u8>) {
        let _ = writeln!(text, "{binary}: {}", self.0);
    }

    fn queued_bytes(&self) -> usize {
        self.0.len()
    }
}

/// Starts a journal of [`Diagnostic`]s on stderr: a server's threads (its
/// hub above all) never wait on a stderr that nobody reads.
pub fn diagnostics(binary: &'static str) -> io::Result<(Journal<Diagnostic>, JournalThread)> {
    let limits = Limits {
        entries: 4096,
        bytes: 1 << 20,
    };
    start(binary, limits, io::sink(), io::stderr())
}

impl<T: Entry> Journal<T> {
    /// Queues `entry` without ever blocking; drops and counts it if the
    /// writer is too far behind.
    pub fn log(&self, entry: T) {
        let bytes = entry.queued_bytes();
        let shared = &self.shared;
        if bytes > 0 {
            let before = shared.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
            if before + bytes > shared.max_bytes {
                shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        match self.tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer is gone (it only stops once every sender is).
            Err(TrySendError::Disconnected(_)) => {
                shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            }
        }
    }
}

struct Writer<O: Write, E: Write> {
    binary: &'static str,
    out: io::BufWriter<O>,
    /// False once stdout failed (closed pipe): said once, then left alone.
    out_ok: bool,
    err: io::BufWriter<E>,
    text: Vec<u8>,
    shared: Arc<Shared>,
}

impl<O: Write, E: Write> Writer<O, E> {
    fn run<T: Entry>(mut self, rx: &Receiver<T>) {
        while let Ok(first) = rx.recv() {
            self.write(&first);
            loop {
                while let Ok(entry) = rx.try_recv() {
                    self.write(&entry);
                }
                self.end_batch();
                thread::sleep(BUSY_PAUSE);
                if rx.is_empty() {
                    break;
                }
            }
        }
        self.end_batch();
    }

    fn write<T: Entry>(&mut self, entry: &T) {
        self.shared
            .queued_bytes
            .fetch_sub(entry.queued_bytes(), Ordering::Relaxed);
        let stream = entry.stream();
        if stream == Stream::Out && !self.out_ok {
            return;
        }
        self.text.clear();
        entry.format(self.binary, &mut self.text);
        match stream {
            Stream::Out => {
                let result = self.out.write_all(&self.text);
                self.check_out(result);
            }
            Stream::Err => {
                let _ = self.err.write_all(&self.text);
            }
        }
    }

    /// Reports losses and flushes both streams.
    fn end_batch(&mut self) {
        let lost = self.shared.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(
                self.err,
                "{}: journal en retard, {lost} entrée(s) perdue(s)",
                self.binary
            );
        }
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
                "{}: journal sur la sortie standard arrêté : {}",
                self.binary,
                crate::cli::io_fr::io_error(&e)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A shared in-memory writer (server_kit cannot use e2e's: e2e
    /// depends on server_kit).
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    enum Test {
        Line(Vec<u8>),
        Problem(&'static str),
    }

    impl Entry for Test {
        fn stream(&self) -> Stream {
            match self {
                Test::Line(_) => Stream::Out,
                Test::Problem(_) => Stream::Err,
            }
        }
        fn format(&self, binary: &str, text: &mut Vec<u8>) {
            match self {
                Test::Line(bytes) => {
                    text.extend_from_slice(bytes);
                    text.push(b'\n');
                }
                Test::Problem(why) => {
                    text.extend_from_slice(format!("{binary}: {why}\n").as_bytes());
                }
            }
        }
        fn queued_bytes(&self) -> usize {
            match self {
                Test::Line(bytes) => bytes.len(),
                Test::Problem(_) => 0,
            }
        }
    }

    const ROOMY: Limits = Limits {
        entries: 1024,
        bytes: 1 << 20,
    };

    #[test]
    fn diagnostics_are_prefixed_lines_on_stderr() {
        let (out, err) = (Buffer::default(), Buffer::default());
        let (journal, writer) = start("serveur", ROOMY, out.clone(), err.clone()).unwrap();
        journal.log(Diagnostic("client 3 déconnecté".into()));
        drop(journal);
        writer.join();
        assert_eq!(out.text(), "");
        assert_eq!(err.text(), "serveur: client 3 déconnecté\n");
    }

    #[test]
    fn entries_go_to_their_stream_in_order() {
        let (out, err) = (Buffer::default(), Buffer::default());
        let (journal, writer) = start("t", ROOMY, out.clone(), err.clone()).unwrap();
        let other = journal.clone();
        journal.log(Test::Line(b"un".to_vec()));
        other.log(Test::Problem("souci"));
        journal.log(Test::Line(b"deux".to_vec()));
        drop((journal, other));
        writer.join();
        assert_eq!(out.text(), "un\ndeux\n");
        assert_eq!(err.text(), "t: souci\n");
    }

    /// A stdout nobody reads: every write blocks until the test lets go;
    /// then it keeps what it is given.
    struct Stuck(Arc<Mutex<()>>, Buffer);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            drop(self.0.lock().unwrap());
            self.1.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            drop(self.0.lock().unwrap());
            Ok(())
        }
    }

    /// Logs `entries` lines of `size` bytes to a stuck stdout, then lets it
    /// go: (lines written, entries reported lost).
    fn through_a_stuck_stdout(limits: Limits, entries: usize, size: usize) -> (usize, usize) {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let (out, err) = (Buffer::default(), Buffer::default());
        let stuck = Stuck(Arc::clone(&gate), out.clone());
        let (journal, writer) = start("t", limits, stuck, err.clone()).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..entries {
            journal.log(Test::Line(vec![b'x'; size]));
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(held);
        drop(journal);
        writer.join();
        let lost = err
            .text()
            .lines()
            .map(|l| {
                let count = l.strip_prefix("t: journal en retard, ").expect(l);
                count.split(' ').next().unwrap().parse::<usize>().unwrap()
            })
            .sum();
        (out.text().lines().count(), lost)
    }

    #[test]
    fn a_stuck_stdout_never_blocks_the_caller_and_losses_are_counted() {
        let limits = Limits {
            entries: 100,
            bytes: usize::MAX,
        };
        let (written, lost) = through_a_stuck_stdout(limits, 10_000, 10);
        assert!(lost > 0);
        assert_eq!(written + lost, 10_000);
    }

    #[test]
    fn the_byte_budget_bounds_queued_data() {
        let limits = Limits {
            entries: 1_000_000,
            bytes: 1 << 20,
        };
        // 100 MB offered, 1 MiB allowed in the queue.
        let (written, lost) = through_a_stuck_stdout(limits, 1_000, 100_000);
        assert!(lost > 0);
        assert!(written <= 1 + (1 << 20) / 100_000, "{written} written");
        assert_eq!(written + lost, 1_000);
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
        let err = Buffer::default();
        let (journal, writer) = start("t", ROOMY, Closed, err.clone()).unwrap();
        for _ in 0..10 {
            journal.log(Test::Line(vec![0u8; 70_000]));
        }
        journal.log(Test::Problem("encore là"));
        drop(journal);
        writer.join();
        let text = err.text();
        assert_eq!(text.matches("arrêté").count(), 1, "{text}");
        assert!(text.contains("t: encore là\n"), "{text}");
    }

    #[test]
    fn joining_gives_up_on_a_writer_stuck_for_good() {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let stuck = Stuck(Arc::clone(&gate), Buffer::default());
        let (journal, writer) = start("t", ROOMY, stuck, Buffer::default()).unwrap();
        journal.log(Test::Line(b"jamais lu".to_vec()));
        drop(journal);
        let started = Instant::now();
        assert!(!writer.join_within(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(2));
        // Let the writer go, so that the test leaves no thread behind.
        drop(held);
    }
}
