//! `mixed_client --json`: an interactive client of the JSON protocol.
//!
//! Typed commands: `LOGIN nom` (the password is asked next, without echo on
//! a terminal), `MESSAGE texte`, `LOGOUT` (then the client ends). Each
//! answer is printed (`ok`, `erreur : raison`) before the next command is
//! read; other users' messages (`alice : texte`) are printed as they arrive.

use std::io::{self, BufRead};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use protocols::mixed_json::{Answer, Event, Request, ServerLine, MAX_LINE};
use server_kit::cli::BoxError;
use server_kit::lines::{write_line, Line, Lines};
use server_kit::stream::Stream;

use crate::password::{block_signals_in_this_thread, read_password};
use crate::text::shown;

pub const HELP: &str = "commandes : LOGIN nom, MESSAGE texte, LOGOUT";
/// Longest wait for an answer (a failed LOGIN takes a moment on purpose).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A typed line, as a request (the password is read separately).
#[derive(Debug, PartialEq, Eq)]
pub enum Typed {
    Login(String),
    Message(String),
    Logout,
    Unknown,
}

pub fn parse_typed(line: &str) -> Typed {
    let line = line.trim_end_matches(['\n', '\r']);
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word.to_uppercase().as_str() {
        "LOGIN" if !rest.trim().is_empty() => Typed::Login(rest.trim().to_string()),
        "MESSAGE" => Typed::Message(rest.to_string()),
        "LOGOUT" if rest.trim().is_empty() => Typed::Logout,
        _ => Typed::Unknown,
    }
}

/// What the server's lines become on stdout.
pub fn render(line: &[u8]) -> (String, bool) {
    match ServerLine::parse(line) {
        Some(ServerLine::Answer(Answer::Ok)) => ("ok".into(), true),
        Some(ServerLine::Answer(Answer::Error { raison })) => {
            (format!("erreur : {}", shown(raison.as_bytes())), true)
        }
        Some(ServerLine::Event(Event::Message { de, texte })) => (
            format!("{} : {}", shown(de.as_bytes()), shown(texte.as_bytes())),
            false,
        ),
        None => (format!("(ligne inattendue) {}", shown(line)), false),
    }
}

pub fn interactive(stream: Stream) -> Result<(), BoxError> {
    stream.set_read_timeout(None)?;
    let mut out = stream.try_clone()?;
    let answers = spawn_printer(stream);
    eprintln!("{HELP}");
    let stdin = io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(());
        }
        let request = match parse_typed(&line) {
            Typed::Login(name) => Request::Login {
                mot_de_passe: read_password("Mot de passe : ")?,
                utilisateur: name,
            },
            Typed::Message(texte) => Request::Message { texte },
            Typed::Logout => Request::Logout,
            Typed::Unknown => {
                eprintln!("{HELP}");
                continue;
            }
        };
        let logout = request == Request::Logout;
        write_line(&mut out, &request.to_line())?;
        match answers.recv_timeout(ANSWER_TIMEOUT) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => return Err("pas de réponse du serveur".into()),
            Err(RecvTimeoutError::Disconnected) => {
                return Err("connexion fermée par le serveur".into())
            }
        }
        if logout {
            let _ = out.shutdown();
            return Ok(());
        }
    }
}

/// Prints every line the server sends; signals each answer on the channel.
/// The channel closes when the server closes the connection.
fn spawn_printer(stream: Stream) -> Receiver<()> {
    let (tx, rx) = bounded(16);
    std::thread::spawn(move || {
        // Ctrl-C and Ctrl-Z during a password prompt must reach the
        // prompt's watcher.
        block_signals_in_this_thread();
        let mut lines = Lines::new(stream, MAX_LINE);
        while let Ok(Line::Text(line)) = lines.read_line() {
            let (text, is_answer) = render(line);
            println!("{text}");
            if is_answer && tx.send(()).is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_commands() {
        assert_eq!(parse_typed("LOGIN alice\n"), Typed::Login("alice".into()));
        assert_eq!(parse_typed("login alice"), Typed::Login("alice".into()));
        assert_eq!(
            parse_typed("MESSAGE bonjour à tous"),
            Typed::Message("bonjour à tous".into())
        );
        assert_eq!(parse_typed("LOGOUT"), Typed::Logout);
        assert_eq!(parse_typed("LOGIN"), Typed::Unknown);
        assert_eq!(parse_typed("DANSER"), Typed::Unknown);
    }

    #[test]
    fn server_lines_are_rendered_safely() {
        assert_eq!(render(br#"{"statut":"ok"}"#), ("ok".into(), true));
        assert_eq!(
            render(br#"{"evenement":"MESSAGE","de":"bob","texte":"a\u001b[2J"}"#),
            ("bob : a\\x1b[2J".into(), false)
        );
    }
}
