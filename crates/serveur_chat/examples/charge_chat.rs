//! Load generator for `serveur_chat` (run by `scripts/bench_chat.sh`).
//!
//! Registers `--clients` UDP clients, then sends `--messages` messages per
//! client at a paced aggregate `--rate` (messages/s), round robin over the
//! clients. Every client reads all it receives (large receive buffers, one
//! thread sweeping them all; `--reception poll` waits in `poll` instead,
//! `--reception lots` drains each socket with `recvmmsg`, `--pause-us` sets
//! the sleep after an empty sweep, or after every sweep with `lots`). Each message carries
//! its send time, so every delivery gives a latency. Reports deliveries/s,
//! p50/p99 latency, lost deliveries, and the server's CPU time per delivery
//! read from `/proc/PID/stat` (all its threads, user + system) around the
//! message phase.
//!
//! `--inondation TAILLE` (the flood case): one more client, `flood`,
//! sends TAILLE-byte messages as fast as it can during the message phase,
//! while only client 0 sends (`--messages` at `--rate`) and the others
//! listen; the report is about client 0's messages (the flooder's are not
//! counted): `delivery_ratio` (delivered / expected) and p99 delay.
//!
//! `--mode bien-recu` (lab 18.1, `serveur_chat --bien-recu`): no
//! registration and no `__quit__`; every message is answered `Bien reçu !`
//! to its sender, and each answer counts as one delivery (no latency: the
//! answer carries no send time). Against `relais_nu`, `--clients 2` in the
//! default mode gives the same one delivery per message, as a floor.
//!
//! `missed` lists the first 20 messages (number, then how many clients got
//! it) that did not reach every other client.
//!
//! Kernel drops: `server_drops` is how many datagrams the kernel dropped
//! at the server's socket during the message phase (`/proc/net/udp` and
//! `udp6`, the `drops` column of the sockets on the server's port): a full
//! receive buffer, and also `serveur_chat`'s set-aside filter (a flooder's
//! datagrams dropped on purpose). `rcvbuf_errors` counts only full receive
//! buffers (`RcvbufErrors` in `/proc/net/snmp` and `snmp6`), but for the
//! whole machine: other programs' too.
//!
//! Works against `serveur_chat` and against the bare relay
//! (`examples/relais_nu.rs`), which forwards `__message__:` datagrams as they
//! are: the payload's last field is parsed either way.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmmsg, setsockopt, sockopt, MsgFlags, MultiHeaders, SockaddrStorage};

struct Args {
    server: SocketAddr,
    clients: usize,
    messages: usize,
    rate: f64,
    pid: Option<u32>,
    reception: Reception,
    pause: Duration,
    /// Size of the flooder's messages; 0: no flooder.
    flood: usize,
    /// `--mode bien-recu`: the server answers each datagram to its sender.
    bien_recu: bool,
}

/// `serveur_chat --bien-recu`'s answer (its `BIEN_RECU`).
const BIEN_RECU: &[u8] = "Bien reçu !".as_bytes();

/// How the receiving thread waits for datagrams.
#[derive(Clone, Copy, PartialEq)]
enum Reception {
    /// Sweep all sockets with non-blocking `recv`, sleep `--pause-us` after
    /// an empty sweep: nobody ever waits on a socket (the default).
    Sweep,
    /// `poll` over all sockets, then drain each ready one until EAGAIN: one
    /// wake-up per `poll` sleep, however many datagrams arrived meanwhile.
    /// Measured: the server pays those wake-ups (about 0.7 µs more CPU per
    /// delivery than `Sweep` at 2,000 msg/s), so it is not the default.
    Poll,
    /// Like `Sweep`, but each socket is drained with `recvmmsg` (up to
    /// [`BATCH`] datagrams per call) and the thread sleeps `--pause-us`
    /// after every sweep, so that datagrams pile up between two calls.
    /// Measured at 3,000 msg/s with `--pause-us 500`: this thread spends
    /// 2.9 µs of CPU per delivery instead of 3.9, the server's CPU per
    /// delivery barely moves (5.26 against 5.51 µs) and neither does the
    /// highest lossless rate (the server's sending thread is the limit).
    Batch,
}

/// Datagrams per `recvmmsg`, and the room for each (the bench's are short).
const BATCH: usize = 64;
const SLOT: usize = 2048;

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        server: "127.0.0.1:5005".parse().unwrap(),
        clients: 50,
        messages: 2000,
        rate: 6000.0,
        pid: None,
        reception: Reception::Sweep,
        pause: SWEEP_PAUSE,
        flood: 0,
        bien_recu: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} : valeur manquante"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value} : {e}");
        match flag.as_str() {
            "--serveur" => args.server = value.parse().map_err(|e| bad(&e))?,
            "--clients" => args.clients = value.parse().map_err(|e| bad(&e))?,
            "--messages" => args.messages = value.parse().map_err(|e| bad(&e))?,
            "--rate" => args.rate = value.parse().map_err(|e| bad(&e))?,
            "--pid" => args.pid = Some(value.parse().map_err(|e| bad(&e))?),
            "--inondation" => args.flood = value.parse().map_err(|e| bad(&e))?,
            "--pause-us" => args.pause = Duration::from_micros(value.parse().map_err(|e| bad(&e))?),
            "--mode" => {
                args.bien_recu = match value.as_str() {
                    "chat" => false,
                    "bien-recu" => true,
                    _ => return Err(bad(&"chat ou bien-recu")),
                }
            }
            "--reception" => {
                args.reception = match value.as_str() {
                    "balayage" => Reception::Sweep,
                    "poll" => Reception::Poll,
                    "lots" => Reception::Batch,
                    _ => return Err(bad(&"balayage, poll ou lots")),
                }
            }
            _ => return Err(format!("option inconnue {flag}")),
        }
    }
    if args.clients < 2 || args.rate <= 0.0 {
        return Err("il faut au moins 2 clients et un débit > 0".into());
    }
    if args.bien_recu && args.flood > 0 {
        return Err("--inondation ne va pas avec --mode bien-recu".into());
    }
    Ok(args)
}

/// The machine's UDP receive-buffer overflows so far (IPv4 and IPv6).
fn rcvbuf_errors() -> Option<u64> {
    let mut total = None;
    if let Ok(snmp) = std::fs::read_to_string("/proc/net/snmp") {
        // Two "Udp:" lines: the field names, then the values.
        let udp: Vec<Vec<&str>> = snmp
            .lines()
            .filter(|l| l.starts_with("Udp:"))
            .map(|l| l.split_whitespace().collect())
            .collect();
        if let [names, values] = &udp[..] {
            let at = names.iter().position(|n| *n == "RcvbufErrors");
            if let Some(v) = at
                .and_then(|i| values.get(i))
                .and_then(|v| v.parse::<u64>().ok())
            {
                *total.get_or_insert(0) += v;
            }
        }
    }
    if let Ok(snmp6) = std::fs::read_to_string("/proc/net/snmp6") {
        for line in snmp6.lines() {
            if let Some(("Udp6RcvbufErrors", v)) = line
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
            {
                if let Ok(v) = v.parse::<u64>() {
                    *total.get_or_insert(0) += v;
                }
            }
        }
    }
    total
}

/// Receives until `stop_when(message deliveries, other datagrams)` says so
/// or nothing came for `idle_limit`; returns (message deliveries, latencies
/// in µs, other datagrams).
///
/// By default (`Reception::Sweep`) the sockets are swept without blocking and
/// the thread sleeps only when a whole sweep found nothing. Nobody waits on
/// the sockets, so the server's `send_to` never has a sleeping reader to wake
/// up: its CPU time measures the delivery itself, not our scheduling.
fn receive_all(
    sockets: &[UdpSocket],
    reception: Reception,
    pause: Duration,
    start: Instant,
    stop_when: impl Fn(u64, u64) -> bool,
    idle_limit: Duration,
    per_message: &mut [u32],
) -> (u64, Vec<u32>, u64) {
    let mut latencies = Vec::new();
    let (mut messages, mut others) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    let mut batch = vec![0u8; BATCH * SLOT];
    let mut lens = Vec::with_capacity(BATCH);
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut last_activity = Instant::now();
    loop {
        if stop_when(messages, others) || last_activity.elapsed() > idle_limit {
            return (messages, latencies, others);
        }
        let ready = match reception {
            Reception::Sweep | Reception::Batch => vec![true; sockets.len()],
            Reception::Poll => wait_readable(sockets),
        };
        let mut got = 0;
        let mut count = |data: &[u8]| {
            got += 1;
            if data == BIEN_RECU {
                // 18.1: the answer to one message.
                messages += 1;
            } else if data.starts_with(b"[flood] ") || data.starts_with(b"__message__:f") {
                // The flooder's (or a notice to it): not what is measured.
                others += 1;
            } else if data.first() == Some(&b'[') || data.starts_with(b"__message__:") {
                messages += 1;
                let text = std::str::from_utf8(data).ok();
                let sent_ns = text
                    .and_then(|t| t.rsplit(' ').next())
                    .and_then(|t| t.parse::<u64>().ok());
                // "... K SENT_NS": K is the message's number.
                let k = text
                    .and_then(|t| t.rsplit(' ').nth(1))
                    .and_then(|k| k.rsplit(':').next())
                    .and_then(|k| k.parse::<usize>().ok());
                if let Some(count) = k.and_then(|k| per_message.get_mut(k)) {
                    *count += 1;
                }
                if let Some(sent_ns) = sent_ns {
                    let now_ns = start.elapsed().as_nanos() as u64;
                    latencies.push((now_ns.saturating_sub(sent_ns) / 1000) as u32);
                }
            } else {
                others += 1;
            }
        };
        for (socket, _) in sockets.iter().zip(ready).filter(|(_, r)| *r) {
            if reception == Reception::Batch {
                while let Ok(n) = recv_batch(socket, &mut headers, &mut batch, &mut lens) {
                    for (slot, &len) in batch.chunks(SLOT).zip(&lens) {
                        count(&slot[..len.min(SLOT)]);
                    }
                    if n < BATCH {
                        break;
                    }
                }
            } else {
                while let Ok(n) = socket.recv(&mut buf) {
                    count(&buf[..n]);
                }
            }
        }
        if got > 0 {
            last_activity = Instant::now();
        }
        if reception == Reception::Batch || (got == 0 && reception == Reception::Sweep) {
            thread::sleep(pause);
        }
    }
}

/// Reads up to [`BATCH`] datagrams from `socket` without blocking, into
/// consecutive [`SLOT`]-byte slots of `storage`; their lengths go to `lens`.
fn recv_batch(
    socket: &UdpSocket,
    headers: &mut MultiHeaders<SockaddrStorage>,
    storage: &mut [u8],
    lens: &mut Vec<usize>,
) -> nix::Result<usize> {
    let mut slices: Vec<[IoSliceMut; 1]> = storage
        .chunks_mut(SLOT)
        .map(|slot| [IoSliceMut::new(slot)])
        .collect();
    let results = recvmmsg(
        socket.as_raw_fd(),
        headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )?;
    lens.clear();
    lens.extend(results.map(|r| r.bytes));
    Ok(lens.len())
}

/// Blocks (at most 100 ms) until some socket is readable; which ones are.
fn wait_readable(sockets: &[UdpSocket]) -> Vec<bool> {
    let mut fds: Vec<PollFd> = sockets
        .iter()
        .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    match poll(&mut fds, PollTimeout::from(100u16)) {
        Ok(_) => fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect(),
        Err(_) => vec![false; sockets.len()],
    }
}

/// Default sleep between two empty sweeps (`--pause-us`): bounds the
/// latency we add. 2 ms instead halves this thread's CPU (0.5 to 0.8 core at
/// 100 µs, most `recv`s finding nothing) but, measured, changes neither the
/// server's CPU per delivery nor the highest lossless rate, and adds latency.
const SWEEP_PAUSE: Duration = Duration::from_micros(100);

/// Sends `__quit__` from every client until each got the server's
/// `__quit__` back (5 tries); Err(how many are still registered).
fn leave(sockets: &[UdpSocket], server: SocketAddr) -> Result<(), usize> {
    let mut gone = vec![false; sockets.len()];
    let mut buf = vec![0u8; 1 << 16];
    for _ in 0..5 {
        for (socket, _) in sockets.iter().zip(&gone).filter(|(_, g)| !**g) {
            send(socket, b"__quit__", server);
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while gone.contains(&false) && Instant::now() < deadline {
            for (socket, gone) in sockets.iter().zip(gone.iter_mut()) {
                while let Ok(n) = socket.recv(&mut buf) {
                    if &buf[..n] == b"__quit__" {
                        *gone = true;
                    }
                }
            }
            thread::sleep(SWEEP_PAUSE);
        }
        if !gone.contains(&false) {
            return Ok(());
        }
    }
    Err(gone.iter().filter(|g| !**g).count())
}

fn send(socket: &UdpSocket, data: &[u8], to: SocketAddr) {
    loop {
        match socket.send_to(data, to) {
            Ok(_) => return,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::yield_now(),
            Err(e) => panic!("send_to {to}: {e}"),
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("charge_chat: {e}");
            std::process::exit(2);
        }
    };
    let n = args.clients;
    let local = if args.server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| {
            let s = UdpSocket::bind(local).expect("bind client");
            // Past net.core.rmem_max when root; plain SO_RCVBUF otherwise.
            if setsockopt(&s, sockopt::RcvBufForce, &(8 << 20)).is_err() {
                let _ = setsockopt(&s, sockopt::RcvBuf, &(8 << 20));
            }
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect();
    let sockets = Arc::new(sockets);
    let start = Instant::now();
    let flooder = (args.flood > 0).then(|| {
        let s = UdpSocket::bind(local).expect("bind flooder");
        send(&s, b"__new_name__:flood", args.server);
        s
    });
    // The flooder registers first: its entrance reaches only itself.

    // Registration: client i gets the join notices of clients i..n (none
    // in 18.1: nobody registers).
    if !args.bien_recu {
        for (i, s) in sockets.iter().enumerate() {
            send(s, format!("__new_name__:c{i:02}").as_bytes(), args.server);
        }
    }
    let joins = if args.bien_recu {
        0
    } else {
        (n * (n + 1) / 2) as u64
    };
    let (_, _, got) = receive_all(
        &sockets,
        args.reception,
        args.pause,
        start,
        |_, o| o >= joins,
        Duration::from_secs(5),
        &mut [],
    );
    if got < joins {
        eprintln!("charge_chat: inscription incomplète ({got}/{joins} avis reçus)");
        std::process::exit(1);
    }

    let drops_before = test_support::udp_socket_drops(args.server.port());
    let overflows_before = rcvbuf_errors();
    let cpu_before = args
        .pid
        .map(test_support::process_cpu_seconds)
        .transpose()
        .expect("read /proc/PID/stat");
    // With a flooder, only client 0 sends.
    let senders = if flooder.is_some() { 1 } else { n };
    let total = senders * args.messages;
    // One delivery per message to each other client; in 18.1, one answer
    // to its sender.
    let expected = if args.bien_recu {
        total as u64
    } else {
        (total * (n - 1)) as u64
    };
    let n_minus_one = n - 1;
    let sending = Arc::new(AtomicBool::new(true));
    let flood = flooder.map(|socket| {
        let sending = Arc::clone(&sending);
        let (server, size) = (args.server, args.flood.max(13));
        thread::spawn(move || {
            let mut payload = b"__message__:".to_vec();
            payload.resize(size, b'f');
            let mut sent = 0u64;
            while sending.load(Ordering::Relaxed) {
                if socket.send_to(&payload, server).is_ok() {
                    sent += 1;
                }
            }
            let _ = socket.send_to(b"__quit__", server);
            sent
        })
    });
    let sender = {
        let sockets = Arc::clone(&sockets);
        let sending = Arc::clone(&sending);
        let (server, rate) = (args.server, args.rate);
        thread::spawn(move || {
            let t0 = Instant::now();
            let mut text = String::with_capacity(64);
            for k in 0..total {
                let due = Duration::from_secs_f64(k as f64 / rate);
                let ahead = due.saturating_sub(t0.elapsed());
                if ahead > Duration::from_micros(200) {
                    thread::sleep(ahead);
                }
                text.clear();
                use std::fmt::Write;
                let _ = write!(text, "__message__:{k} {}", start.elapsed().as_nanos());
                send(&sockets[k % senders], text.as_bytes(), server);
            }
            sending.store(false, Ordering::SeqCst);
            t0.elapsed()
        })
    };
    let t_messages = Instant::now();
    // The answers of 18.1 do not say which message they answer.
    let mut per_message = vec![0u32; if args.bien_recu { 0 } else { total }];
    let (delivered, mut latencies, _) = receive_all(
        &sockets,
        args.reception,
        args.pause,
        start,
        |m, _| m >= expected && !sending.load(Ordering::SeqCst),
        Duration::from_secs(3),
        &mut per_message,
    );
    let send_time = sender.join().expect("sender thread");
    let flood_sent = flood.map(|f| f.join().expect("flooder thread"));
    let elapsed = t_messages.elapsed();
    let delta = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) => a.saturating_sub(b).to_string(),
        _ => "NA".into(),
    };
    let server_drops = delta(
        drops_before,
        test_support::udp_socket_drops(args.server.port()),
    );
    let overflows = delta(overflows_before, rcvbuf_errors());
    let cpu = match (args.pid, cpu_before) {
        (Some(pid), Some(before)) => {
            Some(test_support::process_cpu_seconds(pid).expect("read /proc/PID/stat") - before)
        }
        _ => None,
    };

    // Leave, so the next run starts from an empty chat: a client that stayed
    // registered (its `__quit__` lost in a full server buffer) would make the
    // server send to a closed port for every later message, and each of
    // those sends costs an ICMP error on loopback.
    // In 18.1 nobody registered.
    let left = if args.bien_recu {
        Ok(())
    } else {
        leave(&sockets, args.server)
    };
    if let Err(left) = left {
        eprintln!("charge_chat: {left} client(s) toujours inscrits après 5 __quit__");
    }

    // Which messages some client missed (the first 20), to tell a loss at
    // the start of a flood from one in its steady state.
    let missed: Vec<String> = per_message
        .iter()
        .enumerate()
        .filter(|(_, &n)| (n as usize) < n_minus_one)
        .take(20)
        .map(|(k, n)| format!("{k}({n})"))
        .collect();
    latencies.sort_unstable();
    let pct = |p: f64| test_support::percentile(&latencies, p);
    let lost = expected.saturating_sub(delivered);
    let per_s = delivered as f64 / elapsed.as_secs_f64();
    let achieved = total as f64 / send_time.as_secs_f64();
    let cpu_per = cpu.map(|c| c * 1e6 / delivered.max(1) as f64);
    println!(
        "RESULT rate={} achieved_rate={:.0} messages={} deliveries={} lost={} delivery_ratio={:.4} flood_sent={} missed={} server_drops={} rcvbuf_errors={} deliveries_per_s={:.0} p50_us={} p99_us={} cpu_s={} cpu_us_per_delivery={}",
        args.rate,
        achieved,
        total,
        delivered,
        lost,
        delivered as f64 / expected.max(1) as f64,
        flood_sent.map_or("NA".into(), |n| n.to_string()),
        if missed.is_empty() { "-".into() } else { missed.join(",") },
        server_drops,
        overflows,
        per_s,
        pct(0.50),
        pct(0.99),
        cpu.map_or("NA".into(), |c| format!("{c:.2}")),
        cpu_per.map_or("NA".into(), |c| format!("{c:.3}")),
    );
}
