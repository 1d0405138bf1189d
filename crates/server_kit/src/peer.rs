//! The client side of UDP: where `--serveur HOST --port PORT` points, and a
//! socket connected to it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};

/// Resolves `host:port` (an IPv4 or IPv6 literal, or a name), preferring an
/// IPv4 address when the name has both.
///
/// Why not simply the first address: many systems list `::1 localhost`
/// before `127.0.0.1 localhost`, while our servers listen on `127.0.0.1` by
/// default, and the labs' Python clients (an `AF_INET` socket) always take
/// the IPv4 address. UDP has no handshake that would let us try the next
/// address, so `--serveur localhost` must mean what it means in Python.
pub fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    prefer_ipv4((host, port).to_socket_addrs()?)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "aucune adresse pour ce nom"))
}

/// The first IPv4 address, else the first one.
pub fn prefer_ipv4(addrs: impl IntoIterator<Item = SocketAddr>) -> Option<SocketAddr> {
    let mut first = None;
    for addr in addrs {
        if addr.is_ipv4() {
            return Some(addr);
        }
        first.get_or_insert(addr);
    }
    first
}

/// A UDP socket on an ephemeral port of `server`'s family, *connected* to
/// it: the kernel then hands us only the server's datagrams, and reports an
/// ICMP "port unreachable" as `ConnectionRefused` on the next call, which is
/// how a client tells "no server there" from "no answer yet".
pub fn connect_udp(server: SocketAddr) -> io::Result<UdpSocket> {
    let local: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind((local, 0))?;
    socket.connect(server)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_wins_wherever_it_is_listed() {
        let v6: SocketAddr = "[::1]:5005".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:5005".parse().unwrap();
        assert_eq!(prefer_ipv4([v6, v4]), Some(v4));
        assert_eq!(prefer_ipv4([v4, v6]), Some(v4));
        assert_eq!(prefer_ipv4([v6]), Some(v6));
        assert_eq!(prefer_ipv4([]), None);
    }

    #[test]
    fn literals_of_both_families_resolve_as_written() {
        assert_eq!(resolve("::1", 7).unwrap(), "[::1]:7".parse().unwrap());
        assert_eq!(
            resolve("127.0.0.1", 7).unwrap(),
            "127.0.0.1:7".parse().unwrap()
        );
    }

    #[test]
    fn a_closed_port_is_refused_on_the_connected_socket() {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let socket = connect_udp(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
        socket.send(b"x").unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let err = socket.recv(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
