//! `serveur_chat` under 20,000 junk datagrams: random bytes, unknown tags,
//! 65,507-byte datagrams, invalid UTF-8, invalid names, `__quit__` and
//! `__message__:` from strangers, `__new_name__:` again from members. None
//! may change who is in the chat; each is logged (stdout, in order) and
//! rejected (stderr); strangers hear nothing but the refusals of their
//! invalid names; a normal session works afterwards. And a `client_chat`
//! facing a server that is down or mute.

mod chat_common;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_common::{start_chat_server, Client};
use e2e::binary;
use protocols::pyrepr::bytes_repr;

const JUNK: usize = 20_000;
/// Junk sent between two checkpoints: small enough for the server's receive
/// buffer even with a few 65,507-byte datagrams among them.
const BATCH: usize = 400;

use e2e::TestRng as Rng;

fn peer(server: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind((server.ip(), 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket
}

fn recv_text(socket: &UdpSocket) -> String {
    let mut buf = vec![0u8; 1 << 16];
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("a datagram from the server");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Nothing arrives on `socket` for a little while.
fn assert_silent(socket: &UdpSocket, who: &str) {
    socket.set_nonblocking(true).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let got = socket.recv_from(&mut buf);
    socket.set_nonblocking(false).unwrap();
    assert!(
        got.is_err(),
        "{who} received {:?}",
        got.map(|(n, _)| bytes_repr(&buf[..n]))
    );
}

/// What is waiting on a stranger's socket must all be refusals of its
/// invalid names (`__name_refused__:...`), nothing from the chat.
fn assert_only_refusals(socket: &UdpSocket, who: &str) {
    socket.set_nonblocking(true).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        assert!(
            buf[..n].starts_with(b"__name_refused__:nom refus"),
            "{who} received {}",
            bytes_repr(&buf[..n])
        );
    }
    socket.set_nonblocking(false).unwrap();
}

/// One junk datagram: (sender index, payload). Senders 0 and 1 are members
/// (`a` and `b`); 2.. are strangers.
fn junk(rng: &mut Rng, i: usize) -> (usize, Vec<u8>) {
    let stranger = 2 + i % 3;
    let member = i % 2;
    match i % 12 {
        0 => {
            let len = 1 + (rng.next_u64() % 200) as usize;
            (stranger, rng.bytes(len))
        }
        1 => (stranger, b"__quit__".to_vec()),
        2 => (stranger, b"__message__:je ne suis pas inscrit".to_vec()),
        3 => (member, b"__quit__ ".to_vec()),
        4 => (member, b"__message__:\xc3\x28 pas de l'UTF-8".to_vec()),
        5 => (member, format!("__new_name__:autre{i}").into_bytes()),
        6 => (stranger, b"__new_name__:   ".to_vec()),
        7 => (
            stranger,
            format!("__new_name__:{}", "x".repeat(33)).into_bytes(),
        ),
        8 => (stranger, b"__new_name__:\xff\xfe".to_vec()),
        9 => (stranger, b"__new_name__:a\nb".to_vec()),
        10 if i % 96 == 10 => {
            // A few of the largest datagrams, with or without a tag.
            let mut big = if i % 192 == 10 {
                b"__message__:".to_vec()
            } else {
                Vec::new()
            };
            big.resize(65_507, b'z');
            (if i % 192 == 10 { stranger } else { member }, big)
        }
        10 => (member, b"__MESSAGE__:casse".to_vec()),
        _ => (member, [b"__bonjour__:".as_slice(), &rng.bytes(8)].concat()),
    }
}

#[test]
fn junk_changes_nobody_and_a_session_works_afterwards() {
    let (server, server_out) = start_chat_server(&["--port", "0"]);
    let addr = server.addr();
    let peers: Vec<UdpSocket> = (0..5).map(|_| peer(addr)).collect();
    let (a, b) = (&peers[0], &peers[1]);
    let mut log = Vec::new();
    let send = |from: &UdpSocket, data: &[u8], log: &mut Vec<String>| {
        from.send_to(data, addr).unwrap();
        log.push(format!("recv_data : {}\n", bytes_repr(data)));
    };

    send(a, b"__new_name__:a", &mut log);
    assert_eq!(recv_text(a), "\n***a*** vient de rentrer sur le chat !\n");
    send(b, b"__new_name__:b", &mut log);
    assert_eq!(recv_text(a), "\n***b*** vient de rentrer sur le chat !\n");
    assert_eq!(recv_text(b), "\n***b*** vient de rentrer sur le chat !\n");

    let mut rng = Rng(0x1234_5678_9abc_def1);
    let start = Instant::now();
    for batch in 0..JUNK / BATCH {
        for i in batch * BATCH..(batch + 1) * BATCH {
            let (from, data) = junk(&mut rng, i);
            send(&peers[from], &data, &mut log);
        }
        // Checkpoint: the server handles datagrams in order, so once b has
        // a's message, the whole batch before it was handled.
        let text = format!("checkpoint {batch}");
        send(a, format!("__message__:{text}").as_bytes(), &mut log);
        assert_eq!(recv_text(b), format!("[a] : {text}"));
    }
    eprintln!("{JUNK} junk datagrams handled in {:?}", start.elapsed());

    for (i, stranger) in peers.iter().enumerate().skip(2) {
        assert_only_refusals(stranger, &format!("stranger {i}"));
    }
    assert_silent(a, "a");

    // A normal session: c joins (a and b still there, nobody else), a
    // speaks, a leaves.
    let c = peer(addr);
    send(&c, b"__new_name__:c", &mut log);
    for p in [a, b, &c] {
        assert_eq!(recv_text(p), "\n***c*** vient de rentrer sur le chat !\n");
    }
    send(a, "__message__:toujours là ?".as_bytes(), &mut log);
    assert_eq!(recv_text(b), "[a] : toujours là ?");
    assert_eq!(recv_text(&c), "[a] : toujours là ?");
    send(a, b"__quit__", &mut log);
    assert_eq!(recv_text(a), "__quit__");
    assert_eq!(recv_text(b), "\n***a*** a quitté le chat.\n");
    assert_eq!(recv_text(&c), "\n***a*** a quitté le chat.\n");
    for (i, stranger) in peers.iter().enumerate().skip(2) {
        assert_only_refusals(stranger, &format!("stranger {i}"));
    }

    // The journal thread writes stderr asynchronously: wait for the count.
    let rejections = || {
        server
            .stderr()
            .iter()
            .filter(|l| l.contains(" ignoré : "))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while rejections() < JUNK && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let rejections = rejections();
    assert!(server.interrupt().success());
    assert_eq!(rejections, JUNK, "one stderr line per junk datagram");
    // Every datagram, junk included, logged in order as its Python repr.
    let out = server_out.wait();
    let expected = log.concat();
    if out != expected {
        let first = out.lines().zip(expected.lines()).position(|(g, e)| g != e);
        panic!(
            "server stdout differs at line {first:?} ({} lines vs {} expected)",
            out.lines().count(),
            expected.lines().count()
        );
    }
}

#[test]
fn client_chat_against_a_server_that_is_down() {
    // A port nobody listens on: the ICMP port unreachable surfaces as
    // ECONNREFUSED on the connected socket.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    for extra in [&[][..], &["--une-fois", "salut"][..]] {
        let mut cmd = Command::new(binary("client_chat"));
        cmd.args(["--port", &port]).args(extra);
        let start = Instant::now();
        let out = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                let _ = child.stdin.take().unwrap().write_all(b"pr\n");
                child.wait_with_output()
            })
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("client_chat: ") && err.contains("injoignable"),
            "{err}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "refusal must be reported at once"
        );
    }
}

#[test]
fn client_chat_against_a_mute_server_says_so_then_gives_up_with_delai() {
    let mute = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port().to_string();
    binary("client_chat"); // built before the clock starts
    let start = Instant::now();
    // Without --delai the client would wait for good after its notice.
    let mut client = Client::start_args(&["--port", &port, "--delai", "4"]);
    client.type_line("pr");
    let status = client.wait_exit();
    let elapsed = start.elapsed();
    assert_eq!(status.code(), Some(1));
    assert!(
        elapsed >= Duration::from_secs(4) && elapsed < Duration::from_secs(9),
        "{elapsed:?}"
    );
    let err = client.stderr();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("pas encore de réponse") && lines[0].contains("(3 s) ; j'attends encore"),
        "{err}"
    );
    assert!(
        lines[1].contains("pas de réponse") && lines[1].contains("en 4 s (--delai)"),
        "{err}"
    );
    let mut buf = [0u8; 64];
    let (n, _) = mute.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"__new_name__:pr");
}
