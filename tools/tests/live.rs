//! `traiderd run` in live mode against `coinbase-sim`, over real TCP, real WebSockets
//! (market data and the user channel) and real HTTP, with a real key file: every request
//! signed, every token verified by the venue.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use traider_core::num::Money;

/// A fresh Ed25519 CDP key file (mode 600; random, so no key material is in the repo).
fn key_file(dir: &Path) -> PathBuf {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt;
    let mut rng = fastrand::Rng::new();
    let seed: Vec<u8> = (0..32).map(|_| rng.u8(..)).collect();
    let secret = base64::engine::general_purpose::STANDARD.encode(seed);
    let path = dir.join("cdp_api_key.json");
    let text = serde_json::json!({"name": "organizations/test/apiKeys/live", "privateKey": secret});
    std::fs::write(&path, text.to_string()).expect("key file written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("key file mode");
    path
}

/// Starts `coinbase-sim`; returns it and its `127.0.0.1:PORT`.
fn start_sim(capture: &Path, key: &Path, extra: &[&str]) -> (Proc, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_coinbase-sim"))
        .arg("--capture")
        .arg(capture)
        .arg("--key-file")
        .arg(key)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("coinbase-sim starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the sim prints its address");
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("address on the line")
        .to_owned();
    (proc_of(child), addr)
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

/// Per product: (signed base position, total commission) from the venue's fills.
fn venue_books(fills: &[Value]) -> BTreeMap<String, (Money, Money)> {
    let mut books: BTreeMap<String, (Money, Money)> = BTreeMap::new();
    for fill in fills {
        let entry = books
            .entry(fill["product_id"].as_str().unwrap().to_owned())
            .or_insert((Money::ZERO, Money::ZERO));
        let size = money(fill["size"].as_str().unwrap());
        match fill["side"].as_str().unwrap() {
            "BUY" => entry.0 += size,
            _ => entry.0 -= size,
        }
        entry.1 += money(fill["commission"].as_str().unwrap());
    }
    books
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
    let Some(capture) = capture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (_sim, addr) = start_sim(&capture, &key, &["--speed", "2", "--loop"]);
    let config = live_config(dir.path(), &[]);
    let journal = dir.path().join("journal");
    let daemon = start_live(&config, &addr, &key, &journal);
    // Polled at the venue: dumping a growing journal of market data is slow.
    let traded = wait_until(60, || {
        let edited = sim(&addr, "requests")["requests"]
            .as_array()
            .is_some_and(|r| {
                r.iter()
                    .any(|r| r["endpoint"] == "edit" && r["status"] == 200)
            });
        edited
            && sim(&addr, "fills")["fills"]
                .as_array()
                .is_some_and(|f| f.len() >= 2)
    });
    let output = interrupt(daemon);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        traded,
        "no fills and edits within 60 s; daemon log:\n{stderr}"
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

    // Positions and fees equal the sums over the venue's fills.
    for (product, (position, fees)) in venue_books(&fills) {
        let reported = &summary["positions"][&product];
        assert_eq!(
            money(reported["position"].as_str().unwrap()),
            position,
            "{product}: {reported}"
        );
        assert_eq!(money(reported["fees"].as_str().unwrap()), fees, "{product}");
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
    /// Requests the venue logged that it answered with an injected fault.
    faulted: usize,
}

fn faulted(addr: &str) -> usize {
    sim(addr, "requests")["requests"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|r| !r["fault"].is_null()).count())
}

/// Runs the daemon against a sim with `sim_flags` until `until` holds at the venue (or
/// 45 s pass), then stops it with Ctrl-C.
fn run_against(
    capture: &Path,
    dir: &Path,
    sim_flags: &[&str],
    config: &[(&str, &str)],
    until: impl Fn(&str) -> bool,
) -> Outcome {
    let key = key_file(dir);
    let mut flags = vec!["--speed", "2", "--loop"];
    flags.extend_from_slice(sim_flags);
    let (_sim, addr) = start_sim(capture, &key, &flags);
    let config = live_config(dir, config);
    let journal = dir.join("journal");
    let daemon = start_live(&config, &addr, &key, &journal);
    let reached = wait_until(45, || until(&addr));
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
    Outcome {
        summary: serde_json::from_slice(&output.stdout).expect("summary is JSON"),
        stderr,
        orders: sim(&addr, "orders")["orders"].as_array().unwrap().clone(),
        fills: sim(&addr, "fills")["fills"].as_array().unwrap().clone(),
        journal_fills: dump_kind(&journal, "fill"),
        faulted: faulted(&addr),
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
    for (product, (position, _)) in venue_books(&run.fills) {
        let reported = &run.summary["positions"][&product]["position"];
        assert_eq!(
            money(reported.as_str().unwrap()),
            position,
            "{case}: {product}"
        );
    }
    assert_eq!(run.summary["orders_open"], 0, "{case}");
}

/// The venue holds at least `filled` fills and `orders` orders of ours.
fn venue_has(addr: &str, filled: usize, orders: usize) -> bool {
    let placed = sim(addr, "orders")["orders"].as_array().map_or(0, Vec::len);
    let fills = sim(addr, "fills")["fills"].as_array().map_or(0, Vec::len);
    placed >= orders && fills >= filled
}

// Proves the daemon keeps its books straight through each injected venue fault: a create
// answered 429, 503 or not at all (the order exists; the re-send with the same client order
// id finds it), a create dropped unanswered without effect, a cancel answered 500, the user
// channel and market data disconnected, and a sequence gap on the user channel. After
// each: no duplicate order at the venue, no lost or doubled fill, position = sum of fills.
#[test]
fn venue_faults_lose_nothing_and_duplicate_nothing() {
    let Some(capture) = capture() else { return };
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
            |addr| venue_has(addr, 2, 5),
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
    let Some(capture) = capture() else { return };
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
        |_| {
            dump_kind(&journal, "trading_gate")
                .iter()
                .filter(|g| g["detail"]["open"] == true)
                .count()
                >= 2
        },
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
            .as_str()
            .unwrap()
            .contains("Halt { cause: 4 }")),
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
    let Some(capture) = capture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (_sim, addr) = start_sim(&capture, &key, &["--speed", "2", "--loop"]);
    let config = live_config(dir.path(), &[]);
    let journal = dir.path().join("journal");
    let first = start_live(&config, &addr, &key, &journal);
    assert!(
        wait_until(45, || venue_has(&addr, 1, 2)),
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

    let second = start_live(&config, &addr, &key, &journal);
    let fills_before = sim(&addr, "fills")["fills"].as_array().unwrap().len();
    let orders_before = sim(&addr, "orders")["orders"].as_array().unwrap().len();
    assert!(
        wait_until(45, || venue_has(&addr, fills_before + 1, orders_before + 2)),
        "second run traded"
    );
    let output = interrupt(second);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "clean stop: {stderr}");
    let run = Outcome {
        summary: serde_json::from_slice(&output.stdout).expect("summary is JSON"),
        stderr,
        orders: sim(&addr, "orders")["orders"].as_array().unwrap().clone(),
        fills: sim(&addr, "fills")["fills"].as_array().unwrap().clone(),
        journal_fills: dump_kind(&journal, "fill"),
        faulted: faulted(&addr),
    };
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
