//! `irc_client`: the report's terminal client, fixed. A thread prints what
//! the server sends (control characters escaped, so no text can drive the
//! terminal); the main thread sends each typed line as the report's client
//! does ([`protocols::chat_irc::client_line`]: `/JOIN c` as `JOIN c`,
//! anything else as `message...`); `/BYE` prints `AU REVOIR !` and ends.
//! `/SEND` and `/RECV` read and write files ([`crate::client_files`]):
//! the server's transfer orders start a thread per transfer, so the chat
//! goes on during it.
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
use std::sync::{Arc, Mutex};
use std::thread;

use crossbeam_channel::{unbounded, Sender};
use protocols::chat_irc::client_line;
use server_kit::lines::{read_line_bounded, LineRead};

use crate::client_files::{say, Files, Screen};

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
    let screen: Screen<O> = Arc::new(Mutex::new(output));
    let files = Arc::new(Files::new(stream.peer_addr()?));
    let (printer_screen, printer_files) = (Arc::clone(&screen), Arc::clone(&files));
    let printer = thread::spawn(move || {
        print_loop(reader, &printer_screen, &printer_files, &printer_tx);
    });
    // The keyboard thread is not joined: it may be blocked in a read of
    // stdin when the server closes, and ending the process ends it.
    thread::spawn(move || keyboard_loop(input, &tx));
    let mut stream = stream;
    let end = loop {
        match rx.recv() {
            Ok(Ctl::Typed(line)) => {
                let sent = match file_command(&line) {
                    Some((true, args)) => files.send_command(args, &screen),
                    Some((false, args)) => files.recv_command(args, &screen),
                    None => Some(client_line(&line)),
                };
                let Some(sent) = sent else { continue };
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

/// `/SEND args` (true) or `/RECV args` (false), the command word in any
/// case.
fn file_command(typed: &str) -> Option<(bool, &str)> {
    let command = typed.strip_prefix('/')?;
    let (word, args) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    match word.to_ascii_uppercase().as_str() {
        "SEND" => Some((true, args)),
        "RECV" => Some((false, args)),
        _ => None,
    }
}

/// Prints each line the server sends, controls escaped, until it closes;
/// transfer orders start their transfer instead.
fn print_loop<O: Write + Send + 'static>(
    stream: TcpStream,
    screen: &Screen<O>,
    files: &Files,
    tx: &Sender<Ctl>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        let r = read_line_bounded(&mut reader, &mut buf, MAX_PRINTED_LINE);
        if !buf.is_empty() || matches!(r, Ok(LineRead::Line)) {
            let text = String::from_utf8_lossy(&buf);
            let order = matches!(r, Ok(LineRead::Line)) && files.order(&text, screen);
            if !order && !say(screen, &text) {
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
