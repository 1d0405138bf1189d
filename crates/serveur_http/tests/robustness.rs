//! What one client must not be able to do to the others: idle persistent
//! connections holding every worker, a slow reader holding one.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn idle_keep_alive_connections_give_way_to_new_clients() {
    // Two workers, an idle delay far longer than the test.
    let server = Server::start(&[
        "--keep-alive",
        "--travailleurs",
        "2",
        "--accepteurs",
        "1",
        "--delai-inactivite",
        "60",
    ]);
    // Four persistent connections, each served once and then left idle:
    // the third and fourth are answered only if idle ones give way.
    let mut idle = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(server.addr);
        stream
            .write_all(b"GET /index.html HTTP/1.1\r\nHost: test\r\n\r\n")
            .unwrap();
        let answer = read_response(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        idle.push(stream);
    }
    let start = Instant::now();
    let answer = exchange(
        server.addr,
        b"GET /index.html HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "a new client waited {:?} behind idle connections",
        start.elapsed()
    );
}
