//! A real IRC client, irssi (driven in tmux), and a client of the project's
//! protocol in the same channel. Skipped (and said so) without irssi or
//! tmux, except under `E2E_STRICT=1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use irc_chat::server::{Config, Server};
use irc_chat::texts::{CHOOSE_NICK, CONNECTED};
use server_kit::{PortChoice, Shutdown};
use test_support::tmux::Tmux;
use test_support::{have_program, skip};

fn expect(reader: &mut BufReader<TcpStream>, text: &str) {
    let mut got = vec![0u8; text.len()];
    reader.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), text);
}

#[test]
fn irssi_and_a_project_client_see_each_other() {
    if !(have_program("irssi") && have_program("tmux")) {
        skip("test sauté : irssi ou tmux absent (apt-get install irssi tmux)");
        return;
    }
    let config = Config {
        port: PortChoice::Exact(0),
        ..Config::default()
    };
    let server = Server::bind(config).unwrap();
    let port = server.local_addr().unwrap().port();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let serving = thread::spawn(move || server.serve(&stop).unwrap());

    let mut paul = TcpStream::connect(("127.0.0.1", port)).unwrap();
    paul.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut from_server = BufReader::new(paul.try_clone().unwrap());
    paul.write_all(b"messagepaul\nJOIN salon\n").unwrap();
    expect(
        &mut from_server,
        &format!("{CONNECTED}{CHOOSE_NICK}Bienvenue paul ! Tapez /HELP pour la liste des commandes\nVous avez créé la chaîne salon, vous en êtes l'administrateur\n"),
    );

    let home = tempfile::tempdir().unwrap();
    let home_arg = format!("--home={}", home.path().display());
    let port_arg = format!("--port={port}");
    let irssi = Tmux::start(
        "irc_chat_irssi",
        &[
            "irssi",
            &home_arg,
            "--connect=127.0.0.1",
            &port_arg,
            "--nick=irene",
        ],
    );
    // irssi registers (CAP, NICK, USER); then it joins.
    irssi.wait_for("Bienvenue", 1, Duration::from_secs(20));
    irssi.type_line("/join #salon");
    expect(&mut from_server, "irene a rejoint la chaîne salon\n");
    irssi.type_line("bonjour paul");
    expect(&mut from_server, "irene: bonjour paul\n");
    paul.write_all(b"messagesalut irene\n").unwrap();
    let screen = irssi.wait_for("salut irene", 1, Duration::from_secs(20));
    assert!(screen.contains("paul"), "{screen}");
    irssi.type_line("/part");
    let mut line = String::new();
    from_server.read_line(&mut line).unwrap();
    assert_eq!(line, "irene est parti\n");
    irssi.type_line("/quit");
    drop(irssi);
    shutdown.trigger();
    serving.join().unwrap();
}
