//! The sheet's UDP server loop (2.4, and the UDP half of 4.1) and its
//! client (2.5).

use std::io;
use std::net::UdpSocket;
use std::time::Duration;

use server_kit::Shutdown;

use crate::log::{Event, Log, Payload};

/// The sheet's `recvfrom(1024)`: a longer datagram is cut there, as in Python.
pub const RECV_SIZE: usize = 1024;
/// How long a client waits for the answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

pub const WAITING: &str = "Serveur UDP en attente de messages...";

/// The lines and answer of one of the sheet's UDP servers.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub received: &'static str,
    /// `udp_server.py` prints the sender (`de ('127.0.0.1', 54321)`),
    /// `mixed_server.py` does not.
    pub with_sender: bool,
    pub answer: &'static [u8],
}

pub const UDP_SERVER: Texts = Texts {
    received: "Reçu :",
    with_sender: true,
    answer: "Message reçu".as_bytes(),
};

pub const MIXED_SERVER: Texts = Texts {
    received: "Reçu via UDP :",
    with_sender: false,
    answer: "Message reçu via UDP".as_bytes(),
};

/// The sheet's loop: `recvfrom(1024)`, print, `sendto` the answer; until
/// `shutdown`.
pub fn serve(socket: &UdpSocket, texts: &Texts, log: &Log, shutdown: &Shutdown) -> io::Result<()> {
    shutdown.wake_udp_socket(socket)?;
    let mut data = [0u8; RECV_SIZE];
    loop {
        let (n, address) = match socket.recv_from(&mut data) {
            Ok(got) => got,
            Err(_) if shutdown.is_triggered() => return Ok(()),
            // An ICMP error for an earlier answer (ECONNREFUSED) concerns
            // that client only.
            Err(e) => {
                log.log(Event::Diag(format!("recvfrom : {e}")));
                continue;
            }
        };
        if shutdown.is_triggered() {
            return Ok(());
        }
        log.log(Event::Received {
            label: texts.received,
            data: Payload::new(&data[..n]),
            from: texts.with_sender.then_some(address),
        });
        if let Err(e) = socket.send_to(texts.answer, address) {
            log.log(Event::Diag(format!("réponse à {address} : {e}")));
        }
    }
}

/// Why a UDP client got no answer.
#[derive(Debug)]
pub enum NoAnswer {
    /// Nothing within the timeout.
    Timeout(Duration),
    /// The host said no socket listens on that port (ICMP port unreachable).
    Refused,
    Io(io::Error),
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoAnswer::Timeout(t) => write!(
                f,
                "pas de réponse du serveur en {} s (est-il lancé, sur ce port ?)",
                t.as_secs()
            ),
            NoAnswer::Refused => f.write_str("aucun serveur UDP sur ce port (port fermé)"),
            NoAnswer::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NoAnswer {}

/// The sheet's client exchange: one datagram out, one `recvfrom(1024)`.
pub fn exchange(
    host: &str,
    port: u16,
    message: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, NoAnswer> {
    let server = server_kit::peer::resolve(host, port).map_err(NoAnswer::Io)?;
    let socket = server_kit::peer::connect_udp(server).map_err(NoAnswer::Io)?;
    socket
        .set_read_timeout(Some(timeout))
        .map_err(NoAnswer::Io)?;
    socket.send(message).map_err(NoAnswer::Io)?;
    let mut response = vec![0u8; RECV_SIZE];
    match socket.recv(&mut response) {
        Ok(n) => {
            response.truncate(n);
            Ok(response)
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(NoAnswer::Timeout(timeout))
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Err(NoAnswer::Refused),
        Err(e) => Err(NoAnswer::Io(e)),
    }
}
