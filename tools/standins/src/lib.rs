//! Local stand-ins for Coinbase Advanced Trade, for tests and offline runs.
//!
//! - [`replay`] (`coinbase-replay`): serves a recorded session over a real WebSocket with
//!   Coinbase's subscribe handshake, and the REST products endpoint.
//! - [`sim`] (`coinbase-sim`): a simulated venue on one loopback port: signed REST order
//!   entry, reads, the market-data and user-channel WebSockets, matching against the replayed
//!   market, and faults on demand.
//!
//! Threads: each server runs on the tokio runtime its binary (or test) starts.
#![deny(unsafe_code)]

pub mod replay;
pub mod sim;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); colours only on a terminal.
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stderr = std::io::stderr;
    let ansi = stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_writer(stderr)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .init();
}
