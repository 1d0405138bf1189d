//! The hub: the one thread that knows who is logged in, and fans messages
//! out without ever blocking on a socket.

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use protocols::mixed_json::{Event as Wire, ServerLine};
use server_kit::{ClientWriter, SendError};

use crate::log::{Event, Log};

pub type Id = u64;

/// What the sessions tell the hub.
#[derive(Debug)]
pub enum ToHub {
    Join {
        id: Id,
        writer: ClientWriter,
    },
    /// Answers whether the name was free (not logged in elsewhere).
    Login {
        id: Id,
        name: String,
        reply: Sender<bool>,
    },
    Logout {
        id: Id,
    },
    Message {
        id: Id,
        text: String,
    },
    Leave {
        id: Id,
    },
}

struct Client {
    writer: ClientWriter,
    name: Option<String>,
}

pub fn run(rx: Receiver<ToHub>, log: &Log) {
    let mut clients: HashMap<Id, Client> = HashMap::new();
    for message in rx {
        match message {
            ToHub::Join { id, writer } => {
                clients.insert(id, Client { writer, name: None });
            }
            ToHub::Login { id, name, reply } => {
                let taken = clients.values().any(|c| c.name.as_deref() == Some(&name));
                if !taken {
                    if let Some(c) = clients.get_mut(&id) {
                        c.name = Some(name);
                    }
                }
                let _ = reply.send(!taken);
            }
            ToHub::Logout { id } => {
                if let Some(c) = clients.get_mut(&id) {
                    c.name = None;
                }
            }
            ToHub::Message { id, text } => {
                let Some(from) = clients.get(&id).and_then(|c| c.name.clone()) else {
                    continue;
                };
                let line = ServerLine::from(Wire::Message {
                    de: from,
                    texte: text,
                })
                .to_line();
                let mut framed = line;
                framed.push(b'\n');
                let framed: Arc<[u8]> = Arc::from(framed);
                let mut gone = Vec::new();
                for (&other, client) in &clients {
                    if other == id || client.name.is_none() {
                        continue;
                    }
                    match client.writer.send(Arc::clone(&framed)) {
                        Ok(()) => {}
                        Err(SendError::QueueFull) => {
                            // Not reading: cut it off rather than wait for it.
                            client.writer.disconnect();
                            log.log(Event::Diag(format!(
                                "{} ne lit pas ses messages : déconnecté",
                                client.name.as_deref().unwrap_or("?")
                            )));
                            gone.push(other);
                        }
                        Err(SendError::Closed) => gone.push(other),
                    }
                }
                for other in gone {
                    clients.remove(&other);
                }
            }
            ToHub::Leave { id } => {
                clients.remove(&id);
            }
        }
    }
}
