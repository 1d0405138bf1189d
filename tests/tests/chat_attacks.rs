//! Lab 18 and the lab-1 clients against hostile peers, each attack run
//! beside normal users (real `serveur_chat`, `client_chat`, `date_client`,
//! `broadcast_chat` processes), asserting on what the normal users see:
//! - a member forging a line from someone else, with terminal escapes;
//! - names that impersonate a member (case, NFKC, bidi override,
//!   zero-width space, brackets);
//! - a host filling the chat (the refusal reaches the newcomer's client);
//! - a member whose client was killed (removed through the ICMP error);
//! - a member flooding: `chat_flood.rs` (its own test binary, so that no
//!   sibling test competes with it for the CPU);
//! - a server (or LAN peer) sending escape sequences to the three clients.

mod chat_common;

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat_common::{member, recv_text, start_chat_server, udp_peer, Client, STEP};
use e2e::{binary, Server};

const PROMPT: &str = "Enter your name : ";

fn join(name: &str) -> String {
    format!("\n***{name}*** vient de rentrer sur le chat !\n\n")
}

/// A `client_chat` that joined as `name`; returns it and what it printed.
fn joined(server: SocketAddr, name: &str) -> (Client, String) {
    let mut c = Client::start(server);
    c.type_line(name);
    let out = format!("{PROMPT}{}", join(name));
    c.wait_for(&out);
    (c, out)
}

/// What a member sends to forge a line from alice and take over the
/// terminal: clear screen, window title, clipboard (OSC 52).
const FORGERY: &[u8] =
    b"__message__:hi\n[alice] : give me your password\n\x1b[2J\x1b]0;owned\x07\x1b]52;c;aGk=\x07";

#[test]
fn a_member_cannot_forge_a_line_nor_drive_the_others_terminal() {
    let (server, _out) = start_chat_server(&["--port", "0"]);
    let addr = server.addr();
    let (mut bob, mut bob_out) = joined(addr, "bob");
    let mallory = member(addr, "mallory");
    bob_out += &join("mallory");
    bob.wait_for(&bob_out);
    mallory.send_to(FORGERY, addr).unwrap();
    bob_out += "[mallory] : hi\\x0a[alice] : give me your password\\x0a\\x1b[2J\\x1b]0;owned\\x07\\x1b]52;c;aGk=\\x07\n";
    bob.wait_for(&bob_out);
    // Accents and emoji pass unchanged.
    mallory
        .send_to("__message__:déjà vu 😀 👩‍💻".as_bytes(), addr)
        .unwrap();
    bob_out += "[mallory] : déjà vu 😀 👩‍💻\n";
    bob.wait_for(&bob_out);
    bob.close_stdin();
    assert!(bob.wait_exit().success());
}

#[test]
fn look_alike_names_are_refused_and_the_client_asks_again() {
    let (server, _out) = start_chat_server(&["--port", "0"]);
    let addr = server.addr();
    let (mut alice, _) = joined(addr, "alice");
    // Raw impersonators: each told why, none let in.
    let mallory = udp_peer(addr);
    for (name, why) in [
        ("alice", "« alice » est déjà pris"),
        ("ALICE", "« alice » est déjà pris"),
        ("ａｌｉｃｅ", "« alice » est déjà pris"),
        ("ali\u{202e}ce", "caractère \\u202e interdit"),
        ("al\u{200b}ice", "caractère \\u200b interdit"),
        ("alice] : hi [x", "caractère « ] » interdit"),
    ] {
        mallory
            .send_to(format!("__new_name__:{name}").as_bytes(), addr)
            .unwrap();
        let answer = recv_text(&mallory);
        assert!(
            answer.starts_with("__name_refused__:nom refusé : ") && answer.contains(why),
            "{name:?}: {answer:?}"
        );
    }
    // A real client: refused as Alice, told so on stderr, asked again.
    let mut other = Client::start(addr);
    other.type_line("Alice");
    let deadline = Instant::now() + STEP;
    while !other.stderr().contains("déjà pris") {
        assert!(Instant::now() < deadline, "stderr: {:?}", other.stderr());
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        other.stderr(),
        "client_chat: nom refusé : « alice » est déjà pris, choisissez-en un autre\n"
    );
    other.wait_for(&format!("{PROMPT}{PROMPT}"));
    other.type_line("alice2");
    other.wait_for(&format!("{PROMPT}{PROMPT}{}", join("alice2")));
    // alice saw only the real newcomer.
    alice.wait_for(&format!("{PROMPT}{}{}", join("alice"), join("alice2")));
    for c in [&mut alice, &mut other] {
        c.close_stdin();
        assert!(c.wait_exit().success());
    }
}

#[test]
fn a_full_host_or_chat_refuses_the_newcomer_whose_client_exits_1() {
    for (flags, reason) in [
        (
            ["--membres-par-hote", "2"],
            "client_chat: inscription refusée par le serveur : déjà 2 membres depuis l'adresse 127.0.0.1, le maximum par machine\n",
        ),
        (
            ["--membres-max", "2"],
            "client_chat: inscription refusée par le serveur : tchat complet (2 membres), réessayez plus tard\n",
        ),
    ] {
        let (server, _out) = start_chat_server(&["--port", "0", flags[0], flags[1]]);
        let addr = server.addr();
        // One host takes the seats (one socket each).
        let _seats: Vec<UdpSocket> = (0..2).map(|i| member(addr, &format!("s{i}"))).collect();
        let mut late = Client::start(addr);
        late.type_line("late");
        let status = late.wait_exit();
        assert_eq!(status.code(), Some(1), "{}", late.stderr());
        assert_eq!(late.stderr(), reason);
        assert_eq!(late.stdout(), PROMPT);
    }
}

#[test]
fn a_killed_client_is_removed_through_the_icmp_error_and_announced() {
    let (server, _out) = start_chat_server(&["--port", "0"]);
    let addr = server.addr();
    let (mut as_, mut as_out) = joined(addr, "as");
    let (pr, _) = joined(addr, "pr");
    as_out += &join("pr");
    as_.wait_for(&as_out);
    // pr's process dies without __quit__ (SIGKILL).
    drop(pr); // Client's Drop kills and reaps it
    as_.type_line("tu es là ?");
    as_out += "\n***pr*** a quitté le chat.\n\n";
    as_.wait_for(&as_out);
    let deadline = Instant::now() + STEP;
    while !server
        .stderr()
        .iter()
        .any(|l| l.contains("pr (") && l.contains("retiré du tchat : son port est fermé"))
    {
        assert!(Instant::now() < deadline, "{:?}", server.stderr());
        thread::sleep(Duration::from_millis(10));
    }
    // The name is free again.
    let (mut pr2, _) = joined(addr, "pr");
    for c in [&mut as_, &mut pr2] {
        c.close_stdin();
        assert!(c.wait_exit().success());
    }
}

/// What a hostile server or LAN peer sends the lab-1 and lab-18 clients.
const HOSTILE: &[u8] = b"x\x1b[2J\x1b]0;owned\x07\x1b]52;c;aGk=\x07\r\xe2\x80\xae!";
const ESCAPED: &str = "x\\x1b[2J\\x1b]0;owned\\x07\\x1b]52;c;aGk=\\x07\\x0d\\u202e!\n";

/// A fake server on a free port that answers every datagram with HOSTILE,
/// until it is stopped (never on a timeout: on a loaded machine a client can
/// take seconds to start, and a closed port would fail the test for nothing).
struct HostileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl HostileServer {
    fn start() -> HostileServer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((_, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if buf.starts_with(b"__quit__") {
                    let _ = socket.send_to(b"__quit__", from);
                } else {
                    let _ = socket.send_to(HOSTILE, from);
                }
            }
        });
        HostileServer { port, stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

#[test]
fn client_chat_and_date_client_escape_what_a_server_sends_unless_brut() {
    for (brut, expected) in [
        (false, ESCAPED.as_bytes().to_vec()),
        (true, [HOSTILE, b"\n"].concat()),
    ] {
        let extra: &[&str] = if brut { &["--brut"] } else { &[] };
        let fake = HostileServer::start();
        let port = fake.port.to_string();
        let out = Command::new(binary("date_client"))
            .args(["--port", &port])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, expected, "date_client brut={brut}");
        let out = Command::new(binary("client_chat"))
            .args(["--port", &port, "--une-fois", "x"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, expected, "client_chat --une-fois brut={brut}");
        // The chat: the "welcome" is hostile, then end of input quits.
        let mut child = Command::new(binary("client_chat"))
            .args(["--port", &port])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"pr\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            out.stdout,
            [PROMPT.as_bytes(), &expected].concat(),
            "client_chat brut={brut}"
        );
        fake.stop();
    }
}

#[test]
fn broadcast_chat_ecouter_escapes_what_the_lan_sends_unless_brut() {
    for (brut, expected) in [
        (false, ESCAPED.as_bytes().to_vec()),
        (true, [HOSTILE, b"\n"].concat()),
    ] {
        let mut cmd = Command::new(binary("broadcast_chat"));
        cmd.args(["ecouter", "--bind", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped());
        if brut {
            cmd.arg("--brut");
        }
        let mut listener = Server::start_with(cmd, "broadcast_chat", 1);
        let (out, _) = chat_common::Captured::spawn(listener.child_mut().stdout.take().unwrap());
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(HOSTILE, listener.addr()).unwrap();
        let deadline = Instant::now() + STEP;
        while out.text().len() < 5 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(50));
        assert!(listener.interrupt().success());
        assert_eq!(
            out.text().as_bytes(),
            String::from_utf8_lossy(&expected).as_bytes(),
            "brut={brut}"
        );
    }
}
