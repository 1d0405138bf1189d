//! How a binary starts and ends, in French: [`parse`] reads the command line
//! with French help and usage errors (exit 2), [`finish`] turns the result
//! into exit code 0 or 1 with one clear French stderr line, never a panic.
//!
//! - [`clap_fr`]: clap's help template, headings and error kinds in French.
//! - [`io_fr`]: the system's error messages (`Address already in use`, name
//!   lookups) in French, for every binary's error line.

pub mod clap_fr;
pub mod io_fr;

use std::error::Error;
use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

/// Parses the process's arguments into `A`, in French: `--help` and
/// `--version` print and exit 0, a usage error prints a French message and
/// exits 2. Every binary calls this instead of `A::parse()`.
pub fn parse<A: Parser>() -> A {
    match try_parse_from::<A, _, _>(std::env::args_os()) {
        Ok(args) => args,
        Err(err) => exit(&err),
    }
}

/// [`parse`] without exiting: the clap error, to print with [`render`].
pub fn try_parse_from<A, I, T>(args: I) -> Result<A, clap::Error>
where
    A: Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut matches = clap_fr::frenchify(A::command()).try_get_matches_from(args)?;
    A::from_arg_matches_mut(&mut matches)
}

/// What clap's error prints, in French, and whether it goes to stdout
/// (help, version) rather than stderr.
pub fn render(err: &clap::Error) -> (String, bool) {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            (clap_fr::translate_help(&err.to_string()), true)
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            (clap_fr::translate_help(&err.to_string()), false)
        }
        _ => (clap_fr::translate_error(err), false),
    }
}

fn exit(err: &clap::Error) -> ! {
    let (text, to_stdout) = render(err);
    if to_stdout {
        let mut out = io::stdout().lock();
        // A closed pipe (`--help | head`) is not worth an error.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        std::process::exit(0);
    }
    let _ = io::stderr().write_all(text.as_bytes());
    std::process::exit(2);
}

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
/// contains them (our own errors print their cause themselves), with the
/// system's English messages put in French.
pub fn describe(err: &(dyn Error + 'static)) -> String {
    let mut text = io_fr::translate(&err.to_string());
    let mut source = err.source();
    while let Some(inner) = source {
        let part = match inner.downcast_ref::<io::Error>() {
            Some(io) => io_fr::io_error(io).into_owned(),
            None => io_fr::translate(&inner.to_string()),
        };
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

    #[test]
    fn causes_are_french_and_not_repeated() {
        #[derive(Debug)]
        struct Wrapper(io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "impossible d'écouter : {}", self.0)
            }
        }
        impl Error for Wrapper {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Wrapper(io::Error::from_raw_os_error(98));
        assert_eq!(
            describe(&err),
            "impossible d'écouter : Adresse déjà utilisée"
        );
    }
}
