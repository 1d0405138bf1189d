//! Every binary of the workspace speaks French: its `--help` (and each
//! subcommand's), and a usage error. The binaries come from `cargo metadata`,
//! so one added later is checked without editing this file.

use std::process::{Command, Output};

use e2e::{binary, workspace_binaries};

/// English words clap (or Rust's error texts) would leave behind. Checked as
/// whole words, after removing the `--help` flag's own name.
const ENGLISH: &[&str] = &[
    "usage",
    "print",
    "help",
    "error",
    "unexpected",
    "found",
    "default",
    "possible",
    "values",
    "value",
    "required",
    "invalid",
    "tip",
    "subcommand",
    "subcommands",
    "commands",
    "command",
    "information",
    "the",
    "for",
    "and",
    "with",
    "not",
    "provided",
    "more",
    "try",
    "address",
    "already",
    "use",
    "failed",
];

fn english_words(text: &str) -> Vec<String> {
    let text = text.replace("--help", "");
    // Text between backquotes is literal (a protocol's command such as
    // `/HELP`, an option), not prose to translate.
    let text: String = text
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join(" ");
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| ENGLISH.contains(&word.to_lowercase().as_str()))
        .map(str::to_string)
        .collect()
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(binary(bin))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
}

/// The subcommands listed under `Commandes :` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commandes :\n")
        .nth(1)
        .map(|section| {
            section
                .lines()
                .take_while(|line| line.starts_with("  "))
                .filter_map(|line| line.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn check_help(bin: &str, args: &[&str]) {
    let out = run(bin, args);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{bin} {args:?}: {:?}", out.status);
    assert!(help.contains("Utilisation : "), "{bin} {args:?}:\n{help}");
    let english = english_words(&help);
    assert!(
        english.is_empty(),
        "{bin} {args:?}: anglais {english:?} dans :\n{help}"
    );
    // And each subcommand's, at every depth (`serveur_http fiche decode`).
    let path = &args[..args.len() - 1];
    for sub in subcommands(&help) {
        let mut deeper: Vec<&str> = path.to_vec();
        deeper.push(&sub);
        deeper.push("--help");
        check_help(bin, &deeper);
    }
}

#[test]
fn every_binary_helps_in_french() {
    let binaries = workspace_binaries();
    assert!(binaries.len() >= 8, "{binaries:?}");
    for (_, bin) in &binaries {
        check_help(bin, &["--help"]);
    }
}

#[test]
fn every_binary_reports_usage_errors_in_french() {
    for (_, bin) in workspace_binaries() {
        let out = run(&bin, &["--option-inexistante"]);
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bin}: {text}");
        assert!(out.stdout.is_empty(), "{bin}");
        assert!(
            text.starts_with("erreur : argument inattendu « --option-inexistante »"),
            "{bin}:\n{text}"
        );
        let english = english_words(&text);
        assert!(
            english.is_empty(),
            "{bin}: anglais {english:?} dans :\n{text}"
        );
    }
}

#[test]
fn a_bad_value_is_explained_in_french() {
    let out = run("date_client", &["--port", "70000"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.starts_with(
            "erreur : valeur « 70000 » invalide pour « --port <PORT> » : 70000 n'est pas entre 0 et 65535\n"
        ),
        "{text}"
    );
}

#[test]
fn a_busy_port_is_reported_in_french() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run("date_server", &["--port", &port]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Adresse déjà utilisée"), "{text}");
    assert!(english_words(&text).is_empty(), "{text}");
}

#[test]
fn an_unknown_host_is_reported_in_french() {
    let out = run("date_client", &["--serveur", "nom-inexistant.invalid"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("date_client: "), "{text}");
    // The reserved `.invalid` name itself is not a leftover.
    let text = text.replace("nom-inexistant.invalid", "");
    assert!(english_words(&text).is_empty(), "{text}");
}

/// `cargo run -p PACKAGE` runs as typed for every package: one with several
/// binaries names the one to run by default.
#[test]
fn every_package_with_several_binaries_has_a_default_run() {
    let metadata = e2e::cargo_metadata();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let bins: Vec<&str> = package["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        if bins.len() > 1 {
            let default = package["default_run"].as_str();
            assert!(
                default.is_some_and(|d| bins.contains(&d)),
                "{name}: plusieurs binaires {bins:?} et pas de default-run"
            );
        }
    }
}
