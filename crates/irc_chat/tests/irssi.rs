//! A real IRC client, irssi (driven in tmux), and a client of the project's
//! protocol in the same channel. Skipped (and said so) without irssi or
//! tmux, except under `E2E_STRICT=1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use irc_chat::server::{Config, Server};
use irc_chat::texts::{CHOOSE_NICK, CONNECTED};
use server_kit::{PortChoice, Shutdown};

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills the tmux session at the end of the test, even on failure.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

fn expect(reader: &mut BufReader<TcpStream>, text: &str) {
    let mut got = vec![0u8; text.len()];
    reader.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), text);
}

#[test]
fn irssi_and_a_project_client_see_each_other() {
    if !(have("irssi") && have("tmux")) {
        assert!(
            std::env::var("E2E_STRICT").as_deref() != Ok("1"),
            "irssi et tmux sont requis (E2E_STRICT=1)"
        );
        eprintln!("test sauté : irssi ou tmux absent (apt-get install irssi tmux)");
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
    let name = format!("irc_chat_irssi_{}", std::process::id());
    let session = Session(name.clone());
    let command = format!(
        "irssi --home={} --connect=127.0.0.1 --port={port} --nick=irene",
        home.path().display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "160",
        "-y",
        "40",
        &command,
    ]);
    let type_line = |text: &str| {
        tmux(&["send-keys", "-t", &name, "-l", text]);
        tmux(&["send-keys", "-t", &name, "Enter"]);
    };
    // irssi registers (CAP, NICK, USER); then it joins.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tmux(&["capture-pane", "-p", "-t", &name]).contains("Bienvenue") {
        assert!(Instant::now() < deadline, "irssi ne s'est pas enregistré");
        thread::sleep(Duration::from_millis(100));
    }
    type_line("/join #salon");
    expect(&mut from_server, "irene a rejoint la chaîne salon\n");
    type_line("bonjour paul");
    expect(&mut from_server, "irene: bonjour paul\n");
    paul.write_all(b"messagesalut irene\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tmux(&["capture-pane", "-p", "-t", &name]).contains("salut irene") {
        assert!(
            Instant::now() < deadline,
            "irssi n'a pas affiché le message"
        );
        thread::sleep(Duration::from_millis(100));
    }
    let screen = tmux(&["capture-pane", "-p", "-t", &name]);
    assert!(screen.contains("paul"), "{screen}");
    type_line("/part");
    let mut line = String::new();
    from_server.read_line(&mut line).unwrap();
    assert_eq!(line, "irene est parti\n");
    type_line("/quit");
    drop(session);
    shutdown.trigger();
    serving.join().unwrap();
}
