//! The sheet's example session of exercise 18, replayed with the real
//! `serveur_chat` and three real `client_chat` processes fed through their
//! stdin: `pr`, `as` and `hs` join, say `coucou`, `hello`, `hey`,
//! `je suis là !`, then leave. Every client's stdout and the server's are
//! compared, line by line, with what the protocol prescribes. Over IPv4 and
//! IPv6; plus the 18.1 variant and Ctrl-C.

mod chat_common;

use std::process::{Command, Stdio};

use chat_common::{assert_lines, start_chat_server, Client};
use e2e::binary;

fn join(name: &str) -> String {
    format!("\n***{name}*** vient de rentrer sur le chat !\n\n")
}

fn left(name: &str) -> String {
    format!("\n***{name}*** a quitté le chat.\n\n")
}

fn said(name: &str, text: &str) -> String {
    format!("[{name}] : {text}\n")
}

fn replay_the_sheets_session(bind: &str) {
    let (server, server_out) = start_chat_server(&["--bind", bind, "--port", "0"]);
    let addr = server.addr();

    // What each client must have printed so far, grown step by step; each
    // step waits until every client printed exactly that.
    let prompt = "Enter your name : ".to_string();
    let mut pr = Client::start(addr);
    let mut as_ = Client::start(addr);
    let mut hs = Client::start(addr);
    let (mut pr_out, mut as_out, mut hs_out) = (prompt.clone(), prompt.clone(), prompt.clone());
    for c in [&pr, &as_, &hs] {
        c.wait_for(&prompt);
    }

    pr.type_line("pr");
    pr_out += &join("pr");
    pr.wait_for(&pr_out);

    as_.type_line("as");
    pr_out += &join("as");
    as_out += &join("as");
    pr.wait_for(&pr_out);
    as_.wait_for(&as_out);

    as_.type_line("coucou");
    pr_out += &said("as", "coucou");
    pr.wait_for(&pr_out);

    pr.type_line("hello");
    as_out += &said("pr", "hello");
    as_.wait_for(&as_out);

    hs.type_line("hs");
    for out in [&mut pr_out, &mut as_out, &mut hs_out] {
        *out += &join("hs");
    }
    hs.type_line("hey");
    hs.type_line("je suis là !");
    for out in [&mut pr_out, &mut as_out] {
        *out += &said("hs", "hey");
        *out += &said("hs", "je suis là !");
    }
    for (c, out) in [(&pr, &pr_out), (&as_, &as_out), (&hs, &hs_out)] {
        c.wait_for(out);
    }

    // pr leaves: the others are told, pr gets `__quit__` (not printed) and
    // its client ends.
    pr.type_line("quit");
    assert!(pr.wait_exit().success());
    as_out += &left("pr");
    hs_out += &left("pr");
    as_.wait_for(&as_out);
    hs.wait_for(&hs_out);

    // as leaves by end of input, hs by typing quit.
    as_.close_stdin();
    assert!(as_.wait_exit().success());
    hs_out += &left("as");
    hs.wait_for(&hs_out);
    hs.type_line("quit");
    assert!(hs.wait_exit().success());

    for (c, out) in [(&pr, &pr_out), (&as_, &as_out), (&hs, &hs_out)] {
        assert_lines(&c.stdout(), out);
    }
    assert!(
        server.interrupt().success(),
        "serveur_chat must exit 0 on Ctrl-C"
    );
    let expected = [
        "recv_data : b'__new_name__:pr'",
        "recv_data : b'__new_name__:as'",
        "recv_data : b'__message__:coucou'",
        "recv_data : b'__message__:hello'",
        "recv_data : b'__new_name__:hs'",
        "recv_data : b'__message__:hey'",
        r"recv_data : b'__message__:je suis l\xc3\xa0 !'",
        "recv_data : b'__quit__'",
        "recv_data : b'__quit__'",
        "recv_data : b'__quit__'",
    ]
    .map(|l| format!("{l}\n"))
    .concat();
    assert_lines(&server_out.wait(), &expected);
}

#[test]
fn the_sheets_session_over_ipv4() {
    replay_the_sheets_session("127.0.0.1");
}

#[test]
fn the_sheets_session_over_ipv6() {
    replay_the_sheets_session("::1");
}

#[test]
fn bien_recu_version_of_18_1() {
    let (server, server_out) = start_chat_server(&["--port", "0", "--bien-recu"]);
    let port = server.addr().port().to_string();
    for (host, text) in [("127.0.0.1", "salut"), ("localhost", "it's me")] {
        let out = Command::new(binary("client_chat"))
            .args(["--serveur", host, "--port", &port, "--une-fois", text])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "Bien reçu !\n");
    }
    assert!(server.interrupt().success());
    assert_lines(
        &server_out.wait(),
        "recv_data : b'salut'\nrecv_data : b\"it's me\"\n",
    );
}

#[test]
fn client_ctrl_c_leaves_the_chat_and_exits_0() {
    let (server, _out) = start_chat_server(&["--port", "0"]);
    let mut pr = Client::start(server.addr());
    let mut as_ = Client::start(server.addr());
    pr.type_line("pr");
    pr.wait_for(&format!("Enter your name : {}", join("pr")));
    as_.type_line("as");
    as_.wait_for(&format!("Enter your name : {}", join("as")));
    pr.interrupt();
    assert!(
        pr.wait_exit().success(),
        "client_chat must exit 0 on Ctrl-C"
    );
    as_.wait_for(&format!("Enter your name : {}{}", join("as"), left("pr")));
    as_.close_stdin();
    assert!(as_.wait_exit().success());
    assert!(server.interrupt().success());
}

#[test]
fn client_ctrl_c_while_the_server_has_not_answered_yet_still_leaves() {
    // The test plays a slow server: Ctrl-C comes after the client sent its
    // name, before the answer. The server will list the client, so the
    // client must still say `__quit__` rather than vanish.
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(chat_common::STEP)).unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let mut pr = Client::start_args(&["--port", &port]);
    pr.type_line("pr");
    let mut buf = [0u8; 64];
    let (n, client) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"__new_name__:pr");
    pr.interrupt();
    // Let the signal land before the answer (the fixed client does not care
    // about the order; a client that exits at once would be gone by now).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let welcome = "\n***pr*** vient de rentrer sur le chat !\n";
    server.send_to(welcome.as_bytes(), client).unwrap();
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"__quit__"[..], client));
    server.send_to(b"__quit__", client).unwrap();
    assert!(pr.wait_exit().success(), "{}", pr.stderr());
}

#[test]
fn an_explicit_busy_port_is_one_clear_error() {
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = Command::new(binary("serveur_chat"))
        .args(["--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("serveur_chat: ") && err.contains("Adresse déjà utilisée"),
        "{err}"
    );
}
