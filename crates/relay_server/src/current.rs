//! The connections the server is serving right now, so that Ctrl-C can
//! close them.
//!
//! Why not one `Shutdown::on_trigger` waker per connection: a waker lives
//! until the signal, so each would keep a clone of its socket open (the peer
//! would never see the close) and the list would grow with every pair. This
//! slot is registered once; a pair puts its sockets in and takes them out.
//! (This server holds at most two connections at a time; server_kit's
//! connection registry is the general form for servers that hold many.)

use std::net::{Shutdown as Direction, TcpStream};
use std::sync::{Arc, Mutex};

use server_kit::Shutdown;

#[derive(Debug, Clone, Default)]
pub struct Current {
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Current {
    /// An empty slot whose connections are shut down when `shutdown` comes.
    pub fn new(shutdown: &Shutdown) -> Current {
        let current = Current::default();
        let slot = current.clone();
        shutdown.on_trigger(move || slot.shut_down_all());
        current
    }

    /// Holds clones of `streams` until [`Current::clear`]. Returns false
    /// (and holds nothing) if a clone could not be made: the caller then
    /// gives the connections up, since Ctrl-C could not reach them.
    pub fn set(&self, streams: &[&TcpStream]) -> bool {
        let clones: Result<Vec<_>, _> = streams.iter().map(|s| s.try_clone()).collect();
        match clones {
            Ok(clones) => {
                *self.lock() = clones;
                true
            }
            Err(_) => false,
        }
    }

    /// Shuts every held connection down (both directions): their threads'
    /// reads and writes return at once, and the peers see the end.
    pub fn shut_down_all(&self) {
        for stream in self.lock().iter() {
            let _ = stream.shutdown(Direction::Both);
        }
    }

    /// Forgets the held clones (closing them).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<TcpStream>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}
