//! Lab 1, exercise 1: `date_server` and `date_client` over IPv4 and IPv6,
//! the `--pause` prompts, and the sheet's observation that the client's
//! socket exists only between its two pauses.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{binary, Server};

/// `Sun Nov 22 01:30:57 2026`, as Python's `time.ctime()`.
fn assert_ctime(text: &str) {
    let parts: Vec<&str> = text.split(' ').filter(|p| !p.is_empty()).collect();
    assert_eq!(parts.len(), 5, "{text:?}");
    assert!(
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&parts[0]),
        "{text:?}"
    );
    assert!(
        parts[1].len() == 3 && parts[2].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d)),
        "{text:?}"
    );
    assert!(
        parts[3].len() == 8 && parts[3].matches(':').count() == 2,
        "{text:?}"
    );
    assert!(parts[4].parse::<u16>().is_ok(), "{text:?}");
    assert_eq!(text.len(), 24, "{text:?}");
}

#[test]
fn date_exchange_over_ipv4_and_ipv6() {
    for bind in ["127.0.0.1", "::1"] {
        let server = Server::start("date_server", &["--bind", bind, "--port", "0"], 1);
        let out = Command::new(binary("date_client"))
            .args([
                "--serveur",
                bind,
                "--port",
                &server.addr().port().to_string(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_ctime(text.strip_suffix('\n').unwrap());
        // The requester's address is logged on stderr.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !server
            .stderr()
            .iter()
            .any(|l| l.starts_with("date_server: requête de "))
        {
            assert!(Instant::now() < deadline, "{:?}", server.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(server.interrupt().success());
    }
}

/// UDP sockets the process holds, from /proc/PID/fd.
fn sockets_of(child: &Child) -> usize {
    e2e::open_sockets(child.id())
}

fn read_until(child: &mut Child, seen: &mut String, wanted: &str) {
    let stdout = child.stdout.as_mut().unwrap();
    let mut byte = [0u8; 1];
    while !seen.ends_with(wanted) {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "stdout ended: {seen:?}");
        seen.push(byte[0] as char);
    }
}

#[test]
fn pause_shows_the_socket_only_between_the_prompts() {
    let server = Server::start("date_server", &["--port", "0"], 1);
    let mut client = Command::new(binary("date_client"))
        .args(["--pause", "--port", &server.addr().port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    read_until(&mut client, &mut seen, "> ");
    assert_eq!(sockets_of(&client), 0, "no socket before the first Enter");
    client.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    read_until(&mut client, &mut seen, "\n> ");
    assert_eq!(
        sockets_of(&client),
        1,
        "the socket exists once the request is sent"
    );
    assert_ctime(&seen[2..seen.len() - 3]);
    client.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    assert!(client.wait().unwrap().success());
    assert!(server.interrupt().success());
}

#[test]
fn ctrl_c_at_the_pause_is_a_normal_end() {
    let mut client = Command::new(binary("date_client"))
        .args(["--pause", "--port", "9"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    read_until(&mut client, &mut seen, "> ");
    let status = e2e::ctrl_c_at_the_keyboard(&mut client);
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn date_client_without_server_fails_clearly() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(binary("date_client"))
        .args(["--port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("date_client: ") && err.contains("injoignable"),
        "{err}"
    );
}
