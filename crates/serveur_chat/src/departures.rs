//! Members whose client is gone, learnt from ICMP "port unreachable".
//!
//! When a member's client exits without `__quit__` (killed, crashed, the
//! laptop closed), the next datagram the server sends it makes the member's
//! kernel answer ICMP port unreachable. An unconnected UDP socket normally
//! ignores that. With `IP_RECVERR` / `IPV6_RECVERR` set, Linux queues each
//! such error on the socket's *error queue* with the address the failed
//! datagram was sent to, and the next `recv_from` fails once with
//! `ECONNREFUSED` to say so; [`drain`] then reads the queue
//! (`recvmsg(MSG_ERRQUEUE)`) and returns the unreachable addresses, which the
//! server removes and announces as having left.
//!
//! Why not rely on inactivity alone: a sheet client sends no keep-alive, so
//! only a long delay can expire it; an ICMP error says "gone" within one
//! message. It cannot say so for a host that vanished without answering
//! (cable pulled): that case is left to the inactivity delay.
//!
//! A forged ICMP error can make the server drop a member; so can a forged
//! `__quit__`, since the lab's protocol has no authentication.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};

/// Asks the kernel to queue ICMP errors on `socket` (both families on an
/// IPv6 socket, which may carry IPv4-mapped peers).
pub fn enable(socket: &UdpSocket) -> io::Result<()> {
    match socket.local_addr()? {
        SocketAddr::V4(_) => setsockopt(socket, sockopt::Ipv4RecvErr, &true)?,
        SocketAddr::V6(_) => {
            setsockopt(socket, sockopt::Ipv6RecvErr, &true)?;
            // Only matters for a dual-stack socket; refused on none we know.
            let _ = setsockopt(socket, sockopt::Ipv4RecvErr, &true);
        }
    }
    Ok(())
}

/// Is `e` a pending ICMP error reported by a receive or a send (rather than
/// a problem with the socket itself)?
pub fn is_reported_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(
            Errno::ECONNREFUSED
                | Errno::EHOSTUNREACH
                | Errno::ENETUNREACH
                | Errno::ECONNRESET
                | Errno::EMSGSIZE
        )
    )
}

/// Reads the whole error queue without blocking; returns the addresses that
/// answered "port unreachable" (other errors, such as "host unreachable",
/// say nothing certain about the client and are skipped).
pub fn drain(socket: &UdpSocket) -> Vec<SocketAddr> {
    let mut gone = Vec::new();
    // The queued datagram's start comes back in the data; we do not need it.
    let mut data = [0u8; 64];
    let mut control = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
    // Bounded: an error queue is bounded by the receive buffer, and this
    // must not spin if the kernel keeps adding to it.
    for _ in 0..4096 {
        let mut iov = [IoSliceMut::new(&mut data)];
        let msg = match recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut control),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(msg) => msg,
            Err(Errno::EINTR) => continue,
            Err(_) => break, // EAGAIN: the queue is empty
        };
        let Some(to) = msg.address.as_ref().and_then(socket_addr) else {
            continue;
        };
        let Ok(cmsgs) = msg.cmsgs() else { continue };
        for cmsg in cmsgs {
            let err = match cmsg {
                ControlMessageOwned::Ipv4RecvErr(err, _) => err,
                ControlMessageOwned::Ipv6RecvErr(err, _) => err,
                _ => continue,
            };
            let from_icmp = err.ee_origin == libc::SO_EE_ORIGIN_ICMP
                || err.ee_origin == libc::SO_EE_ORIGIN_ICMP6;
            if from_icmp && err.ee_errno == libc::ECONNREFUSED as u32 {
                gone.push(to);
            }
        }
    }
    gone
}

fn socket_addr(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    s.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_closed_port_is_reported_with_its_address() {
        for ip in ["127.0.0.1", "::1"] {
            let server = UdpSocket::bind((ip, 0)).unwrap();
            enable(&server).unwrap();
            let closed = UdpSocket::bind((ip, 0)).unwrap().local_addr().unwrap();
            server.send_to(b"x", closed).unwrap();
            // The ICMP error comes back asynchronously (at once on loopback).
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut gone = Vec::new();
            while gone.is_empty() && Instant::now() < deadline {
                gone = drain(&server);
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(gone, [closed], "{ip}");
            assert!(drain(&server).is_empty());
        }
    }
}
