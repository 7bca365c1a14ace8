//! End-of-run and periodic reports: a JSON object for machines, lines for people.

use crate::views::{money, position_json};
use serde_json::{Map, Value, json};
use traider_core::engine::{EngineSummary, InstrumentStatus, StatusSnapshot};
use traider_core::event::DecodeError;
use traider_core::instrument::InstrumentId;
use traider_core::num::Money;
use traider_core::pipeline::latency::{Latency, Stage};
use traider_core::risk::Reject;

/// Facts about a run that are not engine state.
struct RunFacts<'a> {
    pub mode: &'a str,
    pub md_frames: u64,
    pub journal_dir: Option<String>,
    pub journal_records: u64,
    pub journal_failures: u64,
    /// Index of the last segment, and how many of this process's rolls went into a spare.
    pub journal_rolls: (u64, u64),
    pub level_counts: Vec<(usize, usize)>,
}

fn book_json(status: &InstrumentStatus, levels: (usize, usize)) -> Value {
    let price = |ticks: i64| status.price_increment.display(ticks).to_string();
    let size = |lots: i64| status.base_increment.display(lots).to_string();
    json!({
        "best_bid": status.bid.map(|(p, _)| price(p)),
        "best_bid_size": status.bid.map(|(_, s)| size(s)),
        "best_ask": status.ask.map(|(p, _)| price(p)),
        "best_ask_size": status.ask.map(|(_, s)| size(s)),
        "bid_levels": levels.0,
        "ask_levels": levels.1,
        "stale": status.stale,
        "tradable": status.tradable,
    })
}

fn pnl_json(status: &StatusSnapshot) -> Value {
    let (mut realized, mut unrealized, mut fees) = (Money::ZERO, Money::ZERO, Money::ZERO);
    for instrument in status.instruments() {
        realized += instrument.realized;
        unrealized += instrument.unrealized;
        fees += instrument.fees;
    }
    json!({
        "realized": money(realized),
        "unrealized": money(unrealized),
        "fees": money(fees),
        "net": money(realized + unrealized - fees),
    })
}

pub fn latency_json(latency: &Latency) -> Value {
    let mut stages = Map::new();
    for stage in Stage::ALL {
        let p = latency.percentiles(stage);
        stages.insert(
            stage.name().into(),
            json!({"count": p.count, "p50": p.p50, "p99": p.p99, "p999": p.p999, "max": p.max}),
        );
    }
    Value::Object(stages)
}

/// The `--json` summary of a finished hot path.
pub fn hot_summary(mode: &str, hot: &crate::hot::Hot, journal_dir: &std::path::Path) -> Value {
    let engine = hot.engine();
    let instruments = engine.settings().instruments.len();
    let facts = RunFacts {
        mode,
        md_frames: hot.md_frames,
        journal_dir: Some(journal_dir.display().to_string()),
        journal_records: hot.journal().records(),
        journal_failures: hot.journal_failures,
        journal_rolls: hot.journal().rolls(),
        level_counts: (0..instruments)
            .map(|i| engine.level_counts(InstrumentId(i as u16)))
            .collect(),
    };
    let mut summary = summary_json(&engine.summary(), hot.latency(), &facts);
    summary["state_digest"] = json!(engine.digest().to_string());
    summary
}

fn summary_json(summary: &EngineSummary, latency: &Latency, facts: &RunFacts<'_>) -> Value {
    let status = &summary.status;
    let c = &status.counters;
    let mut books = Map::new();
    let mut positions = Map::new();
    for (index, instrument) in status.instruments().enumerate() {
        let levels = facts.level_counts.get(index).copied().unwrap_or_default();
        books.insert(instrument.symbol.to_string(), book_json(instrument, levels));
        positions.insert(instrument.symbol.to_string(), position_json(instrument));
    }
    let rejects: Map<String, Value> = Reject::ALL
        .iter()
        .map(|r| (r.as_str().into(), json!(status.rejects[*r as usize])))
        .collect();
    let decode_errors: Map<String, Value> = DecodeError::ALL
        .iter()
        .map(|e| (e.as_str().into(), json!(c.decode_errors[e.index()])))
        .collect();
    let refusals: Map<String, Value> = summary
        .refusals
        .iter()
        .map(|(s, e)| (s.to_string(), json!(e)))
        .collect();
    json!({
        "mode": facts.mode,
        "strategy": summary.strategy,
        "frames": facts.md_frames,
        "decode_errors": decode_errors,
        "ignored": c.ignored,
        "gaps": c.gaps,
        "heartbeats": c.heartbeats,
        "level_updates": c.level_updates,
        "trades": c.trades,
        "books": books,
        "orders": c.orders,
        "cancels": c.cancels,
        "fills": c.fills,
        "orders_open": status.orders_open,
        "venue_rejects": c.venue_rejects,
        "venue": {
            "events": c.venue_events, "unreadable": c.venue_inputs_bad,
            "duplicate_reports": c.duplicate_reports, "late_fills": c.late_fills,
            "orders_unknown": c.orders_unknown, "gate_changes": c.gate_changes,
            "cancel_rejects": c.cancel_rejects, "oms_errors": c.oms_errors, "edits": c.edits,
        },
        "rejects": rejects,
        "control": crate::views::control_json(&status.control),
        "admin": {
            "commands": c.admin_commands, "refused": c.admin_refused, "audits": c.admin_audits,
            "unreadable": c.admin_inputs_bad, "kills": c.kills,
            "state_changes": c.state_changes, "flatten_orders": c.flatten_orders,
        },
        "positions": positions,
        "pnl": pnl_json(status),
        "instrument_refusals": refusals,
        "latency_ns": latency_json(latency),
        "journal": {
            "dir": facts.journal_dir, "records": facts.journal_records, "failures": facts.journal_failures,
            "last_segment": facts.journal_rolls.0, "rolls_into_spare": facts.journal_rolls.1,
        },
    })
}

/// One status line per instrument plus totals, for the log.
pub fn status_lines(status: &StatusSnapshot) -> Vec<String> {
    let c = &status.counters;
    let mut lines: Vec<String> = status
        .instruments()
        .map(|i| {
            let price = |ticks: i64| i.price_increment.display(ticks).to_string();
            let top = match (i.bid, i.ask) {
                (Some((bid, _)), Some((ask, _))) => format!("{} / {}", price(bid), price(ask)),
                _ => "no book".into(),
            };
            format!(
                "{} {}{} | position {} | realized {} unrealized {} fees {}",
                i.symbol,
                top,
                if i.stale { " (stale)" } else { "" },
                i.base_increment.display(i.position_lots),
                i.realized.display_rounded(4),
                i.unrealized.display_rounded(4),
                i.fees.display_rounded(4),
            )
        })
        .collect();
    let rejects: u64 = status.rejects.iter().sum();
    lines.push(format!(
        "orders {} fills {} open {} rejects {} gaps {} decode errors {} | net P&L {}",
        c.orders,
        c.fills,
        status.orders_open,
        rejects,
        c.gaps,
        c.decode_errors_total(),
        status.pnl_total().display_rounded(4),
    ));
    lines
}

/// The summary for people: books, positions, P&L, orders and latency percentiles.
pub fn human(summary: &Value) -> String {
    let mut text = String::new();
    let get = |key: &str| summary.get(key).cloned().unwrap_or(Value::Null);
    text.push_str(&format!(
        "{} ({}): {} frames, {} gaps, {} orders, {} fills, {} cancels\n",
        get("mode").as_str().unwrap_or("?"),
        get("strategy").as_str().unwrap_or("?"),
        get("frames"),
        get("gaps"),
        get("orders"),
        get("fills"),
        get("cancels"),
    ));
    if let Some(books) = summary.get("books").and_then(Value::as_object) {
        for (symbol, book) in books {
            let positions = &summary["positions"][symbol];
            text.push_str(&format!(
                "  {symbol}: bid {} x {} / ask {} x {} ({} bids, {} asks{}) position {} realized {} unrealized {} fees {}\n",
                book["best_bid"], book["best_bid_size"], book["best_ask"], book["best_ask_size"],
                book["bid_levels"], book["ask_levels"],
                if book["stale"].as_bool() == Some(true) { ", stale" } else { "" },
                positions["position"], positions["realized_pnl"], positions["unrealized_pnl"], positions["fees"],
            ));
        }
    }
    text.push_str(&format!("  pnl: {}\n", summary["pnl"]));
    let rejects: Vec<String> = summary["rejects"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter(|(_, n)| n.as_u64() != Some(0))
                .map(|(k, n)| format!("{k} {n}"))
                .collect()
        })
        .unwrap_or_default();
    text.push_str(&format!(
        "  rejects: {}\n",
        if rejects.is_empty() {
            "none".into()
        } else {
            rejects.join(", ")
        }
    ));
    if let Some(stages) = summary["latency_ns"].as_object() {
        text.push_str("  latency ns (p50 / p99 / p99.9):");
        for (stage, p) in stages {
            text.push_str(&format!(" {stage} {}/{}/{}", p["p50"], p["p99"], p["p999"]));
        }
        text.push('\n');
    }
    text.push_str(&format!("  journal: {}\n", summary["journal"]));
    text
}

/// What the order-sink thread released (and, with `flush = "durable"`, how many group
/// commits it waited for).
pub fn sink_json(stats: &crate::hot::SinkStats) -> Value {
    json!({
        "commands": stats.commands,
        "new_orders": stats.new_orders,
        "cancels": stats.cancels,
        "edits": stats.edits,
        "group_commits": stats.syncs,
        "held": stats.held,
    })
}
