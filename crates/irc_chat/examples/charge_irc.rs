//! Load generator for IRC servers (run by `scripts/bench_irc.sh`), the
//! same for `irc_server` and ngircd.
//!
//! `charge_irc ADRESSE [--clients 100] [--messages 1000] [--fenetre 32]
//! [--pid PID]`: registers `--clients` IRC clients (`NICK b<i>`/`USER`),
//! all join `#bench`, then each sends `--messages` `PRIVMSG #bench` while
//! every client reads everything (a reader thread per client). Each message
//! carries its send time, so each delivery gives a latency.
//!
//! Flow control, so that no server is measured dropping clients for not
//! reading: client `i` keeps at most `--fenetre` of its messages not yet
//! received by client `i + 1`. Each receiver then has at most
//! `clients x fenetre` lines on their way to it, whatever the server.
//!
//! Prints one `clé=valeur` line: deliveries, seconds, deliveries/s, p50 and
//! p99 latency (µs), and with `--pid` the server's CPU time (user + system,
//! all threads, from `/proc/PID/stat`) per delivery over the message phase.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const CHANNEL: &str = "#bench";
/// How long the message phase may take before the missing deliveries are
/// reported as lost.
const PATIENCE: Duration = Duration::from_secs(120);

struct Args {
    server: SocketAddr,
    clients: usize,
    messages: u64,
    window: u64,
    pid: Option<u32>,
}

fn usage() -> ExitCode {
    eprintln!("usage : charge_irc ADRESSE [--clients N] [--messages N] [--fenetre N] [--pid PID]");
    ExitCode::from(2)
}

fn parse_args() -> Option<Args> {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        server: it.next()?.parse().ok()?,
        clients: 100,
        messages: 1000,
        window: 32,
        pid: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next()?;
        match flag.as_str() {
            "--clients" => args.clients = value.parse().ok()?,
            "--messages" => args.messages = value.parse().ok()?,
            "--fenetre" => args.window = value.parse().ok()?,
            "--pid" => args.pid = Some(value.parse().ok()?),
            _ => return None,
        }
    }
    (args.clients >= 2 && args.window >= 1).then_some(args)
}

/// Reads lines until one whose command (second word) is `numeric`.
fn wait_for(reader: &mut BufReader<TcpStream>, numeric: &str) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line.split(' ').nth(1) == Some(numeric) {
            return Ok(());
        }
    }
}

/// One registered client in `#bench`.
fn join(server: SocketAddr, i: usize) -> std::io::Result<(TcpStream, BufReader<TcpStream>)> {
    let mut stream = TcpStream::connect(server)?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::with_capacity(1 << 16, stream.try_clone()?);
    write!(stream, "NICK b{i}\r\nUSER b{i} 0 * :bench\r\n")?;
    wait_for(&mut reader, "001")?;
    write!(stream, "JOIN {CHANNEL}\r\n")?;
    wait_for(&mut reader, "366")?;
    Ok((stream, reader))
}

/// The sender's number and the send time of a `PRIVMSG` line
/// (`:b<i>!... PRIVMSG #bench :<ns>`), or None for any other line.
fn parse_message(line: &[u8]) -> Option<(usize, u64)> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b":b")?;
    let bang = rest.iter().position(|&b| b == b'!')?;
    let sender = std::str::from_utf8(&rest[..bang]).ok()?.parse().ok()?;
    let colon = line.iter().rposition(|&b| b == b':')?;
    if !line.windows(9).any(|w| w == b" PRIVMSG ") {
        return None;
    }
    let sent = std::str::from_utf8(&line[colon + 1..]).ok()?.parse().ok()?;
    Some((sender, sent))
}

/// What one reader saw.
struct Seen {
    latencies_us: Vec<u32>,
    last: Option<Instant>,
}

fn main() -> ExitCode {
    let Some(args) = parse_args() else {
        return usage();
    };
    let n = args.clients;
    let epoch = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        match join(args.server, i) {
            Ok(c) => conns.push(c),
            Err(e) => {
                eprintln!("charge_irc : client {i} : {e}");
                return ExitCode::from(1);
            }
        }
    }
    // The last JOIN's NAMES has reached its client; the joins of the
    // others may still be on their way to the first clients, which skip
    // them (not PRIVMSG).
    let expected = (n as u64 - 1) * args.messages;
    // received[i]: messages of client i that client i + 1 has read.
    let received: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let start = Arc::new(Barrier::new(2 * n + 1));
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    for (i, (stream, mut reader)) in conns.into_iter().enumerate() {
        let (seen_by_next, start2) = (Arc::clone(&received), Arc::clone(&start));
        let watched = (i + n - 1) % n;
        readers.push(thread::spawn(move || {
            start2.wait();
            let mut seen = Seen {
                latencies_us: Vec::with_capacity(expected as usize),
                last: None,
            };
            let _ = reader.get_ref().set_read_timeout(Some(PATIENCE));
            let mut line = Vec::with_capacity(128);
            while (seen.latencies_us.len() as u64) < expected {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let Some((sender, sent)) = parse_message(&line) else {
                    continue;
                };
                let now = epoch.elapsed().as_nanos() as u64;
                let us = now.saturating_sub(sent) / 1000;
                seen.latencies_us.push(us.min(u64::from(u32::MAX)) as u32);
                if sender == watched {
                    seen_by_next[watched].fetch_add(1, Ordering::Release);
                }
            }
            seen.last = Some(Instant::now());
            seen
        }));
        let (seen_by_next, start2) = (Arc::clone(&received), Arc::clone(&start));
        let (messages, window) = (args.messages, args.window);
        senders.push(thread::spawn(move || {
            let mut stream = stream;
            start2.wait();
            let mut line = Vec::with_capacity(64);
            for k in 0..messages {
                let mut waited = 0u32;
                while k - seen_by_next[i].load(Ordering::Acquire) >= window {
                    waited += 1;
                    if waited < 100 {
                        thread::yield_now();
                    } else {
                        thread::sleep(Duration::from_micros(50));
                    }
                    if waited > 2_000_000 {
                        return;
                    }
                }
                line.clear();
                let now = epoch.elapsed().as_nanos();
                let _ = write!(line, "PRIVMSG {CHANNEL} :{now}\r\n");
                if stream.write_all(&line).is_err() {
                    return;
                }
            }
            // Kept open until every reader is done (closing early would
            // make the server announce a QUIT mid-measure).
            thread::park_timeout(PATIENCE);
            drop(stream);
        }));
    }
    let cpu_before = args
        .pid
        .and_then(|pid| test_support::process_cpu_seconds(pid).ok());
    let t0 = Instant::now();
    start.wait();
    let mut latencies = Vec::with_capacity(expected as usize * n);
    let mut last = t0;
    for r in readers {
        let seen = r.join().expect("lecteur");
        last = last.max(seen.last.unwrap_or(t0));
        latencies.extend(seen.latencies_us);
    }
    let cpu_after = args
        .pid
        .and_then(|pid| test_support::process_cpu_seconds(pid).ok());
    for s in &senders {
        s.thread().unpark();
    }
    for s in senders {
        let _ = s.join();
    }
    let seconds = last.duration_since(t0).as_secs_f64();
    let delivered = latencies.len() as u64;
    let lost = expected * n as u64 - delivered;
    latencies.sort_unstable();
    let pct = |p: f64| test_support::percentile(&latencies, p);
    let mut report = format!(
        "deliveries={delivered} lost={lost} seconds={seconds:.3} deliveries_per_s={:.0} p50_us={} p99_us={}",
        delivered as f64 / seconds,
        pct(0.50),
        pct(0.99)
    );
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        let per = (b - a) * 1e6 / delivered.max(1) as f64;
        report.push_str(&format!(" cpu_s={:.2} cpu_us_per_delivery={per:.3}", b - a));
    }
    println!("{report}");
    if lost > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
