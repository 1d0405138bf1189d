//! The one error type of every header view.
//!
//! A decoder never panics on hostile bytes: each checked constructor returns a
//! [`ParseError`] that names the layer and says what was wrong, so that the
//! frame decoder can print it at that layer's indentation and go on.

use std::fmt;

/// The protocol layer a header belongs to, as named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Ethernet,
    /// An IEEE 802.1Q VLAN tag inside an Ethernet header.
    Vlan,
    /// The Linux "cooked" capture pseudo-header (pcap link type 113).
    LinuxSll,
    Arp,
    Ipv4,
    Ipv6,
    Icmp,
    Icmpv6,
    Tcp,
    Udp,
    Http,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Ethernet => "Ethernet",
            Layer::Vlan => "VLAN 802.1Q",
            Layer::LinuxSll => "Linux SLL",
            Layer::Arp => "ARP",
            Layer::Ipv4 => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Icmp => "ICMP",
            Layer::Icmpv6 => "ICMPv6",
            Layer::Tcp => "TCP",
            Layer::Udp => "UDP",
            Layer::Http => "HTTP",
        })
    }
}

/// Why a header could not be viewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The buffer is shorter than the header (or than a length field says).
    Truncated {
        layer: Layer,
        /// Bytes the header needs.
        needed: usize,
        /// Bytes that were there.
        got: usize,
    },
    /// A field holds a value the protocol forbids.
    InvalidField {
        layer: Layer,
        /// The field's name, as the RFC spells it.
        field: &'static str,
        value: u64,
        /// What the value should have been, in French (printed as is).
        expected: &'static str,
    },
}

impl ParseError {
    /// The layer whose header was refused.
    pub fn layer(&self) -> Layer {
        match self {
            ParseError::Truncated { layer, .. } | ParseError::InvalidField { layer, .. } => *layer,
        }
    }

    /// Shorthand used by every constructor: fail unless `got >= needed`.
    pub(crate) fn check_len(layer: Layer, needed: usize, got: usize) -> Result<(), ParseError> {
        if got < needed {
            Err(ParseError::Truncated { layer, needed, got })
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated { layer, needed, got } => write!(
                f,
                "{layer} tronqué : {needed} octets nécessaires, {got} présents"
            ),
            ParseError::InvalidField {
                layer,
                field,
                value,
                expected,
            } => write!(f, "{layer} invalide : champ {field} = {value} ({expected})"),
        }
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_layer_and_byte_counts() {
        let e = ParseError::Truncated {
            layer: Layer::Ipv4,
            needed: 20,
            got: 7,
        };
        assert_eq!(
            e.to_string(),
            "IPv4 tronqué : 20 octets nécessaires, 7 présents"
        );
        let e = ParseError::InvalidField {
            layer: Layer::Tcp,
            field: "data offset",
            value: 3,
            expected: "au moins 5",
        };
        assert_eq!(
            e.to_string(),
            "TCP invalide : champ data offset = 3 (au moins 5)"
        );
        assert_eq!(e.layer(), Layer::Tcp);
    }
}
