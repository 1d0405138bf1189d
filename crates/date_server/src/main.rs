//! `date_server [--bind 127.0.0.1] [--port 5555]`

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use date_server::{Config, DEFAULT_PORT, SERVER_BINARY};
use server_kit::{PortChoice, Shutdown};

/// Serveur de date UDP (TP 1) : répond à chaque datagramme par la date et
/// l'heure locales (`Sun Nov 22 01:30:57 2026`).
#[derive(Debug, Parser)]
#[command(name = SERVER_BINARY, version)]
struct Args {
    /// Adresse d'écoute (0.0.0.0 ou :: pour les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port UDP (défaut : 5555, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let config = Config {
        bind: args.bind,
        port: PortChoice::from_cli(args.port, DEFAULT_PORT),
    };
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| date_server::run(config, shutdown));
    server_kit::cli::finish(SERVER_BINARY, result)
}
