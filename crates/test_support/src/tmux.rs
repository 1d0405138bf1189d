//! A terminal program driven in tmux, for the tests that use a real peer
//! the way a user does: a full-screen client (irssi), an interactive shell
//! with job control (Ctrl-Z, `fg`). The session is killed when dropped,
//! even when the test fails.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// A detached tmux session running one program.
#[derive(Debug)]
pub struct Tmux {
    name: String,
}

impl Tmux {
    /// Starts `command` (the program, then its arguments, run without a
    /// shell) in a new detached session, 200 columns by 40 lines, named
    /// after `prefix` and this process.
    ///
    /// # Panics
    /// If tmux cannot start it (check [`crate::have_program`] first).
    pub fn start(prefix: &str, command: &[&str]) -> Tmux {
        let name = format!("{prefix}_{}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "200", "-y", "40"])
            .args(command)
            .status()
            .expect("tmux");
        assert!(status.success(), "tmux new-session {command:?}");
        Tmux { name }
    }

    /// Sends tmux key names or strings (`"Enter"`, `"C-z"`, `"ab"`).
    pub fn keys(&self, keys: &[&str]) {
        self.tmux(&["send-keys", "-t", &self.name], keys);
    }

    /// Types `text` as it is, then Enter.
    pub fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.name, "-l"], &[text]);
        self.keys(&["Enter"]);
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the terminal shows `text` `times` times, at most
    /// `within`; returns the screen then.
    ///
    /// # Panics
    /// Past `within`, with what the terminal shows.
    pub fn wait_for(&self, text: &str, times: usize, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "attendu {text:?} ({times} fois), le terminal montre :\n{screen}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn tmux(&self, command: &[&str], args: &[&str]) {
        let status = Command::new("tmux")
            .args(command)
            .args(args)
            .status()
            .expect("tmux");
        assert!(status.success(), "tmux {command:?} {args:?}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .output();
    }
}
