//! `traiderd run`: the daemon. Paper mode: live market data, simulated fills (live mode, real
//! orders, is [`crate::live`]).
//!
//! Threads: the hot thread (pinned when configured), the order sink, a timer, a status
//! reporter, and a small tokio runtime for the venue I/O (products over REST, market data
//! over WebSocket). The WebSocket task and the timer are the sequencer: they stamp each input
//! with the wall clock and publish it into the input ring. Ctrl-C (SIGINT) or SIGTERM stops
//! the feed, then the hot thread drains, flushes the journal and returns its state.

use crate::admin::daemon::{Observed, kill_on_sigusr1};
use crate::clock::unix_now_ns;
use crate::config::{DaemonConfig, Mode};
use crate::hot::{self, SinkStats};
use crate::journal_sink::Journal;
use crate::summary::{hot_summary, status_lines};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use traider_core::engine::StatusSnapshot;
use traider_core::input::{FeedControl, InputKind};
use traider_core::pipeline::ring::InputProducer;
use traider_gateways::coinbase::rest::fetch_products;
use traider_gateways::coinbase::ws::{FrameSink, WsConfig, run_market_data};

pub struct RunArgs {
    pub config: PathBuf,
    pub journal_dir: Option<PathBuf>,
}

/// Market data from the WebSocket client into the input ring, stamped on receipt. In live
/// mode every frame is also a sign of life for the dead-man switch (`health`).
pub(crate) struct RingSink {
    pub producer: InputProducer,
    pub health: Option<Arc<crate::live::watch::Health>>,
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

pub fn run(args: &RunArgs) -> anyhow::Result<RunOutcome> {
    let config = DaemonConfig::load(&args.config)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    match config.mode {
        Mode::Paper => {}
        Mode::Live => return crate::live::run(args, config),
        Mode::Replay => bail!(
            "mode: traiderd run runs mode = \"paper\" or \"live\"; use traiderd replay for recorded data"
        ),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("traider-io")
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    let products = runtime
        .block_on(fetch_products(
            &config.venue.rest_url,
            &config.product_ids(),
            3,
        ))
        .context("cannot read the instrument rules from the venue")?;
    hot::check_products(&config, &products)?;

    let (journal, dir) = open_journal(args, &config)?;
    let stop = stop_on_signals()?;
    let mut observed = Observed::new(&empty_status(&config));
    let running = hot::Running::start(&config, journal, &dir, observed.observers(), None)?;
    let admin = observed.serve(
        &runtime,
        &config,
        "paper",
        running.producer(),
        running.syncer.clone(),
    )?;
    kill_on_sigusr1(running.producer(), config.risk.kill_flatten)?;
    let resumed = serde_json::json!({
        "inputs": running.rebuilt.inputs,
        "decisions": running.rebuilt.decisions,
        "appended_decisions": running.rebuilt.appended,
    });
    running
        .producer()
        .publish(InputKind::Products, 0, unix_now_ns(), products.as_bytes());
    let timer = spawn_timer(
        running.producer(),
        Duration::from_millis(config.hot_path.timer_interval_ms),
        Arc::clone(&stop),
    )?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let ws = runtime.spawn(run_market_data(
        ws_config(&config),
        RingSink {
            producer: running.producer(),
            health: None,
        },
        shutdown_rx,
    ));
    tracing::info!(url = %config.venue.ws_url, strategy = ?config.strategy.kind, "paper trading");

    let report_every = Duration::from_secs(config.report.interval_s);
    let mut last_report = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) && !ws.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        if !report_every.is_zero() && last_report.elapsed() >= report_every {
            last_report = std::time::Instant::now();
            for line in status_lines(&observed.status.read()) {
                tracing::info!("{line}");
            }
        }
    }
    tracing::info!("stopping: closing the feed, draining the hot path");
    if let Some(admin) = admin {
        admin.stop(&runtime);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = shutdown_tx.send(true);
    let feed_result =
        runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), ws).await });
    let _ = timer.join();
    let (hot, sink) = running.stop(unix_now_ns())?;
    match feed_result {
        Ok(Ok(Err(error))) => tracing::error!(%error, "market-data client failed"),
        Ok(Err(join_error)) => tracing::error!(%join_error, "market-data task failed"),
        Err(_) => tracing::warn!("market-data client did not close within 5 s"),
        Ok(Ok(Ok(_))) => {}
    }
    for line in status_lines(&hot.engine().status()) {
        tracing::info!("{line}");
    }
    if let Some(error) = hot.journal().first_error() {
        tracing::error!(%error, "the journal refused writes; trading stopped at that point");
    }
    let mut summary = hot_summary("paper", &hot, &dir);
    summary["resumed"] = resumed;
    summary["order_sink"] = crate::summary::sink_json(&sink);
    Ok(RunOutcome { summary, sink })
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
    let (journal, recovery) = Journal::open(&dir, &config.journal)
        .with_context(|| format!("cannot open the journal in {}", dir.display()))?;
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
