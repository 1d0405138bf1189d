//! Lab 17 with real peers: curl, client_http and headless Chromium against
//! serveur_http (each test skips with a message when its peer is missing).

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use e2e::{binary, have_program, workspace_root, Server};

fn pages() -> PathBuf {
    workspace_root().join("pages_serveur")
}

fn start_server(extra: &[&str]) -> Server {
    let root = pages();
    let mut args = vec![
        "--port",
        "0",
        "--silencieux",
        "--racine",
        root.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start("serveur_http", &args, 1)
}

/// The sheet's answer for a page: exact bytes.
fn sheet_answer(status_line: &str, file: &str) -> String {
    let content = std::fs::read_to_string(pages().join(file)).unwrap();
    format!(
        "{status_line}\r\nContent-Type:text/html\r\nContent-Length:{}\r\n\r\n{content}\n",
        content.len() + 1
    )
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

#[test]
fn curl_with_and_without_accept_language() {
    if !have_program("curl") {
        e2e::skip(
            "SKIP curl_with_and_without_accept_language: curl not installed (apt-get install curl)",
        );
        return;
    }
    let server = start_server(&[]);
    let curl = |path: &str, headers: &[&str]| {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-i", "--max-time", "10"]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        let out = run(cmd.arg(url(server.addr(), path)));
        assert!(out.status.success(), "curl {path}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        curl("/page1.html", &["Accept-Language: fr"]),
        sheet_answer("HTTP/1.0 200 OK", "fr/page1.html")
    );
    assert_eq!(
        curl("/page1.html", &["Accept-Language: fr-FR,en;q=0.3"]),
        sheet_answer("HTTP/1.0 200 OK", "fr/page1.html")
    );
    assert_eq!(
        curl("/page1.html", &[]),
        sheet_answer("HTTP/1.0 200 OK", "en/page1.html")
    );
    assert_eq!(
        curl("/autres_pages/nulle_part.html", &["Accept-Language: fr"]),
        sheet_answer("HTTP/1.0 404 NotFound", "page404.html")
    );
    // curl --path-as-is sends the dots as typed: still nothing outside.
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--path-as-is",
    ])
    .arg(url(server.addr(), "/../../Cargo.toml"));
    assert_eq!(String::from_utf8(run(&mut cmd).stdout).unwrap(), "404");
}

#[test]
fn curl_over_ipv6_with_keep_alive() {
    if !have_program("curl") {
        e2e::skip("SKIP curl_over_ipv6_with_keep_alive: curl not installed");
        return;
    }
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        e2e::skip("SKIP curl_over_ipv6_with_keep_alive: no IPv6 loopback");
        return;
    }
    let server = start_server(&["--bind", "::1", "--keep-alive"]);
    // Two URLs in one curl: the second reuses the connection.
    let out = run(Command::new("curl")
        .args(["-s", "-v", "-o", "/dev/null", "-o", "/dev/null"])
        .args([
            url(server.addr(), "/page1.html"),
            url(server.addr(), "/pages/index.html"),
        ]));
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("< HTTP/1.1 200 OK"), "{log}");
    assert!(
        log.contains("Re-using existing connection") || log.contains("Reusing existing"),
        "{log}"
    );
}

#[test]
fn client_http_against_serveur_http() {
    let server = start_server(&[]);
    let client = binary("client_http");
    let out = run(Command::new(&client)
        .arg(url(server.addr(), "/page1.html"))
        .args(["--langue", "fr"]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        sheet_answer("HTTP/1.0 200 OK", "fr/page1.html")
    );

    let out = run(Command::new(&client)
        .arg(url(server.addr(), "/pages/index.html"))
        .args(["--langue", "en"]));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        sheet_answer("HTTP/1.0 200 OK", "en/pages/index.html")
    );
    // Whatever the status, exit 0.
    let out = run(Command::new(&client).arg(url(server.addr(), "/absente.html")));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        sheet_answer("HTTP/1.0 404 NotFound", "page404.html")
    );

    // The sheet's 17.1 pair: the client prints "Bien reçu !".
    let bien_recu = start_server(&["--bien-recu"]);
    let out = run(Command::new(&client).arg(url(bien_recu.addr(), "/index.html")));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "Bien reçu !\n");

    // Nobody listening: one line, exit 1.
    let port = bien_recu.addr().port();
    drop(bien_recu);
    let out = run(Command::new(&client).arg(format!("http://127.0.0.1:{port}/")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("connexion refusée"), "{stderr}");
}

/// A student's `clientHTTP.py` as the sheet describes it (17.1): one
/// request with Python's socket module, the answer printed as received.
const PYTHON_CLIENT: &str = r#"
import socket, sys
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", int(sys.argv[1])))
requete = "GET " + sys.argv[2] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
if len(sys.argv) > 3:
    requete += "Accept-Language: " + sys.argv[3] + "\r\n"
client.send((requete + "\r\n").encode())
reponse = b""
while True:
    morceau = client.recv(1024)
    if not morceau:
        break
    reponse += morceau
client.close()
sys.stdout.write(reponse.decode())
"#;

#[test]
fn a_python_client_as_the_sheet_writes_it() {
    if !have_program("python3") {
        e2e::skip("SKIP a_python_client_as_the_sheet_writes_it: python3 not installed");
        return;
    }
    let server = start_server(&[]);
    let port = server.addr().port().to_string();
    let python = |args: &[&str]| {
        let out = run(Command::new("python3")
            .args(["-c", PYTHON_CLIENT, &port])
            .args(args));
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        python(&["/page1.html", "fr-FR,en;q=0.3"]),
        sheet_answer("HTTP/1.0 200 OK", "fr/page1.html")
    );
    assert_eq!(
        python(&["/autres_pages/toto.html"]),
        sheet_answer("HTTP/1.0 200 OK", "en/autres_pages/toto.html")
    );
    assert_eq!(
        python(&["/absente.html", "fr"]),
        sheet_answer("HTTP/1.0 404 NotFound", "page404.html")
    );
}

#[test]
fn client_http_over_ipv6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        e2e::skip("SKIP client_http_over_ipv6: no IPv6 loopback");
        return;
    }
    let server = start_server(&["--bind", "::1"]);
    let out = run(Command::new(binary("client_http"))
        .arg(format!("http://[::1]:{}/page1.html", server.addr().port()))
        .args(["--langue", "fr"]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        sheet_answer("HTTP/1.0 200 OK", "fr/page1.html")
    );
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|p| have_program(p))
}

/// `chromium --headless --dump-dom` with the given Accept-Language.
fn dump_dom(browser: &str, accept_lang: &str, target: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--accept-lang={accept_lang}"))
        .arg("--dump-dom")
        .arg(target)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut dom = String::new();
        let _ = stdout.read_to_string(&mut dom);
        dom
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

#[test]
fn headless_chromium_gets_french_and_english_pages() {
    let Some(browser) = chromium() else {
        e2e::skip("SKIP headless_chromium_gets_french_and_english_pages: chromium not installed (apt-get install chromium)");
        return;
    };
    let server = start_server(&[]);
    let page = url(server.addr(), "/pages/index.html");
    let fr = dump_dom(browser, "fr-FR", &page);
    assert!(fr.contains("<h1>Voici pages/index.html !</h1>"), "{fr}");
    assert!(fr.contains("lang=\"fr\""), "{fr}");
    let en = dump_dom(browser, "en-US", &page);
    assert!(en.contains("<h1>This is pages/index.html !</h1>"), "{en}");
    // UTF-8 accents survive (the page declares its charset).
    let missing = dump_dom(browser, "fr-FR", &url(server.addr(), "/absente.html"));
    assert!(missing.contains("Page non trouvée !!"), "{missing}");
}

#[test]
fn ctrl_c_stops_serveur_http_with_a_browser_connection_open() {
    let server = start_server(&["--keep-alive"]);
    // An idle persistent connection, as a browser leaves one.
    let mut idle = std::net::TcpStream::connect(server.addr()).unwrap();
    std::io::Write::write_all(&mut idle, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let status = server.interrupt();
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}
