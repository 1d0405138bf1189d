//! Printing the requests without ever making an acceptor or an event loop wait:
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

/// The acceptors' and event loops' side of the logger (cheap to clone).
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

/// The head as printed: control characters escaped (a client must not
/// drive the server's terminal): C0 ones other than tab and DEL as `\xNN`,
/// C1 ones (U+0080-U+009F, which some terminals obey: U+009B is CSI) as
/// `\u{NN}`, and bytes 0x80-0x9F outside UTF-8 (which an 8-bit terminal
/// obeys) as `\xNN`; then the blank line that ends a request. Other bytes
/// pass as they are (a Latin-1 `café` stays Latin-1).
fn printable(head: &[u8], out: &mut Vec<u8>) {
    use std::io::Write as _;
    out.reserve(head.len() + 1);
    for chunk in head.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\t' => out.push(c as u8),
                '\0'..='\x1f' | '\x7f' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                '\u{80}'..='\u{9f}' => {
                    let _ = write!(out, "\\u{{{:02x}}}", c as u32);
                }
                _ => {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            if (0x80..=0x9f).contains(&b) {
                let _ = write!(out, "\\x{b:02x}");
            } else {
                out.push(b);
            }
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

    #[test]
    fn c1_control_characters_are_escaped_too() {
        let mut out = Vec::new();
        // U+009B (CSI) in UTF-8, a raw 0x9b byte, Latin-1 é, UTF-8 é.
        printable("X: \u{9b}2J".as_bytes(), &mut out);
        printable(b"Y: \x9b2J caf\xe9 caf\xc3\xa9", &mut out);
        assert_eq!(
            out,
            b"X: \\u{9b}2J\nY: \\x9b2J caf\xe9 caf\xc3\xa9\n".to_vec()
        );
    }
}
