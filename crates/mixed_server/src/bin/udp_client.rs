//! `udp_client [--serveur localhost] [--port 12345] [--message TEXTE]`

use std::process::ExitCode;

use clap::Parser;
use mixed_server::client::{ANSWER_PREFIX, UDP_MESSAGE};
use mixed_server::text::shown;
use mixed_server::{udp, DEFAULT_PORT};
use server_kit::cli::BoxError;

/// Client UDP du TP 04 (2.5) : envoie un datagramme, affiche la réponse
/// (ou dit clairement, code 1, qu'aucun serveur n'a répondu en 3 s).
#[derive(Debug, Parser)]
#[command(name = "udp_client", version)]
struct Args {
    /// Nom ou adresse du serveur (IPv4 ou IPv6).
    #[arg(long, default_value = "localhost")]
    serveur: String,
    /// Port UDP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Le message à envoyer.
    #[arg(long, default_value = UDP_MESSAGE)]
    message: String,
}

fn run(args: Args) -> Result<(), BoxError> {
    let response = udp::exchange(
        &args.serveur,
        args.port,
        args.message.as_bytes(),
        udp::ANSWER_TIMEOUT,
    )?;
    println!("{ANSWER_PREFIX} {}", shown(&response));
    Ok(())
}

fn main() -> ExitCode {
    server_kit::cli::finish("udp_client", run(server_kit::cli::parse::<Args>()))
}
