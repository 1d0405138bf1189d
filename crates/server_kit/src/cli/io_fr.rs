//! The system's error messages in French.
//!
//! Rust prints an OS error as `Address already in use (os error 98)` and a
//! failed name lookup as `failed to lookup address information: Name or
//! service not known`. [`io_error`] gives the French wording of an
//! [`io::Error`]; [`translate`] rewrites those English texts wherever they
//! ended up inside a message (an error formatted into a `String` earlier keeps
//! no link to its `io::Error`, but its text still has the `(os error N)` mark).

use std::borrow::Cow;
use std::io;

/// What `getaddrinfo` failures print after this prefix.
const LOOKUP_PREFIX: &str = "failed to lookup address information: ";

/// The French message of an I/O error (without the `os error` number).
pub fn io_error(err: &io::Error) -> Cow<'static, str> {
    if let Some(code) = err.raw_os_error() {
        if let Some(text) = errno(code) {
            return text.into();
        }
    }
    let text = err.to_string();
    if let Some(rest) = text.strip_prefix(LOOKUP_PREFIX) {
        return lookup(rest).into();
    }
    if err.get_ref().is_some() {
        // A message written by whoever built the error: ours are French.
        return text.into();
    }
    match kind(err.kind()) {
        Some(french) => french.into(),
        None => text.into(),
    }
}

/// `text` with the English system messages it contains put in French.
pub fn translate(text: &str) -> String {
    let mut out = text.to_string();
    // "<strerror> (os error N)": rebuild the exact English text from N.
    let mut codes: Vec<i32> = Vec::new();
    for (at, _) in text.match_indices("(os error ") {
        let digits: String = text[at + 10..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        codes.extend(digits.parse::<i32>().ok());
    }
    for code in codes {
        if let Some(french) = errno(code) {
            out = out.replace(&io::Error::from_raw_os_error(code).to_string(), french);
        }
    }
    if let Some(at) = out.find(LOOKUP_PREFIX) {
        let rest_start = at + LOOKUP_PREFIX.len();
        let rest_end = out[rest_start..]
            .find(['\n', ')'])
            .map_or(out.len(), |n| rest_start + n);
        let french = lookup(&out[rest_start..rest_end]);
        out.replace_range(at..rest_end, &french);
    }
    out
}

/// `getaddrinfo`'s messages (glibc's `gai_strerror`).
fn lookup(reason: &str) -> String {
    let french = match reason.trim() {
        "Name or service not known" => "nom de machine inconnu",
        "Temporary failure in name resolution" => {
            "échec temporaire de la résolution de noms (réseau ou DNS indisponible)"
        }
        "No address associated with hostname" => "aucune adresse associée à ce nom",
        "Servname not supported for ai_socktype" => "service non pris en charge",
        "Address family for hostname not supported" => {
            "famille d'adresses non prise en charge pour ce nom"
        }
        "Non-recoverable failure in name resolution" => "échec de la résolution de noms",
        other => return format!("résolution de noms impossible ({other})"),
    };
    french.to_string()
}

/// The errno values a lab program meets.
fn errno(code: i32) -> Option<&'static str> {
    Some(match code {
        1 => "Opération non permise",
        2 => "Fichier ou dossier introuvable",
        4 => "Appel système interrompu",
        5 => "Erreur d'entrée-sortie",
        9 => "Descripteur de fichier invalide",
        11 => "Ressource temporairement indisponible",
        12 => "Mémoire insuffisante",
        13 => "Permission refusée",
        17 => "Le fichier existe déjà",
        19 => "Aucun périphérique de ce type",
        20 => "Ce n'est pas un dossier",
        21 => "C'est un dossier",
        22 => "Argument invalide",
        23 => "Trop de fichiers ouverts sur le système",
        24 => "Trop de fichiers ouverts",
        28 => "Plus de place sur le périphérique",
        30 => "Système de fichiers en lecture seule",
        32 => "Tube brisé",
        90 => "Message trop long",
        93 => "Protocole non pris en charge",
        97 => "Famille d'adresses non prise en charge par le protocole",
        98 => "Adresse déjà utilisée",
        99 => "Adresse non disponible sur cette machine",
        100 => "Le réseau est désactivé",
        101 => "Réseau inaccessible",
        103 => "Connexion abandonnée",
        104 => "Connexion réinitialisée par le correspondant",
        105 => "Plus de mémoire tampon disponible",
        107 => "Le socket n'est pas connecté",
        110 => "Délai de connexion dépassé",
        111 => "Connexion refusée",
        113 => "Aucune route vers l'hôte",
        _ => return None,
    })
}

/// Errors built from a kind alone (`io::Error::from(kind)`).
fn kind(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind::*;
    Some(match kind {
        NotFound => "introuvable",
        PermissionDenied => "Permission refusée",
        ConnectionRefused => "Connexion refusée",
        ConnectionReset => "Connexion réinitialisée par le correspondant",
        ConnectionAborted => "Connexion abandonnée",
        NotConnected => "Le socket n'est pas connecté",
        AddrInUse => "Adresse déjà utilisée",
        AddrNotAvailable => "Adresse non disponible sur cette machine",
        BrokenPipe => "Tube brisé",
        AlreadyExists => "existe déjà",
        WouldBlock | TimedOut => "Délai dépassé",
        InvalidInput => "Argument invalide",
        InvalidData => "Données invalides",
        WriteZero => "Écriture impossible (zéro octet écrit)",
        Interrupted => "Opération interrompue",
        Unsupported => "Opération non prise en charge",
        UnexpectedEof => "Fin de données inattendue",
        OutOfMemory => "Mémoire insuffisante",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_in_french() {
        let busy = io::Error::from_raw_os_error(98);
        assert_eq!(io_error(&busy), "Adresse déjà utilisée");
        assert_eq!(
            translate(&format!("impossible d'ouvrir x : {busy}")),
            "impossible d'ouvrir x : Adresse déjà utilisée"
        );
        let missing = io::Error::from_raw_os_error(2);
        assert_eq!(
            translate(&format!("a : {missing} ; b : {busy}")),
            "a : Fichier ou dossier introuvable ; b : Adresse déjà utilisée"
        );
        assert_eq!(
            io_error(&io::Error::from(io::ErrorKind::ConnectionRefused)),
            "Connexion refusée"
        );
        // An unknown errno keeps Rust's text rather than losing it.
        let odd = io::Error::from_raw_os_error(77);
        assert_eq!(translate(&odd.to_string()), odd.to_string());
        // Our own messages stay as written.
        let ours = io::Error::new(io::ErrorKind::NotFound, "aucune adresse pour ce nom");
        assert_eq!(io_error(&ours), "aucune adresse pour ce nom");
    }

    #[test]
    fn name_lookup_in_french() {
        use std::net::ToSocketAddrs;
        let err = ("nom-qui-n-existe-pas.invalid", 80)
            .to_socket_addrs()
            .unwrap_err();
        let french = io_error(&err);
        assert!(!french.contains("failed"), "{french}");
        assert_eq!(
            translate(
                "x introuvable : failed to lookup address information: Name or service not known"
            ),
            "x introuvable : nom de machine inconnu"
        );
    }
}
