//! One stream type for plain TCP and TLS, so a server's code is written once.
//!
//! Why not `rustls::StreamOwned`: it needs `&mut` for both directions, so a
//! connection could not have a reader thread and a writer thread (the
//! workspace's per-client design). Here the TLS state sits behind a mutex
//! shared by the clones of a [`Stream`], held only for in-memory work: the
//! *blocking socket reads and writes happen outside it*, so a reader waiting
//! for its peer never stops the writer of the same connection, and a writer
//! stuck on a peer that does not read never stops the reader (two such
//! streams echoing bulk data to each other cannot deadlock). Timeouts and
//! `shutdown` act on the socket, so they work the same for both kinds.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown as Direction, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::socket::MsgFlags;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

/// The first byte of a TLS handshake record (a ClientHello starts with it).
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A connected TCP stream, in clear or under TLS. Clones share the
/// connection (one may read while another writes).
pub struct Stream {
    tcp: TcpStream,
    tls: Option<Arc<Shared>>,
}

/// The TLS side of a connection, shared by its clones.
///
/// Two locks, always taken in this order: `send` keeps the encrypted
/// records in sequence on the socket and is held across the (possibly
/// blocking) socket write; `state` is only ever held for in-memory work, so
/// a writer stuck on a peer that does not read never keeps the reader from
/// taking what arrives.
struct Shared {
    send: Mutex<()>,
    state: Mutex<Tls>,
}

struct Tls {
    conn: Connection,
    /// Bytes read from the socket that rustls has not taken yet: it takes
    /// no more records while a record's worth of plaintext waits unread.
    pending: Vec<u8>,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("peer", &self.tcp.peer_addr().ok())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Stream {
    /// A stream in clear.
    pub fn plain(tcp: TcpStream) -> Stream {
        Stream { tcp, tls: None }
    }

    /// Runs the server side of a TLS handshake on `tcp`, waiting at most
    /// `timeout` for each read or write of it (a silent peer cannot hold a
    /// thread forever). The timeouts are left in place; callers set their own.
    pub fn accept_tls(
        tcp: TcpStream,
        config: Arc<ServerConfig>,
        timeout: Duration,
    ) -> io::Result<Stream> {
        let conn = ServerConnection::new(config).map_err(io::Error::other)?;
        Self::handshake(tcp, conn.into(), timeout)
    }

    /// Runs the client side of a TLS handshake with `server_name` (checked
    /// against the certificate).
    pub fn connect_tls(
        tcp: TcpStream,
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<Stream> {
        let conn = ClientConnection::new(config, server_name).map_err(io::Error::other)?;
        Self::handshake(tcp, conn.into(), timeout)
    }

    fn handshake(
        mut tcp: TcpStream,
        mut conn: Connection,
        timeout: Duration,
    ) -> io::Result<Stream> {
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        while conn.is_handshaking() {
            if conn.complete_io(&mut tcp)? == (0, 0) {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        // TLS 1.3 servers send their session tickets right after.
        while conn.wants_write() {
            conn.write_tls(&mut tcp)?;
        }
        Ok(Stream {
            tcp,
            tls: Some(Arc::new(Shared {
                send: Mutex::new(()),
                state: Mutex::new(Tls {
                    conn,
                    pending: Vec::new(),
                }),
            })),
        })
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Another handle on the same connection.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(Stream {
            tcp: self.tcp.try_clone()?,
            tls: self.tls.clone(),
        })
    }

    /// The socket itself, e.g. for a registry that shuts it down.
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_write_timeout(timeout)
    }

    /// Writes what the socket takes now, without waiting: the bytes
    /// written (WouldBlock when none). Plain TCP only: under TLS it always
    /// reports WouldBlock (records are written by the writer thread).
    pub fn write_now(&self, buf: &[u8]) -> io::Result<usize> {
        if self.tls.is_some() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        nix::sys::socket::send(self.tcp.as_raw_fd(), buf, flags).map_err(io::Error::from)
    }

    /// Closes both directions: every clone blocked in a read or a write
    /// wakes up with an end of stream or an error. Under TLS a close_notify
    /// is sent first when no other thread is writing (never waits for one).
    pub fn shutdown(&self) -> io::Result<()> {
        if let Some(tls) = &self.tls {
            // Never waits: a writer may be stuck on this very socket.
            if let Ok(_send) = tls.send.try_lock() {
                if let Ok(mut state) = tls.state.try_lock() {
                    state.conn.send_close_notify();
                    let _ = state.conn.write_tls(&mut &self.tcp);
                }
            }
        }
        match self.tcp.shutdown(Direction::Both) {
            Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(e),
            _ => Ok(()),
        }
    }

    fn read_tls(&self, shared: &Shared, buf: &mut [u8]) -> io::Result<usize> {
        let mut raw = [0u8; 16 * 1024];
        loop {
            let to_send = {
                let mut state = lock(&shared.state);
                let Tls { conn, pending } = &mut *state;
                match conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The peer closed without close_notify: for a line
                    // protocol an end of stream like any other (an unfinished
                    // line is never taken as a whole one).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if pending.is_empty() {
                    None
                } else {
                    // No plaintext waits: rustls may take more records.
                    let mut input = &pending[..];
                    conn.read_tls(&mut input)?;
                    let taken = pending.len() - input.len();
                    pending.drain(..taken);
                    let processed = conn.process_new_packets();
                    Some((processed, conn.wants_write()))
                }
            };
            if let Some((processed, reply)) = to_send {
                // What rustls has to say (an alert, rarely a key update)
                // goes out in sequence with the writers' records; only then
                // does the reader wait for the writers' lock.
                if reply {
                    self.flush_tls(shared)?;
                }
                processed.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                continue;
            }
            // The blocking read happens without any lock: a writer on
            // another clone is never kept waiting by a silent peer.
            let n = (&self.tcp).read(&mut raw)?;
            let mut state = lock(&shared.state);
            if n == 0 {
                // Tell rustls the stream ended; its reader then says how.
                state.conn.read_tls(&mut &[][..])?;
                let _ = state.conn.process_new_packets();
            } else {
                state.pending.extend_from_slice(&raw[..n]);
            }
        }
    }

    /// Sends the records rustls has ready, in order with other writers.
    fn flush_tls(&self, shared: &Shared) -> io::Result<()> {
        let _send = lock(&shared.send);
        let records = take_records(&mut lock(&shared.state).conn)?;
        (&self.tcp).write_all(&records)
    }
}

/// The encrypted records rustls has ready to send, taken out of it.
fn take_records(conn: &mut Connection) -> io::Result<Vec<u8>> {
    let mut records = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut records)?;
    }
    Ok(records)
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.tls {
            None => (&self.tcp).read(buf),
            Some(tls) => self.read_tls(tls, buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.tls {
            None => (&self.tcp).write(buf),
            Some(tls) => {
                let _send = lock(&tls.send);
                let (n, records) = {
                    let conn = &mut lock(&tls.state).conn;
                    let n = conn.writer().write(buf)?;
                    (n, take_records(conn)?)
                };
                (&self.tcp).write_all(&records)?;
                Ok(n)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The rustls error inside an I/O error, if that is what it is.
pub fn tls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::{write_line, Line, Lines};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::RootCertStore;
    use std::net::TcpListener;
    use std::thread;

    const T: Duration = Duration::from_secs(30);

    fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(cert.der().to_vec()))
            .unwrap();
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (Arc::new(server), Arc::new(client))
    }

    #[test]
    fn tls_clones_read_and_write_at_the_same_time() {
        let (server_config, client_config) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: a reader thread echoes every line through a writer clone
        // while the main thread pushes 200 lines of its own.
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let stream = Stream::accept_tls(tcp, server_config, T).unwrap();
            stream.set_read_timeout(None).unwrap();
            let mut out = stream.try_clone().unwrap();
            let pusher = thread::spawn(move || {
                for i in 0..200 {
                    write_line(&mut out, format!("serveur {i}").as_bytes()).unwrap();
                }
            });
            let mut echo = stream.try_clone().unwrap();
            let mut lines = Lines::new(stream, 1024);
            let mut n = 0;
            while let Line::Text(line) = lines.read_line().unwrap() {
                write_line(&mut echo, line).unwrap();
                n += 1;
            }
            pusher.join().unwrap();
            n
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let client = Stream::connect_tls(tcp, client_config, name, T).unwrap();
        let mut out = client.try_clone().unwrap();
        let sender = thread::spawn(move || {
            for i in 0..200 {
                write_line(&mut out, format!("client {i}").as_bytes()).unwrap();
            }
        });
        let mut lines = Lines::new(client.try_clone().unwrap(), 1024);
        let (mut own, mut echoed) = (0, 0);
        while own + echoed < 400 {
            match lines.read_line().unwrap() {
                Line::Text(l) if l.starts_with(b"serveur ") => own += 1,
                Line::Text(l) => {
                    assert_eq!(l, format!("client {echoed}").as_bytes());
                    echoed += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        sender.join().unwrap();
        client.shutdown().unwrap();
        assert_eq!(server.join().unwrap(), 200);
    }

    #[test]
    fn large_transfers_cross_tls_whole_and_in_order() {
        let (server_config, client_config) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let payload: Vec<u8> = (0..24 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expected = payload.clone();
        // The server echoes everything back while the client is still
        // sending: both directions full at once, through shared clones, far
        // beyond what the kernel's buffers hold (both writers block at times).
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let stream = Stream::accept_tls(tcp, server_config, T).unwrap();
            let mut out = stream.try_clone().unwrap();
            let mut input = stream;
            std::io::copy(&mut input, &mut out).unwrap();
            out.shutdown().unwrap();
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let client = Stream::connect_tls(tcp, client_config, name, T).unwrap();
        client.set_read_timeout(Some(T)).unwrap();
        let mut out = client.try_clone().unwrap();
        let sender = thread::spawn(move || {
            for chunk in payload.chunks(100_000) {
                out.write_all(chunk).unwrap();
            }
            // Half-close is not a TLS notion: close_notify then EOF.
            out
        });
        let mut back = Vec::new();
        let mut reader = client.try_clone().unwrap();
        let mut buf = [0u8; 64 * 1024];
        while back.len() < expected.len() {
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "early end after {} bytes", back.len());
            back.extend_from_slice(&buf[..n]);
        }
        assert!(back == expected, "echo differs");
        sender.join().unwrap().shutdown().unwrap();
        server.join().unwrap();
    }

    #[test]
    fn a_plain_peer_on_a_tls_port_is_an_error_not_a_hang() {
        let (server_config, _) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            Stream::accept_tls(tcp, server_config, T).map(|_| ())
        });
        let mut plain = TcpStream::connect(addr).unwrap();
        plain.write_all(b"Bonjour serveur TCP\n").unwrap();
        let err = server.join().unwrap().unwrap_err();
        assert!(tls_error(&err).is_some(), "{err}");
    }
}
