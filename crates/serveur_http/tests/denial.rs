//! No single client can deny service to the others: each attack runs beside
//! normal clients, and the test asserts on the normal clients, in both
//! modes. These are the cheap cases; `scripts/attaque_http.sh` runs the
//! big ones (1,000 connections, wrk -c5000) against nginx too.
//!
//! The normal clients are the two: one that sends its whole
//! request, one that sends its request line, waits 100 ms, then the blank
//! line (a person typing, a slow link). The bound asserted (3 s) is wide,
//! for a busy machine: before the event loops, these attacks held a
//! normal client 9 s to 27 s, or answered it 503.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Far beyond a normal client's latency here, far below what the attacks
/// cost before (9 s and more).
const PATIENCE: Duration = Duration::from_secs(3);

const MODES: [&[&str]; 2] = [&[], &["--keep-alive"]];

/// A root with a small page and a big one (far beyond the socket buffers).
fn site() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for language in ["fr", "en"] {
        std::fs::create_dir_all(root.path().join(language)).unwrap();
        std::fs::write(root.path().join(language).join("index.html"), "bonjour").unwrap();
    }
    std::fs::write(root.path().join("page404.html"), "404").unwrap();
    std::fs::write(root.path().join("en/gros.txt"), vec![b'x'; 16 << 20]).unwrap();
    root
}

/// Starts the server on `root` in `mode`, with at most `max` connections
/// (so that the attack goes past the cap and shedding is exercised).
fn start(root: &tempfile::TempDir, mode: &[&str], max: usize) -> Server {
    let max = max.to_string();
    let mut args = vec!["--port", "0", "--silencieux", "--connexions-max", &max];
    args.extend_from_slice(mode);
    Server::start_raw(&args, Some(root.path()))
}

/// The two normal clients, a few times each: every one gets its page
/// within [`PATIENCE`].
fn normal_clients_are_served(addr: SocketAddr, what: &str) {
    for round in 0..3 {
        for paused in [false, true] {
            let start = Instant::now();
            let answer = normal_client(addr, paused);
            let elapsed = start.elapsed();
            let text = String::from_utf8_lossy(&answer);
            assert!(
                text.contains(" 200 OK\r\n") && text.ends_with("bonjour\n"),
                "{what}, round {round}, paused {paused}: {text:?} after {elapsed:?}"
            );
            assert!(
                elapsed < PATIENCE,
                "{what}, round {round}, paused {paused}: served after {elapsed:?}"
            );
        }
    }
}

fn normal_client(addr: SocketAddr, paused: bool) -> Vec<u8> {
    let mut stream = match TcpStream::connect(addr) {
        Ok(stream) => stream,
        Err(e) => return format!("connect: {e}").into_bytes(),
    };
    stream.set_read_timeout(Some(2 * PATIENCE)).unwrap();
    let line = b"GET /index.html HTTP/1.1\r\nHost: test\r\nConnection: close\r\n";
    if paused {
        let _ = stream.write_all(line);
        thread::sleep(Duration::from_millis(100));
        let _ = stream.write_all(b"\r\n");
    } else {
        let _ = stream.write_all(&[&line[..], b"\r\n"].concat());
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// Attackers' connections, and a thread that keeps them doing their thing
/// until dropped.
struct Attack {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Attack {
    /// `count` connections; each sends `first` (then, if `trickle`, one
    /// more byte a second, never the end of its head). Connections the
    /// server closes are opened again (as a real attacker does).
    fn start(addr: SocketAddr, count: usize, first: &'static [u8], trickle: bool) -> Attack {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let open = move || {
            let stream = TcpStream::connect(addr).ok()?;
            let mut s = &stream;
            s.write_all(first).ok()?;
            stream.set_nonblocking(true).ok()?;
            Some(stream)
        };
        let mut streams: Vec<Option<TcpStream>> = (0..count).map(|_| open()).collect();
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                for slot in &mut streams {
                    let alive = match slot {
                        Some(stream) if trickle => stream.write(b"a").is_ok(),
                        // Closed by the server? (read 0 or a reset)
                        Some(stream) => match stream.read(&mut [0u8; 4096]) {
                            Ok(0) => false,
                            Ok(_) => true,
                            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
                        },
                        None => false,
                    };
                    if !alive {
                        *slot = open();
                    }
                }
                thread::sleep(Duration::from_secs(1));
            }
        });
        Attack {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn slowloris_connections_do_not_keep_normal_clients_out() {
    let root = site();
    for mode in MODES {
        // More attackers than places: the oldest are shed.
        let server = start(&root, mode, 64);
        let _attack = Attack::start(server.addr, 100, b"GET / HTTP/1.1\r\nX-a: ", true);
        thread::sleep(Duration::from_millis(300));
        normal_clients_are_served(server.addr, &format!("slowloris {mode:?}"));
    }
}

#[test]
fn silent_connections_do_not_keep_normal_clients_out() {
    let root = site();
    for mode in MODES {
        let server = start(&root, mode, 64);
        // A connection with one byte is accepted at once even with
        // TCP_DEFER_ACCEPT; one with none after a second: both kinds.
        let _quiet = Attack::start(server.addr, 50, b"", false);
        let _one_byte = Attack::start(server.addr, 50, b"G", false);
        thread::sleep(Duration::from_millis(1500));
        normal_clients_are_served(server.addr, &format!("silent {mode:?}"));
    }
}

#[test]
fn clients_that_never_read_a_big_page_do_not_keep_normal_clients_out() {
    use nix::sys::socket::{setsockopt, sockopt};
    let root = site();
    for mode in MODES {
        let server = start(&root, mode, 512);
        let mut readers = Vec::new();
        for _ in 0..20 {
            let stream = connect(server.addr);
            setsockopt(&stream, sockopt::RcvBuf, &4096).unwrap();
            let mut s = &stream;
            s.write_all(b"GET /gros.txt HTTP/1.1\r\nHost: test\r\n\r\n")
                .unwrap();
            readers.push(stream);
        }
        // Pipelining non-readers too, in keep-alive.
        for _ in 0..20 {
            let stream = connect(server.addr);
            let mut s = &stream;
            let _ = s.write_all(&b"GET /gros.txt HTTP/1.1\r\nHost: test\r\n\r\n".repeat(50));
            readers.push(stream);
        }
        thread::sleep(Duration::from_millis(300));
        normal_clients_are_served(server.addr, &format!("non-readers {mode:?}"));
    }
}
