//! `client_http [URL] [--langue fr|en] [--delai 10]`

use std::io;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use client_http::{Language, Url, CLIENT_BINARY, DEFAULT_DELAY, DEFAULT_URL};

/// Client HTTP du TP 17 : envoie une requête GET et affiche la réponse brute
/// du serveur (ligne de statut, en-têtes, contenu), quel que soit son statut.
#[derive(Debug, Parser)]
#[command(name = CLIENT_BINARY, version)]
struct Args {
    /// Page demandée (http://hôte:port/chemin ; IPv6 : http://[::1]:8080/).
    #[arg(default_value = DEFAULT_URL)]
    url: String,
    /// Envoie « Accept-Language: fr » ou « Accept-Language: en ».
    #[arg(long, value_enum)]
    langue: Option<Langue>,
    /// Délai (secondes) pour tout l'échange : connexion, envoi et réponse
    /// entière.
    #[arg(long, default_value_t = DEFAULT_DELAY.as_secs_f64(), value_parser = parse_delay)]
    delai: f64,
}

fn parse_delay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err("un nombre de secondes entre 0 (exclu) et 3600".into()),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Langue {
    Fr,
    En,
}

fn main() -> ExitCode {
    let args = server_kit::cli::parse::<Args>();
    let language = args.langue.map(|l| match l {
        Langue::Fr => Language::Fr,
        Langue::En => Language::En,
    });
    let result = Url::parse(&args.url).map_err(Into::into).and_then(|url| {
        client_http::run(
            &url,
            language,
            Duration::from_secs_f64(args.delai),
            &mut io::stdout().lock(),
        )
    });
    server_kit::cli::finish(CLIENT_BINARY, result)
}
