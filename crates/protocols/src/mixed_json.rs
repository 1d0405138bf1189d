//! TP 04 5.3: the JSON protocol of `mixed_server --json`, one JSON object
//! per line (UTF-8, `\n`-terminated), no I/O here.
//!
//! Client to server ([`Request`]):
//! `{"commande":"LOGIN","utilisateur":U,"mot_de_passe":P}`,
//! `{"commande":"MESSAGE","texte":T}`, `{"commande":"LOGOUT"}`.
//! Server to client: an [`Answer`] to every request, in order
//! (`{"statut":"ok"}` or `{"statut":"erreur","raison":"..."}`), and
//! [`Event`]s at any time (`{"evenement":"MESSAGE","de":U,"texte":T}`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest line either side accepts, terminator not counted.
pub const MAX_LINE: usize = 64 * 1024;

/// The French reasons of the error answers, named once.
pub mod reason {
    pub const NOT_JSON: &str = "JSON invalide";
    pub const NOT_AN_OBJECT: &str = "un objet JSON avec un champ \"commande\" est attendu";
    pub const UNKNOWN_COMMAND: &str = "commande inconnue";
    pub const BAD_CREDENTIALS: &str = "utilisateur ou mot de passe incorrect";
    pub const ALREADY_LOGGED_IN: &str = "déjà connecté (LOGOUT d'abord)";
    pub const LOGGED_IN_ELSEWHERE: &str = "cet utilisateur est déjà connecté ailleurs";
    pub const NOT_LOGGED_IN: &str = "connectez-vous d'abord (LOGIN)";
    pub const LINE_TOO_LONG: &str = "ligne trop longue (64 Kio au plus) : connexion fermée";
    pub const SERVER_FULL: &str = "serveur plein, réessayez plus tard";
}

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Login {
        utilisateur: String,
        mot_de_passe: String,
    },
    Message {
        texte: String,
    },
    Logout,
}

#[derive(Serialize, Deserialize)]
struct LoginFields {
    utilisateur: String,
    mot_de_passe: String,
}

#[derive(Serialize, Deserialize)]
struct MessageFields {
    texte: String,
}

/// Why a line is not a request; [`RequestError::reason`] is the answer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    NotJson {
        line: usize,
        column: usize,
    },
    NotAnObject,
    UnknownCommand(String),
    BadFields {
        command: &'static str,
        expected: &'static str,
    },
}

impl RequestError {
    pub fn reason(&self) -> String {
        match self {
            RequestError::NotJson { line, column } => {
                format!("{} (ligne {line}, colonne {column})", reason::NOT_JSON)
            }
            RequestError::NotAnObject => reason::NOT_AN_OBJECT.into(),
            RequestError::UnknownCommand(c) => {
                format!(
                    "{} : {c:?} (LOGIN, MESSAGE ou LOGOUT)",
                    reason::UNKNOWN_COMMAND
                )
            }
            RequestError::BadFields { command, expected } => {
                format!("champs invalides pour {command} (attendus : {expected})")
            }
        }
    }
}

impl Request {
    /// Parses one line (without its terminator).
    pub fn parse(line: &[u8]) -> Result<Request, RequestError> {
        let value: Value = serde_json::from_slice(line).map_err(|e| RequestError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let Some(command) = value.get("commande").and_then(Value::as_str) else {
            return Err(RequestError::NotAnObject);
        };
        match command {
            "LOGIN" => {
                let f: LoginFields =
                    serde_json::from_value(value).map_err(|_| RequestError::BadFields {
                        command: "LOGIN",
                        expected: "\"utilisateur\" et \"mot_de_passe\", des chaînes",
                    })?;
                Ok(Request::Login {
                    utilisateur: f.utilisateur,
                    mot_de_passe: f.mot_de_passe,
                })
            }
            "MESSAGE" => {
                let f: MessageFields =
                    serde_json::from_value(value).map_err(|_| RequestError::BadFields {
                        command: "MESSAGE",
                        expected: "\"texte\", une chaîne",
                    })?;
                Ok(Request::Message { texte: f.texte })
            }
            "LOGOUT" => Ok(Request::Logout),
            other => Err(RequestError::UnknownCommand(other.to_string())),
        }
    }

    /// The request as one line, without its terminator.
    pub fn to_line(&self) -> Vec<u8> {
        let value = match self {
            Request::Login {
                utilisateur,
                mot_de_passe,
            } => {
                serde_json::json!({"commande": "LOGIN", "utilisateur": utilisateur, "mot_de_passe": mot_de_passe})
            }
            Request::Message { texte } => {
                serde_json::json!({"commande": "MESSAGE", "texte": texte})
            }
            Request::Logout => serde_json::json!({"commande": "LOGOUT"}),
        };
        value.to_string().into_bytes()
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "statut")]
pub enum Answer {
    #[serde(rename = "ok")]
    Ok,
    #[serde(rename = "erreur")]
    Error { raison: String },
}

/// What the server sends without being asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "evenement")]
pub enum Event {
    /// A message from another logged-in user.
    #[serde(rename = "MESSAGE")]
    Message { de: String, texte: String },
}

/// Any line the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerLine {
    Answer(Answer),
    Event(Event),
}

impl Answer {
    pub fn error(raison: impl Into<String>) -> Answer {
        Answer::Error {
            raison: raison.into(),
        }
    }
}

impl ServerLine {
    /// The line, without its terminator.
    pub fn to_line(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain data serialises")
    }

    pub fn parse(line: &[u8]) -> Option<ServerLine> {
        serde_json::from_slice(line).ok()
    }
}

impl From<Answer> for ServerLine {
    fn from(a: Answer) -> Self {
        ServerLine::Answer(a)
    }
}

impl From<Event> for ServerLine {
    fn from(e: Event) -> Self {
        ServerLine::Event(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_their_lines() {
        for request in [
            Request::Login {
                utilisateur: "alice".into(),
                mot_de_passe: "s3cr\"et".into(),
            },
            Request::Message {
                texte: "bonjour à tous\n".into(),
            },
            Request::Logout,
        ] {
            assert_eq!(Request::parse(&request.to_line()).unwrap(), request);
        }
    }

    #[test]
    fn the_issue_s_lines_are_what_we_send_and_read() {
        assert_eq!(
            ServerLine::from(Answer::Ok).to_line(),
            br#"{"statut":"ok"}"#
        );
        assert_eq!(
            ServerLine::from(Answer::error("x")).to_line(),
            br#"{"statut":"erreur","raison":"x"}"#
        );
        let event = ServerLine::from(Event::Message {
            de: "alice".into(),
            texte: "salut".into(),
        });
        assert_eq!(
            event.to_line(),
            br#"{"evenement":"MESSAGE","de":"alice","texte":"salut"}"#
        );
        assert_eq!(ServerLine::parse(&event.to_line()), Some(event));
        assert_eq!(
            Request::parse(br#"{"commande":"LOGIN","utilisateur":"a","mot_de_passe":"b"}"#)
                .unwrap(),
            Request::Login {
                utilisateur: "a".into(),
                mot_de_passe: "b".into()
            }
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(matches!(
            Request::parse(b"{pas du json"),
            Err(RequestError::NotJson { .. })
        ));
        assert_eq!(Request::parse(b"[1,2]"), Err(RequestError::NotAnObject));
        assert_eq!(
            Request::parse(br#"{"commande":"DANSER"}"#),
            Err(RequestError::UnknownCommand("DANSER".into()))
        );
        assert!(matches!(
            Request::parse(br#"{"commande":"MESSAGE","texte":3}"#),
            Err(RequestError::BadFields {
                command: "MESSAGE",
                ..
            })
        ));
        let reason = Request::parse(br#"{"commande":"X"}"#).unwrap_err().reason();
        assert!(reason.starts_with("commande inconnue"), "{reason}");
    }
}
