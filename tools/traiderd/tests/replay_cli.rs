//! `traiderd replay` end to end: the real binary on the real recorded session.

use traider_testkit::daemon as common;

use common::*;
use serde_json::Value;

fn book<'a>(summary: &'a Value, product: &str) -> &'a Value {
    &summary["books"][product]
}

// Proves a replay of the recorded session ends at the documented books (SOURCES.md oracle),
// decodes every frame, sees no gap, and reports per-stage latency percentiles.
#[test]
fn replay_ends_at_the_documented_books() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let summary = summary(&replay(
        &config("replay.toml"),
        &capture,
        &dir.path().join("j"),
    ));
    assert_eq!(summary["frames"], 1030);
    assert_eq!(summary["gaps"], 0);
    assert!(
        summary["decode_errors"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 0)
    );
    let btc = book(&summary, "BTC-USD");
    assert_eq!(
        (btc["best_bid"].as_str(), btc["best_bid_size"].as_str()),
        (Some("65083.66"), Some("0.23929087"))
    );
    assert_eq!(
        (btc["best_ask"].as_str(), btc["best_ask_size"].as_str()),
        (Some("65083.67"), Some("0.29040961"))
    );
    assert_eq!(
        (btc["bid_levels"].as_u64(), btc["ask_levels"].as_u64()),
        (Some(18_769), Some(27_238))
    );
    let eth = book(&summary, "ETH-USD");
    assert_eq!(
        (eth["best_bid"].as_str(), eth["best_bid_size"].as_str()),
        (Some("1919.28"), Some("0.14476526"))
    );
    assert_eq!(
        (eth["best_ask"].as_str(), eth["best_ask_size"].as_str()),
        (Some("1919.38"), Some("0.01194407"))
    );
    assert_eq!(
        (eth["bid_levels"].as_u64(), eth["ask_levels"].as_u64()),
        (Some(6_925), Some(16_403))
    );
    assert_eq!(btc["stale"], false);
    assert_eq!(eth["stale"], false);
    for stage in ["decode", "book", "signal", "risk", "order", "tick_to_order"] {
        let p = &summary["latency_ns"][stage];
        assert!(
            p["p50"].as_u64().unwrap() <= p["p99"].as_u64().unwrap(),
            "{stage}: {p}"
        );
        assert!(
            p["p99"].as_u64().unwrap() <= p["p999"].as_u64().unwrap(),
            "{stage}: {p}"
        );
    }
    assert!(summary["latency_ns"]["decode"]["count"].as_u64().unwrap() >= 1030);
    for key in ["orders", "fills", "rejects", "positions", "pnl"] {
        assert!(!summary[key].is_null(), "summary has {key}");
    }
}

// Proves determinism: two replays of one capture write byte-identical journals and report
// identical trading results.
#[test]
fn two_replays_write_identical_journals() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let first = summary(&replay(&config("replay.toml"), &capture, &a));
    let second = summary(&replay(&config("replay.toml"), &capture, &b));
    let (files_a, files_b) = (journal_files(&a), journal_files(&b));
    assert!(!files_a.is_empty());
    assert_eq!(files_a.len(), files_b.len());
    for ((name_a, bytes_a), (name_b, bytes_b)) in files_a.iter().zip(&files_b) {
        assert_eq!(name_a, name_b);
        assert!(bytes_a == bytes_b, "{name_a} differs between two replays");
    }
    for key in [
        "orders",
        "fills",
        "cancels",
        "rejects",
        "positions",
        "pnl",
        "books",
    ] {
        assert_eq!(first[key], second[key], "{key}");
    }
    assert!(
        first["orders"].as_u64().unwrap() > 0,
        "the default strategy trades on the recording"
    );
}

// Proves malformed, unknown and truncated frames are counted, never stop the hot thread, and
// lose nothing: the books still end at the oracle and the bad frames are in the journal.
#[test]
fn bad_frames_are_counted_and_survived() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let mut lines = capture_lines();
    let recv = |data: &str| {
        serde_json::json!({"t": "recv", "conn": "COINBASE.ws.2", "ts": 1786309560.5, "data": data})
            .to_string()
    };
    let garbage = [
        recv("{\"channel\":\"l2_data\",\"sequence_num\":"), // truncated JSON
        recv("not json at all"),
        recv("{\"channel\":\"brand_new_channel\",\"events\":[{\"x\":1}]}"), // unknown channel
        recv(
            "{\"channel\":\"l2_data\",\"events\":[{\"type\":\"update\",\"product_id\":\"BTC-USD\",\"updates\":[{\"side\":\"sideways\",\"price_level\":\"1\",\"new_quantity\":\"1\"}]}]}",
        ),
        recv(
            "{\"channel\":\"l2_data\",\"events\":[{\"type\":\"update\",\"product_id\":\"BTC-USD\",\"updates\":[{\"side\":\"bid\",\"price_level\":\"1.001\",\"new_quantity\":\"1\"}]}]}",
        ),
        recv("{\"type\":\"error\",\"message\":\"authentication failure\"}"),
        "{\"t\":\"recv\",\"conn\":".to_owned(), // a damaged capture line
    ];
    let middle = lines.len() / 2;
    for (offset, line) in garbage.iter().enumerate() {
        lines.insert(middle + offset, line.clone());
    }
    let modified = dir.path().join("with-garbage.jsonl");
    write_lines(&modified, &lines);
    let journal = dir.path().join("j");
    let summary = summary(&replay(&config("replay.toml"), &modified, &journal));
    let errors = &summary["decode_errors"];
    assert_eq!(errors["json"], 2);
    assert_eq!(errors["shape"], 1);
    assert_eq!(errors["number"], 1);
    let clean = common::summary(&replay(
        &config("replay.toml"),
        &capture,
        &dir.path().join("clean"),
    ));
    let ignored = |s: &Value| s["ignored"].as_u64().unwrap();
    assert_eq!(
        ignored(&summary),
        ignored(&clean) + 1,
        "the unknown channel is counted as ignored"
    );
    assert_eq!(summary["capture"]["bad_lines"], 1);
    assert_eq!(summary["frames"], 1030 + 6);
    assert_eq!(summary["gaps"], 0);
    assert_eq!(book(&summary, "BTC-USD")["best_bid"], "65083.66");
    assert_eq!(book(&summary, "ETH-USD")["best_ask"], "1919.38");
    let records = dump(&journal);
    let frames = records.iter().filter(|r| r["kind"] == "md_frame").count();
    assert_eq!(frames, 1030 + 6, "every input, good or bad, is journaled");
    let failures = records
        .iter()
        .filter(|r| r["kind"] == "decode_failed")
        .count();
    assert_eq!(failures, 4);
}

// Proves a missing frame is a gap: both books go stale at it and no order is sent after it
// (the capture never resubscribes, so the books stay stale to the end).
#[test]
fn dropped_frame_is_a_gap_and_stops_orders() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = capture_lines();
    let victim = lines
        .iter()
        .position(|l| l.contains("\\\"sequence_num\\\":500,"))
        .expect("frame 500 exists");
    lines.remove(victim);
    let modified = dir.path().join("dropped.jsonl");
    write_lines(&modified, &lines);
    let journal = dir.path().join("j");
    let summary = summary(&replay(&config("replay.toml"), &modified, &journal));
    assert_eq!(summary["gaps"], 1);
    assert_eq!(book(&summary, "BTC-USD")["stale"], true);
    assert_eq!(book(&summary, "ETH-USD")["stale"], true);
    let records = dump(&journal);
    let gap = records
        .iter()
        .position(|r| r["kind"] == "feed_gap")
        .expect("gap journaled");
    assert_eq!(records[gap]["detail"]["expected"], 500);
    assert_eq!(records[gap]["detail"]["got"], 501);
    let stale: Vec<_> = records[gap..]
        .iter()
        .filter(|r| r["kind"] == "book_stale")
        .collect();
    assert_eq!(stale.len(), 2, "both books of the connection go stale");
    assert!(
        records[..gap].iter().any(|r| r["kind"] == "order_new"),
        "orders flowed before the gap"
    );
    assert!(
        !records[gap..].iter().any(|r| r["kind"] == "order_new"),
        "no order after the gap"
    );
}

// Proves a config with a bad field fails at start, names the field, and trades nothing.
#[test]
fn bad_config_fails_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config("replay.toml")).unwrap();
    for (from, to, field) in [
        (
            "price_collar_bps = 50",
            "price_collar_bps = -3",
            "risk.price_collar_bps",
        ),
        (
            "order_size = \"0.0001\"",
            "order_size = \"0.000000001\"",
            "instruments[0].order_size",
        ),
    ] {
        // The second case is checked against the products in the capture.
        let capture = capture();
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let output = replay(&bad, &capture, &dir.path().join("j"));
        assert!(!output.status.success(), "{to} must be refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(field), "stderr names {field}: {stderr}");
        assert!(output.stdout.is_empty(), "no summary for a refused config");
    }
}

// Proves each flush policy runs end to end and changes only durability, never the outcome:
// `interval_ms` and `durable` journals are byte-identical to the `none` one, and with
// `durable` the order sink waits for group commits before it releases commands (at least
// one, never more than one per command, none held back), while `none` waits for none.
#[test]
fn flush_policies_change_durability_not_the_journal() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config("replay.toml")).unwrap();
    let mut runs = Vec::new();
    for policy in ["none", "interval_ms", "durable"] {
        let path = dir.path().join(format!("{policy}.toml"));
        let with_policy = text.replacen(
            "segment_mb = 256",
            &format!("segment_mb = 256\nflush = \"{policy}\"\nflush_interval_ms = 5"),
            1,
        );
        std::fs::write(&path, with_policy).unwrap();
        let journal = dir.path().join(policy);
        let summary = summary(&replay(&path, &capture, &journal));
        runs.push((policy, summary, journal_files(&journal)));
    }
    let (_, none, none_files) = &runs[0];
    for (policy, summary, files) in &runs[1..] {
        assert_eq!(summary["state_digest"], none["state_digest"], "{policy}");
        assert!(files == none_files, "{policy}: journal bytes differ");
    }
    assert_eq!(none["order_sink"]["group_commits"], 0);
    let durable = &runs[2].1["order_sink"];
    let commands = durable["commands"].as_u64().unwrap();
    let commits = durable["group_commits"].as_u64().unwrap();
    assert!(commands > 0, "the recording makes orders: {durable}");
    assert!(
        (1..=commands).contains(&commits),
        "one group commit covers one or more commands: {durable}"
    );
    assert_eq!(durable["held"], 0);
}
