//! The clients of the sheet, in one program (`relay_client`):
//!
//! - [`envoyer`] (1.1, 1.2): the input loop, each line typed is sent.
//! - [`emetteur`] / [`recepteur`] (2.1, 2.2): the relay's two ends.
//! - [`auto`] (2.3): reads its role byte and becomes one or the other.
//!
//! Over TCP a message is a line (`\n` added when sending, looked for when
//! receiving), since the stream itself has no boundaries. Over UDP a message
//! is a datagram (without `\n`), and the relay's clients speak one control
//! word, the empty datagram: sent first, it registers the client; sent
//! later, it says "I leave"; received, it says "the pair is over".

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown as Direction, SocketAddr, TcpStream, ToSocketAddrs,
    UdpSocket,
};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{select, Receiver};
use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::Shutdown;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::{
    print_message, BUSY_TEXT, CLIENT_BINARY, MAX_DATAGRAM, MAX_LINE, ROLE_RECEIVER, ROLE_SENDER,
};

/// Printed when the server closes a TCP connection.
pub const END_TCP: &str = "Connexion fermée par le serveur : fin de la conversation.";
/// Printed when the UDP relay ends the pair (its empty datagram).
pub const END_UDP: &str = "Le serveur a mis fin à la conversation.";
/// Printed by [`auto`] once it knows its role.
pub const ROLE_1_TEXT: &str = "Je suis le client 1 : j'envoie les messages.";
pub const ROLE_2_TEXT: &str = "Je suis le client 2 : j'affiche les messages reçus.";

/// The server refused us: a pair is in progress (exit 1, its own words).
fn busy_error() -> io::Error {
    io::Error::other(BUSY_TEXT)
}

/// Whether `line` (without its `\n`) is the server's refusal.
fn is_busy(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line) == BUSY_TEXT.as_bytes()
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Room for a burst of relayed datagrams (best effort, see `rmem_max`).
const UDP_RECV_BUFFER: usize = 4 << 20;

/// Where and how to reach the server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub serveur: String,
    pub port: u16,
    pub udp: bool,
    /// The client's own port (exercise 1.1's 1313); None: any free port.
    pub port_local: Option<u16>,
}

/// How a client's session ended (each is a normal end, exit code 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Our input ended: everything typed was sent.
    InputDone,
    /// The server closed the connection or ended the pair.
    ServerEnded,
    /// Ctrl-C.
    Interrupted,
}

/// Exercise 1: sends each line of `input` (one line per message).
pub fn envoyer(
    config: &ClientConfig,
    input: impl BufRead + Send + 'static,
    out: &mut impl Write,
    shutdown: &Shutdown,
) -> io::Result<End> {
    send_lines(Link::connect(config)?, input, out, shutdown, false)
}

/// Exercises 2.1 / 2.2, the sender: as [`envoyer`], and over UDP it
/// registers first and says when it leaves.
pub fn emetteur(
    config: &ClientConfig,
    input: impl BufRead + Send + 'static,
    out: &mut impl Write,
    shutdown: &Shutdown,
) -> io::Result<End> {
    send_lines(Link::connect(config)?, input, out, shutdown, config.udp)
}

/// Exercises 2.1 / 2.2, the receiver: prints each message as it comes.
pub fn recepteur(
    config: &ClientConfig,
    out: &mut impl Write,
    shutdown: &Shutdown,
) -> io::Result<End> {
    match Link::connect(config)? {
        Link::Tcp(stream) => receive_tcp(stream, out, shutdown),
        Link::Udp(socket) => receive_udp(socket, out, shutdown),
    }
}

/// Exercise 2.3 (TCP): reads the role byte the server sends right after
/// `accept`, then sends (`1`) or receives (`2`).
pub fn auto(
    config: &ClientConfig,
    input: impl BufRead + Send + 'static,
    out: &mut impl Write,
    shutdown: &Shutdown,
) -> io::Result<End> {
    let config = ClientConfig {
        udp: false,
        ..config.clone()
    };
    let mut stream = connect_stream(&config)?;
    // The server may be busy with another pair: we wait in its queue until
    // it accepts us. Ctrl-C must still end that wait.
    let stopper = stream.try_clone()?;
    shutdown.on_trigger(move || {
        let _ = stopper.shutdown(Direction::Both);
    });
    // Exactly one byte: anything after it already belongs to the relay.
    let mut role = [0u8; 1];
    if let Err(e) = stream.read_exact(&mut role) {
        if shutdown.is_triggered() {
            return Ok(End::Interrupted);
        }
        return Err(io::Error::new(
            e.kind(),
            format!("le serveur n'a pas envoyé de rôle ({e})"),
        ));
    }
    if role[0] == BUSY_TEXT.as_bytes()[0] {
        // Not a role: the refusal line of a busy server?
        let mut line = role.to_vec();
        let _ = BufReader::new(&stream)
            .take(BUSY_TEXT.len() as u64 + 2)
            .read_until(b'\n', &mut line);
        if is_busy(&line) {
            return Err(busy_error());
        }
    }
    match role[0] {
        ROLE_SENDER => {
            writeln!(out, "{ROLE_1_TEXT}")?;
            out.flush()?;
            send_lines(Link::Tcp(stream), input, out, shutdown, false)
        }
        ROLE_RECEIVER => {
            writeln!(out, "{ROLE_2_TEXT}")?;
            out.flush()?;
            receive_tcp(stream, out, shutdown)
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("rôle inconnu reçu du serveur : 0x{other:02x} (attendu : '1' ou '2')"),
        )),
    }
}

/// A connected socket of either kind.
#[derive(Debug)]
enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

impl Link {
    fn connect(config: &ClientConfig) -> io::Result<Link> {
        if config.udp {
            let addrs = resolve(&config.serveur, config.port)?;
            // UDP has no handshake that would tell a wrong address from a
            // right one: take the first (IPv4 first, as Python's AF_INET).
            let server = addrs[0];
            let socket = UdpSocket::bind((unspecified(server), config.port_local.unwrap_or(0)))
                .map_err(|e| local_port_error(config.port_local, e))?;
            socket.connect(server)?;
            let _ = SockRef::from(&socket).set_recv_buffer_size(UDP_RECV_BUFFER);
            return Ok(Link::Udp(socket));
        }
        connect_stream(config).map(Link::Tcp)
    }

    fn try_clone(&self) -> io::Result<Link> {
        Ok(match self {
            Link::Tcp(s) => Link::Tcp(s.try_clone()?),
            Link::Udp(s) => Link::Udp(s.try_clone()?),
        })
    }

    /// One message: a line over TCP, a datagram over UDP.
    fn send(&self, message: &[u8]) -> io::Result<()> {
        match self {
            Link::Tcp(stream) => {
                let mut line = Vec::with_capacity(message.len() + 1);
                line.extend_from_slice(message);
                line.push(b'\n');
                (&*stream).write_all(&line)
            }
            Link::Udp(socket) => socket.send(message).map(drop),
        }
    }

    /// Unblocks every thread reading this socket.
    fn stop(&self) {
        let _ = match self {
            Link::Tcp(s) => s.shutdown(Direction::Both),
            Link::Udp(s) => SockRef::from(s).shutdown(Direction::Read),
        };
    }

    /// Waits until the server ends the conversation (or the link fails).
    /// Anything else the server sends a sender is ignored.
    fn wait_for_end(&self) -> Event {
        let mut buf = vec![0u8; 1 << 16];
        // The first bytes (TCP) or the first datagram (UDP) received: a busy
        // server's refusal is all a relay sender ever gets besides the end.
        let mut head = Vec::new();
        let mut first = true;
        loop {
            let read = match self {
                Link::Tcp(s) => (&*s).read(&mut buf),
                Link::Udp(s) => s.recv(&mut buf),
            };
            match read {
                Ok(0) => return Event::ServerEnded,
                Ok(n) => {
                    let refused = match self {
                        Link::Udp(_) => first && is_busy(&buf[..n]),
                        Link::Tcp(_) => {
                            let wanted = (BUSY_TEXT.len() + 1).saturating_sub(head.len());
                            head.extend_from_slice(&buf[..n.min(wanted)]);
                            wanted > 0 && head.len() == BUSY_TEXT.len() + 1 && is_busy(&head)
                        }
                    };
                    if refused {
                        return Event::Failed(busy_error());
                    }
                    first = false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return match self {
                        Link::Tcp(_) if closed_by_peer(&e) => Event::ServerEnded,
                        Link::Tcp(_) => Event::Failed(e),
                        Link::Udp(s) => Event::Failed(udp_error(s, e)),
                    }
                }
            }
        }
    }
}

/// A TCP connection to the server, trying each of its addresses.
fn connect_stream(config: &ClientConfig) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in resolve(&config.serveur, config.port)? {
        match connect_tcp(addr, config.port_local) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let Some((addr, e)) = last else {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    };
    Err(io::Error::new(
        e.kind(),
        format!("connexion au serveur {addr} impossible : {e}"),
    ))
}

/// The server's addresses, IPv4 ones first (the sheet's clients are
/// `AF_INET`, and our servers listen on 127.0.0.1 by default).
fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("adresse du serveur {host:?} introuvable : {e}"),
            )
        })?
        .collect();
    addrs.sort_by_key(|a| a.is_ipv6());
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("adresse du serveur {host:?} introuvable"),
        ));
    }
    Ok(addrs)
}

fn unspecified(peer: SocketAddr) -> IpAddr {
    match peer {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    }
}

/// Connects from `local_port` if given (exercise 1.1: the client's socket
/// on port 1313), else from any port.
fn connect_tcp(server: SocketAddr, local_port: Option<u16>) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if let Some(port) = local_port {
        // A run just before leaves this port in TIME_WAIT: reuse it.
        socket.set_reuse_address(true)?;
        socket
            .bind(&SocketAddr::new(unspecified(server), port).into())
            .map_err(|e| local_port_error(local_port, e))?;
    }
    socket.connect_timeout(&server.into(), CONNECT_TIMEOUT)?;
    Ok(socket.into())
}

fn local_port_error(port: Option<u16>, e: io::Error) -> io::Error {
    match port {
        Some(port) => io::Error::new(e.kind(), format!("port local {port} indisponible : {e}")),
        None => e,
    }
}

fn closed_by_peer(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// An ICMP "port unreachable" comes back on a connected UDP socket as
/// ECONNREFUSED: say what it means.
fn udp_error(socket: &UdpSocket, e: io::Error) -> io::Error {
    if e.kind() != io::ErrorKind::ConnectionRefused {
        return e;
    }
    let server = socket
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    io::Error::new(
        e.kind(),
        format!("le serveur {server} est injoignable (port UDP fermé : aucun serveur n'y écoute)"),
    )
}

/// What the sender's loop waits for.
#[derive(Debug)]
enum Event {
    Line(Vec<u8>),
    InputEnded,
    ServerEnded,
    Failed(io::Error),
    Interrupted,
}

/// The sheet's input loop: each line of `input` is sent as one message,
/// until the input ends, the server ends the conversation, or Ctrl-C.
/// `relay_udp`: register with an empty datagram first and send one when
/// leaving (an empty line is then not sent: it would mean "I leave").
fn send_lines(
    link: Link,
    input: impl BufRead + Send + 'static,
    out: &mut impl Write,
    shutdown: &Shutdown,
    relay_udp: bool,
) -> io::Result<End> {
    let max = match link {
        Link::Tcp(_) => MAX_LINE,
        Link::Udp(_) => MAX_DATAGRAM,
    };
    if relay_udp {
        // Registered before the first line is even read.
        link.send(&[])?;
    }
    // Lines wait in a short queue: a server that does not read slows the
    // typing thread down instead of filling our memory.
    let lines = read_lines(input, max);
    let (control_tx, control) = crossbeam_channel::unbounded();
    {
        let watcher = link.try_clone()?;
        let tx = control_tx.clone();
        thread::spawn(move || {
            let _ = tx.send(watcher.wait_for_end());
        });
    }
    shutdown.on_trigger(move || {
        let _ = control_tx.send(Event::Interrupted);
    });
    let end = loop {
        let event = select! {
            recv(control) -> event => event.unwrap_or(Event::Interrupted),
            recv(lines) -> event => event.unwrap_or(Event::InputEnded),
        };
        match event {
            Event::Line(line) if relay_udp && line.is_empty() => {}
            Event::Line(line) => match link.send(&line) {
                Ok(()) => {}
                Err(e) if matches!(link, Link::Tcp(_)) && closed_by_peer(&e) => {
                    break Ok(End::ServerEnded)
                }
                Err(e) => {
                    break Err(match &link {
                        Link::Udp(s) => udp_error(s, e),
                        Link::Tcp(_) => e,
                    })
                }
            },
            Event::InputEnded => break Ok(End::InputDone),
            Event::ServerEnded => break Ok(End::ServerEnded),
            Event::Failed(e) => break Err(e),
            Event::Interrupted => break Ok(End::Interrupted),
        }
    };
    let end = match (end, &link) {
        (Ok(End::InputDone), Link::Tcp(stream)) => last_word(stream, &control),
        (end, _) => end,
    };
    match end {
        Ok(End::ServerEnded) => {
            let text = if matches!(link, Link::Tcp(_)) {
                END_TCP
            } else {
                END_UDP
            };
            writeln!(out, "{text}")?;
            out.flush()?;
        }
        Ok(_) if relay_udp => {
            // "I leave": the server tells the receiver and frees the pair.
            let _ = link.send(&[]);
        }
        _ => {}
    }
    link.stop();
    end
}

/// How long a TCP sender whose input ended waits for the server's close.
const LAST_WORD_WAIT: Duration = Duration::from_secs(2);

/// A TCP sender's input ended: says so (FIN) and waits, briefly, for the
/// server to close in turn. Our servers close as soon as they see the end,
/// so this costs a round trip; it is how a busy server's refusal, which may
/// arrive after everything typed was already sent (`echo x | ...`), is
/// still reported instead of the lines being silently lost.
fn last_word(stream: &TcpStream, control: &Receiver<Event>) -> io::Result<End> {
    let _ = stream.shutdown(Direction::Write);
    match control.recv_timeout(LAST_WORD_WAIT) {
        Ok(Event::Failed(e)) => Err(e),
        _ => Ok(End::InputDone),
    }
}

/// The typing thread: reads bounded lines and hands them over. A line
/// longer than `max` is skipped with a message (never sent cut).
fn read_lines(mut input: impl BufRead + Send + 'static, max: usize) -> Receiver<Event> {
    let (tx, rx) = crossbeam_channel::bounded(16);
    thread::spawn(move || {
        let mut line = Vec::new();
        loop {
            let event = match read_line_bounded(&mut input, &mut line, max) {
                Ok(LineRead::Line) => Event::Line(std::mem::take(&mut line)),
                Ok(LineRead::Eof) if line.is_empty() => Event::InputEnded,
                Ok(LineRead::Eof) => {
                    let _ = tx.send(Event::Line(std::mem::take(&mut line)));
                    Event::InputEnded
                }
                Ok(LineRead::TooLong) => {
                    eprintln!("{CLIENT_BINARY}: ligne de plus de {max} octets, non envoyée");
                    // The rest of that line is dropped too.
                    loop {
                        match read_line_bounded(&mut input, &mut line, max) {
                            Ok(LineRead::TooLong) => continue,
                            Ok(LineRead::Line) => break,
                            Ok(LineRead::Eof) | Err(_) => {
                                let _ = tx.send(Event::InputEnded);
                                return;
                            }
                        }
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Event::Failed(e),
            };
            let last = matches!(event, Event::InputEnded | Event::Failed(_));
            if tx.send(event).is_err() || last {
                return;
            }
        }
    });
    rx
}

/// The TCP receiver: prints each line until the server closes.
fn receive_tcp(stream: TcpStream, out: &mut impl Write, shutdown: &Shutdown) -> io::Result<End> {
    let stopper = stream.try_clone()?;
    shutdown.on_trigger(move || {
        let _ = stopper.shutdown(Direction::Both);
    });
    let closer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = Vec::new();
    let mut first = true;
    let end = loop {
        match read_line_bounded(&mut reader, &mut line, MAX_LINE) {
            Ok(LineRead::Line) if first && is_busy(&line) => break Err(busy_error()),
            Ok(LineRead::Line) => {
                first = false;
                print_message(out, &line)?
            }
            Ok(LineRead::TooLong) => {
                eprintln!("{CLIENT_BINARY}: ligne reçue de plus de {MAX_LINE} octets, ignorée");
                while let Ok(LineRead::TooLong) =
                    read_line_bounded(&mut reader, &mut line, MAX_LINE)
                {}
            }
            Ok(LineRead::Eof) => {
                if !line.is_empty() {
                    print_message(out, &line)?;
                }
                break Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if closed_by_peer(&e) || shutdown.is_triggered() => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let _ = closer.shutdown(Direction::Both);
    end?;
    if shutdown.is_triggered() {
        return Ok(End::Interrupted);
    }
    writeln!(out, "{END_TCP}")?;
    out.flush()?;
    Ok(End::ServerEnded)
}

/// The UDP receiver: registers (an empty datagram), prints each datagram
/// until the server's empty one; says it leaves on Ctrl-C.
fn receive_udp(socket: UdpSocket, out: &mut impl Write, shutdown: &Shutdown) -> io::Result<End> {
    socket.send(&[])?;
    let stopper = socket.try_clone()?;
    shutdown.on_trigger(move || {
        let _ = stopper.send(&[]);
        let _ = SockRef::from(&stopper).shutdown(Direction::Read);
    });
    let mut buf = vec![0u8; 1 << 16];
    // A busy server answers our registration with its refusal. (A relayed
    // message with those exact words, first of the pair, would read the
    // same: UDP gives the two no other difference.)
    let mut first = true;
    loop {
        match socket.recv(&mut buf) {
            // After Ctrl-C, the shut-down socket reads as empty.
            Ok(0) if shutdown.is_triggered() => return Ok(End::Interrupted),
            Ok(0) => {
                writeln!(out, "{END_UDP}")?;
                out.flush()?;
                return Ok(End::ServerEnded);
            }
            Ok(n) if first && is_busy(&buf[..n]) => return Err(busy_error()),
            Ok(n) => {
                first = false;
                print_message(out, &buf[..n])?
            }
            Err(_) if shutdown.is_triggered() => return Ok(End::Interrupted),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(udp_error(&socket, e)),
        }
    }
}
