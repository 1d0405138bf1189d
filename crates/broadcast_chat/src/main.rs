//! `broadcast_chat envoyer [--nom LOGIN] [--adresse 255.255.255.255] [--port 5700]`
//! `broadcast_chat ecouter [--bind 0.0.0.0] [--port 5700] [--brut]`

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use broadcast_chat::{BINARY, DEFAULT_ADDRESS, DEFAULT_PORT};
use clap::{Parser, Subcommand};
use server_kit::cli::BoxError;
use server_kit::Shutdown;

/// Tchat sur le réseau local par diffusion UDP (TP netstat / wireshark,
/// exercice 3 « Application de chat ») : lancez `ecouter` dans un terminal
/// et `envoyer` dans un autre.
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Lit des lignes au clavier et diffuse chacune sous la forme `NOM: ligne`.
    Envoyer {
        /// Votre nom, ajouté au début de chaque ligne (défaut : votre nom de
        /// connexion).
        #[arg(long)]
        nom: Option<String>,
        /// Adresse de destination (diffusion générale par défaut).
        #[arg(long, default_value_t = DEFAULT_ADDRESS)]
        adresse: IpAddr,
        /// Port UDP de destination.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
    },
    /// Affiche chaque message diffusé sur le port.
    Ecouter {
        /// Adresse d'écoute : 0.0.0.0 pour recevoir les diffusions.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
        bind: IpAddr,
        /// Port UDP.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Affiche les datagrammes tels quels, caractères de contrôle compris
        /// (par défaut ils sont échappés : `\x1b`, `\x0d`...).
        #[arg(long)]
        brut: bool,
    },
}

fn run(args: Args) -> Result<(), BoxError> {
    match args.role {
        Role::Envoyer { nom, adresse, port } => {
            let nom = nom
                .or_else(broadcast_chat::login_name)
                .ok_or("nom de connexion introuvable : donnez votre nom avec --nom")?;
            // Ctrl-C while waiting for a line: a normal end (exit 0).
            Shutdown::exit_on_ctrlc()?;
            broadcast_chat::envoyer(
                &nom,
                SocketAddr::new(adresse, port),
                &mut io::stdin().lock(),
            )?;
            Ok(())
        }
        Role::Ecouter { bind, port, brut } => {
            let shutdown = Shutdown::new();
            shutdown.install_ctrlc()?;
            broadcast_chat::ecouter(bind, port, brut, shutdown)
        }
    }
}

fn main() -> ExitCode {
    server_kit::cli::finish(BINARY, run(server_kit::cli::parse::<Args>()))
}
