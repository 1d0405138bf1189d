//! The clients' side: the sheet's protocol choice (`mixed_client.py`) and
//! a TLS connection that verifies the server (5.1).

use std::io;
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::ServerName;
use server_kit::cli::BoxError;
use server_kit::stream::{tls_error, Stream};
use server_kit::tls::{client_config, describe_tls_error};

pub const PROMPT: &str = "Choisissez le protocole (TCP/UDP) : ";
pub const INVALID: &str = "Protocole non valide.";
pub const ANSWER_PREFIX: &str = "Réponse du serveur :";
pub const CLOSED: &str = "Connexion fermée.";
pub const TCP_MESSAGE: &str = "Bonjour serveur TCP";
pub const UDP_MESSAGE: &str = "Bonjour serveur UDP";
/// How long a TCP client waits to connect, for its answer, or a handshake.
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

/// The sheet's `input(...).strip().lower()` then `== 'tcp'` / `== 'udp'`.
pub fn choose_protocol(answer: &str) -> Option<Protocol> {
    match answer.trim().to_lowercase().as_str() {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        _ => None,
    }
}

/// Connects to `host:port`, in clear or, with `ca`, under TLS with the
/// server's certificate checked against that authority and `host`.
pub fn connect(host: &str, port: u16, ca: Option<&Path>) -> Result<Stream, BoxError> {
    let tcp = crate::tcp::connect(host, port, TIMEOUT).map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                "connexion refusée (aucun serveur sur ce port ?)".into()
            }
            io::ErrorKind::TimedOut => "pas de réponse (machine injoignable ?)".into(),
            _ => e.to_string(),
        };
        format!("connexion à {host} port {port} impossible : {why}")
    })?;
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    let Some(ca) = ca else {
        return Ok(Stream::plain(tcp));
    };
    let config = client_config(ca)?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("nom de serveur invalide pour TLS : {host}"))?;
    Stream::connect_tls(tcp, config, name, TIMEOUT).map_err(|e| describe_handshake(&e).into())
}

/// A failed client handshake, in words that say what to fix.
pub fn describe_handshake(err: &io::Error) -> String {
    if let Some(tls) = tls_error(err) {
        return describe_tls_error(tls);
    }
    match err.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => {
            "le serveur a fermé la connexion pendant la négociation TLS (parle-t-il TLS ?)".into()
        }
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "pas de réponse à la négociation TLS en {} s (le serveur parle-t-il TLS ?)",
            TIMEOUT.as_secs()
        ),
        _ => format!("négociation TLS : {err}"),
    }
}
