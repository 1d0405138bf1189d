//! 5.3: the JSON protocol, on raw sockets (the wire format byte for byte)
//! and with `mixed_client --json`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{client, json_server, json_server_with, text, WAIT};
use rustls::pki_types::ServerName;
use server_kit::Stream;

const OK: &str = r#"{"statut":"ok"}"#;
const BAD_LOGIN: &str = r#"{"statut":"erreur","raison":"utilisateur ou mot de passe incorrect"}"#;

/// A client speaking JSON lines, in clear or under TLS.
struct Peer {
    out: Stream,
    input: BufReader<Stream>,
}

impl Peer {
    fn over(stream: Stream) -> Peer {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let input = BufReader::new(stream.try_clone().unwrap());
        Peer { out: stream, input }
    }

    fn connect(addr: SocketAddr) -> Peer {
        Peer::over(Stream::plain(TcpStream::connect(addr).unwrap()))
    }

    fn connect_tls(addr: SocketAddr, ca: &Path) -> Peer {
        let config = server_kit::tls::client_config(ca).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        Peer::over(Stream::connect_tls(tcp, config, name, WAIT).unwrap())
    }

    fn send(&mut self, line: &str) {
        self.out.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    fn recv(&mut self) -> String {
        let mut line = String::new();
        self.input.read_line(&mut line).unwrap();
        line.trim_end_matches('\n').to_string()
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.recv()
    }

    fn login(addr: SocketAddr, name: &str, password: &str) -> Peer {
        let mut peer = Peer::connect(addr);
        assert_eq!(peer.ask(&login(name, password)), OK);
        peer
    }
}

fn login(name: &str, password: &str) -> String {
    format!(r#"{{"commande":"LOGIN","utilisateur":"{name}","mot_de_passe":"{password}"}}"#)
}

fn message(text: &str) -> String {
    format!(r#"{{"commande":"MESSAGE","texte":"{text}"}}"#)
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer_after_the_same_delay() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let mut peer = Peer::connect(server.addr());
    let started = Instant::now();
    let wrong = peer.ask(&login("alice", "faux"));
    let wrong_took = started.elapsed();
    let started = Instant::now();
    let unknown = peer.ask(&login("mallory", "faux"));
    let unknown_took = started.elapsed();
    assert_eq!(wrong, BAD_LOGIN);
    assert_eq!(unknown, BAD_LOGIN);
    // Both wait at least the fixed delay (300 ms), whatever the check cost.
    assert!(wrong_took >= Duration::from_millis(300), "{wrong_took:?}");
    assert!(
        unknown_took >= Duration::from_millis(300),
        "{unknown_took:?}"
    );
    // The connection is still usable: the right password works.
    assert_eq!(peer.ask(&login("alice", "secret")), OK);
}

#[test]
fn a_message_reaches_every_other_logged_in_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let mut alice = Peer::login(server.addr(), "alice", "secret");
    let mut bob = Peer::login(server.addr(), "bob", "azerty");
    let mut anonymous = Peer::connect(server.addr());
    assert_eq!(alice.ask(&message("bonjour à tous")), OK);
    assert_eq!(
        bob.recv(),
        r#"{"evenement":"MESSAGE","de":"alice","texte":"bonjour à tous"}"#
    );
    assert_eq!(bob.ask(&message("salut alice")), OK);
    assert_eq!(
        alice.recv(),
        r#"{"evenement":"MESSAGE","de":"bob","texte":"salut alice"}"#
    );
    // Not logged in: no event (its next line is the answer to its request).
    assert_eq!(
        anonymous.ask(r#"{"commande":"LOGOUT"}"#),
        r#"{"statut":"erreur","raison":"connectez-vous d'abord (LOGIN)"}"#
    );
    // After LOGOUT, bob no longer receives.
    assert_eq!(bob.ask(r#"{"commande":"LOGOUT"}"#), OK);
    assert_eq!(alice.ask(&message("tu es parti ?")), OK);
    assert_eq!(bob.ask(&login("bob", "azerty")), OK);
}

#[test]
fn every_error_is_answered_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let mut peer = Peer::connect(server.addr());
    let error = |reason: &str| format!(r#"{{"statut":"erreur","raison":"{reason}"}}"#);
    assert_eq!(
        peer.ask(&message("trop tôt")),
        error("connectez-vous d'abord (LOGIN)")
    );
    assert_eq!(
        peer.ask(r#"{"commande":"LOGOUT"}"#),
        error("connectez-vous d'abord (LOGIN)")
    );
    assert_eq!(
        peer.ask("{pas du json"),
        error("JSON invalide (ligne 1, colonne 2)")
    );
    assert_eq!(
        peer.ask("[1, 2]"),
        error(r#"un objet JSON avec un champ \"commande\" est attendu"#)
    );
    assert_eq!(
        peer.ask(r#"{"commande":"DANSER"}"#),
        error(r#"commande inconnue : \"DANSER\" (LOGIN, MESSAGE ou LOGOUT)"#)
    );
    assert_eq!(
        peer.ask(r#"{"commande":"MESSAGE","texte":42}"#),
        error(r#"champs invalides pour MESSAGE (attendus : \"texte\", une chaîne)"#)
    );
    assert_eq!(peer.ask(&login("alice", "secret")), OK);
    assert_eq!(
        peer.ask(&login("alice", "secret")),
        error("déjà connecté (LOGOUT d'abord)")
    );
    let mut twin = Peer::connect(server.addr());
    assert_eq!(
        twin.ask(&login("alice", "secret")),
        error("cet utilisateur est déjà connecté ailleurs")
    );
    assert_eq!(peer.ask(&message("toujours là")), OK);
}

#[test]
fn a_line_over_64_kib_closes_the_connection_with_one_last_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let mut peer = Peer::connect(server.addr());
    let long = format!(
        r#"{{"commande":"MESSAGE","texte":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let _ = peer.out.write_all(format!("{long}\n").as_bytes());
    assert_eq!(
        peer.recv(),
        r#"{"statut":"erreur","raison":"ligne trop longue (64 Kio au plus) : connexion fermée"}"#
    );
    let mut rest = Vec::new();
    let _ = peer.input.read_to_end(&mut rest);
    assert!(rest.is_empty());
    // Exactly 64 KiB is fine.
    let mut ok = Peer::login(server.addr(), "bob", "azerty");
    let text = "y".repeat(64 * 1024 - message("").len());
    assert_eq!(ok.ask(&message(&text)), OK);
}

#[test]
fn a_user_who_never_reads_is_cut_off_and_never_stalls_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let addr = server.addr();
    // carol logs in, then never reads again.
    let carol = Peer::login(addr, "carol", "carol");
    let mut bob = Peer::login(addr, "bob", "azerty");
    let mut alice = Peer::login(addr, "alice", "secret");
    let count = 2000;
    let text = "z".repeat(16 * 1024);
    // How many bob has read: alice keeps within 64 lines of him (a quarter
    // of a queue), so bob is a reader that keeps up even when a loaded
    // machine runs his thread late, and only carol falls behind.
    let read = Arc::new(AtomicUsize::new(0));
    let bob_reader = thread::spawn({
        let read = Arc::clone(&read);
        move || {
            for _ in 0..count {
                let line = bob.recv();
                assert!(
                    line.starts_with(r#"{"evenement":"MESSAGE","de":"alice""#),
                    "{line}"
                );
                read.fetch_add(1, Ordering::Release);
            }
            bob
        }
    });
    // alice sends 2000 x 16 KiB = 32 MiB, far more than carol's queue
    // (256 lines) and socket buffers hold: every answer still comes.
    for sent in 0..count {
        while sent > read.load(Ordering::Acquire) + 64 {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(alice.ask(&message(&text)), OK);
    }
    let mut bob = bob_reader.join().unwrap();
    assert_eq!(bob.ask(&message("fini")), OK);
    assert!(alice.recv().contains("fini"));
    // carol was disconnected: her socket ends (after what was buffered).
    let mut carol = carol;
    let mut sink = Vec::new();
    let _ = carol.input.read_to_end(&mut sink);
    assert!(server
        .stderr()
        .iter()
        .any(|l| l == "mixed_server: carol ne lit pas ses messages : déconnecté"));
}

#[test]
fn mixed_client_json_is_interactive() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let mut bob = Peer::login(server.addr(), "bob", "azerty");
    let port = server.port().to_string();
    let mut child = std::process::Command::new(common::exe("mixed_client"))
        .args(["--json", "--serveur", "127.0.0.1", "--port", &port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all("LOGIN alice\nsecret\nMESSAGE bonjour bob\n".as_bytes())
        .unwrap();
    assert_eq!(
        bob.recv(),
        r#"{"evenement":"MESSAGE","de":"alice","texte":"bonjour bob"}"#
    );
    assert_eq!(bob.ask(&message("salut alice")), OK);
    // Let the event reach alice's client before it logs out.
    thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"LOGOUT\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok\nok\nbob : salut alice\nok\n");
}

#[test]
fn the_json_protocol_also_runs_under_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = mixed_server::certificat::make(
        &mixed_server::certificat::SERVER_NAMES,
        mixed_server::certificat::Years::around_now(2),
    )
    .unwrap();
    mixed_server::certificat::write(dir.path(), &pki).unwrap();
    let d = dir.path().to_str().unwrap();
    let server = json_server_with(dir.path(), &["--tls", "--dossier", d]);
    let port = server.port().to_string();
    let ca = dir.path().join("ca.pem");
    let out = client(
        "mixed_client",
        &[
            "--json",
            "--tls",
            "--ca",
            ca.to_str().unwrap(),
            "--serveur",
            "localhost",
            "--port",
            &port,
        ],
        "LOGIN alice\nsecret\nMESSAGE chiffré\nLOGOUT\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok\nok\nok\n");
}

#[test]
fn ctrl_c_ends_logged_in_sessions_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server(dir.path());
    let mut alice = Peer::login(server.addr(), "alice", "secret");
    assert!(server.server.interrupt().success());
    let mut rest = Vec::new();
    let _ = alice.input.read_to_end(&mut rest);
    assert!(rest.is_empty());
}

#[test]
fn over_the_cap_a_client_gets_a_json_error_and_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = json_server_with(dir.path(), &["--clients-max", "1"]);
    let _alice = Peer::login(server.addr(), "alice", "secret");
    let mut late = Peer::connect(server.addr());
    assert_eq!(
        late.recv(),
        r#"{"statut":"erreur","raison":"serveur plein, réessayez plus tard"}"#
    );
}

#[test]
fn under_tls_too_a_user_who_never_reads_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let pki = mixed_server::certificat::make(
        &mixed_server::certificat::SERVER_NAMES,
        mixed_server::certificat::Years::around_now(2),
    )
    .unwrap();
    mixed_server::certificat::write(dir.path(), &pki).unwrap();
    let d = dir.path().to_str().unwrap();
    let server = json_server_with(dir.path(), &["--tls", "--dossier", d]);
    let (addr, ca) = (server.addr(), dir.path().join("ca.pem"));
    let tls_login = |name: &str, password: &str| {
        let mut peer = Peer::connect_tls(addr, &ca);
        assert_eq!(peer.ask(&login(name, password)), OK);
        peer
    };
    let _carol = tls_login("carol", "carol");
    let mut bob = tls_login("bob", "azerty");
    let mut alice = tls_login("alice", "secret");
    let count = 1500;
    let text = "t".repeat(16 * 1024);
    let bob_reader = thread::spawn(move || {
        for _ in 0..count {
            assert!(bob.recv().starts_with(r#"{"evenement":"MESSAGE""#));
        }
    });
    for _ in 0..count {
        assert_eq!(alice.ask(&message(&text)), OK);
    }
    bob_reader.join().unwrap();
    let cut = common::wait_for(|| {
        server
            .stderr()
            .iter()
            .any(|l| l == "mixed_server: carol ne lit pas ses messages : déconnecté")
            .then_some(())
    });
    assert!(cut.is_some(), "{:?}", server.stderr());
}
