//! From a request head to the bytes of its answer, and the acceptors' fast
//! path: what the acceptors and the event loops share.
//!
//! [`respond`] is the one place a request is answered: it logs the head and
//! calls the sheet's `traite_requete`; [`Outgoing`] is what it returns, sent
//! without ever blocking ([`Outgoing::send_some`]: `send`, and `sendfile`
//! for big files).
//!
//! Beyond the sheet, [`serve_if_ready`]: in the sheet's mode the acceptor
//! answers a request that is already there itself. Why: handing every
//! connection to another thread cost futex wake-ups and a context switch,
//! measured by `scripts/bench_http.sh` at 10 to 25 % of the server's CPU
//! time per `Connection: close` request (figures in `CONCEPTION.md`).

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::net::{Shutdown as Direction, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{recv, send, MsgFlags};
use protocols::http::{self, Mode, Status, MAX_HEADER_LINES, MAX_HEAD_BYTES};
use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::Shutdown;

use crate::log::Logger;
use crate::site::{Body, Reponse, Site};

/// The sheet's 17.1 answer (`--bien-recu`).
pub const BIEN_RECU: &[u8] = "Bien reçu !".as_bytes();

/// What the acceptors and the event loops share.
#[derive(Debug)]
pub struct Context {
    pub site: Site,
    pub logger: Logger,
    pub keep_alive: bool,
    pub bien_recu: bool,
    /// A request head must be whole this long after the connection (or the
    /// previous answer); an idle persistent connection is closed after it.
    pub idle_timeout: Duration,
    /// How long the kernel holds a silent connection before `accept`
    /// returns it (`TCP_DEFER_ACCEPT`; zero when not set).
    pub accept_deferral: Duration,
    /// Deadline for sending one whole answer, however slowly the client
    /// reads.
    pub answer_timeout: Duration,
    pub shutdown: Shutdown,
}

impl Context {
    /// The sheet's mode, one request per connection: the acceptors answer
    /// on their fast path and the listener is tuned for it (see
    /// [`crate::listener`]).
    /// Whether a head that the input ended before its blank line is
    /// answered as it is. `ended`: the client closed its side (a `printf … |
    /// nc` user forgets the blank line). With `--bien-recu`, whatever the
    /// first `recv` brought is the request, as the sheet's 17.1 server takes
    /// it: a first student client may never send the blank line.
    pub fn answers_cut_head(&self, ended: bool) -> bool {
        ended || self.bien_recu
    }

    pub fn one_request_mode(&self) -> bool {
        !self.keep_alive && !self.bien_recu
    }

    /// How an answer that ends the connection (an error, a 503) is framed.
    pub fn closing_mode(&self) -> Mode {
        self.site.closing_mode()
    }
}

/// An answer on its way out: bytes in memory, then maybe a file.
#[derive(Debug)]
pub struct Outgoing {
    bytes: Vec<u8>,
    sent: usize,
    file: Option<FileTail>,
    /// The connection stays open for the next request once it is sent.
    pub keep_open: bool,
    /// Before the close, read and drop what the client still sends (see
    /// [`crate::site::Reponse::linger`]).
    pub linger: bool,
}

/// A big file sent by `sendfile(2)` (no copy through user space).
#[derive(Debug)]
struct FileTail {
    file: File,
    offset: i64,
    left: u64,
    /// A `\n` follows (HTML, the sheet's way).
    newline: bool,
}

impl Outgoing {
    /// Bytes with nothing after them: `keep_open` false.
    pub fn closing(bytes: Vec<u8>, linger: bool) -> Outgoing {
        Outgoing {
            bytes,
            sent: 0,
            file: None,
            keep_open: false,
            linger,
        }
    }

    /// The bytes of `reponse` as the sheet's `traite_requete` returns them,
    /// the body of a big file left in the file.
    fn of(reponse: Reponse) -> Outgoing {
        let mut bytes = reponse.head().to_vec();
        let mut file = None;
        if !reponse.head_only {
            match reponse.answer.body {
                Body::Page(page) => bytes.extend_from_slice(&page.body),
                Body::Static(body) => bytes.extend_from_slice(body),
                Body::Large(large) => {
                    file = Some(FileTail {
                        file: large.file,
                        offset: 0,
                        left: large.len,
                        newline: large.newline,
                    })
                }
            }
        }
        Outgoing {
            bytes,
            sent: 0,
            file,
            keep_open: reponse.keep_open,
            linger: reponse.linger,
        }
    }

    /// Whether it is all in memory and at most `max` bytes.
    fn in_memory_within(&self, max: usize) -> bool {
        self.file.is_none() && self.bytes.len() <= max
    }

    /// Sends as much as the socket takes now. `Ok(true)`: all sent.
    pub fn send_some(&mut self, stream: &TcpStream) -> Result<bool, Errno> {
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        loop {
            if self.sent < self.bytes.len() {
                match send(stream.as_raw_fd(), &self.bytes[self.sent..], flags) {
                    Ok(n) => self.sent += n,
                    Err(Errno::EINTR) => {}
                    Err(Errno::EAGAIN) => return Ok(false),
                    Err(e) => return Err(e),
                }
                continue;
            }
            let Some(tail) = &mut self.file else {
                // Its buffer may be large: give it back.
                self.bytes = Vec::new();
                return Ok(true);
            };
            if tail.left == 0 {
                self.bytes = if tail.newline {
                    b"\n".to_vec()
                } else {
                    Vec::new()
                };
                self.sent = 0;
                self.file = None;
                continue;
            }
            let count = usize::try_from(tail.left)
                .unwrap_or(usize::MAX)
                .min(1 << 30);
            // The socket is non-blocking: sendfile returns EAGAIN when
            // its buffer is full.
            match nix::sys::sendfile::sendfile(stream, &tail.file, Some(&mut tail.offset), count) {
                // The file shrank under us: the client sees a short body.
                Ok(0) => return Err(Errno::EIO),
                Ok(n) => tail.left -= n as u64,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Answers one whole request head (each line followed by `\n`): logs it,
/// and calls the sheet's `traite_requete` (or answers `Bien reçu !`).
pub fn respond(head: &[u8], ctx: &Context, peer: &dyn std::fmt::Display) -> Outgoing {
    ctx.logger.request(head);
    #[cfg(test)]
    panic_if_asked(head);
    if ctx.bien_recu {
        return Outgoing::closing(BIEN_RECU.to_vec(), true);
    }
    let mut reponse = ctx.site.traite_requete(&requete_text(head));
    if let Some(problem) = &reponse.problem {
        ctx.logger.problem(format!("{peer} : {problem}"));
    }
    if ctx.shutdown.is_triggered() {
        reponse.close_after();
    }
    Outgoing::of(reponse)
}

/// The head as the sheet's string. A head is almost always UTF-8 (then it
/// is borrowed as is); obs-text bytes (0x80-0xFF, RFC 9110 §5.5: a Latin-1
/// `User-Agent: café`) are allowed in header values, and become U+FFFD
/// here rather than making the request a 400.
pub fn requete_text(head: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(head)
}

/// The answer to a head over 8 KiB or 100 lines.
pub fn too_large(ctx: &Context, peer: &dyn std::fmt::Display) -> Outgoing {
    ctx.logger
        .problem(format!("{peer} : en-tête trop grand, 431"));
    Outgoing::closing(
        http::error_response(Status::HeaderFieldsTooLarge, ctx.closing_mode()),
        true,
    )
}

/// Test builds panic while serving this target (the loops' panic safety).
#[cfg(test)]
pub const PANIC_FOR_TESTS: &str = "/panique-de-test";

#[cfg(test)]
fn panic_if_asked(head: &[u8]) {
    if head.starts_with(format!("GET {PANIC_FOR_TESTS} ").as_bytes()) {
        panic!("panne simulée");
    }
}

/// Largest answer the acceptor sends itself.
const INLINE_MAX: usize = 64 * 1024;

/// A connection the acceptor's fast path could not finish: an event loop
/// takes it over.
#[derive(Debug)]
pub struct Handoff {
    /// Bytes read and not answered yet.
    pub pending: Vec<u8>,
    /// An answer already started.
    pub out: Option<Outgoing>,
    /// How long the client is known to have been silent before it was
    /// accepted (it counts against the head's delay).
    pub silent_for: Duration,
}

/// What [`serve_if_ready`] did.
#[derive(Debug)]
pub enum Ready {
    /// Answered and done: close the socket.
    Done,
    /// An event loop takes it from here.
    Handoff(Handoff),
}

/// The acceptor's fast path, in the sheet's mode. Most clients have sent
/// their whole request by the time the connection is accepted: then, if the
/// answer is in memory, the acceptor sends it at once with non-blocking
/// calls (accept, recv, send, close), sparing the hand-off to an event loop
/// (a channel, a wake-up, an epoll registration). Anything else goes to a
/// loop with the bytes already read and the answer already started. Nothing
/// here can block.
pub fn serve_if_ready(stream: &TcpStream, ctx: &Context, buffers: &mut Buffers) -> Ready {
    let handoff = |pending: &[u8], out, silent_for| {
        Ready::Handoff(Handoff {
            pending: pending.to_vec(),
            out,
            silent_for,
        })
    };
    if !ctx.one_request_mode() {
        return handoff(&[], None, Duration::ZERO);
    }
    let mut data = [0u8; MAX_HEAD_BYTES];
    let n = match recv(stream.as_raw_fd(), &mut data, MsgFlags::MSG_DONTWAIT) {
        Ok(0) => return Ready::Done,
        Ok(n) => n,
        // Accepted with nothing to read: with TCP_DEFER_ACCEPT, only once
        // the kernel has held the silent connection for the deferral.
        Err(Errno::EAGAIN | Errno::EINTR) => return handoff(&[], None, ctx.accept_deferral),
        Err(_) => return Ready::Done,
    };
    let data = &data[..n];
    let mut reader = data;
    let read = read_head(&mut reader, &mut buffers.head, &mut buffers.line).ok();
    let whole = match read {
        Some(HeadRead::Complete) => true,
        Some(HeadRead::CompleteAtEof) => ctx.answers_cut_head(false),
        _ => false,
    };
    if n == MAX_HEAD_BYTES || !whole {
        return handoff(data, None, Duration::ZERO);
    }
    let peer = Peer(stream);
    let mut out = respond(&buffers.head, ctx, &peer);
    if out.linger || !out.in_memory_within(INLINE_MAX) {
        return handoff(reader, Some(out), Duration::ZERO);
    }
    match out.send_some(stream) {
        Ok(true) => {
            push_out(stream);
            Ready::Done
        }
        Ok(false) => handoff(reader, Some(out), Duration::ZERO),
        Err(_) => Ready::Done,
    }
}

/// A stream's peer address, looked up only if it is printed.
struct Peer<'a>(&'a TcpStream);

impl std::fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.peer_addr() {
            Ok(addr) => write!(f, "{addr}"),
            Err(_) => write!(f, "?"),
        }
    }
}

/// Reusable buffers for reading heads.
#[derive(Debug, Default)]
pub struct Buffers {
    pub head: Vec<u8>,
    line: Vec<u8>,
}

impl Buffers {
    /// Reads one head from `input` into `self.head`, bounded (8 KiB, 100
    /// lines), skipping empty lines before the request line.
    pub fn read_head(&mut self, input: &mut &[u8]) -> HeadRead {
        // Reading from a slice cannot fail.
        read_head(input, &mut self.head, &mut self.line).unwrap_or(HeadRead::TooLarge)
    }
}

/// How reading a request head ended.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadRead {
    /// `head` holds the lines, each followed by `\n`.
    Complete,
    /// The input ended before the blank line; `head` holds what came (a
    /// `printf … | nc` user forgets the blank line).
    CompleteAtEof,
    /// The input ended before anything but empty lines.
    Closed,
    /// Over 8 KiB or 100 header lines.
    TooLarge,
}

/// Reads a request head line by line (CRLF or LF), skipping empty lines
/// before the request line, within [`MAX_HEAD_BYTES`] and
/// [`MAX_HEADER_LINES`].
fn read_head<R: io::BufRead>(
    reader: &mut R,
    head: &mut Vec<u8>,
    line: &mut Vec<u8>,
) -> io::Result<HeadRead> {
    head.clear();
    let mut lines = 0;
    loop {
        let budget = MAX_HEAD_BYTES.saturating_sub(head.len() + 1);
        match read_line_bounded(reader, line, budget)? {
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

/// The answer's deadline passed: the close will be a reset, which also
/// drops what the kernel still holds for this client (up to megabytes)
/// instead of trickling it out.
pub fn too_slow(stream: &TcpStream) {
    use nix::sys::socket::{setsockopt, sockopt};
    let abort = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = setsockopt(stream, sockopt::Linger, &abort);
}

/// Answers an error status (a 503 when no loop can take a connection, a
/// 408) without ever blocking, then sends the FIN. The socket is fresh or
/// idle, so the small answer fits its send buffer; what the client already
/// sent is read first, so that the close that follows sends a FIN, not a
/// RST.
pub fn refuse_at_once(stream: &TcpStream, status: Status, mode: Mode) {
    let fd = stream.as_raw_fd();
    let mut sink = [0u8; 2048];
    let _ = recv(fd, &mut sink, MsgFlags::MSG_DONTWAIT);
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    let _ = send(fd, &http::error_response(status, mode), flags);
    let _ = stream.shutdown(Direction::Write);
}

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
    use std::io::{Read, Write};

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

    #[test]
    fn heads_are_bounded() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(head_of(long.as_bytes()).0, HeadRead::TooLarge);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(101));
        assert_eq!(head_of(many.as_bytes()).0, HeadRead::TooLarge);
        let ok = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(100));
        assert_eq!(head_of(ok.as_bytes()).0, HeadRead::Complete);
    }

    /// A connected pair: (client, server side as accepted).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn the_fast_path_answers_whole_requests_and_hands_off_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/a.html"), "A").unwrap();
        let (ctx, _logger) = test_context(dir.path());
        let mut buffers = Buffers::default();

        // Whole request: answered here.
        let (mut client, server) = pair();
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
        let (mut client, server) = pair();
        client.write_all(b"GET /a.ht").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        match serve_if_ready(&server, &ctx, &mut buffers) {
            Ready::Handoff(h) => {
                assert_eq!((h.pending, h.out.is_none()), (b"GET /a.ht".to_vec(), true))
            }
            other => panic!("{other:?}"),
        }
        // Nothing yet: handed off with nothing.
        let (_client, server) = pair();
        match serve_if_ready(&server, &ctx, &mut buffers) {
            Ready::Handoff(h) => assert!(h.pending.is_empty() && h.out.is_none()),
            other => panic!("{other:?}"),
        }
        // An error to answer: handed off with its answer started.
        let (mut client, server) = pair();
        client.write_all(b"POST /a.html HTTP/1.1\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        match serve_if_ready(&server, &ctx, &mut buffers) {
            Ready::Handoff(h) => assert!(h.out.is_some_and(|o| o.linger)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn big_files_go_out_by_sendfile_as_the_socket_takes_them() {
        use nix::sys::socket::{setsockopt, sockopt};
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        let page: Vec<u8> = (0..3_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(dir.path().join("en/gros.html"), &page).unwrap();
        let (ctx, _logger) = test_context(dir.path());
        let (mut client, server) = pair();
        setsockopt(&server, sockopt::SndBuf, &4096).unwrap();
        // As the event loops hold it.
        server.set_nonblocking(true).unwrap();
        let mut out = respond(b"GET /gros.html HTTP/1.0\n", &ctx, &"test");
        assert!(out.file.is_some(), "a big file is not read into memory");
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            client.read_to_end(&mut all).unwrap();
            all
        });
        let mut partial = 0;
        while !out.send_some(&server).unwrap() {
            partial += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        push_out(&server);
        drop(server);
        let mut expected = format!(
            "HTTP/1.0 200 OK\r\nContent-Type:text/html\r\nContent-Length:{}\r\n\r\n",
            page.len() + 1
        )
        .into_bytes();
        expected.extend_from_slice(&page);
        expected.push(b'\n');
        let got = reader.join().unwrap();
        assert!(partial > 0, "the socket never said EAGAIN");
        assert!(
            got == expected,
            "{} bytes, expected {}",
            got.len(),
            expected.len()
        );
    }

    #[test]
    fn obs_text_is_no_400() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/a.html"), "A").unwrap();
        let (ctx, _logger) = test_context(dir.path());
        let head = b"GET /a.html HTTP/1.1\nUser-Agent: caf\xe9\n";
        let reponse = ctx.site.traite_requete(&requete_text(head));
        assert_eq!(reponse.answer.status, Status::Ok);
    }
}
