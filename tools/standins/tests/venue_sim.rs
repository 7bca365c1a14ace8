//! `coinbase-sim`'s order entry against TRAIDER's REST client, over real HTTP on loopback:
//! JWTs verified for every request, client order id idempotency, the product rules of the
//! recorded products response, post-only against the recorded book, and the rate limit.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use traider_testkit::daemon as common;

use common::capture;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use traider_core::event::Side;
use traider_core::order::ClientOrderId;
use traider_gateways::coinbase::auth::ApiKey;
use traider_gateways::coinbase::orders::{
    ApiError, CreateOutcome, OrderConfiguration, create_order_body,
};
use traider_gateways::coinbase::trading::{SendError, TradingClient};
use traider_standins::replay::ReplayData;
use traider_standins::sim::SimHandle;

use traider_testkit::fixtures::{at_scale, btc, decimal, ed25519_key_json, write_key_file};
use traider_testkit::sim::{KEY_NAME, test_key};

/// A sim whose clock starts at the capture's end: the book is the recorded final book.
async fn start(data: &Arc<ReplayData>, key: &ApiKey, rate: u32) -> SimHandle {
    traider_testkit::sim::start(data, key, |config| {
        config.private_rate_per_s = rate;
        config.start_offset_ns = u64::MAX;
        // These tests are about product rules and execution, not funds (a FOK of 1000 BTC).
        config.check_balances = false;
    })
    .await
}

fn client(sim: &SimHandle, key: Arc<ApiKey>) -> TradingClient {
    traider_testkit::sim::client(sim.addr, &key, Duration::from_secs(5))
}

fn gtc(id: u64, side: Side, price_ticks: i64, post_only: bool) -> serde_json::Value {
    create_order_body(
        ClientOrderId::new(3, id),
        side,
        &btc(),
        &OrderConfiguration::LimitGtc {
            price_ticks,
            size_lots: 10_000,
            post_only,
        },
    )
}

use traider_testkit::sim::data;

#[tokio::test]
async fn orders_are_created_once_read_and_cancelled() {
    // Proves create -> get -> cancel over real HTTP with a verified JWT on every request
    // (the sim logs the key name), that re-sending a create with the same client order id
    // returns the same order and creates nothing, and that a second cancel is refused.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, 30).await;
    let client = client(&sim, Arc::clone(&key));
    let body = gtc(1, Side::Buy, 6_000_000, true);
    let CreateOutcome::Accepted {
        order_id,
        client_order_id,
    } = client.create_order(&body).await.expect("answered")
    else {
        panic!("a resting post-only buy below the market is accepted");
    };
    assert_eq!(client_order_id, body["client_order_id"].as_str().unwrap());
    let again = client.create_order(&body).await.expect("answered");
    assert!(
        matches!(&again, CreateOutcome::Accepted { order_id: same, .. } if *same == order_id),
        "{again:?}"
    );
    assert_eq!(
        sim.orders_created(),
        1,
        "a retried create is the same order"
    );
    let order = client.get_order(&order_id).await.expect("order");
    assert_eq!(
        (order["status"].as_str(), order["product_id"].as_str()),
        (Some("OPEN"), Some("BTC-USD"))
    );
    let results = client.cancel_orders(&[&order_id]).await.expect("cancel");
    assert!(results[0].success, "{results:?}");
    let results = client
        .cancel_orders(&[&order_id, "no-such-order"])
        .await
        .expect("cancel");
    assert_eq!(
        results
            .iter()
            .map(|r| (r.success, r.failure_reason.as_str()))
            .collect::<Vec<_>>(),
        [
            (false, "DUPLICATE_CANCEL_REQUEST"),
            (false, "UNKNOWN_CANCEL_ORDER")
        ]
    );
    assert_eq!(
        client.get_order(&order_id).await.unwrap()["status"],
        "CANCELLED"
    );
    let requests = sim.requests();
    assert_eq!(requests.len(), 6);
    assert!(
        requests
            .iter()
            .all(|r| r.status == 200 && r.kid.as_deref() == Some(KEY_NAME)),
        "{requests:?}"
    );
}

#[tokio::test]
async fn the_venue_rules_reject_with_their_reasons() {
    // Proves the sim applies the recorded product rules and book: a post-only buy at the
    // recorded best ask (65083.67) is INVALID_LIMIT_PRICE_POST_ONLY, the same without
    // post-only is accepted, a size off the base increment or below the minimum and an
    // unknown product are rejected, all as HTTP 200 success=false.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, 30).await;
    let client = client(&sim, key);
    let reason = |outcome: CreateOutcome| match outcome {
        CreateOutcome::Rejected { reason, .. } => reason,
        CreateOutcome::Accepted { .. } => "ACCEPTED".to_owned(),
    };
    let crossing = client
        .create_order(&gtc(10, Side::Buy, 6_508_367, true))
        .await
        .unwrap();
    assert_eq!(reason(crossing), "INVALID_LIMIT_PRICE_POST_ONLY");
    let below_bid = client
        .create_order(&gtc(11, Side::Buy, 6_508_366, true))
        .await
        .unwrap();
    assert_eq!(reason(below_bid), "ACCEPTED", "the best bid does not cross");
    let sell_cross = client
        .create_order(&gtc(12, Side::Sell, 6_508_366, true))
        .await
        .unwrap();
    assert_eq!(reason(sell_cross), "INVALID_LIMIT_PRICE_POST_ONLY");
    let taking = client
        .create_order(&gtc(13, Side::Buy, 6_508_367, false))
        .await
        .unwrap();
    assert_eq!(reason(taking), "ACCEPTED");
    let mut off_grid = gtc(14, Side::Buy, 6_000_000, false);
    off_grid["order_configuration"]["limit_limit_gtc"]["base_size"] = json!("0.000000001");
    assert_eq!(
        reason(client.create_order(&off_grid).await.unwrap()),
        "INVALID_SIZE_PRECISION"
    );
    let mut zero = gtc(15, Side::Buy, 6_000_000, false);
    zero["order_configuration"]["limit_limit_gtc"]["base_size"] = json!("0");
    assert_eq!(
        reason(client.create_order(&zero).await.unwrap()),
        "INVALID_SIZE"
    );
    let mut price = gtc(16, Side::Buy, 6_000_000, false);
    price["order_configuration"]["limit_limit_gtc"]["limit_price"] = json!("60000.001");
    assert_eq!(
        reason(client.create_order(&price).await.unwrap()),
        "INVALID_PRICE_PRECISION"
    );
    let mut product = gtc(17, Side::Buy, 6_000_000, false);
    product["product_id"] = json!("NOPE-USD");
    assert_eq!(
        reason(client.create_order(&product).await.unwrap()),
        "INVALID_PRODUCT_ID"
    );
    assert_eq!(sim.orders_created(), 2);
}

#[tokio::test]
async fn bad_tokens_are_401_and_the_rate_limit_is_429() {
    // Proves a token signed by another key is refused with 401 (logged without a key name)
    // and creates nothing, and that a burst past the private rate (12 creates sent at once
    // to a venue allowing 5 a second) is answered 429 past the first 5, which the client
    // reports as a retryable RateLimited; exactly the accepted ones created orders.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, 5).await;
    let stranger = client(&sim, test_key());
    let err = stranger
        .create_order(&gtc(20, Side::Buy, 6_000_000, false))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Api(ApiError::Unauthorized(_))),
        "{err}"
    );
    assert_eq!(sim.orders_created(), 0);
    assert_eq!(sim.requests()[0].kid, None);

    let client = client(&sim, key);
    let burst: Vec<_> = (0..12)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_order(&gtc(30 + i, Side::Buy, 6_000_000, false))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in burst {
        match task.await.expect("task") {
            Ok(_) => statuses.push(200),
            Err(SendError::Api(error @ ApiError::RateLimited(_))) => {
                assert!(error.is_retryable());
                statuses.push(429);
            }
            Err(other) => panic!("{other}"),
        }
    }
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        accepted >= 5,
        "the first 5 are within the rate: {statuses:?}"
    );
    assert_eq!(sim.orders_created(), accepted as u64);
}

#[test]
fn the_coinbase_sim_binary_serves_a_key_file_and_refuses_a_loose_one() {
    // Proves the `coinbase-sim` binary: with a mode-600 Ed25519 key file it prints its
    // address and accepts an order signed by that key over HTTP; with a mode-644 file it
    // refuses to start, naming the fix.
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let key_file = write_key_file(dir.path(), &ed25519_key_json(KEY_NAME), 0o644);
    let sim = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_coinbase-sim"));
        command
            .arg("--capture")
            .arg(&capture)
            .arg("--key-file")
            .arg(&key_file)
            .arg("--start-at-end")
            .env("RUST_LOG", "warn");
        command
    };
    let loose = sim().output().unwrap();
    assert!(!loose.status.success());
    assert!(String::from_utf8_lossy(&loose.stderr).contains("chmod 600"));

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut child = sim().stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
    let key = Arc::new(ApiKey::load(&key_file).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let client =
            TradingClient::new(&format!("http://{addr}"), key, Duration::from_secs(5)).unwrap();
        client
            .create_order(&gtc(40, Side::Buy, 6_000_000, true))
            .await
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        matches!(outcome, Ok(CreateOutcome::Accepted { .. })),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_rate_limit_keeps_a_burst_below_the_venue_limit() {
    // Proves a burst of 90 concurrent creates through a client limited to the venue's
    // 30/s is all accepted with no 429: the client spaces them, the venue never has to
    // refuse (without the limit, the same venue answers 429: see the test above).
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, 30).await;
    let client = client(&sim, key).with_private_rate(std::num::NonZeroU32::new(30).unwrap());
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..90)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_order(&gtc(100 + i, Side::Buy, 6_000_000, false))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.expect("task").expect("answered, not refused");
        assert!(
            matches!(outcome, CreateOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }
    assert!(sim.requests().iter().all(|r| r.status == 200));
    assert_eq!(sim.orders_created(), 90);
    assert!(
        started.elapsed() >= Duration::from_millis(3000),
        "90 requests spaced for 27/s take over 3 s: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn resting_orders_are_edited_in_place() {
    // Proves an edit of a resting GTC order changes its price and size and keeps its id; an
    // edit that would make a post-only order cross, an edit off the increments and an edit
    // of a cancelled or unknown order are rejected with their reasons and change nothing.
    use traider_gateways::coinbase::orders::{EditOutcome, edit_order_body};
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, 30).await;
    let client = client(&sim, key);
    let CreateOutcome::Accepted { order_id, .. } = client
        .create_order(&gtc(50, Side::Buy, 6_000_000, true))
        .await
        .unwrap()
    else {
        panic!("accepted");
    };
    let edit = edit_order_body(&order_id, &btc(), 6_100_000, 20_000);
    assert_eq!(
        client.edit_order(&edit).await.unwrap(),
        EditOutcome::Accepted
    );
    let fields =
        client.get_order(&order_id).await.unwrap()["order_configuration"]["limit_limit_gtc"]
            .clone();
    assert_eq!(
        (fields["limit_price"].as_str(), fields["base_size"].as_str()),
        (Some("61000"), Some("0.0002"))
    );
    let rejected = |reason: &str| EditOutcome::Rejected {
        reasons: vec![reason.to_owned()],
    };
    let crossing = edit_order_body(&order_id, &btc(), 6_508_367, 20_000);
    assert_eq!(
        client.edit_order(&crossing).await.unwrap(),
        rejected("INVALID_LIMIT_PRICE_POST_ONLY")
    );
    let mut off_grid = edit.clone();
    off_grid["price"] = json!("61000.005");
    assert_eq!(
        client.edit_order(&off_grid).await.unwrap(),
        rejected("INVALID_PRICE_PRECISION")
    );
    let fields_after =
        client.get_order(&order_id).await.unwrap()["order_configuration"]["limit_limit_gtc"]
            .clone();
    assert_eq!(fields_after, fields, "a rejected edit changes nothing");
    client.cancel_orders(&[&order_id]).await.unwrap();
    assert_eq!(
        client.edit_order(&edit).await.unwrap(),
        rejected("INVALID_ORDER_STATUS")
    );
    let unknown = edit_order_body("no-such-order", &btc(), 6_100_000, 20_000);
    assert_eq!(
        client.edit_order(&unknown).await.unwrap(),
        rejected("ORDER_NOT_FOUND")
    );
}

/// `price × size × 60 bps` of decimal strings, exactly, as a decimal string's integer
/// units at 10^-(price scale + size scale + 4), for comparing commissions.
fn commission_units(price: &str, size: &str) -> (i128, u32) {
    let ((p, ps), (q, qs)) = (decimal(price), decimal(size));
    (p * q * 60, ps + qs + 4)
}

/// Whether `text` is exactly the decimal `units` × 10^-`scale`.
fn same_decimal((units, scale): (i128, u32), text: &str) -> bool {
    at_scale(text, scale) == units
}

#[tokio::test]
async fn taking_orders_fill_against_the_recorded_book_and_consume_it() {
    // Proves execution against the recorded book (SOURCES.md oracle: BTC-USD best bid
    // 65083.66 x 0.23929087, best ask 65083.67 x 0.29040961): an IOC buy walks the asks best
    // first within its limit and fills exactly its size, each fill paying 60 bps of its
    // notional; the book is consumed (a post-only buy at the old best ask now rests); a FOK
    // larger than the depth within its limit fills nothing; an IOC sell takes the bid; and
    // the fills endpoint returns what the venue recorded.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, 1000).await;
    let client = client(&sim, key);
    let ioc = |id, side, price_ticks, size_lots| {
        create_order_body(
            ClientOrderId::new(5, id),
            side,
            &btc(),
            &OrderConfiguration::LimitIoc {
                price_ticks,
                size_lots,
            },
        )
    };
    let CreateOutcome::Accepted { order_id, .. } = client
        .create_order(&ioc(1, Side::Buy, 6_509_000, 50_000_000))
        .await
        .unwrap()
    else {
        panic!("accepted");
    };
    let fills = client.list_fills(&order_id).await.unwrap();
    assert!(
        fills.len() >= 2,
        "0.5 BTC takes more than the best level: {fills:?}"
    );
    assert_eq!(
        (fills[0]["price"].as_str(), fills[0]["size"].as_str()),
        (Some("65083.67"), Some("0.29040961"))
    );
    let lots = |f: &serde_json::Value| {
        btc()
            .base_increment
            .parse_count(f["size"].as_str().unwrap().as_bytes())
            .unwrap()
    };
    let ticks = |f: &serde_json::Value| {
        btc()
            .price_increment
            .parse_count(f["price"].as_str().unwrap().as_bytes())
            .unwrap()
    };
    assert_eq!(fills.iter().map(lots).sum::<i64>(), 50_000_000);
    assert!(
        fills.windows(2).all(|w| ticks(&w[0]) < ticks(&w[1])),
        "best price first"
    );
    assert!(
        fills
            .iter()
            .all(|f| ticks(f) <= 6_509_000 && f["liquidity_indicator"] == "TAKER")
    );
    for fill in &fills {
        let expected = commission_units(
            fill["price"].as_str().unwrap(),
            fill["size"].as_str().unwrap(),
        );
        assert!(
            same_decimal(expected, fill["commission"].as_str().unwrap()),
            "{fill}"
        );
    }
    let order = client.get_order(&order_id).await.unwrap();
    assert_eq!(
        (order["status"].as_str(), order["filled_size"].as_str()),
        (Some("FILLED"), Some("0.5"))
    );

    let rests = client
        .create_order(&gtc(2, Side::Buy, 6_508_367, true))
        .await
        .unwrap();
    assert!(
        matches!(rests, CreateOutcome::Accepted { .. }),
        "the old best ask was taken: {rests:?}"
    );

    let fok = create_order_body(
        ClientOrderId::new(5, 3),
        Side::Buy,
        &btc(),
        &OrderConfiguration::LimitFok {
            price_ticks: 6_509_000,
            size_lots: 100_000_000_000,
        },
    );
    let CreateOutcome::Accepted {
        order_id: fok_id, ..
    } = client.create_order(&fok).await.unwrap()
    else {
        panic!("accepted");
    };
    assert!(client.list_fills(&fok_id).await.unwrap().is_empty());
    assert_eq!(
        client.get_order(&fok_id).await.unwrap()["status"],
        "CANCELLED"
    );

    let CreateOutcome::Accepted {
        order_id: sell_id, ..
    } = client
        .create_order(&ioc(4, Side::Sell, 6_508_366, 10_000_000))
        .await
        .unwrap()
    else {
        panic!("accepted");
    };
    let sells = client.list_fills(&sell_id).await.unwrap();
    assert_eq!(sells.len(), 1);
    assert_eq!(
        (sells[0]["price"].as_str(), sells[0]["size"].as_str()),
        (Some("65083.66"), Some("0.1"))
    );
    assert_eq!(sim.fills().len(), fills.len() + 1);
}
