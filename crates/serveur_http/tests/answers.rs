//! The answers of `serveur_http`, byte for byte, over real loopback sockets.

mod common;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn french_english_and_default_pages() {
    let server = Server::start(&[]);
    let root = pages();
    for (language, path, file) in [
        (Some("fr-FR,en;q=0.3"), "/page1.html", "fr/page1.html"),
        (Some("fr"), "/pages/index.html", "fr/pages/index.html"),
        (Some("en"), "/pages/index.html", "en/pages/index.html"),
        (
            Some("de, fr;q=0.9"),
            "/autres_pages/toto.html",
            "en/autres_pages/toto.html",
        ),
        (None, "/autres_pages/toto.html", "en/autres_pages/toto.html"),
        (None, "/", "en/index.html"),
        (Some("fr"), "/pages/", "fr/pages/index.html"),
        (Some("fr"), "/pages/coucou.html?x=1", "fr/pages/coucou.html"),
        (Some("fr"), "/pages/test1%2Ehtml", "fr/pages/test1.html"),
    ] {
        let answer = get(server.addr, path, language);
        assert_eq!(
            String::from_utf8(answer).unwrap(),
            String::from_utf8(sheet_answer("HTTP/1.0 200 OK", &root.join(file))).unwrap(),
            "{path} {language:?}"
        );
    }
    let fr = String::from_utf8(get(server.addr, "/page1.html", Some("fr"))).unwrap();
    assert!(fr.contains("Voici page1.html !"));
    let en = String::from_utf8(get(server.addr, "/page1.html", None)).unwrap();
    assert!(en.contains("This is page1.html !"));
}

#[test]
fn missing_page_is_the_404_page() {
    let server = Server::start(&[]);
    for path in [
        "/nulle_part.html",
        "/page404.html",
        "/fr/page1.html",
        "/pages",
    ] {
        let answer = get(server.addr, path, Some("fr"));
        assert_eq!(
            answer,
            sheet_answer("HTTP/1.0 404 NotFound", &pages().join("page404.html")),
            "{path}"
        );
    }
}

#[test]
fn head_gives_the_headers_of_get_only() {
    let server = Server::start(&[]);
    let full = get(server.addr, "/page1.html", None);
    let head = exchange(server.addr, b"HEAD /page1.html HTTP/1.1\r\nHost: x\r\n\r\n");
    let end = full.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(head, &full[..end]);
}

#[test]
fn other_methods_get_405_with_allow() {
    let server = Server::start(&[]);
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "BREW"] {
        let answer = exchange(
            server.addr,
            format!("{method} /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
                .as_bytes(),
        );
        let text = String::from_utf8(answer).unwrap();
        assert!(
            text.starts_with("HTTP/1.0 405 Method Not Allowed\r\n"),
            "{method}: {text}"
        );
        assert!(text.contains("\r\nAllow:GET, HEAD\r\n"), "{text}");
    }
}

#[test]
fn malformed_requests_get_400_and_the_server_carries_on() {
    let server = Server::start(&[]);
    for request in [
        &b"n'importe quoi\r\n\r\n"[..],
        b"GET /index.html\r\n\r\n",
        b"GET /index.html HTTP/9.9\r\n\r\n",
        b"GET /index.html HTTP/1.1\r\nsans deux-points\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\n\r\n",
        b"GET /%ff HTTP/1.1\r\n\r\n",
        b"GET index.html HTTP/1.1\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\n\r\n",
        // Overlong UTF-8 for "../", raw rather than percent-encoded.
        b"GET /\xc0\xae\xc0\xae/secret.txt HTTP/1.1\r\n\r\n",
        // A bare CR or a NUL inside a header value.
        b"GET / HTTP/1.1\r\nX: a\rHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        let answer = exchange(server.addr, request);
        assert_eq!(
            status_line(&answer),
            "HTTP/1.0 400 Bad Request",
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    assert_eq!(status_line(&get(server.addr, "/", None)), "HTTP/1.0 200 OK");
}

#[test]
fn oversized_heads_get_431() {
    let server = Server::start(&[]);
    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
    let big_header = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "b".repeat(9000));
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-H: v\r\n".repeat(101));
    let endless = "X".repeat(100_000);
    for request in [long_line, big_header, many, endless] {
        let answer = exchange(server.addr, request.as_bytes());
        assert_eq!(
            status_line(&answer),
            "HTTP/1.0 431 Request Header Fields Too Large",
            "{}…",
            &request[..40]
        );
    }
    // 100 header lines are still fine.
    let ok = format!("GET / HTTP/1.1\r\n{}\r\n", "X-H: v\r\n".repeat(100));
    assert_eq!(
        status_line(&exchange(server.addr, ok.as_bytes())),
        "HTTP/1.0 200 OK"
    );
}

#[test]
fn silent_and_slow_clients_get_408() {
    let server = Server::start(&["--delai-inactivite", "0.5"]);
    // Nothing at all.
    let start = Instant::now();
    let mut silent = connect(server.addr);
    let answer = read_all(&mut silent);
    assert_eq!(status_line(&answer), "HTTP/1.0 408 Request Timeout");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // Half a request line.
    let mut half = connect(server.addr);
    half.write_all(b"GET /index.ht").unwrap();
    assert_eq!(
        status_line(&read_all(&mut half)),
        "HTTP/1.0 408 Request Timeout"
    );
    // A byte every 200 ms: each read is in time, the whole head is not.
    let start = Instant::now();
    let mut slow = connect(server.addr);
    let mut answer = Vec::new();
    for b in b"GET /index.html HTTP/1.1\r\nHost: x\r\n"
        .iter()
        .cycle()
        .take(60)
    {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(200));
        let mut buf = [0u8; 512];
        slow.set_nonblocking(true).unwrap();
        if let Ok(n) = slow.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
        }
        slow.set_nonblocking(false).unwrap();
        if !answer.is_empty() {
            break;
        }
    }
    assert_eq!(status_line(&answer), "HTTP/1.0 408 Request Timeout");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // The server still answers.
    assert_eq!(status_line(&get(server.addr, "/", None)), "HTTP/1.0 200 OK");
}

/// In the sheet's mode the kernel holds a silent connection for a second
/// before handing it over (TCP_DEFER_ACCEPT); that second counts in the idle
/// delay, so the 408 still comes after the delay, not a second later.
#[test]
fn a_silent_client_held_by_the_kernel_gets_its_408_on_time() {
    let server = Server::start(&["--delai-inactivite", "2"]);
    let start = Instant::now();
    let mut silent = connect(server.addr);
    let answer = read_all(&mut silent);
    let elapsed = start.elapsed();
    assert_eq!(status_line(&answer), "HTTP/1.0 408 Request Timeout");
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_millis(3000),
        "408 after {elapsed:?}, expected about 2 s"
    );
}

/// Bytes the server never reads (here 20 KB after the request, beyond what
/// the acceptor reads at once) make Linux reset the connection at close.
/// The answer must be out before that: in the sheet's mode it waits in the
/// socket (TCP_CORK) until the server pushes it out with the FIN.
#[test]
fn unread_bytes_after_the_request_do_not_swallow_the_answer() {
    let server = Server::start(&[]);
    for extra in [1, 20_000] {
        let mut request = b"GET /index.html HTTP/1.0\r\n\r\n".to_vec();
        request.extend(std::iter::repeat(b'x').take(extra));
        let answer = exchange(server.addr, &request);
        assert_eq!(
            answer,
            sheet_answer("HTTP/1.0 200 OK", &pages().join("en/index.html")),
            "{extra} extra byte(s)"
        );
    }
}

#[test]
fn bare_lf_and_a_missing_blank_line_are_accepted() {
    let server = Server::start(&[]);
    let lf = exchange(
        server.addr,
        b"GET /page1.html HTTP/1.0\nAccept-Language: fr\n\n",
    );
    assert_eq!(
        lf,
        sheet_answer("HTTP/1.0 200 OK", &pages().join("fr/page1.html"))
    );
    // `printf 'GET / HTTP/1.0\r\n' | nc`: the end of the stream ends the head.
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /page1.html HTTP/1.0\r\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(status_line(&read_all(&mut stream)), "HTTP/1.0 200 OK");
}

#[test]
fn a_request_sent_in_pieces_is_served_whole() {
    let server = Server::start(&[]);
    let mut stream = connect(server.addr);
    for piece in [
        &b"GET /page1"[..],
        b".html HTTP/1.1\r\nAccept-Lan",
        b"guage: fr\r\n",
        b"\r\n",
    ] {
        stream.write_all(piece).unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        read_all(&mut stream),
        sheet_answer("HTTP/1.0 200 OK", &pages().join("fr/page1.html"))
    );
}

#[test]
fn q_value_negotiation() {
    let server = Server::start(&["--negociation", "q"]);
    let fr = get(server.addr, "/page1.html", Some("en;q=0.5, fr;q=0.9"));
    assert!(String::from_utf8(fr)
        .unwrap()
        .contains("Voici page1.html !"));
    let en = get(server.addr, "/page1.html", Some("fr;q=0, en;q=0.1"));
    assert!(String::from_utf8(en)
        .unwrap()
        .contains("This is page1.html !"));
    // The sheet's rule would say English here.
    let sheet = Server::start(&[]);
    let en = get(sheet.addr, "/page1.html", Some("en;q=0.5, fr;q=0.9"));
    assert!(String::from_utf8(en)
        .unwrap()
        .contains("This is page1.html !"));
}

#[test]
fn requests_are_printed_on_stdout() {
    let server = Server::start_raw(&["--port", "0"], Some(&pages()));
    get(server.addr, "/page1.html", Some("fr"));
    let expected = [
        "GET /page1.html HTTP/1.1".to_string(),
        format!("Host: {}", server.addr),
        "Accept-Language: fr".to_string(),
        String::new(),
    ];
    for want in expected {
        assert_eq!(server.stdout_line().as_deref(), Some(want.as_str()));
    }
    // A client cannot send escape sequences to the server's terminal.
    exchange(server.addr, b"GET /\x1b[2J HTTP/1.1\r\n\r\n");
    assert_eq!(
        server.stdout_line().as_deref(),
        Some("GET /\\x1b[2J HTTP/1.1")
    );
    // Nor C1 ones: U+009B (CSI) in UTF-8, or a raw 0x9b byte.
    exchange(
        server.addr,
        "GET / HTTP/1.1\r\nX-A: \u{9b}2J\r\n\r\n".as_bytes(),
    );
    exchange(server.addr, b"GET / HTTP/1.1\r\nX-B: \x9b2J\r\n\r\n");
    let printed: Vec<String> = (0..6).filter_map(|_| server.stdout_line()).collect();
    assert!(
        printed.contains(&"X-A: \\u{9b}2J".to_string()),
        "{printed:?}"
    );
    assert!(printed.contains(&"X-B: \\x9b2J".to_string()), "{printed:?}");
}

#[test]
fn obs_text_in_a_header_value_is_no_400() {
    let server = Server::start(&[]);
    // Latin-1 "café", as RFC 9110 §5.5 allows (obs-text).
    let answer = exchange(
        server.addr,
        b"GET /page1.html HTTP/1.1\r\nUser-Agent: caf\xe9\r\nAccept-Language: fr\r\n\r\n",
    );
    assert_eq!(status_line(&answer), "HTTP/1.0 200 OK");
    assert!(String::from_utf8_lossy(&answer).contains("Voici page1.html !"));
}

#[test]
fn a_stdout_nobody_reads_never_stops_the_server() {
    // The pipe (64 KiB) and the logger's queue fill up; requests are still
    // answered, and the lost lines are counted on stderr.
    let mut cmd = std::process::Command::new(BINARY);
    cmd.args(["--port", "0", "--racine"]).arg(pages());
    let server = Server::spawn_with(cmd, false).unwrap();
    let padding = format!("X-Remplissage: {}\r\n", "x".repeat(4000));
    let start = Instant::now();
    for i in 0..1500 {
        let request = format!("GET /page1.html HTTP/1.1\r\n{padding}\r\n");
        let answer = exchange(server.addr, request.as_bytes());
        assert_eq!(status_line(&answer), "HTTP/1.0 200 OK", "request {i}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    // Nor stops it from stopping: the journal's writer, blocked in `write`
    // for good, is left behind.
    let (status, took) = server.interrupt();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn bien_recu_mode() {
    let server = Server::start_raw(&["--port", "0", "--bien-recu"], Some(&pages()));
    let answer = exchange(
        server.addr,
        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    assert_eq!(answer, "Bien reçu !".as_bytes());
    assert_eq!(
        server.stdout_line().as_deref(),
        Some("GET /index.html HTTP/1.1")
    );
    assert_eq!(server.stdout_line().as_deref(), Some("Host: 127.0.0.1"));
    // Not one request only: it answers the next one too.
    assert_eq!(
        exchange(server.addr, b"GET / HTTP/1.0\r\n\r\n"),
        "Bien reçu !".as_bytes()
    );
}

#[test]
fn keep_alive_serves_several_requests_per_connection() {
    let server = Server::start(&["--keep-alive", "--delai-inactivite", "1"]);
    let mut stream = connect(server.addr);
    let body_len = std::fs::read(pages().join("en/page1.html")).unwrap().len() + 1;
    for _ in 0..3 {
        stream
            .write_all(b"GET /page1.html HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let answer = read_response(&mut stream);
        assert!(
            answer.starts_with(&format!(
                "HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length:{body_len}\r\n\r\n"
            )),
            "{answer}"
        );
    }
    // Two pipelined requests, the second asking to close.
    stream
        .write_all(b"GET /nope HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let rest = String::from_utf8(read_all(&mut stream)).unwrap();
    assert!(rest.starts_with("HTTP/1.1 404 NotFound\r\n"), "{rest}");
    assert!(
        rest.contains("HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length:"),
        "{rest}"
    );
    assert!(rest.contains("Connection:close\r\n"), "{rest}");
    // HTTP/1.0 asking for keep-alive is told so; an idle connection is closed.
    let mut old = connect(server.addr);
    old.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut old).contains("Connection:keep-alive\r\n"));
    let start = Instant::now();
    assert!(
        read_all(&mut old).is_empty(),
        "idle close sends nothing (no 408)"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // Plain HTTP/1.0 closes after one answer.
    let answer = get(server.addr, "/", None);
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
}

#[test]
fn a_body_never_becomes_the_next_request() {
    let server = Server::start(&["--keep-alive", "--delai-inactivite", "1"]);
    let smuggled = "GET /page1.html HTTP/1.1\r\nX: y\r\n\r\n";
    let cases = [
        // Ambiguous framing: 400, and nothing else.
        (
            format!(
                "Content-Length: 0\r\nContent-Length: {}\r\n",
                smuggled.len()
            ),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            format!("Content-Length: 0, {}\r\n", smuggled.len()),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        // A body we do not read: answered, then the connection is closed.
        (
            format!("Content-Length: {}\r\n", smuggled.len()),
            "HTTP/1.1 200 OK\r\n",
        ),
        (
            "Transfer-Encoding: chunked\r\n".to_string(),
            "HTTP/1.1 200 OK\r\n",
        ),
    ];
    for (framing, status) in cases {
        let mut stream = connect(server.addr);
        let request = format!("GET /index.html HTTP/1.1\r\n{framing}\r\n{smuggled}");
        stream.write_all(request.as_bytes()).unwrap();
        let all = String::from_utf8(read_all(&mut stream)).unwrap();
        assert!(all.starts_with(status), "{framing:?}: {all}");
        assert_eq!(all.matches("HTTP/1.").count(), 1, "{framing:?}: {all}");
        assert!(!all.contains("This is page1.html"), "{framing:?}: {all}");
    }
}

/// Reads one response framed by its Content-Length.
#[test]
fn two_hundred_concurrent_clients_are_all_answered() {
    let server = Server::start(&[]);
    let addr = server.addr;
    let expected_fr = sheet_answer("HTTP/1.0 200 OK", &pages().join("fr/pages/index.html"));
    let expected_en = sheet_answer("HTTP/1.0 200 OK", &pages().join("en/pages/index.html"));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(200));
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut stream = connect(addr);
                barrier.wait();
                let language = if i % 2 == 0 { "fr" } else { "en" };
                let request = format!(
                    "GET /pages/index.html HTTP/1.1\r\nHost: x\r\nAccept-Language: {language}\r\n\r\n"
                );
                stream.write_all(request.as_bytes()).unwrap();
                (i, read_all(&mut stream))
            })
        })
        .collect();
    for client in clients {
        let (i, answer) = client.join().unwrap();
        let expected = if i % 2 == 0 {
            &expected_fr
        } else {
            &expected_en
        };
        assert_eq!(&answer, expected, "client {i}");
    }
}

#[test]
fn large_and_binary_files_are_sent_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("en")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("en/big.png"), &big).unwrap();
    std::fs::write(root.join("en/style.css"), "p{}").unwrap();
    let server = Server::start_raw(&["--port", "0", "--silencieux"], Some(root));
    let answer = get(server.addr, "/big.png", None);
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type:image/png\r\nContent-Length:{}\r\n\r\n",
        big.len()
    );
    assert_eq!(&answer[..head.len()], head.as_bytes());
    assert!(answer[head.len()..] == big[..], "body differs");
    let css = get(server.addr, "/style.css", None);
    assert_eq!(
        css,
        b"HTTP/1.0 200 OK\r\nContent-Type:text/css\r\nContent-Length:3\r\n\r\np{}"
    );
    // No page404.html in this root: the built-in 404 page.
    let missing = String::from_utf8(get(server.addr, "/x", None)).unwrap();
    assert!(
        missing.starts_with("HTTP/1.0 404 NotFound\r\n") && missing.contains("Page non trouvée")
    );
}
