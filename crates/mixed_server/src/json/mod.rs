//! 5.3: the JSON protocol on the TCP port (`mixed_server --json`), in clear
//! or under TLS. The wire format is `protocols::mixed_json`; this module is
//! the server's side of it, and [`client`] the interactive client.
//!
//! ```mermaid
//! flowchart LR
//!     A[accept loop, capped] -- one thread per client --> R1[reader: lines, LOGIN check]
//!     A --> R2[reader 2]
//!     R1 -- "Join/Login/Message/Leave" --> H[hub thread: who is logged in]
//!     R2 --> H
//!     H -- "try_send: events" --> Q1[(bounded queue 1)] --> W1[writer 1 + deadline] --> S1[socket 1]
//!     R1 -- "answers" --> Q1
//!     H --> Q2[(bounded queue 2)] --> W2[writer 2] --> S2[socket 2]
//! ```
//!
//! Password checks (Argon2, deliberately slow) run on the client's own
//! reader thread, never on the hub, so one login never delays the others'
//! messages. A user whose queue is full (who does not read) is cut off by
//! the hub ([`server_kit::ClientWriter::disconnect`]); the others carry on.

pub mod client;
mod hub;
mod session;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use protocols::mixed_json::{reason, Answer, ServerLine};
use server_kit::accept;
use server_kit::cli::BoxError;
use server_kit::refusal::Refusals;
use server_kit::Shutdown;

use crate::log::Log;
use crate::users::Users;

/// How the JSON side behaves; the durations are parameters so tests run fast.
#[derive(Debug, Clone)]
pub struct Options {
    pub users: Arc<Users>,
    /// Every failed LOGIN (wrong password or unknown user) is answered this
    /// long after it came, whatever the check cost.
    pub failed_login_delay: Duration,
    /// Lines queued for one client before it counts as not reading.
    pub queue: usize,
    /// Longest time a burst of lines may take to reach a client.
    pub write_deadline: Duration,
}

impl Options {
    pub fn load(users: &Path) -> Result<Options, BoxError> {
        Ok(Options {
            users: Arc::new(Users::load(users)?),
            failed_login_delay: Duration::from_millis(300),
            queue: 256,
            write_deadline: Duration::from_secs(10),
        })
    }
}

/// Serves the JSON protocol until `shutdown`.
pub fn serve(
    listener: &TcpListener,
    options: &Options,
    config: &crate::Config,
    log: &Log,
    shutdown: &Shutdown,
) -> Result<(), BoxError> {
    let (hub_tx, hub_rx) = crossbeam_channel::unbounded();
    let hub = {
        let log = log.clone();
        thread::Builder::new()
            .name("hub".into())
            .spawn(move || hub::run(hub_rx, &log))?
    };
    let refuse_log = log.clone();
    let max = config.limits.max_clients;
    let refusals = Refusals::default();
    let mut full = ServerLine::from(Answer::error(reason::SERVER_FULL)).to_line();
    full.push(b'\n');
    let context = Arc::new(session::Context {
        options: options.clone(),
        tls: config.tls.clone(),
        hub: hub_tx,
        log: log.clone(),
    });
    let result = accept::serve(
        listener,
        shutdown,
        config.limits,
        move |stream, peer| crate::tcp::refuse(stream, peer, max, &full, &refusals, &refuse_log),
        move |tcp, peer| session::run(tcp, peer, &context),
    );
    // Every session has ended, so every hub sender with it.
    let _ = hub.join();
    Ok(result?)
}
