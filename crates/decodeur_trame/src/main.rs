//! `decodeur_trame`: decodes Ethernet frames as lab 16's `decodeur_trame.py`
//! prints them. Parses the command line and calls the library; see the
//! library for the layout of the crate.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use decodeur_trame::filter::{Filter, Protocole};
use decodeur_trame::live::LiveConfig;
use decodeur_trame::{
    generate, print_capture, print_examples, print_frame_text, print_live, Stats, View, BINARY,
    OUTPUT_BUFFER,
};
use server_kit::cli::{finish, BoxError};
use server_kit::Shutdown;

/// Décode des trames Ethernet comme le decodeur_trame.py du TP 16.
#[derive(Debug, Parser)]
#[command(name = BINARY, version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Réponses de 16.1, 16.2, 16.7 et 16.9 (struct.unpack, décalage de bits, adresses).
    Exemples,
    /// Décode une trame donnée en hexadécimal ou en littéral Python b'...'.
    Trame {
        /// La trame : "52 0c c7 ...", "52:0c:c7:...", b'R\x0c\xc7...', ou - pour l'entrée standard.
        trame: String,
        #[command(flatten)]
        affichage: Affichage,
    },
    /// Décode toutes les trames d'un fichier pcap ou pcapng (- : entrée standard).
    Pcap {
        /// Fichier de capture (tcpdump -w, Wireshark), ou - pour l'entrée standard.
        fichier: PathBuf,
        /// Compte les protocoles rencontrés (sur la sortie d'erreur).
        #[arg(long)]
        stats: bool,
        /// S'arrête après N trames affichées.
        #[arg(long, short = 'n')]
        nombre: Option<u64>,
        #[command(flatten)]
        affichage: Affichage,
        #[command(flatten)]
        filtre: Filtre,
    },
    /// Capture et décode les trames d'une interface (16.12 ; root ou CAP_NET_RAW).
    Live {
        /// Interface à écouter, par exemple lo ou eth0 (toutes par défaut).
        #[arg(long, short = 'i')]
        interface: Option<String>,
        /// S'arrête après N trames affichées (sinon Ctrl-C).
        #[arg(long, short = 'n')]
        nombre: Option<u64>,
        /// Compte les protocoles rencontrés (sur la sortie d'erreur).
        #[arg(long)]
        stats: bool,
        #[command(flatten)]
        affichage: Affichage,
        #[command(flatten)]
        filtre: Filtre,
    },
    /// Écrit un fichier pcap de trames variées et déterministes (banc d'essai).
    #[command(hide = true)]
    Generer {
        fichier: PathBuf,
        #[arg(long, default_value_t = 500_000)]
        nombre: u64,
        #[arg(long, default_value_t = 16)]
        graine: u64,
    },
}

/// Ce qui est affiché de chaque trame.
#[derive(Debug, Args)]
struct Affichage {
    /// Ajoute ce que montre tshark : longueur totale, identification, drapeaux, TTL et checksums IP ; numéros de séquence, drapeaux et fenêtre TCP ; checksums UDP/ICMP.
    #[arg(long)]
    details: bool,
    /// Dessine chaque en-tête comme sa RFC (cases de 32 bits remplies avec les valeurs de la trame).
    #[arg(long, conflicts_with = "details")]
    schema: bool,
}

/// Quelles trames sont affichées.
#[derive(Debug, Args)]
struct Filtre {
    /// Seulement les trames TCP ou UDP de ce port (source ou destination).
    #[arg(long)]
    port: Option<u16>,
    /// Seulement les trames de ce protocole.
    #[arg(long, value_enum)]
    protocole: Option<Protocole>,
}

fn view(affichage: &Affichage, filtre: Option<&Filtre>, limit: Option<u64>) -> View {
    View {
        details: affichage.details,
        schema: affichage.schema,
        filter: filtre.map_or_else(Filter::default, |f| Filter {
            port: f.port,
            protocole: f.protocole,
        }),
        limit,
    }
}

fn main() -> ExitCode {
    let cli = server_kit::cli::parse::<Cli>();
    finish(BINARY, run(cli.command))
}

fn stdout_writer() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock())
}

fn print_stats(stats: &Stats) {
    eprint!("{BINARY}: statistiques\n{}", stats.report());
}

fn run(command: Command) -> Result<(), BoxError> {
    match command {
        Command::Exemples => print_examples(stdout_writer()),
        Command::Trame { trame, affichage } => {
            let text = if trame == "-" {
                let mut text = String::new();
                // A frame is a few hundred KiB of text at most: bound the read.
                io::stdin().take(16 << 20).read_to_string(&mut text)?;
                text
            } else {
                trame
            };
            print_frame_text(&text, &view(&affichage, None, None), stdout_writer())
        }
        Command::Pcap {
            fichier,
            stats,
            nombre,
            affichage,
            filtre,
        } => {
            let view = view(&affichage, Some(&filtre), nombre);
            let (counts, result) = if fichier.as_os_str() == "-" {
                print_capture(io::stdin().lock(), &view, stdout_writer())
            } else {
                let file = File::open(&fichier)
                    .map_err(|e| format!("impossible d'ouvrir {} : {e}", fichier.display()))?;
                print_capture(file, &view, stdout_writer())
            };
            if stats {
                print_stats(&counts);
            }
            result
        }
        Command::Live {
            interface,
            nombre,
            stats,
            affichage,
            filtre,
        } => {
            let view = view(&affichage, Some(&filtre), None);
            let shutdown = Shutdown::new();
            shutdown.install_ctrlc()?;
            let config = LiveConfig {
                interface,
                count: nombre,
            };
            let (counts, result) = print_live(&config, &view, &shutdown, stdout_writer());
            if stats {
                print_stats(&counts);
            }
            result
        }
        Command::Generer {
            fichier,
            nombre,
            graine,
        } => {
            let file = File::create(&fichier)
                .map_err(|e| format!("impossible de créer {} : {e}", fichier.display()))?;
            let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, file);
            generate::write_pcap(&mut out, nombre, graine)?;
            out.flush()?;
            Ok(())
        }
    }
}
