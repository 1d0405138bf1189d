//! The floor `serveur_chat` is measured against (`scripts/bench_chat.sh`): a
//! bare relay with one `recv_from` per datagram and one `send_to` per
//! delivery, same receive buffer, same recipients, but no protocol parsing,
//! no name map, no log. A new address is added to the list and its
//! datagram sent to everyone (as a join notice would be); `__quit__` removes
//! the sender and answers it; anything else goes, as is, to every other
//! client.
//!
//! `relais_nu [ADDR:PORT]`: prints `relais_nu: en écoute sur ADDR` on stderr.

use std::net::{SocketAddr, UdpSocket};

use nix::sys::socket::{setsockopt, sockopt};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let socket = UdpSocket::bind(addr)?;
    if setsockopt(&socket, sockopt::RcvBufForce, &(4 << 20)).is_err() {
        let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
    }
    eprintln!("relais_nu: en écoute sur {}", socket.local_addr()?);
    let mut clients: Vec<SocketAddr> = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let data = &buf[..n];
        match clients.iter().position(|c| *c == from) {
            None => {
                clients.push(from);
                for &to in &clients {
                    let _ = socket.send_to(data, to);
                }
            }
            Some(i) if data == b"__quit__" => {
                clients.remove(i);
                let _ = socket.send_to(data, from);
            }
            Some(_) => {
                for &to in &clients {
                    if to != from {
                        let _ = socket.send_to(data, to);
                    }
                }
            }
        }
    }
}
