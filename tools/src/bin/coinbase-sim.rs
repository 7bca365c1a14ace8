//! `coinbase-sim`: a local stand-in for Coinbase Advanced Trade's authenticated order
//! entry, on a loopback port, for live-mode tests and dry runs without the network. It
//! verifies every request's JWT against the public half of `--key-file` (the same CDP key
//! file the daemon signs with), applies the capture's product rules and book, enforces the
//! private rate limit, and keeps orders idempotent by client order id (see
//! `traider_tools::venue_sim`). Prints exactly one line to stdout once bound,
//! `coinbase-sim listening on 127.0.0.1:PORT`; logs go to stderr. Runs until Ctrl-C or
//! SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use traider_gateways::coinbase::auth::ApiKey;
use traider_tools::replay_server::ReplayData;
use traider_tools::venue_sim::{SimConfig, serve};

/// Serve Advanced Trade's order endpoints locally.
#[derive(Debug, Parser)]
#[command(name = "coinbase-sim", version)]
struct Args {
    /// cryptofeed format-2 capture (.jsonl or .jsonl.zst): products and book.
    #[arg(long)]
    capture: PathBuf,
    /// The CDP key file whose tokens are accepted (mode 600; only its public half is used).
    #[arg(long)]
    key_file: PathBuf,
    /// Loopback address to listen on (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Private requests allowed per second; more are answered 429.
    #[arg(long, default_value_t = 30)]
    rate: u32,
    /// Fee on taking liquidity, in basis points.
    #[arg(long, default_value_t = 60)]
    taker_fee_bps: u32,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    traider_tools::init_logging();
    let args = Args::parse();
    let key = ApiKey::load(&args.key_file)?;
    let data = ReplayData::load(&args.capture)
        .with_context(|| format!("loading capture {}", args.capture.display()))?;
    let config = SimConfig {
        listen: args.listen,
        key: key.public_key(),
        private_rate_per_s: args.rate,
        taker_fee_bps: args.taker_fee_bps,
    };
    drop(key);
    let sim = serve(config, &data).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "coinbase-sim listening on {}", sim.addr)?;
    stdout.flush()?;
    drop(stdout);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    tracing::info!(requests = sim.requests().len(), "shutting down");
    Ok(())
}
