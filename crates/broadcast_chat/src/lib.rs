//! `broadcast_chat`: the LAN chat of lab 1, by UDP broadcast.
//!
//! # Layout
//! - [`envoyer`]: reads lines and broadcasts each as `NAME: line`
//!   (SO_BROADCAST, default destination `255.255.255.255:5700`).
//! - [`Listener`] / [`ecouter`]: prints every datagram received on the port,
//!   one line each. Listeners set SO_REUSEADDR and SO_REUSEPORT, so unlike
//!   the sheet's design several of them can run on one machine: the kernel
//!   gives each a copy of every broadcast datagram. Any host of the LAN can
//!   send to that port, so what is printed is escaped for the terminal
//!   (`protocols::chat::escape_for_terminal`) unless `--brut`.
//!
//! ```mermaid
//! sequenceDiagram
//!     participant E as broadcast_chat envoyer --nom pr
//!     participant L as LAN (255.255.255.255:5700)
//!     participant A as ecouter (machine A)
//!     participant B as ecouter (machine B)
//!     E->>L: "pr: bonjour"
//!     L->>A: "pr: bonjour"
//!     L->>B: "pr: bonjour"
//! ```

use std::io::{self, BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::{BindError, PortChoice, Shutdown, UdpOptions};

pub const BINARY: &str = "broadcast_chat";
/// Outside the ports `date_server` may fall back to (5555 and the 100 after
/// it), so that both programs of the sheet run side by side.
pub const DEFAULT_PORT: u16 = 5700;
/// The limited broadcast address: every machine of the local network.
pub const DEFAULT_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::BROADCAST);
/// Largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// The user's login name, the default `--nom`: `LOGNAME`, `USER`, then the
/// password database, as Python's `getpass.getuser()`.
pub fn login_name() -> Option<String> {
    ["LOGNAME", "USER"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|name| !name.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|user| user.name)
        })
}

/// `NAME: line`, as the sheet asks ("the user's name, a colon and a space").
pub fn format_line(name: &str, line: &[u8]) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(name.len() + 2 + line.len());
    datagram.extend_from_slice(name.as_bytes());
    datagram.extend_from_slice(b": ");
    datagram.extend_from_slice(line);
    datagram
}

/// Sends each line of `input` to `dest` as `NAME: line`, until end of input.
/// Returns how many datagrams were sent.
pub fn envoyer(name: &str, dest: SocketAddr, input: &mut impl BufRead) -> io::Result<u64> {
    let local: IpAddr = match dest {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let options = UdpOptions {
        broadcast: dest.is_ipv4(),
        ..UdpOptions::default()
    };
    // Room for at least one byte of text after "NAME: " (and no underflow
    // with a name as long as a command line allows, about 128 KiB).
    let max = MAX_DATAGRAM
        .checked_sub(name.len() + 2)
        .filter(|&max| max > 0)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "nom trop long ({} octets) pour un datagramme de {MAX_DATAGRAM} octets",
                    name.len()
                ),
            )
        })?;
    let socket =
        server_kit::bind_udp(local, PortChoice::Exact(0), &options).map_err(io::Error::other)?;
    let mut line = Vec::new();
    let mut sent = 0;
    loop {
        match read_line_bounded(input, &mut line, max)? {
            LineRead::Eof if line.is_empty() => return Ok(sent),
            LineRead::TooLong => {
                eprintln!("{BINARY}: ligne trop longue pour un datagramme ({max} octets au plus), non envoyée");
                while read_line_bounded(input, &mut line, max)? == LineRead::TooLong {}
                continue;
            }
            LineRead::Line | LineRead::Eof => {}
        }
        socket
            .send_to(&format_line(name, &line), dest)
            .map_err(|e| explain_send(e, dest))?;
        sent += 1;
    }
}

/// Sending to a broadcast address needs SO_BROADCAST (we set it) and a route;
/// say which when it fails.
fn explain_send(e: io::Error, dest: SocketAddr) -> io::Error {
    // Linux errno values (io::ErrorKind::NetworkUnreachable needs Rust 1.83).
    const EACCES: i32 = 13;
    const ENETUNREACH: i32 = 101;
    let hint = match e.raw_os_error() {
        Some(ENETUNREACH) => " (aucune route : la machine n'a pas de réseau vers cette adresse)",
        Some(EACCES) => " (diffusion refusée : SO_BROADCAST manquant ?)",
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("envoi vers {dest} impossible : {e}{hint}"),
    )
}

/// A bound listener.
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
}

impl Listener {
    /// Binds `ip:port` with SO_REUSEADDR + SO_REUSEPORT. To receive
    /// broadcasts, `ip` must be the wildcard (or the broadcast address).
    pub fn bind(ip: IpAddr, port: u16) -> Result<Listener, BindError> {
        let options = UdpOptions {
            shared_port: true,
            ..UdpOptions::default()
        };
        let socket = server_kit::bind_udp(ip, PortChoice::Exact(port), &options)?;
        Ok(Listener { socket })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Prints every datagram as a line on `out` until `shutdown`, control
    /// characters escaped unless `raw`.
    pub fn listen(&self, shutdown: &Shutdown, out: &mut impl Write, raw: bool) -> io::Result<()> {
        // The port is shared (SO_REUSEPORT): server_kit wakes this very
        // socket by shutting down its reading side.
        shutdown.wake_udp_socket(&self.socket)?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                Err(_) if shutdown.is_triggered() => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if shutdown.is_triggered() {
                return Ok(());
            }
            if raw {
                out.write_all(&buf[..n])?;
            } else {
                out.write_all(protocols::chat::escape_for_terminal(&buf[..n]).as_bytes())?;
            }
            out.write_all(b"\n")?;
            out.flush()?;
        }
    }
}

/// Binds, prints the ready line, prints datagrams on stdout until `shutdown`.
pub fn ecouter(
    ip: IpAddr,
    port: u16,
    raw: bool,
    shutdown: Shutdown,
) -> Result<(), server_kit::cli::BoxError> {
    let listener = Listener::bind(ip, port)?;
    server_kit::announce(BINARY, listener.local_addr()?, None);
    listener.listen(&shutdown, &mut io::stdout().lock(), raw)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_login_name_is_found() {
        let name = login_name().expect("a login name");
        assert!(!name.is_empty());
    }

    #[test]
    fn lines_get_the_name_prefix() {
        assert_eq!(format_line("pr", b"salut"), b"pr: salut");
        assert_eq!(format_line("pr", b""), b"pr: ");
    }

    #[test]
    fn a_name_too_long_for_a_datagram_is_an_error_not_a_panic() {
        let dest = SocketAddr::from(([127, 0, 0, 1], 9));
        for len in [MAX_DATAGRAM - 2, MAX_DATAGRAM, 100_000] {
            let err = envoyer(&"n".repeat(len), dest, &mut io::Cursor::new("x\n")).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{len}: {err}");
        }
    }

    use e2e::SharedBuffer as Shared;

    #[test]
    fn two_listeners_on_one_port_both_get_a_loopback_broadcast() {
        let a = Listener::bind(Ipv4Addr::UNSPECIFIED.into(), 0).unwrap();
        let port = a.local_addr().unwrap().port();
        let b = Listener::bind(Ipv4Addr::UNSPECIFIED.into(), port).unwrap();
        let shutdown = Shutdown::new();
        let spawn = |l: Listener| {
            let (token, out) = (shutdown.clone(), Shared::default());
            let mut sink = out.clone();
            let handle = thread::spawn(move || l.listen(&token, &mut sink, false).unwrap());
            (handle, out)
        };
        let listeners = [spawn(a), spawn(b)];
        let dest = SocketAddr::from(([127, 255, 255, 255], port));
        let sent = envoyer("pr", dest, &mut io::Cursor::new("bonjour\nça va ?")).unwrap();
        assert_eq!(sent, 2);
        // Wait for the lines rather than a fixed time: on a busy machine a
        // listener may be scheduled late, and Ctrl-C drops what is unread.
        let expected = "pr: bonjour\npr: ça va ?\n".as_bytes();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for (_, out) in &listeners {
            while out.bytes().len() < expected.len() && std::time::Instant::now() < deadline {
                thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        shutdown.trigger();
        for (handle, out) in listeners {
            handle.join().unwrap();
            assert_eq!(out.bytes(), expected);
        }
    }
}
