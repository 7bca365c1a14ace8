//! TRAIDER tools: the daemon's wiring and the local venue stand-ins.
//!
//! - `traiderd` (bin): [`run`] (paper trading), [`replay`] (recorded sessions) and [`dump`]
//!   (journal printing), all on the same hot path ([`hot`]).
//! - `traiderctl` (bin): [`ctl`], the operator's client for the daemon's admin HTTP API.
//! - `coinbase-replay` (bin): [`replay_server`], a local WebSocket + REST stand-in for
//!   Coinbase that serves a recorded capture.
//!
//! Threads: the main thread reads config and is the sequencer in replays; the hot thread runs
//! the core; cold threads do the I/O. Only this crate reads the wall clock ([`clock`]).
#![deny(unsafe_code)]

pub mod admin;
pub mod clock;
pub mod config;
pub mod ctl;
pub mod dump;
pub mod hot;
pub mod inspect;
pub mod journal_sink;
pub mod live;
pub mod replay;
pub mod replay_server;
pub mod restart;
pub mod run;
pub mod summary;
pub mod venue_sim;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
}
