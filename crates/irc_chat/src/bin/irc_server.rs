//! `irc_server [--bind 127.0.0.1] [--port 1459] [--sans-anti-flood]`

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use irc_chat::server::{Config, BINARY, DEFAULT_MAX_CLIENTS, DEFAULT_PORT};
use irc_chat::transfer::TransferConfig;
use irc_chat::{Flood, HubConfig};
use server_kit::{PortChoice, Shutdown};

/// Serveur de tchat à chaînes (mini-projet Chat-IRC) : le protocole du
/// rapport (`JOIN chan1`, `messagebonjour`) et les vrais clients IRC
/// (irssi...), dans les mêmes chaînes.
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Args {
    /// Adresse d'écoute (0.0.0.0 ou :: pour accepter les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port TCP (défaut : 1459, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
    /// Nombre maximal de connexions simultanées.
    #[arg(long, default_value_t = DEFAULT_MAX_CLIENTS)]
    connexions_max: usize,
    /// Désactive l'anti-flood (mesures de débit, comme MaxPenaltyTime = 0
    /// pour ngircd).
    #[arg(long)]
    sans_anti_flood: bool,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let config = Config {
        bind: args.bind,
        port: PortChoice::from_cli(args.port, DEFAULT_PORT),
        hub: HubConfig {
            flood: if args.sans_anti_flood {
                Flood::relaxed()
            } else {
                Flood::default()
            },
            ..HubConfig::default()
        },
        max_clients: args.connexions_max,
        transfer: TransferConfig::default(),
    };
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| irc_chat::server::run(config, shutdown));
    server_kit::cli::finish(BINARY, result)
}
