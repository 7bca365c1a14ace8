//! `coinbase-replay`: serves a recorded cryptofeed capture as a local Coinbase Advanced Trade
//! market-data endpoint (WebSocket on any path, plus the products/time REST endpoints) on a
//! loopback port. Prints exactly one line to stdout once bound,
//! `coinbase-replay listening on 127.0.0.1:PORT`; logs go to stderr (`RUST_LOG`, default
//! `info`). Runs until Ctrl-C or SIGTERM.
//!
//! The fault flags (`--drop-seq`, `--disconnect-after-seq`, `--stall-after-seq`) count the
//! outgoing `sequence_num`s of the FIRST WebSocket connection only; later connections get a
//! clean stream.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use traider_standins::replay::{Faults, Pace, ReplayConfig, ReplayData, ReplayServer};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PaceArg {
    /// Sleep by the recorded timestamp deltas (divided by --speed).
    Recorded,
    /// Send as fast as the socket allows.
    Asap,
}

/// Serve a recorded Coinbase session over a local WebSocket.
#[derive(Debug, Parser)]
#[command(name = "coinbase-replay", version)]
struct Args {
    /// cryptofeed format-2 capture (.jsonl or .jsonl.zst).
    #[arg(long)]
    capture: PathBuf,
    /// Loopback address to listen on (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    #[arg(long, value_enum, default_value = "recorded")]
    pace: PaceArg,
    /// Playback speed factor for --pace recorded.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Do not send the message that would carry this sequence_num (repeatable).
    #[arg(long = "drop-seq", value_name = "N")]
    drop_seq: Vec<u64>,
    /// After the last frame start over instead of sending heartbeats.
    #[arg(long = "loop")]
    loop_playback: bool,
    /// Close the socket after sending sequence_num N.
    #[arg(long, value_name = "N")]
    disconnect_after_seq: Option<u64>,
    /// Send nothing after sequence_num N, keeping the socket open.
    #[arg(long, value_name = "N")]
    stall_after_seq: Option<u64>,
    /// Close a connection that sent no subscribe within this many milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    subscribe_timeout_ms: u64,
}

impl Args {
    fn config(&self) -> ReplayConfig {
        let mut config = ReplayConfig::new(self.listen);
        config.pace = match self.pace {
            PaceArg::Recorded => Pace::Recorded,
            PaceArg::Asap => Pace::Asap,
        };
        config.speed = self.speed;
        config.faults = Faults {
            drop_seqs: self.drop_seq.iter().copied().collect(),
            disconnect_after_seq: self.disconnect_after_seq,
            stall_after_seq: self.stall_after_seq,
        };
        config.loop_playback = self.loop_playback;
        config.subscribe_timeout = Duration::from_millis(self.subscribe_timeout_ms);
        config
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    traider_standins::init_logging();
    let args = Args::parse();
    let config = args.config();
    config.validate().context("invalid arguments")?;
    let data = ReplayData::load(&args.capture)
        .with_context(|| format!("loading capture {}", args.capture.display()))?;
    tracing::info!(frames = data.frames.len(), capture = %args.capture.display(), "capture loaded");
    let (addr, handle) = ReplayServer::bind(config, Arc::new(data)).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "coinbase-replay listening on {addr}")?;
    stdout.flush()?;
    drop(stdout);
    wait_for_signal().await?;
    tracing::info!("shutting down");
    handle.shutdown().await?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn wait_for_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
