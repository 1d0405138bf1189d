//! RES 302 TP 2 (`relay_server`, `relay_client`) as users run them: the
//! binaries' exact output, Ctrl-C (exit 0, and the clients told), and a
//! student's Python client written from the sheet (2.3: it compares what
//! the server sent with '1') on either side of our relay.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use e2e::{binary, have_program, Server};

const ROLE_1: &str = "Je suis le client 1 : j'envoie les messages.\n";
const ROLE_2: &str = "Je suis le client 2 : j'affiche les messages reçus.\n";
const END_TCP: &str = "Connexion fermée par le serveur : fin de la conversation.\n";
const END_UDP: &str = "Le serveur a mis fin à la conversation.\n";

/// Exercise 2.3 as a student writes it from the sheet: connect, read what
/// the server sends first, compare it with '1'; the sender sends each line
/// typed (with its "\n": TCP keeps no boundaries, the sheet warns), the
/// receiver prints what it receives until the server closes.
const STUDENT_CLIENT: &str = r#"
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((sys.argv[1], int(sys.argv[2])))
role = s.recv(1024).decode()
if role == '1':
    while True:
        try:
            message = input()
        except EOFError:
            break
        s.sendall((message + "\n").encode())
else:
    while True:
        data = s.recv(1024)
        if not data:
            break
        print(data.decode(), end='')
s.close()
"#;

fn client(args: &[&str], port: u16) -> Command {
    let mut cmd = Command::new(binary("relay_client"));
    cmd.args(args).args(["--port", &port.to_string()]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn student(port: u16) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", STUDENT_CLIENT, "127.0.0.1", &port.to_string()]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits until the server's stderr has a line containing `text`.
fn wait_log(server: &Server, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.stderr().iter().any(|l| l.contains(text)) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in {:#?}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a process's end (at most 30 s): its exit status and stdout.
fn finish(mut child: Child) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("client still running after 30 s");
        }
        thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn type_lines(stdin: Option<ChildStdin>, text: &str) {
    let mut stdin = stdin.unwrap();
    stdin.write_all(text.as_bytes()).unwrap();
    // Dropped: end of input.
}

/// Ctrl-C for a client process: SIGINT, then its exit status.
fn interrupt(mut child: Child) -> std::process::ExitStatus {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s of SIGINT");
        thread::sleep(Duration::from_millis(10));
    }
}

fn skip_without_python(test: &str) -> bool {
    if have_program("python3") {
        return false;
    }
    assert!(
        std::env::var_os("E2E_STRICT").is_none(),
        "{test}: python3 is missing (E2E_STRICT)"
    );
    e2e::skip(&format!("SKIP {test}: python3 is not installed"));
    true
}

#[test]
fn a_students_sender_relays_to_our_auto_client() {
    if skip_without_python("a_students_sender_relays_to_our_auto_client") {
        return;
    }
    let server = Server::start("relay_server", &["relais", "--roles", "--port", "0"], 1);
    let port = server.addr().port();
    let mut python = student(port).spawn().unwrap();
    wait_log(&server, "client 1 connecté");
    let ours = client(&["auto"], port).spawn().unwrap();
    wait_log(&server, "client 2 connecté");
    type_lines(python.stdin.take(), "bonjour\nau revoir\n");
    let (ok, _) = finish(python);
    assert!(ok);
    assert_eq!(
        finish(ours),
        (true, format!("{ROLE_2}bonjour\nau revoir\n{END_TCP}"))
    );
    assert!(server.interrupt().success());
}

#[test]
fn our_auto_client_relays_to_a_students_receiver() {
    if skip_without_python("our_auto_client_relays_to_a_students_receiver") {
        return;
    }
    let server = Server::start("relay_server", &["relais", "--roles", "--port", "0"], 1);
    let port = server.addr().port();
    let mut ours = client(&["auto"], port).spawn().unwrap();
    wait_log(&server, "client 1 connecté");
    let python = student(port).spawn().unwrap();
    wait_log(&server, "client 2 connecté");
    type_lines(ours.stdin.take(), "bonjour\nau revoir\n");
    assert_eq!(finish(ours), (true, ROLE_1.to_string()));
    assert_eq!(finish(python), (true, "bonjour\nau revoir\n".to_string()));
    // Two students' clients, the next pair.
    let mut first = student(port).spawn().unwrap();
    wait_log(&server, "en attente de la paire suivante");
    let mut seen = server.stderr().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.stderr()[seen..]
        .iter()
        .any(|l| l.contains("client 1 connecté"))
    {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(10));
    }
    seen = server.stderr().len();
    let second = student(port).spawn().unwrap();
    while !server.stderr()[seen..]
        .iter()
        .any(|l| l.contains("client 2 connecté"))
    {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(10));
    }
    type_lines(first.stdin.take(), "entre étudiants\n");
    assert!(finish(first).0);
    assert_eq!(finish(second), (true, "entre étudiants\n".to_string()));
    assert!(server.interrupt().success());
}

/// `relay_server relais` on `bind` with our `emetteur` then `recepteur`
/// connected, in that order (TCP, or UDP with `udp`).
fn pair(udp: bool, bind: &str) -> (Server, Child, Child) {
    let transport: &[&str] = if udp { &["--udp"] } else { &[] };
    let args = [&["relais", "--bind", bind, "--port", "0"][..], transport].concat();
    let server = Server::start("relay_server", &args, 1);
    let port = server.addr().port();
    let role = |name| [&[name, "--serveur", bind][..], transport].concat();
    let sender = client(&role("emetteur"), port).spawn().unwrap();
    let first = if udp {
        "client 1 enregistré"
    } else {
        "client 1 connecté"
    };
    wait_log(&server, first);
    let receiver = client(&role("recepteur"), port).spawn().unwrap();
    let second = if udp {
        "client 2 enregistré"
    } else {
        "relais de"
    };
    wait_log(&server, second);
    (server, sender, receiver)
}

#[test]
fn ctrl_c_during_a_pair_exits_0_and_both_clients_are_told() {
    for (udp, bind) in [
        (false, "127.0.0.1"),
        (false, "::1"),
        (true, "127.0.0.1"),
        (true, "::1"),
    ] {
        let end = if udp { END_UDP } else { END_TCP };
        let (server, mut sender, mut receiver) = pair(udp, bind);
        let mut stdin = sender.stdin.take().unwrap();
        stdin.write_all(b"Hello\n").unwrap();
        // Wait for the line to come out of the receiver before Ctrl-C.
        let mut out = BufReader::new(receiver.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "Hello\n");
        assert!(server.interrupt().success());
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, end, "udp {udp}, {bind}");
        assert!(receiver.wait().unwrap().success());
        let (ok, text) = finish(sender);
        assert!(ok, "{text}");
        assert!(text.starts_with(end), "{text}");
        drop(stdin);
    }
}

#[test]
fn a_udp_receivers_ctrl_c_ends_its_pair_and_exits_0() {
    let server = Server::start("relay_server", &["relais", "--udp", "--port", "0"], 1);
    let port = server.addr().port();
    let mut sender = client(&["emetteur", "--udp"], port).spawn().unwrap();
    wait_log(&server, "client 1 enregistré");
    let receiver = client(&["recepteur", "--udp"], port).spawn().unwrap();
    wait_log(&server, "client 2 enregistré");
    let stdin = sender.stdin.take();
    let status = interrupt(receiver);
    assert!(status.success(), "{status:?}");
    wait_log(&server, "le client 2 est parti");
    let (ok, text) = finish(sender);
    assert!(ok, "{text}");
    assert!(text.starts_with(END_UDP), "{text}");
    drop(stdin);
    assert!(server.interrupt().success());
}

#[test]
fn un_client_prints_the_lines_and_ctrl_c_exits_0() {
    for (udp, bind) in [(false, "127.0.0.1"), (true, "::1")] {
        let mut args = vec!["un-client", "--bind", bind, "--port", "0"];
        let mut client_args = vec!["envoyer", "--serveur", bind];
        if udp {
            args.push("--udp");
            client_args.push("--udp");
        }
        let mut cmd = Command::new(binary("relay_server"));
        cmd.args(&args).stdout(Stdio::piped());
        let mut server = Server::start_with(cmd, "relay_server", 1);
        let port = server.addr().port();
        let mut sender = client(&client_args, port).spawn().unwrap();
        type_lines(sender.stdin.take(), "Hello\nbonjour le serveur\n");
        assert!(finish(sender).0);
        let mut out = BufReader::new(server.child_mut().stdout.take().unwrap());
        let mut lines = String::new();
        for _ in 0..2 {
            out.read_line(&mut lines).unwrap();
        }
        assert_eq!(lines, "Hello\nbonjour le serveur\n", "udp: {udp}");
        // Ctrl-C with a client connected (TCP) or not (UDP).
        let _idle = std::net::TcpStream::connect(server.addr());
        assert!(server.interrupt().success(), "udp: {udp}");
    }
}

#[test]
fn roles_need_tcp() {
    let out = Command::new(binary("relay_server"))
        .args(["relais", "--udp", "--roles"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_late_client_is_told_the_server_is_busy_and_exits_1() {
    const BUSY: &str = "relay_client: Serveur occupé : une paire de clients est déjà en cours, \
                        réessayez quand elle sera finie.\n";
    for udp in [false, true] {
        let (server, mut sender, mut receiver) = pair(udp, "127.0.0.1");
        let port = server.addr().port();
        let transport: &[&str] = if udp { &["--udp"] } else { &[] };
        let late = client(&[&["recepteur"][..], transport].concat(), port)
            .spawn()
            .unwrap();
        assert_eq!(finish(late), (false, BUSY.to_string()), "udp {udp}");
        // The pair was not disturbed.
        let mut stdin = sender.stdin.take().unwrap();
        stdin.write_all(b"toujours la\n").unwrap();
        let mut out = BufReader::new(receiver.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "toujours la\n", "udp {udp}");
        drop(stdin);
        assert!(finish(sender).0);
        assert!(receiver.wait().unwrap().success());
        assert!(server.interrupt().success());
    }
}
