//! The hdr sections of a bench run (p50 / p99 / p99.9 and counts), each appending its rows
//! and facts to a [`Report`]: harness baselines, decode, book, journal, closed-loop
//! tick-to-order, attribution and replay throughput. `benches/hot_path.rs` calls them in order
//! after the criterion groups.

use crate::closed_loop::TickToOrder;
use crate::micro::{BookFixture, DecodeFixture};
use crate::report::{Rate, Report, Row};
use crate::session::{FrameClass, Session};
use crate::throughput::{self, JournalMode, Pass, best_and_median};
use crate::{attribution, histogram};
use std::hint::black_box;
use traider_core::pipeline::latency::{Stage, Stamp};
use traiderd::config::DaemonConfig;

/// A positive number from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `/proc/loadavg`'s first three fields: other work on this small machine skews every number.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

pub fn session_facts(session: &Session) -> serde_json::Value {
    let (updates, update_levels) = session.class_totals(FrameClass::L2Update);
    let (snapshots, snapshot_levels) = session.class_totals(FrameClass::L2Snapshot);
    let update_bytes: usize = session.updates().map(|f| f.data.len()).sum();
    serde_json::json!({
        "frames": session.frames.len(),
        "l2_updates": updates, "l2_update_levels": update_levels, "l2_update_bytes": update_bytes,
        "l2_snapshots": snapshots, "l2_snapshot_levels": snapshot_levels,
        "json_bytes": session.json_bytes(),
    })
}

/// The cost of the instrument itself: two back-to-back stamps.
pub fn harness_rows(report: &mut Report) {
    let stamp = Stamp::default();
    let mut pair = histogram();
    for _ in 0..1_000_000 {
        let start = stamp.raw();
        let end = black_box(stamp.raw());
        pair.saturating_record(stamp.delta_ns(start, end).max(1));
    }
    report.rows.push(Row::new(
        "harness baseline",
        "stamp pair (quanta raw ×2)",
        &pair,
        1.0,
    ));
}

pub fn micro_rows(report: &mut Report, session: &Session, config: &DaemonConfig) {
    let (mut frame, mut level) = (histogram(), histogram());
    DecodeFixture::new(session, config).record(20, &mut frame, &mut level);
    let section = "decode (CoinbaseDecoder, l2_data updates)";
    report
        .rows
        .push(Row::new(section, "per frame", &frame, 1.0));
    report.rows.push(Row::new(
        section,
        "per level change (frame ÷ levels)",
        &level,
        1_000.0,
    ));
    let (mut frame, mut level) = (histogram(), histogram());
    BookFixture::new(session, config).record(20, &mut frame, &mut level);
    let section = "book (OrderBook::apply_update, real snapshots)";
    report
        .rows
        .push(Row::new(section, "per frame", &frame, 1.0));
    report.rows.push(Row::new(
        section,
        "per level change (frame ÷ levels)",
        &level,
        1_000.0,
    ));
}

/// The journal alone, on the temp dir's file system and on tmpfs (page-fault cost).
pub fn journal_rows(report: &mut Report, session: &Session, config: &DaemonConfig) {
    let shm = std::path::Path::new("/dev/shm");
    let mut parents = vec![("temp dir", std::env::temp_dir())];
    if shm.is_dir() {
        parents.push(("tmpfs", shm.to_path_buf()));
    }
    for (label, parent) in parents {
        match crate::micro::journal_appends(session, config, &parent, 20) {
            Ok((hist, faults)) => {
                let name = format!("{label} {}", parent.display());
                let section = "journal append (an l2 update's INPUT_MD_FRAME)";
                report.rows.push(Row::new(section, name, &hist, 1.0));
                let fact = format!(
                    "journal append in {}: minor page faults per append",
                    parent.display()
                );
                report.facts.push((fact, serde_json::json!(faults)));
            }
            Err(error) => println!("journal append in {}: skipped: {error:#}", parent.display()),
        }
    }
}

pub fn tick_to_order_rows(report: &mut Report, mode: JournalMode, result: &TickToOrder) {
    let section = match mode {
        JournalMode::On => "tick-to-order, closed loop, journal on",
        JournalMode::Off => "tick-to-order, closed loop, journal off",
    };
    let sender = &result.sender;
    report.rows.push(Row::new(
        section,
        "TICK-TO-ORDER l2_update frames",
        &sender.t2o_updates,
        1.0,
    ));
    report.rows.push(Row::new(
        section,
        "  + output ring → sender thread",
        &sender.t2s_updates,
        1.0,
    ));
    report.rows.push(Row::new(
        section,
        "tick-to-order other frames (trades…)",
        &sender.t2o_other,
        1.0,
    ));
    for stage in Stage::ALL {
        let name = format!("stage {} (all measured inputs)", stage.name());
        report
            .rows
            .push(Row::new(section, name, result.stages.get(stage), 1.0));
    }
    let c = &result.counters;
    report.facts.push((
        format!("{section}: frames"),
        serde_json::json!({
            "inputs": result.inputs,
            "l2_update_frames": sender.update_frames,
            "l2_update_frames_with_commands": sender.update_frames_with_commands,
            "other_frames": sender.other_frames,
            "other_frames_with_commands": sender.other_frames_with_commands,
            "new_orders": sender.new_orders, "cancels": sender.cancels,
            "engine_orders": c.orders, "engine_cancels": c.cancels, "fills": c.fills,
            "risk_rejects": result.risk_rejects, "gaps": c.gaps,
            "decode_errors": c.decode_errors_total(), "journal_records": result.journal_records,
            "journal_failures": result.journal_failures,
        }),
    ));
}

pub fn attribution_rows(
    report: &mut Report,
    session: &Session,
    config: &DaemonConfig,
) -> anyhow::Result<()> {
    let (journal, dir) = JournalMode::On.open(config)?;
    let passes = env_usize("TRAIDER_BENCH_PASSES", 30).div_ceil(3);
    let result = attribution::attribute(session, config, journal, passes)?;
    drop(dir);
    for (class, hists) in attribution::CLASSES.iter().zip(&result.hists) {
        // Other frames: only their total (the table is about updates).
        let skip = if class.starts_with("other") {
            attribution::PARTS.len() - 1
        } else {
            0
        };
        for (part, hist) in attribution::PARTS.iter().zip(hists).skip(skip) {
            let name = format!("{class}: {part}");
            report.rows.push(Row::new(
                "attribution (one thread, journal on, mirrors process)",
                name,
                hist,
                1.0,
            ));
        }
    }
    Ok(())
}

pub fn replay_rates(
    report: &mut Report,
    session: &Session,
    config: &DaemonConfig,
) -> anyhow::Result<()> {
    let passes = env_usize("TRAIDER_BENCH_REPLAY_PASSES", 10);
    let frames = session.frames.len() as f64;
    let mb = session.json_bytes() as f64 / 1e6;
    let secs = |ns: u64| ns as f64 / 1e9;
    for mode in [JournalMode::Off, JournalMode::On] {
        let (cold, warm) =
            throughput::replay_passes(session, config, mode, passes.div_ceil(2), passes)?;
        for (temperature, results) in [("warm", &warm), ("cold", &cold)] {
            let label = format!("{temperature}, {}:", mode.name().replace('_', " "));
            let mut rate = |name: &str, unit: &'static str, f: &dyn Fn(&Pass) -> f64| {
                let (best, median) = best_and_median(results, f);
                report.rates.push(Rate {
                    name: format!("{label} {name}"),
                    unit,
                    best,
                    median,
                });
            };
            rate("frames/s", "frames/s", &|p| frames / secs(p.elapsed_ns));
            rate("levels/s (session)", "lvl/s", &|p| {
                p.level_updates as f64 / secs(p.elapsed_ns)
            });
            rate("JSON MB/s (session)", "MB/s", &|p| mb / secs(p.elapsed_ns));
            rate("levels/s (after snapshots)", "lvl/s", &|p| {
                p.steady_level_updates as f64 / secs(p.steady_ns)
            });
            let Some(median) = median_pass(results) else {
                continue;
            };
            let shares: serde_json::Map<_, _> = throughput::TIME_SHARES
                .iter()
                .zip(median.share_ns)
                .map(|(name, ns)| {
                    (
                        name.to_string(),
                        serde_json::json!(format!(
                            "{:.1} ms ({:.0}%)",
                            ns as f64 / 1e6,
                            100.0 * ns as f64 / median.elapsed_ns.max(1) as f64
                        )),
                    )
                })
                .collect();
            report.facts.push((
                format!("replay {label} median pass"),
                serde_json::json!({"passes": results.len(), "inputs": median.inputs,
                    "elapsed_ms": median.elapsed_ns as f64 / 1e6, "level_updates": median.level_updates,
                    "commands": median.commands, "time_by_input": shares}),
            ));
        }
    }
    Ok(())
}

pub fn median_pass(passes: &[Pass]) -> Option<Pass> {
    let mut sorted = passes.to_vec();
    sorted.sort_by_key(|p| p.elapsed_ns);
    sorted.get(sorted.len() / 2).copied()
}
