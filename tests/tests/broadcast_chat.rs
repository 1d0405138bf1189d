//! Lab 1, exercise 3: `broadcast_chat`. Two listeners on one machine share
//! the port (SO_REUSEADDR + SO_REUSEPORT) and both get what is sent to the
//! loopback broadcast address; and, as root, a real broadcast between two
//! network namespaces joined by a veth pair.

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e::{binary, is_root, Server};

fn free_udp_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `envoyer` (possibly under `ip netns exec NS`) with `lines` on stdin.
fn envoyer(netns: Option<&str>, args: &[&str], lines: &str) -> Output {
    let bin = binary("broadcast_chat");
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    let mut child = cmd
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

/// Starts a listener with captured stdout; returns it with its stdout reader.
fn ecouter(netns: Option<&str>, port: u16) -> (Server, std::thread::JoinHandle<String>) {
    let bin = binary("broadcast_chat");
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    cmd.args(["ecouter", "--port", &port.to_string()])
        .stdout(Stdio::piped());
    let mut server = Server::start_with(cmd, "broadcast_chat", 1);
    let mut stdout = server.child_mut().stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    (server, reader)
}

/// Stops the listener once it printed `expected` lines (or times out).
fn stop_after(server: Server, reader: std::thread::JoinHandle<String>, sent_at: Instant) -> String {
    // Datagrams are local: a short grace period is plenty.
    std::thread::sleep(Duration::from_millis(300).saturating_sub(sent_at.elapsed()));
    assert!(
        server.interrupt().success(),
        "ecouter must exit 0 on Ctrl-C"
    );
    reader.join().unwrap()
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
    let sent = Instant::now();
    for (l, r) in [(l1, r1), (l2, r2)] {
        assert_eq!(stop_after(l, r, sent), "pr: bonjour\npr: je suis là !\n");
    }
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
        eprintln!(
            "SKIP broadcast_between_two_network_namespaces: needs root and iproute2 (ip netns)"
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
    let port = 5556;
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
    let sent = Instant::now();
    for (l, r) in [(l1, r1), (l2, r2)] {
        assert_eq!(
            stop_after(l, r, sent),
            "pr: vers le sous-réseau\nas: vers tout le monde\n"
        );
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
