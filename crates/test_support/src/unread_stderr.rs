//! A server process whose stderr nobody reads once it said where it
//! listens: a pipe that fills up, as under a paused `2>&1 | less`. The
//! tests that start one check that a stuck stderr stops no serving thread.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, Command, Stdio};

/// The running server; killed when dropped.
#[derive(Debug)]
pub struct UnreadStderr {
    child: Child,
    /// Held, never read: the pipe stays open and fills.
    _stderr: BufReader<ChildStderr>,
    /// Where it listens, from its ready line.
    pub addr: SocketAddr,
}

impl UnreadStderr {
    /// Starts `exe` with `args` (stdout to /dev/null) and reads its first
    /// stderr line, the ready line `<binary>: en écoute sur <addr>`.
    ///
    /// # Panics
    /// If it cannot start or its first line names no address.
    pub fn start(exe: &str, args: &[&str]) -> UnreadStderr {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe}: {e}"));
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut ready = String::new();
        stderr.read_line(&mut ready).expect("ready line");
        // `<binary>:`, `en`, `écoute`, `sur`, then the address.
        let addr = ready
            .split_whitespace()
            .nth(4)
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("not a ready line: {ready:?}"));
        UnreadStderr {
            child,
            _stderr: stderr,
            addr,
        }
    }
}

impl Drop for UnreadStderr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
