//! `serveur_http [--bind 127.0.0.1] [--port 8080] [--racine pages_serveur] …`

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use protocols::http::Negotiation;
use server_kit::{PortChoice, Shutdown};
use serveur_http::{
    Config, DEFAULT_ANSWER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_PORT,
    SERVER_BINARY,
};

/// Serveur HTTP du TP 17 : sert pages_serveur/fr/ ou pages_serveur/en/ selon
/// l'en-tête Accept-Language, répond 404 avec page404.html, et affiche chaque
/// requête reçue.
#[derive(Debug, Parser)]
#[command(name = SERVER_BINARY, version)]
struct Args {
    /// Adresse d'écoute (0.0.0.0 ou :: pour les autres machines, question 17.7).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port TCP (défaut : 8080, ou le suivant libre ; 0 = au hasard).
    #[arg(long)]
    port: Option<u16>,
    /// Dossier des pages (défaut : pages_serveur, cherché dans le dossier
    /// courant puis ses parents).
    #[arg(long)]
    racine: Option<PathBuf>,
    /// N'affiche pas les requêtes (mesures de performance).
    #[arg(long)]
    silencieux: bool,
    /// Question 17.1 : affiche la requête et répond « Bien reçu ! ».
    #[arg(long)]
    bien_recu: bool,
    /// Choix de la langue : `prefixe` (la fiche : Accept-Language commence
    /// par fr) ou `q` (les poids q= de la RFC 9110).
    #[arg(long, value_enum, default_value = "prefixe")]
    negociation: Langue,
    /// Connexions persistantes HTTP/1.1 au lieu d'une requête par connexion.
    #[arg(long)]
    keep_alive: bool,
    /// Fils qui acceptent les connexions (défaut : un par cœur).
    #[arg(long, value_parser = |t: &str| parse_count(t, 256))]
    accepteurs: Option<usize>,
    /// Boucles epoll qui servent les connexions (défaut : deux par cœur).
    #[arg(long, value_parser = |t: &str| parse_count(t, 256))]
    boucles: Option<usize>,
    /// Connexions ouvertes au plus ; au-delà, on ferme d'abord celles qui
    /// attendent sans rien demander, puis les plus lentes, les plus
    /// anciennes d'abord.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = |t: &str| parse_count(t, 1_000_000))]
    connexions_max: usize,
    /// Délai (secondes) laissé à un client pour envoyer sa requête.
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs_f64(), value_parser = parse_delay)]
    delai_inactivite: f64,
    /// Délai (secondes) pour envoyer toute une réponse, même à un client
    /// qui lit très lentement.
    #[arg(long, default_value_t = DEFAULT_ANSWER_TIMEOUT.as_secs_f64(), value_parser = parse_delay)]
    delai_reponse: f64,
    /// Port par défaut (tests de la règle « 8080 ou le suivant libre »).
    #[arg(long, hide = true, default_value_t = DEFAULT_PORT)]
    port_par_defaut: u16,
    #[command(subcommand)]
    fiche: Option<serveur_http::fiche::Commande>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Langue {
    Prefixe,
    Q,
}

fn parse_count(text: &str, max: usize) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("un nombre entre 1 et {max}")),
    }
}

fn parse_delay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err("un nombre de secondes entre 0 (exclu) et 3600".into()),
    }
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    if let Some(fiche) = args.fiche {
        return server_kit::cli::finish(SERVER_BINARY, serveur_http::fiche::run(fiche));
    }
    let result = serveur_http::find_root(args.racine.as_deref())
        .map_err(Into::into)
        .and_then(|root| {
            let config = Config {
                bind: args.bind,
                port: PortChoice::from_cli(args.port, args.port_par_defaut),
                root,
                print_requests: !args.silencieux,
                bien_recu: args.bien_recu,
                negotiation: match args.negociation {
                    Langue::Prefixe => Negotiation::Prefix,
                    Langue::Q => Negotiation::QValues,
                },
                keep_alive: args.keep_alive,
                acceptors: args
                    .accepteurs
                    .unwrap_or_else(serveur_http::default_acceptors),
                loops: args.boucles.unwrap_or_else(serveur_http::default_loops),
                max_connections: args.connexions_max,
                idle_timeout: Duration::from_secs_f64(args.delai_inactivite),
                answer_timeout: Duration::from_secs_f64(args.delai_reponse),
            };
            let shutdown = Shutdown::new();
            shutdown.install_ctrlc()?;
            serveur_http::run(config, shutdown)
        });
    server_kit::cli::finish(SERVER_BINARY, result)
}
