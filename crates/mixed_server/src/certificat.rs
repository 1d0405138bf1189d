//! `mixed_server certificat --dossier DIR`: a small certificate authority and
//! a server certificate it signs, for 5.1 (the sheet suggests OpenSSL; rcgen
//! does the same in-process, so no tool is needed).
//!
//! Why a CA and not one self-signed certificate: the client then trusts an
//! *authority* (`--ca ca.pem`) and the checks a real client makes (who
//! signed, until when, for which name) can each be shown failing.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The names a server certificate is issued for by default.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
pub const CA_FILE: &str = "ca.pem";
pub const CERT_FILE: &str = "serveur.pem";
pub const KEY_FILE: &str = "serveur.key";

/// The validity of a certificate, in whole years (1 January to 1 January).
#[derive(Debug, Clone, Copy)]
pub struct Years {
    pub from: i32,
    pub until: i32,
}

impl Years {
    /// From last year to `years` years from now: valid today, whatever the
    /// month and time zone.
    pub fn around_now(years: i32) -> Years {
        let now = current_year();
        Years {
            from: now - 1,
            until: now + years,
        }
    }
}

fn current_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Good to a day, which `around_now`'s margins absorb.
    1970 + (secs / 31_556_952) as i32
}

/// PEM texts of a CA and of a server certificate it signed.
#[derive(Debug)]
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Makes a CA and a server certificate for `names` (DNS names or IP
/// addresses) valid over `validity`.
pub fn make(names: &[&str], validity: Years) -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "tp-reseau TP 04 (autorité de test)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let years = Years::around_now(10);
    ca.not_before = rcgen::date_time_ymd(years.from, 1, 1);
    ca.not_after = rcgen::date_time_ymd(years.until, 1, 1);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut server = CertificateParams::new(names)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "mixed_server");
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = rcgen::date_time_ymd(validity.from, 1, 1);
    server.not_after = rcgen::date_time_ymd(validity.until, 1, 1);
    let cert = server.signed_by(&key, &issuer)?;
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Writes `ca.pem`, `serveur.pem` and `serveur.key` (mode 0600) into `dir`,
/// creating it; returns the three paths.
pub fn write(dir: &Path, pki: &Pki) -> io::Result<[PathBuf; 3]> {
    fs::create_dir_all(dir)?;
    let paths = [dir.join(CA_FILE), dir.join(CERT_FILE), dir.join(KEY_FILE)];
    fs::write(&paths[0], &pki.ca_pem)?;
    fs::write(&paths[1], &pki.cert_pem)?;
    // The key is never readable by others, not even for an instant:
    // created 0600 (an existing file is replaced, not reused).
    let _ = fs::remove_file(&paths[2]);
    let mut key = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&paths[2])?;
    key.write_all(pki.key_pem.as_bytes())?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_the_three_files_with_a_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let pki = make(&SERVER_NAMES, Years::around_now(2)).unwrap();
        let [ca, cert, key] = write(dir.path(), &pki).unwrap();
        assert!(fs::read_to_string(ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE"));
        assert!(fs::read_to_string(cert)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE"));
        let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // The files load as a server and a client configuration.
        server_kit::tls::server_config(&dir.path().join(CERT_FILE), &key).unwrap();
        server_kit::tls::client_config(&dir.path().join(CA_FILE)).unwrap();
    }
}
