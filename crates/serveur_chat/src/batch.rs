//! Receiving up to [`BATCH`] datagrams per system call (`recvmmsg`).
//!
//! Why: under a flood, the receive loop must empty the socket faster than
//! the flooder fills it, or the kernel drops datagrams from everyone once
//! the receive buffer is full. On a busy 2-core machine the server gets only
//! part of a core; one `recvmmsg` per batch instead of one `recv_from` per
//! datagram lets it do more in the time it gets (`scripts/bench_chat.sh`,
//! flood case). The datagrams are still handled one by one, in order.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};

/// Datagrams per call.
pub const BATCH: usize = 32;
/// Room for any UDP payload (65,507 over IPv4, 65,527 over IPv6).
const SLOT: usize = 1 << 16;

/// Reusable buffers for [`Receiver::receive`].
pub struct Receiver {
    headers: MultiHeaders<SockaddrStorage>,
    storage: Vec<u8>,
    /// (length, sender) of each datagram of the last batch.
    got: Vec<(usize, SocketAddr)>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("batch", &BATCH).finish()
    }
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver {
            headers: MultiHeaders::preallocate(BATCH, None),
            storage: vec![0u8; BATCH * SLOT],
            got: Vec::with_capacity(BATCH),
        }
    }
}

impl Receiver {
    /// Waits (up to the socket's read timeout) for one datagram, then takes
    /// whatever else is already queued, up to [`BATCH`]; returns how many.
    /// Errors are `recv_from`'s (a pending ICMP error, the timeout...).
    pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.receive_with(socket, MsgFlags::MSG_WAITFORONE)
    }

    /// Takes what is already queued, up to [`BATCH`], without waiting
    /// (`WouldBlock` when nothing is).
    pub fn receive_queued(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.receive_with(socket, MsgFlags::MSG_DONTWAIT)
    }

    fn receive_with(&mut self, socket: &UdpSocket, flags: MsgFlags) -> io::Result<usize> {
        // On the stack: a receive allocates nothing (at a low rate, one
        // receive per datagram).
        let mut slots = self.storage.chunks_exact_mut(SLOT);
        let mut slices: [[IoSliceMut; 1]; BATCH] = std::array::from_fn(|_| {
            [IoSliceMut::new(
                slots.next().expect("storage holds BATCH slots"),
            )]
        });
        let results = recvmmsg(
            socket.as_raw_fd(),
            &mut self.headers,
            slices.iter_mut(),
            flags,
            None,
        )?;
        self.got.clear();
        for r in results {
            let from = r.address.as_ref().and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from(*v4))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6)))
            });
            if let Some(from) = from {
                self.got.push((r.bytes, from));
            }
        }
        Ok(self.got.len())
    }

    /// The senders of the last batch's datagrams, in order.
    pub fn senders(&self) -> impl Iterator<Item = SocketAddr> + Clone + '_ {
        self.got.iter().map(|&(_, from)| from)
    }

    /// The `i`th datagram of the last batch and its sender.
    pub fn datagram(&self, i: usize) -> (&[u8], SocketAddr) {
        let (len, from) = self.got[i];
        let start = i * SLOT;
        (&self.storage[start..start + len.min(SLOT)], from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_batch_holds_what_was_queued_in_order_with_senders() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (a, b) = (
            UdpSocket::bind("127.0.0.1:0").unwrap(),
            UdpSocket::bind("127.0.0.1:0").unwrap(),
        );
        let to = server.local_addr().unwrap();
        a.send_to(b"un", to).unwrap();
        b.send_to(b"deux", to).unwrap();
        a.send_to(&[7u8; 65_507], to).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut r = Receiver::default();
        assert_eq!(r.receive(&server).unwrap(), 3);
        assert_eq!(r.datagram(0), (&b"un"[..], a.local_addr().unwrap()));
        assert_eq!(r.datagram(1), (&b"deux"[..], b.local_addr().unwrap()));
        assert_eq!(r.datagram(2).0.len(), 65_507);
        // Nothing queued: the read timeout applies.
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let e = r.receive(&server).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e}"
        );
        // Without waiting: at once, whatever the read timeout.
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let started = std::time::Instant::now();
        let e = r.receive_queued(&server).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        assert!(started.elapsed() < Duration::from_secs(4));
        b.send_to(b"trois", to).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(r.receive_queued(&server).unwrap(), 1);
        assert_eq!(r.datagram(0), (&b"trois"[..], b.local_addr().unwrap()));
    }
}
