//! Helpers shared by the chat tests: a `serveur_chat` whose stdout is
//! captured, and a real `client_chat` driven through its stdin.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use e2e::{binary, Server};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(10);

/// Everything a child wrote on a pipe, read by a thread.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn spawn(mut pipe: impl Read + Send + 'static) -> (Captured, JoinHandle<()>) {
        let captured = Captured::default();
        let sink = captured.clone();
        let handle = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        (captured, handle)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A server's stdout, complete once the server exited.
#[derive(Debug)]
pub struct ServerOut {
    captured: Captured,
    reader: JoinHandle<()>,
}

impl ServerOut {
    /// Captures a server's stdout pipe.
    pub fn spawn(pipe: impl Read + Send + 'static) -> ServerOut {
        let (captured, reader) = Captured::spawn(pipe);
        ServerOut { captured, reader }
    }

    /// Waits for end of file (the server exited) and returns the text.
    pub fn wait(self) -> String {
        self.reader.join().unwrap();
        self.captured.text()
    }
}

/// Starts `serveur_chat` with its stdout captured.
pub fn start_chat_server(args: &[&str]) -> (Server, ServerOut) {
    let mut cmd = Command::new(binary("serveur_chat"));
    cmd.args(args).stdout(Stdio::piped());
    let mut server = Server::start_with(cmd, "serveur_chat", 1);
    let stdout = server.child_mut().stdout.take().unwrap();
    (server, ServerOut::spawn(stdout))
}

/// A raw UDP peer on the server's family, reads time out after [`STEP`].
pub fn udp_peer(server: SocketAddr) -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind((server.ip(), 0)).unwrap();
    socket.set_read_timeout(Some(STEP)).unwrap();
    socket
}

/// The next datagram on `socket`, as text.
pub fn recv_text(socket: &std::net::UdpSocket) -> String {
    let mut buf = vec![0u8; 1 << 16];
    let (n, _) = socket.recv_from(&mut buf).expect("a datagram");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// A raw peer that registers as `name` and reads its welcome.
pub fn member(server: SocketAddr, name: &str) -> std::net::UdpSocket {
    let socket = udp_peer(server);
    socket
        .send_to(format!("__new_name__:{name}").as_bytes(), server)
        .unwrap();
    assert_eq!(
        recv_text(&socket),
        format!("\n***{name}*** vient de rentrer sur le chat !\n")
    );
    socket
}

/// A running chat client (`client_chat`, or a Python one), fed line by line.
#[derive(Debug)]
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Captured,
    stderr: Captured,
}

impl Client {
    pub fn start(server: SocketAddr) -> Client {
        Self::start_args(&[
            "--serveur",
            &server.ip().to_string(),
            "--port",
            &server.port().to_string(),
        ])
    }

    pub fn start_args(args: &[&str]) -> Client {
        let mut cmd = Command::new(binary("client_chat"));
        cmd.args(args);
        Self::spawn(cmd)
    }

    /// Any chat client (ours, or a Python one), stdin/stdout/stderr piped.
    pub fn spawn(mut cmd: Command) -> Client {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, _) = Captured::spawn(child.stdout.take().unwrap());
        let (stderr, _) = Captured::spawn(child.stderr.take().unwrap());
        Client {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Waits until stdout is exactly `expected` (fails at once if it went
    /// another way, or after [`STEP`]).
    pub fn wait_for(&self, expected: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let got = self.stdout();
            if got == expected {
                return;
            }
            if !expected.starts_with(&got) || Instant::now() > deadline {
                assert_lines(&got, expected);
                panic!(
                    "client output stuck at {got:?}, expected {expected:?}; stderr: {}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn interrupt(&self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).unwrap();
    }

    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "client_chat did not exit; stderr: {}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compares two texts line by line, naming the first line that differs.
pub fn assert_lines(got: &str, expected: &str) {
    let (g, e): (Vec<_>, Vec<_>) = (got.split('\n').collect(), expected.split('\n').collect());
    for (i, (gl, el)) in g.iter().zip(&e).enumerate() {
        assert_eq!(
            gl,
            el,
            "line {} differs\n--- got:\n{got}\n--- expected:\n{expected}",
            i + 1
        );
    }
    assert_eq!(
        g.len(),
        e.len(),
        "line counts differ\n--- got:\n{got}\n--- expected:\n{expected}"
    );
}
