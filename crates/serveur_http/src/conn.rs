//! One connection, from its first byte to its close.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown as Direction, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use protocols::http::{self, Mode, Request, Status, Version, MAX_HEADER_LINES, MAX_HEAD_BYTES};
use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::Shutdown;

use crate::log::Logger;
use crate::site::{Answer, Body, Site};

/// The sheet's 17.1 answer (`--bien-recu`).
pub const BIEN_RECU: &[u8] = "Bien reçu !".as_bytes();

/// What the acceptors and workers share.
#[derive(Debug)]
pub struct Context {
    pub site: Site,
    pub logger: Logger,
    pub keep_alive: bool,
    pub bien_recu: bool,
    pub idle_timeout: Duration,
    /// How long the kernel holds a silent connection before `accept`
    /// returns it (`TCP_DEFER_ACCEPT`; zero when not set).
    pub accept_deferral: Duration,
    /// Deadline for sending one whole answer.
    pub answer_timeout: Duration,
    pub shutdown: Shutdown,
}

impl Context {
    /// The sheet's mode, one request per connection: the acceptors answer
    /// on their fast path and the listener is tuned for it (see
    /// [`crate::listener`]).
    pub fn one_request_mode(&self) -> bool {
        !self.keep_alive && !self.bien_recu
    }

    /// How long one blocked write may wait: also how often the answer's
    /// deadline is looked at.
    fn write_timeout(&self) -> Duration {
        self.idle_timeout.min(self.answer_timeout)
    }

    /// How an answer that ends the connection (an error, a 503) is framed.
    pub fn closing_mode(&self) -> Mode {
        if self.keep_alive {
            Mode::Persistent {
                keep_open: false,
                client_http10: false,
            }
        } else {
            Mode::Sheet
        }
    }
}

/// A worker's reusable buffers.
#[derive(Debug, Default)]
pub struct Buffers {
    head: Vec<u8>,
    line: Vec<u8>,
    out: Vec<u8>,
}

impl Buffers {
    /// The answer [`answer_pending`] built.
    pub fn answer(&self) -> &[u8] {
        &self.out
    }
}

/// A connection waiting for a worker.
#[derive(Debug)]
pub struct Job {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub start: Start,
    /// The event loop that handed it over, which gets it back if it stays
    /// open: the connection belongs to that loop's share of
    /// `--connexions-max`, and the others may be full.
    pub home: Option<usize>,
}

/// How a worker takes a connection over from an acceptor or an event loop.
#[derive(Debug)]
pub enum Start {
    /// Serve it; `prefix` holds what the acceptor already read from it,
    /// `silent_for` how long the client is known to have sent nothing
    /// before that (it counts against the idle delay).
    Fresh {
        prefix: Vec<u8>,
        silent_for: Duration,
    },
    /// The acceptor answered but the socket took only part of the answer:
    /// send the rest, then close.
    Finish { unsent: Vec<u8> },
}

/// What [`serve_if_ready`] did.
#[derive(Debug)]
pub enum Ready {
    /// Answered and done: close the socket.
    Done,
    /// Needs a worker (request not all there yet, an error to answer
    /// with a lingering close, a big file, keep-alive ...).
    Handoff(Start),
}

/// Test builds panic while serving this target (the pool's panic safety).
#[cfg(test)]
pub const PANIC_FOR_TESTS: &str = "/panique-de-test";

/// Panics if `head` asks for [`PANIC_FOR_TESTS`] (the workers and the event
/// loops both serve requests, and both must survive a bug).
#[cfg(test)]
fn panic_if_asked(head: &[u8]) {
    if head.starts_with(format!("GET {PANIC_FOR_TESTS} ").as_bytes()) {
        panic!("panne simulée");
    }
}

/// Largest answer the acceptor sends itself.
const INLINE_MAX: usize = 64 * 1024;

/// The acceptor's fast path. Most clients have sent their whole request by
/// the time the connection is accepted: then, if the answer is a page in
/// memory (200 or 404), the acceptor sends it at once with non-blocking
/// calls, sparing the hand-off to a worker (futex wakes and a context
/// switch: measured, 10 to 25 % of the CPU time of a `Connection: close`
/// request). Anything else goes to a worker, with the bytes already read.
/// Nothing here can block.
pub fn serve_if_ready(stream: &TcpStream, ctx: &Context, buffers: &mut Buffers) -> Ready {
    use nix::errno::Errno;
    use nix::sys::socket::{recv, send, MsgFlags};
    use std::os::fd::AsRawFd;

    let fresh = |data: &[u8]| {
        Ready::Handoff(Start::Fresh {
            prefix: data.to_vec(),
            silent_for: Duration::ZERO,
        })
    };
    if !ctx.one_request_mode() {
        return fresh(&[]);
    }
    let fd = stream.as_raw_fd();
    let mut data = [0u8; MAX_HEAD_BYTES];
    let n = match recv(fd, &mut data, MsgFlags::MSG_DONTWAIT) {
        Ok(0) => return Ready::Done,
        Ok(n) => n,
        // Accepted with nothing to read: with TCP_DEFER_ACCEPT, only once
        // the kernel has held the silent connection for the deferral.
        Err(Errno::EAGAIN | Errno::EINTR) => {
            return Ready::Handoff(Start::Fresh {
                prefix: Vec::new(),
                silent_for: ctx.accept_deferral,
            })
        }
        Err(_) => return Ready::Done,
    };
    let data = &data[..n];
    let mut reader = data;
    if n == MAX_HEAD_BYTES
        || read_head(&mut reader, &mut buffers.head, &mut buffers.line).ok()
            != Some(HeadRead::Complete)
    {
        return fresh(data);
    }
    if answer_in_memory(&buffers.head, ctx, &mut buffers.out).is_none() {
        return fresh(data);
    }
    let out = &buffers.out;
    match send(fd, out, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL) {
        Ok(sent) if sent == out.len() => {
            push_out(stream);
            Ready::Done
        }
        Ok(sent) => Ready::Handoff(Start::Finish {
            unsent: out[sent..].to_vec(),
        }),
        Err(Errno::EAGAIN | Errno::EINTR) => Ready::Handoff(Start::Finish {
            unsent: out.clone(),
        }),
        Err(_) => Ready::Done,
    }
}

/// Sends the rest of an answer the acceptor started.
fn finish_sending(stream: &TcpStream, unsent: &[u8], ctx: &Context) -> io::Result<()> {
    stream.set_write_timeout(Some(ctx.write_timeout()))?;
    write_all_by(stream, unsent, Instant::now() + ctx.answer_timeout)
}

/// How reading a request head ended.
#[derive(Debug, PartialEq, Eq)]
enum HeadRead {
    /// `buffers.head` holds the lines, each followed by `\n`.
    Complete,
    /// The stream ended before the blank line; `buffers.head` holds what
    /// came (a `printf … | nc` user forgets the blank line).
    CompleteAtEof,
    /// The peer closed before sending anything.
    Closed,
    /// Nothing complete came in time; `nothing` if not one byte came.
    TimedOut { nothing: bool },
    /// Over 8 KiB or 100 header lines.
    TooLarge,
}

/// What became of a connection a worker served.
#[derive(Debug)]
pub enum Served {
    /// Done with: the caller closes it.
    Closed,
    /// A persistent connection waiting for its next request: back to an
    /// event loop (see [`crate::persistent`]), with what was already read
    /// of the next request(s).
    KeepOpen { pending: Vec<u8> },
}

/// Serves one request of a connection (the sheet has one per connection;
/// with `--keep-alive`, the event loops serve the simple ones and hand the
/// others here).
pub fn serve(
    stream: &TcpStream,
    peer: SocketAddr,
    start: Start,
    ctx: &Context,
    buffers: &mut Buffers,
) -> Served {
    let result = match start {
        Start::Fresh { prefix, silent_for } => {
            serve_request(stream, peer, prefix, silent_for, ctx, buffers)
        }
        Start::Finish { unsent } => finish_sending(stream, &unsent, ctx).map(|()| Served::Closed),
    };
    if ctx.one_request_mode() {
        push_out(stream);
    }
    result.unwrap_or_else(|e| {
        // Timeouts and resets are the client's business; the rest is logged.
        if !matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::NotConnected
        ) {
            ctx.logger.problem(format!("{peer} : {e}"));
        }
        Served::Closed
    })
}

fn serve_request(
    stream: &TcpStream,
    peer: SocketAddr,
    prefix: Vec<u8>,
    silent_for: Duration,
    ctx: &Context,
    buffers: &mut Buffers,
) -> io::Result<Served> {
    stream.set_read_timeout(Some(ctx.idle_timeout))?;
    stream.set_write_timeout(Some(ctx.write_timeout()))?;
    let deadline = Instant::now() + ctx.idle_timeout.saturating_sub(silent_for);
    let mut reader = BufReader::with_capacity(
        MAX_HEAD_BYTES,
        DeadlineReader {
            stream,
            prefix,
            prefix_used: 0,
            deadline,
            timeout_set: ctx.idle_timeout,
        },
    );
    if ctx.bien_recu {
        return bien_recu(stream, &mut reader, ctx);
    }
    let read = read_head(&mut reader, &mut buffers.head, &mut buffers.line)?;
    let mode = ctx.closing_mode();
    match read {
        HeadRead::Complete | HeadRead::CompleteAtEof => {}
        HeadRead::Closed => return Ok(Served::Closed),
        HeadRead::TimedOut { .. } => {
            refuse(stream, Status::RequestTimeout, mode)?;
            return Ok(Served::Closed);
        }
        HeadRead::TooLarge => {
            ctx.logger
                .problem(format!("{peer} : en-tête trop grand, 431"));
            refuse(stream, Status::HeaderFieldsTooLarge, mode)?;
            return Ok(Served::Closed);
        }
    }
    ctx.logger.request(&buffers.head);
    #[cfg(test)]
    panic_if_asked(&buffers.head);
    let Ok(text) = std::str::from_utf8(&buffers.head) else {
        ctx.logger
            .problem(format!("{peer} : requête non UTF-8, 400"));
        refuse(stream, Status::BadRequest, mode)?;
        return Ok(Served::Closed);
    };
    let request = match Request::parse(text) {
        Ok(r) => r,
        Err(e) => {
            ctx.logger.problem(format!("{peer} : {e}"));
            refuse(stream, e.status, mode)?;
            return Ok(Served::Closed);
        }
    };
    let has_body = match request.has_body() {
        Ok(has_body) => has_body,
        Err(e) => {
            ctx.logger.problem(format!("{peer} : {e}"));
            refuse(stream, e.status, mode)?;
            return Ok(Served::Closed);
        }
    };
    let answer = ctx.site.answer(&request);
    let status = answer.status;
    let keep_open = keeps_open(ctx, &request, has_body, status);
    let mode = answer_mode(ctx, &request, keep_open);
    let head_only = request.method == "HEAD";
    let deadline = Instant::now() + ctx.answer_timeout;
    send(stream, answer, mode, head_only, &mut buffers.out, deadline)?;
    if keep_open {
        return Ok(Served::KeepOpen {
            pending: unread(reader),
        });
    }
    // Only an answer to a request we read whole can close at once.
    if has_body || !matches!(status, Status::Ok | Status::NotFound) {
        linger_close(stream)?;
    }
    Ok(Served::Closed)
}

/// Question 17.1 as the sheet's server does it: one `recv`, printed, then
/// « Bien reçu ! » and close. It does not wait for the blank line that ends
/// a request, so a student's first client, which may not send it, gets its
/// answer at once.
fn bien_recu(
    stream: &TcpStream,
    reader: &mut BufReader<DeadlineReader<'_>>,
    ctx: &Context,
) -> io::Result<Served> {
    let received = reader.fill_buf()?;
    if received.is_empty() {
        return Ok(Served::Closed);
    }
    // Printed as the other modes print a head: lines ending in "\n", the
    // request's blank line given by the printer.
    let mut text = Vec::with_capacity(received.len());
    for (i, &b) in received.iter().enumerate() {
        if !(b == b'\r' && received.get(i + 1) == Some(&b'\n')) {
            text.push(b);
        }
    }
    if text.ends_with(b"\n\n") {
        text.pop();
    }
    ctx.logger.request(&text);
    let mut out = stream;
    out.write_all(BIEN_RECU)?;
    linger_close(stream)?;
    Ok(Served::Closed)
}

/// What was read from the socket and not used yet: the next request(s) of a
/// persistent connection.
fn unread(reader: BufReader<DeadlineReader<'_>>) -> Vec<u8> {
    let mut rest = reader.buffer().to_vec();
    let inner = reader.into_inner();
    rest.extend_from_slice(&inner.prefix[inner.prefix_used..]);
    rest
}

/// Builds in `out` the answer to a whole request head when it needs no
/// worker: no body to skip, and a page in memory (200 or 404) for answer.
/// Logs the head then, and says whether the connection stays open after
/// the answer. `None` leaves the request to a worker (an error to answer
/// with a lingering close, a body, a big file, `--bien-recu`).
fn answer_in_memory(head: &[u8], ctx: &Context, out: &mut Vec<u8>) -> Option<bool> {
    if ctx.bien_recu {
        return None;
    }
    let request = std::str::from_utf8(head)
        .ok()
        .and_then(|text| Request::parse(text).ok())?;
    // A body, or framing to refuse with a 400: the worker's business.
    if request.has_body() != Ok(false) {
        return None;
    }
    let answer = ctx.site.answer(&request);
    let body: &[u8] = match &answer.body {
        Body::Page(page) => &page.body,
        Body::Static(bytes) => bytes,
        Body::Large(_) => return None,
    };
    if !matches!(answer.status, Status::Ok | Status::NotFound) || body.len() > INLINE_MAX {
        return None;
    }
    let keep_open = keeps_open(ctx, &request, false, answer.status);
    ctx.logger.request(head);
    out.clear();
    answer
        .head(answer_mode(ctx, &request, keep_open))
        .write_to(out);
    if request.method != "HEAD" {
        out.extend_from_slice(body);
    }
    Some(keep_open)
}

/// Whether the connection stays open after the answer to `request`.
fn keeps_open(ctx: &Context, request: &Request, has_body: bool, status: Status) -> bool {
    // We never read request bodies: a connection that carries one cannot
    // be reused (its body would be read as the next request).
    ctx.keep_alive
        && request.wants_keep_alive()
        && !has_body
        && matches!(status, Status::Ok | Status::NotFound)
        && !ctx.shutdown.is_triggered()
}

/// How the answer to `request` is framed.
fn answer_mode(ctx: &Context, request: &Request, keep_open: bool) -> Mode {
    if ctx.keep_alive {
        Mode::Persistent {
            keep_open,
            client_http10: request.version == Version::HTTP_10,
        }
    } else {
        Mode::Sheet
    }
}

/// What [`answer_pending`] made of the bytes a connection sent so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Pending {
    /// The first request is answered in `buffers.out` (not sent yet); it
    /// took the first `consumed` bytes.
    Answered { consumed: usize, keep_open: bool },
    /// A whole head (or more than a head may be) that a worker must serve.
    ForWorker,
    /// The head is not all there yet.
    Incomplete,
}

/// The event loops' step: answers the first request in `pending` when it
/// needs no worker: no body to skip, and a page in memory (200 or 404) for
/// answer.
pub fn answer_pending(pending: &[u8], ctx: &Context, buffers: &mut Buffers) -> Pending {
    let mut reader = pending;
    match read_head(&mut reader, &mut buffers.head, &mut buffers.line) {
        Ok(HeadRead::Complete) => {}
        Ok(HeadRead::CompleteAtEof | HeadRead::Closed) => return Pending::Incomplete,
        Ok(HeadRead::TooLarge | HeadRead::TimedOut { .. }) | Err(_) => return Pending::ForWorker,
    }
    let consumed = pending.len() - reader.len();
    #[cfg(test)]
    panic_if_asked(&buffers.head);
    match answer_in_memory(&buffers.head, ctx, &mut buffers.out) {
        Some(keep_open) => Pending::Answered {
            consumed,
            keep_open,
        },
        None => Pending::ForWorker,
    }
}

/// Reads a request head line by line (CRLF or LF), skipping empty lines
/// before the request line, within [`MAX_HEAD_BYTES`] and
/// [`MAX_HEADER_LINES`]. A head cut short by the end of the stream is taken
/// as it is (a `printf … | nc` user forgets the blank line).
fn read_head<R: io::BufRead>(
    reader: &mut R,
    head: &mut Vec<u8>,
    line: &mut Vec<u8>,
) -> io::Result<HeadRead> {
    head.clear();
    let mut lines = 0;
    loop {
        let budget = MAX_HEAD_BYTES.saturating_sub(head.len() + 1);
        let read = match read_line_bounded(reader, line, budget) {
            Ok(read) => read,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(HeadRead::TimedOut {
                    nothing: head.is_empty() && line.is_empty(),
                });
            }
            Err(e) => return Err(e),
        };
        match read {
            LineRead::TooLong => return Ok(HeadRead::TooLarge),
            LineRead::Eof if head.is_empty() && line.is_empty() => return Ok(HeadRead::Closed),
            LineRead::Eof => {
                if !line.is_empty() {
                    head.extend_from_slice(line);
                    head.push(b'\n');
                }
                return Ok(HeadRead::CompleteAtEof);
            }
            LineRead::Line => {
                // Request line + header lines; leading empty lines count too,
                // so that endless empty lines are bounded as well.
                lines += 1;
                if line.is_empty() && !head.is_empty() {
                    return Ok(HeadRead::Complete);
                }
                if lines > MAX_HEADER_LINES + 1 {
                    return Ok(HeadRead::TooLarge);
                }
                if line.is_empty() {
                    continue;
                }
                head.extend_from_slice(line);
                head.push(b'\n');
            }
        }
    }
}

/// Writes an answer (head only for HEAD) in one write when it is in memory,
/// all of it by `deadline`.
fn send(
    stream: &TcpStream,
    answer: Answer,
    mode: Mode,
    head_only: bool,
    out: &mut Vec<u8>,
    deadline: Instant,
) -> io::Result<()> {
    out.clear();
    answer.head(mode).write_to(out);
    match answer.body {
        _ if head_only => write_all_by(stream, out, deadline),
        Body::Page(page) => {
            out.extend_from_slice(&page.body);
            write_all_by(stream, out, deadline)
        }
        Body::Static(bytes) => {
            out.extend_from_slice(bytes);
            write_all_by(stream, out, deadline)
        }
        Body::Large(file) => {
            write_all_by(stream, out, deadline)?;
            send_file(stream, &file.file, file.len, deadline)?;
            if file.newline {
                write_all_by(stream, b"\n", deadline)?;
            }
            Ok(())
        }
    }
}

/// `write_all` that gives up at `deadline`. A blocked write returns what it
/// sent when the socket's write timeout expires, so the deadline is looked
/// at at least that often; the common case (all sent at once) costs nothing.
fn write_all_by(stream: &TcpStream, mut data: &[u8], deadline: Instant) -> io::Result<()> {
    let mut out = stream;
    while !data.is_empty() {
        match out.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if !data.is_empty() && Instant::now() >= deadline {
            return Err(too_slow(stream));
        }
    }
    Ok(())
}

/// The first `len` bytes of `file`, by sendfile(2) (no copy through user
/// space), giving up at `deadline` like [`write_all_by`].
fn send_file(
    stream: &TcpStream,
    file: &std::fs::File,
    len: u64,
    deadline: Instant,
) -> io::Result<()> {
    use nix::errno::Errno;
    let mut offset: nix::libc::off_t = 0;
    let mut left = len;
    while left > 0 {
        let count = usize::try_from(left).unwrap_or(usize::MAX).min(1 << 30);
        match nix::sys::sendfile::sendfile(stream, file, Some(&mut offset), count) {
            // The file shrank under us: the client sees a short body.
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => left -= n as u64,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        if left > 0 && Instant::now() >= deadline {
            return Err(too_slow(stream));
        }
    }
    Ok(())
}

/// The answer's deadline passed: the close will be a reset, which also
/// drops what the kernel still holds for this client (up to megabytes)
/// instead of trickling it out.
pub fn too_slow(stream: &TcpStream) -> io::Error {
    use nix::sys::socket::{setsockopt, sockopt};
    let abort = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = setsockopt(stream, sockopt::Linger, &abort);
    io::ErrorKind::TimedOut.into()
}

/// Answers an error status (a 503 when no worker can take a connection, a
/// 408 from an event loop) without ever blocking, then sends the FIN. The
/// socket is fresh or idle, so the small answer fits its send buffer; what
/// the client already sent is read first, so that the close that follows
/// sends a FIN, not a RST.
pub fn refuse_at_once(stream: &TcpStream, status: Status, mode: Mode) {
    let _ = stream.set_nonblocking(true);
    let mut sink = [0u8; 2048];
    let mut s = stream;
    let _ = s.read(&mut sink);
    let _ = s.write_all(&http::error_response(status, mode));
    let _ = stream.shutdown(Direction::Write);
}

/// Answers an error status, then closes gracefully.
fn refuse(stream: &TcpStream, status: Status, mode: Mode) -> io::Result<()> {
    let mut out = stream;
    // Best effort: the client may be gone already.
    let _ = out.write_all(&http::error_response(status, mode));
    linger_close(stream)
}

/// How long we drain a client's unread bytes before closing.
const LINGER: Duration = Duration::from_millis(500);

/// Sends what the socket holds, with the FIN, before it is closed.
///
/// In the sheet's mode the listener's `TCP_CORK` keeps the answer in the
/// socket until then. A plain `close` would also send it, unless the client
/// sent bytes we did not read (a pipelined request, a stray CRLF): then
/// Linux resets the connection and drops the unsent answer with it. After
/// `shutdown(Write)` the answer and the FIN are already out, still in one
/// segment, whatever the close does next.
pub fn push_out(stream: &TcpStream) {
    let _ = stream.shutdown(Direction::Write);
}

/// Closing a socket whose receive buffer holds unread bytes sends a RST,
/// which can destroy our answer before the client reads it. So: send FIN,
/// then read and drop what the client still sends, briefly and boundedly.
fn linger_close(stream: &TcpStream) -> io::Result<()> {
    stream.shutdown(Direction::Write)?;
    stream.set_read_timeout(Some(LINGER))?;
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut budget = 256 * 1024;
    let mut reader = stream;
    while budget > 0 && Instant::now() < deadline {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget -= n.min(budget),
        }
    }
    Ok(())
}

/// Reads from the socket so that a whole request head must arrive by
/// `deadline`, however slowly it trickles in (a client sending a byte every
/// 9 s must not keep a worker forever). The socket's timeout is only
/// lowered when a head takes more than one read, so the common case costs no
/// extra system call.
struct DeadlineReader<'a> {
    stream: &'a TcpStream,
    /// Bytes already read from the socket (by an acceptor or an event
    /// loop), read first.
    prefix: Vec<u8>,
    prefix_used: usize,
    deadline: Instant,
    /// The socket's read timeout as last set.
    timeout_set: Duration,
}

/// How far the socket's timeout may stay above the time left before it is
/// lowered: each lowering is a system call.
const TIMEOUT_SLACK: Duration = Duration::from_millis(100);

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix_used < self.prefix.len() {
            let n = (&self.prefix[self.prefix_used..]).read(buf)?;
            self.prefix_used += n;
            return Ok(n);
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        if self.timeout_set > left + TIMEOUT_SLACK {
            self.stream.set_read_timeout(Some(left))?;
            self.timeout_set = left;
        }
        let mut stream = self.stream;
        stream.read(buf)
    }
}

/// A sheet-mode context serving `root`, for the unit tests of this crate.
#[cfg(test)]
pub(crate) fn test_context(root: &std::path::Path) -> (Context, crate::log::LoggerThread) {
    let (logger, thread) = crate::log::start(false).unwrap();
    let context = Context {
        site: Site::open(root, protocols::http::Negotiation::Prefix).unwrap(),
        logger,
        keep_alive: false,
        bien_recu: false,
        idle_timeout: Duration::from_secs(5),
        accept_deferral: Duration::ZERO,
        answer_timeout: Duration::from_secs(5),
        shutdown: Shutdown::new(),
    };
    (context, thread)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(input: &[u8]) -> (HeadRead, Vec<u8>) {
        let mut reader = io::BufReader::with_capacity(16, input);
        let (mut head, mut line) = (Vec::new(), Vec::new());
        let read = read_head(&mut reader, &mut head, &mut line).unwrap();
        (read, head)
    }

    #[test]
    fn heads_end_at_the_blank_line() {
        let (read, head) = head_of(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next");
        assert_eq!(read, HeadRead::Complete);
        assert_eq!(head, b"GET / HTTP/1.1\nHost: a\n");
        assert_eq!(
            head_of(b"GET / HTTP/1.0\n"),
            (HeadRead::CompleteAtEof, b"GET / HTTP/1.0\n".to_vec())
        );
        assert_eq!(head_of(b"").0, HeadRead::Closed);
    }

    /// A connected pair: (client, server side as accepted).
    fn pair() -> (TcpStream, TcpStream, SocketAddr) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        (client, server, peer)
    }

    #[test]
    fn the_fast_path_answers_whole_requests_and_hands_off_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/a.html"), "A").unwrap();
        let (ctx, _logger) = test_context(dir.path());
        let mut buffers = Buffers::default();

        // Whole request: answered here.
        let (mut client, server, _) = pair();
        client.write_all(b"GET /a.html HTTP/1.1\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(matches!(
            serve_if_ready(&server, &ctx, &mut buffers),
            Ready::Done
        ));
        drop(server);
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert_eq!(
            answer,
            "HTTP/1.0 200 OK\r\nContent-Type:text/html\r\nContent-Length:2\r\n\r\nA\n"
        );

        // Half a request: handed off with what was read.
        let (mut client, server, _) = pair();
        client.write_all(b"GET /a.ht").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        match serve_if_ready(&server, &ctx, &mut buffers) {
            Ready::Handoff(Start::Fresh { prefix, .. }) => assert_eq!(prefix, b"GET /a.ht"),
            other => panic!("{other:?}"),
        }
        // Nothing yet: handed off with nothing.
        let (_client, server, _) = pair();
        match serve_if_ready(&server, &ctx, &mut buffers) {
            Ready::Handoff(Start::Fresh { prefix, .. }) => assert!(prefix.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_answer_the_socket_cannot_take_at_once_is_finished_by_a_worker() {
        use nix::sys::socket::{setsockopt, sockopt};
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        let page: Vec<u8> = (0..60_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(dir.path().join("en/gros.html"), &page).unwrap();
        let (ctx, _logger) = test_context(dir.path());
        let mut buffers = Buffers::default();
        let (mut client, server, peer) = pair();
        setsockopt(&server, sockopt::SndBuf, &4096).unwrap();
        setsockopt(&client, sockopt::RcvBuf, &4096).unwrap();
        client
            .write_all(b"GET /gros.html HTTP/1.1\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let start = match serve_if_ready(&server, &ctx, &mut buffers) {
            Ready::Handoff(start @ Start::Finish { .. }) => start,
            other => panic!("expected a partial send, got {other:?}"),
        };
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            client.read_to_end(&mut all).unwrap();
            all
        });
        serve(&server, peer, start, &ctx, &mut buffers);
        drop(server);
        let mut expected = format!(
            "HTTP/1.0 200 OK\r\nContent-Type:text/html\r\nContent-Length:{}\r\n\r\n",
            page.len() + 1
        )
        .into_bytes();
        expected.extend_from_slice(&page);
        expected.push(b'\n');
        let got = reader.join().unwrap();
        assert!(
            got == expected,
            "{} bytes, expected {}",
            got.len(),
            expected.len()
        );
    }

    #[test]
    fn heads_are_bounded() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(head_of(long.as_bytes()).0, HeadRead::TooLarge);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(101));
        assert_eq!(head_of(many.as_bytes()).0, HeadRead::TooLarge);
        let ok = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(100));
        assert_eq!(head_of(ok.as_bytes()).0, HeadRead::Complete);
    }
}
