//! What one client must not be able to do to the others: idle persistent
//! connections keeping new ones out, a slow reader holding the server.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn idle_keep_alive_connections_give_way_to_new_clients() {
    // One loop, an idle delay far longer than the test.
    let server = Server::start(&[&ONE_LOOP[..], &["--delai-inactivite", "60"]].concat());
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

#[test]
fn a_client_reading_a_trickle_is_cut_off_at_the_answer_deadline() {
    use nix::sys::socket::{setsockopt, sockopt};
    use std::io::Read;

    // A file far larger than both sockets' buffers (the server's send
    // buffer grows up to tcp_wmem's 4 MB, the client's is capped below).
    const SIZE: usize = 32 * 1024 * 1024;
    let root = tempfile::tempdir().unwrap();
    for language in ["fr", "en"] {
        std::fs::create_dir_all(root.path().join(language)).unwrap();
        std::fs::write(root.path().join(language).join("a.html"), "A").unwrap();
    }
    std::fs::write(root.path().join("page404.html"), "404").unwrap();
    std::fs::write(root.path().join("en/gros.txt"), vec![b'x'; SIZE]).unwrap();
    // --keep-alive: every request is served by an event loop (no fast path).
    let server = Server::start_raw(
        &[
            "--port",
            "0",
            "--silencieux",
            "--keep-alive",
            "--delai-inactivite",
            "1",
            "--delai-reponse",
            "1",
        ],
        Some(root.path()),
    );

    let mut slow = connect(server.addr);
    setsockopt(&slow, sockopt::RcvBuf, &(64 * 1024)).unwrap();
    slow.write_all(b"GET /gros.txt HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let start = Instant::now();
    let reader = std::thread::spawn(move || {
        // 4 KiB every 50 ms: the whole file would take over 6 minutes.
        let mut got = 0;
        let mut buf = [0u8; 4096];
        while start.elapsed() < Duration::from_secs(20) {
            match slow.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (got, start.elapsed())
    });

    // Meanwhile another client is served.
    std::thread::sleep(Duration::from_millis(200));
    let answer = exchange(
        server.addr,
        b"GET /a.html HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "another client waited {:?} behind a slow reader",
        start.elapsed()
    );
    // And the slow reader was cut off, not fed the rest.
    let (got, elapsed) = reader.join().unwrap();
    assert!(got < SIZE, "the whole file was sent");
    assert!(
        elapsed < Duration::from_secs(10),
        "still reading after {elapsed:?}"
    );
}
