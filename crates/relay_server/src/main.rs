//! `relay_server un-client [--bind 127.0.0.1] [--port 1212] [--udp]`
//! `relay_server relais [--bind 127.0.0.1] [--port 1212] [--udp | --roles]`

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand};
use relay_server::{Config, Mode, DEFAULT_IDLE, DEFAULT_PORT, SERVER_BINARY};
use server_kit::{PortChoice, Shutdown};

/// Serveur du TP RES 302 n° 2 : un client qui écrit au serveur (exercice 1),
/// puis un relais d'un premier client vers un second (exercice 2).
#[derive(Debug, Parser)]
#[command(name = SERVER_BINARY, version)]
struct Args {
    #[command(subcommand)]
    mode: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exercice 1 : affiche chaque ligne (ou datagramme) envoyée par le client.
    UnClient {
        #[command(flatten)]
        common: Common,
    },
    /// Exercice 2 : attend deux clients et relaie vers le second tout ce que
    /// le premier envoie ; puis attend la paire suivante.
    Relais {
        #[command(flatten)]
        common: Common,
        /// Exercice 2.3 (TCP) : envoie l'octet `1` au premier client dès la
        /// connexion acceptée, `2` au second.
        #[arg(long, conflicts_with = "udp")]
        roles: bool,
    },
}

#[derive(Debug, ClapArgs)]
struct Common {
    /// Adresse d'écoute (0.0.0.0 ou :: pour les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port (défaut : 1212, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
    /// UDP au lieu de TCP (exercices 1.2 et 2.2).
    #[arg(long)]
    udp: bool,
    /// Secondes de silence d'un client (ou de refus de lire) avant qu'il
    /// soit déconnecté, pour qu'il ne bloque pas les suivants.
    #[arg(long, default_value_t = DEFAULT_IDLE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    inactivite: u64,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let (common, mode) = match args.mode {
        Command::UnClient { common } => (common, Mode::UnClient),
        Command::Relais { common, roles } => (common, Mode::Relais { roles }),
    };
    let config = Config {
        bind: common.bind,
        port: PortChoice::from_cli(common.port, DEFAULT_PORT),
        udp: common.udp,
        mode,
        idle: Duration::from_secs(common.inactivite),
    };
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| relay_server::run(config, shutdown));
    server_kit::cli::finish(SERVER_BINARY, result)
}
