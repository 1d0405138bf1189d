//! Chat-IRC: the mini-project's multi-channel chat server, for the report's
//! own client and for real IRC clients, in the same channels.
//!
//! The report's flow, as this crate runs it:
//!
//! 1. a client connects and chooses a nickname (first line
//!    `messagealice`)                                 -> [`hub::Hub`] (`project_register`)
//! 2. each line is a command (`JOIN chan1`, `MSG bob salut`) or a message
//!    (`messagebonjour`)                              -> [`protocols::chat_irc::Command`]
//! 3. the command changes the state and tells the members -> [`hub::Hub::handle`]
//! 4. the answers are the report's sentences          -> [`texts`]
//!
//! # Layout
//! - [`hub`]: all the state (users, channels, admins, current channel,
//!   history) as a pure state machine, `handle(event) -> deliveries`, and
//!   the operations both protocols share.
//! - [`project`]: the project's own protocol (the report's client).
//! - [`irc_mode`]: the IRC subset (RFC 1459/2812) mapped onto the same
//!   operations: `#x` is channel `x`.
//! - [`texts`]: every sentence sent to the project's clients.
//! - [`flood`]: flood control per client (a burst, then a steady rate).
//! - [`files`]: SEND/RECV, the hub's part: offers, and the tokens of an
//!   accepted transfer.
//! - [`transfer`]: the data connections: each end presents its token, the
//!   server joins the two in their own thread, never through the hub.
//! - [`server`]: `irc_server`, the hub on TCP (hub thread, a reader thread
//!   and a bounded writer per connection).
//! - [`client`]: `irc_client`, the report's terminal client;
//!   [`client_files`]: its `/SEND` and `/RECV`, which read and write the
//!   files.
//!
//! # Beyond the report
//! The report's server has a thread per client sharing dictionaries without
//! locks; here one hub owns the state and nothing else touches it, so no
//! command can leave a ghost user or an admin-less channel behind
//! ([`hub::Hub::check_invariants`] is checked by a randomized test).

pub mod client;
pub mod client_files;
pub mod files;
pub mod flood;
pub mod hub;
pub mod irc_mode;
pub mod project;
pub mod server;
pub mod texts;
pub mod transfer;

pub use flood::Flood;
pub use hub::{
    ChannelView, ClientId, Clock, Delivery, Event, Hub, HubConfig, Refusal, SystemClock,
};

#[cfg(test)]
mod tests;
