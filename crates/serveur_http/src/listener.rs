//! Options of the listening socket for the sheet's mode (one request per
//! connection), where the acceptors answer on their fast path.
//!
//! Both are inherited by every accepted socket, so they cost no system call
//! per connection. Why: together they cut the server's CPU time per
//! `Connection: close` request by about a quarter (`scripts/bench_http.sh`;
//! the figures are in `CONCEPTION.md`).
//!
//! - `TCP_DEFER_ACCEPT`: `accept` returns a connection only once its first
//!   bytes have arrived. Without it, more than half of the connections were
//!   accepted before their request and went to another thread (channel, futex
//!   wake-ups, two more system calls); with it the fast path finds the
//!   request nearly every time. A client that stays silent is held by the
//!   kernel for [`ACCEPT_DEFERRAL`] and then accepted anyway; the event loop
//!   counts that time against its idle delay (see [`deferral_for`]). So a
//!   silent client gets its 408 after the idle delay, counted from its
//!   connect; a client whose first byte comes late has the whole delay
//!   from that byte (at most the deferral more). Connections made with SYN
//!   cookies (a flooded listen queue) skip the deferral; a silent one of
//!   those gets its 408 up to a second early.
//! - `TCP_CORK`: the answer waits in the socket until `shutdown(Write)`
//!   (`conn::push_out`), then leaves as one segment carrying the data and
//!   the FIN, one packet fewer per connection. Never with `--keep-alive`, where the socket stays
//!   open after an answer and the answer would wait for the cork's 200 ms.

use std::io;
use std::net::TcpListener;
use std::time::Duration;

// nix has no binding for TCP_DEFER_ACCEPT; its own macro makes one (the
// `unsafe` call stays inside nix's expansion). The expansion names `libc`
// and the helper macros unqualified.
use nix::libc;
use nix::sys::socket::{getsockopt, setsockopt};
use nix::{getsockopt_impl, setsockopt_impl, sockopt_impl};

sockopt_impl!(
    /// `TCP_DEFER_ACCEPT` (Linux): seconds a connection may wait for its
    /// first bytes before `accept` returns it anyway.
    DeferAccept,
    Both,
    libc::IPPROTO_TCP,
    libc::TCP_DEFER_ACCEPT,
    u32
);

/// How long the kernel holds a silent connection (whole seconds: that is
/// the option's unit).
pub const ACCEPT_DEFERRAL: Duration = Duration::from_secs(1);

/// The deferral to use for an idle delay: none when the delay is too short
/// to take a whole deferral out of it (the tests' half-second delays).
pub fn deferral_for(idle_timeout: Duration) -> Duration {
    if idle_timeout >= 2 * ACCEPT_DEFERRAL {
        ACCEPT_DEFERRAL
    } else {
        Duration::ZERO
    }
}

/// Sets the options of the sheet's mode on `listener`: `TCP_CORK`, and
/// `TCP_DEFER_ACCEPT` for `deferral` (none if zero). Both only save work:
/// where the system refuses one (an emulated kernel, a sandbox), the server
/// runs without it. Returns the deferral actually set.
pub fn tune_for_one_request(listener: &TcpListener, deferral: Duration) -> Duration {
    let _ = socket2::SockRef::from(listener).set_tcp_cork(true);
    if deferral.is_zero() {
        return Duration::ZERO;
    }
    let seconds = u32::try_from(deferral.as_secs()).unwrap_or(u32::MAX);
    match setsockopt(listener, DeferAccept, &seconds) {
        Ok(()) => deferral,
        Err(_) => Duration::ZERO,
    }
}

/// The `TCP_DEFER_ACCEPT` value the kernel holds (it rounds the seconds
/// to a number of SYN-ACK retransmissions and back).
pub fn accept_deferral(listener: &TcpListener) -> io::Result<u32> {
    Ok(getsockopt(listener, DeferAccept)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_reach_the_listener_and_its_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            tune_for_one_request(&listener, ACCEPT_DEFERRAL),
            ACCEPT_DEFERRAL
        );
        assert!(accept_deferral(&listener).unwrap() >= 1);
        assert!(socket2::SockRef::from(&listener).tcp_cork().unwrap());

        // Accepted sockets inherit the cork (no call per connection).
        let addr = listener.local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut client, b"x").unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(socket2::SockRef::from(&accepted).tcp_cork().unwrap());
    }

    #[test]
    fn no_deferral_leaves_accept_alone() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            tune_for_one_request(&listener, Duration::ZERO),
            Duration::ZERO
        );
        assert_eq!(accept_deferral(&listener).unwrap(), 0);
    }

    #[test]
    fn short_idle_delays_get_no_deferral() {
        assert_eq!(deferral_for(Duration::from_millis(500)), Duration::ZERO);
        assert_eq!(deferral_for(Duration::from_secs(10)), ACCEPT_DEFERRAL);
    }
}
