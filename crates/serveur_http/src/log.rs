//! Printing the requests without ever making an acceptor or a worker wait:
//! request heads (stdout) and problems (stderr) go to server_kit's journal
//! thread, which drops and counts them when it falls behind (a slow
//! terminal, a pipe nobody reads) instead of blocking anyone.

use std::io;

use server_kit::journal::{self, Limits, Stream};

pub use server_kit::journal::JournalThread as LoggerThread;

/// Heads waiting to be printed, at most.
pub const LOG_QUEUE: usize = 1024;
/// Bytes of heads waiting to be printed, at most (8 KiB each at worst).
pub const LOG_BYTES: usize = 8 << 20;

#[derive(Debug)]
enum Line {
    /// A request head as received, printed on stdout.
    Request(Vec<u8>),
    /// A problem with a client, printed on stderr.
    Problem(String),
}

impl journal::Entry for Line {
    fn stream(&self) -> Stream {
        match self {
            Line::Request(_) => Stream::Out,
            Line::Problem(_) => Stream::Err,
        }
    }

    fn format(&self, binary: &str, text: &mut Vec<u8>) {
        match self {
            Line::Request(head) => printable(head, text),
            Line::Problem(problem) => {
                text.extend_from_slice(binary.as_bytes());
                text.extend_from_slice(b": ");
                text.extend_from_slice(problem.as_bytes());
                text.push(b'\n');
            }
        }
    }

    fn queued_bytes(&self) -> usize {
        match self {
            Line::Request(head) => head.len(),
            Line::Problem(_) => 0,
        }
    }
}

/// The acceptors' and workers' side of the logger (cheap to clone).
#[derive(Debug, Clone)]
pub struct Logger {
    journal: journal::Journal<Line>,
    print_requests: bool,
}

/// Starts the logger thread. With `print_requests` false (`--silencieux`)
/// only problems are printed.
pub fn start(print_requests: bool) -> io::Result<(Logger, LoggerThread)> {
    let limits = Limits {
        entries: LOG_QUEUE,
        bytes: LOG_BYTES,
    };
    let (journal, thread) =
        journal::start(crate::SERVER_BINARY, limits, io::stdout(), io::stderr())?;
    Ok((
        Logger {
            journal,
            print_requests,
        },
        thread,
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
            self.journal.log(Line::Request(head.to_vec()));
        }
    }

    /// Queues a problem line for stderr.
    pub fn problem(&self, text: String) {
        self.journal.log(Line::Problem(text));
    }
}

/// The head as printed: control characters other than tab escaped as
/// `\xNN` (a client must not drive the server's terminal), then the blank
/// line that ends a request.
fn printable(head: &[u8], out: &mut Vec<u8>) {
    out.reserve(head.len() + 1);
    for &b in head {
        if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let mut out = Vec::new();
        printable(b"GET /\x1b[2J HTTP/1.0\nHost: a\tb\n", &mut out);
        assert_eq!(out, b"GET /\\x1b[2J HTTP/1.0\nHost: a\tb\n\n".to_vec());
    }
}
