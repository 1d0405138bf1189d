//! `serveur_http fiche ...`: what the sheet's functions return on the sheet's
//! own examples, printed as a Python session would show them, so that a
//! student compares them with their own `decode_requete_http` (17.2),
//! `get_reponse` (17.4) and `traite_requete` (17.5) without reading tests.
//!
//! The functions called are the ones the server runs:
//! [`protocols::http::decode_requete_http`], [`Site::get_reponse`],
//! [`Site::traite_requete`].

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Subcommand;
use protocols::http::{decode_requete_http, Mode, Negotiation};
use server_kit::cli::BoxError;

use crate::site::{find_root, Site};

/// The sheet's 17.2 request (and 17.5's first example).
pub const REQUETE_17_2: &str = "GET /page1.html HTTP/1.1\r\nHost: localhost\r\n\
    Accept-Language: fr-FR,en;q=0.3\r\nUser-Agent: Mozilla/5.0 Firefox/98.0\r\n\r\n";

/// The sheet's three 17.5 examples.
pub const EXEMPLES_17_5: [&str; 3] = [
    REQUETE_17_2,
    "GET /pages/index.html HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en\r\n\r\n",
    "GET /autres_pages/toto.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
];

/// The `fiche` subcommand of `serveur_http`.
#[derive(Debug, Subcommand)]
pub enum Commande {
    /// Ce que renvoient les fonctions de la fiche (17.2, 17.4, 17.5) sur ses
    /// exemples, comme une session Python les afficherait.
    Fiche {
        #[command(subcommand)]
        question: Question,
        /// Dossier des pages (défaut : pages_serveur, cherché dans le
        /// dossier courant puis ses parents).
        #[arg(long, global = true)]
        racine: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Question {
    /// 17.2 : decode_requete_http sur la requête de la fiche (ou REQUETE,
    /// où \r et \n s'écrivent comme en Python).
    Decode {
        /// La requête (défaut : celle de la fiche).
        requete: Option<String>,
    },
    /// 17.4 : get_reponse sur un chemin du dossier servi (fr/page1.html).
    Reponse {
        /// Chemin dans le dossier servi, langue comprise.
        chemin: String,
    },
    /// 17.5 : traite_requete sur les trois exemples de la fiche (ou REQUETE).
    Traite {
        /// La requête (défaut : les trois exemples de la fiche).
        requete: Option<String>,
    },
}

/// Runs `serveur_http fiche ...`, printing on stdout.
pub fn run(commande: Commande) -> Result<(), BoxError> {
    let Commande::Fiche { question, racine } = commande;
    let mut out = io::stdout().lock();
    match question {
        Question::Decode { requete } => {
            let requete = requete.map_or_else(|| REQUETE_17_2.to_string(), |r| unescape(&r));
            decode(&requete, &mut out)?;
        }
        Question::Reponse { chemin } => {
            let site = open_site(racine)?;
            writeln!(out, ">>> print(get_reponse({}))", py_str(&chemin))?;
            let answer = site.get_reponse(&chemin).into_bytes(Mode::Sheet)?;
            print(&answer, &mut out)?;
        }
        Question::Traite { requete } => {
            let site = open_site(racine)?;
            let requetes = match requete {
                Some(r) => vec![unescape(&r)],
                None => EXEMPLES_17_5.iter().map(|r| r.to_string()).collect(),
            };
            for requete in &requetes {
                writeln!(out, ">>> print(traite_requete({}))", py_str(requete))?;
                let answer = site.traite_requete(requete).into_bytes()?;
                print(&answer, &mut out)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn open_site(racine: Option<PathBuf>) -> Result<Site, BoxError> {
    let root = find_root(racine.as_deref())?;
    Ok(Site::open(&root, Negotiation::Prefix)?)
}

/// `>>> decode_requete_http("...")` and the tuple Python would show.
pub fn decode(requete: &str, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, ">>> decode_requete_http({})", py_str(requete))?;
    match decode_requete_http(requete) {
        Ok(request) => {
            let (page, options) = (request.target, &request.headers);
            let options: Vec<String> = options
                .iter()
                .map(|(name, value)| format!("{}: {}", py_str(name), py_str(value)))
                .collect();
            writeln!(out, "({}, {{{}}})", py_str(page), options.join(", "))
        }
        // The server answers such a request with this status.
        Err(e) => writeln!(out, "erreur : {e}"),
    }
}

/// Python's `print(reponse)`: the text, then a newline. CRLF are written as
/// they are, as Python would.
fn print(answer: &[u8], out: &mut impl Write) -> io::Result<()> {
    out.write_all(answer)?;
    out.write_all(b"\n")
}

/// Python's `repr` of a `str`: single quotes unless the text has some and
/// no double quote; backslash escapes for `\`, the quote, and controls.
pub fn py_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `\r`, `\n`, `\t` and `\\` typed on a command line, as Python reads them.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_prints_the_sheets_tuple() {
        let mut out = Vec::new();
        decode(REQUETE_17_2, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out.lines().nth(1).unwrap(),
            "('/page1.html', {'Host': 'localhost', 'Accept-Language': 'fr-FR,en;q=0.3', \
             'User-Agent': 'Mozilla/5.0 Firefox/98.0'})"
        );
    }

    #[test]
    fn python_repr_of_str() {
        assert_eq!(py_str("a\r\nb"), "'a\\r\\nb'");
        assert_eq!(py_str("it's"), "\"it's\"");
        assert_eq!(py_str("'\""), "'\\'\"'");
        assert_eq!(unescape("a\\r\\nb\\\\c"), "a\r\nb\\c");
    }
}
