//! `udp_server [--bind 127.0.0.1] [--port 12345]`

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use mixed_server::{Config, DEFAULT_PORT};
use server_kit::{PortChoice, Shutdown};

/// Serveur UDP du TP 04 (2.4) : affiche chaque datagramme reçu et son
/// expéditeur, et répond « Message reçu ».
#[derive(Debug, Parser)]
#[command(name = "udp_server", version)]
struct Args {
    /// Adresse d'écoute (0.0.0.0 ou :: pour les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port UDP (défaut : 12345, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let mut config = Config::new(args.bind);
    config.port = PortChoice::from_cli(args.port, DEFAULT_PORT);
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| mixed_server::run_udp_server(&config, shutdown));
    server_kit::cli::finish("udp_server", result)
}
