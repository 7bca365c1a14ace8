//! TRAIDER gateways: everything venue-specific, one folder per venue.
//!
//! [`coinbase`] is the Coinbase Advanced Trade adapter: wire types and their parsers into core
//! events (the market-data decoder runs on the hot thread), the market-data and user-channel
//! WebSocket clients, the signed REST client, CDP keys and JWTs, and the execution side
//! (`coinbase::execution`: the order desk, startup reconciliation, adoption and the dead-man
//! switch). [`capture`] reads recorded sessions.
//!
//! Threads: the decoder runs on the hot thread and never allocates per frame; everything
//! else runs on the daemon's cold I/O runtime. Venue wire types stop here: what crosses into
//! the core is integers and core events.
#![deny(unsafe_code)]
pub mod capture;
pub mod clock;
pub mod coinbase;
