//! `exercises.md` cannot drift from the programs: every `console` block is
//! run and its output compared with what the block shows.
//!
//! # How a block is written
//!
//! ````markdown
//! ```console
//! $ cargo run -q -p decodeur_trame --bin decodeur_trame -- exemples
//! what the command prints (stdout, then stderr)
//! ...
//! ```
//! ````
//!
//! - Lines starting with `$ ` are commands (a line ending with ` \` goes on
//!   on the next one); the lines up to the next command are its output.
//!   Commands run with `sh -c` from the workspace's root, stdin empty; stdout
//!   and stderr are compared together (`2>&1`), CRLF read as LF, blank
//!   lines at the end of an output left out.
//! - `...` alone on a line stands for any number of lines (none included);
//!   `...` inside a line stands for any text on that line (a date, a port).
//! - A block whose command needs a server, a network peer, root, or someone
//!   at the keyboard is marked ```` ```console serveur ````: it is shown, not
//!   run. Its `cargo run` commands are still checked (the package and the
//!   binary exist, the form is `cargo run -q -p PACKAGE --bin BINARY`).
//! - Other blocks (```` ```text ````, ```` ```rust ````, ```` ```mermaid ````) are
//!   not looked at.
//!
//! `cargo run -q -p P --bin B --` is run as the binary `B`, built once by the
//! test (the same program, without a nested cargo).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{binary, workspace_binaries, workspace_root};

/// How long one command may run.
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    run: bool,
    steps: Vec<Step>,
}

#[derive(Debug)]
struct Step {
    command: String,
    expected: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let mut words = info.split_whitespace();
        let is_console = words.next() == Some("console");
        let run = !words.any(|w| w == "serveur");
        let mut steps: Vec<Step> = Vec::new();
        let mut pending: Option<String> = None;
        for (_, body) in lines.by_ref() {
            if body.trim_start().starts_with("```") {
                break;
            }
            if !is_console {
                continue;
            }
            if let Some(command) = pending.as_mut() {
                command.push(' ');
                command.push_str(body.trim_end_matches('\\').trim());
                if !body.ends_with('\\') {
                    let command = pending.take().unwrap();
                    steps.push(Step {
                        command,
                        expected: Vec::new(),
                    });
                }
            } else if let Some(command) = body.strip_prefix("$ ") {
                if let Some(start) = command.strip_suffix('\\') {
                    pending = Some(start.trim().to_string());
                } else {
                    steps.push(Step {
                        command: command.to_string(),
                        expected: Vec::new(),
                    });
                }
            } else if let Some(step) = steps.last_mut() {
                step.expected.push(body.to_string());
            }
        }
        if is_console {
            blocks.push(Block {
                line: n + 1,
                run,
                steps,
            });
        }
    }
    blocks
}

/// Every `cargo run ...` in `command`: checks its form and names, and returns
/// the command with each replaced by the path of the binary.
fn resolve_cargo_runs(command: &str, where_: &str) -> String {
    let binaries = workspace_binaries();
    let mut out = String::new();
    let mut rest = command;
    while let Some(at) = rest.find("cargo run") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let words: Vec<&str> = tail.split(' ').collect();
        // cargo run -q -p PACKAGE --bin BINARY [-- ARGS]
        assert!(
            words.len() >= 7 && words[2] == "-q" && words[3] == "-p" && words[5] == "--bin",
            "{where_}: écrire « cargo run -q -p PAQUET --bin BINAIRE -- ARGS » : {command}"
        );
        let (package, bin) = (words[4], words[6]);
        assert!(
            binaries.iter().any(|(p, b)| p == package && b == bin),
            "{where_}: pas de binaire {bin} dans le paquet {package} : {command}"
        );
        let mut used = words[..7].join(" ").len();
        if tail[used..].starts_with(" --") {
            used += 3;
        }
        out.push_str(&format!("'{}'", binary(bin).display()));
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

/// Runs `command` with `sh -c`, stdout and stderr together.
fn run(command: &str) -> String {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{command} 2>&1"))
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sh");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("{command}: toujours en cours après {TIMEOUT:?} (bloc à marquer `console serveur` ?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let bytes = reader.join().unwrap();
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Whether `line` matches `pattern`, where `...` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether `lines` match `patterns`, where a `...` line stands for any
/// number of lines.
fn lines_match(patterns: &[String], lines: &[&str]) -> bool {
    match patterns.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "..." => {
            (0..=lines.len()).any(|skip| lines_match(rest, &lines[skip..]))
        }
        Some((p, rest)) => lines
            .split_first()
            .is_some_and(|(l, more)| line_matches(p, l) && lines_match(rest, more)),
    }
}

fn check_document(name: &str) -> usize {
    let path = workspace_root().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut ran = 0;
    let mut failures = Vec::new();
    for block in blocks(&text) {
        for step in &block.steps {
            let where_ = format!("{name}:{}", block.line);
            let command = resolve_cargo_runs(&step.command, &where_);
            if !block.run {
                continue;
            }
            let output = run(&command);
            // Blank lines at the end of an output are compared loosely: at
            // the end of a block they are layout.
            let mut lines: Vec<&str> = output.lines().collect();
            while lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
            let mut expected = step.expected.clone();
            while expected.last().is_some_and(|l| l.is_empty()) {
                expected.pop();
            }
            if !lines_match(&expected, &lines) {
                failures.push(format!(
                    "{where_}: $ {}\n--- attendu (le document)\n{}\n--- obtenu\n{output}",
                    step.command,
                    expected.join("\n")
                ));
            }
            ran += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    ran
}

#[test]
fn every_console_block_of_exercises_md_prints_what_it_shows() {
    let ran = check_document("exercises.md");
    assert!(ran >= 10, "only {ran} commands run");
}

#[test]
fn the_readme_and_conception_commands_name_real_binaries() {
    for name in ["README.md", "CONCEPTION.md"] {
        if workspace_root().join(name).exists() {
            check_document(name);
        }
    }
}

#[test]
fn the_matchers() {
    assert!(line_matches("a...c", "abbbc"));
    assert!(!line_matches("a...c", "abbb"));
    assert!(line_matches("port ...", "port 5005"));
    let lines = ["x", "y", "z"];
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&p(&["x", "...", "z"]), &lines));
    assert!(lines_match(&p(&["...", "x", "y", "z"]), &lines));
    assert!(!lines_match(&p(&["x", "z"]), &lines));
}

/// The top of `exercises.md` says how to get the short names:
/// `cargo install --path crates/PACKAGE`. Checked on the package with two
/// binaries (into a temporary folder, reusing the workspace's build).
#[test]
fn cargo_install_puts_both_date_programs_on_the_path() {
    let text = std::fs::read_to_string(workspace_root().join("exercises.md")).unwrap();
    assert!(
        text.contains("cargo install --path crates/"),
        "exercises.md"
    );
    let root = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "install",
            "--quiet",
            "--offline",
            "--debug",
            "--path",
            "crates/date_server",
        ])
        .arg("--root")
        .arg(root.path())
        .arg("--target-dir")
        .arg(workspace_root().join("target"))
        .status()
        .unwrap();
    assert!(status.success());
    for bin in ["date_server", "date_client"] {
        let out = Command::new(root.path().join("bin").join(bin))
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{bin}");
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Utilisation : {bin}")));
    }
}
