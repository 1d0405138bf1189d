//! 5.1 and 5.4: TLS with our client and with `openssl s_client`, the three
//! refusals (wrong authority, expired, wrong name), plain and TLS peers
//! mismatched, and the capture check (the message text is visible on `lo`
//! in clear, not under TLS).

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{client, text, Running};
use mixed_server::certificat::{self, Years, SERVER_NAMES};

fn pki(dir: &Path, names: &[&str], validity: Years) {
    let pki = certificat::make(names, validity).unwrap();
    certificat::write(dir, &pki).unwrap();
}

fn tls_server(dir: &Path) -> Running {
    let dir = dir.to_str().unwrap();
    Running::start(
        "mixed_server",
        &["--port", "0", "--port-udp", "0", "--tls", "--dossier", dir],
    )
}

fn tls_client(server: &Running, host: &str, ca: &Path, message: &str) -> std::process::Output {
    let port = server.port().to_string();
    client(
        "mixed_client",
        &[
            "--tls",
            "--ca",
            ca.to_str().unwrap(),
            "--serveur",
            host,
            "--port",
            &port,
            "--protocole",
            "tcp",
            "--message",
            message,
        ],
        "",
    )
}

#[test]
fn certificat_writes_a_ca_a_certificate_and_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = client(
        "mixed_server",
        &["certificat", "--dossier", dir.path().to_str().unwrap()],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    let key = fs::metadata(dir.path().join("serveur.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    assert!(dir.path().join("ca.pem").exists() && dir.path().join("serveur.pem").exists());
}

#[test]
fn mixed_client_verifies_the_server_by_name_and_address() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path(), &SERVER_NAMES, Years::around_now(2));
    let server = tls_server(dir.path());
    let ca = dir.path().join("ca.pem");
    for host in ["localhost", "127.0.0.1"] {
        let out = tls_client(&server, host, &ca, "Bonjour serveur TCP");
        assert!(out.status.success(), "{host}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "Réponse du serveur : Message reçu via TCP\n"
        );
    }
    let lines = common::without_ports(&server.lines(5));
    assert_eq!(lines[2], "Reçu via TCP : Bonjour serveur TCP");
}

fn refused(validity: Years, names: &[&str], other_ca: bool) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path(), names, validity);
    let server = tls_server(dir.path());
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = if other_ca {
        pki(ca_dir.path(), &SERVER_NAMES, Years::around_now(2));
        ca_dir.path().join("ca.pem")
    } else {
        dir.path().join("ca.pem")
    };
    let out = tls_client(&server, "localhost", &ca, "secret");
    assert_eq!(out.stdout, b"");
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_certificate_from_another_authority_is_refused() {
    let (code, err) = refused(Years::around_now(2), &SERVER_NAMES, true);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "mixed_client: certificat refusé : il n'est pas signé par l'autorité donnée (--ca)\n"
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let (code, err) = refused(
        Years {
            from: 2000,
            until: 2001,
        },
        &SERVER_NAMES,
        false,
    );
    assert_eq!(code, Some(1));
    assert_eq!(err, "mixed_client: certificat refusé : il a expiré\n");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let (code, err) = refused(Years::around_now(2), &["ailleurs.example"], false);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "mixed_client: certificat refusé : il n'est pas émis pour ce nom de serveur (--serveur)\n"
    );
}

#[test]
fn openssl_s_client_connects_and_verifies_in_tls_1_2_and_1_3() {
    if !e2e::have_program("openssl") {
        return common::unavailable("openssl absent");
    }
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path(), &SERVER_NAMES, Years::around_now(2));
    let server = tls_server(dir.path());
    let connect = format!("127.0.0.1:{}", server.port());
    let ca = dir.path().join("ca.pem");
    for version in ["-tls1_2", "-tls1_3"] {
        let mut openssl = Command::new("openssl")
            .args(["s_client", "-connect", &connect, "-CAfile"])
            .arg(&ca)
            .args([
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                version,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut input = openssl.stdin.take().unwrap();
        input.write_all(b"Bonjour via openssl\n").unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let mut out = openssl.stdout.take().unwrap();
        let sink = Arc::clone(&seen);
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        // Stdin stays open until the answer came, then s_client ends.
        let answered = common::wait_for(|| {
            seen.lock()
                .unwrap()
                .contains("Message reçu via TCP")
                .then_some(())
        });
        drop(input);
        let status = openssl.wait().unwrap();
        reader.join().unwrap();
        let stdout = seen.lock().unwrap().clone();
        assert!(answered.is_some(), "{version}: no answer: {stdout}");
        assert!(status.success(), "{version}: {stdout}");
        assert!(stdout.contains("Verify return code: 0 (ok)"), "{stdout}");
        let protocol = if version == "-tls1_2" {
            "TLSv1.2"
        } else {
            "TLSv1.3"
        };
        assert!(stdout.contains(protocol), "{stdout}");
    }
}

#[test]
fn a_plain_client_on_the_tls_port_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path(), &SERVER_NAMES, Years::around_now(2));
    let server = tls_server(dir.path());
    let port = server.port().to_string();
    let started = Instant::now();
    let out = client(
        "mixed_client",
        &[
            "--serveur",
            "127.0.0.1",
            "--port",
            &port,
            "--protocole",
            "tcp",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "mixed_client: le serveur attend une connexion TLS (ajoutez --tls --ca ca.pem)\n"
    );
    assert!(started.elapsed() < Duration::from_secs(8), "not a hang");
    // The sheet's own client reads the same explanation as its answer.
    let out = client(
        "tcp_client",
        &["--serveur", "127.0.0.1", "--port", &port],
        "",
    );
    assert!(text(&out.stdout).contains("ce port attend une connexion TLS"));
}

#[test]
fn a_tls_client_on_a_plain_port_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path(), &SERVER_NAMES, Years::around_now(2));
    let plain = Running::start("mixed_server", &["--port", "0", "--port-udp", "0"]);
    let out = tls_client(&plain, "localhost", &dir.path().join("ca.pem"), "x");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "mixed_client: l'autre côté ne parle pas TLS (un serveur ou un client en clair ?)\n"
    );
}

/// Captures `lo` on `port` while `session` runs; returns the raw capture.
fn capture(port: u16, session: impl FnOnce()) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capture.pcap");
    let mut tshark = Command::new("tshark")
        .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    // tshark says "Capture started" once it captures (a moment after
    // "Capturing on 'Loopback: lo'"); a little margin after it still.
    let mut err = tshark.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        let mut told = false;
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !told && String::from_utf8_lossy(&seen).contains("Capture started") {
                told = tx.send(()).is_ok();
            }
        }
    });
    rx.recv_timeout(common::WAIT).ok()?;
    thread::sleep(Duration::from_millis(500));
    session();
    // Let the last packets reach the file, then stop tshark as Ctrl-C would.
    thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(tshark.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let _ = tshark.wait();
    fs::read(&file).ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_capture_shows_the_message_in_clear_but_not_under_tls() {
    if !e2e::is_root() || !e2e::have_program("tshark") {
        return common::unavailable("la capture sur lo demande root et tshark");
    }
    const SECRET: &str = "mot-de-passe-du-TP-04";
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path(), &SERVER_NAMES, Years::around_now(2));
    let ca = dir.path().join("ca.pem");

    let plain = Running::start("mixed_server", &["--port", "0", "--port-udp", "0"]);
    let port = plain.port();
    let seen = capture(port, || {
        let out = client(
            "mixed_client",
            &[
                "--serveur",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--protocole",
                "tcp",
                "--message",
                SECRET,
            ],
            "",
        );
        assert!(out.status.success());
    })
    .expect("tshark capture");
    assert!(
        contains(&seen, SECRET.as_bytes()),
        "clear text not captured"
    );
    assert!(contains(&seen, "Message reçu via TCP".as_bytes()));

    let tls = tls_server(dir.path());
    let port = tls.port();
    let seen = capture(port, || {
        let out = tls_client(&tls, "127.0.0.1", &ca, SECRET);
        assert!(out.status.success(), "{}", text(&out.stderr));
    })
    .expect("tshark capture");
    // The capture did see the session (handshake records)...
    assert!(seen.len() > 1000, "capture too small: {} bytes", seen.len());
    // ...but neither the message nor the answer in clear.
    assert!(!contains(&seen, SECRET.as_bytes()));
    assert!(!contains(&seen, "Message reçu via TCP".as_bytes()));
}

#[test]
fn missing_certificate_files_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = client(
        "mixed_server",
        &["--tls", "--dossier", d, "--port", "0"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("mixed_server: {d}/serveur.pem : fichier introuvable\n")
    );
}

#[test]
fn cert_and_cle_serve_files_made_with_openssl() {
    if !e2e::have_program("openssl") {
        return common::unavailable("openssl absent");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let ec = "ec_paramgen_curve:P-256";
    let (ca, ca_key) = (path("o-ca.crt"), path("o-ca.key"));
    let (cert, key, request) = (path("o.crt"), path("o.key"), path("o.csr"));
    let san = path("san.ext");
    fs::write(&san, "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    // An authority, then a server certificate for localhost that it signs.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        ec,
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=AC openssl",
        "-keyout",
        &ca_key,
        "-out",
        &ca,
    ]);
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        ec,
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &key,
        "-out",
        &request,
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &request,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &san,
        "-out",
        &cert,
    ]);
    let serve = |cert: &str, key: &str| {
        let tls = ["--port", "0", "--port-udp", "0", "--tls"];
        Running::start(
            "mixed_server",
            &[&tls[..], &["--cert", cert, "--cle", key]].concat(),
        )
    };
    let server = serve(&cert, &key);
    let out = tls_client(&server, "localhost", Path::new(&ca), "par openssl");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Réponse du serveur : Message reçu via TCP\n"
    );
    drop(server);
    // A classic mistake: serving the authority's own certificate.
    let server = serve(&ca, &ca_key);
    let out = tls_client(&server, "localhost", Path::new(&ca), "secret");
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(1), &b""[..])
    );
    assert_eq!(
        text(&out.stderr),
        "mixed_client: certificat refusé : c'est un certificat d'autorité, pas celui d'un serveur\n"
    );
}
