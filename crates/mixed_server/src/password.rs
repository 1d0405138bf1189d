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
//! The signals only reach the watcher if no other thread of the process
//! takes them: a program with other threads blocks them there
//! ([`block_signals_in_this_thread`]), as `mixed_client --json` does in its
//! printing thread.

use std::io::{self, BufRead};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use nix::sys::pthread::pthread_kill;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::termios::{tcflush, tcgetattr, tcsetattr, FlushArg, LocalFlags, SetArg, Termios};
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

/// Keeps the ending signals away from the calling thread (for the threads a
/// program runs beside a password prompt).
pub fn block_signals_in_this_thread() {
    let _ = ending_signals().thread_block();
}

/// Reads one line from stdin, without its end of line. On a terminal,
/// shows `prompt` on stderr with the echo off (see the module's doc).
pub fn read_password(prompt: &str) -> Result<String, BoxError> {
    let stdin = io::stdin();
    let Ok(saved) = tcgetattr(&stdin) else {
        // Not a terminal (a pipe, a file): nothing to hide, nothing to ask.
        return read_line();
    };
    let signals = SignalWatch::start(&saved)?;
    let echo = EchoOff::start(&saved)?;
    eprint!("{prompt}");
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

/// The terminal with its echo off; restored as it was when dropped.
struct EchoOff {
    saved: Termios,
}

impl EchoOff {
    fn start(saved: &Termios) -> io::Result<EchoOff> {
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        // TCSAFLUSH would drop keys typed ahead; they belong to the password.
        tcsetattr(io::stdin(), SetArg::TCSANOW, &quiet)?;
        Ok(EchoOff {
            saved: saved.clone(),
        })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}

/// The ending signals blocked in this thread and waited for by a watcher,
/// which restores `saved` before the process exits. Dropped: this thread's
/// signal mask is back, and a later signal only ends the process.
struct SignalWatch {
    previous: SigSet,
    done: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

impl SignalWatch {
    fn start(saved: &Termios) -> io::Result<SignalWatch> {
        let mut set = ending_signals();
        set.add(STOP_WATCHING);
        let previous = set.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let done = Arc::new(AtomicBool::new(false));
        let mut watch = SignalWatch {
            previous,
            done: Arc::clone(&done),
            watcher: None,
        };
        let saved = saved.clone();
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
                        signal => break signal,
                    }
                };
                if !done.load(Ordering::Acquire) {
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
