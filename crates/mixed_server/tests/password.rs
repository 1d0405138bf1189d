//! `mixed_server ajouter-utilisateur` and `mixed_client --json`'s LOGIN on a
//! real terminal: a pseudo-terminal
//! whose slave side is the child's stdin, stdout and stderr, as a user's
//! terminal would be. What the child (and the terminal's echo) writes is
//! read on the master side.

mod common;

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use e2e::tmux::Tmux;
use mixed_server::password::INTERRUPTED;
use mixed_server::users::Users;
use nix::pty::openpty;
use nix::sys::signal::{kill, Signal};
use nix::sys::termios::{tcgetattr, LocalFlags};
use nix::unistd::{write, Pid};

const WAIT: Duration = Duration::from_secs(30);
const PROMPT: &str = "Mot de passe : ";

/// A child on a pseudo-terminal, and what the terminal showed so far.
struct OnTerminal {
    child: Child,
    master: OwnedFd,
    slave: OwnedFd,
    shown: mpsc::Receiver<Vec<u8>>,
    text: Vec<u8>,
}

impl OnTerminal {
    /// `mixed_server ARGS` on a terminal.
    fn start(args: &[&str]) -> OnTerminal {
        OnTerminal::run(env!("CARGO_BIN_EXE_mixed_server"), args)
    }

    fn run(exe: &str, args: &[&str]) -> OnTerminal {
        let pty = openpty(None, None).expect("openpty");
        let modes = tcgetattr(pty.slave.as_fd()).unwrap();
        assert!(
            modes.local_flags.contains(LocalFlags::ECHO),
            "a fresh terminal echoes"
        );
        let io = || Stdio::from(pty.slave.try_clone().unwrap());
        // In a group of its own, as a shell runs each job: that group is
        // not orphaned (its parent, this test, is in another group of the
        // same session), so SIGTSTP's default action does stop it.
        let child = Command::new(exe)
            .process_group(0)
            .args(args)
            .stdin(io())
            .stdout(io())
            .stderr(io())
            .spawn()
            .unwrap();
        let (tx, shown) = mpsc::channel();
        let mut reader = fs::File::from(pty.master.try_clone().unwrap());
        thread::spawn(move || {
            let mut buf = [0u8; 1024];
            // Ends with EIO once every slave descriptor is closed.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        OnTerminal {
            child,
            master: pty.master,
            slave: pty.slave,
            shown,
            text: Vec::new(),
        }
    }

    /// Waits until the terminal shows `expected`.
    fn wait_for(&mut self, expected: &str) {
        self.wait_for_times(expected, 1);
    }

    /// Waits until the terminal has shown `expected` `times` times.
    fn wait_for_times(&mut self, expected: &str, times: usize) {
        let deadline = Instant::now() + WAIT;
        while String::from_utf8_lossy(&self.text)
            .matches(expected)
            .count()
            < times
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.shown.recv_timeout(left) {
                Ok(chunk) => self.text.extend(chunk),
                Err(_) => panic!(
                    "waited for {expected:?}, the terminal shows {:?}",
                    String::from_utf8_lossy(&self.text)
                ),
            }
        }
    }

    fn type_keys(&self, keys: &str) {
        write(&self.master, keys.as_bytes()).unwrap();
    }

    fn echo_on(&self) -> bool {
        let modes = tcgetattr(self.slave.as_fd()).unwrap();
        modes.local_flags.contains(LocalFlags::ECHO)
    }

    /// Waits for the child's exit code, then for everything it showed.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        // Everything the child wrote is in the master's queue by now: read
        // until quiet.
        while let Ok(chunk) = self.shown.recv_timeout(Duration::from_millis(300)) {
            self.text.extend(chunk);
        }
        (
            status.code(),
            String::from_utf8_lossy(&self.text).into_owned(),
        )
    }
}

/// `ajouter-utilisateur ... alice` on a terminal, once its prompt shows.
fn adding_alice(file: &std::path::Path) -> OnTerminal {
    let mut terminal = OnTerminal::start(&[
        "ajouter-utilisateur",
        "--utilisateurs",
        file.to_str().unwrap(),
        "alice",
    ]);
    terminal.wait_for(PROMPT);
    terminal
}

/// Types `password` at [`adding_alice`]'s prompt and waits for the exit:
/// checks it succeeded and never showed the password; returns what the
/// terminal showed.
fn alice_saved(mut terminal: OnTerminal, password: &str) -> String {
    terminal.type_keys(&format!("{password}\n"));
    // Its last line: everything the terminal showed before is read too.
    terminal.wait_for("utilisateur alice enregistré");
    let (code, shown) = terminal.finish();
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        !shown.contains(password),
        "the password was shown: {shown:?}"
    );
    shown
}

#[test]
fn the_password_typed_is_not_shown_and_is_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("utilisateurs.txt");
    let terminal = adding_alice(&file);
    // Already off when the prompt shows: keys typed at once are hidden.
    assert!(!terminal.echo_on(), "echo still on under the prompt");
    let shown = alice_saved(terminal, "Tr3s-s3cret");
    assert!(shown.contains("utilisateur alice enregistré"), "{shown:?}");
    let stored = fs::read_to_string(&file).unwrap();
    assert!(stored.starts_with("alice:$argon2id$"), "{stored}");
    assert!(!stored.contains("Tr3s-s3cret"));
    assert!(Users::load(&file).unwrap().check("alice", "Tr3s-s3cret"));
}

#[test]
fn ctrl_c_at_the_prompt_gives_the_echo_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("utilisateurs.txt");
    let mut terminal = adding_alice(&file);
    assert!(!terminal.echo_on());
    // (Keys typed just before the signal could be taken in by the terminal
    // after the echo is back: the first test covers typed keys.)
    let pid = Pid::from_raw(terminal.child.id() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    let echo_after = {
        let status = terminal.child.wait().unwrap();
        (status.code(), terminal.echo_on())
    };
    terminal.wait_for(INTERRUPTED);
    let (code, shown) = terminal.finish();
    assert_eq!(echo_after, (Some(130), true), "{shown:?}");
    assert_eq!(code, Some(130));
    assert!(shown.contains(INTERRUPTED), "{shown:?}");
    assert!(!file.exists(), "nothing is written after Ctrl-C");
}

/// A JSON server (users in `dir`) and `mixed_client --json` connected to it
/// on a terminal. Keep the server: dropping it stops it.
fn json_client_on_terminal(dir: &std::path::Path) -> (common::Running, OnTerminal) {
    let server = common::json_server(dir);
    let port = server.port().to_string();
    let terminal = OnTerminal::run(
        common::exe("mixed_client"),
        &["--json", "--serveur", "127.0.0.1", "--port", &port],
    );
    (server, terminal)
}

/// Threads of process `pid` now.
fn threads(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/task")).unwrap().count()
}

#[test]
fn each_login_prompt_ends_its_signal_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut terminal) = json_client_on_terminal(dir.path());
    let mut after_first = 0;
    for attempt in 1..=3 {
        terminal.type_keys("LOGIN alice\n");
        terminal.wait_for_times(PROMPT, attempt);
        terminal.type_keys("faux\n");
        terminal.wait_for_times("erreur", attempt);
        if attempt == 1 {
            after_first = threads(terminal.child.id());
        }
    }
    assert_eq!(
        threads(terminal.child.id()),
        after_first,
        "each LOGIN left a thread behind"
    );
    terminal.type_keys("LOGOUT\n");
    let (code, shown) = terminal.finish();
    assert!(!shown.contains("faux"), "the password was shown: {shown:?}");
    assert!(code.is_some(), "{shown}");
}

/// Whether process `pid` is stopped (`T` in /proc/PID/stat).
fn stopped(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command's name, which is in parentheses.
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
}

/// Ctrl-Z under the `times`-th prompt, then `fg`: checks that the child
/// stopped with the echo back on, then got it off again and asked anew.
fn stop_and_continue(terminal: &mut OnTerminal, times: usize) {
    assert!(!terminal.echo_on(), "echo still on under the prompt");
    let pid = Pid::from_raw(terminal.child.id() as i32);
    kill(pid, Signal::SIGTSTP).unwrap();
    let deadline = Instant::now() + WAIT;
    while !stopped(terminal.child.id()) {
        assert!(Instant::now() < deadline, "SIGTSTP did not stop the child");
        thread::sleep(Duration::from_millis(10));
    }
    // What the user's shell gets back while the prompt is stopped.
    assert!(terminal.echo_on(), "stopped with the echo off");
    kill(pid, Signal::SIGCONT).unwrap();
    terminal.wait_for_times(PROMPT, times + 1);
    assert!(!terminal.echo_on(), "echo on under the prompt shown again");
}

#[test]
fn ctrl_z_at_the_prompt_gives_the_echo_back_until_fg() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("utilisateurs.txt");
    let mut terminal = adding_alice(&file);
    stop_and_continue(&mut terminal, 1);
    alice_saved(terminal, "Tr3s-s3cret");
    assert!(Users::load(&file).unwrap().check("alice", "Tr3s-s3cret"));
}

#[test]
fn ctrl_z_at_a_login_prompt_gives_the_echo_back_until_fg() {
    let dir = tempfile::tempdir().unwrap();
    // mixed_client has a printing thread beside the prompt: the signals
    // must still reach the prompt's watcher.
    let (_server, mut terminal) = json_client_on_terminal(dir.path());
    terminal.type_keys("LOGIN alice\n");
    terminal.wait_for(PROMPT);
    stop_and_continue(&mut terminal, 1);
    terminal.type_keys("secret\n");
    // The server's answer to the LOGIN, on a line of its own (the terminal
    // turns each \n into \r\n): accepted.
    terminal.wait_for("\nok\r\n");
    terminal.type_keys("LOGOUT\n");
    let (code, shown) = terminal.finish();
    assert!(
        !shown.contains("secret"),
        "the password was shown: {shown:?}"
    );
    assert!(code.is_some(), "{shown}");
}

/// The user's way, with a real job-control shell (interactive bash in
/// tmux): Ctrl-Z typed at the prompt stops the program, `fg` brings the
/// prompt back (shown again, echo off: the password typed then is not
/// shown), and the password saved is the one typed after `fg` (the keys
/// typed before Ctrl-Z are dropped).
#[test]
fn ctrl_z_then_fg_in_a_real_shell() {
    if !(e2e::have_program("tmux") && e2e::have_program("bash")) {
        e2e::skip(
            "SKIP ctrl_z_then_fg_in_a_real_shell : tmux ou bash absent (apt-get install tmux)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("utilisateurs.txt");
    let shell = Tmux::start(
        "mixed_server_ctrl_z",
        &["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"],
    );
    let command = format!(
        "{} ajouter-utilisateur --utilisateurs {} alice",
        env!("CARGO_BIN_EXE_mixed_server"),
        file.display()
    );
    shell.type_line(&command);
    let prompt = PROMPT.trim_end();
    shell.wait_for(prompt, 1, WAIT);
    shell.keys(&["ab", "C-z"]);
    shell.wait_for("Stopped", 1, WAIT);
    shell.type_line("fg");
    shell.wait_for(prompt, 2, WAIT);
    shell.type_line("Secret-42");
    let shown = shell.wait_for("utilisateur alice enregistré", 1, WAIT);
    assert!(
        !shown.contains("Secret-42"),
        "the password was shown: {shown}"
    );
    let users = Users::load(&file).unwrap();
    assert!(users.check("alice", "Secret-42"), "{shown}");
}
