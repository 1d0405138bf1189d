//! Receiving on a UDP socket that [`Shutdown`](crate::Shutdown) may wake.
//!
//! Why not `UdpSocket::recv_from`: once
//! [`Shutdown::wake_udp_socket`](crate::Shutdown::wake_udp_socket) has
//! shut the socket's reading side down, Linux's `recvfrom` returns 0
//! bytes *without* writing an address, and the standard library may then
//! read an address left over from an earlier call and panic (`assertion
//! failed: len >= size_of::<c::sockaddr_in>()`, seen in relay_server's
//! tests after a first datagram). This call reports the missing address
//! as `None` instead.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{recvfrom, SockaddrLike, SockaddrStorage};

/// Receives one datagram into `buf`: its length and sender (`None` when the
/// socket was shut down, or for an address family that is not IP).
/// Read timeouts set on `socket` apply (`WouldBlock`).
pub fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddr>)> {
    let (n, from) =
        recvfrom::<SockaddrStorage>(socket.as_raw_fd(), buf).map_err(io::Error::from)?;
    let from = from.and_then(|addr| {
        if let Some(v4) = addr.as_sockaddr_in() {
            Some(SocketAddr::V4(SocketAddrV4::from(*v4)))
        } else {
            addr.as_sockaddr_in6()
                .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
        }
        .filter(|_| addr.len() > 0)
    });
    Ok((n, from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shutdown;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn reports_the_sender_of_both_families() {
        for ip in ["127.0.0.1", "::1"] {
            let server = UdpSocket::bind((ip, 0)).unwrap();
            let client = UdpSocket::bind((ip, 0)).unwrap();
            client
                .send_to(b"abc", server.local_addr().unwrap())
                .unwrap();
            let mut buf = [0u8; 8];
            let (n, from) = recv_from(&server, &mut buf).unwrap();
            assert_eq!(
                (&buf[..n], from),
                (&b"abc"[..], Some(client.local_addr().unwrap()))
            );
        }
    }

    #[test]
    fn a_woken_socket_reads_as_nothing_from_nobody() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let shutdown = Shutdown::new();
        shutdown.wake_udp_socket(&socket).unwrap();
        let receiver = thread::spawn(move || recv_from(&socket, &mut [0u8; 8]));
        thread::sleep(Duration::from_millis(50));
        shutdown.trigger();
        match receiver.join().unwrap() {
            Ok((0, None)) | Err(_) => {}
            other => panic!("{other:?}"),
        }
    }
}
