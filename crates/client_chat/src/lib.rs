//! `client_chat`: the UDP chat client of lab 18. The sheet's flow, as this
//! crate runs it:
//!
//! 1. the tags `BALISE_NEW_NAME`, `BALISE_MESSAGE`, `BALISE_QUIT` (18.2) -> `protocols::chat`
//! 2. ask the name, send `__new_name__:NAME` (18.3)                   -> [`register`]
//! 3. `send()`: stdin lines to the server, `quit` ends (18.4)          -> [`send`]
//! 4. `receive()`: datagrams to stdout until `__quit__` (18.4)         -> [`receive`]
//!
//! # Beyond the sheet
//! - A refused name (`__name_refused__:why`) is printed and the name asked
//!   again; a full chat (`__full__:why`) is printed and the client exits 1.
//! - Everything printed is escaped by `protocols::chat::escape_for_terminal`
//!   (nothing a peer sends can move the cursor, clear the screen or reach
//!   the clipboard); `--brut` prints the bytes as they came.
//! - The receiver sends `__keepalive__` every [`KEEPALIVE_EVERY`] so the
//!   server knows we are there (it expires silent members).
//!
//! # Layout
//! - [`connect`]: resolves `--serveur` (IPv4, IPv6 or a host name, IPv4
//!   first as in Python) and
//!   returns a *connected* UDP socket. Connecting matters: the kernel then
//!   keeps only the server's datagrams for us, and reports an ICMP "port
//!   unreachable" as `ECONNREFUSED` on the next receive, which is how a
//!   server that is down gets one clear line instead of a silent hang.
//! - [`une_fois`]: the 18.1 client (one datagram, one answer).
//! - [`chat`]: the chat itself: prompt for the name, register, then a
//!   sender thread ([`send`]: stdin lines to the server) and the receiver
//!   on the calling thread ([`receive`]: datagrams to stdout), as the
//!   sheet's two threads.
//!
//! ```mermaid
//! sequenceDiagram
//!     participant U as stdin
//!     participant S as sender thread
//!     participant R as receiver (main thread)
//!     participant Srv as serveur_chat
//!     R->>Srv: __new_name__:NAME
//!     Srv-->>R: \n***NAME*** vient de rentrer sur le chat !\n
//!     U->>S: a line
//!     S->>Srv: __message__:line
//!     Srv-->>R: [other] : text
//!     U->>S: quit (or end of input)
//!     S->>Srv: __quit__
//!     Srv-->>R: __quit__
//!     Note over R: exit 0
//! ```

use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use protocols::chat::{
    check_name, escape_for_terminal, Answer, Request, BALISE_MESSAGE, BALISE_QUIT, MAX_DATAGRAM,
    MAX_NAME_CHARS,
};
use server_kit::lines::{read_line_bounded, LineRead};

/// The binary's name, for its error lines.
pub const BINARY: &str = "client_chat";
pub const DEFAULT_PORT: u16 = 5005;
/// How long the server has to answer a `__quit__` (and the 18.1 request);
/// after this long without an answer to the registration, one notice.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
pub use protocols::chat::KEEPALIVE_EVERY;
/// How often the receiver looks at the quit flag while waiting.
const POLL: Duration = Duration::from_millis(200);

/// What can go wrong, each with its one-line French message.
#[derive(Debug)]
pub enum ClientError {
    /// The name did not resolve.
    Resolve(String, io::Error),
    /// ICMP port unreachable: nothing listens on that port.
    Refused(SocketAddr),
    /// No answer in time.
    NoAnswer(SocketAddr, &'static str),
    /// No answer to the registration within `--delai`.
    GaveUp(SocketAddr, Duration),
    /// Input ended before a name was given.
    NoName,
    /// The server cannot take us; its reason, escaped.
    Full(String),
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve(host, e) => {
                write!(f, "adresse du serveur {host:?} introuvable : {e}")
            }
            ClientError::Refused(addr) => write!(
                f,
                "le serveur {addr} est injoignable (port UDP fermé : aucun serveur n'y écoute)"
            ),
            ClientError::NoAnswer(addr, what) => write!(
                f,
                "pas de réponse du serveur {addr} {what} en {} s",
                ANSWER_TIMEOUT.as_secs()
            ),
            ClientError::GaveUp(addr, delay) => write!(
                f,
                "pas de réponse du serveur {addr} à l'inscription en {} s (--delai)",
                seconds(*delay)
            ),
            ClientError::NoName => f.write_str("entrée terminée avant qu'un nom soit saisi"),
            ClientError::Full(why) => write!(f, "inscription refusée par le serveur : {why}"),
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// Resolves `host:port` (IPv4 first when a name has both, as the sheet's
/// `AF_INET` client does) and returns a UDP socket connected to it.
pub fn connect(host: &str, port: u16) -> Result<UdpSocket, ClientError> {
    let server = server_kit::peer::resolve(host, port)
        .map_err(|e| ClientError::Resolve(host.to_string(), e))?;
    Ok(server_kit::peer::connect_udp(server)?)
}

/// Waits up to `timeout` for one datagram; `what` says what we waited for.
fn receive_within(
    socket: &UdpSocket,
    buf: &mut [u8],
    timeout: Duration,
    what: &'static str,
) -> Result<usize, ClientError> {
    let server = socket.peer_addr()?;
    socket.set_read_timeout(Some(timeout))?;
    let deadline = Instant::now() + timeout;
    loop {
        match socket.recv(buf) {
            Ok(n) => return Ok(n),
            Err(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => return Err(ClientError::Refused(server)),
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    if Instant::now() >= deadline {
                        return Err(ClientError::NoAnswer(server, what));
                    }
                }
                _ => return Err(e.into()),
            },
        }
    }
}

/// How received text is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// Control characters (and bytes that are not UTF-8) escaped, so that
    /// no peer can drive the terminal (the default).
    #[default]
    Escaped,
    /// The bytes as they came (`--brut`).
    Raw,
}

/// Writes one datagram, then a newline (Python's `print`).
fn print_datagram(out: &mut impl Write, datagram: &[u8], how: Output) -> io::Result<()> {
    match how {
        Output::Escaped => out.write_all(escape_for_terminal(datagram).as_bytes())?,
        Output::Raw => out.write_all(datagram)?,
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// Exercise 18.1: sends `text`, prints the answer.
pub fn une_fois(
    socket: &UdpSocket,
    text: &str,
    out: &mut impl Write,
    how: Output,
) -> Result<(), ClientError> {
    socket
        .send(text.as_bytes())
        .map_err(|e| refused(socket, e))?;
    let mut buf = vec![0u8; 1 << 16];
    let n = receive_within(socket, &mut buf, ANSWER_TIMEOUT, "à la requête")?;
    print_datagram(out, &buf[..n], how)?;
    Ok(())
}

/// A refused send (an earlier ICMP error surfacing) reads as "server down".
fn refused(socket: &UdpSocket, e: io::Error) -> ClientError {
    match (e.kind(), socket.peer_addr()) {
        (io::ErrorKind::ConnectionRefused, Ok(addr)) => ClientError::Refused(addr),
        _ => ClientError::Io(e),
    }
}

/// Flags shared with a Ctrl-C handler.
#[derive(Debug, Default)]
pub struct Signals {
    /// Set by the chat just before it sends its registration: from then on
    /// the server may list us, so Ctrl-C must leave properly (even while we
    /// wait for the server's answer); before, Ctrl-C may simply end the
    /// program.
    pub name_sent: AtomicBool,
    /// Set to leave the chat (`__quit__`, wait for the answer, exit 0).
    pub quit: AtomicBool,
}

/// Prompts on `out` until `input` gives a valid name.
fn ask_name(input: &mut impl BufRead, out: &mut impl Write) -> Result<String, ClientError> {
    let mut line = Vec::new();
    loop {
        out.write_all(b"Enter your name : ")?;
        out.flush()?;
        let read = read_line_bounded(input, &mut line, 4 * MAX_NAME_CHARS)?;
        if read == LineRead::Eof && line.is_empty() {
            return Err(ClientError::NoName);
        }
        // The server's own rule, checked here too so a typo is caught at
        // once; the name is sent as typed (trimmed), the server decides.
        let checked = match read {
            LineRead::TooLong => Err(protocols::chat::NameError::TooLong(line.len())),
            _ => check_name(&line),
        };
        match checked {
            Ok(_) => {
                let name = String::from_utf8_lossy(&line).trim().to_string();
                return Ok(name);
            }
            Err(why) => {
                eprintln!("{BINARY}: {why}");
                if read == LineRead::TooLong {
                    skip_rest_of_line(input, &mut line)?;
                }
                if read == LineRead::Eof {
                    return Err(ClientError::NoName);
                }
            }
        }
    }
}

fn skip_rest_of_line(input: &mut impl BufRead, scratch: &mut Vec<u8>) -> io::Result<()> {
    while read_line_bounded(input, scratch, 1 << 16)? == LineRead::TooLong {}
    Ok(())
}

/// How the chat waits for the server's answer to its registration.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    /// After this long, one stderr line says that no answer came yet (a
    /// student's half-written server may not announce entrances): the chat
    /// keeps waiting.
    pub notice_after: Duration,
    /// Give up after this long (`--delai`, for scripts); `None`: never.
    pub give_up_after: Option<Duration>,
}

impl Default for Registration {
    fn default() -> Self {
        Registration {
            notice_after: ANSWER_TIMEOUT,
            give_up_after: None,
        }
    }
}

/// A duration in seconds as French writes it (`0,5`, `3`).
fn seconds(delay: Duration) -> String {
    delay.as_secs_f64().to_string().replace('.', ",")
}

/// Waits for the answer to the registration, without giving up unless told
/// to; `None` when Ctrl-C came first.
fn wait_registration(
    socket: &UdpSocket,
    buf: &mut [u8],
    signals: &Signals,
    registration: Registration,
) -> Result<Option<usize>, ClientError> {
    let server = socket.peer_addr()?;
    socket.set_read_timeout(Some(POLL.min(registration.notice_after)))?;
    let start = Instant::now();
    let mut noticed = false;
    loop {
        if signals.quit.load(Ordering::SeqCst) {
            return Ok(None);
        }
        match socket.recv(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => return Err(ClientError::Refused(server)),
                io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut => {}
                _ => return Err(e.into()),
            },
        }
        let waited = start.elapsed();
        if let Some(limit) = registration.give_up_after {
            if waited >= limit {
                return Err(ClientError::GaveUp(server, limit));
            }
        }
        if !noticed && waited >= registration.notice_after {
            noticed = true;
            eprintln!(
                "{BINARY}: pas encore de réponse du serveur {server} à l'inscription \
                 ({} s) ; j'attends encore (Ctrl-C pour quitter)",
                seconds(registration.notice_after)
            );
        }
    }
}

/// The chat: asks the name on `out`, registers, then runs the sender on a
/// thread reading `input` and the receiver here, printing to `out`.
/// Returns once the server acknowledged our `__quit__` (after `quit`, end of
/// input, or [`Signals::quit`] set, e.g. by Ctrl-C).
/// How the chat behaves beyond the sheet.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub output: Output,
    /// How often to send `__keepalive__`.
    pub keepalive_every: Duration,
    /// How long to wait for the answer to the registration.
    pub registration: Registration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            output: Output::Escaped,
            keepalive_every: KEEPALIVE_EVERY,
            registration: Registration::default(),
        }
    }
}

/// 18.3: asks a name, sends `__new_name__:NAME`, and waits for the server's
/// answer; a refused name is printed (stderr) and another asked for. Once
/// registered, prints the server's welcome and returns `true`; `false` when
/// Ctrl-C came before the answer (`__quit__` already sent).
pub fn register(
    socket: &UdpSocket,
    input: &mut impl BufRead,
    out: &mut impl Write,
    signals: &Signals,
    how: Output,
    registration: Registration,
) -> Result<bool, ClientError> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let name = ask_name(input, out)?;
        signals.name_sent.store(true, Ordering::SeqCst);
        socket
            .send(&Request::NewName(name.as_bytes()).emit())
            .map_err(|e| refused(socket, e))?;
        // Ctrl-C during this wait: leave (the server handles `__quit__` after
        // our registration, and ignores it if it never registered us).
        let Some(n) = wait_registration(socket, &mut buf, signals, registration)? else {
            let _ = socket.send(BALISE_QUIT.as_bytes());
            return Ok(false);
        };
        match Answer::parse(&buf[..n]) {
            Answer::NameRefused(why) => {
                // Not listed: Ctrl-C at the prompt may simply end the program.
                signals.name_sent.store(false, Ordering::SeqCst);
                eprintln!("{BINARY}: {}", escape_for_terminal(why));
            }
            Answer::Full(why) => {
                return Err(ClientError::Full(escape_for_terminal(why).into_owned()))
            }
            Answer::Other => {
                if let Err(e) = print_datagram(out, &buf[..n], how) {
                    // Registered now: leave, as below (best effort).
                    let _ = socket.send(BALISE_QUIT.as_bytes());
                    return Err(e.into());
                }
                return Ok(true);
            }
        }
    }
}

pub fn chat<I, O>(
    socket: UdpSocket,
    mut input: I,
    out: &mut O,
    signals: &Signals,
    options: Options,
) -> Result<(), ClientError>
where
    I: BufRead + Send + 'static,
    O: Write,
{
    let quit_now = &signals.quit;
    if !register(
        &socket,
        &mut input,
        out,
        signals,
        options.output,
        options.registration,
    )? {
        return Ok(());
    }
    let mut buf = vec![0u8; 1 << 16];

    // Set once `__quit__` is sent: from then on the receiver gives the server
    // ANSWER_TIMEOUT to acknowledge it.
    let quit_sent = Arc::new(AtomicBool::new(false));
    // Set when the sender stops on an error (unreadable input, a send that
    // failed): nothing will ever send `__quit__`, so the receiver must stop
    // too instead of waiting forever.
    let sender_failed = Arc::new(AtomicBool::new(false));
    let sender = {
        let socket = socket.try_clone()?;
        let quit_sent = Arc::clone(&quit_sent);
        let failed = Arc::clone(&sender_failed);
        thread::Builder::new()
            .name("sender".into())
            .spawn(move || {
                let sent = send(&socket, &mut input, &quit_sent);
                if sent.is_err() {
                    // Best effort: leave the chat rather than stay listed.
                    let _ = send_quit(&socket, &quit_sent);
                    failed.store(true, Ordering::SeqCst);
                }
                sent
            })?
    };
    let stop = Stop {
        quit_now,
        quit_sent: &quit_sent,
        sender_failed: &sender_failed,
    };
    let received = receive(&socket, &mut buf, out, &stop, options);
    if received.is_err() {
        // Best effort, as for the sender: a client that stops on an error
        // (stdout closed by `| head`, say) leaves the chat rather than stay
        // listed, costing the server a send to a closed port per message.
        let _ = send_quit(&socket, &quit_sent);
    }
    // The sender is done unless we stop on Ctrl-C or a receive error, in
    // which case it may be blocked reading stdin, which no one can
    // interrupt: the process exit ends it.
    if sender_failed.load(Ordering::SeqCst) || sender.is_finished() {
        if let Ok(Err(e)) = sender.join() {
            received?;
            return Err(e);
        }
    }
    received
}

/// What the receiver watches, besides the socket.
#[derive(Debug)]
pub struct Stop<'a> {
    /// Leave now (Ctrl-C): send `__quit__` and wait for the answer.
    quit_now: &'a AtomicBool,
    /// `__quit__` was sent, by the sender or by us.
    quit_sent: &'a AtomicBool,
    /// The sender gave up on an error: stop at once, it has the error.
    sender_failed: &'a AtomicBool,
}

/// 18.4 `send()`, the sender: each line as `__message__:LINE`, `quit` or
/// end of input as `__quit__`.
pub fn send(
    socket: &UdpSocket,
    input: &mut impl BufRead,
    quit_sent: &AtomicBool,
) -> Result<(), ClientError> {
    let mut line = Vec::new();
    let max = MAX_DATAGRAM - BALISE_MESSAGE.len();
    loop {
        let read = read_line_bounded(input, &mut line, max)?;
        match read {
            LineRead::Eof if line.is_empty() => break,
            LineRead::TooLong => {
                eprintln!("{BINARY}: ligne trop longue pour un datagramme ({max} octets au plus), non envoyée");
                skip_rest_of_line(input, &mut line)?;
                continue;
            }
            _ => {}
        }
        if line == b"quit" {
            break;
        }
        if std::str::from_utf8(&line).is_err() {
            eprintln!("{BINARY}: ligne qui n'est pas de l'UTF-8, non envoyée");
        } else {
            socket
                .send(&Request::Message(&line).emit())
                .map_err(|e| refused(socket, e))?;
        }
        if read == LineRead::Eof {
            break;
        }
    }
    send_quit(socket, quit_sent)
}

fn send_quit(socket: &UdpSocket, quit_sent: &AtomicBool) -> Result<(), ClientError> {
    if quit_sent.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    socket
        .send(BALISE_QUIT.as_bytes())
        .map_err(|e| refused(socket, e))?;
    Ok(())
}

/// 18.4 `receive()`, the receiver: prints every datagram until the
/// server's `__quit__`, and says `__keepalive__` now and then.
pub fn receive(
    socket: &UdpSocket,
    buf: &mut [u8],
    out: &mut impl Write,
    stop: &Stop<'_>,
    options: Options,
) -> Result<(), ClientError> {
    let server = socket.peer_addr()?;
    socket.set_read_timeout(Some(POLL.min(options.keepalive_every)))?;
    let mut quit_deadline: Option<Instant> = None;
    let mut next_keepalive = Instant::now() + options.keepalive_every;
    loop {
        if Instant::now() >= next_keepalive && !stop.quit_sent.load(Ordering::SeqCst) {
            next_keepalive = Instant::now() + options.keepalive_every;
            // Lost or refused: the next receive says what is wrong.
            let _ = socket.send(&Request::KeepAlive.emit());
        }
        if stop.sender_failed.load(Ordering::SeqCst) {
            return Ok(());
        }
        if stop.quit_now.load(Ordering::SeqCst) {
            send_quit(socket, stop.quit_sent)?;
        }
        if quit_deadline.is_none() && stop.quit_sent.load(Ordering::SeqCst) {
            quit_deadline = Some(Instant::now() + ANSWER_TIMEOUT);
        }
        match socket.recv(buf) {
            Ok(n) if &buf[..n] == BALISE_QUIT.as_bytes() => return Ok(()),
            Ok(n) => print_datagram(out, &buf[..n], options.output)?,
            Err(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => return Err(ClientError::Refused(server)),
                io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut => {
                    if quit_deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(ClientError::NoAnswer(server, "au __quit__"));
                    }
                }
                _ => return Err(e.into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers the registration after `delay` (never: None).
    fn slow_server(delay: Option<Duration>) -> (UdpSocket, thread::JoinHandle<()>) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = server_kit::peer::connect_udp(server.local_addr().unwrap()).unwrap();
        let handle = thread::spawn(move || {
            let mut buf = [0u8; 256];
            let (_, from) = server.recv_from(&mut buf).unwrap();
            let Some(delay) = delay else { return };
            thread::sleep(delay);
            server.send_to(b"bienvenue", from).unwrap();
            let (n, from) = server.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], BALISE_QUIT.as_bytes());
            server.send_to(BALISE_QUIT.as_bytes(), from).unwrap();
        });
        (client, handle)
    }

    #[test]
    fn a_late_registration_answer_is_still_taken() {
        let (socket, server) = slow_server(Some(Duration::from_millis(300)));
        let registration = Registration {
            notice_after: Duration::from_millis(50),
            give_up_after: None,
        };
        let input = io::Cursor::new(b"pr\n".to_vec());
        let mut out = Vec::new();
        chat(
            socket,
            input,
            &mut out,
            &Signals::default(),
            Options {
                registration,
                ..Options::default()
            },
        )
        .unwrap();
        server.join().unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.ends_with("bienvenue\n"), "{out:?}");
    }

    #[test]
    fn delai_gives_up_on_a_silent_server() {
        let (socket, _server) = slow_server(None);
        let registration = Registration {
            notice_after: Duration::from_millis(50),
            give_up_after: Some(Duration::from_millis(200)),
        };
        let input = io::Cursor::new(b"pr\n".to_vec());
        let err = chat(
            socket,
            input,
            &mut Vec::new(),
            &Signals::default(),
            Options {
                registration,
                ..Options::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, ClientError::GaveUp(..)), "{err}");
        assert!(err.to_string().contains("en 0,2 s (--delai)"), "{err}");
    }

    #[test]
    fn the_name_prompt_asks_again_until_valid() {
        let mut input = io::Cursor::new(b"   \nal\xe2\x80\xaece\n  hs  \nignored\n".to_vec());
        let mut out = Vec::new();
        assert_eq!(ask_name(&mut input, &mut out).unwrap(), "hs");
        assert_eq!(
            out,
            b"Enter your name : Enter your name : Enter your name : "
        );
        let mut empty = io::Cursor::new(Vec::new());
        assert!(matches!(
            ask_name(&mut empty, &mut out),
            Err(ClientError::NoName)
        ));
    }

    #[test]
    fn une_fois_against_a_closed_port_says_refused() {
        // Bind then drop: the port is (almost certainly) closed now.
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let socket = connect("127.0.0.1", port).unwrap();
        let err = une_fois(&socket, "x", &mut Vec::new(), Output::Escaped).unwrap_err();
        assert!(matches!(err, ClientError::Refused(_)), "{err:?}");
    }

    /// Input that gives `lines`, then fails (a terminal that went away).
    struct FailingInput(io::Cursor<Vec<u8>>);

    impl io::Read for FailingInput {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = io::Read::read(&mut self.0, buf)?;
            if n == 0 && !buf.is_empty() {
                return Err(io::Error::other("entrée illisible"));
            }
            Ok(n)
        }
    }

    impl BufRead for FailingInput {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.0.position() as usize >= self.0.get_ref().len() {
                return Err(io::Error::other("entrée illisible"));
            }
            self.0.fill_buf()
        }
        fn consume(&mut self, n: usize) {
            self.0.consume(n);
        }
    }

    /// A server socket the test drives by hand (5 s read timeout), and the
    /// client's socket connected to it.
    fn scripted_server_and_client() -> (UdpSocket, UdpSocket) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let port = server.local_addr().unwrap().port();
        (server, connect("127.0.0.1", port).unwrap())
    }

    #[test]
    fn a_sender_that_fails_stops_the_receiver_and_leaves_the_chat() {
        let (server, socket) = scripted_server_and_client();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let input = FailingInput(io::Cursor::new(b"pr\nbonjour\n".to_vec()));
            let result = chat(
                socket,
                input,
                &mut Vec::new(),
                &Signals::default(),
                Options::default(),
            );
            let _ = done_tx.send(result);
        });
        let mut buf = [0u8; 64];
        let (n, client) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"__new_name__:pr");
        server.send_to(b"bienvenue", client).unwrap();
        let (n, _) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"__message__:bonjour");
        // Then stdin fails: the client says goodbye and gives up, without
        // waiting for anyone (the server stays mute).
        let (n, _) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"__quit__");
        let result = done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("chat() must return once its sender failed");
        assert!(matches!(result, Err(ClientError::Io(_))), "{result:?}");
    }

    /// A stdout that takes `ok` writes, then is closed (`| head`).
    struct ClosedAfter {
        ok: usize,
    }

    impl Write for ClosedAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.ok -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_stdout_leaves_the_chat() {
        // 1 write: the prompt only, the registration answer cannot be
        // printed; 3 writes: that answer too, the next datagram cannot.
        for ok in [1, 3] {
            let (server, socket) = scripted_server_and_client();
            let client = thread::spawn(move || {
                // The name is typed, then the user types nothing (and does
                // not close the input, which would quit): only the failed
                // print can end the chat.
                let (mut typing, reader) = std::os::unix::net::UnixStream::pair().unwrap();
                typing.write_all(b"pr\n").unwrap();
                let input = io::BufReader::new(reader);
                let result = chat(
                    socket,
                    input,
                    &mut ClosedAfter { ok },
                    &Signals::default(),
                    Options::default(),
                );
                (result, typing)
            });
            let mut buf = [0u8; 64];
            let (n, client_addr) = server.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"__new_name__:pr");
            server.send_to(b"bienvenue", client_addr).unwrap();
            server.send_to(b"[as] : coucou", client_addr).unwrap();
            let (n, _) = server.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"__quit__", "ok = {ok}");
            let (result, _typing) = client.join().unwrap();
            assert!(
                matches!(&result, Err(ClientError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe),
                "{result:?}"
            );
        }
    }

    #[test]
    fn une_fois_prints_the_answer() {
        let server = UdpSocket::bind("[::1]:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = thread::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"salut");
            server.send_to("Bien reçu !".as_bytes(), from).unwrap();
        });
        let socket = connect("::1", port).unwrap();
        let mut out = Vec::new();
        une_fois(&socket, "salut", &mut out, Output::Escaped).unwrap();
        echo.join().unwrap();
        assert_eq!(out, "Bien reçu !\n".as_bytes());
    }

    /// What `chat` returned, and what it printed.
    type ChatRun = (Result<(), ClientError>, Vec<u8>);

    /// Runs `chat` on `input` against the scripted server; returns the
    /// server socket, the client's address, and the thread's result.
    fn chat_with(
        input: &'static [u8],
        options: Options,
    ) -> (UdpSocket, thread::JoinHandle<ChatRun>) {
        let (server, socket) = scripted_server_and_client();
        let client = thread::spawn(move || {
            let mut out = Vec::new();
            let result = chat(
                socket,
                io::Cursor::new(input),
                &mut out,
                &Signals::default(),
                options,
            );
            (result, out)
        });
        (server, client)
    }

    fn next(server: &UdpSocket) -> (Vec<u8>, SocketAddr) {
        let mut buf = [0u8; 256];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        (buf[..n].to_vec(), from)
    }

    #[test]
    fn a_refused_name_is_printed_and_another_asked_for() {
        let (server, client) = chat_with(b"alice\nalice2\nquit\n", Options::default());
        let (got, addr) = next(&server);
        assert_eq!(got, b"__new_name__:alice");
        let refusal =
            "__name_refused__:nom refusé : « alice » est déjà pris, choisissez-en un autre";
        server.send_to(refusal.as_bytes(), addr).unwrap();
        let (got, _) = next(&server);
        assert_eq!(got, b"__new_name__:alice2");
        server
            .send_to(b"\n***alice2*** vient de rentrer sur le chat !\n", addr)
            .unwrap();
        assert_eq!(next(&server).0, b"__quit__");
        server.send_to(b"__quit__", addr).unwrap();
        let (result, out) = client.join().unwrap();
        result.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Enter your name : Enter your name : \n***alice2*** vient de rentrer sur le chat !\n\n"
        );
    }

    #[test]
    fn a_full_chat_is_an_error_with_the_servers_reason() {
        let (server, client) = chat_with(b"pr\n", Options::default());
        let (_, addr) = next(&server);
        server
            .send_to(b"__full__:tchat complet (2 membres)\x1b[2J", addr)
            .unwrap();
        let (result, _) = client.join().unwrap();
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            "inscription refusée par le serveur : tchat complet (2 membres)\\x1b[2J"
        );
    }

    /// What a hostile server (or member) sends, and how it is printed.
    const HOSTILE: &[u8] =
        b"[as] : hi\n[alice] : password?\x1b[2J\x1b]0;owned\x07\x1b]52;c;aGk=\x07\xe2\x80\xae\xff";
    const ESCAPED: &str = "[as] : hi\n[alice] : password?\\x1b[2J\\x1b]0;owned\\x07\\x1b]52;c;aGk=\\x07\\u202e\\xff\n";

    #[test]
    fn received_control_characters_are_escaped_unless_brut() {
        for (output, expected) in [
            (Output::Escaped, ESCAPED.as_bytes().to_vec()),
            (Output::Raw, [HOSTILE, b"\n"].concat()),
        ] {
            let options = Options {
                output,
                ..Options::default()
            };
            let (server, client) = chat_with(b"pr\n", options);
            let (_, addr) = next(&server);
            server.send_to(b"bienvenue", addr).unwrap();
            server.send_to(HOSTILE, addr).unwrap();
            // End of input: the client quits once the sender saw it.
            assert_eq!(next(&server).0, b"__quit__");
            // The hostile datagram went before __quit__'s answer: printed.
            server.send_to(b"__quit__", addr).unwrap();
            let (result, out) = client.join().unwrap();
            result.unwrap();
            let prefix = b"Enter your name : bienvenue\n";
            assert_eq!(&out[..prefix.len()], prefix);
            assert_eq!(out[prefix.len()..], expected[..], "{output:?}");
        }
    }

    #[test]
    fn the_receiver_sends_keepalives() {
        let options = Options {
            keepalive_every: Duration::from_millis(50),
            ..Options::default()
        };
        let (server, socket) = scripted_server_and_client();
        let (mut typing, reader) = std::os::unix::net::UnixStream::pair().unwrap();
        typing.write_all(b"pr\n").unwrap();
        let client = thread::spawn(move || {
            chat(
                socket,
                io::BufReader::new(reader),
                &mut Vec::new(),
                &Signals::default(),
                options,
            )
        });
        let (_, addr) = next(&server);
        server.send_to(b"bienvenue", addr).unwrap();
        for _ in 0..3 {
            assert_eq!(next(&server).0, b"__keepalive__");
        }
        typing.write_all(b"quit\n").unwrap();
        loop {
            let (got, _) = next(&server);
            if got == b"__quit__" {
                break;
            }
            assert_eq!(got, b"__keepalive__");
        }
        server.send_to(b"__quit__", addr).unwrap();
        client.join().unwrap().unwrap();
    }
}
