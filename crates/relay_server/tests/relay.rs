//! The relay and its clients over real loopback sockets: servers on port 0
//! in threads, our clients through their library functions (input from the
//! test, output captured), raw sockets where a test plays a peer.

use std::io::{self, BufRead, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use e2e::unread_stderr::UnreadStderr;
use e2e::SharedBuffer;
use relay_server::client::{self, ClientConfig, End, END_TCP, END_UDP, ROLE_1_TEXT, ROLE_2_TEXT};
use relay_server::{Bound, Config, Mode, BUSY_TEXT, MAX_DATAGRAM, MAX_LINE};
use server_kit::{PortChoice, Shutdown};

const WAIT: Duration = Duration::from_secs(30);

/// A server running in a thread; stopped (and checked) on drop.
struct TestServer {
    addr: SocketAddr,
    shutdown: Shutdown,
    thread: Option<JoinHandle<io::Result<()>>>,
    out: SharedBuffer,
}

impl TestServer {
    fn start(bind: &str, udp: bool, mode: Mode, idle: Duration) -> TestServer {
        let config = Config {
            bind: bind.parse::<IpAddr>().unwrap(),
            port: PortChoice::Exact(0),
            udp,
            mode,
            idle,
        };
        let bound = Bound::bind(&config).unwrap();
        let addr = bound.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let out = SharedBuffer::default();
        let thread = {
            let (shutdown, mut out) = (shutdown.clone(), out.clone());
            thread::spawn(move || bound.serve(&config, &shutdown, &mut out))
        };
        TestServer {
            addr,
            shutdown,
            thread: Some(thread),
            out,
        }
    }

    fn relais(bind: &str, udp: bool) -> TestServer {
        Self::start(
            bind,
            udp,
            Mode::Relais { roles: false },
            Duration::from_secs(60),
        )
    }

    fn client(&self, udp: bool) -> ClientConfig {
        ClientConfig {
            serveur: self.addr.ip().to_string(),
            port: self.addr.port(),
            udp,
            port_local: None,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(thread) = self.thread.take() {
            let result = thread.join().expect("server thread panicked");
            if !thread::panicking() {
                result.expect("server failed");
            }
        }
    }
}

/// Input fed by the test: chunks from a channel, end of input when the
/// sender is dropped. Says when it is first read (the client is then
/// connected, or registered over UDP).
struct Input {
    rx: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
    started: Option<mpsc::Sender<()>>,
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some(started) = self.started.take() {
            let _ = started.send(());
        }
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(chunk) => (self.buf, self.pos) = (chunk, 0),
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

impl Input {
    /// Input that never comes (nor ends).
    fn never() -> Input {
        let (tx, rx) = mpsc::channel();
        // Kept open for good: the reading thread waits forever, detached.
        std::mem::forget(tx);
        Input {
            rx,
            buf: Vec::new(),
            pos: 0,
            started: None,
        }
    }
}

type ClientThread = JoinHandle<(io::Result<End>, SharedBuffer)>;

/// Starts a sending client (`envoyer`, `emetteur` or `auto`) in a thread,
/// and returns once it is connected: the feeder, the thread.
fn spawn_sender(
    run: fn(&ClientConfig, Input, &mut SharedBuffer, &Shutdown) -> io::Result<End>,
    config: ClientConfig,
) -> (mpsc::Sender<Vec<u8>>, ClientThread) {
    let (tx, rx) = mpsc::channel();
    let (started_tx, started) = mpsc::channel();
    let input = Input {
        rx,
        buf: Vec::new(),
        pos: 0,
        started: Some(started_tx),
    };
    let thread = thread::spawn(move || {
        let mut out = SharedBuffer::default();
        let end = run(&config, input, &mut out, &Shutdown::new());
        (end, out)
    });
    started
        .recv_timeout(WAIT)
        .expect("sender never read its input");
    (tx, thread)
}

/// Runs a sending client on `text` to the end of it.
fn send_all(
    run: fn(&ClientConfig, Input, &mut SharedBuffer, &Shutdown) -> io::Result<End>,
    config: ClientConfig,
    text: &[u8],
) -> End {
    let (feed, sender) = spawn_sender(run, config);
    feed.send(text.to_vec()).unwrap();
    drop(feed);
    join(sender).0
}

fn spawn_receiver(config: ClientConfig) -> (SharedBuffer, ClientThread) {
    let out = SharedBuffer::default();
    let thread = {
        let mut out = out.clone();
        thread::spawn(move || {
            let end = client::recepteur(&config, &mut out, &Shutdown::new());
            (end, out)
        })
    };
    (out, thread)
}

fn join(thread: ClientThread) -> (End, String) {
    let (end, out) = thread.join().expect("client thread panicked");
    (end.expect("client failed"), out.text())
}

/// Waits until `out` holds `lines` lines.
fn wait_lines(out: &SharedBuffer, lines: usize) {
    let deadline = Instant::now() + WAIT;
    while out.bytes().iter().filter(|&&b| b == b'\n').count() < lines {
        assert!(
            Instant::now() < deadline,
            "waited for {lines} lines, got:\n{}",
            String::from_utf8_lossy(&out.bytes())
        );
        thread::sleep(Duration::from_millis(2));
    }
}

fn lines_of(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("ligne {i} é")).collect()
}

fn big_line(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

#[test]
fn tcp_relay_carries_1_mib_lines_and_10000_rapid_lines_unchanged() {
    for bind in ["127.0.0.1", "::1"] {
        let server = TestServer::relais(bind, false);
        let (feed, sender) = spawn_sender(client::emetteur, server.client(false));
        let (_, receiver) = spawn_receiver(server.client(false));
        let big = big_line(MAX_LINE);
        let mut expected = vec![big.clone(), "entre deux".into(), big.clone()];
        expected.extend(lines_of(10_000));
        // Everything in one go: the lines reach the relay glued in whatever
        // segments TCP makes, and must come out as the same lines.
        let mut all = expected.join("\n");
        all.push('\n');
        feed.send(all.into_bytes()).unwrap();
        drop(feed);
        assert_eq!(join(sender), (End::InputDone, String::new()));
        let (end, out) = join(receiver);
        assert_eq!(end, End::ServerEnded);
        let mut want = expected.join("\n");
        want.push('\n');
        want.push_str(END_TCP);
        want.push('\n');
        assert!(
            out == want,
            "{bind}: output differs ({} bytes, want {})",
            out.len(),
            want.len()
        );
    }
}

#[test]
fn tcp_relay_copies_bytes_unchanged_two_quick_lines_stay_two() {
    let server = TestServer::relais("127.0.0.1", false);
    let mut sender = TcpStream::connect(server.addr).unwrap();
    let mut receiver = TcpStream::connect_timeout(&server.addr, WAIT).unwrap();
    // Any bytes, in pieces that are not lines: the relay adds and removes
    // nothing.
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let writer = thread::spawn(move || {
        for piece in data.chunks(777) {
            sender.write_all(piece).unwrap();
        }
        data
    });
    let mut got = vec![0u8; 300_000];
    receiver.set_read_timeout(Some(WAIT)).unwrap();
    receiver.read_exact(&mut got).unwrap();
    assert!(got == writer.join().unwrap());
    // The sender left (its socket dropped): the receiver sees the end.
    assert_eq!(receiver.read(&mut [0u8; 1]).unwrap(), 0);
}

#[test]
fn tcp_pair_ends_either_way_and_the_next_pair_is_served() {
    let server = TestServer::relais("127.0.0.1", false);
    // Pair 1: the sender leaves; the receiver is told.
    let mut raw_sender = TcpStream::connect(server.addr).unwrap();
    let (out, receiver) = spawn_receiver(server.client(false));
    raw_sender.write_all(b"premier\n").unwrap();
    wait_lines(&out, 1);
    drop(raw_sender);
    assert_eq!(
        join(receiver),
        (End::ServerEnded, format!("premier\n{END_TCP}\n"))
    );
    // Pair 2: the receiver leaves; the sender is told (while it waits for
    // input: nothing more is typed).
    let (feed, sender) = spawn_sender(client::emetteur, server.client(false));
    let mut raw_receiver = TcpStream::connect(server.addr).unwrap();
    feed.send(b"second\n".to_vec()).unwrap();
    let mut got = [0u8; 7];
    raw_receiver.set_read_timeout(Some(WAIT)).unwrap();
    raw_receiver.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"second\n");
    drop(raw_receiver);
    assert_eq!(join(sender), (End::ServerEnded, format!("{END_TCP}\n")));
    drop(feed);
    // Pair 3 works as the first did.
    let (feed, sender) = spawn_sender(client::emetteur, server.client(false));
    let (_, receiver) = spawn_receiver(server.client(false));
    feed.send(b"troisieme\n".to_vec()).unwrap();
    drop(feed);
    assert_eq!(join(sender).0, End::InputDone);
    assert_eq!(join(receiver).1, format!("troisieme\n{END_TCP}\n"));
}

/// Reads what a refused raw client gets: everything up to the server's
/// close.
fn refusal_of(mut late: TcpStream) -> String {
    late.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = String::new();
    late.read_to_string(&mut got).unwrap();
    got
}

#[test]
fn a_third_client_is_refused_while_the_pair_carries_on_then_the_next_pair_is_served() {
    for roles in [false, true] {
        let server = TestServer::start(
            "127.0.0.1",
            false,
            Mode::Relais { roles },
            Duration::from_secs(60),
        );
        let mut first = TcpStream::connect(server.addr).unwrap();
        let mut second = TcpStream::connect(server.addr).unwrap();
        let mut role = [0u8; 1];
        first.set_read_timeout(Some(WAIT)).unwrap();
        second.set_read_timeout(Some(WAIT)).unwrap();
        if roles {
            first.read_exact(&mut role).unwrap();
            second.read_exact(&mut role).unwrap();
            assert_eq!(&role, b"2");
        }
        first.write_all(b"avant\n").unwrap();
        let mut got = [0u8; 6];
        second.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"avant\n");
        // A late client that talks first still reads the whole refusal
        // (its data is drained, not answered with a reset).
        let mut late = TcpStream::connect(server.addr).unwrap();
        late.write_all(&vec![b'x'; 100_000]).unwrap();
        assert_eq!(refusal_of(late), format!("{BUSY_TEXT}\n"), "roles {roles}");
        // A silent one too; and our clients say it and fail.
        let late = TcpStream::connect(server.addr).unwrap();
        assert_eq!(refusal_of(late), format!("{BUSY_TEXT}\n"));
        let config = server.client(false);
        let shutdown = Shutdown::new();
        let refused = if roles {
            client::auto(&config, io::empty(), &mut Vec::new(), &shutdown)
        } else {
            client::recepteur(&config, &mut Vec::new(), &shutdown)
        };
        assert_eq!(refused.unwrap_err().to_string(), BUSY_TEXT);
        let refused = client::emetteur(&config, Input::never(), &mut Vec::new(), &shutdown);
        assert_eq!(refused.unwrap_err().to_string(), BUSY_TEXT);
        // Even when everything typed was sent before the refusal came.
        let (feed, sender) = spawn_sender(client::emetteur, config.clone());
        feed.send(b"perdu ?\n".to_vec()).unwrap();
        drop(feed);
        let (refused, _) = sender.join().unwrap();
        assert_eq!(refused.unwrap_err().to_string(), BUSY_TEXT);
        // The pair carries on, undisturbed.
        first.write_all(b"apres\n").unwrap();
        second.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"apres\n");
        // Once it ends, the next two clients form the next pair.
        drop(first);
        assert_eq!(second.read(&mut got).unwrap(), 0);
        drop(second);
        let mut third = TcpStream::connect(server.addr).unwrap();
        let mut fourth = TcpStream::connect(server.addr).unwrap();
        third.set_read_timeout(Some(WAIT)).unwrap();
        fourth.set_read_timeout(Some(WAIT)).unwrap();
        if roles {
            third.read_exact(&mut role).unwrap();
            assert_eq!(&role, b"1");
            fourth.read_exact(&mut role).unwrap();
            assert_eq!(&role, b"2");
        }
        third.write_all(b"suite\n").unwrap();
        fourth.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"suite\n");
    }
}

#[test]
fn a_first_client_gone_before_the_second_is_replaced() {
    let server = TestServer::relais("127.0.0.1", false);
    let gone = TcpStream::connect(server.addr).unwrap();
    drop(gone);
    thread::sleep(Duration::from_millis(100));
    let mut sender = TcpStream::connect(server.addr).unwrap();
    let (out, receiver) = spawn_receiver(server.client(false));
    sender.write_all(b"je suis le vrai client 1\n").unwrap();
    wait_lines(&out, 1);
    drop(sender);
    assert_eq!(
        join(receiver).1,
        format!("je suis le vrai client 1\n{END_TCP}\n")
    );
}

#[test]
fn a_silent_sender_ends_its_pair_after_the_idle_delay() {
    let server = TestServer::start(
        "127.0.0.1",
        false,
        Mode::Relais { roles: false },
        Duration::from_secs(1),
    );
    let _silent = TcpStream::connect(server.addr).unwrap();
    let (_, receiver) = spawn_receiver(server.client(false));
    assert_eq!(join(receiver), (End::ServerEnded, format!("{END_TCP}\n")));
}

#[test]
fn roles_handshake_sends_1_then_2_and_auto_clients_follow_them() {
    for bind in ["127.0.0.1", "::1"] {
        let server = TestServer::start(
            bind,
            false,
            Mode::Relais { roles: true },
            Duration::from_secs(60),
        );
        // Raw: exactly one byte each, '1' then '2'.
        let mut first = TcpStream::connect(server.addr).unwrap();
        first.set_read_timeout(Some(WAIT)).unwrap();
        let mut role = [0u8; 1];
        first.read_exact(&mut role).unwrap();
        assert_eq!(&role, b"1");
        let mut second = TcpStream::connect(server.addr).unwrap();
        second.set_read_timeout(Some(WAIT)).unwrap();
        second.read_exact(&mut role).unwrap();
        assert_eq!(&role, b"2");
        first.write_all(b"brut\n").unwrap();
        let mut got = [0u8; 5];
        second.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"brut\n");
        // The pair is over once the second is told (a client coming
        // earlier would find the server still busy).
        drop(first);
        assert_eq!(second.read(&mut got).unwrap(), 0);
        drop(second);
        // Our `auto` clients: the first started sends, the second prints.
        // (The sender reads its input only once it knows its role.)
        let (feed, sender) = spawn_sender(client::auto, server.client(false));
        let out = SharedBuffer::default();
        let receiver = {
            let (config, mut out) = (server.client(false), out.clone());
            thread::spawn(move || {
                let end = client::auto(&config, io::empty(), &mut out, &Shutdown::new());
                (end, out)
            })
        };
        wait_lines(&out, 1);
        feed.send(b"bonjour\nau revoir\n".to_vec()).unwrap();
        drop(feed);
        assert_eq!(join(sender), (End::InputDone, format!("{ROLE_1_TEXT}\n")));
        assert_eq!(
            join(receiver),
            (
                End::ServerEnded,
                format!("{ROLE_2_TEXT}\nbonjour\nau revoir\n{END_TCP}\n")
            )
        );
    }
}

#[test]
fn udp_relay_10000_lines_in_windows_and_the_largest_datagram() {
    for bind in ["127.0.0.1", "::1"] {
        let server = TestServer::relais(bind, true);
        let sender = UdpSocket::bind((server.addr.ip(), 0)).unwrap();
        sender.connect(server.addr).unwrap();
        sender.send(b"").unwrap(); // registers, as our emetteur does
        let (out, receiver) = spawn_receiver(server.client(true));
        // UDP may drop what a full buffer cannot hold, and this relay adds
        // no reliability (the sheet's table): the test sends in windows of
        // 50 datagrams (under the server's waiting room of 64) and checks
        // that each arrives whole, once, in order.
        let lines = lines_of(10_000);
        let mut sent = 0;
        for window in lines.chunks(50) {
            for line in window {
                sender.send(line.as_bytes()).unwrap();
            }
            sent += window.len();
            wait_lines(&out, sent);
        }
        let biggest = big_line(MAX_DATAGRAM);
        sender.send(biggest.as_bytes()).unwrap();
        wait_lines(&out, sent + 1);
        sender.send(b"").unwrap(); // "I leave"
        let (end, text) = join(receiver);
        assert_eq!(end, End::ServerEnded);
        let mut want = lines.join("\n");
        want.push('\n');
        want.push_str(&biggest);
        want.push('\n');
        want.push_str(END_UDP);
        want.push('\n');
        assert!(text == want, "{bind}: output differs");
    }
}

#[test]
fn udp_rapid_burst_arrives_whole_and_in_order_or_not_at_all() {
    let server = TestServer::relais("127.0.0.1", true);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(server.addr).unwrap();
    sender.send(b"").unwrap();
    let (out, receiver) = spawn_receiver(server.client(true));
    // The receiver is registered once the first message comes through.
    let deadline = Instant::now() + WAIT;
    while out.bytes().is_empty() {
        sender.send(b"pret ?").unwrap();
        thread::sleep(Duration::from_millis(20));
        assert!(Instant::now() < deadline);
    }
    let lines = lines_of(10_000);
    for line in &lines {
        sender.send(line.as_bytes()).unwrap();
    }
    sender.send(b"fin").unwrap();
    thread::sleep(Duration::from_millis(500));
    sender.send(b"").unwrap();
    let (_, text) = join(receiver);
    let mut next = 0;
    let mut got = 0;
    for line in text.lines().filter(|l| l.starts_with("ligne ")) {
        let at = lines[next..]
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line:?} cut, duplicated or out of order"));
        next += at + 1;
        got += 1;
    }
    // Loss is allowed (UDP), corruption and reordering are not.
    // A figure to read, not a skip: written past libtest's capture.
    let _ = writeln!(
        std::io::stderr(),
        "udp burst: {got} of 10000 datagrams relayed without pacing"
    );
    assert!(got > 0);
}

#[test]
fn udp_emetteur_refuses_a_line_too_long_for_a_datagram_and_the_pair_ends_both_ways() {
    let server = TestServer::relais("127.0.0.1", true);
    // Pair 1: our emetteur (registered first), our recepteur.
    let (feed, sender) = spawn_sender(client::emetteur, server.client(true));
    let (out, receiver) = spawn_receiver(server.client(true));
    let too_long = big_line(MAX_DATAGRAM + 1);
    feed.send(format!("avant\n\n{too_long}\naprès\n").into_bytes())
        .unwrap();
    wait_lines(&out, 2);
    drop(feed); // the emetteur leaves: its empty datagram ends the pair
    assert_eq!(join(sender).0, End::InputDone);
    assert_eq!(
        join(receiver),
        (End::ServerEnded, format!("avant\naprès\n{END_UDP}\n"))
    );
    // Pair 2: the receiver leaves; the emetteur is told.
    let (feed, sender) = spawn_sender(client::emetteur, server.client(true));
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver.connect(server.addr).unwrap();
    receiver.set_read_timeout(Some(WAIT)).unwrap();
    receiver.send(b"").unwrap();
    feed.send(b"coucou\n".to_vec()).unwrap();
    let mut buf = [0u8; 64];
    let n = receiver.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"coucou");
    receiver.send(b"").unwrap();
    assert_eq!(join(sender), (End::ServerEnded, format!("{END_UDP}\n")));
}

#[test]
fn udp_strangers_cannot_hijack_the_pair() {
    let server = TestServer::relais("127.0.0.1", true);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(server.addr).unwrap();
    sender.send(b"").unwrap();
    let (out, receiver) = spawn_receiver(server.client(true));
    sender.send(b"un").unwrap();
    wait_lines(&out, 1);
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    stranger.connect(server.addr).unwrap();
    stranger.set_read_timeout(Some(WAIT)).unwrap();
    // Neither a message nor "I leave" from a third address counts; each
    // is answered with the refusal, and nothing else.
    let mut buf = [0u8; 256];
    for datagram in [&b"intrus"[..], b""] {
        stranger.send(datagram).unwrap();
        let n = stranger.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], BUSY_TEXT.as_bytes());
    }
    // Our receiver, late, says the server is busy and fails.
    let late = client::recepteur(&server.client(true), &mut Vec::new(), &Shutdown::new());
    assert_eq!(late.unwrap_err().to_string(), BUSY_TEXT);
    sender.send(b"deux").unwrap();
    wait_lines(&out, 2);
    sender.send(b"").unwrap();
    assert_eq!(join(receiver).1, format!("un\ndeux\n{END_UDP}\n"));
    stranger
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(
        stranger.recv(&mut buf).is_err(),
        "more than one answer each"
    );
    // The pair is over: the stranger's next datagram registers it.
    stranger.send(b"").unwrap();
    let (out, receiver) = spawn_receiver(server.client(true));
    wait_registered(&stranger, &out);
    stranger.send(b"").unwrap();
    let text = join(receiver).1;
    let (probes, end) = text.split_at(text.len() - END_UDP.len() - 1);
    assert_eq!(end, format!("{END_UDP}\n"));
    assert!(probes.lines().all(|l| l == "pret ?"), "{text}");
}

/// Waits until the UDP receiver `out` belongs to is registered: `sender`'s
/// messages reach it.
fn wait_registered(sender: &UdpSocket, out: &SharedBuffer) {
    let deadline = Instant::now() + WAIT;
    loop {
        sender.send(b"pret ?").unwrap();
        thread::sleep(Duration::from_millis(20));
        if !out.bytes().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "the receiver never registered");
    }
}

#[test]
fn udp_sender_messages_wait_for_the_receiver() {
    let server = TestServer::relais("::1", true);
    let sender = UdpSocket::bind("[::1]:0").unwrap();
    sender.connect(server.addr).unwrap();
    // A sheet-style sender: its first datagram is already a message.
    sender.send(b"tot").unwrap();
    sender.send(b"encore").unwrap();
    thread::sleep(Duration::from_millis(100));
    let (out, receiver) = spawn_receiver(server.client(true));
    wait_lines(&out, 2);
    sender.send(b"").unwrap();
    assert_eq!(join(receiver).1, format!("tot\nencore\n{END_UDP}\n"));
}

#[test]
fn un_client_tcp_prints_each_line_and_serves_the_next_client() {
    let server = TestServer::start("::1", false, Mode::UnClient, Duration::from_secs(1));
    assert_eq!(
        send_all(
            client::envoyer,
            server.client(false),
            b"Hello\nbonjour \x1b[2J\n"
        ),
        End::InputDone
    );
    // A silent client is dropped after the idle delay, then the next one
    // is served.
    let silent = TcpStream::connect(server.addr).unwrap();
    assert_eq!(
        send_all(
            client::envoyer,
            server.client(false),
            b"apres le silencieux\n"
        ),
        End::InputDone
    );
    wait_lines(&server.out, 3);
    assert_eq!(
        server.out.text(),
        "Hello\nbonjour \\x1b[2J\napres le silencieux\n"
    );
    drop(silent);
}

#[test]
fn un_client_udp_prints_each_datagram() {
    let server = TestServer::start("127.0.0.1", true, Mode::UnClient, Duration::from_secs(60));
    assert_eq!(
        send_all(client::envoyer, server.client(true), b"Hello\n\nencore\n"),
        End::InputDone
    );
    wait_lines(&server.out, 3);
    assert_eq!(server.out.text(), "Hello\n\nencore\n");
}

#[test]
fn envoyer_binds_the_local_port_it_is_given() {
    for udp in [false, true] {
        // A free port, as the sheet's 1313 would be (tests never use fixed
        // ports).
        let local = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = |port| ClientConfig {
            serveur: "127.0.0.1".into(),
            port,
            udp,
            port_local: Some(local),
        };
        if udp {
            let server = UdpSocket::bind("127.0.0.1:0").unwrap();
            let (feed, sender) =
                spawn_sender(client::envoyer, config(server.local_addr().unwrap().port()));
            feed.send(b"x\n".to_vec()).unwrap();
            let (_, from) = server.recv_from(&mut [0u8; 8]).unwrap();
            assert_eq!(from.port(), local);
            drop(feed);
            join(sender);
        } else {
            let server = TcpListener::bind("127.0.0.1:0").unwrap();
            let (feed, sender) =
                spawn_sender(client::envoyer, config(server.local_addr().unwrap().port()));
            let (_, from) = server.accept().unwrap();
            assert_eq!(from.port(), local);
            drop(feed);
            join(sender);
        }
    }
}

#[test]
fn a_client_without_server_fails_clearly() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ClientConfig {
        serveur: "127.0.0.1".into(),
        port,
        udp: false,
        port_local: None,
    };
    let err = client::recepteur(&config, &mut Vec::new(), &Shutdown::new()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("connexion au serveur 127.0.0.1:"),
        "{err}"
    );
    let err = client::recepteur(
        &ClientConfig {
            udp: true,
            ..config
        },
        &mut Vec::new(),
        &Shutdown::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("injoignable"), "{err}");
}

#[test]
fn a_receiver_that_never_reads_ends_its_pair_after_the_idle_delay() {
    let server = TestServer::start(
        "127.0.0.1",
        false,
        Mode::Relais { roles: false },
        Duration::from_secs(1),
    );
    let mut sender = TcpStream::connect(server.addr).unwrap();
    let _deaf = TcpStream::connect(server.addr).unwrap();
    // Far more than the sockets' buffers hold: the relay's write to the
    // receiver blocks, then times out, and the sender's connection closes.
    let chunk = vec![b'x'; 64 * 1024];
    let deadline = Instant::now() + WAIT;
    let err = loop {
        if let Err(e) = sender.write_all(&chunk) {
            break e;
        }
        assert!(Instant::now() < deadline, "the relay never gave up");
    };
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "{err}"
    );
}

#[test]
fn un_client_closes_a_line_over_1_mib_and_serves_the_next_client() {
    let server = TestServer::start("127.0.0.1", false, Mode::UnClient, Duration::from_secs(60));
    let mut flooder = TcpStream::connect(server.addr).unwrap();
    let flood = vec![b'y'; MAX_LINE + 2];
    // The server may close before reading it all: a write error is fine.
    let _ = flooder.write_all(&flood);
    let _ = flooder.write_all(b"\n");
    assert_eq!(
        send_all(client::envoyer, server.client(false), b"suivant\n"),
        End::InputDone
    );
    wait_lines(&server.out, 1);
    assert_eq!(server.out.text(), "suivant\n");
    drop(flooder);
}

/// A `relay_server relais` process whose stderr is a pipe nobody reads (a
/// paused `2>&1 | less`): once the pipe is full, each refusal's stderr line
/// would block the accept loop and the next late clients would wait in
/// silence. Its diagnostics' own thread keeps refusing at once (dropping
/// the lines it cannot write), and the pair carries on.
#[test]
fn a_stderr_nobody_reads_stops_neither_the_refusals_nor_the_pair() {
    let server = UnreadStderr::start(
        env!("CARGO_BIN_EXE_relay_server"),
        &["relais", "--port", "0"],
    );
    let addr = server.addr;
    let first = TcpStream::connect(addr).unwrap();
    let mut second = TcpStream::connect(addr).unwrap();
    second.set_read_timeout(Some(WAIT)).unwrap();
    // Each refusal logs ~70 bytes: 3,000 of them are more than a pipe holds
    // (64 KiB).
    for i in 0..3_000 {
        let mut late = TcpStream::connect(addr).unwrap();
        late.set_read_timeout(Some(WAIT)).unwrap();
        let mut refused = Vec::new();
        if let Err(e) = late.read_to_end(&mut refused) {
            panic!("late client {i}: {e}, after {refused:?}");
        }
        // Over the refusal threads' cap the line may be cut by a reset;
        // what matters is that the answer comes at once.
        let busy = format!("{BUSY_TEXT}\n");
        assert!(busy.as_bytes().starts_with(&refused), "{refused:?}");
    }
    (&first).write_all(b"toujours la\n").unwrap();
    let mut got = [0u8; 12];
    second.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"toujours la\n");
    drop(server);
}
