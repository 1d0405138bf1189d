//! `decodeur_trame live` (16.12) on the loopback interface. Capturing needs
//! root or CAP_NET_RAW: without it, the capture tests say they skip, and the
//! refusal itself is tested instead.

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::{geteuid, Pid};

fn is_root() -> bool {
    geteuid().is_root()
}

/// Starts a capture and waits for its ready line on stderr.
fn start_live(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("live")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start decodeur_trame live");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut ready = String::new();
    stderr.read_line(&mut ready).unwrap();
    assert!(
        ready.starts_with("decodeur_trame: capture sur lo"),
        "{ready}"
    );
    // Lines of stdout, as they come.
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// A UDP datagram on loopback, from `sender` to `receiver`, with a marker
/// unique to this test (process, sender's port) and its sequence number.
fn send_marked(sender: &UdpSocket, receiver: &UdpSocket, seq: u32) -> String {
    let port = sender.local_addr().unwrap().port();
    let marker = format!("decodeur-trame-test-{}-{port}-{seq}", std::process::id());
    sender
        .send_to(marker.as_bytes(), receiver.local_addr().unwrap())
        .unwrap();
    marker
}

#[test]
fn captures_a_udp_datagram_on_loopback_until_ctrl_c() {
    if !is_root() {
        e2e::skip(
            "SKIP captures_a_udp_datagram_on_loopback_until_ctrl_c: needs root or CAP_NET_RAW",
        );
        return;
    }
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (child, rx) = start_live(&["--interface", "lo"]);

    // A new datagram every 100 ms until one shows up (frames can be
    // dropped when other tests flood the loopback interface).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut lines = Vec::new();
    let mut markers = Vec::new();
    let mut seen = None;
    let mut next_send = Instant::now();
    while seen.is_none() && Instant::now() < deadline {
        if Instant::now() >= next_send {
            markers.push(send_marked(&sender, &receiver, markers.len() as u32));
            next_send += Duration::from_millis(100);
        }
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(20)) {
            if let Some(m) = markers.iter().find(|m| line.contains(&format!("b'{m}'"))) {
                seen = Some(m.clone());
            }
            lines.push(line);
        }
    }
    let marker = seen.expect("our datagram never showed up in the capture");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "Ctrl-C ends the capture cleanly"
    );
    lines.extend(rx.try_iter());

    let output = lines.join("\n") + "\n";
    // The whole frame holding the marker.
    let at = output.find(&format!("b'{marker}'")).unwrap();
    let start = output[..at].rfind("=== Trame ").unwrap();
    let end = at
        + output[at..]
            .find("\n\n")
            .map_or(output.len() - at, |i| i + 1);
    let f = fields(&output[start..end]);
    let port = |s: &UdpSocket| s.local_addr().unwrap().port().to_string();
    assert_eq!(f["Ethernet/Adresse MAC Source"], "00:00:00:00:00:00");
    assert_eq!(f["Ethernet/Protocol"], "2048");
    assert_eq!(f["IP/Adresse source"], "127.0.0.1");
    assert_eq!(f["IP/Adresse dest."], "127.0.0.1");
    assert_eq!(f["IP/Protocole"], "17");
    assert_eq!(f["UDP/Port source"], port(&sender));
    assert_eq!(f["UDP/Port destination"], port(&receiver));
    assert_eq!(f["UDP/Longueur totale"], (8 + marker.len()).to_string());
    // Loopback shows each frame once (leaving and arriving would be twice).
    for m in &markers {
        assert!(
            output.matches(&format!("b'{m}'")).count() <= 1,
            "{m} seen twice"
        );
    }
}

#[test]
fn stops_after_the_requested_number_of_frames() {
    if !is_root() {
        e2e::skip("SKIP stops_after_the_requested_number_of_frames: needs root or CAP_NET_RAW");
        return;
    }
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut child, rx) = start_live(&["--interface", "lo", "--nombre", "3"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seq = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "live --nombre 3 did not stop");
        send_marked(&sender, &receiver, seq);
        seq += 1;
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let output = rx.iter().collect::<Vec<_>>().join("\n") + "\n";
    let frames = split_frames(&output);
    assert_eq!(frames.len(), 3, "{output}");
    for (i, (header, _)) in frames.iter().enumerate() {
        assert!(
            header.starts_with(&format!("=== Trame {} : ", i + 1)),
            "{header}"
        );
    }
}

/// Without the privilege: one clear line, exit code 1. As root, the test
/// drops it with `setpriv` to check the message.
#[test]
fn without_privilege_one_clear_line() {
    let mut cmd = if is_root() {
        if Command::new("setpriv").arg("--version").output().is_err() {
            e2e::skip(
                "SKIP without_privilege_one_clear_line: root and no setpriv to drop privileges",
            );
            return;
        }
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            BIN,
        ]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .args(["live", "--interface", "lo", "--nombre", "1"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    if out.status.success() {
        e2e::skip("SKIP without_privilege_one_clear_line: this user may capture (CAP_NET_RAW)");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("decodeur_trame: capture impossible : il faut être root ou avoir la capacité CAP_NET_RAW"),
        "{err}"
    );
}

#[test]
fn unknown_interface_is_named() {
    let out = Command::new(BIN)
        .args(["live", "--interface", "nexistepas0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "decodeur_trame: interface \"nexistepas0\" inconnue (voir `ip link`)\n"
    );
}
