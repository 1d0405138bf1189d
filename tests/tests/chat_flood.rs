//! Lab 18: one member floods `serveur_chat` as fast as it can beside a
//! normal member and listeners; every normal message must reach every
//! listener, and the flooder is told (once per burst). In its own test
//! binary: cargo runs test binaries one at a time, so no sibling test
//! competes with the server for the CPU (on a busy 2-core machine, a server
//! starved of CPU loses datagrams from everyone once its receive buffer is
//! full: see CONCEPTION.md).

mod chat_common;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat_common::{member, recv_text, start_chat_server};

/// One member floods 1,400-byte messages as fast as it can, beside
/// `MEMBERS` members; one normal member sends `SENT` messages at 50/s. Every
/// one of them must reach every other member, and the flooder is told.
#[test]
fn a_flooder_does_not_starve_the_others() {
    const MEMBERS: usize = 8;
    const SENT: usize = 100;
    let (server, _out) = start_chat_server(&["--port", "0"]);
    let addr = server.addr();
    let flooder = member(addr, "flood");
    let normal = member(addr, "normal");
    let readers: Vec<UdpSocket> = (0..MEMBERS)
        .map(|i| member(addr, &format!("m{i}")))
        .collect();
    for r in &readers {
        // Room for the flooder's burst next to the normal messages.
        let _ = nix::sys::socket::setsockopt(r, nix::sys::socket::sockopt::RcvBuf, &(4 << 20));
        r.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    // Drain the joins that followed each reader's own.
    for (i, r) in readers.iter().enumerate() {
        for _ in i + 1..MEMBERS {
            recv_text(r);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let (stop, flooder) = (Arc::clone(&stop), flooder.try_clone().unwrap());
        thread::spawn(move || {
            let mut payload = b"__message__:".to_vec();
            payload.resize(1400, b'f');
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if flooder.send_to(&payload, addr).is_ok() {
                    sent += 1;
                }
            }
            sent
        })
    };
    let start = Instant::now();
    for i in 0..SENT {
        let due = start + Duration::from_millis(20 * i as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        normal
            .send_to(format!("__message__:n{i}").as_bytes(), addr)
            .unwrap();
    }
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let flooded = flood.join().unwrap();
    for (i, r) in readers.iter().enumerate() {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Ok((n, _)) = r.recv_from(&mut buf) {
            if let Some(text) = buf[..n].strip_prefix(b"[normal] : ") {
                got.push(String::from_utf8(text.to_vec()).unwrap());
            }
        }
        let expected: Vec<String> = (0..SENT).map(|i| format!("n{i}")).collect();
        assert_eq!(got, expected, "member m{i} (flooder sent {flooded})");
    }
    // The flooder was told it is over the limit.
    flooder
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut told = 0;
    let mut buf = vec![0u8; 2048];
    while let Ok((n, _)) = flooder.recv_from(&mut buf) {
        if String::from_utf8_lossy(&buf[..n]).contains("trop de messages") {
            told += 1;
        }
    }
    assert!(told >= 1, "the flooder was never told");
    assert!(
        (told as u64) < flooded / 10,
        "told {told} times for {flooded} messages: once per burst, not per message"
    );
}
