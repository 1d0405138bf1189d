//! One client's reader thread: bounded lines in, requests checked and
//! answered; what concerns other users goes through the hub.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use protocols::mixed_json::{reason, Answer, Request, ServerLine, MAX_LINE};
use server_kit::lines::{Line, Lines};
use server_kit::stream::Stream;
use server_kit::ClientWriter;

use super::hub::{Id, ToHub};
use super::Options;
use crate::log::{Event, Log};
use crate::tcp::{self, MIXED_SERVER};
use crate::text::shown;

pub struct Context {
    pub options: Options,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub hub: Sender<ToHub>,
    pub log: Log,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A logged-in user may only listen for a long while (a chat); an hour of
/// silence still frees the thread of a client that vanished without a word.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

pub fn run(tcp: TcpStream, peer: SocketAddr, cx: &Context) {
    cx.log.log(Event::Peer(MIXED_SERVER.connected, peer));
    let stream = match &cx.tls {
        None => Ok(Some(Stream::plain(tcp))),
        Some(config) => tcp::start_tls(tcp, config),
    };
    match stream {
        Ok(Some(stream)) => {
            if let Err(e) = serve(stream, cx) {
                cx.log.log(Event::Diag(format!("{peer} : {e}")));
            }
        }
        Ok(None) => {}
        Err(e) => cx.log.log(Event::Diag(format!("{peer} : {e}"))),
    }
    cx.log.log(Event::Text(MIXED_SERVER.closed));
}

fn serve(stream: Stream, cx: &Context) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let id: Id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (writer, writer_thread) = ClientWriter::for_stream(
        stream.try_clone()?,
        cx.options.queue,
        cx.options.write_deadline,
    );
    let _ = cx.hub.send(ToHub::Join {
        id,
        writer: writer.clone(),
    });
    let mut session = Session {
        id,
        name: None,
        writer,
        cx,
    };
    let mut lines = Lines::new(stream, MAX_LINE);
    loop {
        let keep_on = match lines.read_line() {
            Ok(Line::Text(line)) => session.handle(line),
            Ok(Line::TooLong) => {
                session.answer(Answer::error(reason::LINE_TOO_LONG));
                false
            }
            Ok(Line::Eof) => false,
            Err(e) => {
                // A reset or an idle timeout: the client is gone either way.
                cx.log.log(Event::Diag(format!("lecture : {e}")));
                false
            }
        };
        if !keep_on {
            break;
        }
    }
    let _ = cx.hub.send(ToHub::Leave { id });
    // The writer sends what is queued (the last answer), then closes.
    drop(session);
    let _ = writer_thread.join();
    Ok(())
}

struct Session<'a> {
    id: Id,
    name: Option<String>,
    writer: ClientWriter,
    cx: &'a Context,
}

impl Session<'_> {
    /// Queues an answer; false when the client cannot take it (then cut off).
    fn answer(&self, answer: Answer) -> bool {
        let mut line = ServerLine::from(answer).to_line();
        line.push(b'\n');
        match self.writer.send(Arc::from(line)) {
            Ok(()) => true,
            Err(_) => {
                self.writer.disconnect();
                false
            }
        }
    }

    /// Handles one request; false to close the connection.
    fn handle(&mut self, line: &[u8]) -> bool {
        let request = match Request::parse(line) {
            Ok(r) => r,
            // A bad line is answered; the connection stays usable.
            Err(e) => return self.answer(Answer::error(e.reason())),
        };
        let log = &self.cx.log;
        match (request, &self.name) {
            (Request::Login { .. }, Some(_)) => {
                self.answer(Answer::error(reason::ALREADY_LOGGED_IN))
            }
            (
                Request::Login {
                    utilisateur,
                    mot_de_passe,
                },
                None,
            ) => {
                let started = Instant::now();
                if !self.cx.options.users.check(&utilisateur, &mot_de_passe) {
                    // Same answer, same moment, for a wrong password and an
                    // unknown user.
                    let delay = self.cx.options.failed_login_delay;
                    std::thread::sleep(delay.saturating_sub(started.elapsed()));
                    log.log(Event::Diag(format!(
                        "LOGIN refusé pour {}",
                        shown(utilisateur.as_bytes())
                    )));
                    return self.answer(Answer::error(reason::BAD_CREDENTIALS));
                }
                let (reply, free) = crossbeam_channel::bounded(1);
                let _ = self.cx.hub.send(ToHub::Login {
                    id: self.id,
                    name: utilisateur.clone(),
                    reply,
                });
                if free.recv().unwrap_or(false) {
                    log.log(Event::Line(format!(
                        "LOGIN {}",
                        shown(utilisateur.as_bytes())
                    )));
                    self.name = Some(utilisateur);
                    self.answer(Answer::Ok)
                } else {
                    self.answer(Answer::error(reason::LOGGED_IN_ELSEWHERE))
                }
            }
            (Request::Message { .. } | Request::Logout, None) => {
                self.answer(Answer::error(reason::NOT_LOGGED_IN))
            }
            (Request::Message { texte }, Some(name)) => {
                log.log(Event::Line(format!(
                    "MESSAGE de {} : {}",
                    shown(name.as_bytes()),
                    shown(texte.as_bytes())
                )));
                let _ = self.cx.hub.send(ToHub::Message {
                    id: self.id,
                    text: texte,
                });
                self.answer(Answer::Ok)
            }
            (Request::Logout, Some(name)) => {
                log.log(Event::Line(format!("LOGOUT {}", shown(name.as_bytes()))));
                let _ = self.cx.hub.send(ToHub::Logout { id: self.id });
                self.name = None;
                self.answer(Answer::Ok)
            }
        }
    }
}
