//! The sheet's TCP server loop (2.1, and the TCP half of 4.1) and its client
//! (2.2), over a [`Stream`] so the same code serves in clear and under TLS.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use server_kit::accept::{self, Limits};
use server_kit::refusal::Refusals;
use server_kit::stream::{tls_error, Stream, TLS_HANDSHAKE_RECORD};
use server_kit::tls::describe_tls_error;
use server_kit::Shutdown;

use crate::log::{Event, Log, Payload};

/// The sheet's `recv(1024)`: one `Reçu :` line per chunk, as in Python.
pub const RECV_SIZE: usize = 1024;
/// A client silent this long is closed (the thread is freed).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest wait for a client to take an answer, or to finish a handshake.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The lines and the answer of one of the sheet's TCP servers.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub connected: &'static str,
    pub received: &'static str,
    pub answer: &'static [u8],
    pub closed: &'static str,
}

/// `server.py` (2.1).
pub const TCP_SERVER: Texts = Texts {
    connected: "Connexion établie avec :",
    received: "Reçu :",
    answer: "Message reçu".as_bytes(),
    closed: "Connexion fermée.",
};

/// The TCP half of `mixed_server.py` (4.1).
pub const MIXED_SERVER: Texts = Texts {
    connected: "Connexion TCP établie avec :",
    received: "Reçu via TCP :",
    answer: "Message reçu via TCP".as_bytes(),
    closed: "Connexion TCP fermée.",
};

pub const WAITING: &str = "Serveur en attente de connexions...";
pub const DISCONNECTED: &str = "Client déconnecté.";

/// What a client over the cap reads before the server closes.
pub fn full_message(max: usize) -> String {
    format!("Serveur plein ({max} clients au maximum), réessayez plus tard.\n")
}

/// What a client in clear reads on a TLS port.
pub const TLS_EXPECTED: &[u8] =
    "Erreur : ce port attend une connexion TLS (client en clair ?)\n".as_bytes();

/// Turns a client over the cap away: one explanation (`message`), then the
/// close, without ever holding up the accept thread (server_kit's polite
/// refusal: the line arrives even if the client already sent its message).
///
/// Under `--tls` the line goes out in clear, before any handshake, as it
/// always did: a TLS client reports a protocol error rather than a hang.
pub fn refuse(
    stream: TcpStream,
    peer: SocketAddr,
    max: usize,
    message: &[u8],
    refusals: &Refusals,
    log: &Log,
) {
    log.log(Event::Diag(format!(
        "{peer} refusé : {max} clients déjà servis"
    )));
    if let Some(problem) = refusals.refuse(stream, message).problem() {
        log.log(Event::Diag(format!("{peer} : {problem}")));
    }
}

/// The sheet's inner loop: `recv(1024)` until the client leaves, printing
/// each chunk and answering it.
pub fn serve_client(conn: &mut (impl Read + Write), texts: &Texts, log: &Log) -> io::Result<()> {
    let mut data = [0u8; RECV_SIZE];
    loop {
        let n = conn.read(&mut data)?;
        if n == 0 {
            log.log(Event::Text(DISCONNECTED));
            return Ok(());
        }
        log.log(Event::Received {
            label: texts.received,
            data: Payload::new(&data[..n]),
            from: None,
        });
        conn.write_all(texts.answer)?;
    }
}

/// How the TCP side serves.
#[derive(Debug, Clone)]
pub struct TcpOptions {
    pub texts: Texts,
    pub limits: Limits,
    /// Serve TLS on this port.
    pub tls: Option<Arc<ServerConfig>>,
}

/// Accepts and serves until `shutdown` (one thread per client, capped).
pub fn serve(
    listener: &std::net::TcpListener,
    options: TcpOptions,
    log: &Log,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let max = options.limits.max_clients;
    let refuse_log = log.clone();
    let refusals = Refusals::default();
    let full = full_message(max);
    let log = log.clone();
    accept::serve(
        listener,
        shutdown,
        options.limits,
        move |stream, peer| refuse(stream, peer, max, full.as_bytes(), &refusals, &refuse_log),
        move |tcp, peer| {
            log.log(Event::Peer(options.texts.connected, peer));
            if let Err(e) = session(tcp, &options, &log) {
                log.log(Event::Diag(format!("{peer} : {e}")));
            }
            log.log(Event::Text(options.texts.closed));
        },
    )
}

fn session(tcp: TcpStream, options: &TcpOptions, log: &Log) -> io::Result<()> {
    let mut stream = match &options.tls {
        None => Stream::plain(tcp),
        Some(config) => match start_tls(tcp, config)? {
            Some(stream) => stream,
            None => return Ok(()),
        },
    };
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let result = serve_client(&mut stream, &options.texts, log);
    let _ = stream.shutdown();
    result
}

/// The server's side of TLS: a client in clear (its first byte is not a TLS
/// handshake record) is told so in clear and closed, instead of receiving a
/// binary alert it would print or wait on.
pub fn start_tls(mut tcp: TcpStream, config: &Arc<ServerConfig>) -> io::Result<Option<Stream>> {
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut first = [0u8; 1];
    if tcp.peek(&mut first)? == 0 {
        return Ok(None);
    }
    if first[0] != TLS_HANDSHAKE_RECORD {
        let _ = tcp.write_all(TLS_EXPECTED);
        let _ = tcp.shutdown(std::net::Shutdown::Both);
        return Err(io::Error::other("client en clair sur le port TLS"));
    }
    match Stream::accept_tls(tcp, Arc::clone(config), IO_TIMEOUT) {
        Ok(stream) => Ok(Some(stream)),
        Err(e) => Err(match tls_error(&e) {
            Some(tls) => io::Error::other(format!("négociation TLS : {}", describe_tls_error(tls))),
            None => io::Error::new(e.kind(), format!("négociation TLS : {e}")),
        }),
    }
}

/// Connects to `host:port`: IPv4 addresses first (as the sheet's `AF_INET`
/// clients), then the others.
pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let mut last = io::Error::new(io::ErrorKind::NotFound, "aucune adresse pour ce nom");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The sheet's client exchange: send the message, one `recv(1024)`.
pub fn exchange(conn: &mut (impl Read + Write), message: &[u8]) -> io::Result<Vec<u8>> {
    conn.write_all(message)?;
    let mut response = vec![0u8; RECV_SIZE];
    let n = conn.read(&mut response)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "le serveur a fermé la connexion sans répondre",
        ));
    }
    response.truncate(n);
    Ok(response)
}
