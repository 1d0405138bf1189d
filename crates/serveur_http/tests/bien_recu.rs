//! Question 17.1: `--bien-recu` answers after the first `recv`, as the
//! sheet's server does, even when the request lacks its final blank line.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn bien_recu_answers_a_request_without_its_blank_line() {
    let server = Server::start_raw(
        &["--port", "0", "--bien-recu", "--delai-inactivite", "60"],
        Some(&pages()),
    );
    let start = Instant::now();
    let mut stream = connect(server.addr);
    // A first 17.1 client: no "\r\n" after the last header.
    stream
        .write_all(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    assert_eq!(read_all(&mut stream), "Bien reçu !".as_bytes());
    // Well before the idle delay: the answer did not wait for a blank line.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        server.stdout_line().as_deref(),
        Some("GET /index.html HTTP/1.1")
    );
}
