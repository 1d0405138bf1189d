//! Printing the requests without ever making a worker wait.
//!
//! Workers hand a copy of each request head to one logger thread through a
//! bounded channel and never block on it: when the channel is full (stdout
//! is a slow terminal, or a pipe nobody reads), the head is dropped and
//! counted, and the count is reported on stderr. The logger writes through a
//! buffered stdout and flushes whenever it has nothing left to print.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// Heads waiting to be printed, at most (8 KiB each at worst: 8 MiB).
pub const LOG_QUEUE: usize = 1024;

#[derive(Debug)]
enum Line {
    /// A request head, printed on stdout.
    Request(Vec<u8>),
    /// A problem with a client, printed on stderr.
    Problem(String),
}

/// The workers' side of the logger (cheap to clone).
#[derive(Debug, Clone)]
pub struct Logger {
    tx: Sender<Line>,
    print_requests: bool,
    dropped: Arc<AtomicU64>,
}

/// The logger thread; join it after every [`Logger`] is dropped.
#[derive(Debug)]
pub struct LoggerThread(JoinHandle<()>);

impl LoggerThread {
    pub fn join(self) {
        let _ = self.0.join();
    }
}

/// Starts the logger thread. With `print_requests` false (`--silencieux`)
/// only problems are printed.
pub fn start(print_requests: bool) -> io::Result<(Logger, LoggerThread)> {
    let (tx, rx) = crossbeam_channel::bounded(LOG_QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    let handle = thread::Builder::new()
        .name("journal".into())
        .stack_size(64 * 1024)
        .spawn(move || print_loop(&rx, &counter))?;
    Ok((
        Logger {
            tx,
            print_requests,
            dropped,
        },
        LoggerThread(handle),
    ))
}

impl Logger {
    /// Whether request heads are printed at all (so callers can skip the copy).
    pub fn prints_requests(&self) -> bool {
        self.print_requests
    }

    /// Queues a request head (each line followed by `\n`, no blank line).
    pub fn request(&self, head: &[u8]) {
        if self.print_requests {
            self.send(Line::Request(printable(head)));
        }
    }

    /// Queues a problem line for stderr.
    pub fn problem(&self, text: String) {
        self.send(Line::Problem(text));
    }

    fn send(&self, line: Line) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The head as printed: control characters other than tab escaped as
/// `\xNN` (a client must not drive the server's terminal), then the blank
/// line that ends a request.
fn printable(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 2);
    for &b in head {
        if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out.push(b'\n');
    out
}

fn print_loop(rx: &Receiver<Line>, dropped: &AtomicU64) {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut stdout_ok = true;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(line) = next {
            match line {
                Line::Request(bytes) if stdout_ok => {
                    if let Err(e) = out.write_all(&bytes) {
                        stdout_ok = false;
                        report_stdout_error(&e);
                    }
                }
                Line::Request(_) => {}
                Line::Problem(text) => eprintln!("serveur_http: {text}"),
            }
            next = rx.try_recv().ok();
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            eprintln!(
                "serveur_http: {lost} ligne(s) de journal non affichée(s) (sortie trop lente)"
            );
        }
        if stdout_ok {
            if let Err(e) = out.flush() {
                stdout_ok = false;
                report_stdout_error(&e);
            }
        }
    }
}

/// A closed stdout stops the printing, not the server.
fn report_stdout_error(e: &io::Error) {
    eprintln!(
        "serveur_http: sortie standard inutilisable ({e}) : les requêtes ne sont plus affichées"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            printable(b"GET /\x1b[2J HTTP/1.0\nHost: a\tb\n"),
            b"GET /\\x1b[2J HTTP/1.0\nHost: a\tb\n\n".to_vec()
        );
    }
}
