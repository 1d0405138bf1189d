//! TLS configurations from PEM files, with errors a student can act on.
//!
//! Why here: every TLS server and client of the labs loads a certificate
//! chain and a key (server) or a CA (client) the same way; the provider is
//! rustls' `ring` one, with TLS 1.2 and 1.3 (its safe defaults).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A configuration that could not be built.
#[derive(Debug)]
pub struct TlsSetupError {
    pub path: PathBuf,
    pub what: String,
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} : {}", self.path.display(), self.what)
    }
}

impl std::error::Error for TlsSetupError {}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn error(path: &Path, what: impl fmt::Display) -> TlsSetupError {
    TlsSetupError {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

/// Reads every certificate of a PEM file (the server's first, then its chain).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(path, pem_reason(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(path, pem_reason(&e)))?;
    if certs.is_empty() {
        return Err(error(path, "aucun certificat PEM dans ce fichier"));
    }
    Ok(certs)
}

fn pem_reason(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::NotFound => "fichier introuvable".into(),
            std::io::ErrorKind::PermissionDenied => "lecture refusée (droits du fichier)".into(),
            _ => io.to_string(),
        },
        rustls::pki_types::pem::Error::NoItemsFound => "aucun objet PEM dans ce fichier".into(),
        other => format!("PEM invalide ({other:?})"),
    }
}

/// A server configuration from a certificate chain and its private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let certs = load_certs(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| error(key, pem_reason(&e)))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(cert, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| error(key, format!("clé refusée pour ce certificat ({e})")))?;
    Ok(Arc::new(config))
}

/// A client configuration that trusts only the certificates of `ca`.
pub fn client_config(ca: &Path) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| error(ca, format!("certificat d'autorité refusé ({e})")))?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(ca, e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Why a handshake failed, in French, for the errors users meet: wrong
/// authority, expired certificate, wrong name, a peer that does not speak TLS.
pub fn describe_tls_error(err: &rustls::Error) -> String {
    use rustls::{CertificateError, Error};
    match err {
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                "certificat refusé : il n'est pas signé par l'autorité donnée (--ca)".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificat refusé : il a expiré".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificat refusé : il n'est pas encore valide".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "certificat refusé : il n'est pas émis pour ce nom de serveur (--serveur)".into()
            }
            CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
                Some(webpki::Error::CaUsedAsEndEntity) => {
                    "certificat refusé : c'est un certificat d'autorité, pas celui d'un serveur"
                        .into()
                }
                _ => format!("certificat refusé : {other}"),
            },
            other => format!("certificat refusé ({other:?})"),
        },
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            "l'autre côté ne parle pas TLS (un serveur ou un client en clair ?)".into()
        }
        Error::AlertReceived(alert) => {
            format!("l'autre côté a refusé la négociation TLS ({alert:?})")
        }
        other => format!("échec TLS : {other}"),
    }
}
