//! Binding with the labs' port rule, and the ready line.
//!
//! The sheets ask servers to listen "on port 8080 or another port if it is
//! already used". We keep that for the *default* port only: an explicit
//! `--port` that is busy is an error, since silently moving a port the user
//! chose would only confuse them. `--port 0` lets the system pick.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

/// How many ports after the default one are tried before giving up.
pub const FALLBACK_PORTS: u16 = 100;

/// Which port to bind, as decided from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// `--port N` was given: bind exactly N (0 = any free port).
    Exact(u16),
    /// No `--port`: the lab's default, or the next free one after it.
    DefaultOrNext(u16),
}

impl PortChoice {
    /// `port` is the `--port` option (None when absent).
    pub fn from_cli(port: Option<u16>, default: u16) -> Self {
        match port {
            Some(p) => PortChoice::Exact(p),
            None => PortChoice::DefaultOrNext(default),
        }
    }

    fn candidates(self) -> impl Iterator<Item = u16> {
        let (first, count) = match self {
            PortChoice::Exact(p) => (p, 1),
            PortChoice::DefaultOrNext(p) => (p, FALLBACK_PORTS.min(u16::MAX - p + 1)),
        };
        (0..count).map(move |i| first + i)
    }
}

/// A bind that failed, with what a user needs to fix it.
#[derive(Debug)]
pub struct BindError {
    pub addr: SocketAddr,
    /// How many ports were tried (more than one with the fallback rule).
    pub tried: u16,
    pub source: io::Error,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "impossible d'écouter sur {}", self.addr)?;
        if self.tried > 1 {
            write!(f, " (ni sur les {} ports suivants)", self.tried - 1)?;
        }
        write!(f, " : {}", crate::cli::io_fr::io_error(&self.source))?;
        match self.source.kind() {
            io::ErrorKind::AddrInUse => f.write_str(" (choisissez un autre port avec --port)"),
            io::ErrorKind::PermissionDenied => {
                f.write_str(" (les ports < 1024 demandent les droits root)")
            }
            io::ErrorKind::AddrNotAvailable => {
                f.write_str(" (cette adresse n'appartient pas à la machine : voir --bind)")
            }
            _ => Ok(()),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Binds a TCP listener by the port rule.
///
/// SO_REUSEADDR is set so that a restarted server is not refused its port
/// because of the last run's TIME_WAIT connections; on Linux it still refuses
/// a port another socket is listening on, so the fallback rule keeps working.
pub fn bind_tcp(ip: IpAddr, choice: PortChoice, backlog: i32) -> Result<TcpListener, BindError> {
    bind_first(ip, choice, |addr| {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(backlog)?;
        Ok(socket.into())
    })
}

/// Socket options of a UDP server or listener.
#[derive(Debug, Clone, Default)]
pub struct UdpOptions {
    /// SO_RCVBUF to ask for (the kernel may cap it, see `net.core.rmem_max`).
    pub recv_buffer: Option<usize>,
    /// SO_SNDBUF to ask for.
    pub send_buffer: Option<usize>,
    /// SO_REUSEADDR + SO_REUSEPORT: several listeners share one port
    /// (broadcast receivers). Never set it on a server using the fallback
    /// rule: it would make a busy port look free.
    pub shared_port: bool,
    /// SO_BROADCAST: allowed to send to broadcast addresses.
    pub broadcast: bool,
}

/// Binds a UDP socket by the port rule.
pub fn bind_udp(
    ip: IpAddr,
    choice: PortChoice,
    options: &UdpOptions,
) -> Result<UdpSocket, BindError> {
    bind_first(ip, choice, |addr| {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if options.shared_port {
            socket.set_reuse_address(true)?;
            #[cfg(unix)]
            socket.set_reuse_port(true)?;
        }
        if options.broadcast {
            socket.set_broadcast(true)?;
        }
        // Buffer sizes are best effort: the kernel caps them silently.
        if let Some(size) = options.recv_buffer {
            let _ = socket.set_recv_buffer_size(size);
        }
        if let Some(size) = options.send_buffer {
            let _ = socket.set_send_buffer_size(size);
        }
        socket.bind(&addr.into())?;
        Ok(socket.into())
    })
}

fn bind_first<S>(
    ip: IpAddr,
    choice: PortChoice,
    bind: impl Fn(SocketAddr) -> io::Result<S>,
) -> Result<S, BindError> {
    let mut tried = 0;
    let mut first_error = None;
    for port in choice.candidates() {
        tried += 1;
        let addr = SocketAddr::new(ip, port);
        match bind(addr) {
            Ok(socket) => return Ok(socket),
            // Only a busy port is worth trying the next one for.
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                first_error.get_or_insert((addr, e));
            }
            Err(e) => {
                return Err(BindError {
                    addr,
                    tried,
                    source: e,
                })
            }
        }
    }
    let (addr, source) = first_error.unwrap_or_else(|| {
        let addr = SocketAddr::new(ip, 0);
        (addr, io::Error::from(io::ErrorKind::AddrInUse))
    });
    Err(BindError {
        addr,
        tried,
        source,
    })
}

/// What a ready line says between `<binary>: ` and the address.
pub const READY: &str = "en écoute sur";

/// The start of `binary`'s ready lines, up to the address:
/// `<binary>: en écoute sur ` (tests and scripts look for it).
pub fn ready_prefix(binary: &str) -> String {
    format!("{binary}: {READY} ")
}

/// Prints the ready line on stderr: `<binary>: en écoute sur <addr>`, with
/// ` (tcp)` or ` (udp)` after it for servers that bind both.
pub fn announce(binary: &str, addr: SocketAddr, transport: Option<&str>) {
    let prefix = ready_prefix(binary);
    match transport {
        Some(t) => eprintln!("{prefix}{addr} ({t})"),
        None => eprintln!("{prefix}{addr}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn default_port_falls_back_to_the_next_free_one() {
        let taken = bind_tcp(LOOPBACK, PortChoice::Exact(0), 8).unwrap();
        let port = taken.local_addr().unwrap().port();
        if port == u16::MAX {
            return; // no "next" port to try
        }
        let next = bind_tcp(LOOPBACK, PortChoice::DefaultOrNext(port), 8).unwrap();
        assert!(next.local_addr().unwrap().port() > port);
    }

    #[test]
    fn explicit_busy_port_is_a_clear_error() {
        let taken = bind_tcp(LOOPBACK, PortChoice::Exact(0), 8).unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind_tcp(LOOPBACK, PortChoice::Exact(port), 8).unwrap_err();
        assert_eq!(err.tried, 1);
        let text = err.to_string();
        assert!(text.contains("Adresse déjà utilisée"), "{text}");
        assert!(text.contains(&port.to_string()), "{text}");
    }

    #[test]
    fn udp_fallback_and_explicit_busy_port() {
        let taken = bind_udp(LOOPBACK, PortChoice::Exact(0), &UdpOptions::default()).unwrap();
        let port = taken.local_addr().unwrap().port();
        assert!(bind_udp(LOOPBACK, PortChoice::Exact(port), &UdpOptions::default()).is_err());
        if port < u16::MAX {
            let next = bind_udp(
                LOOPBACK,
                PortChoice::DefaultOrNext(port),
                &UdpOptions::default(),
            )
            .unwrap();
            assert_ne!(next.local_addr().unwrap().port(), port);
        }
    }

    #[test]
    fn shared_port_listeners_coexist() {
        let opts = UdpOptions {
            shared_port: true,
            ..UdpOptions::default()
        };
        let a = bind_udp(LOOPBACK, PortChoice::Exact(0), &opts).unwrap();
        let port = a.local_addr().unwrap().port();
        bind_udp(LOOPBACK, PortChoice::Exact(port), &opts).unwrap();
    }
}
