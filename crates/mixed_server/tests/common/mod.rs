//! Shared by the crate's tests: start our binaries (built by cargo for
//! these tests), read their stdout line by line, run clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(30);

pub fn exe(name: &str) -> &'static str {
    match name {
        "mixed_server" => env!("CARGO_BIN_EXE_mixed_server"),
        "mixed_client" => env!("CARGO_BIN_EXE_mixed_client"),
        "tcp_server" => env!("CARGO_BIN_EXE_tcp_server"),
        "tcp_client" => env!("CARGO_BIN_EXE_tcp_client"),
        "udp_server" => env!("CARGO_BIN_EXE_udp_server"),
        "udp_client" => env!("CARGO_BIN_EXE_udp_client"),
        other => panic!("unknown binary {other}"),
    }
}

/// A server of ours, its stdout collected line by line.
pub struct Running {
    pub server: e2e::Server,
    out: Arc<Mutex<Vec<String>>>,
}

impl Running {
    pub fn start(binary: &str, args: &[&str]) -> Running {
        let ready = if binary == "mixed_server" { 2 } else { 1 };
        let mut cmd = Command::new(exe(binary));
        cmd.args(args).stdout(Stdio::piped());
        let mut server = e2e::Server::start_with(cmd, binary, ready);
        let stdout = server.child_mut().stdout.take().expect("piped stdout");
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Running { server, out }
    }

    pub fn port(&self) -> u16 {
        self.server.addrs[0].port()
    }

    pub fn udp_port(&self) -> u16 {
        self.server.addrs[1].port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addrs[0]
    }

    /// Waits until stdout has at least `n` lines; returns them all.
    pub fn lines(&self, n: usize) -> Vec<String> {
        wait_for(|| {
            let out = self.out.lock().unwrap();
            (out.len() >= n).then(|| out.clone())
        })
        .unwrap_or_else(|| panic!("fewer than {n} lines: {:?}", self.out.lock().unwrap()))
    }

    pub fn stdout_now(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> Vec<String> {
        self.server.stderr()
    }
}

pub fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs one of our clients to the end, with `stdin` as its input.
pub fn client(binary: &str, args: &[&str], stdin: &str) -> Output {
    run(Command::new(exe(binary)).args(args), stdin)
}

pub fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_string();
    thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    child.wait_with_output().expect("wait")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Replaces the port of every Python address tuple by `PORT`, so outputs
/// of two runs (or two servers) compare.
pub fn without_ports(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            let mut out = String::new();
            let mut rest = line.as_str();
            while let Some(i) = rest.find("', ") {
                out.push_str(&rest[..i + 3]);
                rest = &rest[i + 3..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                if digits > 0 {
                    out.push_str("PORT");
                    rest = &rest[digits..];
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// A free port now (for the sheet's Python servers, which bind a fixed one).
pub fn free_port() -> u16 {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    // The UDP side must be free too (udp_server.py, mixed_server.py).
    drop(tcp);
    port
}

/// The sheet's Python program `name`, with its ports replaced, and the one
/// fix it needs to run at all: Python 3 refuses a non-ASCII character in a
/// bytes literal (`b"Message reçu"` is a SyntaxError), so the answers are
/// encoded as a student must write them, `"Message reçu".encode()` (UTF-8,
/// the same bytes our servers send).
pub fn sheet_program(name: &str, ports: &[(u16, u16)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name);
    let mut code = std::fs::read_to_string(path).unwrap();
    for answer in [
        "Message reçu via TCP",
        "Message reçu via UDP",
        "Message reçu",
    ] {
        code = code.replace(&format!("b\"{answer}\""), &format!("\"{answer}\".encode()"));
    }
    for (from, to) in ports {
        code = code.replace(&from.to_string(), &to.to_string());
    }
    code
}

/// A test that needs a program or root: skipped with a message, or a
/// failure under E2E_STRICT=1 (set by .ci/run, which installs everything).
pub fn unavailable(message: &str) {
    if std::env::var("E2E_STRICT").is_ok_and(|v| v == "1") {
        panic!("E2E_STRICT=1 : {message}");
    }
    e2e::skip(&format!("test ignoré : {message}"));
}

/// A users file in `dir` with alice (`secret`), bob (`azerty`) and carol
/// (`carol`), added by `mixed_server ajouter-utilisateur`; its path.
pub fn users(dir: &Path) -> String {
    let file = dir.join("utilisateurs.txt");
    for (name, password) in [("alice", "secret"), ("bob", "azerty"), ("carol", "carol")] {
        let out = client(
            "mixed_server",
            &[
                "ajouter-utilisateur",
                "--utilisateurs",
                file.to_str().unwrap(),
                name,
            ],
            &format!("{password}\n"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains("secret") && stored.contains("alice:$argon2id$"));
    file.to_str().unwrap().to_string()
}

/// `mixed_server --json` on free ports, with [`users`].
pub fn json_server(dir: &Path) -> Running {
    json_server_with(dir, &[])
}

pub fn json_server_with(dir: &Path, extra: &[&str]) -> Running {
    let file = users(dir);
    let mut args = vec![
        "--port",
        "0",
        "--port-udp",
        "0",
        "--json",
        "--utilisateurs",
        &file,
    ];
    args.extend(extra);
    Running::start("mixed_server", &args)
}
