//! `traiderd run` in paper mode: live market data, simulated fills (the venue inside the
//! engine executes every order).
//!
//! Threads: the hot thread (pinned when configured), the order sink, a timer, a status
//! reporter, and a small tokio runtime for the venue I/O (products over REST, market data
//! over WebSocket). The WebSocket task and the timer are the sequencer: they stamp each input
//! with the wall clock and publish it into the input ring. Ctrl-C (SIGINT) or SIGTERM stops
//! the feed, then the hot thread drains, flushes the journal and returns its state.

use super::{
    RingSink, RunArgs, RunOutcome, close_feed, empty_status, fetch_rules, io_runtime,
    log_feed_result, open_journal, report_until_stopped, spawn_timer, stop_on_signals, ws_config,
};
use crate::admin::daemon::{Observed, kill_on_sigusr1};
use crate::clock::unix_now_ns;
use crate::config::DaemonConfig;
use crate::hot;
use crate::summary::{hot_summary, sink_json, status_lines};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use traider_core::input::InputKind;
use traider_gateways::coinbase::ws::run_market_data;

/// Paper trading: live market data, fills from the simulated venue inside the engine.
pub(super) fn run(args: &RunArgs, config: DaemonConfig) -> anyhow::Result<RunOutcome> {
    let runtime = io_runtime()?;
    let products = fetch_rules(&runtime, &config)?;
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

    report_until_stopped(&config, &stop, &ws, &observed);
    tracing::info!("stopping: closing the feed, draining the hot path");
    if let Some(admin) = admin {
        admin.stop(&runtime);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = shutdown_tx.send(true);
    let feed_result = close_feed(&runtime, ws);
    let _ = timer.join();
    let (hot, sink) = running.stop(unix_now_ns())?;
    log_feed_result(feed_result);
    for line in status_lines(&hot.engine().status()) {
        tracing::info!("{line}");
    }
    if let Some(error) = hot.journal().first_error() {
        tracing::error!(%error, "the journal refused writes; trading stopped at that point");
    }
    let mut summary = hot_summary("paper", &hot, &dir);
    summary["resumed"] = resumed;
    summary["order_sink"] = sink_json(&sink);
    Ok(RunOutcome { summary, sink })
}
