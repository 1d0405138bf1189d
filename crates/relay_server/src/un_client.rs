//! Exercise 1: a server for one client, which prints what the client sends.
//!
//! TCP (1.1): one connection at a time; each line is printed as it comes
//! (the sheet prints "the string received": our client sends one line per
//! message, and a stream has no other boundaries). When the client leaves,
//! the next one is served. UDP (1.2): each datagram is printed as a line.

use std::io::{self, BufReader, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use server_kit::accept::Registry;
use server_kit::lines::{read_line_bounded, LineRead};
use server_kit::Shutdown;

use crate::{print_message, timed_out, transient, MAX_LINE, SERVER_BINARY};

/// Serves TCP clients one after the other until `shutdown`. A client
/// silent for `idle` is disconnected, so that it cannot keep the next one
/// waiting forever.
pub fn serve_tcp(
    listener: TcpListener,
    shutdown: &Shutdown,
    idle: Duration,
    out: &mut impl Write,
) -> io::Result<()> {
    shutdown.wake_tcp_listener(&listener)?;
    // Ctrl-C closes the client's connection, ending its `read` at once.
    let registry = Registry::closed_on(shutdown);
    loop {
        let (stream, from) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(_) if shutdown.is_triggered() => return Ok(()),
            Err(e) => {
                eprintln!("{SERVER_BINARY}: accept : {e}");
                if !transient(&e) {
                    // EMFILE and the like: give the system a moment.
                    std::thread::sleep(Duration::from_millis(100));
                }
                continue;
            }
        };
        let guard = match registry.register(&stream, usize::MAX) {
            Ok(guard) => guard,
            Err(e) => {
                eprintln!("{SERVER_BINARY}: client {from} : {e}");
                continue;
            }
        };
        if shutdown.is_triggered() {
            return Ok(());
        }
        eprintln!("{SERVER_BINARY}: client connecté depuis {from}");
        let end = print_lines(stream, idle, out);
        drop(guard);
        if shutdown.is_triggered() {
            return Ok(());
        }
        match end {
            Ok(why) => eprintln!("{SERVER_BINARY}: client {from} {why}"),
            // Our stdout is gone (closed pipe): nothing left to print to.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(e),
            Err(e) => eprintln!("{SERVER_BINARY}: client {from} : {e}"),
        }
    }
}

/// Prints the client's lines until it leaves; says how it left. An `Err`
/// is a failure to print.
fn print_lines(stream: TcpStream, idle: Duration, out: &mut impl Write) -> io::Result<String> {
    stream.set_read_timeout(Some(idle))?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        match read_line_bounded(&mut reader, &mut line, MAX_LINE) {
            Ok(LineRead::Line) => print_message(out, &line)?,
            Ok(LineRead::Eof) => {
                if !line.is_empty() {
                    print_message(out, &line)?;
                }
                return Ok("parti".into());
            }
            Ok(LineRead::TooLong) => {
                return Ok(format!("déconnecté : ligne de plus de {MAX_LINE} octets"))
            }
            Err(e) if timed_out(&e) => {
                return Ok(format!(
                    "déconnecté : silencieux depuis {} s",
                    idle.as_secs()
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Ok(format!("parti ({e})")),
        }
    }
}

/// Prints every datagram as a line until `shutdown` (UDP has no
/// connection: whoever sends is printed).
pub fn serve_udp(socket: UdpSocket, shutdown: &Shutdown, out: &mut impl Write) -> io::Result<()> {
    shutdown.wake_udp_socket(&socket)?;
    // The largest UDP payload fits: no datagram is ever cut.
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match server_kit::udp::recv_from(&socket, &mut buf) {
            Ok((n, Some(_))) => n,
            _ if shutdown.is_triggered() => return Ok(()),
            // Woken without a datagram.
            Ok((_, None)) => continue,
            // An ICMP error about an earlier datagram, or a signal.
            Err(_) => continue,
        };
        if shutdown.is_triggered() {
            return Ok(());
        }
        print_message(out, &buf[..n])?;
    }
}
