//! `serveur_chat [--bind 127.0.0.1] [--port 5005] [--bien-recu]`

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use server_kit::{PortChoice, Shutdown};
use serveur_chat::{Config, Mode, BINARY, DEFAULT_PORT};

/// Serveur du mini tchat UDP (exercice 18) : `__new_name__:NOM`,
/// `__message__:TEXTE`, `__quit__`. Affiche chaque datagramme reçu
/// (`recv_data : b'...'`).
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Args {
    /// Adresse d'écoute (0.0.0.0 ou :: pour accepter les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port UDP (défaut : 5005, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
    /// Version 18.1 : affiche chaque requête et répond « Bien reçu ! ».
    #[arg(long)]
    bien_recu: bool,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let config = Config {
        bind: args.bind,
        port: PortChoice::from_cli(args.port, DEFAULT_PORT),
        mode: if args.bien_recu {
            Mode::BienRecu
        } else {
            Mode::Chat
        },
        ..Config::default()
    };
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| serveur_chat::run(config, shutdown));
    server_kit::cli::finish(BINARY, result)
}
