//! Starting `serveur_http` on port 0 and talking raw HTTP to it.

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_serveur_http");

/// Keep-alive with a single acceptor and a single event loop: the setting
/// under which a test can count a loop's connections exactly.
pub const ONE_LOOP: [&str; 5] = ["--keep-alive", "--accepteurs", "1", "--boucles", "1"];

/// The workspace's `pages_serveur`.
pub fn pages() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pages_serveur")
}

/// A running `serveur_http`: the workspace's one server harness
/// ([`e2e::Server`]: ready line, stderr, SIGINT), plus its stdout line by
/// line (the requests it prints).
#[derive(Debug)]
pub struct Server {
    inner: e2e::Server,
    pub addr: SocketAddr,
    /// Stderr lines printed before the ready line.
    pub before_ready: Vec<String>,
    stdout: Option<mpsc::Receiver<String>>,
    /// A stdout kept open and never read (it fills up).
    _unread: Option<ChildStdout>,
}

impl Server {
    /// `serveur_http --port 0 --racine <pages> --silencieux <args>`.
    pub fn start(args: &[&str]) -> Server {
        let mut all = vec!["--port", "0", "--silencieux"];
        all.extend_from_slice(args);
        Server::start_raw(&all, Some(&pages()))
    }

    /// Starts with exactly `args` (plus `--racine root` if given) and
    /// captures stdout line by line.
    pub fn start_raw(args: &[&str], root: Option<&Path>) -> Server {
        let mut cmd = Command::new(BINARY);
        cmd.args(args);
        if let Some(root) = root {
            cmd.arg("--racine").arg(root);
        }
        Server::spawn(cmd).unwrap_or_else(|lines| panic!("no ready line; stderr:\n{lines}"))
    }

    /// Spawns and waits for the ready line; on exit without it, returns
    /// stderr.
    pub fn spawn(cmd: Command) -> Result<Server, String> {
        Server::spawn_with(cmd, true)
    }

    /// With `read_stdout` false, stdout is a pipe nobody reads (it fills up).
    pub fn spawn_with(mut cmd: Command, read_stdout: bool) -> Result<Server, String> {
        cmd.stdout(Stdio::piped());
        let mut inner = e2e::Server::try_start_with(cmd, "serveur_http", 1)?;
        let stdout = inner.child_mut().stdout.take().expect("piped stdout");
        let (stdout, unread) = if read_stdout {
            (Some(lines_of(stdout)), None)
        } else {
            (None, Some(stdout))
        };
        Ok(Server {
            addr: inner.addr(),
            before_ready: inner.stderr_before_ready(),
            inner,
            stdout,
            _unread: unread,
        })
    }

    /// Next stdout line, waiting up to 5 s.
    pub fn stdout_line(&self) -> Option<String> {
        self.stdout
            .as_ref()?
            .recv_timeout(Duration::from_secs(5))
            .ok()
    }

    /// SIGINT, as Ctrl-C; waits up to 10 s for the exit.
    pub fn interrupt(self) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let status = self.inner.interrupt();
        (status, start.elapsed())
    }
}

fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Connects (with a timeout).
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// Sends `request` as is, reads until the server closes.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).expect("send request");
    read_all(&mut stream)
}

pub fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return answer,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return answer,
            Err(e) => panic!("read answer: {e} (got {} bytes)", answer.len()),
        }
    }
}

/// `GET path HTTP/1.1` with `Host`, and `Accept-Language` if given.
pub fn get(addr: SocketAddr, path: &str, language: Option<&str>) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some(l) = language {
        request.push_str(&format!("Accept-Language: {l}\r\n"));
    }
    request.push_str("\r\n");
    exchange(addr, request.as_bytes())
}

/// What the sheet's server answers for a file: exact bytes.
pub fn sheet_answer(status_line: &str, file: &Path) -> Vec<u8> {
    let mut body = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    body.push(b'\n');
    let mut out = format!(
        "{status_line}\r\nContent-Type:text/html\r\nContent-Length:{}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// The status line of an answer.
pub fn status_line(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    text.split("\r\n").next().unwrap_or_default().to_string()
}

/// One response with a Content-Length, read whole (and nothing beyond).
pub fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let len: usize = head
                .split("\r\n")
                .find_map(|l| l.strip_prefix("Content-Length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("Content-Length");
            if data.len() >= end + 4 + len {
                assert_eq!(data.len(), end + 4 + len, "nothing beyond the body");
                return String::from_utf8(data).unwrap();
            }
        }
        let n = stream.read(&mut buf).expect("read response");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&data));
        data.extend_from_slice(&buf[..n]);
    }
}

/// Reads responses one after the other from a persistent connection, the
/// bytes of the next one kept for it (pipelining).
pub struct Responses {
    reader: BufReader<TcpStream>,
}

/// One response: its head (lines joined with CRLF) and its body.
#[derive(Debug)]
pub struct Response {
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or_default()
    }
}

impl Responses {
    pub fn new(stream: &TcpStream) -> Responses {
        Responses {
            reader: BufReader::new(stream.try_clone().expect("clone stream")),
        }
    }

    /// The next response (its body by Content-Length, whole).
    pub fn next(&mut self) -> Response {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read head");
            assert!(n > 0, "closed before a whole head: {head:?}");
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Content-Length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("Content-Length");
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).expect("read body");
        Response {
            head: head.trim_end().to_string(),
            body,
        }
    }

    /// Whether the server closed the connection (nothing more comes).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(self.reader.read_to_end(&mut rest), Ok(0) | Err(_)) && rest.is_empty()
    }
}
