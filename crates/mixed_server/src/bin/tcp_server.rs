//! `tcp_server [--bind 127.0.0.1] [--port 12345] [--clients-max 256] [--un-a-la-fois]`

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use mixed_server::{Config, DEFAULT_MAX_CLIENTS, DEFAULT_PORT};
use server_kit::{PortChoice, Shutdown};

/// Serveur TCP du TP 04 (2.1) : affiche chaque message reçu et répond
/// « Message reçu ». Un thread par client (5.2).
#[derive(Debug, Parser)]
#[command(name = "tcp_server", version)]
struct Args {
    /// Adresse d'écoute (0.0.0.0 ou :: pour les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port TCP (défaut : 12345, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
    /// Nombre maximal de clients servis en même temps ; au-delà, un client
    /// reçoit une ligne d'explication et la connexion est fermée.
    #[arg(long, default_value_t = DEFAULT_MAX_CLIENTS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    clients_max: usize,
    /// Un client à la fois, comme le code de la fiche (les suivants attendent).
    #[arg(long)]
    un_a_la_fois: bool,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let mut config = Config::new(args.bind);
    config.port = PortChoice::from_cli(args.port, DEFAULT_PORT);
    config.limits.max_clients = args.clients_max;
    config.limits.one_at_a_time = args.un_a_la_fois;
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| mixed_server::run_tcp_server(&config, shutdown));
    server_kit::cli::finish("tcp_server", result)
}
