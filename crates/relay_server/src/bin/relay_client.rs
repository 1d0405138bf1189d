//! `relay_client envoyer [--serveur 127.0.0.1] [--port 1212] [--udp] [--port-local [1313]]`
//! `relay_client emetteur | recepteur [--serveur ...] [--port ...] [--udp]`
//! `relay_client auto [--serveur ...] [--port ...]`

use std::io::{self, BufReader};
use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};
use relay_server::client::{self, ClientConfig};
use relay_server::{CLIENT_BINARY, DEFAULT_PORT};
use server_kit::cli::BoxError;
use server_kit::Shutdown;

/// Client du TP RES 302 n° 2 : envoie les lignes tapées, ou affiche les
/// messages relayés par `relay_server relais`.
#[derive(Debug, Parser)]
#[command(name = CLIENT_BINARY, version)]
struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Exercice 1 : envoie chaque ligne tapée au serveur `un-client`.
    Envoyer {
        #[command(flatten)]
        common: Common,
        /// UDP au lieu de TCP (exercice 1.2).
        #[arg(long)]
        udp: bool,
        /// Port local du client (la fiche : 1313 ; seul, `--port-local`
        /// vaut 1313). Sans cette option, le système en choisit un.
        #[arg(long, num_args = 0..=1, default_missing_value = "1313")]
        port_local: Option<u16>,
    },
    /// Exercice 2 : client 1 du relais, envoie chaque ligne tapée.
    Emetteur {
        #[command(flatten)]
        common: Common,
        /// UDP au lieu de TCP (exercice 2.2).
        #[arg(long)]
        udp: bool,
    },
    /// Exercice 2 : client 2 du relais, affiche chaque message reçu.
    Recepteur {
        #[command(flatten)]
        common: Common,
        /// UDP au lieu de TCP (exercice 2.2).
        #[arg(long)]
        udp: bool,
    },
    /// Exercice 2.3 : reçoit son rôle du serveur (`relais --roles`) et
    /// devient émetteur (`1`) ou récepteur (`2`).
    Auto {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, ClapArgs)]
struct Common {
    /// Adresse du serveur : IPv4, IPv6 ou nom de machine.
    #[arg(long, default_value = "127.0.0.1")]
    serveur: String,
    /// Port du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
}

fn config(common: Common, udp: bool, port_local: Option<u16>) -> ClientConfig {
    ClientConfig {
        serveur: common.serveur,
        port: common.port,
        udp,
        port_local,
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let shutdown = Shutdown::new();
    shutdown.install_ctrlc()?;
    let input = || BufReader::new(io::stdin());
    let out = &mut io::stdout();
    match args.role {
        Role::Envoyer {
            common,
            udp,
            port_local,
        } => client::envoyer(&config(common, udp, port_local), input(), out, &shutdown)?,
        Role::Emetteur { common, udp } => {
            client::emetteur(&config(common, udp, None), input(), out, &shutdown)?
        }
        Role::Recepteur { common, udp } => {
            client::recepteur(&config(common, udp, None), out, &shutdown)?
        }
        Role::Auto { common } => {
            client::auto(&config(common, false, None), input(), out, &shutdown)?
        }
    };
    Ok(())
}

fn main() -> ExitCode {
    server_kit::cli::finish(CLIENT_BINARY, run(server_kit::cli::parse::<Args>()))
}
