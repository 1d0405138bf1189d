//! `tcp_client [--serveur localhost] [--port 12345] [--message TEXTE]`

use std::process::ExitCode;

use clap::Parser;
use mixed_server::client::{self, ANSWER_PREFIX, CLOSED, TCP_MESSAGE};
use mixed_server::text::shown;
use mixed_server::DEFAULT_PORT;
use server_kit::cli::BoxError;

/// Client TCP du TP 04 (2.2) : envoie un message, affiche la réponse.
#[derive(Debug, Parser)]
#[command(name = "tcp_client", version)]
struct Args {
    /// Nom ou adresse du serveur (IPv4 ou IPv6).
    #[arg(long, default_value = "localhost")]
    serveur: String,
    /// Port TCP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Le message à envoyer.
    #[arg(long, default_value = TCP_MESSAGE)]
    message: String,
}

fn run(args: Args) -> Result<(), BoxError> {
    let mut stream = client::connect(&args.serveur, args.port, None)?;
    let response = mixed_server::tcp::exchange(&mut stream, args.message.as_bytes())
        .map_err(|e| format!("pas de réponse du serveur : {e}"))?;
    println!("{ANSWER_PREFIX} {}", shown(&response));
    let _ = stream.shutdown();
    println!("{CLOSED}");
    Ok(())
}

fn main() -> ExitCode {
    server_kit::cli::finish("tcp_client", run(server_kit::cli::parse::<Args>()))
}
