//! The kernel-side set-aside: while a member is over its token bucket, its
//! datagrams are dropped by a classic BPF filter on the receive socket
//! (`SO_ATTACH_FILTER`), before they take room in the receive buffer.
//!
//! Why: the token bucket alone drops a flooder's excess only once the
//! server has read it. A flooder sending 1,400-byte datagrams as fast as it
//! can fills the 4 MiB receive buffer faster than a server sharing a busy
//! CPU empties it, and a full buffer makes the kernel drop everyone's
//! datagrams, not just the flooder's (issue 12: 29 of 200 messages of a
//! normal member delivered). Dropped by the filter, the flooder's datagrams
//! cost the server nothing but the filter's few instructions in the
//! sender's system call, and the normal members find the buffer empty.
//!
//! The filter lets the protocol's control datagrams through (exactly
//! `__quit__` or `__keepalive__`): a member set aside can still leave, and
//! is not expired for a silence the filter imposed.
//!
//! The filter lets one in [`SAMPLE`] of a set-aside member's datagrams
//! through, at random (the kernel's `SKF_AD_RANDOM`): they go through the
//! member's bucket as usual, so the server sees whether it is still
//! flooding. Each one over the bucket renews the set-aside for
//! [`Penalties::period`] (the time the bucket takes to fill up again); a
//! member that calmed down is released a period later. Without the
//! sample, the set-aside could only end blindly: and a flooder released
//! refills the whole receive buffer in milliseconds before the server reads
//! enough of it to set it aside again (measured: worse than no set-aside).
//! A flooder gets through at most its bucket's rate, from the sample. The
//! filter holds at most [`MAX_PENALIZED`] addresses (the excess of others
//! is still dropped by their buckets, in user space).
//!
//! [`SetAside`] is the receive loop's side of it: a member whose datagram
//! was rejected over its bucket is set aside (or renewed), a member that
//! left (as [`Chat::departed`](crate::Chat::departed) reports, whatever the
//! reason) is forgotten, due set-asides end, and the filter is rebuilt
//! only when the list changed, before the batch's fan-out.
//!
//! The filter sees the datagram from its UDP header (offset 0: source
//! port, 4: length, 8: payload); the IP header is read through the
//! kernel's `SKF_NET_OFF` base. One socket may receive IPv4 and IPv6 (a
//! dual-stack `[::]`), so the filter looks at the IP version first.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use protocols::chat::{BALISE_KEEPALIVE, BALISE_QUIT};
use socket2::{SockFilter, SockRef};

use crate::journal::Journal;
use crate::protocol::{Limits, Reaction, Rejection};

/// Addresses set aside at once, at most (a filter holds 4,096
/// instructions; an IPv6 entry takes 11).
pub const MAX_PENALIZED: usize = 256;

/// One in this many of a set-aside member's datagrams reaches the server
/// (a power of two). A flooder sending 150,000 datagrams/s shows the
/// server about 2,300 of them per second (a few ms of CPU); a member has to
/// send more than 50 × 64 = 3,200/s for its sample alone to keep it over a
/// default bucket, and below that the set-aside ends and the bucket alone
/// keeps up.
pub const SAMPLE: u32 = 64;

/// The members currently set aside, and until when.
#[derive(Debug)]
pub struct Penalties {
    period: Duration,
    /// See [`SAMPLE`].
    sample: u32,
    until: Vec<(SocketAddr, Instant)>,
    /// A filter is attached to the socket (so an empty list must detach it).
    attached: bool,
}

impl Penalties {
    /// Set-asides of `period` each, renewed by the bucket.
    pub fn new(period: Duration) -> Self {
        Penalties::with_sample(period, SAMPLE)
    }

    /// With one in `sample` datagrams let through (rounded up to a power of
    /// two).
    pub fn with_sample(period: Duration, sample: u32) -> Self {
        Penalties {
            period,
            sample: sample.max(1).next_power_of_two(),
            until: Vec::new(),
            attached: false,
        }
    }

    /// How long a set-aside lasts.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Sets `addr` aside for a period from `now`, or renews its set-aside;
    /// true when the filter must be rebuilt (it was not set aside, and the
    /// filter is not full).
    pub fn add(&mut self, now: Instant, addr: SocketAddr) -> bool {
        let addr = canonical(addr);
        let until = now + self.period;
        if let Some(entry) = self.until.iter_mut().find(|(a, _)| *a == addr) {
            entry.1 = until;
            return false;
        }
        if self.until.len() >= MAX_PENALIZED {
            return false;
        }
        self.until.push((addr, until));
        true
    }

    /// Ends `addr`'s set-aside (it left); true when the filter must be
    /// rebuilt.
    pub fn remove(&mut self, addr: SocketAddr) -> bool {
        let addr = canonical(addr);
        let before = self.until.len();
        self.until.retain(|(a, _)| *a != addr);
        self.until.len() != before
    }

    /// Ends the set-asides due at `now`; true when the filter must be
    /// rebuilt.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.until.len();
        self.until.retain(|(_, until)| *until > now);
        self.until.len() != before
    }

    /// When the next set-aside ends, if any.
    pub fn next_end(&self) -> Option<Instant> {
        self.until.iter().map(|(_, until)| *until).min()
    }

    /// The addresses set aside.
    pub fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.until.iter().map(|(a, _)| *a)
    }

    /// Attaches the filter for the current list to `socket` (replacing the
    /// previous one in one step), or detaches it when the list is empty.
    pub fn apply(&mut self, socket: &UdpSocket) -> io::Result<()> {
        let socket = SockRef::from(socket);
        if self.until.is_empty() {
            if self.attached {
                socket.detach_filter()?;
                self.attached = false;
            }
            return Ok(());
        }
        socket.attach_filter(&program(self.addresses(), self.sample))?;
        self.attached = true;
        Ok(())
    }
}

/// How long a member over its token bucket is set aside in the kernel:
/// the time its bucket takes to fill up again (`burst / rate`), so that
/// when the set-aside ends, a member still flooding gets one burst through
/// and is set aside again, and its long-run rate is the bucket's. Between
/// 100 ms and 1 min.
pub fn period_for(limits: &Limits) -> Duration {
    let refill = f64::from(limits.burst) / limits.rate;
    Duration::from_secs_f64(refill.clamp(0.1, 60.0))
}

/// The receive loop's side of the set-aside: who is set aside, and whether
/// the filter on the socket is up to date.
#[derive(Debug)]
pub struct SetAside {
    penalties: Penalties,
    /// The list changed since the filter was last attached.
    changed: bool,
    /// Attaching failed once: the set-aside is given up (the buckets still
    /// drop the excess in user space).
    failed: bool,
}

impl SetAside {
    /// Set-asides of [`period_for`] `limits`.
    pub fn new(limits: &Limits) -> Self {
        SetAside {
            penalties: Penalties::new(period_for(limits)),
            changed: false,
            failed: false,
        }
    }

    /// After a datagram from `from` was handled: a member over its bucket
    /// is set aside.
    pub fn after(&mut self, now: Instant, from: SocketAddr, reaction: &Reaction) {
        if reaction.rejected == Some(Rejection::RateLimited) {
            self.changed |= self.penalties.add(now, from);
        }
    }

    /// The members that left ([`Chat::departed`](crate::Chat::departed),
    /// whatever the reason) are no longer set aside: their address may be
    /// a newcomer's next.
    pub fn forget(&mut self, departed: impl IntoIterator<Item = SocketAddr>) {
        for addr in departed {
            self.changed |= self.penalties.remove(addr);
        }
    }

    /// Ends the set-asides due at `now`, and attaches the filter if the
    /// list changed.
    pub fn update(&mut self, now: Instant, socket: &UdpSocket, journal: &Journal) {
        if self.penalties.next_end().is_some_and(|end| end <= now) {
            self.changed |= self.penalties.expire(now);
        }
        if self.changed && !self.failed {
            self.changed = false;
            if let Err(e) = self.penalties.apply(socket) {
                self.failed = true;
                journal.set_aside_failed(e);
            }
        }
    }

    /// The read timeout: `tick`, or less if a set-aside ends sooner.
    pub fn wake_within(&self, now: Instant, tick: Duration) -> Duration {
        match self.penalties.next_end() {
            Some(end) => end
                .saturating_duration_since(now)
                .clamp(Duration::from_millis(1), tick),
            None => tick,
        }
    }
}

/// An IPv4 peer seen on a dual-stack socket as `::ffff:a.b.c.d` arrives
/// with an IPv4 header: it is matched as IPv4.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
const LD_H_ABS: u16 = 0x08 | 0x20; // BPF_LD | BPF_H | BPF_ABS
const LD_B_ABS: u16 = 0x10 | 0x20; // BPF_LD | BPF_B | BPF_ABS
const AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
const JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// The kernel's base for offsets into the network (IP) header.
const NET: u32 = (-0x10_0000i32) as u32;
/// The kernel's ancillary load of a random word (`SKF_AD_OFF +
/// SKF_AD_RANDOM`).
const RANDOM: u32 = (-0x1000i32 + 56) as u32;
/// Offsets in the UDP header.
const UDP_SOURCE_PORT: u32 = 0;
const UDP_LENGTH: u32 = 4;
const UDP_PAYLOAD: u32 = 8;
/// Return values: keep the whole datagram, or drop it.
const ACCEPT: u32 = u32::MAX;
const DROP: u32 = 0;

fn op(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    SockFilter::new(code, jt, jf, k)
}

/// The filter: control datagrams pass, then datagrams from `addrs` pass
/// one in `sample` (a power of two) at random, the rest pass. Every
/// conditional jump is local (a few instructions), so the program has no
/// 255-instruction jump limit to fear; a match jumps to the shared sampling
/// tail with an unconditional jump (32-bit offset).
pub fn program(addrs: impl Iterator<Item = SocketAddr>, sample: u32) -> Vec<SockFilter> {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for addr in addrs.map(canonical) {
        match addr.ip() {
            IpAddr::V4(ip) => v4.push((ip.octets(), addr.port())),
            IpAddr::V6(ip) => v6.push((ip.octets(), addr.port())),
        }
    }
    let mut p = Vec::new();
    // The jumps to the sampling tail, resolved once its place is known.
    let mut to_tail = Vec::new();
    for control in [BALISE_QUIT, BALISE_KEEPALIVE] {
        exact_payload_passes(&mut p, control.as_bytes());
    }
    // The IP version: the IPv6 entries come after the IPv4 ones.
    let v4_len = 5 * v4.len() + 1;
    p.push(op(LD_B_ABS, 0, 0, NET));
    p.push(op(AND_K, 0, 0, 0xf0));
    p.push(op(JEQ_K, 0, 1, 0x60));
    p.push(op(JA, 0, 0, v4_len as u32));
    for (octets, port) in v4 {
        // Source address at 12 in the IPv4 header.
        p.push(op(LD_W_ABS, 0, 0, NET + 12));
        p.push(op(JEQ_K, 0, 3, u32::from_be_bytes(octets)));
        p.push(op(LD_H_ABS, 0, 0, UDP_SOURCE_PORT));
        p.push(op(JEQ_K, 0, 1, u32::from(port)));
        to_tail.push(p.len());
        p.push(op(JA, 0, 0, 0));
    }
    p.push(op(RET_K, 0, 0, ACCEPT));
    for (octets, port) in v6 {
        // Source address at 8 in the IPv6 header, four words.
        for (i, word) in octets.chunks(4).enumerate() {
            let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            // On a mismatch, skip the rest of this entry.
            let rest = (11 - 2 * (i + 1)) as u8;
            p.push(op(LD_W_ABS, 0, 0, NET + 8 + 4 * i as u32));
            p.push(op(JEQ_K, 0, rest, word));
        }
        p.push(op(LD_H_ABS, 0, 0, UDP_SOURCE_PORT));
        p.push(op(JEQ_K, 0, 1, u32::from(port)));
        to_tail.push(p.len());
        p.push(op(JA, 0, 0, 0));
    }
    p.push(op(RET_K, 0, 0, ACCEPT));
    // The sampling tail: a set-aside sender's datagram passes if the
    // random word's low bits are all zero.
    let tail = p.len();
    for at in to_tail {
        p[at] = op(JA, 0, 0, (tail - at - 1) as u32);
    }
    p.push(op(LD_W_ABS, 0, 0, RANDOM));
    p.push(op(AND_K, 0, 0, sample - 1));
    p.push(op(JEQ_K, 0, 1, 0));
    p.push(op(RET_K, 0, 0, ACCEPT));
    p.push(op(RET_K, 0, 0, DROP));
    p
}

/// Appends: if the payload is exactly `payload`, accept; else go on after
/// these instructions.
fn exact_payload_passes(p: &mut Vec<SockFilter>, payload: &[u8]) {
    // (load code, offset, value) of each comparison: the length, then the
    // payload in words, then the last bytes one by one.
    let mut checks = vec![(
        LD_H_ABS,
        UDP_LENGTH,
        (UDP_PAYLOAD as usize + payload.len()) as u32,
    )];
    let words = payload.len() / 4;
    for (i, w) in payload.chunks_exact(4).enumerate() {
        let offset = UDP_PAYLOAD + 4 * i as u32;
        checks.push((
            LD_W_ABS,
            offset,
            u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        ));
    }
    for (i, &b) in payload[4 * words..].iter().enumerate() {
        let offset = UDP_PAYLOAD + (4 * words + i) as u32;
        checks.push((LD_B_ABS, offset, u32::from(b)));
    }
    let total = 2 * checks.len() + 1;
    for (i, (load, offset, value)) in checks.into_iter().enumerate() {
        // From the jump after this comparison, to past the final return.
        let rest = (total - 2 * (i + 1)) as u8;
        p.push(op(load, 0, 0, offset));
        p.push(op(JEQ_K, 0, rest, value));
    }
    p.push(op(RET_K, 0, 0, ACCEPT));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver(bind: &str) -> Option<UdpSocket> {
        let socket = UdpSocket::bind(bind).ok()?;
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Some(socket)
    }

    /// Everything `socket` gets until a read times out.
    fn received(socket: &UdpSocket) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = socket.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        got
    }

    /// A set-aside sender loses its messages, keeps its controls; another
    /// sender on the same address (another port) is untouched; once the
    /// set-aside ends, the sender gets through again.
    fn check_family(server: UdpSocket, local: &str) {
        let to = server.local_addr().unwrap();
        let flooder = UdpSocket::bind(local).unwrap();
        let other = UdpSocket::bind(local).unwrap();
        let start = Instant::now();
        // No sample here (one in 2^30): every message is dropped.
        let mut penalties = Penalties::with_sample(Duration::from_secs(1), 1 << 30);
        assert!(penalties.add(start, flooder.local_addr().unwrap()));
        penalties.apply(&server).unwrap();
        for data in [
            &b"__message__:flood"[..],
            b"__quit__",
            b"__message__:x",
            b"__keepalive__",
            b"__keepalive_",
            b"__quit__ ",
            b"__quiT__",
            b"",
        ] {
            flooder.send_to(data, to).unwrap();
        }
        other.send_to(b"__message__:ok", to).unwrap();
        assert_eq!(
            received(&server),
            [&b"__quit__"[..], b"__keepalive__", b"__message__:ok"]
        );
        // Renewed half a period later: it ends a period after the renewal.
        let renewed = start + Duration::from_millis(500);
        assert!(!penalties.add(renewed, flooder.local_addr().unwrap()));
        assert!(!penalties.expire(renewed + Duration::from_millis(999)));
        assert_eq!(penalties.next_end(), Some(renewed + Duration::from_secs(1)));
        assert!(penalties.expire(renewed + Duration::from_secs(1)));
        assert_eq!(penalties.next_end(), None);
        penalties.apply(&server).unwrap();
        flooder.send_to(b"__message__:back", to).unwrap();
        assert_eq!(received(&server), [&b"__message__:back"[..]]);
        // Detaching twice is fine: nothing is attached.
        penalties.apply(&server).unwrap();
    }

    #[test]
    fn the_filter_drops_a_set_aside_ipv4_sender_but_its_controls() {
        check_family(receiver("127.0.0.1:0").unwrap(), "127.0.0.1:0");
    }

    #[test]
    fn the_filter_drops_a_set_aside_ipv6_sender_but_its_controls() {
        let Some(server) = receiver("[::1]:0") else {
            return test_support::skip("filtre IPv6 non testé : pas de boucle locale IPv6 ici");
        };
        check_family(server, "[::1]:0");
    }

    #[test]
    fn an_ipv4_sender_on_a_dual_stack_socket_is_matched_as_ipv4() {
        let Some(server) = receiver("[::]:0") else {
            return test_support::skip("socket double pile non testée : pas d'IPv6 ici");
        };
        let port = server.local_addr().unwrap().port();
        let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let flooder = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        // As the server sees it: ::ffff:127.0.0.1.
        let IpAddr::V4(v4) = flooder.local_addr().unwrap().ip() else {
            unreachable!()
        };
        let seen = SocketAddr::new(
            IpAddr::V6(v4.to_ipv6_mapped()),
            flooder.local_addr().unwrap().port(),
        );
        let mut penalties = Penalties::with_sample(Duration::from_secs(1), 1 << 30);
        penalties.add(Instant::now(), seen);
        penalties.apply(&server).unwrap();
        flooder.send_to(b"__message__:flood", to).unwrap();
        other.send_to(b"__message__:ok", to).unwrap();
        assert_eq!(received(&server), [&b"__message__:ok"[..]]);
        // It left: its set-aside ends with it.
        assert!(penalties.remove(seen));
        penalties.apply(&server).unwrap();
        flooder.send_to(b"__message__:back", to).unwrap();
        assert_eq!(received(&server), [&b"__message__:back"[..]]);
    }

    #[test]
    fn one_in_sample_of_a_set_aside_senders_datagrams_gets_through() {
        let server = receiver("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap();
        let flooder = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut penalties = Penalties::with_sample(Duration::from_secs(1), 16);
        penalties.add(Instant::now(), flooder.local_addr().unwrap());
        penalties.apply(&server).unwrap();
        const SENT: usize = 3200;
        for _ in 0..SENT {
            flooder.send_to(b"__message__:f", to).unwrap();
        }
        // 200 expected (binomial, standard deviation 14): far from 0 (no
        // sample) and from 3,200 (no filter).
        let got = received(&server).len();
        assert!((100..=300).contains(&got), "{got} of {SENT} got through");
    }

    fn rejected(why: Option<Rejection>) -> Reaction {
        Reaction {
            deliveries: Vec::new(),
            rejected: why,
        }
    }

    /// The loop's bookkeeping: only a datagram over its bucket sets its
    /// sender aside; a departure ends the set-aside; the read timeout
    /// follows the next end; the filter is attached when the list changed
    /// and detached once it is empty.
    #[test]
    fn the_set_aside_follows_the_buckets_and_the_departures() {
        let server = receiver("127.0.0.1:0").unwrap();
        let journal = Journal::start("test", io::sink(), io::sink()).unwrap();
        let limits = Limits {
            burst: 10,
            rate: 20.0,
            ..Limits::default()
        };
        assert_eq!(period_for(&limits), Duration::from_millis(500));
        let mut set_aside = SetAside::new(&limits);
        let (flooder, other) = (
            UdpSocket::bind("127.0.0.1:0").unwrap(),
            UdpSocket::bind("127.0.0.1:0").unwrap(),
        );
        let (f, o) = (flooder.local_addr().unwrap(), other.local_addr().unwrap());
        let now = Instant::now();
        let tick = Duration::from_secs(1);
        set_aside.after(now, o, &rejected(None));
        set_aside.after(now, o, &rejected(Some(Rejection::TooLong)));
        assert_eq!(set_aside.wake_within(now, tick), tick);
        set_aside.after(now, f, &rejected(Some(Rejection::RateLimited)));
        assert_eq!(set_aside.penalties.addresses().collect::<Vec<_>>(), [f]);
        assert_eq!(set_aside.wake_within(now, tick), Duration::from_millis(500));
        set_aside.update(now, &server, &journal);
        assert!(!set_aside.changed && !set_aside.failed);
        // Attached: one in SAMPLE (64) messages from the flooder passes.
        let to = server.local_addr().unwrap();
        for _ in 0..8 {
            flooder.send_to(b"__message__:flood", to).unwrap();
        }
        other.send_to(b"__message__:ok", to).unwrap();
        let got = received(&server);
        let flood = got
            .iter()
            .filter(|d| d[..] == b"__message__:flood"[..])
            .count();
        assert!(flood < 8, "{flood} of 8 got through");
        assert!(got.contains(&b"__message__:ok".to_vec()));
        // Another member leaving changes nothing; the flooder leaving
        // ends its set-aside, and the filter is detached.
        set_aside.forget([o]);
        assert!(!set_aside.changed);
        set_aside.forget([f]);
        assert!(set_aside.changed);
        assert_eq!(set_aside.penalties.next_end(), None);
        set_aside.update(now, &server, &journal);
        flooder.send_to(b"__message__:back", to).unwrap();
        assert_eq!(received(&server), [&b"__message__:back"[..]]);
        journal.finish();
    }

    #[test]
    fn many_set_asides_fit_in_one_filter_up_to_the_cap() {
        let server = receiver("127.0.0.1:0").unwrap();
        let now = Instant::now();
        let mut penalties = Penalties::new(Duration::from_secs(1));
        for i in 0..MAX_PENALIZED + 10 {
            let ip = if i % 2 == 0 { "10.0.0.1" } else { "fd00::1" };
            let added = penalties.add(now, SocketAddr::new(ip.parse().unwrap(), i as u16 + 1));
            assert_eq!(added, i < MAX_PENALIZED);
        }
        // The kernel accepts the largest filter, and it still works.
        penalties.apply(&server).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(b"__message__:ok", server.local_addr().unwrap())
            .unwrap();
        assert_eq!(received(&server), [&b"__message__:ok"[..]]);
    }
}
