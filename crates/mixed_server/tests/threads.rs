//! 5.2: one thread per client, the cap, the sheet's one-at-a-time version,
//! and Ctrl-C with clients connected.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{Running, WAIT};
use protocols::mixed_json::{reason, Answer, ServerLine};

fn ask(stream: &mut TcpStream, message: &str) -> String {
    stream.write_all(message.as_bytes()).unwrap();
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[test]
fn a_hundred_clients_are_served_at_the_same_time() {
    let server = Running::start("tcp_server", &["--port", "0"]);
    let addr = server.addr();
    // Every client gets its answer while all 100 are connected: with one
    // client at a time, the second would never be answered and the barrier
    // would never open (no timing involved).
    let all_answered = Arc::new(Barrier::new(100));
    let clients: Vec<_> = (0..100)
        .map(|i| {
            let all_answered = Arc::clone(&all_answered);
            thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(Some(WAIT)).unwrap();
                let first = ask(&mut stream, &format!("client {i}"));
                all_answered.wait();
                let second = ask(&mut stream, &format!("encore {i}"));
                (first, second)
            })
        })
        .collect();
    for c in clients {
        assert_eq!(
            c.join().unwrap(),
            ("Message reçu".into(), "Message reçu".into())
        );
    }
    let lines = server.lines(1 + 100 * 5);
    for i in 0..100 {
        assert!(lines.contains(&format!("Reçu : client {i}")));
        assert!(lines.contains(&format!("Reçu : encore {i}")));
    }
    assert_eq!(
        lines.iter().filter(|l| *l == "Connexion fermée.").count(),
        100
    );
}

#[test]
fn beyond_the_cap_a_client_gets_one_line_and_is_closed() {
    let server = Running::start(
        "mixed_server",
        &["--port", "0", "--port-udp", "0", "--clients-max", "2"],
    );
    let mut a = TcpStream::connect(server.addr()).unwrap();
    let mut b = TcpStream::connect(server.addr()).unwrap();
    a.set_read_timeout(Some(WAIT)).unwrap();
    b.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ask(&mut a, "a"), "Message reçu via TCP");
    assert_eq!(ask(&mut b, "b"), "Message reçu via TCP");
    let mut c = TcpStream::connect(server.addr()).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut refused = String::new();
    c.read_to_string(&mut refused).unwrap();
    assert_eq!(
        refused,
        "Serveur plein (2 clients au maximum), réessayez plus tard.\n"
    );
    // One leaves: a new client is served.
    drop(a);
    let served = common::wait_for(|| {
        let mut d = TcpStream::connect(server.addr()).ok()?;
        d.set_read_timeout(Some(WAIT)).ok()?;
        (ask(&mut d, "d") == "Message reçu via TCP").then_some(())
    });
    assert!(served.is_some());
}

/// What a client over the cap reads after sending `message` at once, as
/// the sheet's clients do: everything up to the server's end of stream. A
/// reset instead of that end (the server closing over the unread message)
/// is an error here, even when the line came first.
fn refused_after_speaking(server: SocketAddr, message: &[u8]) -> Result<String, ErrorKind> {
    let mut late = TcpStream::connect(server).unwrap();
    late.write_all(message).unwrap();
    late.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = String::new();
    late.read_to_string(&mut got).map_err(|e| e.kind())?;
    Ok(got)
}

/// Several clients over the cap at once, each speaking first.
fn refused_together(server: SocketAddr, message: &'static [u8]) -> Vec<Result<String, ErrorKind>> {
    let late: Vec<_> = (0..8)
        .map(|_| thread::spawn(move || refused_after_speaking(server, message)))
        .collect();
    late.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn over_the_cap_a_client_that_spoke_first_still_reads_the_whole_line() {
    let server = Running::start(
        "mixed_server",
        &["--port", "0", "--port-udp", "0", "--clients-max", "1"],
    );
    let mut served = TcpStream::connect(server.addr()).unwrap();
    served.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ask(&mut served, "a"), "Message reçu via TCP");
    let line = "Serveur plein (1 clients au maximum), réessayez plus tard.\n";
    for got in refused_together(server.addr(), b"Bonjour serveur TCP") {
        assert_eq!(got.as_deref(), Ok(line));
    }
    // The client served all along was not disturbed.
    assert_eq!(ask(&mut served, "b"), "Message reçu via TCP");
}

#[test]
fn over_the_cap_a_json_client_that_spoke_first_still_reads_the_whole_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::json_server_with(dir.path(), &["--clients-max", "1"]);
    // Accepted (and counted) before any later connection is.
    let _served = TcpStream::connect(server.addr()).unwrap();
    let mut full = ServerLine::from(Answer::error(reason::SERVER_FULL)).to_line();
    full.push(b'\n');
    let full = String::from_utf8(full).unwrap();
    for got in refused_together(
        server.addr(),
        b"{\"commande\":\"LOGIN\",\"utilisateur\":\"alice\",\"mot_de_passe\":\"secret\"}\n",
    ) {
        assert_eq!(got.as_ref(), Ok(&full));
    }
}

#[test]
fn one_at_a_time_keeps_the_next_client_waiting() {
    let server = Running::start("tcp_server", &["--port", "0", "--un-a-la-fois"]);
    let mut first = TcpStream::connect(server.addr()).unwrap();
    first.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ask(&mut first, "1"), "Message reçu");
    let mut second = TcpStream::connect(server.addr()).unwrap();
    second.write_all(b"2").unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(second.read(&mut [0u8; 16]).is_err(), "served too early");
    drop(first);
    second.set_read_timeout(Some(WAIT)).unwrap();
    let mut answer = [0u8; 16];
    let n = second.read(&mut answer).unwrap();
    assert_eq!(&answer[..n], "Message reçu".as_bytes());
}

#[test]
fn ctrl_c_closes_connected_clients_and_exits_0() {
    let server = Running::start("tcp_server", &["--port", "0"]);
    let mut idle: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    assert_eq!(ask(&mut idle[0], "x"), "Message reçu");
    common::wait_for(|| (server.stdout_now().len() >= 6).then_some(()));
    assert!(server.server.interrupt().success());
    for stream in &mut idle {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        assert_eq!(stream.read(&mut [0u8; 16]).unwrap_or(0), 0);
    }
}
