//! A capped thread-per-connection accept loop, and the registry that lets
//! Ctrl-C close every open connection.
//!
//! Why a registry: a connection thread blocked in `read` on a silent client
//! cannot see the shutdown token. The registry keeps a handle on each open
//! socket; on shutdown it shuts them all down, every such `read` returns, and
//! the loop can join its threads and exit 0.
//!
//! Why a cap: one thread per client is the simplest design the sheet asks
//! for (5.2), but without a bound a flood of connections exhausts threads
//! and memory. Beyond the cap a client is handed to `refuse` (one clear line,
//! then close) instead of waiting in the backlog.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown as Direction, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::Shutdown;

/// How the loop serves its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most connections served at once (at least 1).
    pub max_clients: usize,
    /// The sheet's first version: one client at a time, in the accept
    /// thread (the next ones wait in the kernel's backlog).
    pub one_at_a_time: bool,
}

/// The open connections of a server.
#[derive(Debug, Default)]
pub struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
}

/// A registered connection; dropping it removes it from the registry.
#[derive(Debug)]
pub struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.open().remove(&self.id);
    }
}

impl Registry {
    /// An empty registry whose connections are all shut down when
    /// `shutdown` is triggered.
    pub fn closed_on(shutdown: &Shutdown) -> Arc<Registry> {
        let registry = Arc::new(Registry::default());
        let on_stop = Arc::clone(&registry);
        shutdown.on_trigger(move || on_stop.close_all());
        registry
    }

    fn open(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `stream` unless `max` connections are already open.
    pub fn register(
        self: &Arc<Self>,
        stream: &TcpStream,
        max: usize,
    ) -> io::Result<Option<Registered>> {
        let handle = stream.try_clone()?;
        let mut open = self.open();
        if open.len() >= max.max(1) {
            return Ok(None);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id, handle);
        Ok(Some(Registered {
            registry: Arc::clone(self),
            id,
        }))
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.open().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shuts every open connection down (their threads' reads and writes
    /// return at once).
    pub fn close_all(&self) {
        for stream in self.open().values() {
            let _ = stream.shutdown(Direction::Both);
        }
    }
}

/// Accepts until `shutdown`, serving each connection with `handler` on its
/// own thread (or inline with [`Limits::one_at_a_time`]). Over the cap, the
/// connection goes to `refuse`, on the accept thread: it must not block
/// ([`crate::refusal::Refusals`] does not). Returns once every connection thread ended.
pub fn serve<H, F>(
    listener: &TcpListener,
    shutdown: &Shutdown,
    limits: Limits,
    refuse: F,
    handler: H,
) -> io::Result<()>
where
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    F: Fn(TcpStream, SocketAddr),
{
    shutdown.wake_tcp_listener(listener)?;
    let registry = Registry::closed_on(shutdown);
    let handler = Arc::new(handler);
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(_) if shutdown.is_triggered() => break,
            Err(e) => {
                // A client that gave up in the backlog (ECONNABORTED) or a
                // descriptor shortage (EMFILE) is no reason to stop serving.
                eprintln!("accept : {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let guard = match registry.register(&stream, limits.max_clients) {
            Ok(Some(guard)) => guard,
            Ok(None) => {
                refuse(stream, peer);
                continue;
            }
            // No descriptor left to keep a handle: drop this client only.
            Err(e) => {
                eprintln!("{peer} : {e}");
                continue;
            }
        };
        // Registered after close_all ran: close it ourselves.
        if shutdown.is_triggered() {
            let _ = stream.shutdown(Direction::Both);
        }
        if limits.one_at_a_time {
            handler(stream, peer);
            drop(guard);
            continue;
        }
        threads.retain(|t| !t.is_finished());
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .spawn(move || {
                let _guard = guard;
                handler(stream, peer);
            });
        match spawned {
            Ok(t) => threads.push(t),
            // Out of threads: that client is dropped (its guard with it).
            Err(e) => eprintln!("impossible de créer un thread pour {peer} : {e}"),
        }
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn echo(mut stream: TcpStream, _: SocketAddr) {
        let mut buf = [0u8; 64];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 || stream.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    }

    fn start(limits: Limits) -> (SocketAddr, Shutdown, JoinHandle<io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let token = shutdown.clone();
        let server = thread::spawn(move || {
            serve(
                &listener,
                &token,
                limits,
                |mut s, _| {
                    let _ = s.write_all(b"plein\n");
                },
                echo,
            )
        });
        (addr, shutdown, server)
    }

    fn round_trip(stream: &mut TcpStream, text: &[u8]) -> Vec<u8> {
        stream.write_all(text).unwrap();
        let mut got = vec![0u8; text.len()];
        stream.read_exact(&mut got).unwrap();
        got
    }

    #[test]
    fn over_the_cap_a_client_is_refused_and_shutdown_closes_the_others() {
        let limits = Limits {
            max_clients: 2,
            one_at_a_time: false,
        };
        let (addr, shutdown, server) = start(limits);
        let mut a = TcpStream::connect(addr).unwrap();
        let mut b = TcpStream::connect(addr).unwrap();
        assert_eq!(round_trip(&mut a, b"a"), b"a");
        assert_eq!(round_trip(&mut b, b"b"), b"b");
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut refused = String::new();
        c.read_to_string(&mut refused).unwrap();
        assert_eq!(refused, "plein\n");
        // a and b sit idle in `read`: the shutdown must still end them.
        shutdown.trigger();
        server.join().unwrap().unwrap();
        a.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(a.read(&mut [0u8; 4]).unwrap(), 0);
    }

    #[test]
    fn one_at_a_time_serves_the_next_client_after_the_first_leaves() {
        let limits = Limits {
            max_clients: 8,
            one_at_a_time: true,
        };
        let (addr, shutdown, server) = start(limits);
        let mut first = TcpStream::connect(addr).unwrap();
        assert_eq!(round_trip(&mut first, b"1"), b"1");
        let mut second = TcpStream::connect(addr).unwrap();
        second.write_all(b"2").unwrap();
        second
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        // Not served while the first is connected...
        assert!(second.read(&mut [0u8; 1]).is_err());
        drop(first);
        // ...served once it left.
        second
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut got = [0u8; 1];
        second.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"2");
        shutdown.trigger();
        server.join().unwrap().unwrap();
    }
}
