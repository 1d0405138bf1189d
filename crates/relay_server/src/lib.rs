//! RES 302 TP 2, "Réseau en Python": one client and one server, then a
//! server that relays a first client's messages to a second. The sheet's
//! flow, as this crate runs it:
//!
//! | sheet | server (`relay_server`) | client (`relay_client`) |
//! | --- | --- | --- |
//! | 1.1 TCP | `un-client`: [`un_client::serve_tcp`] prints each line | `envoyer` ([`client::envoyer`]) |
//! | 1.2 UDP | `un-client --udp`: [`un_client::serve_udp`] | `envoyer --udp` |
//! | 2.1 TCP | `relais`: [`relais_tcp::serve`] | `emetteur` / `recepteur` |
//! | 2.2 UDP | `relais --udp`: [`relais_udp::serve`] | `emetteur --udp` / `recepteur --udp` |
//! | 2.3 roles | `relais --roles`: sends `1` then `2` | `auto` ([`client::auto`]) |
//!
//! # Beyond the sheet
//! - Pairs follow each other: when either client of a pair leaves, the
//!   other is told (TCP: its connection is closed; UDP: an empty datagram)
//!   and the server waits for the next pair instead of exiting.
//! - TCP is a byte stream: the relay copies bytes unchanged and in order,
//!   and our clients frame messages by lines ([`MAX_LINE`] bytes at most).
//! - A third client never disturbs a pair in progress: it gets one line,
//!   [`BUSY_TEXT`], and is closed (TCP), or that text as a datagram (UDP);
//!   our clients show it and exit 1.
//! - UDP has no connection: the first datagram of an address registers it,
//!   an empty datagram from a member ends the pair, and datagrams from a
//!   third address are answered [`BUSY_TEXT`], never relayed
//!   ([`relais_udp`] says why).
//! - Every wait a peer controls is bounded by the `--inactivite` delay, so a
//!   silent pair cannot hold the server forever; Ctrl-C closes the current
//!   connections and exits 0.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use server_kit::cli::BoxError;
use server_kit::{BindError, PortChoice, Shutdown, UdpOptions};

pub mod client;
pub mod relais_tcp;
pub mod relais_udp;
pub mod un_client;

pub const SERVER_BINARY: &str = "relay_server";
pub const CLIENT_BINARY: &str = "relay_client";
/// The sheet's server port (exercise 1.1).
pub const DEFAULT_PORT: u16 = 1212;
/// The sheet's client port (exercise 1.1: "une socket sur localhost et le
/// numéro de port 1313"), taken only with `--port-local`.
pub const SHEET_CLIENT_PORT: u16 = 1313;
/// Longest line our programs read (without its `\n`): 1 MiB.
pub const MAX_LINE: usize = 1 << 20;
/// Largest UDP payload (IPv6's is 20 bytes more; IPv4's is the bound for
/// both, so a line that passes here fits either family).
pub const MAX_DATAGRAM: usize = 65_507;
/// Default for `--inactivite`: how long a peer may stay silent while it
/// holds the server (a pair in progress, the one client of `un-client`).
pub const DEFAULT_IDLE: Duration = Duration::from_secs(600);

/// What a client that comes while a pair is in progress gets, before
/// being closed (TCP: this line; UDP: this text as one datagram).
pub const BUSY_TEXT: &str =
    "Serveur occupé : une paire de clients est déjà en cours, réessayez quand elle sera finie.";

/// The role bytes of exercise 2.3: `'1'` sends, `'2'` receives.
pub const ROLE_SENDER: u8 = b'1';
pub const ROLE_RECEIVER: u8 = b'2';

/// What the server does (its sub-command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exercise 1: print each line (datagram) a client sends.
    UnClient,
    /// Exercise 2: relay from the first client to the second.
    Relais {
        /// Exercise 2.3: send `1` and `2` to the clients as they arrive.
        roles: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    pub udp: bool,
    pub mode: Mode,
    /// See [`DEFAULT_IDLE`].
    pub idle: Duration,
}

/// A bound server socket.
#[derive(Debug)]
pub enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// Room for a burst of datagrams while the relay thread is busy sending
/// (best effort: the kernel caps it at `net.core.rmem_max`).
const UDP_RECV_BUFFER: usize = 4 << 20;

impl Bound {
    pub fn bind(config: &Config) -> Result<Bound, BindError> {
        if config.udp {
            let options = UdpOptions {
                recv_buffer: Some(UDP_RECV_BUFFER),
                ..UdpOptions::default()
            };
            server_kit::bind_udp(config.bind, config.port, &options).map(Bound::Udp)
        } else {
            server_kit::bind_tcp(config.bind, config.port, 16).map(Bound::Tcp)
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Bound::Tcp(l) => l.local_addr(),
            Bound::Udp(s) => s.local_addr(),
        }
    }

    /// Serves until `shutdown`; `out` is the program's output (the lines of
    /// `un-client`), logs go to stderr.
    pub fn serve(
        self,
        config: &Config,
        shutdown: &Shutdown,
        out: &mut (impl Write + Send),
    ) -> io::Result<()> {
        match (self, config.mode) {
            (Bound::Tcp(l), Mode::UnClient) => un_client::serve_tcp(l, shutdown, config.idle, out),
            (Bound::Udp(s), Mode::UnClient) => un_client::serve_udp(s, shutdown, out),
            (Bound::Tcp(l), Mode::Relais { roles }) => relais_tcp::serve(
                l,
                shutdown,
                &relais_tcp::Options {
                    roles,
                    idle: config.idle,
                },
            ),
            (Bound::Udp(s), Mode::Relais { .. }) => relais_udp::serve(s, shutdown, config.idle),
        }
    }
}

/// Binds, prints the ready line, serves until `shutdown`.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let bound = Bound::bind(&config)?;
    server_kit::announce(SERVER_BINARY, bound.local_addr()?, None);
    bound.serve(&config, &shutdown, &mut io::stdout())?;
    Ok(())
}

/// One received message as printed: one line, its own `\n` (or `\r\n`)
/// removed, invalid UTF-8 replaced and control characters other than tab
/// escaped as `\xNN` (a peer must not drive our user's terminal).
pub fn printable_line(message: &[u8], out: &mut Vec<u8>) {
    let message = message.strip_suffix(b"\n").unwrap_or(message);
    let message = message.strip_suffix(b"\r").unwrap_or(message);
    let text = String::from_utf8_lossy(message);
    out.reserve(text.len() + 1);
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            for b in c.to_string().bytes() {
                out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
            }
        } else {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
    out.push(b'\n');
}

/// Writes one message as a line of `out` and flushes (a user waits for it).
pub fn print_message(out: &mut impl Write, message: &[u8]) -> io::Result<()> {
    let mut line = Vec::new();
    printable_line(message, &mut line);
    out.write_all(&line)?;
    out.flush()
}

/// Errors of a blocking call that only mean "try again".
pub(crate) fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
    )
}

/// A read that timed out (`SO_RCVTIMEO` reports `WouldBlock` on Unix).
pub(crate) fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_characters_only() {
        let mut out = Vec::new();
        printable_line(b"\xc3\xa9t\xc3\xa9\t\x1b[2J\r\n", &mut out);
        assert_eq!(out, "été\t\\x1b[2J\n".as_bytes());
        out.clear();
        printable_line(b"a\xffb\x7f", &mut out);
        assert_eq!(out, "a\u{fffd}b\\x7f\n".as_bytes());
    }
}
