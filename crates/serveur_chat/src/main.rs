//! `serveur_chat [--bind 127.0.0.1] [--port 5005] [--bien-recu] [--membres-max 1024]
//! [--membres-par-hote 32] [--inactivite 1800] [--rafale 100] [--debit 50]`

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use server_kit::{PortChoice, Shutdown};
use serveur_chat::protocol::{
    DEFAULT_BURST, DEFAULT_INACTIVITY, DEFAULT_MAX_MEMBERS, DEFAULT_PER_HOST, DEFAULT_RATE,
};
use serveur_chat::{Config, Limits, Mode, BINARY, DEFAULT_PORT};

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
    /// Nombre de membres au plus ; au-delà, un nouveau venu reçoit un refus.
    #[arg(long, default_value_t = DEFAULT_MAX_MEMBERS, value_parser = clap::value_parser!(u64).range(1..))]
    membres_max: u64,
    /// Nombre de membres au plus depuis une même adresse IP.
    #[arg(long, default_value_t = DEFAULT_PER_HOST, value_parser = clap::value_parser!(u64).range(1..))]
    membres_par_hote: u64,
    /// Secondes sans aucun datagramme après lesquelles un membre est retiré
    /// (client_chat envoie `__keepalive__` bien avant).
    #[arg(long, value_name = "SECONDES", default_value_t = DEFAULT_INACTIVITY.as_secs_f64())]
    inactivite: f64,
    /// Messages qu'un membre peut envoyer d'affilée avant que --debit s'applique.
    #[arg(long, default_value_t = DEFAULT_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    rafale: u32,
    /// Messages par seconde qu'un membre peut soutenir ; au-delà ils sont
    /// ignorés, et le membre prévenu une fois par rafale.
    #[arg(long, value_name = "MESSAGES_PAR_S", default_value_t = DEFAULT_RATE)]
    debit: f64,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let positive = |flag: &str, v: f64| {
        if !(v.is_finite() && v > 0.0) {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--{flag} doit être un nombre positif (reçu {v})\n"),
            )
            .exit();
        }
        v
    };
    if args.inactivite < 2.0 * protocols::chat::KEEPALIVE_EVERY.as_secs_f64() {
        eprintln!(
            "{BINARY}: attention, --inactivite {} s est court : client_chat ne se signale que toutes les {} s, ses membres silencieux seront retirés",
            args.inactivite,
            protocols::chat::KEEPALIVE_EVERY.as_secs()
        );
    }
    let limits = Limits {
        max_members: args.membres_max as usize,
        per_host: args.membres_par_hote as usize,
        inactivity: Duration::from_secs_f64(positive("inactivite", args.inactivite).min(1e9)),
        burst: args.rafale,
        rate: positive("debit", args.debit),
    };
    let config = Config {
        bind: args.bind,
        port: PortChoice::from_cli(args.port, DEFAULT_PORT),
        mode: if args.bien_recu {
            Mode::BienRecu
        } else {
            Mode::Chat
        },
        limits,
        ..Config::default()
    };
    let shutdown = Shutdown::new();
    let result = shutdown
        .install_ctrlc()
        .map_err(Into::into)
        .and_then(|()| serveur_chat::run(config, shutdown));
    server_kit::cli::finish(BINARY, result)
}
