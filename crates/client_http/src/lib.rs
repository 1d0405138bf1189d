//! `client_http`: the one-shot client of lab 17 (17.1). It sends one GET
//! request and copies the raw response (status line, headers, body) to its
//! output, ending it with a newline when the answer lacks one (as the sheet's
//! Python client's `print`).
//!
//! # Layout
//! - [`Url`]: `http://host[:port][/path]`, with IPv6 hosts in brackets
//!   (`http://[::1]:8080/`).
//! - [`request`]: the request bytes.
//! - [`run`]: connect, send, copy the answer until the server closes, all
//!   within one overall delay (`--delai`).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

pub use protocols::http::Language;
use server_kit::cli::BoxError;

pub const CLIENT_BINARY: &str = "client_http";
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/index.html";
/// The whole exchange (connect, send, the whole answer) must end within
/// this delay by default: a server trickling one byte every few seconds
/// cannot hold the client forever.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(10);

/// An `http://` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Host as written, without brackets (`127.0.0.1`, `::1`, `localhost`).
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// A URL this client cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "URL invalide : {}", self.0)
    }
}

impl std::error::Error for UrlError {}

impl Url {
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(UrlError(format!(
                    "{text} (seul http:// est pris en charge, pas {scheme}://)"
                )))
            }
            None => text, // `127.0.0.1:8080/index.html` is accepted too
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        let path = path.split('#').next().unwrap_or("/").to_string();
        if path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(UrlError(format!(
                "{text} (espace ou caractère de contrôle dans le chemin)"
            )));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| UrlError(format!("{text} (crochet « ] » manquant)")))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError(format!("{text} (pas d'hôte)")));
        }
        let port = match port {
            None | Some("") => 80,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| UrlError(format!("{text} (port {p} invalide)")))?,
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The `Host` header value (RFC 9112 §3.2): brackets back around IPv6.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// The request: `GET <path> HTTP/1.1`, `Host`, `Accept-Language` if asked,
/// and `Connection: close` (one request, the answer ends when the server
/// closes).
pub fn request(url: &Url, language: Option<Language>) -> Vec<u8> {
    let mut text = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: client_http\r\n",
        url.path,
        url.host_header()
    );
    if let Some(language) = language {
        text.push_str(&format!("Accept-Language: {}\r\n", language.tag()));
    }
    text.push_str("Connection: close\r\n\r\n");
    text.into_bytes()
}

/// Connecting failed.
#[derive(Debug)]
pub struct ConnectError {
    pub target: String,
    pub source: io::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source.kind() {
            io::ErrorKind::ConnectionRefused => write!(
                f,
                "connexion refusée par {} (le serveur est-il lancé ?)",
                self.target
            ),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                write!(f, "pas de réponse de {} (délai dépassé)", self.target)
            }
            _ => write!(
                f,
                "connexion à {} impossible : {}",
                self.target, self.source
            ),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Sends one request for `url` and copies the raw answer to `out`; the
/// whole exchange must end within `delay`.
pub fn run(
    url: &Url,
    language: Option<Language>,
    delay: Duration,
    out: &mut dyn Write,
) -> Result<(), BoxError> {
    let deadline = Instant::now() + delay;
    let too_late = || -> BoxError {
        format!(
            "le serveur n'a pas fini sa réponse à temps ({} s)",
            delay.as_secs_f64()
        )
        .into()
    };
    let target = format!("{}:{}", url.host_header_for_connect(), url.port);
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("adresse {target} introuvable : {e}"))?
        .collect();
    let mut last_error = io::Error::from(io::ErrorKind::AddrNotAvailable);
    let mut stream = None;
    for addr in &addrs {
        let Some(left) = time_left(deadline) else {
            last_error = io::ErrorKind::TimedOut.into();
            break;
        };
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = e,
        }
    }
    let mut stream = stream.ok_or(ConnectError {
        target,
        source: last_error,
    })?;
    stream.set_write_timeout(time_left(deadline))?;
    stream.write_all(&request(url, language))?;
    let mut buf = [0u8; 16 * 1024];
    // Whether the answer so far ends a line: if not, a newline is added at
    // the end, as the sheet's Python client's `print` does, so that the
    // shell's prompt does not land after « Bien reçu ! ».
    let mut ends_line = true;
    loop {
        // Each read may wait only for what is left of the whole delay.
        let Some(left) = time_left(deadline) else {
            out.flush()?;
            return Err(too_late());
        };
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                out.flush()?;
                return Err(too_late());
            }
            // A server that closes with a RST after a complete answer.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e.into()),
        };
        out.write_all(&buf[..n])?;
        ends_line = buf[n - 1] == b'\n';
    }
    if !ends_line {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// What is left before `deadline`, if anything (a zero timeout means "no
/// timeout" to the socket calls).
fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (left >= Duration::from_millis(1)).then_some(left)
}

impl Url {
    fn host_header_for_connect(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, path: &str) -> Url {
        Url {
            host: host.into(),
            port,
            path: path.into(),
        }
    }

    #[test]
    fn parses_urls() {
        assert_eq!(
            Url::parse(DEFAULT_URL),
            Ok(url("127.0.0.1", 8080, "/index.html"))
        );
        assert_eq!(Url::parse("http://[::1]:8080/"), Ok(url("::1", 8080, "/")));
        assert_eq!(Url::parse("http://[::1]"), Ok(url("::1", 80, "/")));
        assert_eq!(
            Url::parse("HTTP://localhost"),
            Ok(url("localhost", 80, "/"))
        );
        assert_eq!(Url::parse("http://h:81?x=1#f"), Ok(url("h", 81, "/?x=1")));
        assert_eq!(
            Url::parse("127.0.0.1:8080/a"),
            Ok(url("127.0.0.1", 8080, "/a"))
        );
        for bad in [
            "https://x/",
            "http://[::1/",
            "http://:80/",
            "http://h:99999/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_server_trickling_its_answer_cannot_hold_the_client_past_the_delay() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // One byte every 200 ms, for ever (each read gets one in time).
            for _ in 0..100 {
                if stream.write_all(b"H").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let start = Instant::now();
        let mut out = Vec::new();
        let err = run(
            &url("127.0.0.1", port, "/"),
            None,
            Duration::from_millis(700),
            &mut out,
        )
        .unwrap_err();
        let elapsed = start.elapsed();
        assert!(err.to_string().contains("à temps (0.7 s)"), "{err}");
        assert!(!out.is_empty() && out.iter().all(|&b| b == b'H'));
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        drop(server);
    }

    #[test]
    fn request_bytes() {
        let u = url("::1", 8080, "/index.html");
        assert_eq!(
            String::from_utf8(request(&u, Some(Language::Fr))).unwrap(),
            "GET /index.html HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: client_http\r\n\
             Accept-Language: fr\r\nConnection: close\r\n\r\n"
        );
        let u = url("example", 80, "/");
        assert!(String::from_utf8(request(&u, None))
            .unwrap()
            .starts_with("GET / HTTP/1.1\r\nHost: example\r\n"));
    }
}
