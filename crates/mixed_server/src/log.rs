//! The servers' output, written by a journal thread
//! ([`server_kit::journal`]): serving threads never wait on stdout, and the
//! Python-style formatting is done off their path.

use std::io::{self, Write};
use std::net::SocketAddr;

use server_kit::journal::{self, Entry, JournalThread, Limits, Stream};

use crate::text::{address, shown};

/// One line of a server's output.
#[derive(Debug)]
pub enum Event {
    /// A fixed line (`Serveur en attente de connexions...`).
    Text(&'static str),
    /// `<label> ('127.0.0.1', 54321)`.
    Peer(&'static str, SocketAddr),
    /// `<label> <text>`, followed by ` de <address>` for UDP.
    Received {
        label: &'static str,
        data: Vec<u8>,
        from: Option<SocketAddr>,
    },
    /// A line built by the caller (the JSON protocol's journal).
    Line(String),
    /// A diagnostic for stderr.
    Diag(String),
}

impl Entry for Event {
    fn stream(&self) -> Stream {
        match self {
            Event::Diag(_) => Stream::Err,
            _ => Stream::Out,
        }
    }

    fn format(&self, binary: &str, text: &mut Vec<u8>) {
        let _ = match self {
            Event::Text(line) => writeln!(text, "{line}"),
            Event::Peer(label, addr) => writeln!(text, "{label} {}", address(*addr)),
            Event::Received { label, data, from } => match from {
                None => writeln!(text, "{label} {}", shown(data)),
                Some(a) => writeln!(text, "{label} {} de {}", shown(data), address(*a)),
            },
            Event::Line(line) => writeln!(text, "{line}"),
            Event::Diag(line) => writeln!(text, "{binary}: {line}"),
        };
    }

    fn queued_bytes(&self) -> usize {
        match self {
            Event::Received { data, .. } => data.len(),
            Event::Diag(line) | Event::Line(line) => line.len(),
            _ => 0,
        }
    }
}

/// The serving threads' handle on the output.
pub type Log = journal::Journal<Event>;

/// Starts the journal of `binary` on stdout and stderr.
pub fn start(binary: &'static str) -> io::Result<(Log, JournalThread)> {
    let limits = Limits {
        entries: 64 * 1024,
        bytes: 16 << 20,
    };
    journal::start(binary, limits, io::stdout(), io::stderr())
}
