//! `client_chat [--serveur 127.0.0.1] [--port 5005] [--une-fois TEXTE] [--brut]`

use std::io;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use clap::Parser;
use client_chat::{Options, Output, Signals, BINARY, DEFAULT_PORT};
use server_kit::cli::BoxError;

/// Client du mini tchat UDP (exercice 18). Tapez `quit` (ou Ctrl-D) pour
/// quitter.
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Args {
    /// Adresse du serveur : IPv4, IPv6 ou nom de machine.
    #[arg(long, default_value = "127.0.0.1")]
    serveur: String,
    /// Port UDP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Version 18.1 : envoie TEXTE en un datagramme, affiche la réponse.
    #[arg(long, value_name = "TEXTE")]
    une_fois: Option<String>,
    /// Abandonne si le serveur n'a pas répondu à l'inscription en N secondes
    /// (sans cette option : un message au bout de 3 s, puis on attend).
    #[arg(long, value_name = "N", value_parser = parse_delai)]
    delai: Option<f64>,
    /// Affiche les messages reçus tels quels, caractères de contrôle
    /// compris (par défaut ils sont échappés : `\x1b`, `\x0a`...).
    #[arg(long)]
    brut: bool,
}

fn parse_delai(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err("un nombre de secondes entre 0 (exclu) et 86400".into()),
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let socket = client_chat::connect(&args.serveur, args.port)?;
    let mut out = io::stdout().lock();
    let output = if args.brut {
        Output::Raw
    } else {
        Output::Escaped
    };
    match args.une_fois {
        Some(text) => client_chat::une_fois(&socket, &text, &mut out, output)?,
        None => {
            // Ctrl-C leaves the chat properly: `__quit__`, then exit 0.
            let signals = Arc::new(Signals::default());
            let flags = Arc::clone(&signals);
            ctrlc::set_handler(move || {
                if !flags.name_sent.load(Ordering::SeqCst) {
                    // Still at the name prompt: nothing to leave.
                    std::process::exit(0);
                }
                flags.quit.store(true, Ordering::SeqCst);
            })?;
            let input = io::BufReader::new(io::stdin());
            let options = Options {
                output,
                registration: client_chat::Registration {
                    give_up_after: args.delai.map(std::time::Duration::from_secs_f64),
                    ..Default::default()
                },
                ..Options::default()
            };
            client_chat::chat(socket, input, &mut out, &signals, options)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    server_kit::cli::finish(BINARY, run(server_kit::cli::parse::<Args>()))
}
