//! `--port` and `--protocole`: which frames `pcap` and `live` show, so that
//! one conversation of another lab (TP 04's TCP and UDP exchanges on port
//! 12345, lab 17's HTTP on 8080) can be watched alone.
//!
//! A frame is decoded first, then kept or dropped on what the walk found
//! ([`FrameSummary`]): the filter sees exactly what the text shows (the
//! ports of the block printed, read as the lab reads them).

use crate::walk::{FrameSummary, Proto};

/// `--protocole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocole {
    Tcp,
    Udp,
    /// ICMP et ICMPv6.
    Icmp,
    Arp,
}

/// What a frame must hold to be shown. The default shows every frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// A TCP or UDP port, source or destination.
    pub port: Option<u16>,
    pub protocole: Option<Protocole>,
}

impl Filter {
    /// Whether a frame whose walk gave `summary` is shown.
    pub fn matches(&self, summary: &FrameSummary) -> bool {
        let protocol_ok = match self.protocole {
            None => true,
            Some(Protocole::Tcp) => summary.contains(Proto::Tcp),
            Some(Protocole::Udp) => summary.contains(Proto::Udp),
            Some(Protocole::Icmp) => {
                summary.contains(Proto::Icmp) || summary.contains(Proto::Icmpv6)
            }
            Some(Protocole::Arp) => summary.contains(Proto::Arp),
        };
        let port_ok = match self.port {
            None => true,
            Some(port) => summary
                .ports
                .is_some_and(|(source, destination)| port == source || port == destination),
        };
        protocol_ok && port_ok
    }

    /// Whether every frame is shown.
    pub fn is_all(&self) -> bool {
        *self == Filter::default()
    }
}
