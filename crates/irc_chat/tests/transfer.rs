//! SEND / RECV over real loopback sockets: 100 MiB arriving intact while
//! two others chat, the data connection's refusals and timeouts, Ctrl-C in
//! the middle of a transfer, and `irc_client`'s `/SEND` and `/RECV`
//! writing into a temporary folder.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{start_client, text, wait_for, Peer, Running};
use irc_chat::client::End;
use irc_chat::server::Config;
use irc_chat::texts::data;
use irc_chat::transfer::TransferConfig;
use irc_chat::{Flood, HubConfig};
use protocols::chat_irc_file::{hash_hex, Direction, FileHash, Order};

/// A server with these transfer settings, its flood control off.
fn start(transfer: TransferConfig) -> Running {
    Running::with(Config {
        hub: HubConfig {
            flood: Flood::relaxed(),
            ..HubConfig::default()
        },
        transfer,
        ..Config::default()
    })
}

/// Reads the server's transfer order.
fn order(p: &mut Peer) -> Order {
    let line = p.line();
    Order::parse(line.trim_end()).unwrap_or_else(|| panic!("pas un ordre : {line:?}"))
}

/// A data connection: the first line sent, the server's first answer read.
fn data_connection(addr: SocketAddr, token: &str) -> (TcpStream, BufReader<TcpStream>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(format!("FICHIER {token}\n").as_bytes())
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    (s, r, first)
}

/// `size` bytes, cheap to make: a pseudo-random MiB repeated, each copy
/// stamped with its number (so a reordering would show).
fn data(size: usize) -> Vec<u8> {
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for w in block.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w.copy_from_slice(&x.to_le_bytes());
    }
    let mut out = Vec::with_capacity(size);
    let mut n = 0u64;
    while out.len() < size {
        block[..8].copy_from_slice(&n.to_le_bytes());
        let take = block.len().min(size - out.len());
        out.extend_from_slice(&block[..take]);
        n += 1;
    }
    out
}

/// alice (`alice{tag}`) offers `size` bytes to bob (`bob{tag}`), who
/// accepts: the two orders.
fn negotiate(addr: SocketAddr, tag: &str, size: u64, hash: u64) -> (Peer, Peer, Order, Order) {
    let (a, b) = (format!("alice{tag}"), format!("bob{tag}"));
    let mut alice = Peer::project(addr, &a);
    let mut bob = Peer::project(addr, &b);
    alice.send(&format!("SEND {b} {size} {} gros.bin", hash_hex(hash)));
    alice.expect(&format!(
        "Fichier gros.bin proposé à {b} ({size} octets) : en attente de son accord\n"
    ));
    bob.expect(&format!(
        "{a} vous propose le fichier gros.bin ({size} octets) : /RECV {a} pour l'accepter\n"
    ));
    bob.send(&format!("RECV {a}"));
    let to_alice = order(&mut alice);
    let to_bob = order(&mut bob);
    assert_eq!(to_alice.direction, Direction::Send);
    assert_eq!(to_bob.direction, Direction::Receive);
    assert_eq!((to_bob.size, to_bob.hash), (size, hash));
    assert_eq!((&to_alice.peer, &to_bob.peer), (&b, &a));
    assert_ne!(to_alice.token, to_bob.token);
    (alice, bob, to_alice, to_bob)
}

#[test]
fn a_100_mib_file_arrives_intact_while_two_others_chat() {
    const SIZE: usize = 100 * 1024 * 1024;
    let server = start(TransferConfig::default());
    let addr = server.addr;
    let mut carol = Peer::project(addr, "carol");
    let mut dave = Peer::project(addr, "dave");
    carol.send("JOIN salon");
    carol.line();
    dave.send("JOIN salon");
    dave.line();
    carol.line();
    let bytes = Arc::new(data(SIZE));
    let hash = FileHash::of(&bytes);
    let (_alice, _bob, to_alice, to_bob) = negotiate(addr, "", SIZE as u64, hash);

    // bob reads slowly enough for the transfer to last a few seconds.
    let receiver = thread::spawn(move || {
        let (mut s, mut r, first) = data_connection(addr, &to_bob.token);
        assert_eq!(first, "DEBUT\n");
        let mut h = FileHash::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0usize;
        while got < SIZE {
            let n = r.read(&mut buf[..(SIZE - got).min(1 << 20)]).unwrap();
            assert!(n > 0, "coupé après {got} octets");
            h.update(&buf[..n]);
            got += n;
            thread::sleep(Duration::from_micros(500));
        }
        let intact = h.finish() == hash;
        s.write_all(if intact { b"FIN OK\n" } else { b"FIN ECHEC\n" })
            .unwrap();
        intact
    });
    let sent = Arc::clone(&bytes);
    let sender = thread::spawn(move || {
        let (mut s, mut r, first) = data_connection(addr, &to_alice.token);
        assert_eq!(first, "DEBUT\n");
        for chunk in sent.chunks(1 << 20) {
            s.write_all(chunk).unwrap();
        }
        let mut verdict = String::new();
        r.read_line(&mut verdict).unwrap();
        verdict
    });

    // The chat keeps flowing: every round trip under a second.
    let mut rounds = 0;
    let mut slowest = Duration::ZERO;
    while !receiver.is_finished() {
        let t = Instant::now();
        carol.send(&format!("messageping {rounds}"));
        dave.expect(&format!("carol: ping {rounds}\n"));
        dave.send(&format!("messagepong {rounds}"));
        carol.expect(&format!("dave: pong {rounds}\n"));
        slowest = slowest.max(t.elapsed());
        rounds += 1;
        thread::sleep(Duration::from_millis(20));
    }
    assert!(receiver.join().unwrap(), "empreinte différente");
    assert_eq!(sender.join().unwrap(), "FIN OK\n");
    assert!(
        rounds >= 5,
        "{rounds} échanges seulement pendant le transfert"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "un échange a pris {slowest:?}"
    );
    eprintln!("{rounds} échanges pendant le transfert, le plus lent en {slowest:?}");
    assert!(server.stop() < Duration::from_secs(5));
}

#[test]
fn data_connections_refused_expired_stalled_and_damaged() {
    let server = start(TransferConfig {
        token_expiry: Duration::from_millis(400),
        stall: Duration::from_millis(500),
    });
    let addr = server.addr;
    // Not a token, or an unknown one.
    let (_, _, first) = data_connection(addr, "xyz");
    assert_eq!(first, data::BAD_FIRST_LINE);
    let (_, _, first) = data_connection(addr, &"0".repeat(32));
    assert_eq!(first, data::UNKNOWN_TOKEN);

    // Only one end comes: it is told once the token expired, and the
    // token is then no good.
    let (_alice, _bob, to_alice, to_bob) = negotiate(addr, "1", 10, FileHash::of(b"0123456789"));
    let t = Instant::now();
    let (_, _, first) = data_connection(addr, &to_alice.token);
    assert_eq!(first, data::PEER_LATE);
    assert!(t.elapsed() < Duration::from_secs(5));
    let (_, _, first) = data_connection(addr, &to_bob.token);
    assert_eq!(first, data::UNKNOWN_TOKEN);

    // The sender stalls half way: the receiver sees the end early, the
    // sender is told.
    let (_alice, _bob, to_alice, to_bob) = negotiate(addr, "2", 1000, 1);
    let bob_side = thread::spawn(move || {
        let (_s, mut r, first) = data_connection(addr, &to_bob.token);
        assert_eq!(first, "DEBUT\n");
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        got.len()
    });
    let (mut s, mut r, first) = data_connection(addr, &to_alice.token);
    assert_eq!(first, "DEBUT\n");
    s.write_all(&[7u8; 400]).unwrap();
    let mut told = String::new();
    r.read_line(&mut told).unwrap();
    assert_eq!(told, data::SENDER_STOPPED);
    assert_eq!(bob_side.join().unwrap(), 400);

    // Damaged on the way (here: a sender lying about the hash): the
    // receiver's verdict reaches the sender.
    let (_alice, _bob, to_alice, to_bob) = negotiate(addr, "3", 4, FileHash::of(b"abcd"));
    let bob_side = thread::spawn(move || {
        let (mut s, mut r, _) = data_connection(addr, &to_bob.token);
        let mut got = [0u8; 4];
        r.read_exact(&mut got).unwrap();
        let ok = FileHash::of(&got) == to_bob.hash;
        s.write_all(if ok { b"FIN OK\n" } else { b"FIN ECHEC\n" })
            .unwrap();
    });
    let (mut s, mut r, _) = data_connection(addr, &to_alice.token);
    s.write_all(b"abce").unwrap();
    let mut verdict = String::new();
    r.read_line(&mut verdict).unwrap();
    assert_eq!(verdict, "FIN ECHEC\n");
    bob_side.join().unwrap();
    server.stop();
}

#[test]
fn ctrl_c_during_a_transfer_ends_everything_cleanly() {
    let server = start(TransferConfig {
        token_expiry: Duration::from_secs(60),
        stall: Duration::from_secs(60),
    });
    let addr = server.addr;
    // One transfer under way (the sender pauses), one waiting for its
    // other end.
    let (_alice, _bob, to_alice, to_bob) = negotiate(addr, "", 1 << 20, 0);
    let alice_side = thread::spawn(move || data_connection(addr, &to_alice.token));
    let (_s2, mut r2, first) = data_connection(addr, &to_bob.token);
    assert_eq!(first, "DEBUT\n");
    let (mut s, _r, first) = alice_side.join().unwrap();
    assert_eq!(first, "DEBUT\n");
    s.write_all(&[1u8; 1000]).unwrap();
    let mut got = [0u8; 1000];
    r2.read_exact(&mut got).unwrap();
    let mut carol = Peer::project(addr, "carol");
    let mut dave = Peer::project(addr, "dave");
    carol.send(&format!("SEND dave 5 {} attente.txt", hash_hex(0)));
    carol.line();
    dave.line();
    dave.send("RECV carol");
    let waiting = order(&mut carol);
    let (_s3, _r3) = {
        let mut s3 = TcpStream::connect(addr).unwrap();
        s3.write_all(format!("FICHIER {}\n", waiting.token).as_bytes())
            .unwrap();
        let r3 = BufReader::new(s3.try_clone().unwrap());
        (s3, r3)
    };
    thread::sleep(Duration::from_millis(300));
    let took = server.stop();
    assert!(took < Duration::from_secs(5), "arrêt en {took:?}");
    // Both ends of the running transfer see the end.
    let mut rest = Vec::new();
    let _ = r2.read_to_end(&mut rest);
    assert!(rest.len() < 1 << 20);
}

#[test]
fn irc_client_send_and_recv_write_the_file_beside_an_existing_one() {
    let server = start(TransferConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("envoi");
    let inbox = dir.path().join("réception");
    std::fs::create_dir_all(&outbox).unwrap();
    std::fs::create_dir_all(&inbox).unwrap();
    let content = data(3 * 1024 * 1024 + 5);
    let source = outbox.join("rapport final.txt");
    std::fs::write(&source, &content).unwrap();
    // Already there: must not be overwritten.
    std::fs::write(inbox.join("rapport final.txt"), b"ancien").unwrap();

    let (alice_keys, alice_out, alice) = start_client(server.addr);
    let (bob_keys, bob_out, bob) = start_client(server.addr);
    alice_keys.send("alice\n");
    bob_keys.send("bob\n");
    wait_for(&bob_out, "Bienvenue bob");
    wait_for(&alice_out, "Bienvenue alice");
    alice_keys.send(&format!("/SEND bob {}\n", source.display()));
    let size = content.len();
    wait_for(
        &bob_out,
        &format!("alice vous propose le fichier rapport final.txt ({size} octets) : /RECV alice pour l'accepter\n"),
    );
    // A folder that does not exist is refused on the spot.
    bob_keys.send("/RECV alice /nulle/part\n");
    wait_for(&bob_out, "/nulle/part n'est pas un dossier\n");
    bob_keys.send(&format!("/RECV alice {}\n", inbox.display()));
    let kept = inbox.join("rapport final (1).txt");
    wait_for(
        &bob_out,
        &format!(
            "Fichier rapport final.txt reçu de alice : {} ({size} octets, empreinte vérifiée)\n",
            kept.display()
        ),
    );
    wait_for(
        &alice_out,
        "Fichier rapport final.txt reçu intact par bob\n",
    );
    assert_eq!(std::fs::read(&kept).unwrap(), content);
    assert_eq!(
        std::fs::read(inbox.join("rapport final.txt")).unwrap(),
        b"ancien"
    );
    // Local refusals and the chat still works.
    alice_keys.send(&format!("/SEND bob {}\n", outbox.join("absent").display()));
    wait_for(&alice_out, "Impossible de lire ");
    alice_keys.send("/SEND bob\n");
    wait_for(&alice_out, "Syntaxe : /SEND <pseudo> <fichier>\n");
    alice_keys.send("/MSG bob coucou\n");
    alice_keys.send("/BYE\n");
    bob_keys.send("/BYE\n");
    assert_eq!(alice.join().unwrap(), End::Bye);
    assert_eq!(bob.join().unwrap(), End::Bye);
    let sent = text(&alice_out);
    assert!(
        sent.contains(&format!(
            "Envoi de rapport final.txt à bob ({size} octets)...\n"
        )),
        "{sent}"
    );
    assert!(!sent.contains("Transfert "), "ordre affiché : {sent}");
    let got = text(&bob_out);
    assert!(
        got.contains(&format!(
            "Réception de rapport final.txt de alice ({size} octets) dans {}...\n",
            kept.display()
        )),
        "{got}"
    );
    let entries = std::fs::read_dir(&inbox).unwrap().count();
    assert_eq!(entries, 2);
}
