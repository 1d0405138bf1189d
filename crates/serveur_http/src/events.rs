//! Event loops (epoll), two per core: every connection waits in one of them
//! for its request head, and is answered from there, in both modes.
//!
//! Why: a thread blocked in `recv` per connection lets a few hundred slow or
//! silent clients (slowloris, connections that never send a byte, clients
//! that never read a big page) hold every thread, and a normal client then
//! waits for one. Here a connection costs no thread while it is slow: as in
//! nginx, it gets work done only when its head is whole, and the answer
//! goes out as the socket takes it (`send`, `sendfile` for big files, on
//! non-blocking sockets, level-triggered epoll).
//!
//! What bounds a hostile client:
//! - every connection has a deadline, looked at every [`SWEEP`]: a head
//!   must be whole within the idle delay (408 otherwise, or a silent close
//!   for a persistent connection between requests), an answer must be sent
//!   within the answer delay (reset otherwise, dropping what the kernel
//!   holds), a lingering close lasts [`LINGER`];
//! - a loop keeps at most its share of `--connexions-max`. When a new
//!   connection needs room, the loop sheds a batch ([`SHED_BATCH`] of its
//!   share): idle connections first, then those that have sent nothing,
//!   then heads under way, then answers under way, oldest first in each
//!   class. A flood of connections sheds its own silent ones; slow ones
//!   (slowloris, non-readers) go oldest first, and a normal client is the
//!   newest of them. A loop full of connections that have sent nothing, as
//!   under `wrk -c5000` in keep-alive, sheds those, not a client halfway
//!   through its head (`scripts/attaque_http.sh` showed why: with "oldest
//!   first" alone, such a client was sometimes reset);
//! - a connection whose answer is under way is not read from (the kernel's
//!   buffer fills and the client's pipelined requests wait there), and one
//!   serves [`FAIRNESS_BUDGET`] requests before the loop turns to the others;
//! - what a connection holds in memory is at most a head (8 KiB) and one
//!   answer in memory (pages over the cache's limit are sent from the file).
//!
//! # Why two loops per core, each fed the least loaded first
//! The latency tail of persistent connections comes from the scheduler,
//! not from the loops' work. With one loop per core, a loop under load
//! always finds a connection ready when it comes back to `epoll_wait`, so
//! it never sleeps: the scheduler treats it as a CPU hog and makes it take
//! turns with the other busy threads (the clients', other programs') at the
//! granularity of its time slice, a scheduler tick (4 ms at `HZ=250`).
//! While it waits for its turn, every request on its connections waits
//! too: the p99 was one tick, against a fraction of it for nginx on the
//! same run. With half as many connections per loop, a loop empties its
//! ready list and sleeps between bursts; a sleeping thread woken by a
//! request runs at once (`perf sched`: loops switching nearly twice as
//! often, the p99 under nginx's). Connections go to the loop holding the
//! fewest ([`Loops::send`]), not in turn per acceptor, so that no loop gets
//! more than its share of a burst of connections. The price is two small
//! threads per core (each with its epoll set, eventfd and channel).
//!
//! The pieces are well-kept crates, not hand-written ones: the epoll set and
//! the `eventfd` that wakes a loop are nix's `Epoll` and `EventFd`, and the
//! connections are kept in a [`Slab`] whose keys are the epoll tokens. mio's
//! `Poll` and `Waker` would wrap the same two calls once more.
//!
//! ```mermaid
//! flowchart LR
//!     A[accepteurs] -->|nouvelle connexion, à la moins chargée<br/>canal + eventfd| B[boucles epoll<br/>deux par cœur]
//!     B -->|en-tête entier :<br/>traite_requete| B
//!     B -->|send, sendfile<br/>au rythme du client| C[clients]
//!     B -->|trop lent, muet, en trop :<br/>408, fermeture| C
//! ```

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::socket::{recv, MsgFlags};
use protocols::http::{Status, MAX_HEAD_BYTES};
use slab::Slab;

use crate::conn::{self, Buffers, Context, HeadRead, Outgoing};

/// How often deadlines are looked at.
pub const SWEEP: Duration = Duration::from_millis(100);
/// How long a lingering close reads and drops the client's bytes.
pub const LINGER: Duration = Duration::from_millis(500);
/// Bytes a lingering close drops at most.
pub const LINGER_BYTES: usize = 256 * 1024;
/// Connections a loop takes from its channel before new ones get a 503.
pub(crate) const DOOR_CAPACITY: usize = 1024;
/// Requests served on one connection before the loop turns to the others
/// (a client pipelining without end cannot keep a loop to itself).
pub const FAIRNESS_BUDGET: usize = 16;
/// What one `recv` may take: a head and then some (pipelined requests).
const RECV_SIZE: usize = 16 * 1024;
/// The share of a full loop's connections shed at once (1/16): one scan
/// of the loop's connections makes room for many arrivals.
pub const SHED_BATCH: usize = 16;
/// The epoll token of a loop's eventfd (connections use their slab key).
const WAKE_TOKEN: u64 = u64::MAX;

/// A connection entering a loop, from an acceptor.
#[derive(Debug)]
pub struct Incoming {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    /// What the acceptor read, and the answer it started.
    pub handoff: conn::Handoff,
}

/// The way into one loop: a bounded channel, the loop's eventfd (nix's
/// `EventFd`) to wake its `epoll_wait`, and how many connections it holds.
#[derive(Debug)]
struct Door {
    connections: Sender<Incoming>,
    wake: EventFd,
    /// Connections sent to the loop and not closed yet (in its channel or
    /// in its slab): raised by the acceptors, lowered by the loop.
    load: Arc<AtomicUsize>,
}

/// The way into the loops, the least loaded first. Each acceptor has its own
/// clone (and its own turn among equally loaded loops).
#[derive(Debug, Clone)]
pub struct Loops {
    doors: Arc<[Door]>,
    next: usize,
}

impl Loops {
    /// Hands `incoming` to the loop holding the fewest connections (in
    /// turn among equals); gives its socket back when that loop's channel
    /// is full or the loop is gone.
    pub fn send(&mut self, incoming: Incoming) -> Result<(), TcpStream> {
        let count = self.doors.len();
        let start = self.next % count;
        self.next = self.next.wrapping_add(1);
        let door = (0..count)
            .map(|i| &self.doors[(start + i) % count])
            .min_by_key(|door| door.load.load(Ordering::Relaxed))
            .expect("at least one loop");
        // Counted before the loop can see it (and lower the count).
        door.load.fetch_add(1, Ordering::Relaxed);
        match door.connections.try_send(incoming) {
            Ok(()) => {
                let _ = door.wake.write(1);
                Ok(())
            }
            Err(TrySendError::Full(incoming) | TrySendError::Disconnected(incoming)) => {
                door.load.fetch_sub(1, Ordering::Relaxed);
                Err(incoming.stream)
            }
        }
    }

    /// A clone whose turn starts at `offset` (so that the acceptors do not
    /// all start with the first loop).
    pub fn starting_at(&self, offset: usize) -> Loops {
        Loops {
            doors: Arc::clone(&self.doors),
            next: offset,
        }
    }
}

/// Starts `count` loops keeping `max_connections` connections in all. They
/// stop when `ctx.shutdown` is triggered, closing their connections.
pub fn start(
    count: usize,
    max_connections: usize,
    ctx: &Arc<Context>,
) -> io::Result<(Loops, Vec<JoinHandle<()>>)> {
    let count = count.max(1);
    let mut doors = Vec::with_capacity(count);
    let mut loops = Vec::with_capacity(count);
    for _ in 0..count {
        let (connections, arrivals) = crossbeam_channel::bounded(DOOR_CAPACITY);
        let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(&wake, EpollEvent::new(EpollFlags::EPOLLIN, WAKE_TOKEN))?;
        let load = Arc::new(AtomicUsize::new(0));
        doors.push(Door {
            connections,
            wake,
            load: Arc::clone(&load),
        });
        loops.push(EventLoop {
            epoll,
            arrivals,
            load,
            connections: Slab::new(),
            max: max_connections.div_ceil(count).max(1),
            ctx: Arc::clone(ctx),
            received: vec![0; RECV_SIZE],
            buffers: Buffers::default(),
            again: Vec::new(),
        });
    }
    let doors: Arc<[Door]> = doors.into();
    let wakers = Arc::clone(&doors);
    ctx.shutdown.on_trigger(move || {
        for door in wakers.iter() {
            let _ = door.wake.write(1);
        }
    });
    let mut handles = Vec::with_capacity(count);
    for (id, mut event_loop) in loops.into_iter().enumerate() {
        let wake = Arc::clone(&doors);
        let spawned = thread::Builder::new()
            .name(format!("boucle-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || event_loop.run(&wake[id].wake));
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                ctx.shutdown.trigger();
                for handle in handles {
                    let _ = handle.join();
                }
                return Err(e);
            }
        }
    }
    Ok((Loops { doors, next: 0 }, handles))
}

/// One connection in a loop.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Received, not served yet: part of a head, or pipelined requests.
    pending: Vec<u8>,
    /// The answer under way.
    out: Option<Outgoing>,
    /// The answer is out with a FIN; the client's bytes are read and dropped
    /// until it closes or [`LINGER`] passes.
    draining: bool,
    drained: usize,
    /// Registered for EPOLLOUT (while an answer waits for room) rather
    /// than EPOLLIN.
    waiting_to_send: bool,
    /// In the loop's `again` list (at most once, or a client pipelining
    /// without end would get one more budget per pass).
    queued: bool,
    /// A request was answered on it.
    answered: bool,
    /// Its arrival, or the end of its last answer: the shedding order.
    since: Instant,
    /// When the head under way, the answer under way or the lingering
    /// close is too late.
    deadline: Instant,
}

impl Connection {
    /// Idle between two requests, and may be closed without a word. Empty
    /// lines after a request (a stray CRLF, which the head reader skips) do
    /// not make a request under way; requests waiting in the kernel (a
    /// queued connection, its budget spent) do.
    fn is_idle(&self) -> bool {
        self.answered
            && !self.queued
            && self.out.is_none()
            && !self.draining
            && self.pending.iter().all(|&b| matches!(b, b'\r' | b'\n'))
    }

    /// Which connections are shed first when room is needed: 0 idle (or
    /// closing anyway), 1 nothing received yet, 2 a head under way, 3 an
    /// answer under way. A client that has sent part of its head (a request
    /// line, a pause, the blank line) thus outlives a flood of connections
    /// that have sent nothing yet, however new they are.
    fn shed_class(&self) -> u8 {
        if self.is_idle() || self.draining {
            0
        } else if self.out.is_none() && self.pending.is_empty() {
            1
        } else if self.out.is_none() {
            2
        } else {
            3
        }
    }
}

/// What a connection needs after [`EventLoop::drive`].
#[derive(Debug)]
enum Next {
    /// Wait for epoll.
    Wait,
    /// Drive it again after the others (fairness budget spent).
    Again,
    Close,
}

struct EventLoop {
    epoll: Epoll,
    arrivals: Receiver<Incoming>,
    /// Its door's count of connections: lowered here when one closes.
    load: Arc<AtomicUsize>,
    /// Keyed by epoll token.
    connections: Slab<Connection>,
    max: usize,
    ctx: Arc<Context>,
    received: Vec<u8>,
    buffers: Buffers,
    /// Connections to drive again without waiting for epoll.
    again: Vec<usize>,
}

impl EventLoop {
    fn run(&mut self, wake: &EventFd) {
        let mut events = vec![EpollEvent::empty(); 256];
        let mut next_sweep = Instant::now() + SWEEP;
        while !self.ctx.shutdown.is_triggered() {
            let timeout = if !self.again.is_empty() {
                EpollTimeout::ZERO
            } else if self.connections.is_empty() {
                EpollTimeout::NONE
            } else {
                let left = next_sweep.saturating_duration_since(Instant::now());
                EpollTimeout::try_from(left.max(Duration::from_millis(1)))
                    .unwrap_or(EpollTimeout::ZERO)
            };
            let ready = match self.epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(e) => {
                    self.ctx.logger.problem(format!("epoll_wait : {e}"));
                    thread::sleep(SWEEP);
                    0
                }
            };
            if self.ctx.shutdown.is_triggered() {
                break;
            }
            for event in &events[..ready] {
                match event.data() {
                    WAKE_TOKEN => {
                        let _ = wake.read();
                        self.admit_arrivals();
                    }
                    // A queued connection is still readable (pipelined
                    // requests wait in the kernel): its turn comes below.
                    token if self.is_queued(token as usize) => {}
                    token => self.drive(token as usize),
                }
            }
            for token in std::mem::take(&mut self.again) {
                if let Some(connection) = self.connections.get_mut(token) {
                    connection.queued = false;
                    self.drive(token);
                }
            }
            debug_assert!(self.again.len() <= self.connections.len());
            let now = Instant::now();
            if now >= next_sweep {
                self.sweep(now);
                next_sweep = now + SWEEP;
            }
        }
        // Dropping the connections closes them.
        self.connections.clear();
    }

    fn is_queued(&self, token: usize) -> bool {
        self.connections.get(token).is_some_and(|c| c.queued)
    }

    /// Registers the connections the acceptors sent.
    fn admit_arrivals(&mut self) {
        while let Ok(incoming) = self.arrivals.try_recv() {
            if self.connections.len() >= self.max {
                self.shed();
            }
            if let Err(e) = self.admit(incoming) {
                self.load.fetch_sub(1, Ordering::Relaxed);
                self.ctx.logger.problem(format!("boucle : {e}"));
            }
        }
    }

    /// Closes a batch of connections to make room: idle ones first, then
    /// those waiting for their head, then answers under way; oldest first.
    fn shed(&mut self) {
        let mut candidates: Vec<(u8, Instant, usize)> = self
            .connections
            .iter()
            .map(|(token, c)| (c.shed_class(), c.since, token))
            .collect();
        let batch = (self.max / SHED_BATCH).clamp(1, candidates.len().max(1));
        if candidates.len() > batch {
            candidates.select_nth_unstable(batch - 1);
            candidates.truncate(batch);
        }
        for (class, _, token) in candidates {
            let connection = self.remove(token);
            if class == 3 {
                conn::too_slow(&connection.stream);
            }
        }
    }

    fn admit(&mut self, incoming: Incoming) -> io::Result<()> {
        let Incoming {
            stream,
            peer,
            handoff,
        } = incoming;
        stream.set_nonblocking(true)?;
        // Each answer is one send: nothing to gain from Nagle, only
        // delayed-ACK stalls to lose.
        stream.set_nodelay(true)?;
        let entry = self.connections.vacant_entry();
        let token = entry.key();
        self.epoll
            .add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, token as u64))?;
        let now = Instant::now();
        let deadline = match handoff.out {
            Some(_) => now + self.ctx.answer_timeout,
            None => now + self.ctx.idle_timeout.saturating_sub(handoff.silent_for),
        };
        let work = !handoff.pending.is_empty() || handoff.out.is_some();
        entry.insert(Connection {
            stream,
            peer,
            pending: handoff.pending,
            out: handoff.out,
            draining: false,
            drained: 0,
            waiting_to_send: false,
            queued: false,
            answered: false,
            since: now,
            deadline,
        });
        // Bytes already read do not make the socket readable again.
        if work {
            self.drive(token);
        }
        Ok(())
    }

    fn drive(&mut self, token: usize) {
        let Some(connection) = self.connections.get_mut(token) else {
            return;
        };
        // A bug in serving one connection must not take the loop's other
        // connections down with it: that connection is closed, the loop
        // carries on.
        let stepped = panic::catch_unwind(AssertUnwindSafe(|| {
            step(connection, &self.ctx, &mut self.received, &mut self.buffers)
        }));
        let next = match stepped {
            Ok(next) => next,
            Err(payload) => {
                self.ctx.logger.problem(format!(
                    "{} : erreur interne ({}), connexion fermée",
                    connection.peer,
                    crate::panic_message(&*payload)
                ));
                self.buffers = Buffers::default();
                self.remove(token);
                return;
            }
        };
        match next {
            Next::Wait | Next::Again => {
                let want_out = connection.out.is_some();
                if want_out != connection.waiting_to_send {
                    let flags = if want_out {
                        EpollFlags::EPOLLOUT
                    } else {
                        EpollFlags::EPOLLIN
                    };
                    let mut event = EpollEvent::new(flags, token as u64);
                    if self.epoll.modify(&connection.stream, &mut event).is_err() {
                        self.remove(token);
                        return;
                    }
                    connection.waiting_to_send = want_out;
                }
                if matches!(next, Next::Again) && !connection.queued {
                    connection.queued = true;
                    self.again.push(token);
                }
            }
            Next::Close => {
                self.remove(token);
            }
        }
    }

    /// Takes a connection out; dropping it closes it (and leaves epoll).
    fn remove(&mut self, token: usize) -> Connection {
        self.load.fetch_sub(1, Ordering::Relaxed);
        self.connections.remove(token)
    }

    /// Ends the connections whose deadline has passed.
    fn sweep(&mut self, now: Instant) {
        let late: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(token, _)| token)
            .collect();
        for token in late {
            let connection = self.remove(token);
            if connection.out.is_some() {
                // Too slow a reader: reset, dropping what the kernel holds.
                conn::too_slow(&connection.stream);
            } else if !connection.is_idle() && !connection.draining {
                // A request that never came whole.
                conn::refuse_at_once(
                    &connection.stream,
                    Status::RequestTimeout,
                    self.ctx.closing_mode(),
                );
            }
            // An idle persistent connection is just closed (RFC 9112 §9.5).
        }
    }
}

/// Moves one connection on as far as it can go without blocking: sends what
/// is left of an answer, answers the requests received, receives more.
fn step(
    connection: &mut Connection,
    ctx: &Context,
    received: &mut [u8],
    buffers: &mut Buffers,
) -> Next {
    // Requests served are dropped from `pending` once, not one by one
    // (each drop moves what follows: many small pipelined requests).
    let mut served_up_to = 0;
    let next = advance(connection, &mut served_up_to, ctx, received, buffers);
    let served_up_to = served_up_to.min(connection.pending.len());
    connection.pending.drain(..served_up_to);
    next
}

/// [`step`], with `pending[..*served_up_to]` served already.
fn advance(
    c: &mut Connection,
    served_up_to: &mut usize,
    ctx: &Context,
    received: &mut [u8],
    buffers: &mut Buffers,
) -> Next {
    let mut served = 0;
    // Whether `pending` may hold a whole head (a head ends with a `\n`).
    let mut look = true;
    // Whether the socket may hold more bytes.
    let mut readable = true;
    // The client closed its side: what it sent is all there is.
    let mut ended = false;
    loop {
        if c.draining {
            return drain(c, received);
        }
        if let Some(out) = &mut c.out {
            match out.send_some(&c.stream) {
                Ok(true) => {}
                Ok(false) => return Next::Wait,
                Err(_) => return Next::Close,
            }
            let done = c.out.take().map(|o| (o.keep_open, o.linger));
            let now = Instant::now();
            match done {
                Some((true, _)) if !ended => {
                    c.answered = true;
                    c.since = now;
                    c.deadline = now + ctx.idle_timeout;
                    if served >= FAIRNESS_BUDGET {
                        return Next::Again;
                    }
                }
                Some((_, true)) => {
                    conn::push_out(&c.stream);
                    c.draining = true;
                    c.deadline = now + LINGER;
                    *served_up_to = c.pending.len();
                    continue;
                }
                _ => {
                    conn::push_out(&c.stream);
                    return Next::Close;
                }
            }
        }
        if look && c.pending.len() > *served_up_to {
            let mut rest = &c.pending[*served_up_to..];
            let before = rest.len();
            match buffers.read_head(&mut rest) {
                HeadRead::Complete => {
                    *served_up_to += before - rest.len();
                    served += 1;
                    c.out = Some(conn::respond(&buffers.head, ctx, &c.peer));
                    c.deadline = Instant::now() + ctx.answer_timeout;
                    continue;
                }
                HeadRead::TooLarge => {
                    *served_up_to = c.pending.len();
                    c.out = Some(conn::too_large(ctx, &c.peer));
                    c.deadline = Instant::now() + ctx.answer_timeout;
                    continue;
                }
                HeadRead::CompleteAtEof if ctx.answers_cut_head(ended) => {
                    // A head cut short (see `answers_cut_head`) is served as
                    // it is.
                    *served_up_to = c.pending.len();
                    let mut out = conn::respond(&buffers.head, ctx, &c.peer);
                    out.keep_open = false;
                    c.out = Some(out);
                    c.deadline = Instant::now() + ctx.answer_timeout;
                    continue;
                }
                HeadRead::CompleteAtEof | HeadRead::Closed => look = false,
            }
        }
        if ended {
            return Next::Close;
        }
        if !readable {
            // Level-triggered epoll tells when more comes.
            return Next::Wait;
        }
        // What is left is at most a head under way, and at most a head's
        // worth is read more: a connection holds at most about 8 KiB.
        c.pending.drain(..*served_up_to);
        *served_up_to = 0;
        let room = (MAX_HEAD_BYTES + 1)
            .saturating_sub(c.pending.len())
            .clamp(1, received.len());
        match recv(
            c.stream.as_raw_fd(),
            &mut received[..room],
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => {
                ended = true;
                look = true;
            }
            Ok(n) => {
                let chunk = &received[..n];
                look = chunk.contains(&b'\n') || c.pending.len() + n > MAX_HEAD_BYTES;
                readable = n == room;
                c.pending.extend_from_slice(chunk);
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Next::Wait,
            Err(_) => return Next::Close,
        }
    }
}

/// A lingering close: reads and drops what the client sends after our FIN,
/// so that the close that follows is not a reset that could destroy the
/// answer before the client reads it.
fn drain(c: &mut Connection, received: &mut [u8]) -> Next {
    loop {
        match recv(c.stream.as_raw_fd(), received, MsgFlags::MSG_DONTWAIT) {
            Ok(0) => return Next::Close,
            Ok(n) => {
                c.drained += n;
                if c.drained > LINGER_BYTES {
                    return Next::Close;
                }
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Next::Wait,
            Err(_) => return Next::Close,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{setsockopt, sockopt};
    use std::io::{Read, Write};
    use std::net::TcpListener;

    const SMALL_REQUEST: &[u8] = b"GET /petit.html HTTP/1.1\r\n\r\n";
    const SMALL_ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length:2\r\n\r\np\n";

    /// One loop serving a root with a small page, in keep-alive.
    struct Fixture {
        loops: Loops,
        handles: Vec<JoinHandle<()>>,
        ctx: Arc<Context>,
        _logger: crate::log::LoggerThread,
        _root: tempfile::TempDir,
    }

    impl Fixture {
        fn with(max_connections: usize, configure: impl FnOnce(&mut Context)) -> Fixture {
            Fixture::with_loops(1, max_connections, configure)
        }

        fn with_loops(
            count: usize,
            max_connections: usize,
            configure: impl FnOnce(&mut Context),
        ) -> Fixture {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(root.path().join("en")).unwrap();
            std::fs::write(root.path().join("en/petit.html"), "p").unwrap();
            let (mut ctx, logger) = conn::test_context(root.path());
            ctx.keep_alive = true;
            ctx.site = crate::Site::open(root.path(), protocols::http::Negotiation::Prefix)
                .unwrap()
                .with_keep_alive(true);
            configure(&mut ctx);
            let ctx = Arc::new(ctx);
            let (loops, handles) = start(count, max_connections, &ctx).unwrap();
            Fixture {
                loops,
                handles,
                ctx,
                _logger: logger,
                _root: root,
            }
        }

        /// Connections each loop holds, as the acceptors see it.
        fn loads(&self) -> Vec<usize> {
            let doors = self.loops.doors.iter();
            doors.map(|d| d.load.load(Ordering::Relaxed)).collect()
        }

        fn client(&mut self, rcvbuf: Option<usize>) -> TcpStream {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (stream, peer) = listener.accept().unwrap();
            if let Some(size) = rcvbuf {
                setsockopt(&client, sockopt::RcvBuf, &size).unwrap();
            }
            client
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let handoff = conn::Handoff {
                pending: Vec::new(),
                out: None,
                silent_for: Duration::ZERO,
            };
            self.loops
                .send(Incoming {
                    stream,
                    peer,
                    handoff,
                })
                .unwrap();
            client
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            self.ctx.shutdown.trigger();
            for handle in self.handles.drain(..) {
                if handle.join().is_err() && !std::thread::panicking() {
                    panic!("a loop panicked");
                }
            }
        }
    }

    fn read_until_closed(client: &mut TcpStream) -> Option<Vec<u8>> {
        let mut got = Vec::new();
        client.read_to_end(&mut got).ok().map(|_| got)
    }

    #[test]
    fn a_client_pipelining_without_end_gets_one_budget_per_pass() {
        // More than one `recv` of pipelined requests: the socket stays
        // readable while the loop works through them, so epoll reports it
        // on every pass while it waits in `again` (counted once; the
        // loop's debug assertion checks it).
        const COUNT: usize = 4000;
        let mut fixture = Fixture::with(8, |_| {});
        let mut client = fixture.client(Some(1 << 20));
        let mut writer = client.try_clone().unwrap();
        let sending = std::thread::spawn(move || {
            writer.write_all(&SMALL_REQUEST.repeat(COUNT)).unwrap();
        });
        // Meanwhile another client is served.
        let mut other = fixture.client(None);
        other.write_all(SMALL_REQUEST).unwrap();
        let mut answer = vec![0; SMALL_ANSWER.len()];
        other.read_exact(&mut answer).unwrap();
        assert_eq!(answer, SMALL_ANSWER);
        let mut got = vec![0; COUNT * SMALL_ANSWER.len()];
        client.read_exact(&mut got).unwrap();
        sending.join().unwrap();
        assert!(got == SMALL_ANSWER.repeat(COUNT), "answers out of order");
    }

    #[test]
    fn a_connection_goes_to_the_loop_holding_the_fewest() {
        let mut fixture = Fixture::with_loops(3, 64, |_| {});
        let clients: Vec<TcpStream> = (0..3).map(|_| fixture.client(None)).collect();
        assert_eq!(fixture.loads(), [1, 1, 1]);
        // The second goes (it went to the second loop: ties are taken in
        // turn); its loop counts it out once it has seen the close.
        let mut clients = clients.into_iter();
        let (first, second, third) = (clients.next(), clients.next(), clients.next());
        drop(second);
        let deadline = Instant::now() + Duration::from_secs(5);
        while fixture.loads() != [1, 0, 1] {
            assert!(Instant::now() < deadline, "loads {:?}", fixture.loads());
            std::thread::sleep(Duration::from_millis(10));
        }
        // The next one fills the gap, whatever the turn says.
        let fourth = fixture.client(None);
        assert_eq!(fixture.loads(), [1, 1, 1]);
        // And a burst spreads evenly.
        let burst: Vec<TcpStream> = (0..6).map(|_| fixture.client(None)).collect();
        assert_eq!(fixture.loads(), [3, 3, 3]);
        drop((first, third, fourth, burst));
    }

    #[test]
    fn a_stray_empty_line_after_a_request_leaves_the_connection_idle() {
        let mut fixture = Fixture::with(8, |ctx| ctx.idle_timeout = Duration::from_millis(300));
        let mut client = fixture.client(None);
        client
            .write_all(&[SMALL_REQUEST, b"\r\n"].concat())
            .unwrap();
        // Idle, so closed without a 408 at the idle deadline.
        let got = read_until_closed(&mut client).expect("a close, not a reset");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(SMALL_ANSWER)
        );
    }

    #[test]
    fn at_the_cap_the_idle_then_the_silent_are_shed_not_a_head_under_way() {
        // A share of 2: each arrival past it sheds one.
        let mut fixture = Fixture::with(2, |_| {});
        let mut typing = fixture.client(None);
        typing.write_all(b"GET /petit").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut idle = fixture.client(None);
        idle.write_all(SMALL_REQUEST).unwrap();
        let mut answer = vec![0; SMALL_ANSWER.len()];
        idle.read_exact(&mut answer).unwrap();
        // A third: the idle one goes first, though it is the newer.
        let mut silent = fixture.client(None);
        assert_eq!(read_until_closed(&mut idle), Some(Vec::new()));
        std::thread::sleep(Duration::from_millis(50));
        // A fourth: then the one that has sent nothing, though the one
        // typing its head is older.
        let _fourth = fixture.client(None);
        assert_eq!(read_until_closed(&mut silent), Some(Vec::new()));
        typing.write_all(b".html HTTP/1.1\r\n\r\n").unwrap();
        typing.read_exact(&mut answer).unwrap();
        assert_eq!(answer, SMALL_ANSWER);
    }

    #[test]
    fn a_panic_closes_its_connection_and_the_loop_carries_on() {
        let mut fixture = Fixture::with(8, |_| {});
        let mut bystander = fixture.client(None);
        let mut panicking = fixture.client(None);
        // conn.rs panics on this target in test builds only.
        write!(panicking, "GET {} HTTP/1.1\r\n\r\n", conn::PANIC_FOR_TESTS).unwrap();
        assert_eq!(read_until_closed(&mut panicking), Some(Vec::new()));
        bystander.write_all(SMALL_REQUEST).unwrap();
        let mut answer = vec![0; SMALL_ANSWER.len()];
        bystander.read_exact(&mut answer).unwrap();
        assert_eq!(answer, SMALL_ANSWER);
    }

    #[test]
    fn errors_are_answered_then_the_close_lingers() {
        let mut fixture = Fixture::with(8, |_| {});
        let mut client = fixture.client(None);
        // A 405 and bytes after it that nobody reads: the answer must
        // still arrive whole (a close with unread bytes is a reset).
        client
            .write_all(b"POST /petit.html HTTP/1.1\r\nContent-Length: 20000\r\n\r\n")
            .unwrap();
        client.write_all(&[b'x'; 20000]).unwrap();
        let got = read_until_closed(&mut client).expect("a close, not a reset");
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 405 "), "{text}");
        assert!(text.contains("Connection:close\r\n"), "{text}");
    }
}
