//! The server's log: `recv_data : b'...'` on stdout for every datagram, and
//! on stderr what was ignored and why, written by server_kit's journal
//! thread so that a slow or stuck stdout never blocks the receive loop (a
//! paused terminal, `serveur_chat | less`).
//!
//! The receive loop only copies the datagram, into a buffer the writer
//! thread hands back once the line is written ([`RECYCLED_BUFFERS`] of
//! them, up to [`RECYCLED_CAPACITY`] bytes each), so that logging allocates
//! nothing once warm; its Python `repr` is computed on the writer thread. Beyond [`MAX_QUEUED_ENTRIES`] entries or
//! [`MAX_QUEUED_BYTES`] bytes of datagrams waiting, entries are dropped and
//! the count is logged on stderr: memory stays bounded and the chat keeps
//! running even if nobody reads the log.
//!
//! Alternative considered: a `BufWriter` written by the receive loop itself
//! and flushed when the socket has nothing to read. It is as cheap (both are
//! small next to the sends, see `scripts/bench_chat.sh`), but it blocks the
//! whole chat as soon as the terminal or pipe behind stdout stops reading.

use std::io::{self, Write};
use std::net::SocketAddr;

use crossbeam_channel::{Receiver, Sender};

use protocols::pyrepr::write_bytes_repr_vec;
use server_kit::journal::{self, JournalThread, Limits, Stream};

use crate::protocol::{Departure, Rejection};

/// Entries waiting for the writer before new ones are dropped.
pub const MAX_QUEUED_ENTRIES: usize = 16_384;
/// Datagram buffer bytes (their capacity) waiting for the writer before new
/// entries are dropped.
pub const MAX_QUEUED_BYTES: usize = 32 << 20;

/// Datagram buffers kept for reuse, at most: enough for the entries in
/// flight while the writer keeps up (the loop reads at most 8 batches of 32
/// ahead).
pub const RECYCLED_BUFFERS: usize = 1024;
/// A buffer grown past this (a large datagram) is not kept: the kept ones
/// hold at most 1,024 × 2 KiB.
pub const RECYCLED_CAPACITY: usize = 2048;

/// A datagram's bytes on their way to the writer; dropped there once
/// written (or here if the queue is full), the buffer goes back to the pool.
#[derive(Debug)]
struct Recycled {
    bytes: Vec<u8>,
    pool: Sender<Vec<u8>>,
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        if bytes.capacity() <= RECYCLED_CAPACITY {
            // A full pool: this one is freed.
            let _ = self.pool.try_send(bytes);
        }
    }
}

#[derive(Debug)]
enum Entry {
    /// A datagram as received: `recv_data : b'...'` on stdout.
    Received(Recycled),
    /// A datagram that changed nothing, on stderr.
    Rejected(SocketAddr, Rejection),
    /// A send that failed, on stderr.
    SendFailed(SocketAddr, io::Error),
    /// A member removed without `__quit__`, on stderr.
    Departed(SocketAddr, String, Departure),
    /// The kernel filter could not be attached: no set-aside from now on.
    SetAsideFailed(io::Error),
}

impl journal::Entry for Entry {
    fn stream(&self) -> Stream {
        match self {
            Entry::Received(_) => Stream::Out,
            Entry::Rejected(..)
            | Entry::SendFailed(..)
            | Entry::Departed(..)
            | Entry::SetAsideFailed(_) => Stream::Err,
        }
    }

    fn format(&self, binary: &str, text: &mut Vec<u8>) {
        match self {
            Entry::Received(datagram) => {
                text.extend_from_slice(b"recv_data : ");
                write_bytes_repr_vec(text, &datagram.bytes);
                text.push(b'\n');
            }
            Entry::Rejected(from, why) => {
                let _ = writeln!(text, "{binary}: datagramme de {from} ignoré : {why}");
            }
            Entry::SendFailed(to, e) => {
                let e = server_kit::cli::io_fr::io_error(e);
                let _ = writeln!(text, "{binary}: envoi vers {to} impossible : {e}");
            }
            Entry::Departed(addr, name, why) => {
                let why = match why {
                    Departure::Unreachable => "son port est fermé (ICMP port inaccessible)",
                    Departure::Inactive => "silencieux depuis trop longtemps (--inactivite)",
                };
                let _ = writeln!(text, "{binary}: {name} ({addr}) retiré du tchat : {why}");
            }
            Entry::SetAsideFailed(e) => {
                let e = server_kit::cli::io_fr::io_error(e);
                let _ = writeln!(
                    text,
                    "{binary}: filtre noyau impossible ({e}) : les membres trop bavards ne sont plus écartés que par leur seau"
                );
            }
        }
    }

    fn queued_bytes(&self) -> usize {
        match self {
            // The capacity, not the length: a reused buffer may hold up to
            // RECYCLED_CAPACITY bytes for a short datagram, and the budget
            // bounds memory.
            Entry::Received(datagram) => datagram.bytes.capacity(),
            _ => 0,
        }
    }
}

/// The receive loop's handle on the log. Dropping it (or [`Journal::finish`])
/// writes out what is queued and joins the writer thread, also when the
/// receive loop unwinds.
#[derive(Debug)]
pub struct Journal {
    entries: Option<journal::Journal<Entry>>,
    writer: Option<JournalThread>,
    /// Datagram buffers back from the writer (see [`Recycled`]).
    recycled: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
}

impl Journal {
    /// Starts the writer thread. `binary` prefixes the stderr lines.
    pub fn start<O, E>(binary: &'static str, out: O, err: E) -> io::Result<Journal>
    where
        O: Write + Send + 'static,
        E: Write + Send + 'static,
    {
        let limits = Limits {
            entries: MAX_QUEUED_ENTRIES,
            bytes: MAX_QUEUED_BYTES,
        };
        let (entries, writer) = journal::start(binary, limits, out, err)?;
        Ok(Journal {
            entries: Some(entries),
            writer: Some(writer),
            recycled: crossbeam_channel::bounded(RECYCLED_BUFFERS),
        })
    }

    /// Logs a received datagram (`recv_data : ` + its Python repr).
    pub fn received(&self, datagram: &[u8]) {
        let (pool, back) = &self.recycled;
        let mut bytes = back.try_recv().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(datagram);
        self.log(Entry::Received(Recycled {
            bytes,
            pool: pool.clone(),
        }));
    }

    /// Logs why a datagram from `from` was ignored.
    pub fn rejected(&self, from: SocketAddr, why: Rejection) {
        self.log(Entry::Rejected(from, why));
    }

    /// Logs a failed send.
    pub fn send_failed(&self, to: SocketAddr, error: io::Error) {
        self.log(Entry::SendFailed(to, error));
    }

    /// Logs a member removed without `__quit__`.
    pub fn departed(&self, addr: SocketAddr, name: String, why: Departure) {
        self.log(Entry::Departed(addr, name, why));
    }

    /// Logs that the kernel set-aside failed (and is given up).
    pub fn set_aside_failed(&self, error: io::Error) {
        self.log(Entry::SetAsideFailed(error));
    }

    fn log(&self, entry: Entry) {
        if let Some(entries) = &self.entries {
            entries.log(entry);
        }
    }

    /// Writes out what is queued and stops the writer thread.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // The writer stops once the last sender is gone.
        self.entries.take();
        if let Some(writer) = self.writer.take() {
            // Not forever: a stdout nobody reads must not keep the server
            // from exiting.
            writer.join_within(server_kit::journal::JOIN_PATIENCE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use e2e::SharedBuffer as Shared;

    #[test]
    fn writes_repr_lines_and_rejections() {
        let (out, err) = (Shared::default(), Shared::default());
        let journal = Journal::start("t", out.clone(), err.clone()).unwrap();
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

    /// Written lines hand their buffer back, and the next datagram is
    /// copied into it (a longer one too, a shorter one is not padded by
    /// the previous bytes); a buffer grown too large is not kept.
    #[test]
    fn datagram_buffers_are_reused_once_written() {
        let out = Shared::default();
        let journal = Journal::start("t", out.clone(), io::sink()).unwrap();
        let waiting = |n: usize| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while journal.recycled.1.len() != n && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            journal.recycled.1.len()
        };
        journal.received(b"un");
        journal.received(b"deux");
        assert_eq!(waiting(2), 2);
        journal.received(b"trois, plus long");
        journal.received(b"4");
        // Reused, the pool is back to the same two buffers once written;
        // copied into new ones, it would end with four.
        let pool = journal.recycled.1.clone();
        journal.finish();
        assert_eq!(pool.len(), 2, "the datagrams did not reuse the buffers");
        assert_eq!(
            out.text(),
            "recv_data : b'un'\nrecv_data : b'deux'\n\
             recv_data : b'trois, plus long'\nrecv_data : b'4'\n"
        );
        // A buffer grown past RECYCLED_CAPACITY is freed, not kept.
        let (pool, back) = crossbeam_channel::bounded(RECYCLED_BUFFERS);
        for len in [RECYCLED_CAPACITY + 1, RECYCLED_CAPACITY] {
            drop(Recycled {
                bytes: vec![b'x'; len],
                pool: pool.clone(),
            });
        }
        assert_eq!(back.try_recv().map(|b| b.capacity()), Ok(RECYCLED_CAPACITY));
        assert!(back.try_recv().is_err());
    }
}
