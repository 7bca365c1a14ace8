//! `cargo bench -p traider-bench --bench controls`: what the controls cost.
//!
//! - Pre-trade risk per order (`RiskEngine::check`): an order that passes every check, and
//!   one refused at the first (HALTED), next to the stamp pair that brackets each call.
//! - The kill switch: from the kill's admin input to the first cancel leaving the hot path
//!   (`HotPath::process`, journal on), and from an HTTP `POST /api/v1/kill` on loopback to
//!   that cancel with the daemon's threads running (hot thread pinned and spinning when the
//!   machine has two cores).
//!
//! p50 / p99 / p99.9 from hdrhistograms, printed and written to
//! `target/traider-bench-controls.json`. Knobs: `TRAIDER_BENCH_RISK_SAMPLES` (default
//! 1 000 000), `TRAIDER_BENCH_KILLS` (default 2 000 in the hot path, a tenth over HTTP).

use traider_bench::controls::{kill_in_hot_path, kill_over_http, risk_check};
use traider_bench::report::{Report, Row, machine};
use traider_bench::sections::{env_usize, harness_rows, load_average};
use traider_bench::session::{Session, tick_to_order_config};
use traider_bench::{capture_path, pin, target_dir, thread_cores};
use traiderd::hot::Journal;

fn main() {
    if let Err(error) = run() {
        eprintln!("traider-bench controls failed: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    // The kill-switch sections replay the recorded session: without it, stop here (naming
    // TRAIDER_DATA_DIR) rather than after the risk sections.
    let path = capture_path();
    let mut machine = machine();
    machine["load_average_at_start"] = serde_json::json!(load_average());
    let cores = thread_cores();
    let mut report = Report {
        machine,
        ..Report::default()
    };
    if let Some((_, hot_core)) = cores {
        pin(hot_core);
    }
    harness_rows(&mut report);
    risk_rows(&mut report)?;
    kill_rows(&mut report, cores, &path)?;
    print!("{}", report.table());
    let out = target_dir().join("traider-bench-controls.json");
    report.write_json(&out)?;
    println!("written to {}", out.display());
    Ok(())
}

/// Pre-trade risk: an order that passes, the same with the duplicate window full, and a
/// refusal at the first check.
fn risk_rows(report: &mut Report) -> anyhow::Result<()> {
    let samples = env_usize("TRAIDER_BENCH_RISK_SAMPLES", 1_000_000);
    let risk = risk_check(samples)?;
    report.rows.push(Row::new(
        "risk check",
        "order passes every check (10 orders/s)",
        &risk.approve,
        1.0,
    ));
    report.rows.push(Row::new(
        "risk check",
        "passes, duplicate window full (256 in 100 ms)",
        &risk.approve_busy,
        1.0,
    ));
    report.rows.push(Row::new(
        "risk check",
        "refused at the first check (halted)",
        &risk.refuse_first,
        1.0,
    ));
    Ok(())
}

/// The kill switch in the hot path, then over HTTP with the daemon's threads (pinned and
/// spinning when there are two `cores`).
fn kill_rows(
    report: &mut Report,
    cores: Option<(core_affinity::CoreId, core_affinity::CoreId)>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let mut config = tick_to_order_config()?;
    let session = Session::load(path, &config)?;
    let kills = env_usize("TRAIDER_BENCH_KILLS", 2_000);
    let dir = tempfile::tempdir()?;
    let (journal, _) = Journal::open(&dir.path().join("hot"), &config.journal)?;
    let hot = kill_in_hot_path(&session, &config, journal, kills)?;
    report.rows.push(Row::new(
        "kill switch",
        "admin input → first cancel leaves the hot path",
        &hot,
        1.0,
    ));
    match cores {
        Some((producer_core, hot_core)) => {
            pin(producer_core);
            config.hot_path.pin_core = Some(hot_core.id);
            config.hot_path.wait = traider_core::pipeline::ring::WaitStrategy::Spin;
        }
        None => {
            config.hot_path.pin_core = None;
            config.hot_path.wait = traider_core::pipeline::ring::WaitStrategy::Yield;
        }
    }
    let journal_dir = dir.path().join("http");
    let (journal, _) = Journal::open(&journal_dir, &config.journal)?;
    let http = kill_over_http(
        &session,
        &config,
        journal,
        &journal_dir,
        (kills / 10).max(50),
    )?;
    report.rows.push(Row::new(
        "kill switch",
        "HTTP POST /api/v1/kill → first cancel leaves the hot path",
        &http,
        1.0,
    ));
    Ok(())
}
