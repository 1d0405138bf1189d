//! `irc_client`: the report's terminal client, fixed. A thread prints what
//! the server sends (control characters escaped, so no text can drive the
//! terminal); the main thread sends each typed line as the report's client
//! does ([`protocols::chat_irc::client_line`]: `/JOIN c` as `JOIN c`,
//! anything else as `message...`); `/BYE` prints `AU REVOIR !` and ends.
//!
//! ```mermaid
//! flowchart LR
//!     K[stdin thread] -- "Typed(line) / end of input" --> M[main thread]
//!     R[receiver thread] -- "ServerClosed" --> M
//!     Srv((irc_server)) -- lines --> R -- escaped --> O[stdout]
//!     M -- "JOIN c, messagebonjour" --> Srv
//! ```

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::thread;

use crossbeam_channel::{unbounded, Sender};
use protocols::chat_irc::client_line;
use protocols::irc_text::escape_controls;
use server_kit::lines::{read_line_bounded, LineRead};

/// The binary's name, for its error lines.
pub const BINARY: &str = "irc_client";
/// Longest line printed at once (a longer one is printed in pieces).
const MAX_PRINTED_LINE: usize = 64 * 1024;
/// How long the server has to close the connection after BYE.
const BYE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How the client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `/BYE` typed, or the end of the input (BYE sent).
    Bye,
    /// The server closed the connection.
    ServerClosed,
}

#[derive(Debug)]
pub enum ClientError {
    /// The server's name did not resolve.
    Resolve(String, io::Error),
    /// No address of the server accepted the connection.
    Connect(String, io::Error),
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve(s, e) => write!(f, "adresse {s} introuvable : {e}"),
            ClientError::Connect(s, e) => write!(f, "connexion à {s} impossible : {e}"),
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// Connects to `server:port`, IPv4 addresses first (as Python's clients).
pub fn connect(server: &str, port: u16) -> Result<TcpStream, ClientError> {
    let target = format!("{server}:{port}");
    let mut addrs: Vec<_> = (server, port)
        .to_socket_addrs()
        .map_err(|e| ClientError::Resolve(target.clone(), e))?
        .collect();
    addrs.sort_by_key(|a| a.is_ipv6());
    let mut last = io::Error::new(io::ErrorKind::NotFound, "aucune adresse");
    for addr in addrs {
        match TcpStream::connect(addr) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(ClientError::Connect(target, last))
}

enum Ctl {
    Typed(String),
    InputEnd,
    ServerClosed,
}

/// Runs the client over `stream` with `input` as the keyboard and `output`
/// as the terminal.
pub fn run<I, O>(stream: TcpStream, input: I, output: O) -> Result<End, ClientError>
where
    I: BufRead + Send + 'static,
    O: Write + Send + 'static,
{
    let (tx, rx) = unbounded();
    let reader = stream.try_clone()?;
    let printer_tx = tx.clone();
    let printer = thread::spawn(move || print_loop(reader, output, &printer_tx));
    // The keyboard thread is not joined: it may be blocked in a read of
    // stdin when the server closes, and ending the process ends it.
    thread::spawn(move || keyboard_loop(input, &tx));
    let mut stream = stream;
    let end = loop {
        match rx.recv() {
            Ok(Ctl::Typed(line)) => {
                let sent = client_line(&line);
                let bye = sent.trim_end() == "BYE";
                if stream.write_all(format!("{sent}\n").as_bytes()).is_err() {
                    break End::ServerClosed;
                }
                if bye {
                    break End::Bye;
                }
            }
            // As the report's client: the end of the input says BYE.
            Ok(Ctl::InputEnd) => {
                let _ = stream.write_all(b"BYE\n");
                break End::Bye;
            }
            Ok(Ctl::ServerClosed) | Err(_) => break End::ServerClosed,
        }
    };
    if end == End::Bye {
        // What the server sent before it saw BYE is still printed: wait
        // (a little) for it to close the connection.
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let deadline = std::time::Instant::now() + BYE_WAIT;
        while let Ok(ctl) = rx.recv_deadline(deadline) {
            if matches!(ctl, Ctl::ServerClosed) {
                break;
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = printer.join();
    Ok(end)
}

fn keyboard_loop<I: BufRead>(mut input: I, tx: &Sender<Ctl>) {
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Ctl::InputEnd);
                return;
            }
            Ok(_) => {
                let typed = line.trim_end_matches(['\n', '\r']).to_owned();
                if tx.send(Ctl::Typed(typed)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Prints each line the server sends, controls escaped, until it closes.
fn print_loop<O: Write>(stream: TcpStream, mut output: O, tx: &Sender<Ctl>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        let r = read_line_bounded(&mut reader, &mut buf, MAX_PRINTED_LINE);
        if !buf.is_empty() || matches!(r, Ok(LineRead::Line)) {
            let text = escape_controls(&String::from_utf8_lossy(&buf), &[]);
            if writeln!(output, "{text}")
                .and_then(|()| output.flush())
                .is_err()
            {
                break;
            }
        }
        match r {
            Ok(LineRead::Line | LineRead::TooLong) => {}
            Ok(LineRead::Eof) | Err(_) => break,
        }
    }
    let _ = tx.send(Ctl::ServerClosed);
}
