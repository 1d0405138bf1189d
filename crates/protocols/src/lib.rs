//! Checked views over the headers the labs decode (the text lab 16 prints
//! from them lives in `decodeur_trame`).
//!
//! # Layout
//! - [`error`]: the one error type ([`ParseError`]): which layer, how many
//!   bytes were needed and how many were there, or which field was invalid.
//! - One module per protocol, each a zero-copy view over `&[u8]` whose
//!   constructor checks every length it later relies on, so no accessor can
//!   panic: [`ethernet`] (with VLAN tags), [`linux_sll`], [`arp`], [`ipv4`],
//!   [`ipv6`] (extension headers skipped), [`icmp`], [`icmpv6`], [`tcp`],
//!   [`udp`], [`http`]. Beside each view, its writer: a `Repr` (fields) with
//!   `parse(&view)` and `emit(..., &mut Vec<u8>)` (lengths and checksums
//!   computed), tested round trip, as smoltcp's `wire` does: the one frame
//!   builder of every test and of the bench generator. Payloads are bounded by the length fields, so
//!   Ethernet padding never shows as data.
//! - [`checksum`]: the Internet checksum and the TCP/UDP/ICMPv6
//!   pseudo-header, to verify (and, for tests, compute) checksums.
//! - [`unpack`]: Python's `struct.unpack` (lab 16.1) and the `repr` of its
//!   tuples.
//! - [`chat`]: lab 18's chat: tags, datagrams, the name rule and the
//!   escaping of text bound for a terminal.
//! - [`pyrepr`]: Python's `repr(bytes)`, byte for byte, and its inverse.
//! - [`mixed_json`]: the JSON line protocol of TP 04 5.3 (`mixed_server
//!   --json`): requests, answers and events, with serde.
//! - [`chat_irc`]: the Chat-IRC mini-project's own commands (`JOIN chan1`,
//!   `messagebonjour`); [`irc`]: the IRC message syntax (RFC 1459/2812);
//!   [`irc_text`]: the nickname rule and control-character escaping they use;
//!   [`chat_irc_file`]: its file transfer (offer, orders, data connection,
//!   hash).
//!
//! This crate does no I/O: binaries read sockets and files, then hand bytes
//! (or text) to it.

pub mod arp;
pub mod chat;
pub mod chat_irc;
pub mod chat_irc_file;
pub mod checksum;
mod endian;
pub mod error;
pub mod ethernet;
pub mod http;
pub mod icmp;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod irc;
pub mod irc_text;
pub mod linux_sll;
pub mod mixed_json;
pub mod pyrepr;
pub mod tcp;
pub mod udp;
pub mod unpack;

pub use error::{Layer, ParseError};
