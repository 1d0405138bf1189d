//! The plumbing every lab server and client shares, written once.
//!
//! # Layout
//! - [`shutdown`]: a cloneable [`Shutdown`] token. Ctrl-C (or a test) triggers
//!   it; servers blocked in `accept`/`recv_from` are woken by shutting their
//!   socket down, so they stop promptly without polling.
//! - [`bind`]: binding with the labs' port rule (the default port, or the next
//!   free one; an explicit `--port` is taken as is) and the stderr ready line
//!   `<binary>: en écoute sur <addr>` that tests and scripts read.
//! - [`lines`]: bounded line reads, so a peer can never make us buffer an
//!   endless line.
//! - [`peer`]: the client side of UDP: `--serveur` resolved (IPv4 first, as
//!   the labs' Python clients do) and a connected socket.
//! - [`descriptors`]: raising the open-descriptor limit a server needs, with
//!   one stderr line when the system's hard limit is lower.
//! - [`cli`]: how a binary starts and ends, in French: clap's help and usage
//!   errors (exit 2), then exit code 0/1 with one clear stderr line (system
//!   errors in French too), a closed stdout pipe treated as success.
//! - [`journal`]: the log thread: serving threads hand it entries without
//!   ever blocking; losses are bounded and counted.
//! - [`udp`]: `recv_from` that survives a socket woken by [`Shutdown`]
//!   (the standard library's panics on it).
//! - [`writer`]: per-client bounded writer queues for hub-style servers, so
//!   one slow client never stalls the others; over a [`Stream`], a write
//!   deadline and a disconnect that frees a writer stuck on a silent peer.
//! - [`stream`]: one [`Stream`] type for plain TCP and TLS (rustls), whose
//!   clones read and write the same connection from two threads.
//! - [`tls`]: TLS configurations from PEM files, and French handshake errors.
//! - [`accept`]: the capped thread-per-connection accept loop, with the
//!   registry through which Ctrl-C closes every open connection.
//! - [`refusal`]: turning a TCP client away so that it reads the one-line
//!   reason even if it spoke first (FIN, then drain, never a reset), on
//!   capped short threads so the accept loop never waits on it.

pub mod accept;
pub mod bind;
pub mod cli;
pub mod descriptors;
pub mod journal;
pub mod lines;
pub mod peer;
pub mod refusal;
pub mod shutdown;
pub mod stream;
pub mod tls;
pub mod udp;
pub mod writer;

pub use bind::{announce, bind_tcp, bind_udp, ready_prefix, BindError, PortChoice, UdpOptions};
pub use shutdown::Shutdown;
pub use stream::Stream;
pub use writer::{ClientWriter, SendError};
