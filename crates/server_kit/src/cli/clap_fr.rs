//! clap in French: the help template and headings, the `--help`/`--version`
//! flags, and clap's error kinds as French sentences.
//!
//! Why here, once: every binary parses its arguments with
//! [`parse`](super::parse), so a binary added later speaks French by changing
//! `Args::parse()` into `server_kit::cli::parse::<Args>()`, nothing more.

use std::error::Error as _;
use std::num::{ParseFloatError, ParseIntError};

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command};

/// clap's default template with its `Usage:` heading in French.
const HELP_TEMPLATE: &str =
    "{before-help}{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}";

/// A command (and its subcommands) with French help texts.
pub fn frenchify(cmd: Command) -> Command {
    let has_version = cmd.get_version().is_some();
    let mut cmd = cmd
        .help_template(HELP_TEMPLATE)
        .subcommand_value_name("COMMANDE")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(
            Arg::new("aide")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Affiche cette aide"),
        );
    if has_version {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("Affiche la version"),
        );
    }
    cmd.mut_subcommands(frenchify)
}

/// clap's rendered help, with the pieces it writes itself in French.
pub fn translate_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let body = match body {
            "Options:" => "Options :".to_string(),
            "Arguments:" => "Arguments :".to_string(),
            "Commands:" => "Commandes :".to_string(),
            _ => body
                .replace("[default: ", "[défaut : ")
                .replace("[possible values: ", "[valeurs possibles : ")
                .replace("Possible values:", "Valeurs possibles :")
                .replace("<COMMAND>", "<COMMANDE>"),
        };
        out.push_str(&body);
        out.push_str(end);
    }
    out
}

/// A usage error as clap would print it, in French: the message, the usage
/// line, and where to find help.
pub fn translate_error(err: &clap::Error) -> String {
    let mut text = format!("erreur : {}", message(err));
    if let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) {
        let usage = plain(usage);
        let usage = usage.trim_start_matches("Usage:").trim();
        text.push_str("\n\nUtilisation : ");
        text.push_str(&translate_help(usage));
    }
    text.push_str("\n\nPour plus d'informations, essayez « --help ».\n");
    text
}

fn plain(styled: &StyledStr) -> String {
    styled.to_string()
}

fn string(err: &clap::Error, kind: ContextKind) -> Option<&str> {
    match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s),
        _ => None,
    }
}

fn strings(err: &clap::Error, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn list(values: &[String]) -> String {
    values.join(", ")
}

fn message(err: &clap::Error) -> String {
    let arg = string(err, ContextKind::InvalidArg).unwrap_or("?");
    let value = string(err, ContextKind::InvalidValue).unwrap_or("");
    let mut text = match err.kind() {
        ErrorKind::InvalidValue if value.is_empty() => {
            format!("« {arg} » demande une valeur, aucune n'a été donnée")
        }
        ErrorKind::InvalidValue => {
            let mut text = format!("valeur « {value} » invalide pour « {arg} »");
            let valid = strings(err, ContextKind::ValidValue);
            if !valid.is_empty() {
                text.push_str(&format!("\n  [valeurs possibles : {}]", list(&valid)));
            }
            text
        }
        ErrorKind::ValueValidation => {
            let mut text = format!("valeur « {value} » invalide pour « {arg} »");
            if let Some(source) = err.source() {
                text.push_str(" : ");
                text.push_str(&value_error(source));
            }
            text
        }
        ErrorKind::UnknownArgument => format!("argument inattendu « {arg} »"),
        ErrorKind::InvalidSubcommand => format!(
            "sous-commande inconnue « {} »",
            string(err, ContextKind::InvalidSubcommand).unwrap_or("?")
        ),
        ErrorKind::MissingSubcommand => format!(
            "« {} » demande une sous-commande\n  [sous-commandes : {}]",
            string(err, ContextKind::InvalidSubcommand).unwrap_or("?"),
            list(&strings(err, ContextKind::ValidSubcommand))
        ),
        ErrorKind::MissingRequiredArgument => {
            let mut text = String::from("arguments obligatoires manquants :");
            for missing in strings(err, ContextKind::InvalidArg) {
                text.push_str("\n  ");
                text.push_str(&missing);
            }
            text
        }
        ErrorKind::ArgumentConflict => {
            let prior = strings(err, ContextKind::PriorArg);
            if prior.iter().any(|p| p == arg) || prior.is_empty() {
                format!("l'argument « {arg} » ne peut être donné qu'une fois")
            } else {
                format!(
                    "l'argument « {arg} » ne va pas avec « {} »",
                    prior.join(" », « ")
                )
            }
        }
        ErrorKind::TooManyValues => {
            format!("valeur inattendue « {value} » pour « {arg} » : il n'en faut pas plus")
        }
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("nombre de valeurs incorrect pour « {arg} »")
        }
        ErrorKind::NoEquals => format!("« {arg} » s'écrit avec un signe = (« {arg}=VALEUR »)"),
        ErrorKind::InvalidUtf8 => "argument qui n'est pas de l'UTF-8 valide".to_string(),
        ErrorKind::Io | ErrorKind::Format => "écriture de l'aide impossible".to_string(),
        _ => "ligne de commande invalide".to_string(),
    };
    for suggested in strings(err, ContextKind::SuggestedArg) {
        text.push_str(&format!(
            "\n\n  astuce : vouliez-vous dire « {suggested} » ?"
        ));
    }
    for suggested in strings(err, ContextKind::SuggestedSubcommand) {
        text.push_str(&format!(
            "\n\n  astuce : vouliez-vous dire « {suggested} » ?"
        ));
    }
    for suggested in strings(err, ContextKind::SuggestedValue) {
        text.push_str(&format!(
            "\n\n  astuce : vouliez-vous dire « {suggested} » ?"
        ));
    }
    text
}

/// Why a value did not parse, for the parsers clap uses on our types
/// (integers, floats, IP addresses); our own parsers already speak French.
fn value_error(source: &(dyn std::error::Error + 'static)) -> String {
    if let Some(e) = source.downcast_ref::<ParseIntError>() {
        use std::num::IntErrorKind;
        return match e.kind() {
            IntErrorKind::Empty => "valeur vide".into(),
            IntErrorKind::PosOverflow => "nombre trop grand".into(),
            IntErrorKind::NegOverflow => "nombre trop petit".into(),
            _ => "ce n'est pas un nombre entier".into(),
        };
    }
    if source.downcast_ref::<ParseFloatError>().is_some() {
        return "ce n'est pas un nombre".into();
    }
    if source.downcast_ref::<std::net::AddrParseError>().is_some() {
        return "ce n'est pas une adresse IP (par exemple 127.0.0.1 ou ::1)".into();
    }
    let text = source.to_string();
    // clap's range check on integers: "70000 is not in 0..=65535".
    if let Some((value, range)) = text.split_once(" is not in ") {
        if let Some((low, high)) = range.split_once("..=") {
            return format!("{value} n'est pas entre {low} et {high}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Essai.
    #[derive(Debug, Parser)]
    #[command(name = "essai", version)]
    struct Args {
        /// Port.
        #[arg(long, default_value_t = 5)]
        port: u16,
        /// Adresse.
        #[arg(long)]
        bind: Option<std::net::IpAddr>,
        /// Mode.
        #[arg(long, value_enum, default_value = "un")]
        mode: Mode,
        fichier: Option<String>,
    }

    #[derive(Debug, Clone, Copy, clap::ValueEnum)]
    enum Mode {
        Un,
        Deux,
    }

    fn error(args: &[&str]) -> String {
        use clap::CommandFactory;
        let err = frenchify(Args::command())
            .try_get_matches_from(args)
            .unwrap_err();
        match err.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => translate_help(&err.to_string()),
            _ => translate_error(&err),
        }
    }

    #[test]
    fn help_is_french() {
        let help = error(&["essai", "--help"]);
        assert!(
            help.contains("Utilisation : essai [OPTIONS] [FICHIER]"),
            "{help}"
        );
        assert!(help.contains("\nOptions :\n"), "{help}");
        assert!(help.contains("\nArguments :\n"), "{help}");
        assert!(help.contains("[défaut : 5]"), "{help}");
        assert!(help.contains("[valeurs possibles : un, deux]"), "{help}");
        assert!(help.contains("Affiche cette aide"), "{help}");
        assert!(help.contains("Affiche la version"), "{help}");
        assert!(!help.contains("Usage") && !help.contains("Print"), "{help}");
    }

    #[test]
    fn errors_are_french() {
        assert_eq!(
            error(&["essai", "--porte", "3"]),
            "erreur : argument inattendu « --porte »\n\n  astuce : vouliez-vous dire « --port » ?\
             \n\nUtilisation : essai --port <PORT> [FICHIER]\n\nPour plus d'informations, essayez « --help ».\n"
        );
        let e = error(&["essai", "--port", "70000"]);
        assert!(e.starts_with("erreur : valeur « 70000 » invalide pour « --port <PORT> » : 70000 n'est pas entre 0 et 65535\n"), "{e}");
        let e = error(&["essai", "--port", "x"]);
        assert!(e.contains("ce n'est pas un nombre entier"), "{e}");
        let e = error(&["essai", "--bind", "1.2.3"]);
        assert!(e.contains("ce n'est pas une adresse IP"), "{e}");
        let e = error(&["essai", "--mode", "trois"]);
        assert!(e.contains("[valeurs possibles : un, deux]"), "{e}");
        let e = error(&["essai", "--port"]);
        assert!(e.contains("demande une valeur"), "{e}");
    }
}
