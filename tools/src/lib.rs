//! TRAIDER tools: the daemon's wiring and the local venue stand-ins.
//!
//! - `traiderd` (bin): [`run`] (paper trading), [`replay`] (recorded sessions) and [`dump`]
//!   (journal printing), all on the same hot path ([`hot`]).
//! - `coinbase-replay` (bin): [`replay_server`], a local WebSocket + REST stand-in for
//!   Coinbase that serves a recorded capture.
//!
//! Threads: the main thread reads config and is the sequencer in replays; the hot thread runs
//! the core; cold threads do the I/O. Only this crate reads the wall clock ([`clock`]).
#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod dump;
pub mod hot;
pub mod journal_sink;
pub mod replay;
pub mod replay_server;
pub mod run;
pub mod summary;
