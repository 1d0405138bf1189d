//! `date_server` and `date_client`: the UDP date service of lab 1, used to
//! watch sockets appear and disappear with `ss -ua` / `netstat -ua`.
//!
//! # Layout
//! - [`ctime`]: the date as Python's `time.ctime()` writes it
//!   (`Sun Nov 22 01:30:57 2026`), in the machine's local time zone.
//! - [`Server`] / [`run`]: answers every datagram with the date and logs the
//!   requester's address on stderr.
//! - [`request`]: the client's single exchange (connected socket, 3 s
//!   timeout, ICMP port unreachable reported as such).
//! - [`print_answer`]: the answer as the client prints it, control
//!   characters escaped (`protocols::chat::escape_for_terminal`): whoever
//!   answers from the server's address cannot drive the terminal.
//!
//! ```mermaid
//! sequenceDiagram
//!     participant C as date_client
//!     participant S as date_server (5555)
//!     Note over C: --pause: "> " (no socket yet)
//!     C->>S: any datagram (the socket appears in ss -ua)
//!     S->>C: Sun Nov 22 01:30:57 2026
//!     Note over C: --pause: "> " (socket still there)
//!     Note over C: exit: the socket disappears
//! ```

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone};
use server_kit::cli::BoxError;
use server_kit::{BindError, PortChoice, Shutdown, UdpOptions};

pub const SERVER_BINARY: &str = "date_server";
pub const CLIENT_BINARY: &str = "date_client";
/// The sheet's port (`rplay` in /etc/services).
pub const DEFAULT_PORT: u16 = 5555;
/// How long the client waits for the answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// What the client sends: the server answers any datagram, this one says
/// what it is for in a capture.
pub const REQUEST: &[u8] = b"date ?";

/// `time.ctime()`'s layout: day of month padded with a space, not a zero.
pub fn ctime<Tz: TimeZone>(when: &DateTime<Tz>) -> String
where
    Tz::Offset: fmt::Display,
{
    when.format("%a %b %e %H:%M:%S %Y").to_string()
}

/// Now, in the local time zone (`TZ`, else `/etc/localtime`).
pub fn now() -> String {
    ctime(&Local::now())
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
}

/// A bound date server.
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
}

impl Server {
    pub fn bind(config: &Config) -> Result<Server, BindError> {
        let socket = server_kit::bind_udp(config.bind, config.port, &UdpOptions::default())?;
        Ok(Server { socket })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Answers until `shutdown`; `log` gets one line per request.
    pub fn serve(&self, shutdown: &Shutdown, log: &mut impl Write) -> io::Result<()> {
        shutdown.wake_udp_socket(&self.socket)?;
        // Requests are not read, only answered: a small buffer is enough
        // (the kernel drops the rest of a larger datagram).
        let mut buf = [0u8; 512];
        loop {
            let from = match self.socket.recv_from(&mut buf) {
                Ok((_, from)) => from,
                Err(_) if shutdown.is_triggered() => return Ok(()),
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(e),
            };
            if shutdown.is_triggered() {
                return Ok(());
            }
            // A failed log line or answer concerns one requester: carry on.
            let _ = writeln!(log, "{SERVER_BINARY}: requête de {from}");
            if let Err(e) = self.socket.send_to(now().as_bytes(), from) {
                let e = server_kit::cli::io_fr::io_error(&e);
                let _ = writeln!(log, "{SERVER_BINARY}: réponse à {from} impossible : {e}");
            }
        }
    }
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

/// Binds, prints the ready line, serves until `shutdown`.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), BoxError> {
    let server = Server::bind(&config)?;
    server_kit::announce(SERVER_BINARY, server.local_addr()?, None);
    server.serve(&shutdown, &mut io::stderr())?;
    Ok(())
}

/// Why the client got no date.
#[derive(Debug)]
pub enum RequestError {
    Resolve(String, io::Error),
    /// ICMP port unreachable.
    Refused(SocketAddr),
    NoAnswer(SocketAddr),
    Io(io::Error),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Resolve(host, e) => {
                write!(f, "adresse du serveur {host:?} introuvable : {e}")
            }
            RequestError::Refused(addr) => {
                write!(
                    f,
                    "le serveur {addr} est injoignable (port UDP fermé : aucun serveur n'y écoute)"
                )
            }
            RequestError::NoAnswer(addr) => write!(
                f,
                "pas de réponse du serveur {addr} en {} s",
                ANSWER_TIMEOUT.as_secs()
            ),
            RequestError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RequestError {}

impl From<io::Error> for RequestError {
    fn from(e: io::Error) -> Self {
        RequestError::Io(e)
    }
}

/// Prints the answer and a newline: escaped for the terminal, or as it came
/// when `raw` (`--brut`).
pub fn print_answer(out: &mut impl Write, answer: &[u8], raw: bool) -> io::Result<()> {
    if raw {
        out.write_all(answer)?;
    } else {
        out.write_all(protocols::chat::escape_for_terminal(answer).as_bytes())?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// Resolves the server's address (IPv4, IPv6 or a host name; IPv4 first
/// when a name has both, as the sheet's `AF_INET` client does).
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, RequestError> {
    server_kit::peer::resolve(host, port).map_err(|e| RequestError::Resolve(host.to_string(), e))
}

/// Creates the client socket (this is when it appears in `ss -ua`), sends
/// one request and returns the socket with the answer, so a caller can keep
/// the socket open while the user looks.
pub fn request(server: SocketAddr) -> Result<(UdpSocket, Vec<u8>), RequestError> {
    // Connected: only the server's answer is accepted, and an ICMP port
    // unreachable comes back as ECONNREFUSED.
    let socket = server_kit::peer::connect_udp(server)?;
    socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    socket.send(REQUEST)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok((socket, buf));
            }
            Err(e) => match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::ConnectionRefused => return Err(RequestError::Refused(server)),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    return Err(RequestError::NoAnswer(server))
                }
                _ => return Err(e.into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::thread;

    #[test]
    fn ctime_layout_matches_python() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 1, 30, 57).unwrap();
        assert_eq!(ctime(&t), "Sun Nov 22 01:30:57 2026");
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, 2, 9, 5, 0)
            .unwrap();
        assert_eq!(ctime(&t), "Mon Mar  2 09:05:00 2026");
    }

    #[test]
    fn serves_ipv4_and_ipv6_and_stops_on_shutdown() {
        for bind in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            let server = Server::bind(&Config {
                bind,
                port: PortChoice::Exact(0),
            })
            .unwrap();
            let addr = server.local_addr().unwrap();
            let shutdown = Shutdown::new();
            let token = shutdown.clone();
            let handle = thread::spawn(move || {
                let mut log = Vec::new();
                server.serve(&token, &mut log).map(|()| log)
            });
            let (socket, answer) = request(addr).unwrap();
            let text = String::from_utf8(answer).unwrap();
            assert_eq!(text.len(), "Sun Nov 22 01:30:57 2026".len(), "{text}");
            shutdown.trigger();
            let log = String::from_utf8(handle.join().unwrap().unwrap()).unwrap();
            let client = socket.local_addr().unwrap().port().to_string();
            assert!(
                log.starts_with("date_server: requête de ") && log.contains(&client),
                "{log}"
            );
        }
    }

    #[test]
    fn a_hostile_answer_is_escaped_unless_raw() {
        let hostile = b"Sun Nov 22\x1b[2J\x1b]52;c;aGk=\x07\r\xff";
        let mut out = Vec::new();
        print_answer(&mut out, hostile, false).unwrap();
        assert_eq!(out, b"Sun Nov 22\\x1b[2J\\x1b]52;c;aGk=\\x07\\x0d\\xff\n");
        let mut out = Vec::new();
        print_answer(&mut out, hostile, true).unwrap();
        assert_eq!(out, [&hostile[..], b"\n"].concat());
    }

    #[test]
    fn a_closed_port_is_reported_as_such() {
        let addr = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(matches!(request(addr), Err(RequestError::Refused(_))));
    }
}
