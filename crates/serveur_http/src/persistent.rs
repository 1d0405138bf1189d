//! `--keep-alive`: persistent connections live in event loops (epoll), one
//! per core, rather than each in a worker blocked in `recv`.
//!
//! A worker per connection cost one thread wake-up (a context switch) per
//! request, where nginx serves every connection that is ready after one
//! `epoll_wait`. Here each loop owns its connections (non-blocking sockets,
//! level-triggered epoll): it reads a request, and answers it itself when
//! the answer is a page in memory: one `recv` and one `send` per request,
//! the common case. Anything else (a big file, an error to answer with a
//! lingering close, a request with a body, `--bien-recu`) goes to the worker
//! pool with the bytes already read; a worker serves that one request and
//! gives the connection back to a loop if it stays open.
//!
//! ```mermaid
//! flowchart LR
//!     A[accepteurs] -->|nouvelle connexion<br/>canal + eventfd| B[boucles epoll<br/>une par cœur]
//!     B -->|page en mémoire :<br/>recv + send| C[clients]
//!     B -->|gros fichier, erreur, corps :<br/>try_send| Q[(file des travailleurs)]
//!     Q --> W[travailleurs]
//!     W -->|connexion gardée ouverte| B
//! ```
//!
//! Every connection has a deadline, looked at every [`SWEEP`]: a head must be
//! whole within the idle delay (408 otherwise, or a silent close for a
//! persistent connection that sent nothing), an answer the socket could not
//! take at once must be sent within the answer delay. A loop keeps at most
//! its share of `--connexions-max`: beyond, the connection idle the longest
//! is closed, or the new one gets a 503 when none is idle.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::socket::{recv, send, MsgFlags};
use protocols::http::{Status, MAX_HEAD_BYTES};

use crate::conn::{self, Buffers, Context, Job, Pending, Start};

/// How often deadlines are looked at.
pub const SWEEP: Duration = Duration::from_millis(100);
/// Connections a loop takes from its channel before new ones get a 503.
pub(crate) const DOOR_CAPACITY: usize = 1024;
/// Requests served on one connection before the loop turns to the others
/// (a client pipelining without end cannot keep a loop to itself).
const FAIRNESS_BUDGET: usize = 16;
/// What one `recv` may take: a head and then some (pipelined requests).
const RECV_SIZE: usize = 16 * 1024;
/// The epoll token of a loop's eventfd (connections use their slot index).
const WAKE_TOKEN: u64 = u64::MAX;

/// A connection entering a loop: fresh from an acceptor, or given back by a
/// worker after an answer.
#[derive(Debug)]
pub struct Incoming {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    /// Bytes of the next request(s) already read.
    pub pending: Vec<u8>,
    /// Whether a request was answered on it (an idle timeout then closes
    /// it without a 408).
    pub answered: bool,
}

/// The way into one loop.
#[derive(Debug)]
struct Door {
    connections: Sender<Incoming>,
    wake: EventFd,
}

/// The way into the loops, in turn. Each acceptor and worker has its own
/// clone (and its own turn).
#[derive(Debug, Clone)]
pub struct Loops {
    doors: Arc<[Door]>,
    next: usize,
}

impl Loops {
    /// Hands `incoming` to the next loop; gives it back when that loop's
    /// channel is full or the loop is gone.
    pub fn send(&mut self, incoming: Incoming) -> Result<(), Incoming> {
        let door = self.next % self.doors.len();
        self.next = self.next.wrapping_add(1);
        self.send_to(door, incoming)
    }

    /// Gives a connection a worker served back to the loop it came from
    /// (`home`, which counted it among its connections: another loop might
    /// be full), or to the next loop if it came from none.
    pub fn send_back(&mut self, home: Option<usize>, incoming: Incoming) -> Result<(), Incoming> {
        match home {
            Some(door) if door < self.doors.len() => self.send_to(door, incoming),
            _ => self.send(incoming),
        }
    }

    fn send_to(&self, door: usize, incoming: Incoming) -> Result<(), Incoming> {
        let door = &self.doors[door];
        match door.connections.try_send(incoming) {
            Ok(()) => {
                let _ = door.wake.write(1);
                Ok(())
            }
            Err(TrySendError::Full(incoming) | TrySendError::Disconnected(incoming)) => {
                Err(incoming)
            }
        }
    }

    /// A clone whose turn starts at `offset` (so that acceptors and workers
    /// do not all start with the first loop).
    pub fn starting_at(&self, offset: usize) -> Loops {
        Loops {
            doors: Arc::clone(&self.doors),
            next: offset,
        }
    }
}

/// Starts `count` loops keeping `max_connections` connections in all;
/// requests they cannot answer go to `jobs`. They stop when `ctx.shutdown`
/// is triggered, closing their connections.
pub fn start(
    count: usize,
    max_connections: usize,
    ctx: &Arc<Context>,
    jobs: &Sender<Job>,
) -> io::Result<(Loops, Vec<JoinHandle<()>>)> {
    let count = count.max(1);
    let mut doors = Vec::with_capacity(count);
    let mut loops = Vec::with_capacity(count);
    for _ in 0..count {
        let (connections, arrivals) = crossbeam_channel::bounded(DOOR_CAPACITY);
        let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(&wake, EpollEvent::new(EpollFlags::EPOLLIN, WAKE_TOKEN))?;
        doors.push(Door { connections, wake });
        loops.push(EventLoop {
            id: loops.len(),
            epoll,
            arrivals,
            connections: Vec::new(),
            free: Vec::new(),
            open: 0,
            max: max_connections.div_ceil(count).max(1),
            ctx: Arc::clone(ctx),
            jobs: jobs.clone(),
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

/// One persistent connection in a loop.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Received, not served yet: part of a head, or pipelined requests.
    pending: Vec<u8>,
    /// The part of an answer the socket has not taken yet.
    unsent: Vec<u8>,
    /// Close once `unsent` is sent.
    close_after: bool,
    /// Registered for EPOLLOUT (while `unsent` is not empty) rather than
    /// EPOLLIN.
    waiting_to_send: bool,
    /// In the loop's `again` list (at most once, or a client pipelining
    /// without end would get one more budget per pass).
    queued: bool,
    answered: bool,
    /// When the head under way, or the answer under way, is too late.
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
            && self.unsent.is_empty()
            && self.pending.iter().all(|&b| matches!(b, b'\r' | b'\n'))
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
    /// To a worker, with the bytes received.
    Worker,
}

struct EventLoop {
    /// Its index among the loops: workers give connections back to it.
    id: usize,
    epoll: Epoll,
    arrivals: Receiver<Incoming>,
    /// Slots indexed by epoll token.
    connections: Vec<Option<Connection>>,
    free: Vec<usize>,
    open: usize,
    max: usize,
    ctx: Arc<Context>,
    jobs: Sender<Job>,
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
            } else if self.open == 0 {
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
                if let Some(Some(connection)) = self.connections.get_mut(token) {
                    connection.queued = false;
                    self.drive(token);
                }
            }
            debug_assert!(self.again.len() <= self.open);
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
        matches!(self.connections.get(token), Some(Some(c)) if c.queued)
    }

    /// Registers the connections the acceptors and workers sent.
    fn admit_arrivals(&mut self) {
        while let Ok(incoming) = self.arrivals.try_recv() {
            if self.open >= self.max && !self.close_longest_idle() {
                if incoming.answered {
                    // A persistent connection given back by a worker: a 503
                    // out of the blue would read as the answer to the
                    // client's next request; a close tells it to retry.
                    conn::push_out(&incoming.stream);
                } else {
                    conn::refuse_at_once(
                        &incoming.stream,
                        Status::ServiceUnavailable,
                        self.ctx.closing_mode(),
                    );
                }
                continue;
            }
            if let Err(e) = self.admit(incoming) {
                self.ctx.logger.problem(format!("boucle : {e}"));
            }
        }
    }

    fn admit(&mut self, incoming: Incoming) -> io::Result<()> {
        let Incoming {
            stream,
            peer,
            pending,
            answered,
        } = incoming;
        stream.set_nonblocking(true)?;
        // Each answer is one send: nothing to gain from Nagle, only
        // delayed-ACK stalls to lose.
        stream.set_nodelay(true)?;
        let token = self.free.last().copied().unwrap_or(self.connections.len());
        self.epoll
            .add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, token as u64))?;
        if token < self.connections.len() {
            self.free.pop();
        }
        let connection = Connection {
            stream,
            peer,
            pending,
            unsent: Vec::new(),
            close_after: false,
            waiting_to_send: false,
            queued: false,
            answered,
            deadline: Instant::now() + self.ctx.idle_timeout,
        };
        let has_pending = !connection.pending.is_empty();
        if token == self.connections.len() {
            self.connections.push(Some(connection));
        } else {
            self.connections[token] = Some(connection);
        }
        self.open += 1;
        // Bytes already read do not make the socket readable again.
        if has_pending {
            self.drive(token);
        }
        Ok(())
    }

    fn drive(&mut self, token: usize) {
        let Some(Some(connection)) = self.connections.get_mut(token) else {
            return;
        };
        // A bug in serving one connection must not take the loop's other
        // connections down with it: that connection is closed, the loop
        // carries on (as the workers do).
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
                let want_out = !connection.unsent.is_empty();
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
            Next::Worker => {
                if let Some(connection) = self.remove(token) {
                    self.to_worker(connection);
                }
            }
        }
    }

    fn remove(&mut self, token: usize) -> Option<Connection> {
        let connection = self.connections.get_mut(token)?.take()?;
        self.free.push(token);
        self.open -= 1;
        Some(connection)
    }

    fn to_worker(&self, connection: Connection) {
        let Connection {
            stream,
            peer,
            pending,
            deadline,
            ..
        } = connection;
        // Closing is enough to leave the epoll set, but the descriptor
        // lives on, in a worker.
        let _ = self.epoll.delete(&stream);
        if stream.set_nonblocking(false).is_err() {
            return;
        }
        // The head's delay runs on: the worker gets what is left of it.
        let left = deadline.saturating_duration_since(Instant::now());
        let start = Start::Fresh {
            prefix: pending,
            silent_for: self.ctx.idle_timeout.saturating_sub(left),
        };
        match self.jobs.try_send(Job {
            stream,
            peer,
            start,
            home: Some(self.id),
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => conn::refuse_at_once(
                &job.stream,
                Status::ServiceUnavailable,
                self.ctx.closing_mode(),
            ),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Closes the connection that has been idle the longest, if one is.
    fn close_longest_idle(&mut self) -> bool {
        let longest = self
            .connections
            .iter()
            .enumerate()
            .filter_map(|(token, slot)| slot.as_ref().map(|c| (token, c)))
            .filter(|(_, c)| c.is_idle())
            .min_by_key(|(_, c)| c.deadline)
            .map(|(token, _)| token);
        longest.and_then(|token| self.remove(token)).is_some()
    }

    /// Ends the connections whose deadline has passed.
    fn sweep(&mut self, now: Instant) {
        for token in 0..self.connections.len() {
            let late = matches!(&self.connections[token], Some(c) if c.deadline <= now);
            if !late {
                continue;
            }
            let Some(connection) = self.remove(token) else {
                continue;
            };
            if !connection.unsent.is_empty() {
                // Too slow a reader: reset, dropping what the kernel holds.
                let _ = conn::too_slow(&connection.stream);
            } else if !connection.is_idle() {
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
    connection.pending.drain(..served_up_to);
    next
}

/// [`step`], with `pending[..*served_up_to]` served already.
fn advance(
    connection: &mut Connection,
    served_up_to: &mut usize,
    ctx: &Context,
    received: &mut [u8],
    buffers: &mut Buffers,
) -> Next {
    let fd = connection.stream.as_raw_fd();
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    let mut served = 0;
    // Whether `pending` may hold a whole head (a head ends with a `\n`).
    let mut look = true;
    // Whether the socket may hold more bytes.
    let mut readable = true;
    loop {
        if !connection.unsent.is_empty() {
            match send(fd, &connection.unsent, flags) {
                Ok(sent) => drop(connection.unsent.drain(..sent)),
                Err(Errno::EAGAIN | Errno::EINTR) => return Next::Wait,
                Err(_) => return Next::Close,
            }
            if !connection.unsent.is_empty() {
                return Next::Wait;
            }
            // Its buffer may be large: give it back.
            connection.unsent = Vec::new();
            if connection.close_after {
                conn::push_out(&connection.stream);
                return Next::Close;
            }
            connection.answered = true;
            connection.deadline = Instant::now() + ctx.idle_timeout;
        }
        if look && connection.pending.len() > *served_up_to {
            match conn::answer_pending(&connection.pending[*served_up_to..], ctx, buffers) {
                Pending::Answered {
                    consumed,
                    keep_open,
                } => {
                    *served_up_to += consumed;
                    served += 1;
                    let out = buffers.answer();
                    let sent = match send(fd, out, flags) {
                        Ok(sent) => sent,
                        Err(Errno::EAGAIN | Errno::EINTR) => 0,
                        Err(_) => return Next::Close,
                    };
                    if sent < out.len() {
                        connection.unsent.extend_from_slice(&out[sent..]);
                        connection.close_after = !keep_open;
                        connection.deadline = Instant::now() + ctx.answer_timeout;
                        return Next::Wait;
                    }
                    if !keep_open {
                        conn::push_out(&connection.stream);
                        return Next::Close;
                    }
                    connection.answered = true;
                    connection.deadline = Instant::now() + ctx.idle_timeout;
                    if served == FAIRNESS_BUDGET {
                        return Next::Again;
                    }
                    continue;
                }
                Pending::ForWorker => return Next::Worker,
                Pending::Incomplete => look = false,
            }
        }
        if !readable {
            // Level-triggered epoll tells when more comes.
            return Next::Wait;
        }
        // What is left is at most a head under way.
        connection.pending.drain(..*served_up_to);
        *served_up_to = 0;
        match recv(fd, received, MsgFlags::MSG_DONTWAIT) {
            // The client closed: a head cut short is still served (a
            // `printf … | nc` user forgets the blank line), by a worker.
            Ok(0) if connection.pending.is_empty() => return Next::Close,
            Ok(0) => return Next::Worker,
            Ok(n) => {
                let chunk = &received[..n];
                look = chunk.contains(&b'\n') || connection.pending.len() + n > MAX_HEAD_BYTES;
                readable = n == received.len();
                connection.pending.extend_from_slice(chunk);
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

    /// Bigger than the small socket buffers below, small enough for a loop
    /// to answer itself.
    const PAGE_LEN: usize = 60_000;
    const REQUEST: &[u8] = b"GET /gros.html HTTP/1.1\r\n\r\n";
    const SMALL_REQUEST: &[u8] = b"GET /petit.html HTTP/1.1\r\n\r\n";
    const SMALL_ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length:2\r\n\r\np\n";

    /// One loop serving a root with a `PAGE_LEN` page and a small one.
    struct Fixture {
        loops: Loops,
        handles: Vec<JoinHandle<()>>,
        ctx: Arc<Context>,
        _jobs: Receiver<Job>,
        _logger: crate::log::LoggerThread,
        _root: tempfile::TempDir,
    }

    impl Fixture {
        fn new(answer_timeout: Duration) -> Fixture {
            Fixture::with(8, |ctx| ctx.answer_timeout = answer_timeout)
        }

        /// A loop keeping at most `max_connections`, its context set by
        /// `configure`.
        fn with(max_connections: usize, configure: impl FnOnce(&mut Context)) -> Fixture {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(root.path().join("en")).unwrap();
            std::fs::write(root.path().join("en/gros.html"), "g".repeat(PAGE_LEN)).unwrap();
            std::fs::write(root.path().join("en/petit.html"), "p").unwrap();
            let (mut ctx, logger) = conn::test_context(root.path());
            ctx.keep_alive = true;
            configure(&mut ctx);
            let ctx = Arc::new(ctx);
            let (jobs, jobs_rx) = crossbeam_channel::bounded(4);
            let (loops, handles) = start(1, max_connections, &ctx, &jobs).unwrap();
            Fixture {
                loops,
                handles,
                ctx,
                _jobs: jobs_rx,
                _logger: logger,
                _root: root,
            }
        }

        /// A client whose connection the loop serves through a small send
        /// buffer, so that an answer takes several sends; `rcvbuf` sets the
        /// client's receive buffer (small ones make loopback TCP slow).
        fn client(&mut self, rcvbuf: Option<usize>) -> TcpStream {
            let (client, incoming) = connection(rcvbuf, false);
            setsockopt(&incoming.stream, sockopt::SndBuf, &4096).unwrap();
            self.loops.send(incoming).unwrap();
            client
        }
    }

    /// A connected pair: the client side, and the server side as a loop
    /// receives it (`answered`: given back by a worker).
    fn connection(rcvbuf: Option<usize>, answered: bool) -> (TcpStream, Incoming) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        if let Some(size) = rcvbuf {
            setsockopt(&client, sockopt::RcvBuf, &size).unwrap();
        }
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let incoming = Incoming {
            stream,
            peer,
            pending: Vec::new(),
            answered,
        };
        (client, incoming)
    }

    /// Reads until the server closes; `None` if it reset the connection.
    fn read_until_closed(client: &mut TcpStream) -> Option<Vec<u8>> {
        let mut got = Vec::new();
        client.read_to_end(&mut got).ok().map(|_| got)
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            self.ctx.shutdown.trigger();
            for handle in self.handles.drain(..) {
                // A loop that panicked fails the test, unless it already
                // failed (a panic in a panic aborts, hiding the first).
                if handle.join().is_err() && !std::thread::panicking() {
                    panic!("a loop panicked");
                }
            }
        }
    }

    fn expected_answer(close: bool) -> Vec<u8> {
        let connection = if close { "Connection:close\r\n" } else { "" };
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length:{}\r\n{connection}\r\n",
            PAGE_LEN + 1
        )
        .into_bytes();
        out.extend(std::iter::repeat(b'g').take(PAGE_LEN));
        out.push(b'\n');
        out
    }

    #[test]
    fn answers_the_socket_cannot_take_at_once_go_out_as_the_client_reads() {
        let mut fixture = Fixture::new(Duration::from_secs(5));
        let mut client = fixture.client(None);
        // Three pipelined requests, and nothing read for a while: the loop
        // must wait for the socket, then go on with the next request.
        client.write_all(&REQUEST.repeat(3)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut got = vec![0; 3 * expected_answer(false).len()];
        client.read_exact(&mut got).unwrap();
        assert!(
            got == expected_answer(false).repeat(3),
            "three whole answers"
        );
        // The connection is still served, and closed when asked.
        client
            .write_all(b"GET /gros.html HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut last = Vec::new();
        client.read_to_end(&mut last).unwrap();
        assert!(last == expected_answer(true), "{} bytes", last.len());
    }

    #[test]
    fn a_client_that_does_not_read_is_cut_off_at_the_answer_deadline() {
        let mut fixture = Fixture::new(Duration::from_millis(300));
        let mut client = fixture.client(Some(4096));
        client.write_all(&REQUEST.repeat(3)).unwrap();
        // Well past the deadline (and a sweep).
        std::thread::sleep(Duration::from_millis(1000));
        let start = Instant::now();
        let mut got = 0;
        let mut buf = [0u8; 4096];
        loop {
            match client.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        assert!(
            got < 3 * expected_answer(false).len(),
            "all {got} bytes sent"
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_client_pipelining_without_end_gets_one_budget_per_pass() {
        // More than one `recv` of pipelined requests: the socket stays
        // readable while the loop works through them, so epoll reports it
        // on every pass while it waits in `again` (counted once; the
        // loop's debug assertion checks it, and would kill the loop: test
        // builds are debug builds).
        const COUNT: usize = 4000;
        let mut fixture = Fixture::new(Duration::from_secs(5));
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
    fn a_stray_empty_line_after_a_request_leaves_the_connection_idle() {
        let mut fixture = Fixture::with(8, |ctx| ctx.idle_timeout = Duration::from_millis(300));
        let mut client = fixture.client(None);
        let mut with_crlf = SMALL_REQUEST.to_vec();
        with_crlf.extend_from_slice(b"\r\n");
        client.write_all(&with_crlf).unwrap();
        // Idle, so closed without a 408 at the idle deadline.
        let got = read_until_closed(&mut client).expect("a close, not a reset");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(SMALL_ANSWER)
        );
    }

    #[test]
    fn a_full_loop_closes_a_connection_given_back_and_refuses_a_new_one() {
        let mut fixture = Fixture::with(1, |_| {});
        // The one place, taken by a request under way (not idle).
        let mut busy = fixture.client(None);
        busy.write_all(b"GET /petit").unwrap();
        // Given back by a worker: a 503 would read as the answer to the
        // client's next request, so it is closed without a word.
        let (mut given_back, incoming) = connection(None, true);
        fixture.loops.send(incoming).unwrap();
        assert_eq!(read_until_closed(&mut given_back), Some(Vec::new()));
        // A new connection gets the 503.
        let (mut new, incoming) = connection(None, false);
        fixture.loops.send(incoming).unwrap();
        let got = read_until_closed(&mut new).unwrap();
        assert!(
            got.starts_with(b"HTTP/1.1 503 "),
            "{}",
            String::from_utf8_lossy(&got)
        );
        // The request under way is still served.
        busy.write_all(b".html HTTP/1.1\r\n\r\n").unwrap();
        let mut answer = vec![0; SMALL_ANSWER.len()];
        busy.read_exact(&mut answer).unwrap();
        assert_eq!(answer, SMALL_ANSWER);
    }

    #[test]
    fn a_connection_goes_back_to_the_loop_it_came_from() {
        let (to_first, first) = crossbeam_channel::bounded(4);
        let (to_second, second) = crossbeam_channel::bounded(4);
        let door = |connections| Door {
            connections,
            wake: EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap(),
        };
        let mut loops = Loops {
            doors: vec![door(to_first), door(to_second)].into(),
            next: 0,
        };
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (client, incoming) = connection(None, true);
            clients.push(client);
            loops.send_back(Some(1), incoming).unwrap();
        }
        assert_eq!((first.len(), second.len()), (0, 3));
        // From no loop: in turn.
        for _ in 0..2 {
            let (client, incoming) = connection(None, true);
            clients.push(client);
            loops.send_back(None, incoming).unwrap();
        }
        assert_eq!((first.len(), second.len()), (1, 4));
    }

    #[test]
    fn a_panic_closes_its_connection_and_the_loop_carries_on() {
        let mut fixture = Fixture::new(Duration::from_secs(5));
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
    fn only_a_connection_between_requests_is_idle() {
        let (_client, incoming) = connection(None, true);
        let mut connection = Connection {
            stream: incoming.stream,
            peer: incoming.peer,
            pending: b"\r\n".to_vec(),
            unsent: Vec::new(),
            close_after: false,
            waiting_to_send: false,
            queued: false,
            answered: true,
            deadline: Instant::now(),
        };
        assert!(connection.is_idle(), "a stray CRLF");
        connection.queued = true;
        assert!(!connection.is_idle(), "pipelined requests in the kernel");
        connection.queued = false;
        connection.pending.extend_from_slice(b"GET /");
        assert!(!connection.is_idle(), "a head under way");
        connection.pending.clear();
        connection.answered = false;
        assert!(!connection.is_idle(), "no request yet");
    }
}
