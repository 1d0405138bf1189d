//! File transfer, the hub's part: only the negotiation. `SEND` records an
//! offer and tells its recipient; `RECV` takes the offer, makes two one-time
//! tokens and sends each end its order ([`Order`]). The bytes never pass
//! through the hub: each client opens a second connection presenting its
//! token, and [`crate::transfer`] joins the two (wire format in
//! [`protocols::chat_irc_file`]).
//!
//! Why tokens, and two of them: the data connections are anonymous, so the
//! token is what says which transfer a connection belongs to and which end
//! it is; the receiver's token cannot be used to send, nor the other way.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use protocols::chat_irc_file::{check_file_name, Direction, Order, MAX_FILE_SIZE};
use protocols::irc_text::escape_controls;

use crate::hub::{ClientId, Delivery, Hub, Mode, Refusal};
use crate::texts;

/// Offers one client may have waiting (each to a different user): without
/// a bound, clients offering files to everyone would fill the memory.
pub const MAX_OFFERS: usize = 20;

/// A file offered by `from` to `to`, not yet accepted. One per pair: a new
/// offer to the same user replaces the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Offer {
    pub(crate) from: ClientId,
    pub(crate) to: ClientId,
    pub(crate) file: String,
    pub(crate) size: u64,
    pub(crate) hash: u64,
}

impl Hub {
    /// A registered user's nickname (any channel), refused as unknown
    /// otherwise.
    fn user(&self, nick: &str) -> Result<ClientId, Refusal> {
        self.find_nick(nick)
            .filter(|t| self.clients[t].registered)
            .ok_or_else(|| Refusal::UnknownUser(escape_controls(nick, &[])))
    }

    /// `SEND to size hash file` from `id`.
    pub(crate) fn offer_file(
        &mut self,
        id: ClientId,
        to: &str,
        size: u64,
        hash: u64,
        file: &str,
    ) -> Result<(), Refusal> {
        let target = self.user(to)?;
        if target == id {
            return Err(Refusal::SendToSelf);
        }
        if self.clients[&target].mode == Mode::Irc {
            return Err(Refusal::IrcPeer(self.nick(target).to_owned()));
        }
        check_file_name(file).map_err(Refusal::BadFileName)?;
        if size > MAX_FILE_SIZE {
            return Err(Refusal::FileTooBig(size));
        }
        self.offers.retain(|o| !(o.from == id && o.to == target));
        if self.offers.iter().filter(|o| o.from == id).count() >= MAX_OFFERS {
            return Err(Refusal::TooManyOffers);
        }
        self.offers.push(Offer {
            from: id,
            to: target,
            file: file.to_owned(),
            size,
            hash,
        });
        let (from, to) = (self.nick(id).to_owned(), self.nick(target).to_owned());
        self.send(target, &texts::offered_you(&from, file, size));
        self.send(id, &texts::offer_sent(&to, file, size));
        Ok(())
    }

    /// `RECV from` by `id`: the offer becomes a transfer.
    pub(crate) fn accept_file(&mut self, id: ClientId, from: &str) -> Result<(), Refusal> {
        let sender = self.user(from)?;
        let Some(at) = self
            .offers
            .iter()
            .position(|o| o.from == sender && o.to == id)
        else {
            return Err(Refusal::NoOffer(self.nick(sender).to_owned()));
        };
        let offer = self.offers.remove(at);
        let (send_token, recv_token) = ((self.tokens)(), (self.tokens)());
        // The transfer exists before anyone can hold its tokens.
        self.out.push(Delivery::Transfer {
            sender: send_token.clone(),
            receiver: recv_token.clone(),
            size: offer.size,
        });
        let order = |token: String, direction, peer: &str| Order {
            token,
            direction,
            file: offer.file.clone(),
            size: offer.size,
            hash: offer.hash,
            peer: peer.to_owned(),
        };
        let (s, r) = (self.nick(sender).to_owned(), self.nick(id).to_owned());
        let to_sender = order(send_token, Direction::Send, &r).to_line() + "\n";
        let to_receiver = order(recv_token, Direction::Receive, &s).to_line() + "\n";
        self.send(sender, &to_sender);
        self.send(id, &to_receiver);
        Ok(())
    }
}

/// 128 unpredictable bits as 32 hexadecimal digits. The standard library's
/// `RandomState` is seeded from the operating system's randomness; hashing
/// a counter and the time with two fresh ones gives tokens nobody can
/// guess from the ones they saw.
pub fn random_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let half = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.write_u128(nanos);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}
