//! The sheet's functions are the server's real path: for generated requests
//! (paths, languages, methods, versions, malformed lines), what the running
//! server sends is byte for byte what `traite_requete` returns, in both
//! modes.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use protocols::http::Negotiation;
use serveur_http::Site;

const METHODS: &[&str] = &["GET", "GET", "GET", "HEAD", "POST", "G(T", "get"];
const PIECES: &[&str] = &[
    "index.html",
    "page1.html",
    "pages/",
    "pages/test1.html",
    "autres_pages/toto.html",
    "nulle_part.html",
    "../",
    "%2e%2e/",
    "%zz",
    "%20",
    "?x=1",
    "#f",
    "caf\u{e9}",
    "/",
    ".cache",
    "\\",
];
const VERSIONS: &[&str] = &["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "http/1.1"];
const LANGUAGES: &[&str] = &["fr", "fr-FR,en;q=0.3", "en", "de", "FR", "en;q=1, fr", ""];
const OTHER_HEADERS: &[&str] = &[
    "Host: localhost",
    "User-Agent: Mozilla/5.0 Firefox/98.0",
    "User-Agent: caf\u{e9}",
    "Connection: close",
    "Connection: keep-alive",
    "Content-Length: 0",
    "sans deux-points",
    " repli\u{e9}e",
    "X: a\u{85}b",
];

fn request() -> impl Strategy<Value = String> {
    (
        prop::sample::select(METHODS),
        prop::collection::vec(prop::sample::select(PIECES), 0..4),
        prop::sample::select(VERSIONS),
        prop::option::of(prop::sample::select(LANGUAGES)),
        prop::collection::vec(prop::sample::select(OTHER_HEADERS), 0..3),
    )
        .prop_map(|(method, pieces, version, language, headers)| {
            let mut text = format!("{method} /{} {version}\r\n", pieces.concat());
            if let Some(language) = language {
                text.push_str(&format!("Accept-Language: {language}\r\n"));
            }
            for header in headers {
                text.push_str(header);
                text.push_str("\r\n");
            }
            text.push_str("\r\n");
            text
        })
}

/// What the server sends for `request`: read until it closes, or, when the
/// connection stays open, `expected_len` bytes.
fn sent(addr: SocketAddr, request: &str, expected_len: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while got.len() < expected_len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

fn check(mode: &[&str], cases: u32) {
    let server = Server::start(mode);
    let keep_alive = !mode.is_empty();
    let site = Site::open(&pages(), Negotiation::Prefix)
        .unwrap()
        .with_keep_alive(keep_alive);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(request in request())| {
        let expected = site.traite_requete(&request).into_bytes().unwrap();
        let got = sent(server.addr, &request, expected.len());
        prop_assert!(
            got == expected,
            "{request:?}\nserver:  {:?}\nsheet's: {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
    });
}

#[test]
fn the_server_sends_what_traite_requete_returns() {
    check(&[], 2000);
}

#[test]
fn the_server_sends_what_traite_requete_returns_with_keep_alive() {
    check(&["--keep-alive"], 1000);
}
