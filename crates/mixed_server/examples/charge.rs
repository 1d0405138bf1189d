//! Load generator of `scripts/bench_sockets.sh`.
//!
//! `charge aller-retour --port P [--clients 100] [--secondes 5]`: CLIENTS
//! connections, each sending `Bonjour serveur TCP` and waiting for the
//! answer, again and again; prints round trips, round trips/s and the p99
//! latency in microseconds (`aller-retours=N par-seconde=R p99-us=L`).
//!
//! `charge poignees-tls --port P --ca ca.pem [--threads 4] [--secondes 5]`:
//! full TLS handshakes (no resumption), each on a new connection, closed at
//! once; prints `poignees=N par-seconde=R`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use server_kit::stream::Stream;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let port = num("--port", 12345) as u16;
    let seconds = Duration::from_secs(num("--secondes", 5));
    match mode.as_str() {
        "aller-retour" => round_trips(port, num("--clients", 100) as usize, seconds),
        "poignees-tls" => handshakes(
            port,
            PathBuf::from(arg("--ca").expect("--ca ca.pem")),
            num("--threads", 4) as usize,
            seconds,
        ),
        _ => {
            eprintln!("usage : charge aller-retour|poignees-tls --port P ...");
            std::process::exit(2);
        }
    }
}

fn round_trips(port: u16, clients: usize, length: Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream.set_nodelay(true).unwrap();
                let mut latencies = Vec::new();
                let mut answer = [0u8; 64];
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    stream.write_all(b"Bonjour serveur TCP").unwrap();
                    let n = stream.read(&mut answer).unwrap();
                    assert!(n > 0, "server closed");
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                latencies
            })
        })
        .collect();
    let started = Instant::now();
    thread::sleep(length);
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or(0);
    println!(
        "aller-retours={} par-seconde={:.0} p99-us={p99}",
        all.len(),
        all.len() as f64 / elapsed
    );
}

fn handshakes(port: u16, ca: PathBuf, threads: usize, length: Duration) {
    let base = server_kit::tls::client_config(&ca).expect("ca");
    let mut config = (*base).clone();
    config.resumption = Resumption::disabled();
    let config = Arc::new(config);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, config) = (Arc::clone(&stop), Arc::clone(&config));
            thread::spawn(move || {
                let mut done = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                    let name = ServerName::try_from("localhost").unwrap();
                    let stream = Stream::connect_tls(
                        tcp,
                        Arc::clone(&config),
                        name,
                        Duration::from_secs(10),
                    )
                    .expect("handshake");
                    let _ = stream.shutdown();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let started = Instant::now();
    thread::sleep(length);
    stop.store(true, Ordering::Relaxed);
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!(
        "poignees={total} par-seconde={:.0}",
        total as f64 / started.elapsed().as_secs_f64()
    );
}
