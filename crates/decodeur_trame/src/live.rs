//! Live capture (16.12): an `AF_PACKET` / `SOCK_RAW` socket listening to
//! `ETH_P_ALL`, the Rust twin of the lab's
//! `socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))`.
//!
//! ```mermaid
//! sequenceDiagram
//!     participant K as noyau
//!     participant L as capture (thread principal)
//!     participant C as Ctrl-C (thread ctrlc)
//!     L->>K: poll(socket, tube)
//!     K-->>L: trame prête
//!     L->>K: recvfrom(socket) → octets + sockaddr_ll
//!     C->>L: Shutdown::trigger → 1 octet dans le tube
//!     K-->>L: tube lisible → fin propre
//! ```
//!
//! Every call is safe Rust: the socket, `poll`, the pipe and `recvfrom`
//! (which hands us the frame's `sockaddr_ll`) come from nix. Binding the
//! socket to one interface would need a hand-built `sockaddr_ll` (unsafe),
//! so `--interface` is applied to that `sockaddr_ll` instead: same frames,
//! one comparison per frame more.
//!
//! Ctrl-C does not interrupt a blocking `recvfrom` reliably (the signal may
//! land on another thread), so the loop sleeps in `poll` on the socket *and*
//! a pipe that [`Shutdown`] writes to when triggered: no timeout, no
//! polling, and it stops at once.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;
use nix::net::if_::if_nametoindex;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvfrom, setsockopt, socket, sockopt, AddressFamily, LinkAddr, SockFlag, SockProtocol,
    SockType,
};
use server_kit::Shutdown;

use crate::walk::{LinkType, TransportChecksums};
use crate::Link;

/// The largest frame we read at once: loopback's MTU is 64 KiB, and with
/// segmentation offload the kernel may hand us even larger TCP frames.
const FRAME_BUFFER: usize = 256 * 1024;

/// `sll_pkttype` of a frame this host sends.
const PACKET_OUTGOING: u8 = 4;
/// `sll_hatype` values (linux/if_arp.h).
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;

/// What to capture.
#[derive(Debug, Clone, Default)]
pub struct LiveConfig {
    /// Only frames of this interface (all interfaces when `None`).
    pub interface: Option<String>,
    /// Stop after this many frames.
    pub count: Option<u64>,
}

/// Why the capture could not start or go on.
#[derive(Debug)]
pub enum LiveError {
    /// No root, no CAP_NET_RAW.
    Permission(Errno),
    /// No such interface.
    UnknownInterface(String),
    /// Any other system error.
    System(&'static str, Errno),
    /// Writing the output failed (a closed pipe among others).
    Output(io::Error),
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Permission(e) => write!(
                f,
                "capture impossible : il faut être root ou avoir la capacité CAP_NET_RAW \
                 (sudo, ou setcap cap_net_raw+ep sur le binaire) ({})",
                e.desc()
            ),
            LiveError::UnknownInterface(name) => {
                write!(f, "interface {name:?} inconnue (voir `ip link`)")
            }
            LiveError::System(what, e) => write!(f, "{what} : {}", e.desc()),
            LiveError::Output(e) => write!(f, "écriture impossible : {e}"),
        }
    }
}

impl std::error::Error for LiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LiveError::Output(e) => Some(e),
            _ => None,
        }
    }
}

/// The link type of a frame, from its interface's hardware type: Ethernet
/// and loopback frames start with an Ethernet header, `tun`-like interfaces
/// hand bare IP packets.
fn link_of(hatype: u16) -> Link {
    match hatype {
        ARPHRD_ETHER | ARPHRD_LOOPBACK => Link::Known(LinkType::Ethernet),
        ARPHRD_NONE => Link::Known(LinkType::RawIp),
        other => Link::Unknown {
            kind: "ARPHRD",
            number: other.into(),
        },
    }
}

/// Captures frames until `config.count` frames were kept by `on_frame`
/// (it returns whether it kept the frame: `--port` and `--protocole` drop
/// some)
/// (with whether their transport checksums can be trusted), or until
/// `shutdown` triggers. `on_ready` runs once the socket is open, `on_idle`
/// each time no frame is waiting (flush the output there: under a burst,
/// frames are written in batches and the socket's buffer does not
/// overflow).
/// Returns the number of frames kept.
pub fn capture(
    config: &LiveConfig,
    shutdown: &Shutdown,
    on_ready: impl FnOnce(),
    mut on_frame: impl FnMut(Link, TransportChecksums, &[u8]) -> io::Result<bool>,
    mut on_idle: impl FnMut() -> io::Result<()>,
) -> Result<u64, LiveError> {
    let ifindex = match &config.interface {
        Some(name) => Some(
            if_nametoindex(name.as_str()).map_err(|_| LiveError::UnknownInterface(name.clone()))?
                as usize,
        ),
        None => None,
    };
    let sock = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )
    .map_err(|e| match e {
        Errno::EPERM | Errno::EACCES => LiveError::Permission(e),
        e => LiveError::System("création du socket AF_PACKET", e),
    })?;

    // Room for bursts while we write text out. As root, past the system's
    // limit (net.core.rmem_max); otherwise up to it.
    const RECEIVE_BUFFER: usize = 8 << 20;
    if setsockopt(&sock, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
        let _ = setsockopt(&sock, sockopt::RcvBuf, &RECEIVE_BUFFER);
    }

    let (wake_read, wake_write) = nix::unistd::pipe().map_err(|e| LiveError::System("pipe", e))?;
    let mut wake_write = File::from(wake_write);
    shutdown.on_trigger(move || {
        // The loop only needs the pipe to become readable.
        let _ = wake_write.write_all(&[1]);
    });
    on_ready();

    let mut buf = vec![0u8; FRAME_BUFFER];
    let mut captured = 0u64;
    while config.count.map_or(true, |n| captured < n) && !shutdown.is_triggered() {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake_read.as_fd(), PollFlags::POLLIN),
        ];
        // Nothing waiting: flush, then sleep until a frame or Ctrl-C.
        let mut ready = poll(&mut fds, PollTimeout::ZERO);
        if ready == Ok(0) {
            on_idle().map_err(LiveError::Output)?;
            ready = poll(&mut fds, PollTimeout::NONE);
        }
        match ready {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(LiveError::System("poll", e)),
        }
        if fds[1].any().unwrap_or(false) {
            break;
        }
        if !fds[0].any().unwrap_or(false) {
            continue;
        }
        let (len, addr) = match recvfrom::<LinkAddr>(sock.as_raw_fd(), &mut buf) {
            Ok(r) => r,
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            Err(e) => return Err(LiveError::System("recvfrom", e)),
        };
        let Some(addr) = addr else { continue };
        if ifindex.is_some_and(|i| i != addr.ifindex()) {
            continue;
        }
        // On loopback every frame is seen twice, leaving and arriving: keep
        // the arrival only, as tcpdump does.
        if addr.hatype() == ARPHRD_LOOPBACK && addr.pkttype() == PACKET_OUTGOING {
            continue;
        }
        // Frames this host sends, and every loopback frame, carry the
        // partial checksum that offloading leaves for the card to finish.
        let checksums = if addr.hatype() == ARPHRD_LOOPBACK || addr.pkttype() == PACKET_OUTGOING {
            TransportChecksums::Skip
        } else {
            TransportChecksums::Verify
        };
        let kept = on_frame(
            link_of(addr.hatype()),
            checksums,
            buf.get(..len).unwrap_or(&buf),
        )
        .map_err(LiveError::Output)?;
        captured += u64::from(kept);
    }
    Ok(captured)
}
