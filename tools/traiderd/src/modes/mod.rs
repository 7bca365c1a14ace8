//! `traiderd run`: the daemon, in paper mode ([`paper`]: live market data, simulated fills)
//! or live mode ([`live`]: real orders), and `traiderd replay` ([`replay`]: a recorded
//! session or backtest). One engine and one hot path for all three; only the edges differ.
//!
//! This module holds what the modes share: loading the config and choosing the mode, the
//! journal, the stop signals, the market-data sink that stamps frames into the input ring,
//! and the timer.

pub mod live;
pub mod paper;
pub mod replay;

use crate::clock::unix_now_ns;
use crate::config::{DaemonConfig, Mode};
use crate::hot::journal_error;
use crate::hot::{Journal, SinkStats};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use traider_core::engine::StatusSnapshot;
use traider_core::input::{FeedControl, InputKind};
use traider_core::pipeline::ring::InputProducer;
use traider_gateways::coinbase::execution::watch::Health;
use traider_gateways::coinbase::rest::fetch_products;
use traider_gateways::coinbase::ws::{FrameSink, WsConfig, WsError};

use crate::admin::daemon::Observed;
use crate::summary::status_lines;

pub struct RunArgs {
    pub config: PathBuf,
    pub journal_dir: Option<PathBuf>,
}

/// Market data from the WebSocket client into the input ring, stamped on receipt. In live
/// mode every frame is also a sign of life for the dead-man switch (`health`).
pub(crate) struct RingSink {
    pub producer: InputProducer,
    pub health: Option<Arc<Health>>,
}

impl FrameSink for RingSink {
    fn on_frame(&mut self, conn_id: u32, frame: &[u8]) {
        if let Some(health) = &self.health {
            health.market_message();
        }
        self.producer
            .publish(InputKind::MdFrame, conn_id, unix_now_ns(), frame);
    }

    fn on_feed(&mut self, conn_id: u32, control: FeedControl) {
        tracing::info!(
            conn_id,
            control = control.as_str(),
            "market-data connection"
        );
        self.producer
            .publish(InputKind::Feed(control), conn_id, unix_now_ns(), &[]);
    }
}

pub struct RunOutcome {
    pub summary: serde_json::Value,
    pub sink: SinkStats,
}

/// `traiderd run`: loads the config and runs the mode it names until Ctrl-C or SIGTERM.
pub fn run(args: &RunArgs) -> anyhow::Result<RunOutcome> {
    let config = DaemonConfig::load(&args.config)?;
    match config.mode {
        Mode::Paper => paper::run(args, config),
        Mode::Live => live::run(args, config),
        Mode::Replay => bail!(
            "mode: traiderd run runs mode = \"paper\" or \"live\"; use traiderd replay for recorded data"
        ),
    }
}

/// Opens the daemon's journal, its system of record: a restart continues it (rebuilding the
/// engine's state from it first). Returns it and its directory.
pub(crate) fn open_journal(
    args: &RunArgs,
    config: &DaemonConfig,
) -> anyhow::Result<(Journal, PathBuf)> {
    let dir = args
        .journal_dir
        .clone()
        .unwrap_or_else(|| config.journal.dir.clone());
    let (journal, recovery) =
        Journal::open(&dir, &config.journal).map_err(|error| journal_error(&dir, error))?;
    if let Some(torn) = recovery.torn_tail {
        tracing::warn!(
            segment = torn.segment,
            offset = torn.offset,
            bytes = torn.bytes,
            "cut a torn tail from the journal (the last append before a crash)"
        );
    }
    tracing::info!(journal = %dir.display(), "journal open");
    Ok((journal, dir))
}

/// From here on Ctrl-C / SIGTERM set the returned flag (a clean stop); a second one exits
/// at once.
pub(crate) fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .context("cannot install signal handlers")?;
    }
    Ok(stop)
}

pub(crate) fn ws_config(config: &DaemonConfig) -> WsConfig {
    let venue = &config.venue;
    let mut ws = WsConfig::new(
        venue.ws_url.clone(),
        config.product_ids().iter().map(|s| s.to_string()).collect(),
    );
    ws.heartbeat_timeout = Duration::from_millis(venue.heartbeat_timeout_ms);
    ws.resync_timeout = Duration::from_millis(venue.resync_timeout_ms);
    ws.backoff_min = Duration::from_millis(venue.reconnect_backoff_min_ms);
    ws.backoff_max = Duration::from_millis(venue.reconnect_backoff_max_ms);
    ws.max_message_bytes = config.hot_path.frame_bytes_max;
    ws
}

/// Timer inputs let event time pass (stale-book checks, simulated latency) without data.
pub(crate) fn spawn_timer(
    mut producer: InputProducer,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("traider-timer".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                producer.publish(InputKind::Timer, 0, unix_now_ns(), &[]);
            }
        })
}

pub(crate) fn empty_status(config: &DaemonConfig) -> StatusSnapshot {
    StatusSnapshot::empty(config.engine_settings().global_limits())
}

/// The small tokio runtime the venue I/O runs on (one worker thread, `traider-io`).
pub(crate) fn io_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("traider-io")
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")
}

/// The configured products' rules, as the venue's REST API returns them.
pub(crate) fn fetch_rules(
    runtime: &tokio::runtime::Runtime,
    config: &DaemonConfig,
) -> anyhow::Result<String> {
    runtime
        .block_on(fetch_products(
            &config.venue.rest_url,
            &config.product_ids(),
            3,
        ))
        .context("cannot read the instrument rules from the venue")
}

/// Logs the status lines every `[report] interval_s` (never when 0) until `stop` is set or
/// the market-data task ends.
pub(crate) fn report_until_stopped<T>(
    config: &DaemonConfig,
    stop: &AtomicBool,
    feed: &tokio::task::JoinHandle<T>,
    observed: &Observed,
) {
    let report_every = Duration::from_secs(config.report.interval_s);
    let mut last_report = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) && !feed.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        if !report_every.is_zero() && last_report.elapsed() >= report_every {
            last_report = std::time::Instant::now();
            for line in status_lines(&observed.status.read()) {
                tracing::info!("{line}");
            }
        }
    }
}

/// How the market-data task ended, given 5 s to close.
pub(crate) type FeedResult =
    Result<Result<Result<RingSink, WsError>, tokio::task::JoinError>, tokio::time::error::Elapsed>;

/// Waits up to 5 s for the market-data task to close (after the shutdown signal).
pub(crate) fn close_feed(
    runtime: &tokio::runtime::Runtime,
    feed: tokio::task::JoinHandle<Result<RingSink, WsError>>,
) -> FeedResult {
    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), feed).await })
}

/// Logs how the market-data task ended, when it did not end cleanly.
pub(crate) fn log_feed_result(feed_result: FeedResult) {
    match feed_result {
        Ok(Ok(Err(error))) => tracing::error!(%error, "market-data client failed"),
        Ok(Err(join_error)) => tracing::error!(%join_error, "market-data task failed"),
        Err(_) => tracing::warn!("market-data client did not close within 5 s"),
        Ok(Ok(Ok(_))) => {}
    }
}
