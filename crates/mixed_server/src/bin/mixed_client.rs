//! `mixed_client [--protocole tcp|udp] [--serveur localhost] [--port 12345]
//! [--port-udp 12346] [--tls --ca ca.pem] [--json]`

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mixed_server::client::{
    self, Protocol, ANSWER_PREFIX, INVALID, PROMPT, TCP_MESSAGE, UDP_MESSAGE,
};
use mixed_server::text::shown;
use mixed_server::{json, tcp, udp, DEFAULT_PORT, DEFAULT_PORT_UDP};
use server_kit::cli::BoxError;

const BINARY: &str = "mixed_client";

/// Client mixte du TP 04 (4.1) : choisit TCP ou UDP, envoie un message,
/// affiche la réponse. --tls vérifie le serveur (5.1) ; --json ouvre une
/// session interactive du protocole JSON (5.3).
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Args {
    /// Protocole (tcp ou udp, casse et espaces indifférents) ; sans cette
    /// option, la question de la fiche est posée.
    #[arg(long)]
    protocole: Option<String>,
    /// Nom ou adresse du serveur (IPv4 ou IPv6).
    #[arg(long, default_value = "localhost")]
    serveur: String,
    /// Port TCP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Port UDP du serveur.
    #[arg(long, default_value_t = DEFAULT_PORT_UDP)]
    port_udp: u16,
    /// Le message à envoyer (défaut : celui de la fiche pour le protocole).
    #[arg(long)]
    message: Option<String>,
    /// TCP sous TLS, le serveur étant vérifié avec --ca.
    #[arg(long, requires = "ca")]
    tls: bool,
    /// Certificat de l'autorité qui a signé celui du serveur (ca.pem).
    #[arg(long, requires = "tls")]
    ca: Option<PathBuf>,
    /// Session interactive du protocole JSON (LOGIN nom, MESSAGE texte, LOGOUT).
    #[arg(long, conflicts_with = "protocole")]
    json: bool,
}

enum Outcome {
    Done,
    Invalid,
}

fn run(args: Args) -> Result<Outcome, BoxError> {
    let ca = args.tls.then_some(args.ca.as_deref()).flatten();
    if args.json {
        let stream = client::connect(&args.serveur, args.port, ca)?;
        json::client::interactive(stream)?;
        return Ok(Outcome::Done);
    }
    let answer = match args.protocole {
        Some(p) => p,
        None => {
            let mut out = io::stdout().lock();
            out.write_all(PROMPT.as_bytes())?;
            out.flush()?;
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line)?;
            line
        }
    };
    let response = match client::choose_protocol(&answer) {
        Some(Protocol::Tcp) => {
            let message = args.message.as_deref().unwrap_or(TCP_MESSAGE);
            let mut stream = client::connect(&args.serveur, args.port, ca)?;
            let response = tcp::exchange(&mut stream, message.as_bytes())
                .map_err(|e| format!("pas de réponse du serveur : {e}"))?;
            if response == tcp::TLS_EXPECTED {
                return Err(
                    "le serveur attend une connexion TLS (ajoutez --tls --ca ca.pem)".into(),
                );
            }
            let _ = stream.shutdown();
            response
        }
        Some(Protocol::Udp) if args.tls => {
            return Err("--tls ne s'applique qu'à TCP (TLS demande une connexion)".into());
        }
        Some(Protocol::Udp) => {
            let message = args.message.as_deref().unwrap_or(UDP_MESSAGE);
            udp::exchange(
                &args.serveur,
                args.port_udp,
                message.as_bytes(),
                udp::ANSWER_TIMEOUT,
            )?
        }
        None => {
            println!("{INVALID}");
            return Ok(Outcome::Invalid);
        }
    };
    println!("{ANSWER_PREFIX} {}", shown(&response));
    Ok(Outcome::Done)
}

fn main() -> ExitCode {
    match run(server_kit::cli::parse::<Args>()) {
        Ok(Outcome::Invalid) => ExitCode::from(2),
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Err(e) => server_kit::cli::finish(BINARY, Err(e)),
    }
}
