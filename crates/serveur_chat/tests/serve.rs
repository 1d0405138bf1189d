//! The server in a thread on port 0, with raw UDP peers: what `run` does,
//! without a process, over IPv4 and IPv6, stopped by the shutdown token.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use server_kit::{PortChoice, Shutdown};
use serveur_chat::{Config, Limits, Mode, Server};

use e2e::SharedBuffer as Shared;

fn peer(ip: IpAddr) -> UdpSocket {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn recv(s: &UdpSocket) -> String {
    let mut buf = [0u8; 1024];
    let (n, _) = s.recv_from(&mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Members `a` and `b`, registered, their welcomes read.
fn two_members(ip: IpAddr, server: SocketAddr) -> (UdpSocket, UdpSocket) {
    let (a, b) = (peer(ip), peer(ip));
    a.send_to(b"__new_name__:a", server).unwrap();
    recv(&a);
    b.send_to(b"__new_name__:b", server).unwrap();
    recv(&a);
    recv(&b);
    (a, b)
}

/// A server running on its own thread: its address, its stop, its
/// thread, its stdout and stderr.
type Started = (
    SocketAddr,
    Shutdown,
    thread::JoinHandle<io::Result<()>>,
    Shared,
    Shared,
);

fn start(ip: IpAddr, mode: Mode) -> Started {
    start_with(ip, mode, Limits::default())
}

fn start_with(ip: IpAddr, mode: Mode, limits: Limits) -> Started {
    start_after(ip, mode, limits, |_| {})
}

/// As [`start_with`], calling `before` with the bound address before the
/// server reads anything (datagrams sent then wait in its socket).
fn start_after(ip: IpAddr, mode: Mode, limits: Limits, before: impl FnOnce(SocketAddr)) -> Started {
    let config = Config {
        bind: ip,
        port: PortChoice::Exact(0),
        mode,
        limits,
        ..Config::default()
    };
    let server = Server::bind(&config).unwrap();
    let addr = server.local_addr().unwrap();
    before(addr);
    let shutdown = Shutdown::new();
    let (out, err) = (Shared::default(), Shared::default());
    let handle = {
        let (token, out, err) = (shutdown.clone(), out.clone(), err.clone());
        thread::spawn(move || server.serve(&token, out, err))
    };
    (addr, shutdown, handle, out, err)
}

#[test]
fn chat_over_ipv4_and_ipv6_then_shutdown() {
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let (addr, shutdown, handle, out, err) = start(ip, Mode::Chat);
        let (a, b) = (peer(ip), peer(ip));
        a.send_to(b"__new_name__:a", addr).unwrap();
        assert_eq!(recv(&a), "\n***a*** vient de rentrer sur le chat !\n");
        b.send_to(b"__new_name__: b ", addr).unwrap();
        assert_eq!(recv(&a), "\n***b*** vient de rentrer sur le chat !\n");
        assert_eq!(recv(&b), "\n***b*** vient de rentrer sur le chat !\n");
        b.send_to(b"__message__:salut", addr).unwrap();
        assert_eq!(recv(&a), "[b] : salut");
        a.send_to(b"n'importe quoi", addr).unwrap();
        a.send_to(b"__quit__", addr).unwrap();
        assert_eq!(recv(&b), "\n***a*** a quitté le chat.\n");
        assert_eq!(recv(&a), "__quit__");
        shutdown.trigger();
        handle.join().unwrap().unwrap();
        assert_eq!(
            out.text(),
            "recv_data : b'__new_name__:a'\nrecv_data : b'__new_name__: b '\n\
             recv_data : b'__message__:salut'\nrecv_data : b\"n'importe quoi\"\nrecv_data : b'__quit__'\n"
        );
        let a_addr = a.local_addr().unwrap();
        assert_eq!(
            err.text(),
            format!("serveur_chat: datagramme de {a_addr} ignoré : balise inconnue\n")
        );
    }
}

#[test]
fn bien_recu_answers_every_datagram() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (addr, shutdown, handle, out, _err) = start(ip, Mode::BienRecu);
    let c = peer(ip);
    for text in ["un", "deux"] {
        c.send_to(text.as_bytes(), addr).unwrap();
        assert_eq!(recv(&c), "Bien reçu !");
    }
    shutdown.trigger();
    handle.join().unwrap().unwrap();
    assert_eq!(out.text(), "recv_data : b'un'\nrecv_data : b'deux'\n");
}

/// Many senders at once (their datagrams read in batches, answered in one
/// `sendmmsg` per batch): each datagram gets exactly one answer, to its
/// sender, and each is logged once. The datagrams are all waiting before
/// the server reads, so its batches hold several senders' datagrams.
#[test]
fn bien_recu_answers_each_datagram_of_a_batch_to_its_sender() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const EACH: usize = 50;
    let peers: Vec<UdpSocket> = (0..3).map(|_| peer(ip)).collect();
    let send_all = |addr: SocketAddr| {
        for k in 0..EACH {
            for (p, peer) in peers.iter().enumerate() {
                peer.send_to(format!("{p}:{k}").as_bytes(), addr).unwrap();
            }
        }
    };
    let (_, shutdown, handle, out, err) =
        start_after(ip, Mode::BienRecu, Limits::default(), send_all);
    for peer in &peers {
        for _ in 0..EACH {
            assert_eq!(recv(peer), "Bien reçu !");
        }
        peer.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 64];
        assert!(peer.recv_from(&mut buf).is_err(), "one answer too many");
    }
    shutdown.trigger();
    handle.join().unwrap().unwrap();
    let mut logged: Vec<String> = out.text().lines().map(String::from).collect();
    logged.sort();
    let mut sent: Vec<String> = (0..EACH)
        .flat_map(|k| (0..3).map(move |p| format!("recv_data : b'{p}:{k}'")))
        .collect();
    sent.sort();
    assert_eq!(logged, sent);
    assert_eq!(err.text(), "");
}

#[test]
fn a_member_whose_socket_closed_is_removed_through_the_icmp_error() {
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let (addr, shutdown, handle, _out, err) = start(ip, Mode::Chat);
        let (a, b) = two_members(ip, addr);
        // b's client dies without __quit__.
        let b_addr = b.local_addr().unwrap();
        drop(b);
        // The next message to b bounces (ICMP port unreachable): b is
        // removed and a is told, as if b had quit.
        a.send_to(b"__message__:tu es la ?", addr).unwrap();
        assert_eq!(recv(&a), "\n***b*** a quitté le chat.\n");
        // b's name is free again.
        let c = peer(ip);
        c.send_to(b"__new_name__:b", addr).unwrap();
        assert_eq!(recv(&c), "\n***b*** vient de rentrer sur le chat !\n");
        shutdown.trigger();
        handle.join().unwrap().unwrap();
        let err = err.text();
        assert!(
            err.contains(&format!(
                "serveur_chat: b ({b_addr}) retiré du tchat : son port est fermé"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_silent_member_expires_after_the_inactivity_delay() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let limits = Limits {
        inactivity: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, shutdown, handle, _out, _err) = start_with(ip, Mode::Chat, limits);
    let (a, _b) = two_members(ip, addr); // _b stays open and silent
                                         // a keeps itself alive, b says nothing: b goes, a is told (and never
                                         // sees a keep-alive of its own broadcast).
    let alive = {
        let a = a.try_clone().unwrap();
        thread::spawn(move || {
            for _ in 0..10 {
                a.send_to(b"__keepalive__", addr).unwrap();
                thread::sleep(Duration::from_millis(100));
            }
        })
    };
    assert_eq!(recv(&a), "\n***b*** a quitté le chat.\n");
    alive.join().unwrap();
    shutdown.trigger();
    handle.join().unwrap().unwrap();
}

/// Drops the kernel counted at the UDP sockets bound to local `port`.
fn socket_drops(port: u16) -> u64 {
    test_support::udp_socket_drops(port).expect("/proc/net/udp")
}

/// Reads `s` until a datagram equal to `want` (a set-aside member's
/// sampled messages may come first); panics on a read timeout.
fn recv_until(s: &UdpSocket, want: &str) {
    while recv(s) != want {}
}

/// A member over its bucket is set aside in the kernel: its datagrams are
/// dropped before the receive buffer (the socket's drop count grows by
/// about as many as it sent, where without the set-aside they would all be
/// read and dropped by the bucket), but for a sample; its `__quit__` still
/// gets through; a period after it calmed down it is heard again.
#[test]
fn a_flooder_is_set_aside_in_the_kernel_and_can_still_quit() {
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        // 5 at once, then 10/s: a set-aside lasts 0.5 s.
        let limits = Limits {
            burst: 5,
            rate: 10.0,
            ..Limits::default()
        };
        let (addr, shutdown, handle, _out, _err) = start_with(ip, Mode::Chat, limits);
        let (flooder, listener) = two_members(ip, addr);
        for i in 0..6 {
            flooder
                .send_to(format!("__message__:{i}").as_bytes(), addr)
                .unwrap();
        }
        for i in 0..5 {
            assert_eq!(recv(&listener), format!("[a] : {i}"));
        }
        // The 6th is over the bucket: told, and set aside.
        assert!(recv(&flooder).contains("trop de messages"));
        thread::sleep(Duration::from_millis(100));

        let flood = || {
            let before = socket_drops(addr.port());
            for _ in 0..640 {
                flooder.send_to(b"__message__:f", addr).unwrap();
            }
            socket_drops(addr.port()) - before
        };
        // One in 64 gets through the filter (and then meets the bucket).
        let dropped = flood();
        assert!(
            dropped >= 560,
            "{ip}: {dropped} of 640 dropped by the kernel"
        );

        // Calm for more than the set-aside: heard again. Said again every
        // 300 ms (within its bucket) until heard: on a loaded machine the
        // server may read the flood's sampled datagrams late, and each one
        // over the bucket renews the set-aside from then.
        thread::sleep(Duration::from_millis(1500));
        listener
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        'heard: loop {
            assert!(Instant::now() < deadline, "{ip}: never heard again");
            flooder.send_to(b"__message__:back", addr).unwrap();
            let mut buf = [0u8; 1024];
            while let Ok((n, _)) = listener.recv_from(&mut buf) {
                if &buf[..n] == b"[a] : back" {
                    break 'heard;
                }
            }
        }
        listener
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();

        // Set aside again, it can still leave.
        for _ in 0..6 {
            flooder.send_to(b"__message__:again", addr).unwrap();
        }
        thread::sleep(Duration::from_millis(100));
        let dropped = flood();
        assert!(
            dropped >= 560,
            "{ip}: {dropped} of 640 dropped by the kernel"
        );
        flooder.send_to(b"__quit__", addr).unwrap();
        recv_until(&flooder, "__quit__");
        recv_until(&listener, "\n***a*** a quitté le chat.\n");
        shutdown.trigger();
        handle.join().unwrap().unwrap();
    }
}
