//! Parts 2 to 4 of the sheet: every binary's exact texts, and the sheet's
//! own Python programs against ours, both ways.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};

use common::{client, free_port, run, sheet_program, text, without_ports, Running, WAIT};

const TCP_CLIENT_OUT: &str = "Réponse du serveur : Message reçu\nConnexion fermée.\n";

fn tcp_server_lines(connected: &str) -> Vec<String> {
    vec![
        "Serveur en attente de connexions...".into(),
        format!("Connexion établie avec : {connected}"),
        "Reçu : Bonjour serveur TCP".into(),
        "Client déconnecté.".into(),
        "Connexion fermée.".into(),
    ]
}

#[test]
fn tcp_server_and_client_print_the_sheet_s_texts() {
    let server = Running::start("tcp_server", &["--port", "0"]);
    let port = server.port().to_string();
    let out = client(
        "tcp_client",
        &["--serveur", "127.0.0.1", "--port", &port],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), TCP_CLIENT_OUT);
    assert_eq!(
        without_ports(&server.lines(5)),
        tcp_server_lines("('127.0.0.1', PORT)")
    );
    assert!(server.server.interrupt().success());
}

#[test]
fn ipv6_addresses_print_as_python_s_four_tuples() {
    if TcpStream::connect("[::1]:1")
        .is_err_and(|e| e.kind() == std::io::ErrorKind::AddrNotAvailable)
    {
        return common::unavailable("pas d'IPv6 sur lo");
    }
    let server = Running::start("tcp_server", &["--bind", "::1", "--port", "0"]);
    let port = server.port().to_string();
    let out = client("tcp_client", &["--serveur", "::1", "--port", &port], "");
    assert_eq!(text(&out.stdout), TCP_CLIENT_OUT);
    let lines = without_ports(&server.lines(5));
    assert_eq!(lines[1], "Connexion établie avec : ('::1', PORT, 0, 0)");
}

#[test]
fn udp_server_and_client_print_the_sheet_s_texts() {
    let server = Running::start("udp_server", &["--port", "0"]);
    let port = server.port().to_string();
    let out = client(
        "udp_client",
        &["--serveur", "127.0.0.1", "--port", &port],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Réponse du serveur : Message reçu\n");
    assert_eq!(
        without_ports(&server.lines(2)),
        [
            "Serveur UDP en attente de messages...",
            "Reçu : Bonjour serveur UDP de ('127.0.0.1', PORT)"
        ]
    );
}

#[test]
fn udp_over_ipv6_and_ctrl_c_exits_0() {
    if UdpSocket::bind("[::1]:0").is_err() {
        return common::unavailable("pas d'IPv6 sur lo");
    }
    for (binary, answer, logged) in [
        (
            "udp_server",
            "Message reçu",
            "Reçu : Bonjour serveur UDP de ('::1', PORT, 0, 0)",
        ),
        (
            "mixed_server",
            "Message reçu via UDP",
            "Reçu via UDP : Bonjour serveur UDP",
        ),
    ] {
        let server = Running::start(
            binary,
            &["--bind", "::1", "--port", "0", "--port-udp", "0"]
                [..if binary == "udp_server" { 4 } else { 6 }],
        );
        let out = if binary == "udp_server" {
            let port = server.port().to_string();
            client("udp_client", &["--serveur", "::1", "--port", &port], "")
        } else {
            let port = server.udp_port().to_string();
            let args = [
                "--serveur",
                "::1",
                "--port-udp",
                &port,
                "--protocole",
                "udp",
            ];
            client("mixed_client", &args, "")
        };
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).ends_with(&format!("Réponse du serveur : {answer}\n")),
            "{}",
            text(&out.stdout)
        );
        assert_eq!(without_ports(&server.lines(2))[1], logged);
        assert!(server.server.interrupt().success(), "{binary}");
    }
}

#[test]
fn udp_client_says_when_nobody_answers() {
    // A socket that receives and never answers: the 3 s timeout.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let out = client(
        "udp_client",
        &["--serveur", "127.0.0.1", "--port", &port],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        text(&out.stderr),
        "udp_client: pas de réponse du serveur en 3 s (est-il lancé, sur ce port ?)\n"
    );
    // No socket at all: the ICMP error says so at once.
    drop(silent);
    let out = client(
        "udp_client",
        &["--serveur", "127.0.0.1", "--port", &port],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "udp_client: aucun serveur UDP sur ce port (port fermé)\n"
    );
}

#[test]
fn mixed_client_asks_as_the_sheet_does_and_accepts_any_case() {
    let server = Running::start("mixed_server", &["--port", "0", "--port-udp", "0"]);
    let (tcp, udp) = (server.port().to_string(), server.udp_port().to_string());
    let ports = ["--serveur", "127.0.0.1", "--port", &tcp, "--port-udp", &udp];
    let out = client("mixed_client", &ports, "  TcP \n");
    assert_eq!(
        text(&out.stdout),
        "Choisissez le protocole (TCP/UDP) : Réponse du serveur : Message reçu via TCP\n"
    );
    let out = client("mixed_client", &ports, "udp\n");
    assert_eq!(
        text(&out.stdout),
        "Choisissez le protocole (TCP/UDP) : Réponse du serveur : Message reçu via UDP\n"
    );
    let out = client("mixed_client", &ports, "sctp\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "Choisissez le protocole (TCP/UDP) : Protocole non valide.\n"
    );
    let mut with_option = ports.to_vec();
    with_option.extend(["--protocole", "UDP"]);
    let out = client("mixed_client", &with_option, "");
    assert_eq!(
        text(&out.stdout),
        "Réponse du serveur : Message reçu via UDP\n"
    );
    assert_eq!(
        without_ports(&server.lines(7)),
        [
            "Serveur en attente de connexions...",
            "Connexion TCP établie avec : ('127.0.0.1', PORT)",
            "Reçu via TCP : Bonjour serveur TCP",
            "Client déconnecté.",
            "Connexion TCP fermée.",
            "Reçu via UDP : Bonjour serveur UDP",
            "Reçu via UDP : Bonjour serveur UDP",
        ]
    );
}

#[test]
fn mixed_server_answers_udp_while_a_tcp_client_is_connected() {
    let server = Running::start("mixed_server", &["--port", "0", "--port-udp", "0"]);
    // A TCP client that stays: the sheet's loop would not read UDP now.
    let mut held = TcpStream::connect(server.addr()).unwrap();
    held.write_all(b"je reste").unwrap();
    let mut answer = [0u8; 64];
    held.set_read_timeout(Some(WAIT)).unwrap();
    let n = held.read(&mut answer).unwrap();
    assert_eq!(&answer[..n], "Message reçu via TCP".as_bytes());
    let udp = server.udp_port().to_string();
    let out = client(
        "mixed_client",
        &[
            "--serveur",
            "127.0.0.1",
            "--port-udp",
            &udp,
            "--protocole",
            "udp",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Réponse du serveur : Message reçu via UDP\n"
    );
    assert!(server.server.interrupt().success());
}

/// A Python program of the sheet, started with `python3 -u` (unbuffered, so
/// its lines come as printed).
fn python(code: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", code]);
    cmd
}

fn have_python() -> bool {
    if e2e::have_program("python3") {
        return true;
    }
    common::unavailable("python3 absent");
    false
}

/// A sheet server in Python, its stdout read until `ready` is printed.
struct PythonServer {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl PythonServer {
    fn start(code: &str, ready: &str) -> PythonServer {
        let mut child = python(code)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), ready);
        PythonServer { child, out }
    }

    fn lines(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let mut line = String::new();
                self.out.read_line(&mut line).unwrap();
                line.trim_end_matches('\n').to_string()
            })
            .collect()
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_sheet_s_tcp_programs_and_ours_are_interchangeable() {
    if !have_python() {
        return;
    }
    // The sheet's client against our server: the sheet's own output.
    let ours = Running::start("tcp_server", &["--port", "0"]);
    let client_py = sheet_program("client.py", &[(12345, ours.port())]);
    let out = run(&mut python(&client_py), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), TCP_CLIENT_OUT);
    let our_lines = without_ports(&ours.lines(5));

    // Our client against the sheet's server: both sides print the same
    // lines as with our server.
    let port = free_port();
    let mut theirs = PythonServer::start(
        &sheet_program("server.py", &[(12345, port)]),
        "Serveur en attente de connexions...",
    );
    let out = client(
        "tcp_client",
        &["--serveur", "localhost", "--port", &port.to_string()],
        "",
    );
    assert_eq!(text(&out.stdout), TCP_CLIENT_OUT);
    let mut their_lines = vec!["Serveur en attente de connexions...".to_string()];
    their_lines.extend(theirs.lines(4));
    assert_eq!(without_ports(&their_lines), our_lines);
}

#[test]
fn the_sheet_s_udp_programs_and_ours_are_interchangeable() {
    if !have_python() {
        return;
    }
    let ours = Running::start("udp_server", &["--port", "0"]);
    let out = run(
        &mut python(&sheet_program("udp_client.py", &[(12345, ours.port())])),
        "",
    );
    assert_eq!(text(&out.stdout), "Réponse du serveur : Message reçu\n");
    let our_lines = without_ports(&ours.lines(2));

    let port = free_port();
    let mut theirs = PythonServer::start(
        &sheet_program("udp_server.py", &[(12345, port)]),
        "Serveur UDP en attente de messages...",
    );
    let out = client(
        "udp_client",
        &[
            "--serveur",
            "localhost",
            "--port",
            &port.to_string(),
            "--message",
            "Bonjour serveur UDP",
        ],
        "",
    );
    assert_eq!(text(&out.stdout), "Réponse du serveur : Message reçu\n");
    let mut their_lines = vec!["Serveur UDP en attente de messages...".to_string()];
    their_lines.extend(theirs.lines(1));
    assert_eq!(without_ports(&their_lines), our_lines);
}

#[test]
fn the_sheet_s_mixed_programs_and_ours_are_interchangeable() {
    if !have_python() {
        return;
    }
    let ours = Running::start("mixed_server", &["--port", "0", "--port-udp", "0"]);
    let ports = [(12345, ours.port()), (12346, ours.udp_port())];
    let client_py = sheet_program("mixed_client.py", &ports);
    for (answer, expected) in [("TCP\n", "via TCP"), (" udp \n", "via UDP")] {
        let out = run(&mut python(&client_py), answer);
        assert_eq!(
            text(&out.stdout),
            format!("Choisissez le protocole (TCP/UDP) : Réponse du serveur : Message reçu {expected}\n")
        );
    }
    let out = run(&mut python(&client_py), "x\n");
    assert_eq!(
        text(&out.stdout),
        "Choisissez le protocole (TCP/UDP) : Protocole non valide.\n"
    );
    let our_lines = without_ports(&ours.lines(6));

    // The sheet's server reads UDP only after a TCP client has left: so the
    // TCP exchange first, then UDP (see exercises.md).
    let (tcp, udp) = (free_port(), free_port());
    let mut theirs = PythonServer::start(
        &sheet_program("mixed_server.py", &[(12345, tcp), (12346, udp)]),
        "Serveur en attente de connexions...",
    );
    let (tcp, udp) = (tcp.to_string(), udp.to_string());
    let ports = ["--serveur", "localhost", "--port", &tcp, "--port-udp", &udp];
    for (answer, expected) in [("tcp\n", "via TCP"), ("udp\n", "via UDP")] {
        let out = client("mixed_client", &ports, answer);
        assert_eq!(
            text(&out.stdout),
            format!("Choisissez le protocole (TCP/UDP) : Réponse du serveur : Message reçu {expected}\n")
        );
    }
    let mut their_lines = vec!["Serveur en attente de connexions...".to_string()];
    their_lines.extend(theirs.lines(5));
    assert_eq!(without_ports(&their_lines), our_lines);
}

#[test]
fn the_sheet_s_mixed_server_ignores_udp_until_a_tcp_client_came_and_left() {
    if !have_python() {
        return;
    }
    let (tcp, udp) = (free_port(), free_port());
    let mut theirs = PythonServer::start(
        &sheet_program("mixed_server.py", &[(12345, tcp), (12346, udp)]),
        "Serveur en attente de connexions...",
    );
    // Blocked in accept(): the datagram waits, unanswered, 3 s.
    let out = client(
        "mixed_client",
        &[
            "--serveur",
            "127.0.0.1",
            "--port-udp",
            &udp.to_string(),
            "--protocole",
            "udp",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("pas de réponse du serveur en 3 s"));
    // After one TCP client, that queued datagram is read.
    let out = client(
        "mixed_client",
        &[
            "--serveur",
            "127.0.0.1",
            "--port",
            &tcp.to_string(),
            "--protocole",
            "tcp",
        ],
        "",
    );
    assert!(out.status.success());
    let lines = theirs.lines(5);
    assert_eq!(lines[4], "Reçu via UDP : Bonjour serveur UDP", "{lines:?}");
}
