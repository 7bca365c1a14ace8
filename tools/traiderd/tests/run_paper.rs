//! `traiderd run` in paper mode against the local `coinbase-replay` venue, over real TCP,
//! a real WebSocket and real HTTP.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use traider_testkit::daemon as common;

use common::*;
use serde_json::Value;
use traider_core::input::FeedControl;
use traider_testkit::watch::{DEADLINE, JournalWatch};

fn kinds(records: &[Value], kind: &str) -> usize {
    records.iter().filter(|r| r["kind"] == kind).count()
}

/// A paper config whose taker trades within seconds of the recording.
fn eager_taker_config(dir: &std::path::Path) -> std::path::PathBuf {
    test_paper_config(
        dir,
        &[
            ("kind = \"market_maker\"", "kind = \"taker\""),
            ("imbalance_bps = 3000", "imbalance_bps = 1000"),
            ("flow_bps = 6000", "flow_bps = 2000"),
            ("cooldown_ms = 3000", "cooldown_ms = 250"),
        ],
    )
}

// Proves the daemon paper-trades over a real WebSocket: instrument rules over HTTP, market
// data over the socket, orders and fills in the journal, P&L reported at Ctrl-C, and the
// journal left behind reads cleanly with `journal dump`.
#[test]
fn paper_trades_against_the_replay_server() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_replay_server(&capture, &["--pace", "recorded", "--speed", "4"]);
    let config = eager_taker_config(dir.path());
    let journal = dir.path().join("journal");
    let mut daemon = start_daemon(&config, port, &journal);
    let traded = JournalWatch::new(&journal).wait_count(&mut daemon, "fill", 2);
    let output = interrupt(daemon);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        traded,
        "no fills within {DEADLINE:?}; daemon log:\n{stderr}"
    );
    assert!(
        output.status.success(),
        "Ctrl-C is a clean stop: {}\n{stderr}",
        output.status
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("final summary is JSON");
    assert_eq!(summary["mode"], "paper");
    assert!(summary["orders"].as_u64().unwrap() >= 2);
    assert!(summary["fills"].as_u64().unwrap() >= 2);
    assert!(
        summary["pnl"]["net"].is_string(),
        "P&L is reported: {}",
        summary["pnl"]
    );
    assert!(summary["positions"]["BTC-USD"]["position"].is_string());
    assert_eq!(summary["gaps"], 0);
    assert!(
        stderr.contains("stopping"),
        "the daemon logged its shutdown"
    );

    let records = dump(&journal);
    assert_eq!(
        records.len() as u64,
        summary["journal"]["records"].as_u64().unwrap(),
        "every record reads back"
    );
    assert_eq!(kinds(&records, "products"), 1);
    // Every frame the daemon received is journaled (how many arrived before the fills
    // depends on the machine's speed).
    assert!(kinds(&records, "md_frame") > 20);
    assert_eq!(
        kinds(&records, "md_frame") as u64,
        summary["frames"].as_u64().unwrap()
    );
    assert_eq!(
        kinds(&records, "fill"),
        summary["fills"].as_u64().unwrap() as usize
    );
    assert_eq!(
        kinds(&records, "order_new"),
        summary["orders"].as_u64().unwrap() as usize
    );
    let fill_ids: Vec<_> = records
        .iter()
        .filter(|r| r["kind"] == "fill")
        .map(|r| r["detail"]["client_order_id"].clone())
        .collect();
    for id in fill_ids {
        assert!(
            records
                .iter()
                .any(|r| r["kind"] == "order_new" && r["detail"]["client_order_id"] == id),
            "each fill belongs to a journaled order"
        );
    }
}

// Proves the gap path over a real WebSocket: a dropped frame is detected as a gap, both books
// go stale, the client resubscribes, fresh snapshots rebuild them, and no order is sent for a
// book while it is stale.
#[test]
fn dropped_frame_resubscribes_and_rebuilds() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_replay_server(
        &capture,
        &["--pace", "recorded", "--speed", "4", "--drop-seq", "300"],
    );
    let config = test_paper_config(
        dir.path(),
        &[("requote_interval_ms = 1000", "requote_interval_ms = 100")],
    );
    let journal = dir.path().join("journal");
    let mut daemon = start_daemon(&config, port, &journal);
    let rebuilt = JournalWatch::new(&journal).wait_for(&mut daemon, |records| {
        records
            .iter()
            .position(|r| r.is("feed_gap"))
            .is_some_and(|gap| {
                let after = &records[gap..];
                after.iter().any(|r| r.is_feed(FeedControl::Resubscribed))
                    && after.iter().filter(|r| r.is("book_synced")).count() >= 2
            })
    });
    let output = interrupt(daemon);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        rebuilt,
        "books were not rebuilt after the gap; daemon log:\n{stderr}"
    );
    assert!(output.status.success(), "{stderr}");
    let records = dump(&journal);
    let gap = records
        .iter()
        .position(|r| r["kind"] == "feed_gap")
        .unwrap();
    assert_eq!(
        records[gap]["detail"]["got"].as_u64().unwrap(),
        records[gap]["detail"]["expected"].as_u64().unwrap() + 1
    );
    let after = &records[gap..];
    assert!(
        after
            .iter()
            .any(|r| r["kind"] == "feed" && r["detail"]["control"] == "resubscribed"),
        "the client resubscribed"
    );
    for instrument in [0, 1] {
        let of =
            |r: &&Value, kind: &str| r["kind"] == kind && r["detail"]["instrument"] == instrument;
        let stale = after
            .iter()
            .position(|r| of(&r, "book_stale"))
            .expect("book went stale");
        let synced = after
            .iter()
            .position(|r| of(&r, "book_synced"))
            .expect("book was rebuilt");
        assert!(stale < synced);
        let orders_while_stale = after[stale..synced]
            .iter()
            .filter(|r| of(r, "order_new"))
            .count();
        assert_eq!(
            orders_while_stale, 0,
            "no order for instrument {instrument} while its book is stale"
        );
    }
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["gaps"], 1);
}

/// A position as `summary` prints it ("-0.00005"), in lots of 1e-8: the base increment of
/// both recorded products.
fn position_lots(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    assert!(frac.len() <= 8, "{text} is finer than a lot");
    let digits = format!("{whole}{frac:0<8}");
    digits.parse().expect("position is a decimal")
}

// Proves restart by replay for the daemon: `traiderd run` killed with SIGKILL and started
// again on the same journal rebuilds orders, fills and positions from it before trading
// on, so its final report covers both runs (fills and orders equal to the journal's,
// per-instrument position equal to the signed sum of every journaled fill), and no client
// order id is decided twice across the restart.
#[test]
fn a_killed_daemon_restarts_from_its_journal() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_replay_server(&capture, &["--pace", "recorded", "--speed", "4"]);
    let config = eager_taker_config(dir.path());
    let journal = dir.path().join("journal");
    let mut daemon = start_daemon(&config, port, &journal);
    let traded = JournalWatch::new(&journal).wait_count(&mut daemon, "fill", 2);
    let mut first = daemon.into_child();
    let _ = first.kill(); // SIGKILL: no drain, no flush
    let first = first.wait_with_output().unwrap();
    assert!(
        traded,
        "no fills within {DEADLINE:?}; daemon log:\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let verify = traiderd()
        .args(["journal", "verify"])
        .arg(&journal)
        .output()
        .unwrap();
    assert!(
        matches!(verify.status.code(), Some(0 | 2)),
        "after SIGKILL the journal verifies (or ends in a torn tail): {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // What the killed run journaled (a torn tail, if any, is not a record yet).
    let mut killed = JournalWatch::new(&journal);
    killed.catch_up();
    let fills_before = killed.count("fill");

    let mut daemon = start_daemon(&config, port, &journal);
    let traded_again =
        JournalWatch::new(&journal).wait_count(&mut daemon, "fill", fills_before + 1);
    let output = interrupt(daemon);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(traded_again, "no new fills after the restart:\n{stderr}");
    assert!(output.status.success(), "{}\n{stderr}", output.status);
    assert!(
        stderr.contains("state rebuilt from the journal"),
        "{stderr}"
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("final summary is JSON");
    assert!(summary["resumed"]["inputs"].as_u64().unwrap() > 0);

    let records = dump(&journal);
    assert_eq!(
        summary["fills"].as_u64(),
        Some(kinds(&records, "fill") as u64),
        "the report counts the fills of both runs"
    );
    assert_eq!(
        summary["orders"].as_u64(),
        Some(kinds(&records, "order_new") as u64)
    );
    let ids: Vec<String> = records
        .iter()
        .filter(|r| r["kind"] == "order_new")
        .map(|r| r["detail"]["client_order_id"].to_string())
        .collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a client order id was decided twice"
    );

    for (index, product) in ["BTC-USD", "ETH-USD"].iter().enumerate() {
        let fills: Vec<&Value> = records
            .iter()
            .filter(|r| r["kind"] == "fill" && r["detail"]["instrument"] == index)
            .collect();
        let signed: i64 = fills
            .iter()
            .map(|f| {
                let lots = f["detail"]["size_lots"].as_i64().unwrap();
                if f["detail"]["side"] == "buy" {
                    lots
                } else {
                    -lots
                }
            })
            .sum();
        let position = &summary["positions"][product];
        assert_eq!(
            position["fills"].as_u64(),
            Some(fills.len() as u64),
            "{product}"
        );
        assert_eq!(
            position_lots(position["position"].as_str().unwrap()),
            signed,
            "{product}: position is the sum of every journaled fill"
        );
    }
}
