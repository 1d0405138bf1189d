//! `serveur_chat`: the UDP chat server of lab 18.
//!
//! # Layout
//! - [`protocol`]: the chat as a pure state machine (datagram in, datagrams
//!   to send and log entries out), unit-tested without sockets.
//! - [`fanout`]: one payload to many addresses, one `sendmmsg` per batch.
//! - [`journal`]: the `recv_data : b'...'` log on stdout and the rejections
//!   on stderr, written by their own thread so the receive loop never waits
//!   for a terminal or a pipe.
//! - This file: binding (the labs' port rule, a large receive buffer), the
//!   receive loop, and shutdown.
//!
//! ```mermaid
//! flowchart LR
//!     N((UDP socket)) -- recv_from --> L[receive loop]
//!     L -- "(addr, bytes)" --> P[protocol::Chat]
//!     P -- deliveries --> L
//!     L -- sendmmsg, one call per 64 recipients --> N
//!     L -- try_send --> J[journal thread] --> O[stdout / stderr]
//! ```
//!
//! One thread receives, decides and sends: the state is a plain value, no
//! lock, and datagrams are handled in the order they arrived, as the sheet's
//! single-threaded Python server does.

pub mod fanout;
pub mod journal;
pub mod protocol;

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use server_kit::cli::BoxError;
use server_kit::{BindError, PortChoice, Shutdown, UdpOptions};

use fanout::Fanout;
use journal::Journal;
use protocol::Chat;

/// The binary's name, in the ready line and log lines.
pub const BINARY: &str = "serveur_chat";
/// The sheet's port.
pub const DEFAULT_PORT: u16 = 5005;
/// The receive buffer asked for: at 6,000 messages/s, 4 MiB absorbs more than
/// half a second of backlog while the server is scheduled out.
pub const DEFAULT_RECV_BUFFER: usize = 4 << 20;
/// The 18.1 answer.
pub const BIEN_RECU: &str = "Bien reçu !";

/// What the server does with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exercise 18: the chat protocol.
    Chat,
    /// Exercise 18.1: print the request and answer `Bien reçu !`.
    BienRecu,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    pub mode: Mode,
    /// SO_RCVBUF to ask for.
    pub recv_buffer: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: PortChoice::DefaultOrNext(DEFAULT_PORT),
            mode: Mode::Chat,
            recv_buffer: DEFAULT_RECV_BUFFER,
        }
    }
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    mode: Mode,
}

impl Server {
    /// Binds by the port rule and sizes the receive buffer.
    pub fn bind(config: &Config) -> Result<Server, BindError> {
        let options = UdpOptions {
            recv_buffer: Some(config.recv_buffer),
            ..UdpOptions::default()
        };
        let socket = server_kit::bind_udp(config.bind, config.port, &options)?;
        force_recv_buffer(&socket, config.recv_buffer);
        Ok(Server {
            socket,
            mode: config.mode,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Serves until `shutdown` is triggered, logging to `out` (the
    /// `recv_data` lines) and `err` (what was ignored, and why).
    pub fn serve<O, E>(self, shutdown: &Shutdown, out: O, err: E) -> io::Result<()>
    where
        O: Write + Send + 'static,
        E: Write + Send + 'static,
    {
        shutdown.wake_udp_socket(&self.socket)?;
        let journal = Journal::start(BINARY, out, err)?;
        let result = receive_loop(&self.socket, self.mode, shutdown, &journal);
        journal.finish();
        result
    }
}

/// Binds, prints the ready line, serves on stdout/stderr until `shutdown`.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let server = Server::bind(&config)?;
    server_kit::announce(BINARY, server.local_addr()?, None);
    server.serve(&shutdown, io::stdout(), io::stderr())?;
    Ok(())
}

fn receive_loop(
    socket: &UdpSocket,
    mode: Mode,
    shutdown: &Shutdown,
    journal: &Journal,
) -> io::Result<()> {
    let mut chat = Chat::new();
    let mut fanout = Fanout::default();
    // Larger than any UDP payload (65,507 over IPv4, 65,527 over IPv6).
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // A signal, or an ICMP error about an earlier send reported on
            // this socket: nothing is wrong with the socket itself.
            Err(_) if shutdown.is_triggered() => return Ok(()),
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(e),
        };
        if shutdown.is_triggered() {
            return Ok(());
        }
        let data = &buf[..len];
        // Logged before acting on it, as the sheet asks.
        journal.received(data);
        match mode {
            Mode::BienRecu => fanout.send(socket, BIEN_RECU.as_bytes(), &[from], |to, e| {
                journal.send_failed(to, e)
            }),
            Mode::Chat => {
                let reaction = chat.handle(from, data);
                if let Some(why) = reaction.rejected {
                    journal.rejected(from, why);
                }
                // One client's problem (unreachable, buffer full) is not
                // the others': it is logged and the others are served.
                for delivery in &reaction.deliveries {
                    fanout.send(socket, &delivery.payload, &delivery.to, |to, e| {
                        journal.send_failed(to, e)
                    });
                }
            }
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

/// As root (CAP_NET_ADMIN), SO_RCVBUFFORCE goes past `net.core.rmem_max`;
/// otherwise the size SO_RCVBUF got is what we keep, and we say so if it is
/// smaller than asked.
fn force_recv_buffer(socket: &UdpSocket, wanted: usize) {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    let _ = setsockopt(socket, sockopt::RcvBufForce, &wanted);
    // Linux reports twice the size set (it counts its bookkeeping).
    if let Ok(got) = getsockopt(socket, sockopt::RcvBuf) {
        if got / 2 < wanted {
            eprintln!(
                "{BINARY}: tampon de réception limité à {} Kio (net.core.rmem_max) au lieu de {} Kio",
                got / 2 / 1024,
                wanted / 1024
            );
        }
    }
}
