//! The harness every test file of `irc_chat` shares: a server on a free
//! loopback port, raw-socket peers of both protocols, a typed keyboard and
//! a shared screen for `irc_client`, a seeded random generator.

// Each test file uses its own part of this harness.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use irc_chat::client::{self, End};
use irc_chat::server::{Config, Server};
use irc_chat::texts::{CHOOSE_NICK, CONNECTED};
use irc_chat::{Flood, HubConfig};
use server_kit::{PortChoice, Shutdown};

/// How long a peer waits for an answer before the test fails (long: the
/// machine may be loaded, and a 100 MiB transfer runs beside the chat).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A server serving in its own thread; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// A server with this flood rule, everything else by default.
    pub fn start(flood: Flood) -> Running {
        Running::with(Config {
            hub: HubConfig {
                flood,
                ..HubConfig::default()
            },
            ..Config::default()
        })
    }

    /// A server with `config`, on a free port whatever `config.port` says.
    pub fn with(config: Config) -> Running {
        let config = Config {
            port: PortChoice::Exact(0),
            ..config
        };
        let server = Server::bind(config).unwrap();
        let addr = server.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let thread = Some(thread::spawn(move || server.serve(&s).unwrap()));
        Running {
            addr,
            shutdown,
            thread,
        }
    }

    /// Ctrl-C: how long the server took to end every thread.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        self.shutdown.trigger();
        self.thread.take().unwrap().join().unwrap();
        t.elapsed()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A client over a raw socket.
pub struct Peer {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl Peer {
    pub fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Peer { stream, reader }
    }

    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// Reads exactly `text`'s bytes and compares.
    pub fn expect(&mut self, text: &str) {
        let mut got = vec![0u8; text.len()];
        if let Err(e) = self.reader.read_exact(&mut got) {
            panic!(
                "attendu {text:?}, reçu {:?} puis {e}",
                String::from_utf8_lossy(&got)
            );
        }
        assert_eq!(String::from_utf8_lossy(&got), text);
    }

    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_line(&mut s).unwrap();
        s
    }

    /// A registered client of the project's protocol, as the report's
    /// client registers (`messagenick`).
    pub fn project(addr: SocketAddr, nick: &str) -> Peer {
        let mut p = Peer::connect(addr);
        p.send(&format!("message{nick}"));
        p.expect(&format!(
            "{CONNECTED}{CHOOSE_NICK}Bienvenue {nick} ! Tapez /HELP pour la liste des commandes\n"
        ));
        p
    }

    /// A registered IRC client (read up to the end of the welcome: 422).
    pub fn irc(addr: SocketAddr, nick: &str) -> Peer {
        let mut p = Peer::connect(addr);
        p.send(&format!("NICK {nick}\r"));
        p.send(&format!("USER {nick} 0 * :{nick}\r"));
        loop {
            if p.line().contains(" 422 ") {
                return p;
            }
        }
    }

    /// True once the server closed the connection (reads what is left).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }
}

/// What `irc_client` printed, shared with the test.
pub type Screen = Arc<Mutex<Vec<u8>>>;

/// An output shared with the test.
pub struct SharedBuf(pub Screen);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn text(screen: &Screen) -> String {
    String::from_utf8(screen.lock().unwrap().clone()).unwrap()
}

/// Waits (30 s at most) until `screen` shows `what`.
pub fn wait_for(screen: &Screen, what: &str) {
    let until = Instant::now() + READ_TIMEOUT;
    while !text(screen).contains(what) {
        assert!(
            Instant::now() < until,
            "{what:?} jamais affiché :\n{}",
            text(screen)
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// `irc_client` connected to `addr`, running in its own thread: the
/// keyboard the test types on, the screen it prints to, its end.
pub fn start_client(addr: SocketAddr) -> (PipeWriter, Screen, JoinHandle<End>) {
    let out = Screen::default();
    let stream = client::connect("127.0.0.1", addr.port()).unwrap();
    let (keys, input) = pipe();
    let sink = SharedBuf(Arc::clone(&out));
    let run = thread::spawn(move || client::run(stream, input, sink).unwrap());
    (keys, out, run)
}

/// A keyboard the test types on, line by line.
pub fn pipe() -> (PipeWriter, BufReader<PipeReader>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let reader = PipeReader {
        rx,
        buf: Cursor::new(Vec::new()),
    };
    (PipeWriter(tx), BufReader::new(reader))
}

pub struct PipeWriter(crossbeam_channel::Sender<Vec<u8>>);

impl PipeWriter {
    pub fn send(&self, s: &str) {
        self.0.send(s.as_bytes().to_vec()).unwrap();
    }
}

pub struct PipeReader {
    rx: crossbeam_channel::Receiver<Vec<u8>>,
    buf: Cursor<Vec<u8>>,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.buf.read(out)?;
            if n > 0 {
                return Ok(n);
            }
            match self.rx.recv() {
                Ok(v) => self.buf = Cursor::new(v),
                Err(_) => return Ok(0),
            }
        }
    }
}
