//! Lab 1, exercise 3: `broadcast_chat`. Two listeners on one machine share
//! the port (SO_REUSEADDR + SO_REUSEPORT) and both get what is sent to the
//! loopback broadcast address; and, as root, a real broadcast between two
//! network namespaces joined by a veth pair.

mod chat_common;

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chat_common::{Captured, STEP};
use e2e::{binary, is_root, Server};

fn free_udp_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `broadcast_chat`, possibly under `ip netns exec NS`.
fn broadcast_chat(netns: Option<&str>) -> Command {
    let bin = binary("broadcast_chat");
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&bin);
            c
        }
        None => Command::new(&bin),
    }
}

/// Runs `envoyer` with `lines` on stdin.
fn envoyer(netns: Option<&str>, args: &[&str], lines: &str) -> Output {
    let mut child = broadcast_chat(netns)
        .arg("envoyer")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Starts a listener; returns it with its stdout, captured as it comes.
fn ecouter(netns: Option<&str>, port: u16) -> (Server, Captured) {
    let mut cmd = broadcast_chat(netns);
    cmd.args(["ecouter", "--port", &port.to_string()])
        .stdout(Stdio::piped());
    let mut server = Server::start_with(cmd, "broadcast_chat", 1);
    let (out, _) = Captured::spawn(server.child_mut().stdout.take().unwrap());
    (server, out)
}

/// Waits until the listener printed `expected` (at most [`STEP`]), stops it
/// with Ctrl-C and returns all it printed. Waiting for the text rather than
/// a fixed time: on a busy machine a listener may be scheduled late, and
/// Ctrl-C drops what it has not read yet.
fn stop_when_printed(server: Server, out: Captured, expected: &str) -> String {
    let deadline = Instant::now() + STEP;
    while out.text().len() < expected.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        server.interrupt().success(),
        "ecouter must exit 0 on Ctrl-C"
    );
    out.text()
}

#[test]
fn two_listeners_on_one_machine_get_the_loopback_broadcast() {
    let port = free_udp_port();
    let (l1, r1) = ecouter(None, port);
    let (l2, r2) = ecouter(None, port);
    let out = envoyer(
        None,
        &[
            "--nom",
            "pr",
            "--adresse",
            "127.255.255.255",
            "--port",
            &port.to_string(),
        ],
        "bonjour\nje suis là !\n",
    );
    assert!(out.status.success(), "{out:?}");
    let expected = "pr: bonjour\npr: je suis là !\n";
    for (l, r) in [(l1, r1), (l2, r2)] {
        assert_eq!(stop_when_printed(l, r, expected), expected);
    }
}

#[test]
fn the_default_name_is_the_login_name() {
    let port = free_udp_port();
    let (l, r) = ecouter(None, port);
    let mut child = broadcast_chat(None)
        .args([
            "envoyer",
            "--adresse",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .env("LOGNAME", "etudiant")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"salut\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        stop_when_printed(l, r, "etudiant: salut\n"),
        "etudiant: salut\n"
    );
}

#[test]
fn ctrl_c_while_waiting_for_a_line_is_a_normal_end() {
    let mut child = broadcast_chat(None)
        .args([
            "envoyer",
            "--nom",
            "pr",
            "--adresse",
            "127.0.0.1",
            "--port",
            "9",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    // The handler is installed before the socket is created: wait for it.
    let deadline = Instant::now() + STEP;
    let has_socket = || e2e::open_sockets(child.id()) > 0;
    while !has_socket() {
        assert!(
            Instant::now() < deadline,
            "envoyer never created its socket"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = e2e::ctrl_c_at_the_keyboard(&mut child);
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// `date_server` falls back to the ports after 5555 when 5555 is taken: none
/// of them is `broadcast_chat`'s, so both programs of the sheet run together.
#[test]
fn date_server_never_falls_back_to_the_broadcast_port() {
    let first = date_server::DEFAULT_PORT;
    let fallback = first..first.saturating_add(server_kit::bind::FALLBACK_PORTS);
    assert!(!fallback.contains(&broadcast_chat::DEFAULT_PORT));
}

/// Two namespaces and a veth pair, deleted whatever happens.
struct Netns {
    names: [String; 2],
}

impl Netns {
    fn ip(args: &[&str]) {
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn create(subnet: &str) -> Netns {
        let id = std::process::id() % 100_000;
        let names = [format!("tpr-bc-a-{id}"), format!("tpr-bc-b-{id}")];
        let netns = Netns { names };
        let [a, b] = &netns.names;
        let (va, vb) = (format!("vbca{id}"), format!("vbcb{id}"));
        Self::ip(&["netns", "add", a]);
        Self::ip(&["netns", "add", b]);
        Self::ip(&[
            "link", "add", &va, "netns", a, "type", "veth", "peer", "name", &vb, "netns", b,
        ]);
        for (ns, dev, host) in [(a, &va, 1), (b, &vb, 2)] {
            let cidr = format!("{subnet}.{host}/24");
            Self::ip(&["-n", ns, "addr", "add", &cidr, "brd", "+", "dev", dev]);
            Self::ip(&["-n", ns, "link", "set", dev, "up"]);
            Self::ip(&["-n", ns, "link", "set", "lo", "up"]);
            // 255.255.255.255 needs a route out: the veth, as on a LAN.
            Self::ip(&["-n", ns, "route", "add", "default", "dev", dev]);
        }
        netns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.names {
            // Deleting a namespace deletes its end of the veth pair, and so
            // the pair.
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn broadcast_between_two_network_namespaces() {
    if !is_root() || !e2e::have_program("ip") {
        e2e::skip(
            "SKIP broadcast_between_two_network_namespaces: needs root and iproute2 (ip netns)",
        );
        return;
    }
    let subnet = format!(
        "10.{}.{}",
        200 + std::process::id() % 50,
        std::process::id() % 250
    );
    let netns = Netns::create(&subnet);
    let [a, b] = &netns.names;
    let port = 5700;
    // Two listeners in b; the sender in a, so every datagram crosses the veth.
    let (l1, r1) = ecouter(Some(b), port);
    let (l2, r2) = ecouter(Some(b), port);
    let directed = format!("{subnet}.255");
    let out = envoyer(
        Some(a),
        &["--nom", "pr", "--adresse", &directed],
        "vers le sous-réseau\n",
    );
    assert!(out.status.success(), "{out:?}");
    let out = envoyer(Some(a), &["--nom", "as"], "vers tout le monde\n");
    assert!(out.status.success(), "{out:?}");
    let expected = "pr: vers le sous-réseau\nas: vers tout le monde\n";
    for (l, r) in [(l1, r1), (l2, r2)] {
        assert_eq!(stop_when_printed(l, r, expected), expected);
    }
    // Without SO_BROADCAST the same send is refused: check that the option
    // is what makes it work, with a plain socket in namespace a.
    if e2e::have_program("python3") {
        let status = Command::new("ip")
            .args(["netns", "exec", a, "python3", "-c"])
            .arg(format!(
                "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             try:\n s.sendto(b'x',('{directed}',{port}))\nexcept PermissionError:\n sys.exit(13)"
            ))
            .status()
            .unwrap();
        assert_eq!(
            status.code(),
            Some(13),
            "a broadcast without SO_BROADCAST must be refused"
        );
    }
    drop(netns);
}
