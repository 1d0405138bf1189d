//! Sender turns: the datagrams of one receive batch are handled round
//! robin over their senders, so that one sender cannot take a whole batch.
//!
//! Why: a flooder's datagrams queued in the receive buffer come out of
//! `recvmmsg` mostly as full batches of its own, and every accepted message
//! costs a fan-out to every member. Taking turns, a normal member's message
//! caught in a batch behind 31 of the flooder's is handled second, not
//! last. Each sender's own datagrams keep their order; the batch is small
//! ([`crate::batch::BATCH`]), so the quadratic count below costs less than
//! one fan-out.

use std::net::SocketAddr;

/// Reusable buffers for [`Turns::order`].
#[derive(Debug, Default)]
pub struct Turns {
    /// (turn, index in the batch) of each datagram.
    keyed: Vec<(usize, usize)>,
    order: Vec<usize>,
}

impl Turns {
    /// The order in which to handle a batch whose datagrams came from
    /// `senders`: every sender's first datagram (in batch order), then
    /// every sender's second, and so on.
    pub fn order(&mut self, senders: impl Iterator<Item = SocketAddr> + Clone) -> &[usize] {
        self.keyed.clear();
        for (i, from) in senders.clone().enumerate() {
            // The datagram's turn: how many earlier ones its sender has.
            let turn = senders.clone().take(i).filter(|s| *s == from).count();
            self.keyed.push((turn, i));
        }
        self.keyed.sort_unstable();
        self.order.clear();
        self.order.extend(self.keyed.iter().map(|&(_, i)| i));
        &self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn senders_take_turns_and_keep_their_own_order() {
        let (f, n, m) = (addr(1), addr(2), addr(3));
        let batch = [f, f, f, n, f, m, n];
        let mut turns = Turns::default();
        // Turn 0: f's first, n's first, m's; turn 1: f's second, n's
        // second; then f's third and fourth.
        assert_eq!(turns.order(batch.iter().copied()), [0, 3, 5, 1, 6, 2, 4]);
    }

    #[test]
    fn a_batch_from_distinct_senders_or_one_sender_keeps_its_order() {
        let mut turns = Turns::default();
        let distinct: Vec<SocketAddr> = (1..=5).map(addr).collect();
        assert_eq!(turns.order(distinct.iter().copied()), [0, 1, 2, 3, 4]);
        let one = [addr(9); 4];
        assert_eq!(turns.order(one.iter().copied()), [0, 1, 2, 3]);
        assert!(turns.order(std::iter::empty()).is_empty());
    }
}
