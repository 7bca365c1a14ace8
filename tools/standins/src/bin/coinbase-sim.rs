//! `coinbase-sim`: a local stand-in for Coinbase Advanced Trade that a live daemon trades
//! against end to end, on ONE loopback port (see `traider_standins::sim` for the full
//! behaviour):
//! - WebSocket (any path): market data replayed from `--capture` on one venue clock
//!   (`level2` snapshot of the current book + live updates, `market_trades`, `ticker`,
//!   `candles`, `heartbeats`), and the authenticated `user` channel (JWT of `--key-file`);
//! - REST (JWT-verified, rate-limited): create/cancel/edit orders, get/list orders, fills,
//!   accounts, best bid/ask; public products and time;
//! - matching: taking orders against the current book, resting orders against replayed
//!   trades and a crossing book, maker/taker fees, balances;
//! - faults: `--scenario FILE` (TOML) and `--rest-fault`/`--ws-fault` flags;
//! - restart: `--state-file` keeps orders, fills, balances and the clock across a kill;
//! - inspection: `GET /sim/orders`, `/sim/fills`, `/sim/requests` (no auth, loopback).
//!
//! Prints exactly one line to stdout once bound, `coinbase-sim listening on 127.0.0.1:PORT`;
//! logs go to stderr. Runs until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use traider_gateways::coinbase::auth::ApiKey;
use traider_standins::replay::ReplayData;
use traider_standins::sim::{DEFAULT_BALANCES, Scenario, SimConfig, parse_balances, serve};

const SCENARIO_HELP: &str = "\
Serves on ONE loopback port:
  WebSocket (any path): level2 (snapshot of the current book, then live updates),
    market_trades, ticker, candles, heartbeats (as recorded, re-sequenced), and user
    (WS JWT of --key-file; open orders in snapshots of 50, then cumulative updates)
  REST (JWT + rate limit): POST /api/v3/brokerage/orders, /orders/batch_cancel, /orders/edit;
    GET /orders/historical/{id}, /orders/historical/batch, /orders/historical/fills,
    /accounts, /best_bid_ask; public GET /market/products, /time
  Inspection (no auth): GET /sim/orders, /sim/fills, /sim/requests

Scenario file (TOML), every table optional:

  [[rest]]                 # the nth request (1-based) of an endpoint class gets a fault
  endpoint = \"create\"      # create|cancel|edit|get_order|list_orders|fills|accounts|best_bid_ask
  nth = 3
  fault = \"timeout\"        # 429|500|503|401|timeout (work done, never answered)|drop (closed, no work)
                           # |lost (never answered, no work; a lost create loses every re-send
                           # of its client_order_id too)

  [market]                 # the `connection`-th connection subscribing to a market channel
  connection = 1
  drop_seqs = [40]         # by outgoing sequence_num
  skip_seqs = [50]         # gap: that number is never used
  malformed_seqs = [60]    # sent cut in half
  delays = [{ seq = 70, ms = 500 }]
  disconnect_after_seq = 80
  stall_after_seq = 90     # nothing more is sent, the socket stays open

  [user]                   # same fields, for connections subscribing to `user`
  stall_after_seq = 3";

/// Serve a simulated Coinbase Advanced Trade venue locally.
#[derive(Debug, Parser)]
#[command(name = "coinbase-sim", version, after_help = SCENARIO_HELP)]
struct Args {
    /// cryptofeed format-2 capture (.jsonl or .jsonl.zst): products and market.
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
    /// Fee on resting (maker) fills, in basis points.
    #[arg(long, default_value_t = 40)]
    maker_fee_bps: u32,
    /// Venue clock speed: recorded time deltas are divided by this.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Start the recording over after its end (otherwise heartbeats continue).
    #[arg(long = "loop")]
    loop_playback: bool,
    /// Play this much recorded time instantly at start.
    #[arg(long, value_name = "MS", conflicts_with = "start_at_end")]
    start_offset_ms: Option<u64>,
    /// Play the whole recording instantly at start (the book is the capture's final one).
    #[arg(long)]
    start_at_end: bool,
    /// Starting balances.
    #[arg(long, default_value = DEFAULT_BALANCES)]
    balances: String,
    /// Accept orders whatever the balances (no INSUFFICIENT_FUNDS rejections).
    #[arg(long)]
    no_balance_check: bool,
    /// Fault scenario file (TOML, format below).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// A REST fault, ENDPOINT:NTH:FAULT (repeatable), e.g. create:3:timeout.
    #[arg(long = "rest-fault", value_name = "SPEC")]
    rest_faults: Vec<String>,
    /// A WebSocket fault of the first market/user connection, STREAM:KIND:SEQ[:MS]
    /// (repeatable), e.g. market:drop:40, user:stall:3, market:delay:12:500.
    #[arg(long = "ws-fault", value_name = "SPEC")]
    ws_faults: Vec<String>,
    /// Save the venue's state here on every change and load it at start.
    #[arg(long, value_name = "PATH")]
    state_file: Option<PathBuf>,
    /// Close a connection that sent no subscribe within this many milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    subscribe_timeout_ms: u64,
}

impl Args {
    fn config(&self, key: &ApiKey) -> anyhow::Result<SimConfig> {
        let mut config = SimConfig::new(self.listen, key.public_key());
        config.private_rate_per_s = self.rate;
        config.taker_fee_bps = self.taker_fee_bps;
        config.maker_fee_bps = self.maker_fee_bps;
        config.speed = self.speed;
        config.loop_playback = self.loop_playback;
        config.start_offset_ns = match (self.start_at_end, self.start_offset_ms) {
            (true, _) => u64::MAX,
            (false, Some(ms)) => ms.saturating_mul(1_000_000),
            (false, None) => 0,
        };
        config.balances = parse_balances(&self.balances)?;
        config.check_balances = !self.no_balance_check;
        let mut scenario = match &self.scenario {
            Some(path) => {
                Scenario::load(path).with_context(|| format!("scenario {}", path.display()))?
            }
            None => Scenario::default(),
        };
        for flag in &self.rest_faults {
            scenario.add_rest_flag(flag)?;
        }
        for flag in &self.ws_faults {
            scenario.add_ws_flag(flag)?;
        }
        config.faults = scenario;
        config.state_file = self.state_file.clone();
        config.subscribe_timeout = std::time::Duration::from_millis(self.subscribe_timeout_ms);
        Ok(config)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    traider_standins::init_logging();
    let args = Args::parse();
    let key = ApiKey::load(&args.key_file)?;
    let config = args.config(&key).context("invalid arguments")?;
    drop(key);
    let data = ReplayData::load(&args.capture)
        .with_context(|| format!("loading capture {}", args.capture.display()))?;
    let sim = serve(config, Arc::new(data)).await?;
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
