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
        data: Payload,
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
                None => writeln!(text, "{label} {}", shown(data.bytes())),
                Some(a) => writeln!(text, "{label} {} de {}", shown(data.bytes()), address(*a)),
            },
            Event::Line(line) => writeln!(text, "{line}"),
            Event::Diag(line) => writeln!(text, "{binary}: {line}"),
        };
    }

    fn queued_bytes(&self) -> usize {
        match self {
            Event::Received { data, .. } => data.heap_len(),
            Event::Diag(line) | Event::Line(line) => line.len(),
            _ => 0,
        }
    }
}

/// Longest message kept inside the entry itself.
pub const INLINE: usize = 46;

/// The bytes of a received message. A short one (the sheet's messages are
/// about 20 bytes) is kept inline, so a serving thread allocates nothing
/// per message: a buffer allocated there and freed on the journal thread
/// sent each `malloc` into the shared arena (its thread cache never got the
/// chunk back), a cost `perf` showed on every round trip.
#[derive(Debug)]
pub enum Payload {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Vec<u8>),
}

impl Payload {
    pub fn new(data: &[u8]) -> Payload {
        if data.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..data.len()].copy_from_slice(data);
            Payload::Inline {
                len: data.len() as u8,
                bytes,
            }
        } else {
            Payload::Heap(data.to_vec())
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Payload::Heap(data) => data,
        }
    }

    /// Bytes held outside the entry (inline ones are bounded by the count
    /// of entries, and skip the shared byte counter).
    fn heap_len(&self) -> usize {
        match self {
            Payload::Inline { .. } => 0,
            Payload::Heap(data) => data.len(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_keep_their_bytes_inline_or_not() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 1024] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let payload = Payload::new(&data);
            assert_eq!(payload.bytes(), &data[..]);
            assert_eq!(payload.heap_len(), if len > INLINE { len } else { 0 });
        }
    }
}
