//! How a binary ends: exit codes 0 (success), 1 (runtime failure) and 2 (bad
//! usage, clap's own), one clear stderr line, never a panic.

use std::error::Error;
use std::io;
use std::process::ExitCode;

/// The error type binaries return from their `run`.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Turns a binary's result into its exit code, printing `binary: message` on
/// stderr for a failure. A closed stdout (`… | head`) is not a failure.
pub fn finish(binary: &str, result: Result<(), BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{binary}: {}", describe(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Whether an error (or any error it wraps) is a write to a closed pipe.
pub fn is_broken_pipe(mut err: &(dyn Error + 'static)) -> bool {
    loop {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        match err.source() {
            Some(inner) => err = inner,
            None => return false,
        }
    }
}

/// The error's message, followed by its causes unless the message already
/// contains them (our own errors print their cause themselves).
fn describe(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(" : ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_success() {
        let err: BoxError = Box::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(finish("t", Err(err)), ExitCode::SUCCESS);
        let err: BoxError = Box::new(io::Error::other("x"));
        assert_eq!(finish("t", Err(err)), ExitCode::FAILURE);
    }
}
