//! The bare thread-per-connection loop: the floor of `tcp_server`'s design
//! for `scripts/bench_sockets.sh`. Accept, one thread per client,
//! `recv(1024)`, answer `Message reçu`; no log, no cap, no timeouts.
//!
//! `cargo run --release -p mixed_server --example echo_nu -- [PORT]`

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    eprintln!("echo_nu: en écoute sur {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let mut stream = stream?;
        thread::spawn(move || {
            let mut data = [0u8; 1024];
            while let Ok(n) = stream.read(&mut data) {
                if n == 0 || stream.write_all("Message reçu".as_bytes()).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}
