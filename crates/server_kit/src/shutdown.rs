//! Cooperative shutdown for blocking servers.
//!
//! Blocking `std::net` calls cannot be cancelled, so a server registers a
//! *waker* that unblocks it (shutting its listening or UDP socket down) and
//! checks [`Shutdown::is_triggered`] each time it wakes. This keeps the hot
//! loops free of timeouts and polling.

use std::fmt;
use std::io;
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use socket2::SockRef;

type Waker = Box<dyn FnOnce() + Send>;

/// A shutdown signal shared by a server's threads (clone it freely).
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
    // Lets a main thread sleep until the signal (`wait`).
    done: Mutex<bool>,
    done_cv: Condvar,
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers Ctrl-C (and SIGTERM) handling for this token. Only one
    /// handler may exist per process, so binaries call this once, in `main`.
    pub fn install_ctrlc(&self) -> Result<(), ctrlc::Error> {
        let token = self.clone();
        ctrlc::set_handler(move || token.trigger())
    }

    /// For a client blocked reading the keyboard (no thread to join, no
    /// socket worth a goodbye): Ctrl-C (or SIGTERM) ends the process at once
    /// with code 0, as the conventions ask, instead of death by the signal
    /// (status 130), since a read on a terminal cannot be interrupted
    /// portably. The kernel closes the sockets.
    pub fn exit_on_ctrlc() -> Result<(), ctrlc::Error> {
        // No flush here: the blocked thread may hold the stdout lock. What
        // the programs print before waiting is flushed already.
        ctrlc::set_handler(|| std::process::exit(0))
    }

    /// Asks every thread to stop and runs the registered wakers (once).
    pub fn trigger(&self) {
        if self.inner.triggered.swap(true, Ordering::SeqCst) {
            return;
        }
        let wakers = std::mem::take(&mut *lock(&self.inner.wakers));
        for wake in wakers {
            wake();
        }
        *lock(&self.inner.done) = true;
        self.inner.done_cv.notify_all();
    }

    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Blocks until the signal, or until `timeout` if given; returns whether
    /// the signal came.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut done = lock(&self.inner.done);
        match timeout {
            None => {
                while !*done {
                    done = self
                        .inner
                        .done_cv
                        .wait(done)
                        .unwrap_or_else(|e| e.into_inner());
                }
                true
            }
            Some(t) => {
                let (done, _) = self
                    .inner
                    .done_cv
                    .wait_timeout_while(done, t, |d| !*d)
                    .unwrap_or_else(|e| e.into_inner());
                *done
            }
        }
    }

    /// Runs `wake` when the signal comes (at once if it already came).
    pub fn on_trigger(&self, wake: impl FnOnce() + Send + 'static) {
        let mut wakers = lock(&self.inner.wakers);
        if self.is_triggered() {
            drop(wakers);
            wake();
        } else {
            wakers.push(Box::new(wake));
        }
    }

    /// On trigger, wakes every thread blocked in `accept` on `listener` by
    /// shutting the listening socket down.
    ///
    /// On Linux a shut-down listener wakes all its blocked `accept`s (they
    /// report EINVAL, as does every later `accept`). Unlike a wake-up
    /// connection to the server's own port, this needs no route to the
    /// bound address, wakes every thread at once, and works when the
    /// listener only hands over connections that have sent data
    /// (`TCP_DEFER_ACCEPT`).
    pub fn wake_tcp_listener(&self, listener: &TcpListener) -> io::Result<()> {
        let waker = listener.try_clone()?;
        self.on_trigger(move || {
            let _ = SockRef::from(&waker).shutdown(std::net::Shutdown::Both);
        });
        Ok(())
    }

    /// On trigger, wakes the thread blocked in `recv`/`recv_from` on
    /// `socket` by shutting down its reading side.
    ///
    /// On Linux this wakes a blocked receive on a UDP socket (the call itself
    /// reports ENOTCONN, which is ignored), and unlike a wake-up datagram it
    /// cannot be delivered to another socket sharing the port (SO_REUSEPORT)
    /// nor be mistaken for a client's message.
    pub fn wake_udp_socket(&self, socket: &UdpSocket) -> io::Result<()> {
        let waker = socket.try_clone()?;
        self.on_trigger(move || {
            let _ = SockRef::from(&waker).shutdown(std::net::Shutdown::Read);
        });
        Ok(())
    }
}

/// A poisoned lock only means another thread panicked while holding it; the
/// data (a flag, a list of closures) is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::thread;

    #[test]
    fn trigger_wakes_a_blocked_accept() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let shutdown = Shutdown::new();
        shutdown.wake_tcp_listener(&listener).unwrap();
        // Two threads blocked on one listener, as serveur_http's acceptors.
        let servers: Vec<_> = (0..2)
            .map(|_| {
                let (listener, token) = (listener.try_clone().unwrap(), shutdown.clone());
                thread::spawn(move || {
                    let woke = listener.accept().is_err();
                    woke && token.is_triggered()
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(50));
        shutdown.trigger();
        for server in servers {
            assert!(server.join().unwrap());
        }
    }

    #[test]
    fn trigger_wakes_a_blocked_recv() {
        let socket = UdpSocket::bind("[::1]:0").unwrap();
        let shutdown = Shutdown::new();
        shutdown.wake_udp_socket(&socket).unwrap();
        let token = shutdown.clone();
        let server = thread::spawn(move || {
            let mut buf = [0u8; 16];
            let _ = socket.recv_from(&mut buf);
            token.is_triggered()
        });
        thread::sleep(Duration::from_millis(50));
        shutdown.trigger();
        assert!(server.join().unwrap());
    }

    #[test]
    fn trigger_wakes_every_listener_sharing_a_port() {
        use crate::bind::{bind_udp, PortChoice, UdpOptions};
        let opts = UdpOptions {
            shared_port: true,
            ..UdpOptions::default()
        };
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let first = bind_udp(ip, PortChoice::Exact(0), &opts).unwrap();
        let port = first.local_addr().unwrap().port();
        let second = bind_udp(ip, PortChoice::Exact(port), &opts).unwrap();
        let shutdown = Shutdown::new();
        let servers: Vec<_> = [first, second]
            .into_iter()
            .map(|socket| {
                shutdown.wake_udp_socket(&socket).unwrap();
                let token = shutdown.clone();
                thread::spawn(move || {
                    let mut buf = [0u8; 16];
                    let _ = socket.recv_from(&mut buf);
                    token.is_triggered()
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(50));
        shutdown.trigger();
        for server in servers {
            assert!(server.join().unwrap());
        }
    }

    #[test]
    fn wait_returns_on_trigger_and_times_out_otherwise() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.wait(Some(Duration::from_millis(10))));
        let token = shutdown.clone();
        let waiter = thread::spawn(move || token.wait(None));
        shutdown.trigger();
        assert!(waiter.join().unwrap());
        // A waker registered late runs at once.
        let (tx, rx) = std::sync::mpsc::channel();
        shutdown.on_trigger(move || tx.send(()).unwrap());
        rx.recv_timeout(Duration::from_secs(1)).unwrap();
    }
}
