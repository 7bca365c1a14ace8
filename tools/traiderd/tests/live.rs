//! `traiderd run` in live mode against `coinbase-sim`, over real TCP, real WebSockets
//! (market data and the user channel) and real HTTP, with a real key file: every request
//! signed, every token verified by the venue.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use traider_testkit::daemon as common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use traider_core::decision::Decision;
use traider_core::num::Money;
use traider_core::sim::VenueReject;
use traider_core::venue::GateCause;
use traider_testkit::bins::Bin;
use traider_testkit::fixtures::{decimal, ed25519_key_file};
use traider_testkit::watch::{DEADLINE, JournalWatch, Seen};

/// A fresh Ed25519 CDP key file (mode 600; random, so no key material is in the repo).
fn key_file(dir: &Path) -> PathBuf {
    ed25519_key_file(dir, "organizations/test/apiKeys/live")
}

/// Starts `coinbase-sim`; returns it and its `127.0.0.1:PORT`.
fn start_sim(capture: &Path, key: &Path, extra: &[&str]) -> (Proc, String) {
    common::start_sim(Bin::CoinbaseSim.command(), capture, key, extra)
}

/// How many of `records` are of kind `name`.
fn count(records: &[Seen], name: &str) -> usize {
    records.iter().filter(|r| r.is(name)).count()
}

/// How many times the journal's trading gate opened.
fn gate_openings(records: &[Seen]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r.decision, Some(Decision::TradingGate { open: true, .. })))
        .count()
}

/// Whether the venue has reported `fills` fills and accepted `orders` orders, as the
/// daemon journaled them.
fn traded(records: &[Seen], fills: usize, orders: usize) -> bool {
    count(records, "fill") >= fills && count(records, "order_accepted") >= orders
}

/// Whether the journal rejects the order `client_order_id` (the venue's text) as `not_sent`.
fn rejected_not_sent(records: &[Seen], client_order_id: &str) -> bool {
    records.iter().any(|r| {
        matches!(r.decision, Some(Decision::OrderRejected { id, reason: VenueReject::NotSent })
            if serde_json::json!(id) == client_order_id)
    })
}

/// `traiderd run` in live mode against the sim at `addr`.
fn start_live(config: &Path, addr: &str, key: &Path, journal: &Path) -> Proc {
    let child = traiderd()
        .args(["run", "--json", "--config"])
        .arg(config)
        .arg("--journal-dir")
        .arg(journal)
        .env("TRAIDER_REST_URL", format!("http://{addr}"))
        .env("TRAIDER_WS_URL", format!("ws://{addr}"))
        .env("TRAIDER_USER_WS_URL", format!("ws://{addr}"))
        .env("TRAIDER_KEY_FILE", key)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("traiderd starts");
    proc_of(child)
}

/// The sim's inspection endpoint `GET /sim/{what}`.
fn sim(addr: &str, what: &str) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let text = reqwest::get(format!("http://{addr}/sim/{what}"))
            .await
            .expect("sim answers")
            .text()
            .await
            .expect("sim answers text");
        serde_json::from_str(&text).expect("sim answers JSON")
    })
}

/// A live config for tests: quick polling, a short dead-man limit.
fn live_config(dir: &Path, replacements: &[(&str, &str)]) -> PathBuf {
    let mut all = vec![
        ("fills_poll_ms = 1000", "fills_poll_ms = 250"),
        ("deadman_ms = 10000", "deadman_ms = 4000"),
        ("interval_s = 5", "interval_s = 0"),
    ];
    all.extend_from_slice(replacements);
    test_config("live.toml", dir, &all)
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// `price × size` of two decimal texts, exactly, as [`Money`] (24 decimal places).
fn notional(price: &str, size: &str) -> Money {
    let ((p, p_scale), (s, s_scale)) = (decimal(price), decimal(size));
    Money(p * s * 10_i128.pow(24 - p_scale - s_scale))
}

/// One product's totals over the venue's fills.
#[derive(Clone, Copy, Debug, Default)]
struct VenueBook {
    /// Signed base position.
    position: Money,
    commission: Money,
    /// Cash the fills moved before fees: sells' notional minus buys'.
    cash: Money,
}

/// Per product, the totals of the venue's fills.
fn venue_books(fills: &[Value]) -> BTreeMap<String, VenueBook> {
    let mut books: BTreeMap<String, VenueBook> = BTreeMap::new();
    for fill in fills {
        let entry = books
            .entry(fill["product_id"].as_str().unwrap().to_owned())
            .or_default();
        let (price, size) = (
            fill["price"].as_str().unwrap(),
            fill["size"].as_str().unwrap(),
        );
        match fill["side"].as_str().unwrap() {
            "BUY" => {
                entry.position += money(size);
                entry.cash -= notional(price, size);
            }
            _ => {
                entry.position -= money(size);
                entry.cash += notional(price, size);
            }
        }
        entry.commission += money(fill["commission"].as_str().unwrap());
    }
    books
}

/// Each product's position, fees and P&L in the daemon's summary equal what the venue's
/// fills add up to: position = Σ signed sizes, fees = Σ commissions, and realized P&L
/// minus the open position's cost basis = the cash the fills moved (the accounting
/// identity that holds whatever order the fills were applied in).
fn assert_books_match(summary: &Value, fills: &[Value], case: &str) {
    for (product, venue) in venue_books(fills) {
        let reported = &summary["positions"][&product];
        let field = |name: &str| money(reported[name].as_str().unwrap());
        assert_eq!(
            field("position"),
            venue.position,
            "{case}: {product} position: {reported}"
        );
        assert_eq!(
            field("fees"),
            venue.commission,
            "{case}: {product} fees: {reported}"
        );
        assert_eq!(
            field("realized_pnl") - field("cost_basis"),
            venue.cash,
            "{case}: {product} P&L against the venue's fills: {reported}"
        );
    }
}

/// Fails when `text` holds the key file's secret (its base64 text or raw bytes).
fn assert_no_secret(key: &Path, text: &[u8], what: &str) {
    use base64::Engine as _;
    let file: Value = serde_json::from_str(&std::fs::read_to_string(key).unwrap()).unwrap();
    let secret = file["privateKey"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .unwrap();
    let contains = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(secret.as_bytes()), "{what} holds the private key");
    assert!(!contains(&raw), "{what} holds the private key's bytes");
}

/// The journal's records of one kind (`traiderd journal dump --kind`).
fn dump_kind(dir: &Path, kind: &str) -> Vec<Value> {
    if !dir.join("seg-000000.tj").exists() {
        return Vec::new();
    }
    let output = traiderd()
        .args(["journal", "dump", "--json", "--kind", kind])
        .arg(dir)
        .output()
        .expect("dump runs");
    assert!(output.status.success(), "dump: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("dump line is JSON"))
        .collect()
}

// Proves live trading end to end: the daemon loads a mode-600 key, reconciles an empty
// account, opens the gate, and market-makes against the sim's replayed market; orders are
// created, filled by replayed prints, edited (requotes) and cancelled (every open order at
// Ctrl-C). Every request's token verified at the venue (no 401, no 429); no client order id
// was created twice; the journal holds as many fills as the venue made, with the same total
// fees; and each position and its fees equal the sums over the venue's fills exactly.
#[test]
fn live_trading_against_the_sim() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (_sim, addr) = start_sim(&capture, &key, &["--speed", "2", "--loop"]);
    let config = live_config(dir.path(), &[]);
    let journal = dir.path().join("journal");
    let mut daemon = start_live(&config, &addr, &key, &journal);
    // An edit the venue applied and two fills, as the daemon journals the venue's answers.
    let traded = JournalWatch::new(&journal).wait_for(&mut daemon, |records| {
        let edited = records
            .iter()
            .any(|r| matches!(r.decision, Some(Decision::EditDone { applied: true, .. })));
        edited && count(records, "fill") >= 2
    });
    let output = interrupt(daemon);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        traded,
        "no fills and edits within {DEADLINE:?}; daemon log:\n{stderr}"
    );
    assert!(
        output.status.success(),
        "clean stop: {}\n{stderr}",
        output.status
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("summary is JSON");
    assert_eq!(summary["mode"], "live");
    assert_eq!(
        summary["orders_open"], 0,
        "every order cancelled at stop: {summary}"
    );

    // The venue's view.
    let requests = sim(&addr, "requests");
    let statuses = &requests["by_status"];
    assert!(
        statuses.get("401").is_none(),
        "a token did not verify: {statuses}"
    );
    assert_eq!(requests["rate_limited"], 0, "no 429 in normal operation");
    let orders = sim(&addr, "orders")["orders"].as_array().unwrap().clone();
    let ids: BTreeSet<&str> = orders
        .iter()
        .map(|o| o["client_order_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        orders.len(),
        "a client order id was created twice"
    );
    assert!(
        orders.iter().all(|o| o["status"] != "OPEN"),
        "an order is still open at the venue after the daemon stopped"
    );
    assert!(
        orders.iter().any(|o| o["status"] == "CANCELLED"),
        "the quotes resting at Ctrl-C were cancelled"
    );
    let fills = sim(&addr, "fills")["fills"].as_array().unwrap().clone();
    assert!(fills.len() >= 2);

    // As many fills in the journal as at the venue, with the same fees.
    let journal_fills = dump_kind(&journal, "fill");
    let journal_fills: Vec<&Value> = journal_fills.iter().collect();
    assert_eq!(journal_fills.len(), fills.len(), "fills lost or doubled");
    let venue_fees: Money = fills
        .iter()
        .map(|f| money(f["commission"].as_str().unwrap()))
        .fold(Money::ZERO, |a, b| a + b);
    let journal_fees: Money = journal_fills
        .iter()
        .map(|f| money(f["detail"]["fee"].as_str().unwrap()))
        .fold(Money::ZERO, |a, b| a + b);
    assert_eq!(journal_fees, venue_fees);

    // Requotes were edits the venue applied, and the journal knows each answer.
    let edits = dump_kind(&journal, "edit_done");
    assert!(
        edits.iter().any(|e| e["detail"]["applied"] == true),
        "an edit was applied: {edits:?}"
    );

    // Positions, fees and P&L equal what the venue's fills add up to.
    assert_books_match(&summary, &fills, "live");

    // The private key is nowhere: not in the daemon's log or summary, not in the journal.
    assert_no_secret(&key, &output.stderr, "the daemon's log");
    assert_no_secret(&key, &output.stdout, "the summary");
    for (name, bytes) in journal_files(&journal) {
        assert_no_secret(&key, &bytes, &name);
    }
}

// Proves a key file readable by others is refused before anything else happens, with a
// message that says how to fix it, and that the key never appears in the log.
#[test]
fn a_loose_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = live_config(dir.path(), &[]);
    let output = start_live(&config, "127.0.0.1:9", &key, &dir.path().join("journal"))
        .into_child()
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("chmod 600"), "{stderr}");
    let secret: Value = serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert!(!stderr.contains(secret["privateKey"].as_str().unwrap()));
}

/// What a run left at the venue and in the journal.
struct Outcome {
    summary: Value,
    stderr: String,
    orders: Vec<Value>,
    fills: Vec<Value>,
    journal_fills: Vec<Value>,
    /// Every request the venue logged.
    requests: Vec<Value>,
    /// Requests the venue logged that it answered with an injected fault.
    faulted: usize,
}

fn faulted(addr: &str) -> usize {
    sim(addr, "requests")["requests"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|r| !r["fault"].is_null()).count())
}

/// Runs the daemon against a sim with `sim_flags` until `until` holds for its journal (or
/// the daemon exits, or [`DEADLINE`] passes), then stops it with Ctrl-C.
fn run_against(
    capture: &Path,
    dir: &Path,
    sim_flags: &[&str],
    config: &[(&str, &str)],
    until: impl FnMut(&[Seen]) -> bool,
) -> Outcome {
    let key = key_file(dir);
    let mut flags = vec!["--speed", "2", "--loop"];
    flags.extend_from_slice(sim_flags);
    let (_sim, addr) = start_sim(capture, &key, &flags);
    let config = live_config(dir, config);
    let journal = dir.join("journal");
    let mut daemon = start_live(&config, &addr, &key, &journal);
    let reached = JournalWatch::new(&journal).wait_for(&mut daemon, until);
    let output = interrupt(daemon);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        reached,
        "the run never reached its goal; daemon log:\n{stderr}"
    );
    assert!(
        output.status.success(),
        "clean stop: {}\n{stderr}",
        output.status
    );
    Outcome::of(&output, stderr, &addr, &journal)
}

impl Outcome {
    /// What a stopped daemon left: its summary, and the venue's and the journal's records.
    fn of(output: &std::process::Output, stderr: String, addr: &str, journal: &Path) -> Self {
        Self {
            summary: serde_json::from_slice(&output.stdout).expect("summary is JSON"),
            stderr,
            orders: sim(addr, "orders")["orders"].as_array().unwrap().clone(),
            fills: sim(addr, "fills")["fills"].as_array().unwrap().clone(),
            journal_fills: dump_kind(journal, "fill"),
            requests: requests(addr),
            faulted: faulted(addr),
        }
    }
}

/// The invariants every run must keep, faults or not: no client order id created twice at
/// the venue, nothing left open there, every venue fill in the journal exactly once (same
/// count, same fees), and each position equal to the sum of the venue's fills.
fn assert_consistent(run: &Outcome, case: &str) {
    let ids: BTreeSet<&str> = run
        .orders
        .iter()
        .map(|o| o["client_order_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        run.orders.len(),
        "{case}: a client order id was created twice"
    );
    assert!(
        run.orders.iter().all(|o| o["status"] != "OPEN"),
        "{case}: an order is still open at the venue"
    );
    assert_eq!(
        run.journal_fills.len(),
        run.fills.len(),
        "{case}: fills lost or doubled\n{}",
        run.stderr
    );
    let fees = |fills: &[Value], field: &dyn Fn(&Value) -> String| {
        fills
            .iter()
            .map(|f| money(&field(f)))
            .fold(Money::ZERO, |a, b| a + b)
    };
    assert_eq!(
        fees(&run.journal_fills, &|f| f["detail"]["fee"]
            .as_str()
            .unwrap()
            .to_owned()),
        fees(&run.fills, &|f| f["commission"]
            .as_str()
            .unwrap()
            .to_owned()),
        "{case}: fees differ"
    );
    assert_books_match(&run.summary, &run.fills, case);
    assert_eq!(run.summary["orders_open"], 0, "{case}");
}

// Proves the daemon keeps its books straight through each injected venue fault: a create
// answered 429, 503 or not at all (the order exists; the re-send with the same client order
// id finds it), a create dropped unanswered without effect, a cancel answered 500, the user
// channel and market data disconnected, and a sequence gap on the user channel. After
// each: no duplicate order at the venue, no lost or doubled fill, position = sum of fills.
#[test]
fn venue_faults_lose_nothing_and_duplicate_nothing() {
    let capture = capture();
    let cases: &[(&str, &[&str])] = &[
        ("create 429", &["--rest-fault", "create:2:429"]),
        ("create 503", &["--rest-fault", "create:3:503"]),
        ("create timeout", &["--rest-fault", "create:2:timeout"]),
        ("create dropped", &["--rest-fault", "create:3:drop"]),
        ("cancel 500", &["--rest-fault", "cancel:1:500"]),
        ("user disconnect", &["--ws-fault", "user:disconnect:4"]),
        ("user gap", &["--ws-fault", "user:skip:5"]),
        ("market disconnect", &["--ws-fault", "market:disconnect:60"]),
    ];
    for (case, flags) in cases {
        let dir = tempfile::tempdir().unwrap();
        let run = run_against(
            &capture,
            dir.path(),
            flags,
            &[("request_timeout_ms = 5000", "request_timeout_ms = 1500")],
            |records| traded(records, 2, 5),
        );
        assert_consistent(&run, case);
        let desk = &run.summary["desk"];
        if flags[0] == "--rest-fault" {
            assert_eq!(run.faulted, 1, "{case}: the fault was injected once");
        }
        if case.starts_with("create") {
            assert!(
                desk["create_retries"].as_u64().unwrap() >= 1,
                "{case}: the create was re-sent: {desk}"
            );
        }
    }
}

// Proves the dead-man switch: when the user channel stalls (socket open, nothing sent) past
// deadman_ms, trading stops and every open order is cancelled at the venue; when the channel
// is back (a reconnect), trading resumes. The journal records the gate closing with its
// cause and the cancels it caused.
#[test]
fn dead_man_switch_cancels_open_orders_and_resumes() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let run = run_against(
        &capture,
        dir.path(),
        &["--ws-fault", "user:stall:3"],
        &[
            ("deadman_ms = 4000", "deadman_ms = 2000"),
            ("heartbeat_timeout_ms = 5000", "heartbeat_timeout_ms = 6000"),
        ],
        |records| gate_openings(records) >= 2,
    );
    assert_consistent(&run, "dead man");
    let gates = dump_kind(&journal, "trading_gate");
    let halt = gates
        .iter()
        .position(|g| g["detail"]["cause"] == "user_channel_silent")
        .unwrap_or_else(|| panic!("no dead-man halt in {gates:?}\n{}", run.stderr));
    assert!(
        gates[halt + 1..]
            .iter()
            .any(|g| g["detail"]["cause"] == "feeds_healthy"),
        "trading resumed once the channel was back: {gates:?}"
    );
    let cancels = dump_kind(&journal, "cancel_request");
    assert!(
        cancels.iter().any(|c| c["detail"]["reason"]
            == serde_json::json!({"kind": "halt", "cause": "user_channel_silent"})),
        "the halt cancelled open orders: {cancels:?}"
    );
    assert_eq!(run.summary["dead_man"]["halts"], 1);
}

// Proves restart safety: the daemon is SIGKILLed mid-session and started again on the same
// journal against the same venue. Reconciliation adopts or resolves what the journal
// holds, and the final state keeps every invariant across both runs: no duplicate client
// order id, no lost fill, position = sum of the venue's fills.
#[test]
fn a_killed_live_daemon_reconciles_on_restart() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (_sim, addr) = start_sim(&capture, &key, &["--speed", "2", "--loop"]);
    let config = live_config(dir.path(), &[]);
    let journal = dir.path().join("journal");
    let mut first = start_live(&config, &addr, &key, &journal);
    let mut watch = JournalWatch::new(&journal);
    assert!(
        watch.wait_for(&mut first, |records| traded(records, 1, 2)),
        "first run traded"
    );
    let mut child = first.into_child();
    child.kill().unwrap();
    child.wait().unwrap();
    let open_at_kill = sim(&addr, "orders")["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "OPEN")
        .count();

    // What the killed run journaled (a torn tail, if any, is not a record yet); the
    // restarted daemon appends after it.
    watch.catch_up();
    let fills_before = watch.count("fill");
    let orders_before = watch.count("order_accepted");
    let mut second = start_live(&config, &addr, &key, &journal);
    let mut watch = JournalWatch::new(&journal);
    assert!(
        watch.wait_for(&mut second, |records| traded(
            records,
            fills_before + 1,
            orders_before + 2
        )),
        "second run traded"
    );
    let output = interrupt(second);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "clean stop: {stderr}");
    let run = Outcome::of(&output, stderr, &addr, &journal);
    assert_consistent(&run, "kill and restart");
    let reconciled = &run.summary["reconciliation"];
    assert_eq!(
        reconciled["adopted"].as_u64().unwrap() + reconciled["not_sent"].as_u64().unwrap(),
        reconciled["engine_live"].as_u64().unwrap(),
        "every order the journal held live was resolved: {reconciled}"
    );
    assert!(
        reconciled["engine_live"].as_u64().unwrap() as usize >= open_at_kill,
        "the journal knew every order open at the venue when it was killed: {reconciled}"
    );
}

/// The requests the venue logged (`GET /sim/requests`).
fn requests(addr: &str) -> Vec<Value> {
    sim(addr, "requests")["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The client order id of the first create the venue lost, once it has lost one.
fn lost_create(addr: &str) -> Option<String> {
    requests(addr)
        .iter()
        .find(|r| r["endpoint"] == "create" && r["fault"] == "lost")
        .map(|r| r["client_order_id"].as_str().unwrap().to_owned())
}

/// The journal's decisions of `kind` about `client_order_id`.
fn decisions_of(journal: &Path, kind: &str, client_order_id: &str) -> Vec<Value> {
    dump_kind(journal, kind)
        .into_iter()
        .filter(|d| d["detail"]["client_order_id"] == client_order_id)
        .collect()
}

// Proves a create that never reaches the venue (every attempt, re-sends included, lost
// without an answer) is neither assumed dead nor alive: after the retries the order is
// journaled `order_unknown` and keeps counting as live, then it is looked up by client
// order id and, absent from the venue, rejected `not_sent`. Every attempt carried the same
// client order id, the venue never had the order, and the run keeps every invariant.
#[test]
fn a_create_lost_on_every_attempt_is_unknown_until_looked_up() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let run = run_against(
        &capture,
        dir.path(),
        &["--rest-fault", "create:3:lost"],
        &[
            ("request_timeout_ms = 5000", "request_timeout_ms = 700"),
            ("send_retries = 3", "send_retries = 2"),
            ("retry_backoff_ms = 200", "retry_backoff_ms = 100"),
            ("unknown_resolve_ms = 5000", "unknown_resolve_ms = 1000"),
        ],
        |records| {
            // The order the daemon could not place: unknown, then looked up and rejected.
            let unknown = records.iter().find_map(|r| match r.decision {
                Some(Decision::OrderUnknown { id }) => Some(serde_json::json!(id)),
                _ => None,
            });
            unknown.is_some_and(|id| rejected_not_sent(records, id.as_str().unwrap()))
                && traded(records, 1, 5)
        },
    );
    assert_consistent(&run, "lost create");
    let lost: Vec<&Value> = run
        .requests
        .iter()
        .filter(|r| r["fault"] == "lost")
        .collect();
    let id = lost[0]["client_order_id"].as_str().unwrap();
    assert_eq!(
        lost.len(),
        3,
        "the create and its two re-sends, all lost: {lost:?}"
    );
    assert!(
        lost.iter().all(|r| r["client_order_id"] == id),
        "every re-send carried the same client order id"
    );
    let unknown = decisions_of(&journal, "order_unknown", id);
    let rejected = decisions_of(&journal, "order_rejected", id);
    assert_eq!(unknown.len(), 1, "journaled unknown once: {unknown:?}");
    assert_eq!(rejected.len(), 1, "resolved once: {rejected:?}");
    assert_eq!(rejected[0]["detail"]["reason"], "not_sent");
    assert!(
        unknown[0]["seq"].as_u64() < rejected[0]["seq"].as_u64(),
        "unknown until it was looked up"
    );
    assert!(
        run.orders.iter().all(|o| o["client_order_id"] != id),
        "the venue never had the lost order"
    );
    let desk = &run.summary["desk"];
    assert_eq!(desk["unknown"], 1, "{desk}");
    assert_eq!(desk["resolved_not_sent"], 1, "{desk}");
}

// Proves restart safety at the worst moment: the daemon is SIGKILLed after it journaled an
// order and before the venue had it (the create is lost on its way and the daemon is
// killed while waiting for the answer). The restarted daemon never re-sends that order;
// reconciliation finds the journal's live order absent from the venue and rejects it
// `not_sent`, and both runs together keep every invariant.
#[test]
fn a_daemon_killed_between_journal_and_send_reconciles_the_order() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let mut sim_command = Bin::CoinbaseSim.command();
    sim_command
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped());
    let (mut sim, addr) = common::start_sim(
        sim_command,
        &capture,
        &key,
        &["--speed", "2", "--loop", "--rest-fault", "create:3:lost"],
    );
    let mut sim_log = sim.log_lines();
    let config = live_config(dir.path(), &[]);
    let journal = dir.path().join("journal");
    let first = start_live(&config, &addr, &key, &journal);
    // The daemon waits request_timeout_ms (5 s) for the lost create's answer: kill it once
    // the venue logs the loss.
    sim_log.wait_for("request lost on its way");
    let id = lost_create(&addr).expect("the venue logged the lost create");
    let mut child = first.into_child();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        decisions_of(&journal, "order_new", &id).len(),
        1,
        "the killed daemon had journaled the order it was sending"
    );
    let attempts_at_kill = requests(&addr)
        .iter()
        .filter(|r| r["client_order_id"] == id.as_str())
        .count();

    let mut second = start_live(&config, &addr, &key, &journal);
    let resolved = JournalWatch::new(&journal).wait_for(&mut second, |records| {
        rejected_not_sent(records, &id) && traded(records, 1, 5)
    });
    let output = interrupt(second);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(resolved, "the restart resolved the order: {stderr}");
    assert!(output.status.success(), "clean stop: {stderr}");
    let run = Outcome::of(&output, stderr, &addr, &journal);
    assert_consistent(&run, "killed between journal and send");
    assert!(
        run.summary["reconciliation"]["not_sent"].as_u64().unwrap() >= 1,
        "reconciliation rejected the unsent order: {}",
        run.summary["reconciliation"]
    );
    assert_eq!(
        run.requests
            .iter()
            .filter(|r| r["client_order_id"] == id.as_str())
            .count(),
        attempts_at_kill,
        "the restarted daemon did not send the order again"
    );
    assert!(
        run.orders
            .iter()
            .all(|o| o["client_order_id"] != id.as_str())
    );
}

// Proves the client-side rate limit holds under a burst: with the venue and the daemon both
// at 8 private requests per second, a market maker that polls every working order four
// times a second wants far more than that (the desk counts the requests that had to wait),
// yet the venue answers no 429 and no sliding second of its request log holds more than 8
// private requests.
#[test]
fn a_burst_of_signals_stays_within_the_rate_limit() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let run = run_against(
        &capture,
        dir.path(),
        &["--rate", "8"],
        &[
            ("private_rate_per_s = 30", "private_rate_per_s = 8"),
            ("orders_per_second = 10", "orders_per_second = 50"),
            ("requote_interval_ms = 1000", "requote_interval_ms = 200"),
        ],
        // Answers to 40 order requests (creates, edits, cancels) journaled, 4 of them
        // accepted creates: well past what 8 a second allows without waiting. (Waited for
        // in the journal: polling the venue's request log takes the venue's lock and bunches
        // the requests it stamps.)
        |records| {
            let answered = [
                "order_accepted",
                "edit_done",
                "order_cancelled",
                "cancel_rejected",
            ]
            .iter()
            .map(|kind| count(records, kind))
            .sum::<usize>();
            answered >= 40 && count(records, "order_accepted") >= 4
        },
    );
    assert_consistent(&run, "burst");
    let rate_limited = run.requests.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(rate_limited, 0, "the venue answered 429");
    let times: Vec<u64> = run
        .requests
        .iter()
        .filter(|r| r["endpoint"] != "")
        .map(|r| r["at_us"].as_u64().unwrap())
        .collect();
    let busiest = times
        .iter()
        .map(|&start| {
            times
                .iter()
                .filter(|&&t| t >= start && t < start + 1_000_000)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(busiest <= 8, "{busiest} private requests in one second");
    let waits = run.summary["desk"]["rate_waits"].as_u64().unwrap();
    assert!(
        waits >= 20,
        "the burst did not exceed the rate, so it proves nothing: {waits} waits"
    );
}

/// Places an order at the sim as someone else would (by hand, with its own client order
/// id), signed with the same key; returns the venue's order id.
fn place_by_hand(addr: &str, key: &Path, body: &Value) -> String {
    use traider_gateways::coinbase::auth::ApiKey;
    use traider_gateways::coinbase::orders::CreateOutcome;
    use traider_gateways::coinbase::trading::TradingClient;
    let key = std::sync::Arc::new(ApiKey::load(key).unwrap());
    let client = TradingClient::new(
        &format!("http://{addr}"),
        key,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match runtime.block_on(client.create_order(body)).unwrap() {
        CreateOutcome::Accepted { order_id, .. } => order_id,
        other => panic!("the hand-placed order was refused: {other:?}"),
    }
}

// Proves `unknown_orders = "adopt"`: an order placed by hand before the daemon starts is
// taken over at reconciliation (journaled `order_adopted` under an id of the daemon's
// namespace, with the venue's order id); the strategy never touches it while it trades;
// after a SIGKILL the restarted daemon finds it again by its venue order id instead of
// adopting it twice or calling it unsent; and the stop cancels it with the daemon's own
// orders, leaving nothing open and every invariant kept.
#[test]
fn unknown_open_orders_are_adopted_and_survive_a_restart() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (_sim, addr) = start_sim(&capture, &key, &["--speed", "2", "--loop"]);
    let body = serde_json::json!({
        "client_order_id": "placed-by-hand-1",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"limit_limit_gtc": {
            "base_size": "0.0001", "limit_price": "60000.00", "post_only": true
        }},
    });
    let order_id = place_by_hand(&addr, &key, &body);
    let config = live_config(
        dir.path(),
        &[("unknown_orders = \"cancel\"", "unknown_orders = \"adopt\"")],
    );
    let journal = dir.path().join("journal");
    let mut first = start_live(&config, &addr, &key, &journal);
    let mut watch = JournalWatch::new(&journal);
    assert!(
        watch.wait_for(&mut first, |records| {
            count(records, "order_adopted") >= 1 && traded(records, 0, 3)
        }),
        "adopted, then traded"
    );
    let mut child = first.into_child();
    child.kill().unwrap();
    child.wait().unwrap();

    watch.catch_up();
    let (opened_before, orders_before) = (
        gate_openings(watch.records()),
        watch.count("order_accepted"),
    );
    let mut second = start_live(&config, &addr, &key, &journal);
    let traded = JournalWatch::new(&journal).wait_for(&mut second, |records| {
        gate_openings(records) > opened_before && traded(records, 0, orders_before + 2)
    });
    let output = interrupt(second);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(traded, "the restarted daemon traded: {stderr}");
    assert!(output.status.success(), "clean stop: {stderr}");
    let run = Outcome::of(&output, stderr, &addr, &journal);
    assert_consistent(&run, "adopt");

    let adopted = dump_kind(&journal, "order_adopted");
    assert_eq!(
        adopted.len(),
        1,
        "adopted once, across the restart: {adopted:?}"
    );
    let detail = &adopted[0]["detail"];
    assert_eq!(detail["order_id"], order_id.as_str());
    assert_eq!(
        (
            detail["side"].as_str(),
            detail["price_ticks"].as_i64(),
            detail["size_lots"].as_i64()
        ),
        (Some("buy"), Some(6_000_000), Some(10_000)),
        "the venue's terms, exactly: {detail}"
    );
    let id = detail["client_order_id"].as_str().unwrap();
    assert!(
        id.starts_with("7a1de000-"),
        "an id of the daemon's namespace: {id}"
    );
    let reconciled = &run.summary["reconciliation"];
    // (The kill may cut one of the maker's own orders between journal and send: that one
    // is `not_sent`; the adopted order never is.)
    assert!(
        decisions_of(&journal, "order_rejected", id).is_empty(),
        "the adopted order was found again, not rejected: {reconciled}"
    );
    assert_eq!(
        reconciled["unknown_open"], 0,
        "found again, not unknown: {reconciled}"
    );
    assert!(reconciled["adopted"].as_u64().unwrap() >= 1, "{reconciled}");
    assert!(
        decisions_of(&journal, "edit_request", id).is_empty(),
        "never repriced"
    );
    let cancels = decisions_of(&journal, "cancel_request", id);
    assert_eq!(cancels.len(), 1, "cancelled once, at the stop: {cancels:?}");
    assert!(
        cancels[0]["detail"]["reason"] == serde_json::json!({"kind": "halt", "cause": "shutdown"}),
        "{cancels:?}"
    );
    let at_venue = run
        .orders
        .iter()
        .find(|o| o["order_id"] == order_id.as_str())
        .unwrap();
    assert_eq!(at_venue["status"], "CANCELLED", "{at_venue}");
    assert_eq!(at_venue["client_order_id"], "placed-by-hand-1");
}

// Proves the dead-man switch as a kill-switch trigger (`deadman_action = "kill"`): a stalled
// user channel closes the gate and halts trading (journaled as a kill by actor dead-man),
// every open order is cancelled in one batch_cancel, and when the channel is back the gate
// reopens but nothing is sent: HALTED holds until an operator resumes.
#[test]
fn a_dead_man_kill_halts_until_an_operator_resumes() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let run = run_against(
        &capture,
        dir.path(),
        &["--ws-fault", "user:stall:3"],
        &[
            ("deadman_ms = 4000", "deadman_ms = 2000"),
            ("deadman_action = \"pause\"", "deadman_action = \"kill\""),
            ("heartbeat_timeout_ms = 5000", "heartbeat_timeout_ms = 6000"),
        ],
        |records| {
            records.iter().any(|r| {
                matches!(
                    r.decision,
                    Some(Decision::TradingGate {
                        cause: GateCause::FeedsHealthy,
                        ..
                    })
                )
            })
        },
    );
    assert_consistent(&run, "dead-man kill");
    let states = dump_kind(&journal, "trading_state");
    let halt = states
        .iter()
        .find(|s| s["detail"]["state"] == "halted")
        .unwrap_or_else(|| panic!("no halt: {states:?}\n{}", run.stderr));
    assert_eq!(halt["detail"]["cause"], "dead_man");
    assert_eq!(halt["detail"]["actor"]["name"], "dead-man");
    let halted_at = halt["seq"].as_u64().unwrap();
    let after: Vec<Value> = dump_kind(&journal, "order_new")
        .into_iter()
        .filter(|o| o["seq"].as_u64().unwrap() > halted_at)
        .collect();
    assert!(after.is_empty(), "nothing is sent while halted: {after:?}");
    assert_eq!(run.summary["control"]["trading_state"], "halted");
    let desk = &run.summary["desk"];
    assert!(
        desk["cancel_batches"].as_u64().unwrap() < desk["cancels"].as_u64().unwrap(),
        "cancels ready together leave in one batch: {desk}"
    );
}
