//! `irc_client [--serveur 127.0.0.1] [--port 1459]`

use std::io;
use std::process::ExitCode;

use clap::Parser;
use irc_chat::client::{self, End, BINARY};
use irc_chat::server::DEFAULT_PORT;

/// Client du tchat Chat-IRC : les lignes commençant par `/` sont des
/// commandes (`/JOIN chan1`, `/HELP`), les autres des messages ; `/BYE`
/// pour partir. `/SEND bob rapport.pdf` propose un fichier, `/RECV alice
/// [dossier]` l'accepte.
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Args {
    /// Nom ou adresse du serveur.
    #[arg(long, default_value = "127.0.0.1")]
    serveur: String,
    /// Port TCP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let result = client::connect(&args.serveur, args.port)
        .and_then(|stream| client::run(stream, io::BufReader::new(io::stdin()), io::stdout()));
    match result {
        Ok(End::Bye) => {
            println!("AU REVOIR !");
            ExitCode::SUCCESS
        }
        Ok(End::ServerClosed) => {
            eprintln!("{BINARY}: connexion fermée par le serveur");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{BINARY}: {e}");
            ExitCode::FAILURE
        }
    }
}
