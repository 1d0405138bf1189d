//! Starting and stopping `serveur_http`: port rule, root lookup, IPv6, Ctrl-C.

mod common;

use std::io::Write;
use std::net::{Ipv6Addr, TcpListener};
use std::process::Command;
use std::time::Duration;

use common::*;
use nix::sys::resource::{getrlimit, Resource};

#[test]
fn default_port_falls_back_but_an_explicit_one_does_not() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let port_arg = port.to_string();
    // Hidden option: the default port (8080 in real use) is `port` here.
    let server = Server::start_raw(
        &["--port-par-defaut", &port_arg, "--silencieux"],
        Some(&pages()),
    );
    assert!(server.addr.port() > port, "{} after {port}", server.addr);
    assert_eq!(status_line(&get(server.addr, "/", None)), "HTTP/1.0 200 OK");

    let out = Command::new(BINARY)
        .args(["--port", &port_arg, "--racine"])
        .arg(pages())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("serveur_http: ") && stderr.contains("Adresse déjà utilisée"),
        "{stderr}"
    );
}

#[test]
fn the_root_is_found_from_any_folder_below_it_or_is_one_clear_error() {
    // From a sub-folder of the workspace, without --racine.
    let below = pages().join("fr/pages");
    let mut cmd = Command::new(BINARY);
    cmd.current_dir(&below)
        .args(["--port", "0", "--silencieux"]);
    let server = Server::spawn(cmd).expect("serves from a sub-folder");
    let answer = get(server.addr, "/page1.html", Some("fr"));
    assert_eq!(
        answer,
        sheet_answer("HTTP/1.0 200 OK", &pages().join("fr/page1.html"))
    );
    drop(server);

    let elsewhere = tempfile::tempdir().unwrap();
    for args in [&["--port", "0"][..], &["--port", "0", "--racine", "absent"]] {
        let out = Command::new(BINARY)
            .current_dir(elsewhere.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("introuvable"), "{stderr}");
    }
}

#[test]
fn ctrl_c_stops_cleanly_even_with_clients_connected() {
    let server = Server::start(&["--keep-alive"]);
    // A silent client, a keep-alive one idle between requests.
    let _silent = connect(server.addr);
    let mut idle = connect(server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (status, took) = server.interrupt();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// In the sheet's mode the listener only hands over connections that have
/// sent something (TCP_DEFER_ACCEPT): Ctrl-C must not wait for that.
#[test]
fn ctrl_c_stops_at_once_in_the_sheets_mode() {
    let server = Server::start(&[]);
    let _silent = connect(server.addr);
    let mut partial = connect(server.addr);
    partial.write_all(b"GET /index").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (status, took) = server.interrupt();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_millis(900), "took {took:?}");
}

#[test]
fn ipv6_loopback() {
    if TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        e2e::skip("SKIP ipv6_loopback: no IPv6 loopback on this machine");
        return;
    }
    let server = Server::start(&["--bind", "::1"]);
    assert!(server.addr.is_ipv6());
    let answer = get(server.addr, "/page1.html", Some("fr"));
    assert_eq!(
        answer,
        sheet_answer("HTTP/1.0 200 OK", &pages().join("fr/page1.html"))
    );
    let (status, _) = server.interrupt();
    assert_eq!(status.code(), Some(0));
}

/// `serveur_http` under `prlimit --nofile=<limit>`, or `None` (and a
/// message) without prlimit.
fn start_limited(limit: &str, args: &[&str]) -> Option<Server> {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("SKIP: prlimit (util-linux) is not installed");
        return None;
    }
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={limit}"))
        .arg(BINARY)
        .args(["--port", "0", "--silencieux", "--racine"])
        .arg(pages())
        .args(args);
    Some(Server::spawn(cmd).unwrap_or_else(|lines| panic!("no ready line; stderr:\n{lines}")))
}

/// Many systems start programs with `ulimit -n` 1024; the server raises its
/// own soft limit to what its bounds need, so that connections beyond the
/// low limit are served instead of waiting in the backlog (EMFILE).
#[test]
fn a_low_open_files_limit_is_raised() {
    // One acceptor (one loop), 400 connections: about 1,900 descriptors.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if hard < 4096 {
        eprintln!("SKIP: the hard limit on open files ({hard}) is below this test's needs");
        return;
    }
    // Idle connections are never closed here: none frees its descriptor.
    let extra = ["--connexions-max", "400", "--delai-inactivite", "60"];
    let args = [&ONE_LOOP[..], &extra].concat();
    let Some(server) = start_limited("100:", &args) else {
        return;
    };
    assert_eq!(server.before_ready, Vec::<String>::new());
    // 300 clients, all kept open, each answered.
    let mut clients = Vec::new();
    for i in 0..300 {
        let mut client = connect(server.addr);
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client
            .write_all(b"GET /index.html HTTP/1.1\r\n\r\n")
            .unwrap();
        let answer = Responses::new(&client).next();
        assert_eq!(answer.status_line(), "HTTP/1.1 200 OK", "client {i}");
        clients.push(client);
    }
}

/// When the hard limit is too low as well, the server says so and serves
/// within it.
#[test]
fn a_hard_open_files_limit_too_low_is_one_warning() {
    let Some(server) = start_limited("100:100", &[]) else {
        return;
    };
    assert_eq!(server.before_ready.len(), 1, "{:?}", server.before_ready);
    assert!(
        server.before_ready[0].starts_with("serveur_http: au plus 100 descripteurs ouverts"),
        "{:?}",
        server.before_ready
    );
    let answer = get(server.addr, "/index.html", None);
    assert_eq!(status_line(&answer), "HTTP/1.0 200 OK");
}
