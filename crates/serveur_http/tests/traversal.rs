//! No request, however spelled, gets a file from outside the served folder.

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::*;

const SECRET: &str = "SECRET-HORS-RACINE";

#[test]
fn no_path_leaves_the_root() {
    // dir/secret.txt is outside dir/root/, which is served.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for lang in ["fr", "en"] {
        fs::create_dir_all(root.join(lang).join("pages")).unwrap();
        fs::write(root.join(lang).join("index.html"), format!("index {lang}")).unwrap();
    }
    fs::write(root.join("page404.html"), "introuvable").unwrap();
    fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
    fs::write(dir.path().join("secret.html"), SECRET).unwrap();
    fs::write(root.join("en/.hidden.html"), SECRET).unwrap();
    // Symlinks leading out, in the served folder itself.
    symlink("../../secret.txt", root.join("en/lien.txt")).unwrap();
    symlink(dir.path().join("secret.html"), root.join("en/absolu.html")).unwrap();
    symlink("../..", root.join("en/haut")).unwrap();
    symlink("/etc", root.join("en/etc")).unwrap();
    // And one that stays inside, which is fine.
    symlink("index.html", root.join("en/alias.html")).unwrap();

    let server = Server::start_raw(&["--port", "0", "--silencieux"], Some(&root));
    let attempts = [
        "/../secret.txt",
        "/../../secret.txt",
        "/..",
        "/pages/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/pages\\..\\..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/....//secret.txt",
        "//../secret.txt",
        "/./../secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/..%00/secret.txt",
        "/secret.txt%00.html",
        "/%00../secret.txt",
        "/etc/passwd",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd%00",
        "http://localhost/../secret.txt",
        "../secret.txt",
        "/lien.txt",
        "/absolu.html",
        "/haut/secret.txt",
        "/haut/secret.html",
        "/etc/hostname",
        "/etc/passwd",
        "/.hidden.html",
        "/%2ehidden.html",
        "/fr/../../secret.txt",
        "/../root/en/index.html",
    ];
    assert!(attempts.len() >= 25);
    for target in attempts {
        for language in [None, Some("fr")] {
            let answer = get(server.addr, target, language);
            let text = String::from_utf8_lossy(&answer);
            let status = status_line(&answer);
            assert!(
                status == "HTTP/1.0 404 NotFound" || status == "HTTP/1.0 400 Bad Request",
                "{target}: {text}"
            );
            assert!(!text.contains(SECRET), "{target} leaked the secret: {text}");
            assert!(!text.contains("root:"), "{target} leaked /etc/passwd");
        }
    }
    // The server is still up and serves what is inside, links included.
    let ok = String::from_utf8(get(server.addr, "/alias.html", None)).unwrap();
    assert!(
        ok.starts_with("HTTP/1.0 200 OK\r\n") && ok.ends_with("index en\n"),
        "{ok}"
    );
}
