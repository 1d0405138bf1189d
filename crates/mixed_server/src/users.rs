//! The users of `mixed_server --json`: a text file of `name:hash` lines,
//! where `hash` is an Argon2id PHC string (`$argon2id$v=19$m=...$salt$hash`)
//! with its own random salt. Passwords are never stored, nor compared, in
//! clear.
//!
//! Why Argon2id: it is made for passwords (slow and memory-hard, so a stolen
//! file resists guessing), and its verification compares the hashes in
//! constant time (`password_hash::Output`'s `PartialEq`).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use server_kit::cli::BoxError;

use crate::password::read_password;

/// Longest user name (characters).
pub const MAX_NAME_CHARS: usize = 32;

/// The users, by name.
#[derive(Debug, Clone, Default)]
pub struct Users {
    hashes: HashMap<String, String>,
    /// The hash checked for unknown names, so they cost the same time.
    decoy: String,
}

/// A name is 1 to 32 characters, no `:` (the file's separator), no control
/// character, no surrounding space.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&n)
        && !name.contains(':')
        && !name.chars().any(char::is_control)
        && name.trim() == name
}

/// A fresh salted Argon2id hash of `password`.
pub fn hash(password: &str) -> Result<String, BoxError> {
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string())
}

impl Users {
    /// Reads the file; a missing file is an error (the server would refuse
    /// everyone).
    pub fn load(path: &Path) -> Result<Users, BoxError> {
        let text = fs::read_to_string(path).map_err(|e| format!("{} : {e}", path.display()))?;
        let mut hashes = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = || {
                format!(
                    "{} ligne {} : « nom:hash argon2 » attendu",
                    path.display(),
                    i + 1
                )
            };
            let (name, phc) = line.split_once(':').ok_or_else(bad)?;
            PasswordHash::new(phc).map_err(|_| bad())?;
            hashes.insert(name.to_string(), phc.to_string());
        }
        Ok(Users {
            hashes,
            decoy: hash("leurre")?,
        })
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `name` exists with `password`. An unknown name runs the same
    /// verification (against a decoy hash), so timing does not tell them
    /// apart.
    pub fn check(&self, name: &str, password: &str) -> bool {
        let (known, phc) = match self.hashes.get(name) {
            Some(phc) => (true, phc.as_str()),
            None => (false, self.decoy.as_str()),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && known
    }
}

/// Adds or replaces `name` in the file at `path` (created if missing),
/// rewriting it atomically: a temporary file beside it, then a rename, so a
/// reader (or a crash) never sees half a file.
pub fn add(path: &Path, name: &str, password: &str) -> Result<(), BoxError> {
    if !valid_name(name) {
        return Err(format!(
            "nom invalide : {name:?} (1 à {MAX_NAME_CHARS} caractères, sans « : » ni caractère de contrôle)"
        )
        .into());
    }
    if password.is_empty() {
        return Err("mot de passe vide".into());
    }
    let old = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{} : {e}", path.display()).into()),
    };
    let mut text = String::new();
    for line in old.lines() {
        if line.split_once(':').map(|(n, _)| n) != Some(name) && !line.trim().is_empty() {
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str(&format!("{name}:{}\n", hash(password)?));
    let tmp = temporary_beside(path);
    let write = || -> io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("{} : {e}", path.display())
    })?;
    Ok(())
}

fn temporary_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// `ajouter-utilisateur`: the password from stdin, asked for without echo
/// when stdin is a terminal.
pub fn add_from_stdin(path: &Path, name: &str) -> Result<(), BoxError> {
    let password = read_password("Mot de passe : ")?;
    add(path, name, &password)?;
    eprintln!("utilisateur {name} enregistré dans {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_check_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("utilisateurs.txt");
        add(&path, "alice", "secret").unwrap();
        add(&path, "bob", "azerty").unwrap();
        add(&path, "alice", "nouveau").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(!text.contains("secret") && !text.contains("nouveau"));
        assert!(text.contains("$argon2id$"));
        let users = Users::load(&path).unwrap();
        assert!(users.check("alice", "nouveau"));
        assert!(!users.check("alice", "secret"));
        assert!(users.check("bob", "azerty"));
        assert!(!users.check("carol", "azerty"));
        assert!(add(&path, "a:b", "x").is_err());
        assert!(add(&path, "", "x").is_err());
    }

    #[test]
    fn the_same_password_gets_two_salts() {
        assert_ne!(hash("x").unwrap(), hash("x").unwrap());
    }
}
