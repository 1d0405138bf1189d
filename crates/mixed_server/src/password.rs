//! Reading a password typed on a terminal without showing it, and giving
//! the terminal back as it was on every way out.
//!
//! - The echo goes off before the prompt is shown: keys typed as soon as
//!   the prompt appears are already not echoed.
//! - It comes back when the line is read, on an error (a guard restores it
//!   when dropped), and on Ctrl-C or another terminating signal: these are
//!   blocked in the reading thread and taken by a watcher thread
//!   (`sigwait`), which drops the unread input (half a password must not
//!   reach the shell), restores the terminal, prints one French line and
//!   exits with 128 + the signal's number (130 for Ctrl-C). No signal
//!   handler, hence no global state for one. Once the line is read, the
//!   watcher is told to end ([`STOP_WATCHING`], sent to that thread only)
//!   and joined: a client that asks for passwords again and again
//!   (`mixed_client --json`, one per `LOGIN`) keeps no thread behind.
//!
//! - Ctrl-Z (`SIGTSTP`) is taken by the watcher too, and handled as `sudo`
//!   and `ssh` do: it drops the half-typed line (the prompt starts again),
//!   gives the terminal its echo back, then stops the process with the
//!   default `SIGTSTP` (the shell reports an ordinary stopped job). On
//!   `SIGCONT` (`fg`), once the process is in the terminal's foreground
//!   again, the echo goes off and the prompt is shown again. Without this,
//!   the user's shell would run with no echo until `fg`.
//!
//! The signals only reach the watcher if no other thread of the process
//! takes them: a program with other threads blocks them there
//! ([`block_signals_in_this_thread`]), as `mixed_client --json` does in its
//! printing thread.

use std::io::{self, BufRead};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use nix::sys::pthread::pthread_kill;
use nix::sys::signal::{raise, SigSet, SigmaskHow, Signal};
use nix::sys::termios::{tcflush, tcgetattr, tcsetattr, FlushArg, LocalFlags, SetArg, Termios};
use nix::unistd::{getpgrp, tcgetpgrp};
use server_kit::cli::BoxError;

/// Printed (on stderr) when a signal ends the prompt.
pub const INTERRUPTED: &str = "saisie du mot de passe interrompue";

/// Sent by the prompt to its own watcher thread: the prompt is over, end.
/// (One the terminal never sends; blocked only while a prompt runs.)
pub const STOP_WATCHING: Signal = Signal::SIGUSR2;

/// The signals that would end the process with the echo still off.
fn ending_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(signal);
    }
    set
}

/// The signals the watcher takes: the ending ones, and the stop and
/// continue pair.
fn watched_signals() -> SigSet {
    let mut set = ending_signals();
    set.add(Signal::SIGTSTP);
    // Blocking SIGCONT does not keep the process stopped: it continues,
    // and the signal waits for the watcher's `sigwait`.
    set.add(Signal::SIGCONT);
    set
}

/// Keeps the signals the prompt watches away from the calling thread (for
/// the threads a program runs beside a password prompt).
pub fn block_signals_in_this_thread() {
    let _ = watched_signals().thread_block();
}

/// Reads one line from stdin, without its end of line. On a terminal,
/// shows `prompt` on stderr with the echo off (see the module's doc).
pub fn read_password(prompt: &str) -> Result<String, BoxError> {
    let stdin = io::stdin();
    let Ok(saved) = tcgetattr(&stdin) else {
        // Not a terminal (a pipe, a file): nothing to hide, nothing to ask.
        return read_line();
    };
    // Running from the start: a signal before the echo goes off still
    // restores the terminal and says so.
    let prompt_state = Arc::new(Mutex::new(Prompt::Starting));
    let signals = SignalWatch::start(&saved, prompt, &prompt_state)?;
    let echo = EchoOff::start(&saved, &prompt_state, prompt)?;
    let line = read_line();
    drop(echo);
    drop(signals);
    // The Enter typed was not echoed either.
    eprintln!();
    line
}

fn read_line() -> Result<String, BoxError> {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Where the prompt is; the watcher and the reading thread change the
/// terminal only under this lock, so the prompt's end never races a Ctrl-Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    /// The echo not off yet, the prompt not shown: a Ctrl-Z now only stops
    /// the process (the terminal is as it was), and the prompt is shown
    /// once, when the echo goes off.
    Starting,
    /// Echo off, waiting for the line.
    Hidden,
    /// Stopped by Ctrl-Z (or not back in the foreground yet): the terminal
    /// is as it was, the echo will go off again on resuming.
    Suspended,
    /// The line is read: the watcher leaves the terminal alone.
    Over,
}

type PromptState = Arc<Mutex<Prompt>>;

fn lock(state: &PromptState) -> MutexGuard<'_, Prompt> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// `saved` without the echo.
fn quiet(saved: &Termios) -> Termios {
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet
}

/// The terminal with its echo off; restored as it was when dropped.
struct EchoOff {
    saved: Termios,
    state: PromptState,
}

impl EchoOff {
    /// Turns the echo off, then shows `prompt_text` (under the lock: a
    /// Ctrl-Z cannot come between the two).
    fn start(saved: &Termios, state: &PromptState, prompt_text: &str) -> io::Result<EchoOff> {
        let mut prompt = lock(state);
        // TCSANOW: TCSAFLUSH would drop keys typed ahead; they belong to
        // the password.
        tcsetattr(io::stdin(), SetArg::TCSANOW, &quiet(saved))?;
        *prompt = Prompt::Hidden;
        eprint!("{prompt_text}");
        Ok(EchoOff {
            saved: saved.clone(),
            state: Arc::clone(state),
        })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let mut prompt = lock(&self.state);
        let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved);
        *prompt = Prompt::Over;
    }
}

/// Ctrl-Z during the prompt: the half-typed line dropped (the prompt starts
/// again; a real Ctrl-Z already flushes it, a `kill -TSTP` does not), the
/// terminal as it was, then the process stopped as `SIGTSTP` stops it.
/// Returns once the process is continued.
fn suspend(saved: &Termios, state: &PromptState) {
    {
        let mut prompt = lock(state);
        if *prompt == Prompt::Hidden {
            let _ = tcflush(io::stdin(), FlushArg::TCIFLUSH);
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, saved);
            *prompt = Prompt::Suspended;
        }
    }
    // The default action of SIGTSTP, taken by this thread alone: the whole
    // process stops here, and `raise` returns on SIGCONT. (In an orphaned
    // process group the kernel drops it: the prompt simply starts again.)
    let tstp = SigSet::from(Signal::SIGTSTP);
    let _ = tstp.thread_unblock();
    let _ = raise(Signal::SIGTSTP);
    let _ = tstp.thread_block();
}

/// After a stop: once in the terminal's foreground again, echo off and the
/// prompt shown anew. (In the background, changing the terminal would hide
/// the shell's echo; the read stops the process, SIGTTIN, and the next
/// SIGCONT comes back here.)
fn resume(saved: &Termios, prompt_text: &str, state: &PromptState) {
    let mut prompt = lock(state);
    if *prompt != Prompt::Suspended || !in_foreground() {
        return;
    }
    if tcsetattr(io::stdin(), SetArg::TCSANOW, &quiet(saved)).is_ok() {
        *prompt = Prompt::Hidden;
        eprint!("{prompt_text}");
    }
}

/// Whether this process's group is the terminal's foreground one (true
/// when the terminal is not our controlling one: there is no job control).
fn in_foreground() -> bool {
    match tcgetpgrp(io::stdin()) {
        Ok(group) => group == getpgrp(),
        Err(_) => true,
    }
}

/// The ending signals, and Ctrl-Z's SIGTSTP/SIGCONT, blocked in this thread
/// and waited for by a watcher, which restores `saved` before the process
/// exits (or stops). Dropped: this thread's
/// signal mask is back, and a later signal only ends the process.
struct SignalWatch {
    previous: SigSet,
    done: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

impl SignalWatch {
    fn start(saved: &Termios, prompt: &str, state: &PromptState) -> io::Result<SignalWatch> {
        let mut set = watched_signals();
        set.add(STOP_WATCHING);
        let previous = set.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let done = Arc::new(AtomicBool::new(false));
        let mut watch = SignalWatch {
            previous,
            done: Arc::clone(&done),
            watcher: None,
        };
        let (saved, prompt, state) = (saved.clone(), prompt.to_string(), Arc::clone(state));
        // The watcher inherits the blocked mask, as `sigwait` requires.
        let watcher = thread::Builder::new()
            .name("signaux".into())
            .spawn(move || {
                let signal = loop {
                    let Ok(signal) = set.wait() else { return };
                    match signal {
                        // Only once the prompt is over (not a stray one
                        // from another process).
                        STOP_WATCHING if done.load(Ordering::Acquire) => return,
                        STOP_WATCHING => continue,
                        Signal::SIGTSTP => {
                            suspend(&saved, &state);
                            resume(&saved, &prompt, &state);
                        }
                        Signal::SIGCONT => resume(&saved, &prompt, &state),
                        signal => break signal,
                    }
                };
                // Held until the exit: the prompt cannot end meanwhile.
                let now = lock(&state);
                if *now != Prompt::Over {
                    // Half a password typed must not go on to the shell
                    // (which would show it, or run it): drop unread input.
                    let _ = tcflush(io::stdin(), FlushArg::TCIFLUSH);
                    let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &saved);
                    eprintln!("\n{INTERRUPTED}");
                }
                // The signal's usual meaning: the process ends.
                std::process::exit(128 + signal as i32);
            })?;
        watch.watcher = Some(watcher);
        Ok(watch)
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        let _ = self.previous.thread_set_mask();
        if let Some(watcher) = self.watcher.take() {
            if pthread_kill(watcher.as_pthread_t(), STOP_WATCHING).is_ok() {
                let _ = watcher.join();
            }
        }
    }
}
