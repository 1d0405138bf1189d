//! Helpers for the end-to-end tests in `tests/tests/`: build and find a
//! workspace binary, start a server from it, read its address from the ready
//! line (`<binary>: en écoute sur <addr>`), and stop it with SIGINT as Ctrl-C
//! would.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Path to a workspace binary, built first (once per test process) so that a
/// test never runs a stale one. Binaries of other packages are not built by
/// `cargo test` for this package, hence the explicit build.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if built.insert(name.to_string()) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .args(["build", "--quiet", "--bin", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
    }
    profile_dir.join(name)
}

/// Every binary of the workspace as `(package, binary)`, read from `cargo
/// metadata`: a binary added later is covered by the tests that use this
/// without editing them.
pub fn workspace_binaries() -> Vec<(String, String)> {
    let mut binaries = Vec::new();
    for package in cargo_metadata()["packages"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = package["name"].as_str().unwrap_or_default();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if is_bin {
                let bin = target["name"].as_str().unwrap_or_default();
                binaries.push((name.to_string(), bin.to_string()));
            }
        }
    }
    binaries.sort();
    binaries
}

/// `cargo metadata --no-deps` of the workspace, as JSON.
pub fn cargo_metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// A running server process, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The addresses of its ready lines, in order (one per socket).
    pub addrs: Vec<SocketAddr>,
    stderr: Arc<Mutex<Vec<String>>>,
    ready_prefix: String,
}

impl Server {
    /// Starts `binary` with `args` and waits for `ready_lines` ready lines
    /// (one per bound socket). stdout is discarded; use
    /// [`Server::start_with`] to capture it.
    pub fn start(binary: &str, args: &[&str], ready_lines: usize) -> Server {
        let mut cmd = Command::new(self::binary(binary));
        cmd.args(args).stdout(Stdio::null());
        Self::start_with(cmd, binary, ready_lines)
    }

    /// Starts a prepared command (stdout as the caller set it; stderr is
    /// captured here) and waits for its ready lines.
    pub fn start_with(cmd: Command, binary: &str, ready_lines: usize) -> Server {
        Self::try_start_with(cmd, binary, ready_lines)
            .unwrap_or_else(|log| panic!("{binary} printed no ready line; stderr:\n{log}"))
    }

    /// [`Server::start_with`], giving back what the server printed on
    /// stderr when it exits (or stays silent for 60 s) before its ready
    /// lines: a test of a startup error reads it.
    pub fn try_start_with(
        mut cmd: Command,
        binary: &str,
        ready_lines: usize,
    ) -> Result<Server, String> {
        cmd.stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let prefix = server_kit::ready_prefix(binary);
        let sink = Arc::clone(&lines);
        // Ends at the server's exit, which ends the wait below at once.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let addr = line
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|addr| addr.parse::<SocketAddr>().ok());
                // The line first: who gets the address finds it stored.
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        let mut addrs = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while addrs.len() < ready_lines {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(addr) => addrs.push(addr),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // The reader has seen the end of stderr by now (or
                    // never will): give it a moment to store the last line.
                    thread::sleep(Duration::from_millis(20));
                    return Err(lines.lock().unwrap_or_else(|e| e.into_inner()).join("\n"));
                }
            }
        }
        Ok(Server {
            child,
            addrs,
            stderr: lines,
            ready_prefix: server_kit::ready_prefix(binary),
        })
    }

    /// The first (or only) bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What the server wrote on stderr before its first ready line.
    pub fn stderr_before_ready(&self) -> Vec<String> {
        self.stderr()
            .into_iter()
            .take_while(|line| !line.starts_with(&self.ready_prefix))
            .collect()
    }

    /// What the server wrote on stderr after its ready lines, so far.
    pub fn stderr_after_ready(&self) -> Vec<String> {
        let lines = self.stderr();
        let ready = lines
            .iter()
            .rposition(|line| line.starts_with(&self.ready_prefix));
        lines.into_iter().skip(ready.map_or(0, |i| i + 1)).collect()
    }

    /// The child process, e.g. to take its stdout.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits up to 10 s for the exit.
    pub fn interrupt(mut self) -> ExitStatus {
        let pid = Pid::from_raw(self.child.id() as i32);
        kill(pid, Signal::SIGINT).expect("send SIGINT");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop within 10 s of SIGINT"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ctrl-C for a program waiting for keyboard input: SIGINT with its stdin
/// kept open (`Child::wait` closes stdin, and end of input would end the
/// program by itself, hiding what Ctrl-C does), then its exit status.
pub fn ctrl_c_at_the_keyboard(child: &mut Child) -> ExitStatus {
    let _stdin = child.stdin.take();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    child.wait().expect("wait")
}

/// How many sockets process `pid` has open (from `/proc/PID/fd`).
pub fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("socket:"))
                .count()
        })
        .unwrap_or(0)
}

/// Whether we run as root (live capture, network namespaces).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub use test_support::{have_program, skip, strict, tmux, unread_stderr, TestRng};

/// An in-memory writer shared between the code under test (which writes to
/// a clone) and the test (which reads what was written so far).
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// The bytes written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The text written so far (panics on invalid UTF-8: a test failure).
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes()).expect("UTF-8 output")
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
