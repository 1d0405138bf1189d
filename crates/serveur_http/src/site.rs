//! The sheet's 17.4 and 17.5: [`Site::get_reponse`] and
//! [`Site::traite_requete`], over the served folder.
//!
//! `decode_requete_http` (17.2) is pure, so it is in [`protocols::http`]
//! (no I/O); what reads files is here. Every request the server answers, in
//! every mode, is answered by [`Site::traite_requete`]: the event loops and
//! the acceptors only read heads and write what it returns.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use protocols::http::{
    self, HttpError, Language, Mode, Negotiation, ResponseHead, Status, Version,
};

use crate::cache::{LargeFile, Lookup, Page, PageCache};

/// The folder name looked for when `--racine` is not given.
pub const DEFAULT_ROOT: &str = "pages_serveur";

/// `--racine` could not be used.
#[derive(Debug)]
pub struct RootError {
    pub wanted: PathBuf,
    /// Where the default name was looked for (None for an explicit path).
    pub searched_from: Option<PathBuf>,
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.searched_from {
            Some(dir) => write!(
                f,
                "dossier des pages « {} » introuvable dans {} ni dans ses dossiers parents \
                 (lancez le serveur depuis le dépôt, ou donnez --racine)",
                self.wanted.display(),
                dir.display()
            ),
            None => write!(
                f,
                "dossier des pages « {} » introuvable (voir --racine)",
                self.wanted.display()
            ),
        }
    }
}

impl std::error::Error for RootError {}

/// The served folder: `explicit` as given (relative to the current folder),
/// or else `pages_serveur` in the current folder or the nearest parent
/// having one (so `cargo run` works from anywhere in the workspace).
pub fn find_root(explicit: Option<&Path>) -> Result<PathBuf, RootError> {
    if let Some(path) = explicit {
        return if path.is_dir() {
            Ok(path.to_path_buf())
        } else {
            Err(RootError {
                wanted: path.to_path_buf(),
                searched_from: None,
            })
        };
    }
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    here.ancestors()
        .map(|dir| dir.join(DEFAULT_ROOT))
        .find(|candidate| candidate.is_dir())
        .ok_or(RootError {
            wanted: PathBuf::from(DEFAULT_ROOT),
            searched_from: Some(here),
        })
}

/// What follows the blank line of an answer.
#[derive(Debug)]
pub enum Body {
    Page(Arc<Page>),
    Static(&'static [u8]),
    /// A big file, streamed (plus `\n` for HTML).
    Large(LargeFile),
}

/// An answer before framing: status, type and body.
#[derive(Debug)]
pub struct Answer {
    pub status: Status,
    pub content_type: &'static str,
    pub body: Body,
}

impl Answer {
    /// An error status with its small built-in body.
    pub fn error(status: Status) -> Answer {
        Answer {
            status,
            content_type: "text/html",
            body: Body::Static(status.error_body().as_bytes()),
        }
    }

    /// Content-Length: bytes after the blank line.
    pub fn len(&self) -> u64 {
        match &self.body {
            Body::Page(p) => p.body.len() as u64,
            Body::Static(s) => s.len() as u64,
            Body::Large(f) => f.len + u64::from(f.newline),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn head(&self, mode: Mode) -> ResponseHead<'static> {
        ResponseHead {
            status: self.status,
            content_type: self.content_type,
            content_length: self.len(),
            mode,
        }
    }

    /// The whole response, as the sheet's Python functions return it.
    pub fn into_bytes(self, mode: Mode) -> io::Result<Vec<u8>> {
        let mut out = self.head(mode).to_vec();
        match self.body {
            Body::Page(p) => out.extend_from_slice(&p.body),
            Body::Static(s) => out.extend_from_slice(s),
            Body::Large(mut f) => {
                (&mut f.file).take(f.len).read_to_end(&mut out)?;
                if f.newline {
                    out.push(b'\n');
                }
            }
        }
        Ok(out)
    }
}

/// The served folder and how languages are chosen.
#[derive(Debug)]
pub struct Site {
    cache: PageCache,
    negotiation: Negotiation,
    /// `--keep-alive`: HTTP/1.1 framing and persistent connections, rather
    /// than the sheet's HTTP/1.0 and one request per connection.
    keep_alive: bool,
}

impl Site {
    /// The sheet's site (HTTP/1.0, one request per connection).
    pub fn open(root: &Path, negotiation: Negotiation) -> io::Result<Site> {
        Ok(Site {
            cache: PageCache::new(root)?,
            negotiation,
            keep_alive: false,
        })
    }

    /// The same site answering with persistent HTTP/1.1 connections
    /// (`--keep-alive`) or not.
    pub fn with_keep_alive(mut self, keep_alive: bool) -> Site {
        self.keep_alive = keep_alive;
        self
    }

    /// How an answer that ends the connection (an error, a 503, a 408) is
    /// framed.
    pub fn closing_mode(&self) -> Mode {
        if self.keep_alive {
            Mode::Persistent {
                keep_open: false,
                client_http10: false,
            }
        } else {
            Mode::Sheet
        }
    }

    /// The canonical path of the served folder.
    pub fn root(&self) -> &Path {
        self.cache.root()
    }

    /// The sheet's 17.4: the page at `path` (relative to the root, already
    /// cleaned: `fr/page1.html`), or the 404 answer with `page404.html`.
    pub fn get_reponse(&self, path: &str) -> Answer {
        match self.cache.lookup(path) {
            Lookup::Page(page) => Answer {
                status: Status::Ok,
                content_type: page.content_type,
                body: Body::Page(page),
            },
            Lookup::Large(file) => Answer {
                status: Status::Ok,
                content_type: file.content_type,
                body: Body::Large(file),
            },
            Lookup::Missing => self.not_found(),
        }
    }

    /// 404 with `page404.html` (or a built-in page if it is missing).
    pub fn not_found(&self) -> Answer {
        match self.cache.lookup("page404.html") {
            Lookup::Page(page) => Answer {
                status: Status::NotFound,
                content_type: "text/html",
                body: Body::Page(page),
            },
            _ => Answer::error(Status::NotFound),
        }
    }

    /// The sheet's 17.5: decode the request (17.2), choose `fr/` or `en/`
    /// by `Accept-Language`, and answer with [`Site::get_reponse`] (17.4).
    /// The request is one head (request line and header lines, the blank
    /// line optional); what the connection does next (stay open, drain the
    /// client's bytes) comes with the answer.
    pub fn traite_requete(&self, requete: &str) -> Reponse {
        let request = match http::decode_requete_http(requete) {
            Ok(request) => request,
            Err(e) => return self.refuse(e),
        };
        // We never read request bodies: a connection that carries one is
        // answered, then drained and closed (its body would be read as the
        // next request).
        let has_body = match request.has_body() {
            Ok(has_body) => has_body,
            Err(e) => return self.refuse(e),
        };
        let answer = if !request.is_get_or_head() {
            Answer::error(Status::MethodNotAllowed)
        } else {
            match http::sanitize_target(request.target) {
                Ok(path) => {
                    let options = request.header("Accept-Language");
                    let language = http::choose_language(options, self.negotiation);
                    self.get_reponse(&language_path(language, &path))
                }
                Err(e) if e.status == Status::NotFound => self.not_found(),
                Err(e) => Answer::error(e.status),
            }
        };
        let served = matches!(answer.status, Status::Ok | Status::NotFound);
        let keep_open = self.keep_alive && request.wants_keep_alive() && !has_body && served;
        let mode = if self.keep_alive {
            Mode::Persistent {
                keep_open,
                client_http10: request.version == Version::HTTP_10,
            }
        } else {
            Mode::Sheet
        };
        Reponse {
            answer,
            mode,
            head_only: request.method == "HEAD",
            keep_open,
            linger: has_body || !served,
            problem: None,
        }
    }

    /// The answer to a request that cannot be decoded (400, 431).
    fn refuse(&self, e: HttpError) -> Reponse {
        Reponse {
            answer: Answer::error(e.status),
            mode: self.closing_mode(),
            head_only: false,
            keep_open: false,
            linger: true,
            problem: Some(e),
        }
    }
}

/// What [`Site::traite_requete`] returns: the sheet's "réponse HTTP", and
/// what the connection does after it.
#[derive(Debug)]
pub struct Reponse {
    pub answer: Answer,
    /// How the head is framed (the sheet's HTTP/1.0, or HTTP/1.1).
    pub mode: Mode,
    /// A HEAD request: the head only.
    pub head_only: bool,
    /// The connection stays open for the next request.
    pub keep_open: bool,
    /// The request was not read whole (an error, a body): after the answer,
    /// the client's bytes are read and dropped for a moment before the
    /// close, or the close would reset the connection and could destroy the
    /// answer before the client reads it.
    pub linger: bool,
    /// Why the request could not be decoded, for the server's log.
    pub problem: Option<HttpError>,
}

impl Reponse {
    /// The status line and header lines, blank line included.
    pub fn head(&self) -> ResponseHead<'static> {
        self.answer.head(self.mode)
    }

    /// Closes the connection after this answer after all (Ctrl-C).
    pub fn close_after(&mut self) {
        self.keep_open = false;
        if let Mode::Persistent { keep_open, .. } = &mut self.mode {
            *keep_open = false;
        }
    }

    /// The whole response, as the sheet's Python `traite_requete` returns
    /// it (HEAD: the head only).
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        if self.head_only {
            return Ok(self.head().to_vec());
        }
        self.answer.into_bytes(self.mode)
    }
}

fn language_path(language: Language, path: &str) -> String {
    let folder = language.folder();
    let mut full = String::with_capacity(folder.len() + 1 + path.len());
    full.push_str(folder);
    full.push('/');
    full.push_str(path);
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn workspace_site() -> Site {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pages_serveur");
        Site::open(&root, Negotiation::Prefix).unwrap()
    }

    fn expected(status_line: &str, file: &Path) -> Vec<u8> {
        let mut body = read(file);
        body.push(b'\n');
        let mut out = format!(
            "{status_line}\r\nContent-Type:text/html\r\nContent-Length:{}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn the_sheets_three_examples() {
        let site = workspace_site();
        let root = site.root().to_path_buf();
        let cases = [
            (
                "GET /page1.html HTTP/1.1\r\nHost: localhost\r\nAccept-Language: fr-FR,en;q=0.3\r\nUser-Agent: Mozilla/5.0 Firefox/98.0\r\n\r\n",
                "fr/page1.html",
            ),
            (
                "GET /pages/index.html HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en\r\n\r\n",
                "en/pages/index.html",
            ),
            (
                "GET /autres_pages/toto.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "en/autres_pages/toto.html",
            ),
        ];
        for (request, file) in cases {
            let got = site.traite_requete(request).into_bytes().unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(expected("HTTP/1.0 200 OK", &root.join(file))).unwrap()
            );
        }
    }

    #[test]
    fn get_reponse_of_a_missing_page_is_the_404_page() {
        let site = workspace_site();
        let got = site
            .get_reponse("fr/nulle_part.html")
            .into_bytes(Mode::Sheet)
            .unwrap();
        let want = expected("HTTP/1.0 404 NotFound", &site.root().join("page404.html"));
        assert_eq!(got, want);
        // Content-Length counts bytes: "trouvée" has a 2-byte é.
        let text = String::from_utf8(got).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(body.contains("Page non trouvée !!"));
        assert!(body.len() > body.chars().count());
        assert!(head.ends_with(&format!("Content-Length:{}", body.len())));
    }

    #[test]
    fn every_page_says_its_name_in_its_language() {
        let site = workspace_site();
        for name in [
            "index.html",
            "page1.html",
            "pages/index.html",
            "pages/test1.html",
            "pages/coucou.html",
            "autres_pages/toto.html",
        ] {
            for (lang, text) in [("fr", "Voici"), ("en", "This is")] {
                let answer = site.get_reponse(&format!("{lang}/{name}"));
                assert_eq!(answer.status, Status::Ok, "{lang}/{name}");
                let bytes = answer.into_bytes(Mode::Sheet).unwrap();
                let page = String::from_utf8(bytes).unwrap();
                assert!(page.contains(&format!("{text} {name} !")), "{lang}/{name}");
                assert!(page.contains("<meta charset=\"utf-8\">"), "{lang}/{name}");
            }
        }
    }

    #[test]
    fn methods_and_bad_requests() {
        let site = workspace_site();
        let status = |text: &str| site.traite_requete(text).answer.status;
        assert_eq!(
            status("POST /index.html HTTP/1.1\r\n\r\n"),
            Status::MethodNotAllowed
        );
        assert_eq!(status("HEAD /index.html HTTP/1.1\r\n\r\n"), Status::Ok);
        assert_eq!(status("GET /%zz HTTP/1.1\r\n\r\n"), Status::BadRequest);
        assert_eq!(
            status("GET /../page404.html HTTP/1.1\r\n\r\n"),
            Status::NotFound
        );
        assert_eq!(status("n'importe quoi\r\n\r\n"), Status::BadRequest);
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), Status::Ok);
    }

    #[test]
    fn a_missing_root_is_one_clear_error() {
        let err = find_root(Some(Path::new("/nonexistent/pages"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pages"), "{err}");
    }
}
