//! HTTP/1.x as lab 17 needs it: the request head, the served path, the
//! language, and the response head. No I/O.
//!
//! # The sheet's three functions
//! The sheet asks for `decode_requete_http`, `get_reponse` and
//! `traite_requete`. Only the first is pure, so it lives here
//! ([`decode_requete_http`], borrowing from the request text). The other two read files, so they live in the
//! `serveur_http` crate (`Site::get_reponse`, `Site::traite_requete`), built
//! from the pure pieces of this module:
//! - [`Request::parse`]: request line + header lines (CRLF or bare LF);
//! - [`sanitize_target`]: the request target to a safe relative path (or a
//!   404 / 400 reason), so that no `..` in any spelling leaves the root;
//! - [`choose_language`]: `fr/` or `en/` from `Accept-Language`, by the
//!   sheet's "starts with `fr`" rule or by q-values;
//! - [`content_type`], [`ResponseHead`], [`response`]: the answer's bytes,
//!   `HTTP/1.0 200 OK\r\nContent-Type:text/html\r\nContent-Length:N\r\n\r\n`
//!   exactly as the sheet writes it.
//!
//! Failures are [`HttpError`]s rather than [`crate::ParseError`]s: HTTP is
//! text, not a fixed layout, and what a caller needs is the status to answer
//! (400, 404, 431) with a reason for its log.

use std::fmt;
use std::io::Write as _;

/// Largest request head (request line + header lines + blank line) a server
/// reads before answering 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines a server accepts before answering 431.
pub const MAX_HEADER_LINES: usize = 100;

/// The statuses the lab server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    HeaderFieldsTooLarge,
    ServiceUnavailable,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::HeaderFieldsTooLarge => 431,
            Status::ServiceUnavailable => 503,
        }
    }

    /// The reason phrase. `NotFound` is written in one word, as the sheet does.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "NotFound",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// A small HTML body for the error statuses (404 uses the site's
    /// `page404.html` instead, this is only its fallback).
    pub fn error_body(self) -> &'static str {
        match self {
            Status::Ok => "",
            Status::BadRequest => page!("400 Bad Request", "Requête invalide."),
            Status::NotFound => page!("404 NotFound", "Page non trouvée !!"),
            Status::MethodNotAllowed => {
                page!(
                    "405 Method Not Allowed",
                    "Seules les méthodes GET et HEAD sont acceptées."
                )
            }
            Status::RequestTimeout => {
                page!("408 Request Timeout", "Requête non reçue à temps.")
            }
            Status::HeaderFieldsTooLarge => page!(
                "431 Request Header Fields Too Large",
                "En-tête de requête trop grand (8 Kio et 100 lignes au plus)."
            ),
            Status::ServiceUnavailable => {
                page!(
                    "503 Service Unavailable",
                    "Serveur surchargé, réessayez plus tard."
                )
            }
        }
    }
}

/// A tiny UTF-8 HTML page, built at compile time.
macro_rules! page {
    ($title:literal, $text:literal) => {
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
            $title,
            "</title></head><body><h1>",
            $title,
            "</h1><p>",
            $text,
            "</p></body></html>\n"
        )
    };
}
use page;

/// Why a request cannot be served: the status to answer, and a detail for
/// the server's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    pub status: Status,
    /// What was wrong, in French.
    pub detail: &'static str,
}

impl HttpError {
    const fn new(status: Status, detail: &'static str) -> Self {
        HttpError { status, detail }
    }

    const fn bad(detail: &'static str) -> Self {
        HttpError::new(Status::BadRequest, detail)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} : {}",
            self.status.code(),
            self.status.reason(),
            self.detail
        )
    }
}

impl std::error::Error for HttpError {}

/// An HTTP version from a request line (`HTTP/1.0`, `HTTP/1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const HTTP_10: Version = Version { major: 1, minor: 0 };
    pub const HTTP_11: Version = Version { major: 1, minor: 1 };

    /// `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3); only major version 1 is served.
    fn parse(text: &str) -> Result<Version, HttpError> {
        match text.as_bytes() {
            [b'H', b'T', b'T', b'P', b'/', major @ b'0'..=b'9', b'.', minor @ b'0'..=b'9'] => {
                if *major != b'1' {
                    return Err(HttpError::bad("version HTTP non prise en charge"));
                }
                Ok(Version {
                    major: major - b'0',
                    minor: minor - b'0',
                })
            }
            _ => Err(HttpError::bad("version HTTP invalide")),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

/// A parsed request head, borrowing from the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target as sent (`/page1.html`, `/a%20b?x=1`, ...).
    pub target: &'a str,
    pub version: Version,
    /// Header lines in order: name as sent, value trimmed.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Request<'a> {
    /// Parses a request head: the request line, then header lines up to the
    /// first empty line (or the end of `text`; what follows the empty line,
    /// a body, is ignored). Lines end with CRLF or a bare LF; empty lines
    /// before the request line are skipped (RFC 9112 §2.2).
    pub fn parse(text: &'a str) -> Result<Request<'a>, HttpError> {
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let request_line = lines
            .by_ref()
            .find(|l| !l.is_empty())
            .ok_or(HttpError::bad("requête vide"))?;
        let (method, target, version) = parse_request_line(request_line)?;
        let mut headers = Vec::new();
        for line in lines {
            if line.is_empty() {
                break;
            }
            if headers.len() == MAX_HEADER_LINES {
                return Err(HttpError::new(
                    Status::HeaderFieldsTooLarge,
                    "plus de 100 lignes d'en-tête",
                ));
            }
            headers.push(parse_header_line(line)?);
        }
        Ok(Request {
            method,
            target,
            version,
            headers,
        })
    }

    /// The first header named `name` (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// Whether a body follows the head, by RFC 9112 §6.3: any
    /// `Transfer-Encoding`, or a `Content-Length` above 0. Several
    /// `Content-Length` values (in one header line or in several) that do
    /// not all agree, or one that is not a number, are a 400: a server that
    /// picked one of them while a proxy picked another would read part of a
    /// body as the next request (request smuggling).
    pub fn has_body(&self) -> Result<bool, HttpError> {
        let mut length: Option<&str> = None;
        let mut chunked = false;
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("Transfer-Encoding") {
                chunked = true;
            } else if name.eq_ignore_ascii_case("Content-Length") {
                for item in value.split(',').map(|v| v.trim_matches([' ', '\t'])) {
                    if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(HttpError::bad("Content-Length invalide"));
                    }
                    let item = item.trim_start_matches('0');
                    if length.is_some_and(|seen| seen != item) {
                        return Err(HttpError::bad("Content-Length contradictoires"));
                    }
                    length = Some(item);
                }
            }
        }
        // Leading zeros are gone: "0", "00" became "".
        Ok(chunked || length.is_some_and(|n| !n.is_empty()))
    }

    /// Whether the method is one this server serves (GET or HEAD).
    pub fn is_get_or_head(&self) -> bool {
        self.method == "GET" || self.method == "HEAD"
    }

    /// Whether the client wants the connection kept open after this
    /// request, by RFC 9112 §9.3: `Connection: close` never; HTTP/1.1 by
    /// default; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn wants_keep_alive(&self) -> bool {
        let mut close = false;
        let mut keep_alive = false;
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("Connection") {
                for option in value.split(',').map(str::trim) {
                    close |= option.eq_ignore_ascii_case("close");
                    keep_alive |= option.eq_ignore_ascii_case("keep-alive");
                }
            }
        }
        !close && (self.version >= Version::HTTP_11 || keep_alive)
    }
}

fn parse_request_line(line: &str) -> Result<(&str, &str, Version), HttpError> {
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::bad(
            "ligne de requête invalide (attendu : MÉTHODE cible HTTP/x.y)",
        ));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(HttpError::bad("méthode invalide"));
    }
    if target.is_empty() || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(HttpError::bad("cible de requête invalide"));
    }
    // U+FFFD: bytes that were not UTF-8 (a server decodes a head lossily,
    // so that obs-text in header values is no 400): no path has them.
    if target.contains('\u{fffd}') {
        return Err(HttpError::bad("cible de requête non UTF-8"));
    }
    Ok((method, target, Version::parse(version)?))
}

fn parse_header_line(line: &str) -> Result<(&str, &str), HttpError> {
    if line.starts_with([' ', '\t']) {
        // Obsolete line folding (RFC 9112 §5.2): a server may reject it.
        return Err(HttpError::bad("ligne d'en-tête repliée (obs-fold)"));
    }
    let (name, value) = line
        .split_once(':')
        .ok_or(HttpError::bad("ligne d'en-tête sans « : »"))?;
    // No whitespace between name and colon (RFC 9112 §5.1): 400.
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(HttpError::bad("nom d'en-tête invalide"));
    }
    let value = value.trim_matches([' ', '\t']);
    // CR, NUL and other controls have no place in a field value (RFC 9110
    // §5.5): a bare CR is a line end to some parsers, not to others.
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(HttpError::bad("caractère de contrôle dans un en-tête"));
    }
    Ok((name, value))
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The sheet's 17.2: the requested page and the header lines.
///
/// The sheet's couple `page, options` is `request.target` and
/// `request.headers` (looked up case-insensitively with
/// [`Request::header`]), both borrowed from `requete`: no copy. The request
/// line's method and version come along, because a server needs them (HEAD,
/// 405, persistent connections).
///
/// ```
/// # use protocols::http::decode_requete_http;
/// let requete = "GET /page1.html HTTP/1.1\r\nHost: localhost\r\n\
///                Accept-Language: fr-FR,en;q=0.3\r\n\
///                User-Agent: Mozilla/5.0 Firefox/98.0\r\n\r\n";
/// let request = decode_requete_http(requete).unwrap();
/// let (page, options) = (request.target, &request.headers);
/// assert_eq!(page, "/page1.html");
/// assert_eq!(options[1], ("Accept-Language", "fr-FR,en;q=0.3"));
/// assert_eq!(request.header("accept-language"), Some("fr-FR,en;q=0.3"));
/// ```
pub fn decode_requete_http(requete: &str) -> Result<Request<'_>, HttpError> {
    Request::parse(requete)
}

/// Turns a request target into a path relative to the served folder, or says
/// why it cannot be served.
///
/// - absolute-form targets (`http://host/p`) keep their path; anything else
///   not starting with `/` is a 400;
/// - the query (`?…`) and fragment (`#…`) are dropped;
/// - percent-encoding is decoded (a bad `%xx` or non-UTF-8 result is a 400);
/// - `/` and `\` both separate segments; empty and `.` segments vanish
///   (so `//` and `/./` change nothing);
/// - a `..` segment, any other segment starting with `.` (hidden files), and
///   control characters (NUL included) are a 404: there is nothing above the
///   root, and nothing hidden to show;
/// - a path ending in a separator (or empty) gets `index.html`.
pub fn sanitize_target(target: &str) -> Result<String, HttpError> {
    let path = strip_absolute_form(target);
    if !path.starts_with('/') {
        return Err(HttpError::bad("la cible doit commencer par « / »"));
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode(path)?;
    if decoded.chars().any(char::is_control) {
        return Err(HttpError::new(
            Status::NotFound,
            "caractère de contrôle dans le chemin",
        ));
    }
    let mut clean = String::with_capacity(decoded.len() + 10);
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => return Err(HttpError::new(Status::NotFound, "« .. » dans le chemin")),
            s if s.starts_with('.') => {
                return Err(HttpError::new(Status::NotFound, "fichier caché"))
            }
            s => {
                if !clean.is_empty() {
                    clean.push('/');
                }
                clean.push_str(s);
            }
        }
    }
    let names_a_folder = decoded.ends_with(['/', '\\'])
        || decoded.ends_with("/.")
        || decoded.ends_with("\\.")
        || clean.is_empty();
    if names_a_folder {
        if !clean.is_empty() {
            clean.push('/');
        }
        clean.push_str("index.html");
    }
    Ok(clean)
}

/// `http://host:port/path` -> `/path` (RFC 9112 §3.2.2); other forms as is.
fn strip_absolute_form(target: &str) -> &str {
    for scheme in ["http://", "https://"] {
        // `get`, not indexing: the target may hold multi-byte characters.
        let prefix = target.get(..scheme.len()).unwrap_or_default();
        if prefix.eq_ignore_ascii_case(scheme) {
            let rest = &target[scheme.len()..];
            return match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            };
        }
    }
    target
}

fn percent_decode(text: &str) -> Result<String, HttpError> {
    if !text.contains('%') {
        return Ok(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(HttpError::bad("encodage %xx invalide"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| HttpError::bad("chemin décodé non UTF-8"))
}

/// The two languages the site is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Fr,
    En,
}

impl Language {
    /// The folder of `pages_serveur` holding this language's pages.
    pub fn folder(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// Its language tag, as `Accept-Language` names it (RFC 5646).
    pub fn tag(self) -> &'static str {
        self.folder()
    }
}

/// How `Accept-Language` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Negotiation {
    /// The sheet's rule: French if the header starts with `fr`
    /// (case-insensitive), English otherwise.
    #[default]
    Prefix,
    /// RFC 9110 §12.5.4: the language with the highest q-value wins
    /// (`q=0` means "not this one"), `*` stands for any language not named,
    /// ties go to the one listed first; English when nothing fits.
    QValues,
}

/// The sheet's 17.5 choice of folder.
pub fn choose_language(accept_language: Option<&str>, mode: Negotiation) -> Language {
    let Some(value) = accept_language else {
        return Language::En;
    };
    match mode {
        Negotiation::Prefix => {
            let v = value.trim_start().as_bytes();
            if v.len() >= 2 && v[..2].eq_ignore_ascii_case(b"fr") {
                Language::Fr
            } else {
                Language::En
            }
        }
        Negotiation::QValues => by_q_values(value),
    }
}

fn by_q_values(value: &str) -> Language {
    // (q in thousandths, position in the header) per language, and for `*`.
    let mut fr: Option<(u16, usize)> = None;
    let mut en: Option<(u16, usize)> = None;
    let mut any: Option<(u16, usize)> = None;
    for (position, item) in value.split(',').enumerate() {
        let mut params = item.split(';').map(str::trim);
        let range = params.next().unwrap_or_default();
        let mut q = Some(1000);
        for param in params {
            if let Some((name, v)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_qvalue(v.trim());
                }
            }
        }
        let Some(q) = q else { continue }; // malformed q: ignore the item
        let primary = range.split('-').next().unwrap_or_default();
        let slot = if primary.eq_ignore_ascii_case("fr") {
            &mut fr
        } else if primary.eq_ignore_ascii_case("en") {
            &mut en
        } else if range == "*" {
            &mut any
        } else {
            continue;
        };
        // The best mention of a language counts (`fr-CA;q=0.2, fr;q=0.9`).
        if slot.map_or(true, |(best, _)| q > best) {
            *slot = Some((q, position));
        }
    }
    let fr = fr.or(any).filter(|&(q, _)| q > 0);
    let en = en.or(any).filter(|&(q, _)| q > 0);
    match (fr, en) {
        (Some((qf, pf)), Some((qe, pe))) if qf > qe || (qf == qe && pf < pe) => Language::Fr,
        (Some(_), None) => Language::Fr,
        _ => Language::En,
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
fn parse_qvalue(text: &str) -> Option<u16> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The `Content-Type` of a file, by its extension (case-insensitive).
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    let ext = ext.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Whether a file is sent the sheet's way, with a `\n` added after its
/// content (HTML pages), or byte for byte (everything else).
pub fn adds_newline(path: &str) -> bool {
    content_type(path) == "text/html"
}

/// How the connection is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The sheet: `HTTP/1.0`, no header besides Content-Type and
    /// Content-Length, one request per connection.
    Sheet,
    /// `--keep-alive`: `HTTP/1.1`, and a `Connection` header when the
    /// default of the client's version is not what happens
    /// (RFC 9112 §9.3 / §9.6).
    Persistent {
        /// The connection stays open after this response.
        keep_open: bool,
        /// The request was HTTP/1.0 (whose default is to close).
        client_http10: bool,
    },
}

/// A response's status line and header lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    pub status: Status,
    pub content_type: &'a str,
    pub content_length: u64,
    pub mode: Mode,
}

impl ResponseHead<'_> {
    /// Appends the head, blank line included, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let version = match self.mode {
            Mode::Sheet => "HTTP/1.0",
            Mode::Persistent { .. } => "HTTP/1.1",
        };
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "{version} {} {}\r\nContent-Type:{}\r\nContent-Length:{}\r\n",
            self.status.code(),
            self.status.reason(),
            self.content_type,
            self.content_length
        );
        if self.status == Status::MethodNotAllowed {
            out.extend_from_slice(b"Allow:GET, HEAD\r\n");
        }
        match self.mode {
            Mode::Sheet => {}
            Mode::Persistent {
                keep_open: false, ..
            } => out.extend_from_slice(b"Connection:close\r\n"),
            Mode::Persistent {
                keep_open: true,
                client_http10: true,
            } => out.extend_from_slice(b"Connection:keep-alive\r\n"),
            Mode::Persistent { .. } => {}
        }
        out.extend_from_slice(b"\r\n");
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        self.write_to(&mut out);
        out
    }
}

/// The body the sheet sends for a file: its content, plus `\n` for HTML.
pub fn sheet_body(path: &str, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len() + 1);
    body.extend_from_slice(content);
    if adds_newline(path) {
        body.push(b'\n');
    }
    body
}

/// A whole response: head + body, with Content-Length = the body's length
/// in bytes.
pub fn response(status: Status, content_type: &str, body: &[u8], mode: Mode) -> Vec<u8> {
    let head = ResponseHead {
        status,
        content_type,
        content_length: body.len() as u64,
        mode,
    };
    let mut out = Vec::with_capacity(96 + body.len());
    head.write_to(&mut out);
    out.extend_from_slice(body);
    out
}

/// The response to an error status, with its small HTML body.
pub fn error_response(status: Status, mode: Mode) -> Vec<u8> {
    response(status, "text/html", status.error_body().as_bytes(), mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET_REQUEST: &str = "GET /page1.html HTTP/1.1\r\nHost: localhost\r\nAccept-Language: fr-FR,en;q=0.3\r\nUser-Agent: Mozilla/5.0 Firefox/98.0\r\n\r\n";

    #[test]
    fn decodes_the_sheets_example() {
        let request = decode_requete_http(SHEET_REQUEST).unwrap();
        assert_eq!(request.target, "/page1.html");
        assert_eq!(
            request.headers,
            vec![
                ("Host", "localhost"),
                ("Accept-Language", "fr-FR,en;q=0.3"),
                ("User-Agent", "Mozilla/5.0 Firefox/98.0"),
            ]
        );
    }

    #[test]
    fn bare_lf_and_crlf_give_the_same_result() {
        let lf = SHEET_REQUEST.replace("\r\n", "\n");
        assert_eq!(decode_requete_http(&lf), decode_requete_http(SHEET_REQUEST));
        // Empty lines before the request line are skipped; a body is ignored.
        let padded = format!("\r\n{SHEET_REQUEST}body: not a header");
        assert_eq!(
            decode_requete_http(&padded),
            decode_requete_http(SHEET_REQUEST)
        );
    }

    #[test]
    fn header_values_split_at_the_first_colon_and_trimmed() {
        let h =
            decode_requete_http("GET / HTTP/1.0\nHost:  127.0.0.1:8080 \t\nX-Empty:\n\n").unwrap();
        assert_eq!(h.header("host"), Some("127.0.0.1:8080"));
        assert_eq!(h.header("X-EMPTY"), Some(""));
        assert_eq!(h.header("absent"), None);
        assert_eq!(h.headers.len(), 2);
        // obs-text (RFC 9110 §5.5): bytes 0x80-0xFF in a value are allowed,
        // as UTF-8, or as U+FFFD once a Latin-1 head is decoded lossily.
        for value in ["caf\u{e9}", "caf\u{fffd}", "\u{85}"] {
            let text = format!("GET / HTTP/1.1\r\nUser-Agent: {value}\r\n\r\n");
            let request = decode_requete_http(&text).unwrap();
            assert_eq!(request.header("user-agent"), Some(value));
        }
    }

    #[test]
    fn bad_request_lines_and_headers_are_400() {
        for text in [
            "",
            "\r\n\r\n",
            "GET /index.html\r\n\r\n",
            "GET  /index.html HTTP/1.1\r\n\r\n",
            "GET /index.html HTTP/1.1 extra\r\n\r\n",
            "GET /index.html HTTP/1\r\n\r\n",
            "GET /index.html HTTP/2.0\r\n\r\n",
            "GET /index.html http/1.1\r\n\r\n",
            "G(T /index.html HTTP/1.1\r\n\r\n",
            "GET /index.html HTTP/1.1\r\nHost localhost\r\n\r\n",
            "GET /index.html HTTP/1.1\r\nHost : localhost\r\n\r\n",
            "GET /index.html HTTP/1.1\r\n: value\r\n\r\n",
            "GET /index.html HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET /index.html HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "GET /index.html HTTP/1.1\r\nX: a\0b\r\n\r\n",
            "GET /index.html HTTP/1.1\r\nX: a\x1bb\r\n\r\n",
        ] {
            let err = decode_requete_http(text).unwrap_err();
            assert_eq!(err.status, Status::BadRequest, "{text:?}");
        }
    }

    #[test]
    fn more_than_100_header_lines_is_431() {
        let mut text = String::from("GET / HTTP/1.1\r\n");
        for i in 0..100 {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        assert!(Request::parse(&format!("{text}\r\n")).is_ok());
        text.push_str("X-last: v\r\n\r\n");
        assert_eq!(
            Request::parse(&text).unwrap_err().status,
            Status::HeaderFieldsTooLarge
        );
    }

    #[test]
    fn bodies_and_ambiguous_lengths() {
        let framing = |headers: &str| {
            Request::parse(&format!("GET / HTTP/1.1\r\n{headers}\r\n"))
                .unwrap()
                .has_body()
                .map_err(|e| e.status)
        };
        assert_eq!(framing(""), Ok(false));
        assert_eq!(framing("Content-Length: 0\r\n"), Ok(false));
        assert_eq!(framing("Content-Length: 000\r\n"), Ok(false));
        assert_eq!(framing("Content-Length: 0, 0\r\n"), Ok(false));
        assert_eq!(framing("Content-Length: 12\r\n"), Ok(true));
        assert_eq!(
            framing("Content-Length: 12\r\ncontent-length: 012\r\n"),
            Ok(true)
        );
        assert_eq!(framing("Transfer-Encoding: chunked\r\n"), Ok(true));
        assert_eq!(
            framing("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"),
            Ok(true)
        );
        for bad in [
            "Content-Length: 0\r\nContent-Length: 38\r\n",
            "Content-Length: 38\r\nContent-Length: 0\r\n",
            "Content-Length: 0, 38\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +5\r\n",
            "Content-Length: 0x10\r\n",
            "Content-Length:\r\n",
            "Content-Length: 1 2\r\n",
        ] {
            assert_eq!(framing(bad), Err(Status::BadRequest), "{bad:?}");
        }
    }

    #[test]
    fn request_line_fields() {
        let r = Request::parse("HEAD /a?b HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap();
        assert_eq!(
            (r.method, r.target, r.version),
            ("HEAD", "/a?b", Version::HTTP_10)
        );
        assert!(r.is_get_or_head());
        assert!(r.wants_keep_alive());
        let r = Request::parse("POST / HTTP/1.1\r\n\r\n").unwrap();
        assert!(!r.is_get_or_head());
        assert!(r.wants_keep_alive());
        let r = Request::parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").unwrap();
        assert!(!r.wants_keep_alive());
        let r = Request::parse("GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(!r.wants_keep_alive());
    }

    #[test]
    fn targets_become_safe_relative_paths() {
        for (target, path) in [
            ("/page1.html", "page1.html"),
            ("/", "index.html"),
            ("/pages/", "pages/index.html"),
            ("/pages/.", "pages/index.html"),
            ("/pages/index.html?x=1&y=/../z", "pages/index.html"),
            ("/pages/index.html#top", "pages/index.html"),
            ("//pages///index.html", "pages/index.html"),
            ("/./pages/./index.html", "pages/index.html"),
            ("/pages%2Findex.html", "pages/index.html"),
            ("/pages\\index.html", "pages/index.html"),
            ("/caf%C3%A9.html", "café.html"),
            ("/a%20b.html", "a b.html"),
            ("/%252e%252e/x", "%2e%2e/x"),
            ("http://localhost:8080/pages/test1.html", "pages/test1.html"),
            ("HTTP://localhost:8080", "index.html"),
        ] {
            assert_eq!(sanitize_target(target).as_deref(), Ok(path), "{target}");
        }
    }

    #[test]
    fn traversal_in_any_spelling_is_refused() {
        let not_found = [
            "/../secret.txt",
            "/..",
            "/pages/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/.%2e/secret.txt",
            "/%2e%2e%2fsecret.txt",
            "/%2e%2e%5csecret.txt",
            "/..\\secret.txt",
            "/pages\\..\\..\\secret.txt",
            "/..%2F..%2Fetc%2Fpasswd",
            "/index.html%00.png",
            "/%00",
            "/a\u{1}b",
            "/.hidden",
            "/...",
            "/pages/.git/config",
            "http://x/../secret.txt",
        ];
        for target in not_found {
            assert_eq!(
                sanitize_target(target).map_err(|e| e.status),
                Err(Status::NotFound),
                "{target}"
            );
        }
        for target in [
            "../secret.txt",
            "secret.txt",
            "*",
            "/%",
            "/%2",
            "/%zz",
            "/%c3%28",
            "/%ff",
        ] {
            assert_eq!(
                sanitize_target(target).map_err(|e| e.status),
                Err(Status::BadRequest),
                "{target}"
            );
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Pieces attackers combine.
        const PIECES: &[&str] = &[
            "..",
            ".",
            "/",
            "\\",
            "%2e",
            "%2E",
            "%2f",
            "%2F",
            "%5c",
            "%00",
            "%252e",
            "%c0%ae",
            "a",
            "index.html",
            "?",
            "#",
            "%",
            "%zz",
            "é",
            "http://h",
            ":",
            "~",
        ];

        proptest! {
            #[test]
            fn sanitized_paths_never_climb(pieces in prop::collection::vec(prop::sample::select(PIECES), 0..14)) {
                let target = format!("/{}", pieces.concat());
                if let Ok(path) = sanitize_target(&target) {
                    prop_assert!(!path.is_empty());
                    for segment in path.split('/') {
                        prop_assert!(!segment.is_empty() && !segment.starts_with('.'), "{target} -> {path}");
                        prop_assert!(!segment.contains('\\'), "{target} -> {path}");
                    }
                    prop_assert!(!path.chars().any(char::is_control), "{target} -> {path}");
                }
            }

            #[test]
            fn any_text_parses_or_is_refused_without_panic(text in any::<String>()) {
                let _ = decode_requete_http(&text);
                let _ = sanitize_target(&text);
                let _ = choose_language(Some(&text), Negotiation::QValues);
                let _ = choose_language(Some(&text), Negotiation::Prefix);
            }

            #[test]
            fn request_lines_with_any_target(target in "[^ \\r\\n]{1,40}") {
                let text = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
                if let Ok(request) = Request::parse(&text) {
                    prop_assert_eq!(request.target, target.as_str());
                    let _ = sanitize_target(request.target);
                }
            }
        }
    }

    #[test]
    fn multi_byte_targets_do_not_panic() {
        assert_eq!(
            sanitize_target("héllo/x").unwrap_err().status,
            Status::BadRequest
        );
        assert_eq!(sanitize_target("/é").as_deref(), Ok("é"));
    }

    #[test]
    fn the_sheets_language_rule() {
        let p = Negotiation::Prefix;
        assert_eq!(choose_language(Some("fr-FR,en;q=0.3"), p), Language::Fr);
        assert_eq!(choose_language(Some("en"), p), Language::En);
        assert_eq!(choose_language(None, p), Language::En);
        assert_eq!(choose_language(Some("FR"), p), Language::Fr);
        // The sheet looks at the start only.
        assert_eq!(choose_language(Some("en;q=0.5, fr;q=0.9"), p), Language::En);
        assert_eq!(choose_language(Some("f"), p), Language::En);
    }

    #[test]
    fn q_value_negotiation() {
        let q = Negotiation::QValues;
        assert_eq!(choose_language(Some("en;q=0.5, fr;q=0.9"), q), Language::Fr);
        assert_eq!(choose_language(Some("fr-FR,en;q=0.3"), q), Language::Fr);
        assert_eq!(choose_language(Some("fr;q=0, en;q=0.1"), q), Language::En);
        assert_eq!(choose_language(Some("fr;q=0"), q), Language::En);
        assert_eq!(choose_language(Some("de, fr;q=0.5"), q), Language::Fr);
        // `*` alone names both at the same q: the default, English.
        assert_eq!(choose_language(Some("de, *;q=0.5"), q), Language::En);
        assert_eq!(choose_language(Some("*, en;q=0"), q), Language::Fr);
        assert_eq!(choose_language(Some("en, fr"), q), Language::En);
        assert_eq!(choose_language(Some("fr, en"), q), Language::Fr);
        assert_eq!(
            choose_language(Some("fr-CA;q=0.2, fr;q=0.9, en;q=0.5"), q),
            Language::Fr
        );
        assert_eq!(choose_language(Some("fr;q=2, en;q=0.1"), q), Language::En);
        assert_eq!(
            choose_language(Some("fr;q=0.9999, en;q=0.1"), q),
            Language::En
        );
        assert_eq!(choose_language(Some(""), q), Language::En);
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.25"), Some(250));
        assert_eq!(parse_qvalue("1.5"), None);
    }

    #[test]
    fn the_sheets_header_bytes() {
        let content = "<html>Voici page1 !</html>";
        let body = sheet_body("page1.html", content.as_bytes());
        let bytes = response(Status::Ok, content_type("page1.html"), &body, Mode::Sheet);
        let expected = format!(
            "HTTP/1.0 200 OK\r\nContent-Type:text/html\r\nContent-Length:{}\r\n\r\n{content}\n",
            content.len() + 1
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn content_length_counts_utf8_bytes_of_the_404_page() {
        let content = "<p>Page non trouvée !!</p>"; // é is 2 bytes
        let body = sheet_body("page404.html", content.as_bytes());
        let bytes = response(Status::NotFound, "text/html", &body, Mode::Sheet);
        let text = String::from_utf8(bytes).unwrap();
        let n = content.chars().count() + 1 + 1; // chars + é's extra byte + \n
        assert!(text.starts_with(&format!(
            "HTTP/1.0 404 NotFound\r\nContent-Type:text/html\r\nContent-Length:{n}\r\n\r\n"
        )));
        assert!(text.ends_with("trouvée !!</p>\n"));
    }

    #[test]
    fn other_files_get_their_type_and_no_newline() {
        for (path, ty) in [
            ("a.css", "text/css"),
            ("a.js", "text/javascript"),
            ("a.PNG", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.svg", "image/svg+xml"),
            ("favicon.ico", "image/x-icon"),
            ("a.txt", "text/plain"),
            ("a.htm", "text/html"),
            ("noext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), ty, "{path}");
        }
        assert_eq!(sheet_body("a.png", b"\x89PNG"), b"\x89PNG");
        assert_eq!(sheet_body("a.html", b"x"), b"x\n");
    }

    #[test]
    fn error_statuses_and_keep_alive_headers() {
        let r = String::from_utf8(error_response(Status::MethodNotAllowed, Mode::Sheet)).unwrap();
        assert!(r.starts_with("HTTP/1.0 405 Method Not Allowed\r\nContent-Type:text/html\r\n"));
        assert!(r.contains("\r\nAllow:GET, HEAD\r\n"));
        for (status, line) in [
            (Status::BadRequest, "HTTP/1.0 400 Bad Request\r\n"),
            (Status::RequestTimeout, "HTTP/1.0 408 Request Timeout\r\n"),
            (
                Status::HeaderFieldsTooLarge,
                "HTTP/1.0 431 Request Header Fields Too Large\r\n",
            ),
            (
                Status::ServiceUnavailable,
                "HTTP/1.0 503 Service Unavailable\r\n",
            ),
        ] {
            let r = String::from_utf8(error_response(status, Mode::Sheet)).unwrap();
            assert!(r.starts_with(line), "{r}");
            let (head, body) = r.split_once("\r\n\r\n").unwrap();
            assert!(head.ends_with(&format!("Content-Length:{}", body.len())));
        }
        let head = |keep_open, client_http10| {
            let h = ResponseHead {
                status: Status::Ok,
                content_type: "text/html",
                content_length: 3,
                mode: Mode::Persistent {
                    keep_open,
                    client_http10,
                },
            };
            String::from_utf8(h.to_vec()).unwrap()
        };
        let base = "HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length:3\r\n";
        assert_eq!(head(true, false), format!("{base}\r\n"));
        assert_eq!(
            head(true, true),
            format!("{base}Connection:keep-alive\r\n\r\n")
        );
        assert_eq!(
            head(false, false),
            format!("{base}Connection:close\r\n\r\n")
        );
    }
}
