//! `mixed_server [--port 12345] [--port-udp 12346] [--tls ...] [--json ...]`,
//! `mixed_server certificat --dossier DIR`,
//! `mixed_server ajouter-utilisateur --utilisateurs FICHIER NOM`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mixed_server::certificat::{self, Years, CERT_FILE, KEY_FILE, SERVER_NAMES};
use mixed_server::{json, users, Config, DEFAULT_MAX_CLIENTS, DEFAULT_PORT, DEFAULT_PORT_UDP};
use server_kit::cli::BoxError;
use server_kit::{PortChoice, Shutdown};

const BINARY: &str = "mixed_server";

/// Serveur mixte du TP 04 (4.1) : TCP (12345) et UDP (12346) servis en même
/// temps ; un thread par client TCP (5.2), TLS (5.1), protocole JSON (5.3).
#[derive(Debug, Parser)]
#[command(name = BINARY, version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Adresse d'écoute (0.0.0.0 ou :: pour les autres machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port TCP (défaut : 12345, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
    /// Port UDP (défaut : 12346, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port_udp: Option<u16>,
    /// Nombre maximal de clients TCP servis en même temps.
    #[arg(long, default_value_t = DEFAULT_MAX_CLIENTS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    clients_max: usize,
    /// Un client TCP à la fois, comme le code de la fiche.
    #[arg(long)]
    un_a_la_fois: bool,
    /// Le port TCP parle TLS (1.2 et 1.3) ; certificat et clé de --dossier,
    /// ou de --cert et --cle.
    #[arg(long)]
    tls: bool,
    /// Dossier créé par `mixed_server certificat` (serveur.pem, serveur.key).
    #[arg(long, default_value = "certificats")]
    dossier: PathBuf,
    /// Certificat du serveur (PEM, chaîne comprise) ; défaut : DOSSIER/serveur.pem.
    #[arg(long, requires = "tls")]
    cert: Option<PathBuf>,
    /// Clé privée du serveur (PEM) ; défaut : DOSSIER/serveur.key.
    #[arg(long, requires = "tls")]
    cle: Option<PathBuf>,
    /// Le port TCP parle le protocole JSON (LOGIN, MESSAGE, LOGOUT).
    #[arg(long, requires = "utilisateurs")]
    json: bool,
    /// Fichier des utilisateurs (voir `ajouter-utilisateur`).
    #[arg(long)]
    utilisateurs: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Crée une petite autorité de certification et un certificat serveur
    /// pour localhost, 127.0.0.1 et ::1 : DOSSIER/ca.pem, serveur.pem, serveur.key.
    Certificat {
        /// Dossier où écrire les fichiers (créé au besoin).
        #[arg(long, default_value = "certificats")]
        dossier: PathBuf,
    },
    /// Ajoute (ou remplace) un utilisateur ; le mot de passe est lu sur
    /// l'entrée standard (sans écho dans un terminal).
    AjouterUtilisateur {
        /// Fichier des utilisateurs (créé au besoin).
        #[arg(long)]
        utilisateurs: PathBuf,
        /// Nom de l'utilisateur.
        nom: String,
    },
}

fn serve(args: Serve) -> Result<(), BoxError> {
    let mut config = Config::new(args.bind);
    config.port = PortChoice::from_cli(args.port, DEFAULT_PORT);
    config.port_udp = PortChoice::from_cli(args.port_udp, DEFAULT_PORT_UDP);
    config.limits.max_clients = args.clients_max;
    config.limits.one_at_a_time = args.un_a_la_fois;
    if args.tls {
        let cert = args.cert.unwrap_or_else(|| args.dossier.join(CERT_FILE));
        let key = args.cle.unwrap_or_else(|| args.dossier.join(KEY_FILE));
        config.tls = Some(server_kit::tls::server_config(&cert, &key)?);
    }
    if args.json {
        let path = args.utilisateurs.ok_or("--json demande --utilisateurs")?;
        config.json = Some(json::Options::load(&path)?);
    }
    let shutdown = Shutdown::new();
    shutdown.install_ctrlc()?;
    mixed_server::run_mixed_server(&config, shutdown)
}

fn run(args: Args) -> Result<(), BoxError> {
    match args.command {
        None => serve(args.serve),
        Some(Command::Certificat { dossier }) => {
            let pki = certificat::make(&SERVER_NAMES, Years::around_now(2))?;
            for path in certificat::write(&dossier, &pki)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Some(Command::AjouterUtilisateur { utilisateurs, nom }) => {
            users::add_from_stdin(&utilisateurs, &nom)
        }
    }
}

fn main() -> ExitCode {
    server_kit::cli::finish(BINARY, run(server_kit::cli::parse::<Args>()))
}
