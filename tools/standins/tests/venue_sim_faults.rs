//! coinbase-sim's injected faults and its restart from a state file, over real
//! TCP/WebSocket/HTTP with real JWTs (the restart against the real binary, SIGKILLed).
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use traider_testkit::sim as sim_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sim_support::{KEY_NAME, Ws, client, data, now_s, start, test_key};
use traider_core::event::Side;
use traider_core::order::ClientOrderId;
use traider_gateways::coinbase::auth::ApiKey;
use traider_gateways::coinbase::orders::{
    ApiError, CreateOutcome, OrderConfiguration, create_order_body,
};
use traider_gateways::coinbase::trading::SendError;
use traider_standins::sim::Scenario;
use traider_testkit::daemon::{Proc, start_sim};
use traider_testkit::fixtures::{btc, ed25519_key_file};

fn gtc(id: u64) -> Value {
    let btc = btc();
    let configuration = OrderConfiguration::LimitGtc {
        price_ticks: 6_000_000,
        size_lots: 10_000,
        post_only: true,
    };
    create_order_body(ClientOrderId::new(4, id), Side::Buy, &btc, &configuration)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_faults_answer_as_scripted_and_a_timed_out_create_still_exists() {
    // Proves each REST fault of a scenario file on the nth create: drop closes without an
    // answer and creates nothing; timeout creates the order but never answers (the client
    // gives up); 429/500/503/401 answer those statuses and create nothing; a retry of the
    // timed-out create with the same client_order_id returns that very order and creates
    // nothing new; the request log records each verdict.
    let data = data();
    let key = test_key();
    let scenario = Scenario::parse(
        r#"
        [[rest]]
        endpoint = "create"
        nth = 1
        fault = "drop"
        [[rest]]
        endpoint = "create"
        nth = 2
        fault = "timeout"
        [[rest]]
        endpoint = "create"
        nth = 3
        fault = "429"
        [[rest]]
        endpoint = "create"
        nth = 4
        fault = "500"
        [[rest]]
        endpoint = "create"
        nth = 5
        fault = "503"
        [[rest]]
        endpoint = "create"
        nth = 6
        fault = "401"
        "#,
    )
    .expect("scenario");
    let sim = start(&data, &key, |c| {
        c.start_offset_ns = u64::MAX;
        c.faults = scenario;
    })
    .await;
    let client = client(sim.addr, &key, Duration::from_secs(2));
    let dropped = client.create_order(&gtc(1)).await;
    assert!(matches!(dropped, Err(SendError::Unknown(_))), "{dropped:?}");
    assert_eq!(sim.orders_created(), 0, "drop does no work");
    let started = Instant::now();
    let timed_out = client.create_order(&gtc(2)).await;
    assert!(
        matches!(timed_out, Err(SendError::Unknown(_))),
        "{timed_out:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(sim.orders_created(), 1, "timeout does the work");
    let statuses = [(3, 429), (4, 500), (5, 503), (6, 401)];
    for (id, status) in statuses {
        let err = client.create_order(&gtc(id)).await.expect_err("a fault");
        let seen = match &err {
            SendError::Api(ApiError::RateLimited(_)) => 429,
            SendError::Api(ApiError::Unauthorized(text)) => {
                assert!(text.contains("Unauthorized"));
                401
            }
            SendError::Api(ApiError::Server { status, .. }) => *status,
            other => panic!("{other}"),
        };
        assert_eq!(seen, status);
    }
    assert_eq!(sim.orders_created(), 1);
    let CreateOutcome::Accepted { order_id, .. } =
        client.create_order(&gtc(2)).await.expect("answered")
    else {
        panic!("accepted");
    };
    assert_eq!(
        order_id,
        sim.orders()[0].order_id,
        "the timed-out create's order"
    );
    assert_eq!(sim.orders_created(), 1);
    let log: Vec<(u16, Option<String>)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.status, r.fault))
        .collect();
    let fault = |s: &str| Some(s.to_owned());
    assert_eq!(
        log,
        [
            (0, fault("drop")),
            (0, fault("timeout")),
            (429, fault("429")),
            (500, fault("500")),
            (503, fault("503")),
            (401, fault("401")),
            (200, None)
        ]
    );
}

/// Frames of `ws` after `frames` until it closes (or 20 s), with their arrival instants.
async fn until_closed(ws: &mut Ws, mut frames: Vec<(Instant, String)>) -> Vec<(Instant, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match ws.next_within(Duration::from_secs(5)).await {
            Some(Some(text)) => frames.push((Instant::now(), text)),
            Some(None) => return frames,
            None => break,
        }
    }
    panic!("not closed; got {} frames", frames.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_faults_hit_the_chosen_connection_only() {
    // Proves the market WebSocket faults on the first market connection, by outgoing
    // sequence_num: 3 is skipped (a gap: nothing carries it), 5 is not sent, 7 arrives cut
    // (not JSON), 9 arrives at least 400 ms after 8, and the socket closes after 11; the
    // second market connection gets a clean 0, 1, 2, ... stream.
    let data = data();
    let key = test_key();
    let mut scenario = Scenario::default();
    for flag in [
        "market:skip:3",
        "market:drop:5",
        "market:malformed:7",
        "market:delay:9:400",
        "market:disconnect:11",
    ] {
        scenario.add_ws_flag(flag).expect("flag");
    }
    let sim = start(&data, &key, |c| c.faults = scenario).await;
    let mut faulty = Ws::connect(sim.addr).await;
    faulty.subscribe("ticker", &["BTC-USD", "ETH-USD"]).await;
    // The faulty connection is the first market connection: its first frame has come
    // before the clean one subscribes.
    let first = faulty.next_json().await;
    let first = vec![(Instant::now(), first.to_string())];
    let mut clean = Ws::connect(sim.addr).await;
    clean.subscribe("ticker", &["BTC-USD", "ETH-USD"]).await;
    let frames = until_closed(&mut faulty, first).await;
    let mut seqs = Vec::new();
    let mut malformed = 0;
    for (_, text) in &frames {
        match serde_json::from_str::<Value>(text) {
            Ok(frame) => seqs.push(frame["sequence_num"].as_u64().expect("seq")),
            Err(_) => {
                assert!(text.contains("\"sequence_num\":7"), "{text:.80}");
                malformed += 1;
                seqs.push(7);
            }
        }
    }
    assert_eq!(seqs, [0, 1, 2, 4, 6, 7, 8, 9, 10, 11]);
    assert_eq!(malformed, 1);
    let at = |seq: u64| frames[seqs.iter().position(|s| *s == seq).expect("seq")].0;
    assert!(
        at(9) - at(8) >= Duration::from_millis(390),
        "{:?}",
        at(9) - at(8)
    );
    for expected in 0..14 {
        assert_eq!(clean.next_json().await["sequence_num"], json!(expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_user_channel_stays_open_and_silent_while_another_gets_updates() {
    // Proves the user-channel stall on the chosen connection: after its snapshot (seq 1) it
    // sends nothing more, not even an order update, and does not close; a second user
    // connection (not chosen) receives the same order's update.
    let data = data();
    let key = test_key();
    let mut scenario = Scenario::default();
    scenario.add_ws_flag("user:stall:1").expect("flag");
    let sim = start(&data, &key, |c| {
        c.start_offset_ns = u64::MAX;
        c.faults = scenario;
    })
    .await;
    let mut stalled = Ws::connect(sim.addr).await;
    stalled
        .subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    assert_eq!(stalled.next_json().await["sequence_num"], 0);
    assert_eq!(stalled.next_json().await["events"][0]["type"], "snapshot");
    let mut healthy = Ws::connect(sim.addr).await;
    healthy
        .subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    healthy.next_json().await;
    healthy.next_json().await;
    let client = client(sim.addr, &key, Duration::from_secs(5));
    client.create_order(&gtc(1)).await.expect("created");
    let update = healthy.next_of("user").await;
    assert_eq!(update["events"][0]["orders"][0]["status"], "OPEN");
    assert_eq!(
        stalled.next_within(Duration::from_millis(1500)).await,
        None,
        "silent, not closed"
    );
}

fn spawn_sim(
    capture: &std::path::Path,
    key_file: &std::path::Path,
    state: &std::path::Path,
    listen: &str,
) -> (Proc, String) {
    let state = state.to_str().expect("UTF-8 path");
    let flags = ["--state-file", state, "--listen", listen, "--start-at-end"];
    let sim = std::process::Command::new(env!("CARGO_BIN_EXE_coinbase-sim"));
    start_sim(sim, capture, key_file, &flags)
}

#[test]
fn a_killed_sim_restarted_with_its_state_file_forgets_nothing() {
    // Proves --state-file across SIGKILL on the real binary: after a restart on the same
    // address, re-sending a known client_order_id returns the same order and creates
    // nothing (idempotency survives), the order is still OPEN over REST, and /sim/orders
    // and /sim/fills show the venue's orders and fills exactly as before the kill.
    let capture = traider_testkit::data::capture();
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = ed25519_key_file(dir.path(), KEY_NAME);
    let key = Arc::new(ApiKey::load(&key_file).expect("key loads"));
    let state = dir.path().join("sim-state.json");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let inspect = |addr: &str, what: &str| -> Value {
        runtime.block_on(async {
            let url = format!("http://{addr}/sim/{what}");
            let text = reqwest::get(url)
                .await
                .expect("answered")
                .text()
                .await
                .expect("body");
            serde_json::from_str(&text).expect("json")
        })
    };

    let (first, addr) = spawn_sim(&capture, &key_file, &state, "127.0.0.1:0");
    let (order_id, before_orders, before_fills) = {
        let client = client(&addr, &key, Duration::from_secs(5));
        let order_id = runtime.block_on(async {
            let ioc = create_order_body(
                ClientOrderId::new(4, 99),
                Side::Buy,
                &btc(),
                &OrderConfiguration::LimitIoc {
                    price_ticks: 6_509_000,
                    size_lots: 50_000_000,
                },
            );
            client.create_order(&ioc).await.expect("ioc");
            match client.create_order(&gtc(1)).await.expect("answered") {
                CreateOutcome::Accepted { order_id, .. } => order_id,
                other => panic!("{other:?}"),
            }
        });
        (order_id, inspect(&addr, "orders"), inspect(&addr, "fills"))
    };
    assert_eq!(before_orders["created"], 2);
    assert!(before_fills["fills"].as_array().expect("fills").len() >= 2);
    let mut first = first.into_child();
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");

    let (second, same_addr) = spawn_sim(&capture, &key_file, &state, &addr);
    assert_eq!(same_addr, addr);
    let client = client(&addr, &key, Duration::from_secs(5));
    let (again, status) = runtime.block_on(async {
        let again = client.create_order(&gtc(1)).await.expect("answered");
        let status = client.get_order(&order_id).await.expect("order")["status"].clone();
        (again, status)
    });
    assert!(
        matches!(&again, CreateOutcome::Accepted { order_id: same, .. } if *same == order_id),
        "{again:?}"
    );
    assert_eq!(status, "OPEN");
    assert_eq!(
        inspect(&addr, "orders"),
        before_orders,
        "orders survive, nothing new created"
    );
    assert_eq!(inspect(&addr, "fills"), before_fills);
    let requests = inspect(&addr, "requests");
    assert_eq!(requests["requests"][0]["status"], 200);
    drop(second);
}
