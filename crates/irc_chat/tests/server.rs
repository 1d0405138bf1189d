//! `irc_server` over real loopback sockets: the report's client's lines
//! over raw TCP, an IRC client beside it, a client that never reads, and
//! `irc_client` driven through its library entry.

mod common;

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{start_client, text, Peer, Running, Screen, SharedBuf};
use irc_chat::client::{self, End};
use irc_chat::server::{Config, Server};
use irc_chat::texts::{CHOOSE_NICK, CONNECTED};
use irc_chat::Flood;
use server_kit::{PortChoice, Shutdown};
use test_support::unread_stderr::UnreadStderr;
use test_support::TestRng;

#[test]
fn the_reports_client_lines_over_raw_sockets() {
    let server = Running::start(Flood::default());
    let mut a = Peer::project(server.addr, "alice");
    let mut b = Peer::project(server.addr, "bob");
    let mut c = Peer::project(server.addr, "carol");
    a.send("JOIN chan1");
    a.expect("Vous avez créé la chaîne chan1, vous en êtes l'administrateur\n");
    b.send("JOIN chan1");
    b.expect("Vous avez rejoint la chaîne chan1\n");
    a.expect("bob a rejoint la chaîne chan1\n");
    c.send("JOIN chan1");
    c.expect("Vous avez rejoint la chaîne chan1\n");
    a.expect("carol a rejoint la chaîne chan1\n");
    b.expect("carol a rejoint la chaîne chan1\n");
    a.send("messagebonjour");
    b.expect("alice: bonjour\n");
    c.expect("alice: bonjour\n");
    b.send("MSG alice;carol salut");
    a.expect("Message privé de bob : salut\n");
    c.expect("Message privé de bob : salut\n");
    c.send("WHO");
    c.expect("Liste des adhérents:\n@alice@\nbob\n");
    b.send("KICK carol");
    b.expect("Calme-toi, tu n'es pas l'administrateur de la chaîne\n");
    // The report's client's last line comes without `\n` at the end of input.
    a.stream.write_all(b"BYE").unwrap();
    a.stream.shutdown(std::net::Shutdown::Write).unwrap();
    b.expect("alice est parti\nVous êtes le nouvel administrateur de la chaîne chan1\n");
    c.expect("alice est parti\n");
    assert!(a.closed());
    b.send("BYE");
    assert!(b.closed());
    c.expect("bob est parti\nVous êtes le nouvel administrateur de la chaîne chan1\n");
    // An abrupt end (no BYE) leaves no ghost: the nickname is free again.
    drop(c);
    let mut d = Peer::connect(server.addr);
    thread::sleep(Duration::from_millis(100));
    d.send("messagecarol");
    d.expect(&format!(
        "{CONNECTED}{CHOOSE_NICK}Bienvenue carol ! Tapez /HELP pour la liste des commandes\n"
    ));
    d.send("LIST");
    d.expect("Il n'y a pas de chaînes en cours\n");
    assert!(server.stop() < Duration::from_secs(5));
}

#[test]
fn an_irc_client_and_a_project_client_in_one_channel() {
    let server = Running::start(Flood::default());
    let mut i = Peer::irc(server.addr, "irene");
    let mut p = Peer::project(server.addr, "paul");
    i.send("JOIN #salon\r");
    i.expect(":irene!irene@127.0.0.1 JOIN #salon\r\n:irc_server 353 irene = #salon :@irene\r\n:irc_server 366 irene #salon :Fin de la liste /NAMES\r\n");
    p.send("JOIN salon");
    p.expect("Vous avez rejoint la chaîne salon\n");
    i.expect(":paul!paul@127.0.0.1 JOIN #salon\r\n");
    p.send("messagesalut irene");
    i.expect(":paul!paul@127.0.0.1 PRIVMSG #salon :salut irene\r\n");
    i.send("PRIVMSG #salon :salut paul\r");
    p.expect("irene: salut paul\n");
    i.send("PING :x\r");
    i.expect(":irc_server PONG irc_server :x\r\n");
    i.send("QUIT :bye\r");
    i.expect("ERROR :Closing Link: 127.0.0.1 (Quit: bye)\r\n");
    assert!(i.closed());
    p.expect("irene est parti\nVous êtes le nouvel administrateur de la chaîne salon\n");
}

#[test]
fn a_client_that_never_reads_is_dropped_and_the_others_keep_going() {
    let server = Running::start(Flood::relaxed());
    let mut talker = Peer::project(server.addr, "talker");
    let mut reader = Peer::project(server.addr, "reader");
    let mut stalled = Peer::project(server.addr, "stalled");
    talker.send("JOIN c");
    talker.line();
    reader.send("JOIN c");
    reader.line();
    talker.line();
    stalled.send("JOIN c");
    stalled.line();
    talker.line();
    reader.line();
    // `stalled` never reads again. The reader reads everything, in its own
    // thread, while the talker sends 40 MB.
    let text = "x".repeat(4000);
    let expected = format!("talker: {text}\n");
    let count = 10_000;
    let reading = thread::spawn(move || {
        let (mut messages, mut others) = (0, Vec::new());
        while messages < count || others.is_empty() {
            let l = reader.line();
            if l == expected {
                messages += 1;
            } else {
                others.push(l);
            }
        }
        assert_eq!(others, ["stalled est parti\n"]);
        reader
    });
    // A witness outside the channel does round trips meanwhile; its
    // slowest is printed (the machine's load makes it no test).
    let flooding = Arc::new(AtomicBool::new(true));
    let still = Arc::clone(&flooding);
    let mut witness = Peer::project(server.addr, "temoin");
    let witnessing = thread::spawn(move || {
        let (mut slowest, mut trips) = (Duration::ZERO, 0);
        while still.load(Ordering::SeqCst) {
            let t = Instant::now();
            witness.send("HELP");
            witness.expect(irc_chat::texts::HELP);
            slowest = slowest.max(t.elapsed());
            trips += 1;
            thread::sleep(Duration::from_millis(10));
        }
        (slowest, trips)
    });
    for _ in 0..count {
        talker.send(&format!("message{text}"));
    }
    let mut reader = reading.join().unwrap();
    flooding.store(false, Ordering::SeqCst);
    let (slowest, trips) = witnessing.join().unwrap();
    eprintln!("témoin : {trips} allers-retours, le plus lent {slowest:?}");
    reader.send("WHO");
    reader.expect("Liste des adhérents:\n@talker@\n");
    drop(stalled);
}

#[test]
fn irc_client_prints_escaped_text_and_says_goodbye() {
    let (server, mut bob) = bob_alone_in_c();
    let out = Screen::default();
    let stream = client::connect("127.0.0.1", server.addr.port()).unwrap();
    let input = Cursor::new("alice\n/JOIN c\nbonjour\n/BYE\n");
    let sink = SharedBuf(Arc::clone(&out));
    // Bob's line with a terminal escape reaches alice's screen escaped.
    let bob_thread = thread::spawn(move || {
        bob.expect("alice a rejoint la chaîne c\nalice: bonjour\n");
        bob
    });
    let end = client::run(stream, input, sink).unwrap();
    assert_eq!(end, End::Bye);
    assert_eq!(
        text(&out),
        format!("{CONNECTED}{CHOOSE_NICK}Bienvenue alice ! Tapez /HELP pour la liste des commandes\nVous avez rejoint la chaîne c\n")
    );
    let mut bob = bob_thread.join().unwrap();
    bob.expect("alice est parti\n");
    // The server closing is reported as such.
    let (_keep_open, _screen, run) = start_client(server.addr);
    bob.send("messagecoucou \u{1b}[2J");
    thread::sleep(Duration::from_millis(200));
    drop(server);
    assert_eq!(run.join().unwrap(), End::ServerClosed);
}

#[test]
fn the_client_escapes_what_it_prints() {
    let (server, mut bob) = bob_alone_in_c();
    let (keep_open, out, run) = start_client(server.addr);
    keep_open.send("alice\n/JOIN c\n");
    bob.expect("alice a rejoint la chaîne c\n");
    // A raw peer could send anything; the client still escapes it.
    bob.send("messagecoucou \u{1b}[2J\u{7}");
    thread::sleep(Duration::from_millis(300));
    keep_open.send("/BYE\n");
    assert_eq!(run.join().unwrap(), End::Bye);
    let got = text(&out);
    assert!(got.ends_with("bob: coucou \\x1b[2J\\x07\n"), "{got}");
}

/// A server where bob, a client of the project's protocol, has created
/// channel c (his reply read).
fn bob_alone_in_c() -> (Running, Peer) {
    let server = Running::start(Flood::default());
    let mut bob = Peer::project(server.addr, "bob");
    bob.send("JOIN c");
    bob.line();
    (server, bob)
}

#[test]
fn many_clients_joining_leaving_kicking_and_vanishing_leave_a_consistent_server() {
    let server = Running::start(Flood::relaxed());
    let addr = server.addr;
    let clients = 40;
    let run_for = Duration::from_secs(3);
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            thread::spawn(move || {
                let mut rng = TestRng(0x9E37_79B9_7F4A_7C15 ^ ((i + 1) * 0x1000_0001));
                let start = Instant::now();
                while start.elapsed() < run_for {
                    let stream = TcpStream::connect(addr).unwrap();
                    let drain = stream.try_clone().unwrap();
                    // Everything sent to this client is read, so no one is
                    // dropped for not reading.
                    let drainer = thread::spawn(move || {
                        let _ = std::io::copy(&mut &drain, &mut std::io::sink());
                    });
                    let mut w = &stream;
                    let irc = rng.below(3) == 0;
                    let nick = format!("u{i}_{}", rng.below(3));
                    let hello = if irc {
                        format!("NICK {nick}\r\nUSER u 0 * :u\r\n")
                    } else {
                        format!("message{nick}\n")
                    };
                    let _ = w.write_all(hello.as_bytes());
                    for _ in 0..rng.below(60) {
                        let chan = format!("c{}", rng.below(4));
                        let other = format!("u{}_{}", rng.below(clients), rng.below(3));
                        let line = match (rng.below(9), irc) {
                            (0 | 1, false) => format!("JOIN {chan}\n"),
                            (0 | 1, true) => format!("JOIN #{chan}\r\n"),
                            (2, false) => "LEAVE\n".into(),
                            (2, true) => format!("PART #{chan}\r\n"),
                            (3, false) => "messagebonjour\n".into(),
                            (3, true) => format!("PRIVMSG #{chan} :bonjour\r\n"),
                            (4, false) => format!("KICK {other}\n"),
                            (4, true) => format!("KICK #{chan} {other}\r\n"),
                            (5, false) => format!("GRANT {other}\n"),
                            (5, true) => format!("MODE #{chan} +o {other}\r\n"),
                            (6, _) => format!("NICK {other}\r\n"),
                            (7, false) => format!("REN {chan}\n"),
                            (7, true) => "WHO #c1\r\n".into(),
                            _ => "WHO\n".into(),
                        };
                        if w.write_all(line.as_bytes()).is_err() {
                            break;
                        }
                    }
                    // Vanish abruptly, or say goodbye.
                    if rng.below(2) == 0 {
                        let _ = w.write_all(if irc { b"QUIT\r\n" } else { b"BYE\n" });
                    }
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    drop(stream);
                    drainer.join().unwrap();
                }
            })
        })
        .collect();
    // Meanwhile a normal client is answered.
    let mut watcher = Peer::project(addr, "veilleur");
    watcher.send("HELP");
    watcher.expect(irc_chat::texts::HELP);
    for w in workers {
        w.join().unwrap();
    }
    // Everyone is gone: no channel is left (the watcher never joined one)
    // and every nickname is free again.
    // (The last disconnections may still be on their way to the hub.)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        watcher.send("LIST");
        let answer = watcher.line();
        if answer == "Il n'y a pas de chaînes en cours\n" {
            break;
        }
        assert!(Instant::now() < deadline, "chaînes restantes : {answer}");
        thread::sleep(Duration::from_millis(100));
    }
    for i in 0..clients {
        watcher.send(&format!("NICK u{i}_0"));
        watcher.expect("Votre identifiant est bien mis à jour\n");
    }
    assert!(server.stop() < Duration::from_secs(5));
}

#[test]
fn a_full_server_says_so_in_french_and_closes() {
    let config = Config {
        port: PortChoice::Exact(0),
        max_clients: 2,
        ..Config::default()
    };
    let server = Server::bind(config).unwrap();
    let addr = server.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let s = shutdown.clone();
    let thread = thread::spawn(move || server.serve(&s).unwrap());
    let _a = Peer::project(addr, "alice");
    let _b = Peer::project(addr, "bob");
    let mut c = Peer::connect(addr);
    // As an IRC client does, c speaks first: the refusal must still arrive
    // whole, not be lost to a reset over its unread line.
    c.send("NICK carol");
    let mut refused = String::new();
    c.reader.read_to_string(&mut refused).unwrap();
    assert_eq!(refused, irc_chat::server::SERVER_FULL);
    shutdown.trigger();
    thread.join().unwrap();
}

/// An `irc_server` process whose stderr is a pipe nobody reads (as under a
/// paused `2>&1 | less`): once the pipe is full, each refusal's stderr line
/// would block the accept loop, and the next clients over the cap would
/// wait in silence. The diagnostics' own thread keeps both the accept loop
/// and the hub going (and drops lines it cannot write).
#[test]
fn a_stderr_nobody_reads_stops_neither_the_refusals_nor_the_chat() {
    let server = UnreadStderr::start(
        env!("CARGO_BIN_EXE_irc_server"),
        &["--port", "0", "--connexions-max", "2"],
    );
    let addr = server.addr;
    let mut a = Peer::project(addr, "alice");
    let mut b = Peer::project(addr, "bob");
    // Each refusal logs ~50 bytes: 3,000 of them are more than a pipe holds
    // (64 KiB).
    for i in 0..3_000 {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut refused = Vec::new();
        if let Err(e) = c.read_to_end(&mut refused) {
            panic!("client {i} over the cap: {e}, after {refused:?}");
        }
        // Over the refusal threads' cap the line may be cut by a reset;
        // what matters is that the answer comes at once.
        assert!(
            refused.is_empty()
                || irc_chat::server::SERVER_FULL
                    .as_bytes()
                    .starts_with(&refused),
            "{refused:?}"
        );
    }
    a.send("JOIN c");
    a.expect("Vous avez créé la chaîne c, vous en êtes l'administrateur\n");
    b.send("JOIN c");
    b.expect("Vous avez rejoint la chaîne c\n");
    a.expect("bob a rejoint la chaîne c\n");
    drop(server);
}
