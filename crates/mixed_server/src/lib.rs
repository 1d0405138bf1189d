//! TP 04: the sheet's TCP and UDP programs, its mixed server and client,
//! then part 5 (threads, TLS, a JSON protocol).
//!
//! The sheet's flow, as this crate runs it:
//!
//! | sheet                              | here                                   |
//! |------------------------------------|----------------------------------------|
//! | 2.1 `server.py`: accept, `recv(1024)`, `sendall` | [`run_tcp_server`] -> [`tcp::serve_client`] |
//! | 2.2 `client.py`                    | [`tcp::exchange`] (`tcp_client`)        |
//! | 2.4 `udp_server.py`: `recvfrom`, `sendto` | [`run_udp_server`] -> [`udp::serve`] |
//! | 2.5 `udp_client.py`                | [`udp::exchange`] (`udp_client`)        |
//! | 4.1 `mixed_server.py`              | [`run_mixed_server`]: both loops, each on its own thread |
//! | 4.1 `mixed_client.py`              | [`client::choose_protocol`] then `tcp`/`udp::exchange` |
//! | 5.1 TLS                            | [`certificat`], `--tls` ([`tcp::start_tls`]) |
//! | 5.2 threads                        | `server_kit::accept` (one thread per client, capped) |
//! | 5.3 custom protocol                | [`json`] (wire format in `protocols::mixed_json`) |
//!
//! # Beyond the sheet
//! - [`log`]: output written by a journal thread, so no serving thread waits
//!   on stdout; [`text`]: Python's `print` of addresses and received text.
//! - [`password`]: the password prompt (`ajouter-utilisateur`, `LOGIN` of
//!   `mixed_client --json`): echo off before the prompt shows, the terminal
//!   given back on every way out, Ctrl-C included.
//! - A cap on clients (`--clients-max`), idle and write timeouts, and
//!   Ctrl-C closing every connection (`server_kit::accept`'s registry).

pub mod certificat;
pub mod client;
pub mod json;
pub mod log;
pub mod password;
pub mod tcp;
pub mod text;
pub mod udp;
pub mod users;

use std::net::IpAddr;
use std::sync::Arc;
use std::thread;

use server_kit::accept::Limits;
use server_kit::cli::BoxError;
use server_kit::journal::JOIN_PATIENCE;
use server_kit::{PortChoice, Shutdown, UdpOptions};

use crate::log::{Event, Log};

/// The sheet's ports: TCP (and `udp_server`'s) 12345, the mixed server's UDP 12346.
pub const DEFAULT_PORT: u16 = 12345;
pub const DEFAULT_PORT_UDP: u16 = 12346;
/// Default `--clients-max`.
pub const DEFAULT_MAX_CLIENTS: usize = 256;
/// The listen backlog (the sheet's `listen(5)` is too small for 5.2's tests).
pub const BACKLOG: i32 = 128;

/// Where and how a server listens.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: PortChoice,
    /// The mixed server's UDP port.
    pub port_udp: PortChoice,
    pub limits: Limits,
    /// `--tls`: the TCP port speaks TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `--json`: the TCP port speaks the JSON protocol.
    pub json: Option<json::Options>,
}

impl Config {
    pub fn new(bind: IpAddr) -> Config {
        Config {
            bind,
            port: PortChoice::DefaultOrNext(DEFAULT_PORT),
            port_udp: PortChoice::DefaultOrNext(DEFAULT_PORT_UDP),
            limits: Limits {
                max_clients: DEFAULT_MAX_CLIENTS,
                one_at_a_time: false,
            },
            tls: None,
            json: None,
        }
    }
}

fn with_log(
    binary: &'static str,
    serve: impl FnOnce(&Log) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let (log, writer) = log::start(binary)?;
    let result = serve(&log);
    drop(log);
    writer.join_within(JOIN_PATIENCE);
    result
}

/// `tcp_server`: the sheet's 2.1, one thread per client (or one at a time).
pub fn run_tcp_server(config: &Config, shutdown: Shutdown) -> Result<(), BoxError> {
    const BINARY: &str = "tcp_server";
    let listener = server_kit::bind_tcp(config.bind, config.port, BACKLOG)?;
    server_kit::announce(BINARY, listener.local_addr()?, None);
    with_log(BINARY, |log| {
        log.log(Event::Text(tcp::WAITING));
        let options = tcp::TcpOptions {
            texts: tcp::TCP_SERVER,
            limits: config.limits,
            tls: config.tls.clone(),
        };
        Ok(tcp::serve(&listener, options, log, &shutdown)?)
    })
}

/// `udp_server`: the sheet's 2.4.
pub fn run_udp_server(config: &Config, shutdown: Shutdown) -> Result<(), BoxError> {
    const BINARY: &str = "udp_server";
    let socket = server_kit::bind_udp(config.bind, config.port, &UdpOptions::default())?;
    server_kit::announce(BINARY, socket.local_addr()?, None);
    with_log(BINARY, |log| {
        log.log(Event::Text(udp::WAITING));
        Ok(udp::serve(&socket, &udp::UDP_SERVER, log, &shutdown)?)
    })
}

/// `mixed_server`: the sheet's 4.1, with TCP and UDP served *at the same
/// time* (each loop on its own thread; the sheet's single loop serves one
/// UDP message only between two TCP clients).
pub fn run_mixed_server(config: &Config, shutdown: Shutdown) -> Result<(), BoxError> {
    const BINARY: &str = "mixed_server";
    let listener = server_kit::bind_tcp(config.bind, config.port, BACKLOG)?;
    let socket = server_kit::bind_udp(config.bind, config.port_udp, &UdpOptions::default())?;
    server_kit::announce(BINARY, listener.local_addr()?, Some("tcp"));
    server_kit::announce(BINARY, socket.local_addr()?, Some("udp"));
    with_log(BINARY, |log| {
        log.log(Event::Text(tcp::WAITING));
        let udp_thread = {
            let (log, shutdown) = (log.clone(), shutdown.clone());
            thread::Builder::new()
                .name("udp".into())
                .spawn(move || udp::serve(&socket, &udp::MIXED_SERVER, &log, &shutdown))?
        };
        let tcp_result = match &config.json {
            None => {
                let options = tcp::TcpOptions {
                    texts: tcp::MIXED_SERVER,
                    limits: config.limits,
                    tls: config.tls.clone(),
                };
                tcp::serve(&listener, options, log, &shutdown).map_err(BoxError::from)
            }
            Some(json) => json::serve(&listener, json, config, log, &shutdown),
        };
        // The TCP side ends on shutdown or on a fatal error: stop UDP too.
        shutdown.trigger();
        let udp_result = udp_thread.join().map_err(|_| "le thread UDP a paniqué")?;
        tcp_result?;
        Ok(udp_result?)
    })
}
