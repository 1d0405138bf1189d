//! Per-client bounded writer queues, for hub-style (chat) servers.
//!
//! A hub thread owns a server's state and must never block on a socket: one
//! client that stops reading would otherwise stall everyone. So each client
//! gets a writer thread fed by a bounded queue; the hub only ever calls
//! [`ClientWriter::send`], which fails at once when the queue is full, and the
//! hub then drops that client (IRC's "SendQ exceeded").
//!
//! ```mermaid
//! flowchart LR
//!     R1[reader thread, client 1] -- events --> H[hub thread: owns all state]
//!     R2[reader thread, client 2] -- events --> H
//!     H -- "try_send (never blocks)" --> Q1[(bounded queue 1)] --> W1[writer thread 1] --> S1[socket 1]
//!     H -- "try_send (never blocks)" --> Q2[(bounded queue 2)] --> W2[writer thread 2] --> S2[socket 2]
//! ```
//!
//! The writer coalesces whatever is queued into one `write` call, so a busy
//! client costs one system call per burst rather than one per message. And
//! when the writer of a plain TCP stream sleeps with nothing queued,
//! [`ClientWriter::send`] writes the message itself without waiting
//! (`MSG_DONTWAIT`): the writer thread is woken only for what the socket
//! did not take, so a client who keeps up costs no wake-up at all.
//!
//! A full queue alone does not free anything: the writer thread may be stuck
//! in `write_all` on a peer that never reads. [`ClientWriter::for_stream`]
//! therefore gives every write a deadline (the socket's send timeout, set to
//! what is left of it) and [`ClientWriter::disconnect`] shuts the socket
//! down, which wakes that write at once; the connection's reader thread sees
//! the end of stream too, so the whole client goes away.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::stream::Stream;

/// A message shared by every recipient's queue (fan-out without copies).
pub type Message = Arc<[u8]>;

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The client is not reading fast enough: its queue is full.
    QueueFull,
    /// The writer thread has ended (the connection is closed).
    Closed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::QueueFull => "file d'envoi pleine (SendQ exceeded)",
            SendError::Closed => "connexion fermée",
        })
    }
}

impl std::error::Error for SendError {}

/// The hub's handle on one client's writer thread. Dropping it lets the
/// writer flush what is queued and end.
#[derive(Debug, Clone)]
pub struct ClientWriter {
    /// The queue, shared with the writer thread; the writer ends once the
    /// last handle is dropped (the guard's `Drop`).
    queue: Arc<SenderGuard>,
    /// A handle on the socket, to cut it (for [`ClientWriter::for_stream`]).
    stream: Option<Arc<Stream>>,
}

/// A bounded queue under a mutex, rather than a channel: a channel's
/// blocking receive spins and yields (`sched_yield`) before it sleeps, once
/// per burst per writer, which measured a fifth of a busy chat server's CPU
/// time. Here the writer sleeps on a condition variable at once and the
/// hub wakes it only when it sleeps.
#[derive(Debug)]
struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    messages: VecDeque<Message>,
    /// The writer sleeps, waiting for a message: a send must wake it.
    sleeping: bool,
    /// A [`ClientWriter::send`] is writing to the socket itself, outside
    /// the lock: the writer must not write meanwhile (the bytes would
    /// interleave), so it keeps sleeping until that send is done.
    direct: bool,
    /// Every [`ClientWriter`] is gone: flush and end.
    senders_gone: bool,
    /// The writer thread has ended: sends fail with `Closed`.
    writer_gone: bool,
}

impl Queue {
    fn new(capacity: usize) -> Arc<Queue> {
        Arc::new(Queue {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves a consistent queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer's side: waits for messages and takes them, up to
    /// [`COALESCE_LIMIT`] bytes (at least one message) into `out`. False
    /// once the senders are gone and everything was taken.
    fn take(&self, out: &mut Vec<Message>) -> bool {
        let mut state = self.lock();
        while state.messages.is_empty() || state.direct {
            if state.senders_gone && !state.direct {
                return false;
            }
            state.sleeping = true;
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.sleeping = false;
        let mut bytes = 0;
        while let Some(m) = state.messages.front() {
            if bytes > 0 && bytes + m.len() > COALESCE_LIMIT {
                break;
            }
            bytes += m.len();
            out.extend(state.messages.pop_front());
        }
        true
    }

    /// The writer thread has ended: nothing more is accepted.
    fn writer_ended(&self) {
        let mut state = self.lock();
        state.writer_gone = true;
        state.messages.clear();
    }
}

/// The senders' shared part: its drop (the last [`ClientWriter`]'s) tells
/// the writer to flush and end.
#[derive(Debug)]
struct SenderGuard(Arc<Queue>);

impl Drop for SenderGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.senders_gone = true;
        if state.sleeping {
            self.0.ready.notify_one();
        }
    }
}

impl ClientWriter {
    /// Starts a writer thread over `sink` with room for `capacity` queued
    /// messages. The thread ends when every `ClientWriter` clone is dropped
    /// (after writing what was queued) or when a write fails.
    pub fn spawn<W: Write + Send + 'static>(
        sink: W,
        capacity: usize,
    ) -> (ClientWriter, JoinHandle<()>) {
        let queue = Queue::new(capacity);
        let rx = Arc::clone(&queue);
        let handle = thread::spawn(move || {
            drain(sink, &rx, |sink, batch| {
                sink.write_all(batch).and_then(|()| sink.flush())
            });
            rx.writer_ended();
        });
        (
            ClientWriter {
                queue: Arc::new(SenderGuard(queue)),
                stream: None,
            },
            handle,
        )
    }

    /// Starts a writer thread over a stream (plain or TLS). Each burst must
    /// be written within `deadline`, else the connection is shut down; a
    /// failed write shuts it down too, so the client's reader thread ends.
    pub fn for_stream(
        stream: Stream,
        capacity: usize,
        deadline: Duration,
    ) -> (ClientWriter, JoinHandle<()>) {
        let queue = Queue::new(capacity);
        let rx = Arc::clone(&queue);
        let stream = Arc::new(stream);
        let sink = Arc::clone(&stream);
        let handle = thread::spawn(move || {
            // The deadline of a burst written in one go; set again only
            // when a burst takes several writes (saves a system call per
            // burst).
            let _ = sink.set_write_timeout(Some(deadline));
            drain(&*sink, &rx, |out: &mut &Stream, batch| {
                write_before(out, batch, deadline)
            });
            rx.writer_ended();
            let _ = sink.shutdown();
        });
        (
            ClientWriter {
                queue: Arc::new(SenderGuard(queue)),
                stream: Some(stream),
            },
            handle,
        )
    }

    /// Cuts the connection now (both directions): a writer stuck on a peer
    /// that does not read wakes with an error and ends. Used when
    /// [`ClientWriter::send`] reports [`SendError::QueueFull`].
    pub fn disconnect(&self) {
        if let Some(stream) = &self.stream {
            let _ = stream.shutdown();
        }
    }

    /// Queues a message without ever blocking (but on the queue's lock,
    /// which the writer holds only to take messages out).
    ///
    /// When the writer of a plain TCP stream sleeps with nothing queued (so
    /// nothing of an earlier message is still being written), the message
    /// is first written here, without waiting ([`Stream::write_now`]): the
    /// writer is woken only for what the socket did not take. That spares a
    /// wake-up and two context switches per message to a client who keeps
    /// up, which were most of a busy chat server's CPU time.
    pub fn send(&self, message: Message) -> Result<(), SendError> {
        let queue = &self.queue.0;
        let mut state = queue.lock();
        if state.writer_gone {
            return Err(SendError::Closed);
        }
        if state.messages.len() >= queue.capacity {
            return Err(SendError::QueueFull);
        }
        match &self.stream {
            Some(stream) if state.sleeping && !state.direct && state.messages.is_empty() => {
                // Nothing of an earlier message is left to write and the
                // writer sleeps: write here, without the lock (no lock is
                // ever held across a socket write), `direct` keeping the
                // writer and other sends off the socket meanwhile.
                state.direct = true;
                drop(state);
                // Never waits; on an error (full socket buffer, or one the
                // writer will meet and end on) nothing was taken.
                let taken = stream.write_now(&message).unwrap_or(0);
                let mut state = queue.lock();
                state.direct = false;
                if taken < message.len() {
                    // Before whatever other sends queued meanwhile.
                    state.messages.push_front(Arc::from(&message[taken..]));
                }
                if !state.messages.is_empty() && state.sleeping {
                    state.sleeping = false;
                    queue.ready.notify_one();
                }
            }
            _ => {
                state.messages.push_back(message);
                if state.sleeping && !state.direct {
                    state.sleeping = false;
                    queue.ready.notify_one();
                }
            }
        }
        Ok(())
    }
}

/// Most bytes coalesced into one write: enough to amortise the system call,
/// small enough to keep memory per client modest.
const COALESCE_LIMIT: usize = 64 * 1024;

/// Writes `batch` whole before `deadline` from now. The socket's send
/// timeout is `deadline` for the first write (set once by the caller) and
/// what is left of it for the next ones, so a peer reading a byte now and
/// then cannot stretch one burst forever.
fn write_before(mut out: &Stream, batch: &[u8], deadline: Duration) -> io::Result<()> {
    let end = Instant::now() + deadline;
    let mut rest = batch;
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            out.set_write_timeout(Some(left))?;
        }
        match out.write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                rest = &rest[n..];
                if !first && rest.is_empty() {
                    // The next burst starts with the whole deadline again.
                    out.set_write_timeout(Some(deadline))?;
                }
                first = false;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn drain<W>(mut sink: W, queue: &Queue, write: impl Fn(&mut W, &[u8]) -> io::Result<()>) {
    let mut taken = Vec::new();
    let mut batch = Vec::with_capacity(4096);
    while queue.take(&mut taken) {
        batch.clear();
        for m in taken.drain(..) {
            batch.extend_from_slice(&m);
        }
        if write(&mut sink, &batch).is_err() {
            // The peer is gone; the hub learns it from `send` -> Closed.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Read};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Mutex;

    /// A sink that records each write call separately.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn delivers_in_order_and_flushes_on_drop() {
        let sink = Recorder::default();
        let (writer, handle) = ClientWriter::spawn(sink.clone(), 100);
        for i in 0..50u8 {
            writer.send(Arc::from(vec![i])).unwrap();
        }
        drop(writer);
        handle.join().unwrap();
        let all: Vec<u8> = sink.0.lock().unwrap().concat();
        assert_eq!(all, (0..50).collect::<Vec<u8>>());
    }

    #[test]
    fn a_client_that_never_reads_fills_its_queue_without_blocking_the_sender() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stalled = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let (writer, handle) = ClientWriter::spawn(server_side, 16);
        let chunk: Message = Arc::from(vec![b'x'; 64 * 1024]);
        // The socket buffers fill, the writer blocks in write, the queue fills:
        // `send` must then report QueueFull instead of blocking.
        let mut full = false;
        for _ in 0..10_000 {
            if writer.send(Arc::clone(&chunk)) == Err(SendError::QueueFull) {
                full = true;
                break;
            }
        }
        assert!(full, "queue never reported full");
        // Once the peer goes away the writer thread ends.
        drop(stalled);
        drop(writer);
        handle.join().unwrap();
    }

    #[test]
    fn disconnect_frees_a_writer_stuck_on_a_peer_that_never_reads() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut stalled = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        // A deadline far away: only `disconnect` can free the writer in time.
        let (writer, handle) =
            ClientWriter::for_stream(Stream::plain(server_side), 4, Duration::from_secs(600));
        let chunk: Message = Arc::from(vec![b'x'; 256 * 1024]);
        while writer.send(Arc::clone(&chunk)) != Err(SendError::QueueFull) {}
        let started = Instant::now();
        writer.disconnect();
        handle.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(30));
        // The peer sees the connection end after what was already sent.
        stalled
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut sink = Vec::new();
        let _ = stalled.read_to_end(&mut sink);
        assert_eq!(writer.send(Arc::clone(&chunk)), Err(SendError::Closed));
    }

    #[test]
    fn the_write_deadline_cuts_a_peer_that_never_reads() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _stalled = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let (writer, handle) =
            ClientWriter::for_stream(Stream::plain(server_side), 4, Duration::from_millis(200));
        let chunk: Message = Arc::from(vec![b'x'; 256 * 1024]);
        let mut closed = false;
        for _ in 0..3000 {
            if writer.send(Arc::clone(&chunk)) == Err(SendError::Closed) {
                closed = true;
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        assert!(
            closed,
            "the writer never gave up on a peer that does not read"
        );
        handle.join().unwrap();
    }

    /// A writer over a loopback connection whose peer reads everything
    /// (until the writer ends) on a thread that returns the bytes.
    fn writer_to_a_reading_peer() -> (ClientWriter, JoinHandle<()>, JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let (writer, handle) =
            ClientWriter::for_stream(Stream::plain(server_side), 100_000, Duration::from_secs(60));
        let reading = thread::spawn(move || {
            let mut got = Vec::new();
            peer.set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            peer.read_to_end(&mut got).unwrap();
            got
        });
        (writer, handle, reading)
    }

    #[test]
    fn immediate_and_queued_writes_keep_the_bytes_in_order() {
        // The peer reads all along, so the writer catches up and sleeps.
        let (writer, handle, reading) = writer_to_a_reading_peer();
        // After a pause the writer sleeps: each round's first message is
        // written at once, and at 8 MiB (more than a socket buffer) only
        // partly; its rest and the small messages behind it go through
        // the writer. Then small ones only, written at once or queued.
        let mut expected = Vec::new();
        let mut i = 0u32;
        for round in 0..6 {
            thread::sleep(Duration::from_millis(20));
            let big = if round % 2 == 0 { 8 << 20 } else { 1 };
            for len in std::iter::once(big).chain((0..2000).map(|k| 1 + k % 40)) {
                let message: Vec<u8> = (0..len).map(|k| (i as usize + k) as u8).collect();
                expected.extend_from_slice(&message);
                writer.send(Arc::from(message)).unwrap();
                i += 1;
            }
        }
        drop(writer);
        handle.join().unwrap();
        let got = reading.join().unwrap();
        assert!(got == expected, "bytes out of order or missing");
    }

    #[test]
    fn concurrent_senders_never_interleave_and_keep_each_ones_order() {
        // Two threads send at once: a send writing to the socket outside
        // the lock must keep the writer and the other sender off it.
        let (writer, handle, reading) = writer_to_a_reading_peer();
        const SENT: u32 = 500;
        let senders: Vec<_> = (0..2u8)
            .map(|who| {
                let writer = writer.clone();
                thread::spawn(move || {
                    for seq in 0..SENT {
                        // Lines of up to 200 kB: a socket buffer often takes
                        // only part of one, the rest going through the queue.
                        let pad = (seq as usize * 7919) % 200_000;
                        let line = format!("{who} {seq} {}\n", "x".repeat(pad));
                        writer.send(Arc::from(line.into_bytes())).unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        drop(writer);
        handle.join().unwrap();
        let got = String::from_utf8(reading.join().unwrap()).unwrap();
        let mut next = [0u32; 2];
        for line in got.lines() {
            let mut fields = line.split(' ');
            let who: usize = fields.next().unwrap().parse().unwrap();
            let seq: u32 = fields.next().unwrap().parse().unwrap();
            let pad = fields.next().unwrap();
            assert!(
                fields.next().is_none() && pad.bytes().all(|b| b == b'x'),
                "interleaved"
            );
            assert_eq!(seq, next[who], "sender {who} out of order");
            next[who] += 1;
        }
        assert_eq!(next, [SENT, SENT]);
    }

    #[test]
    fn a_closed_peer_is_reported_as_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let (writer, handle) = ClientWriter::spawn(server_side, 4);
        writer.send(Arc::from(&b"salut\n"[..])).unwrap();
        let mut got = [0u8; 6];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"salut\n");
        drop(peer);
        // Writes to a reset connection fail; the thread ends and sends fail.
        let mut closed = false;
        for _ in 0..1000 {
            if writer.send(Arc::from(&b"x"[..])) == Err(SendError::Closed) {
                closed = true;
                break;
            }
            thread::sleep(std::time::Duration::from_millis(2));
        }
        assert!(closed, "writer never noticed the closed peer");
        handle.join().unwrap();
    }
}
