//! `date_client [--serveur 127.0.0.1] [--port 5555] [--pause] [--brut]`

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use clap::Parser;
use date_server::{CLIENT_BINARY, DEFAULT_PORT};
use server_kit::cli::BoxError;

/// Demande la date au serveur UDP et l'affiche.
#[derive(Debug, Parser)]
#[command(name = CLIENT_BINARY, version)]
struct Args {
    /// Adresse du serveur : IPv4, IPv6 ou nom de machine.
    #[arg(long, default_value = "127.0.0.1")]
    serveur: String,
    /// Port UDP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Attend Entrée (invite `> `) avant l'envoi et après l'affichage, pour
    /// observer la socket avec `ss -ua` ou `netstat -ua`.
    #[arg(long)]
    pause: bool,
    /// Affiche la réponse telle quelle, caractères de contrôle compris (par
    /// défaut ils sont échappés : `\x1b`, `\x0d`...).
    #[arg(long)]
    brut: bool,
}

/// The sheet's `input("> ")` (its OCR shows the space as `_`): a prompt, then
/// wait for Enter (or end of input).
fn pause(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"> ")?;
    out.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(())
}

fn run(args: Args) -> Result<(), BoxError> {
    let server = date_server::resolve(&args.serveur, args.port)?;
    // Ctrl-C while paused or waiting for the answer: a normal end (exit 0),
    // like the other programs.
    server_kit::Shutdown::exit_on_ctrlc()?;
    let mut out = io::stdout().lock();
    if args.pause {
        pause(&mut out)?;
    }
    // The socket lives until the end of this function, after the second pause.
    let (_socket, answer) = date_server::request(server)?;
    date_server::print_answer(&mut out, &answer, args.brut)?;
    if args.pause {
        pause(&mut out)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    server_kit::cli::finish(CLIENT_BINARY, run(server_kit::cli::parse::<Args>()))
}
