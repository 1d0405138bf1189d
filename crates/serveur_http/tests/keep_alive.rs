//! `--keep-alive`: persistent connections in the event loops: pipelining,
//! eviction of idle connections, 408s.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// A root with a small page, a page too big for the acceptors' fast path
/// (served from memory) and a file too big for the cache (sendfile).
fn root_with_big_files() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for language in ["fr", "en"] {
        let dir = root.path().join(language);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.html"), "A").unwrap();
        std::fs::write(dir.join("gros.html"), "g".repeat(200 * 1024)).unwrap();
        std::fs::write(dir.join("enorme.txt"), "e".repeat(3 * 1024 * 1024)).unwrap();
    }
    std::fs::write(root.path().join("page404.html"), "404").unwrap();
    root
}

fn start_in(root: &Path, args: &[&str]) -> Server {
    let mut all = vec!["--port", "0", "--silencieux", "--keep-alive"];
    all.extend_from_slice(args);
    Server::start_raw(&all, Some(root))
}

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    // More than a loop serves in one go on one connection (its fairness
    // budget), and a 404 among them.
    let server = Server::start(&ONE_LOOP);
    let mut stream = connect(server.addr);
    let mut responses = Responses::new(&stream);
    let mut burst = Vec::new();
    for i in 0..40 {
        let target = if i % 3 == 0 { "/nope" } else { "/page1.html" };
        write!(burst, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }
    stream.write_all(&burst).unwrap();
    let page1 = std::fs::read(pages().join("en/page1.html")).unwrap();
    for i in 0..40 {
        let response = responses.next();
        if i % 3 == 0 {
            assert_eq!(response.status_line(), "HTTP/1.1 404 NotFound", "#{i}");
        } else {
            assert_eq!(response.status_line(), "HTTP/1.1 200 OK", "#{i}");
            assert_eq!(response.body[..page1.len()], page1[..], "#{i}");
        }
    }
    // Still open.
    stream
        .write_all(b"GET /page1.html HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let last = responses.next();
    assert!(last.head.contains("Connection:close"), "{}", last.head);
    assert!(responses.closed());
}

#[test]
fn pipelined_small_big_and_sendfile_pages_keep_their_order() {
    let root = root_with_big_files();
    let server = start_in(root.path(), &[]);
    let mut stream = connect(server.addr);
    let mut responses = Responses::new(&stream);
    // Pipelined: a big page, a small one, a file by sendfile, a small
    // page, the bytes of each after the other's on the way.
    stream
        .write_all(
            b"GET /gros.html HTTP/1.1\r\n\r\nGET /a.html HTTP/1.1\r\n\r\n\
              GET /enorme.txt HTTP/1.1\r\n\r\nGET /a.html HTTP/1.1\r\n\r\n",
        )
        .unwrap();
    let expected: [(&str, usize); 4] = [
        ("gros.html", 200 * 1024 + 1),
        ("a.html", 2),
        ("enorme.txt", 3 * 1024 * 1024),
        ("a.html", 2),
    ];
    for (name, len) in expected {
        let response = responses.next();
        assert_eq!(response.status_line(), "HTTP/1.1 200 OK", "{name}");
        assert_eq!(response.body.len(), len, "{name}");
    }
    // Another client's big page is served, and the connection still is.
    let other = exchange(
        server.addr,
        b"GET /gros.html HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&other), "HTTP/1.1 200 OK");
    stream.write_all(b"GET /a.html HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(responses.next().body, b"A\n");
}

#[test]
fn beyond_the_maximum_the_connection_idle_the_longest_is_closed() {
    let server = Server::start(&[&ONE_LOOP[..], &["--connexions-max", "2"]].concat());
    let request = b"GET /page1.html HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(server.addr);
        let mut responses = Responses::new(&stream);
        stream.write_all(request).unwrap();
        assert_eq!(responses.next().status_line(), "HTTP/1.1 200 OK");
        open.push((stream, responses));
        std::thread::sleep(Duration::from_millis(50));
    }
    // A third one: the first, idle the longest, is closed to make room.
    let mut third = connect(server.addr);
    let mut third_responses = Responses::new(&third);
    third.write_all(request).unwrap();
    assert_eq!(third_responses.next().status_line(), "HTTP/1.1 200 OK");
    let start = Instant::now();
    assert!(open[0].1.closed(), "the oldest idle connection was closed");
    assert!(start.elapsed() < Duration::from_secs(2));
    // The second one still works.
    let (second, responses) = &mut open[1];
    second.write_all(request).unwrap();
    assert_eq!(responses.next().status_line(), "HTTP/1.1 200 OK");
}

#[test]
fn silent_and_slow_clients_get_408() {
    let server = Server::start(&["--keep-alive", "--delai-inactivite", "0.5"]);
    for sent in [&b""[..], b"GET /index.ht", b"GET / HTTP/1.1\r\nHost: x\r\n"] {
        let start = Instant::now();
        let mut stream = connect(server.addr);
        stream.write_all(sent).unwrap();
        let answer = read_all(&mut stream);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{sent:?}: {text}"
        );
        assert!(text.contains("Connection:close\r\n"), "{text}");
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(3),
            "{sent:?}: 408 after {elapsed:?}"
        );
    }
    // After an answer, an idle connection is closed without a word.
    let mut stream = connect(server.addr);
    let mut responses = Responses::new(&stream);
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(responses.next().status_line(), "HTTP/1.1 200 OK");
    assert!(responses.closed());
}
