//! coinbase-sim as a live venue, over real TCP/WebSocket/HTTP on loopback with real JWTs:
//! market data on one venue clock, resting orders filled by replayed trades, the user
//! channel, and the paginated REST lists.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use traider_testkit::sim as sim_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sim_support::{Ws, data, get, now_s, recorded_frames, start, test_key};
use traider_core::event::Side;
use traider_core::order::ClientOrderId;
use traider_gateways::coinbase::orders::{CreateOutcome, OrderConfiguration, create_order_body};
use traider_gateways::coinbase::trading::TradingClient;
use traider_standins::sim::SimHandle;
use traider_testkit::fixtures::{at_scale, btc};
use traider_testkit::watch::DEADLINE;

fn order(id: u64, side: Side, configuration: OrderConfiguration) -> Value {
    create_order_body(ClientOrderId::new(9, id), side, &btc(), &configuration)
}

fn gtc(id: u64, side: Side, price_ticks: i64, size_lots: i64) -> Value {
    let configuration = OrderConfiguration::LimitGtc {
        price_ticks,
        size_lots,
        post_only: true,
    };
    order(id, side, configuration)
}

fn client(sim: &SimHandle, key: &Arc<traider_gateways::coinbase::auth::ApiKey>) -> TradingClient {
    sim_support::client(sim.addr, key, Duration::from_secs(5))
}

async fn create(client: &TradingClient, body: &Value) -> String {
    match client.create_order(body).await.expect("answered") {
        CreateOutcome::Accepted { order_id, .. } => order_id,
        rejected => panic!("rejected: {rejected:?}"),
    }
}

/// A level2 book as the test keeps it: (side, price units at 10^-18) -> quantity text.
type TestBook = BTreeMap<(String, i128), String>;

fn apply(book: &mut TestBook, event: &Value) {
    if event["type"] == "snapshot" {
        book.clear();
    }
    for level in event["updates"].as_array().expect("updates") {
        let side = level["side"].as_str().expect("side").to_owned();
        let price = at_scale(level["price_level"].as_str().expect("price"), 18);
        let quantity = level["new_quantity"].as_str().expect("quantity");
        if at_scale(quantity, 18) == 0 {
            book.remove(&(side, price));
        } else {
            book.insert((side, price), quantity.to_owned());
        }
    }
}

/// Waits until the venue is mid-recording: an early level2 subscriber has had its BTC-USD
/// snapshot and 40 recorded updates after it (then it leaves).
async fn mid_recording(sim: &SimHandle) {
    let mut early = Ws::connect(sim.addr).await;
    early.subscribe("level2", &["BTC-USD"]).await;
    for _ in 0..=40 {
        early.next_of("l2_data").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_level2_subscriber_gets_the_current_book_then_the_following_updates() {
    // Proves the one venue clock: a subscriber joining mid-recording gets a snapshot equal
    // to the recorded book after exactly k of the recorded BTC updates (0 < k < all: not the
    // first nor the final book), then exactly the recorded updates k+1, k+2, ... with no
    // gap or overlap, all numbered 0, 1, 2, ... on its own connection.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| c.speed = 2.0).await;
    mid_recording(&sim).await;
    let mut ws = Ws::connect(sim.addr).await;
    ws.subscribe("level2", &["BTC-USD"]).await;
    let mut frames = Vec::new();
    while frames.len() < 12 {
        let frame = ws.next_json().await;
        frames.push(frame);
    }
    let seqs: Vec<u64> = frames
        .iter()
        .map(|f| f["sequence_num"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, (0..12).collect::<Vec<_>>());
    assert_eq!(frames[0]["channel"], "subscriptions");
    assert_eq!(
        frames[0]["events"][0]["subscriptions"]["level2"],
        json!(["BTC-USD"])
    );
    let snapshot = &frames[1]["events"][0];
    assert_eq!(
        (snapshot["type"].as_str(), frames[1]["channel"].as_str()),
        (Some("snapshot"), Some("l2_data"))
    );
    let mut received = TestBook::new();
    apply(&mut received, snapshot);

    let recorded: Vec<&Value> = recorded_frames()
        .iter()
        .filter(|(_, f)| f["channel"] == "l2_data" && f["events"][0]["product_id"] == "BTC-USD")
        .map(|(_, f)| &f["events"][0])
        .collect();
    let mut book = TestBook::new();
    let mut k = None;
    for (index, event) in recorded.iter().enumerate() {
        apply(&mut book, event);
        if book.len() == received.len() && book == received {
            k = Some(index);
        }
    }
    let k = k.expect("the snapshot is the recorded book at some point");
    assert!(
        k > 0 && k + 11 < recorded.len(),
        "mid-recording: k = {k} of {}",
        recorded.len()
    );
    for (offset, frame) in frames[2..].iter().enumerate() {
        assert_eq!(frame["events"][0]["type"], "update");
        assert_eq!(
            frame["events"][0]["updates"],
            recorded[k + 1 + offset]["updates"],
            "update {offset} after the snapshot"
        );
    }
}

/// Recorded BTC prints after `elapsed_ns` on the recorder clock: (price, size) text.
fn btc_prints_after(elapsed_ns: u64) -> Vec<(String, String)> {
    let mut prints = Vec::new();
    for (offset, frame) in recorded_frames() {
        if *offset <= elapsed_ns || frame["channel"] != "market_trades" {
            continue;
        }
        for event in frame["events"].as_array().expect("events") {
            if event["type"] != "update" {
                continue;
            }
            for trade in event["trades"].as_array().expect("trades").iter().rev() {
                if trade["product_id"] == "BTC-USD" {
                    let text = |k: &str| trade[k].as_str().expect("text").to_owned();
                    prints.push((text("price"), text("size")));
                }
            }
        }
    }
    prints
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resting_buy_fills_as_maker_when_replayed_prints_trade_through_it() {
    // Proves maker matching on the venue clock: a post-only buy of 0.05 BTC resting at the
    // recorded best bid 65083.66 fills, print by print, exactly min(remaining, print size)
    // of each later recorded BTC print at or below 65083.66 (aggressive sellers; the many
    // prints at the ask 65083.67 do not touch it), at its limit price, as MAKER, paying
    // exactly 40 bps; the USD and BTC balances move by exactly value + fee and size.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| {
        c.speed = 4.0;
        c.start_offset_ns = 5_000_000_000;
    })
    .await;
    let client = client(&sim, &key);
    let order_id = create(&client, &gtc(1, Side::Buy, 6_508_366, 5_000_000)).await;
    let created_ns = sim.orders()[0].created_ns;
    let elapsed_ns = created_ns - data.first_timestamp_ns;
    let end_ns = recorded_frames().last().expect("frames").0;
    while sim.clock_elapsed_ns() < end_ns + 500_000_000 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut remaining = 5_000_000_i128;
    let mut expected = Vec::new();
    for (price, size) in btc_prints_after(elapsed_ns) {
        if at_scale(&price, 2) <= 6_508_366 && remaining > 0 {
            let lots = at_scale(&size, 8).min(remaining);
            remaining -= lots;
            expected.push(lots);
        }
    }
    assert!(expected.len() >= 3, "several prints reach it: {expected:?}");
    let fills = sim.fills();
    let sizes: Vec<i128> = fills.iter().map(|f| at_scale(&f.size, 8)).collect();
    assert_eq!(sizes, expected);
    let mut spent = 0_i128; // 10^-14 USD
    for fill in &fills {
        assert_eq!(
            (fill.order_id.as_str(), fill.price.as_str()),
            (order_id.as_str(), "65083.66")
        );
        assert_eq!(fill.liquidity_indicator, "MAKER");
        let value = 6_508_366 * at_scale(&fill.size, 8); // 10^-10 USD
        assert_eq!(at_scale(&fill.commission, 14), value * 40, "{fill:?}");
        spent += value * 10_000 + value * 40;
    }
    let status = if remaining == 0 { "FILLED" } else { "OPEN" };
    assert_eq!(sim.orders()[0].status, status);
    let balances = sim.balances();
    assert_eq!(
        at_scale(&balances["USD"], 14),
        100_000 * 10_i128.pow(14) - spent
    );
    let bought: i128 = expected.iter().sum();
    assert_eq!(at_scale(&balances["BTC"], 8), 100_000_000 + bought);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_channel_pages_open_orders_by_50_then_sends_cumulative_updates() {
    // Proves the user channel: with 109 open orders the snapshot comes as 50, 50, 9 (all
    // distinct, all OPEN); then a taking buy is reported accepted, then once per fill with
    // cumulative quantity, fill count and fees equal to the running sums of its REST fills,
    // ending FILLED with nothing left; a cancel is reported CANCELLED; one sequence counter.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| c.start_offset_ns = u64::MAX).await;
    let client = client(&sim, &key);
    for i in 0..109 {
        create(
            &client,
            &gtc(100 + i, Side::Buy, 6_000_000 + i as i64, 10_000),
        )
        .await;
    }
    let mut ws = Ws::connect(sim.addr).await;
    ws.subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    let ack = ws.next_json().await;
    assert_eq!(ack["channel"], "subscriptions");
    assert!(
        ack["events"][0]["subscriptions"]["user"].is_array(),
        "{ack}"
    );
    let mut ids = std::collections::BTreeSet::new();
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let frame = ws.next_json().await;
        assert_eq!(
            (
                frame["channel"].as_str(),
                frame["events"][0]["type"].as_str()
            ),
            (Some("user"), Some("snapshot"))
        );
        let orders = frame["events"][0]["orders"].as_array().expect("orders");
        assert!(
            orders
                .iter()
                .all(|o| o["status"] == "OPEN" && o["post_only"] == "true")
        );
        ids.extend(
            orders
                .iter()
                .map(|o| o["order_id"].as_str().expect("id").to_owned()),
        );
        sizes.push(orders.len());
        assert_eq!(
            frame["events"][0]["positions"]["perpetual_futures_positions"],
            json!([])
        );
    }
    assert_eq!((sizes, ids.len()), (vec![50, 50, 9], 109));

    let ioc = OrderConfiguration::LimitIoc {
        price_ticks: 6_509_000,
        size_lots: 50_000_000,
    };
    let taker_id = create(&client, &order(1, Side::Buy, ioc)).await;
    let fills = client.list_fills(&taker_id).await.expect("fills");
    assert!(fills.len() >= 2);
    let accepted = ws.next_of("user").await;
    let first = &accepted["events"][0]["orders"][0];
    assert_eq!(
        (
            first["status"].as_str(),
            first["cumulative_quantity"].as_str()
        ),
        (Some("OPEN"), Some("0"))
    );
    assert_eq!(
        (
            first["order_type"].as_str(),
            first["time_in_force"].as_str()
        ),
        (Some("Limit"), Some("IMMEDIATE_OR_CANCEL"))
    );
    let (mut quantity, mut fees) = (0_i128, 0_i128);
    for (index, fill) in fills.iter().enumerate() {
        let update = ws.next_of("user").await;
        let order = &update["events"][0]["orders"][0];
        assert_eq!(update["events"][0]["type"], "update");
        quantity += at_scale(fill["size"].as_str().expect("size"), 8);
        fees += at_scale(fill["commission"].as_str().expect("fee"), 24);
        assert_eq!(order["order_id"].as_str(), Some(taker_id.as_str()));
        assert_eq!(
            at_scale(order["cumulative_quantity"].as_str().expect("q"), 8),
            quantity
        );
        assert_eq!(
            at_scale(order["total_fees"].as_str().expect("fees"), 24),
            fees
        );
        assert_eq!(order["number_of_fills"], json!((index + 1).to_string()));
        let last = index + 1 == fills.len();
        assert_eq!(order["status"], if last { "FILLED" } else { "OPEN" });
    }
    let cancelled = ids.iter().next().expect("an order").clone();
    let results = client.cancel_orders(&[&cancelled]).await.expect("cancel");
    assert!(results[0].success);
    let update = ws.next_of("user").await;
    let order = &update["events"][0]["orders"][0];
    assert_eq!(
        (order["order_id"].as_str(), order["status"].as_str()),
        (Some(cancelled.as_str()), Some("CANCELLED"))
    );
    assert_eq!(order["leaves_quantity"], "0");
    let seq = update["sequence_num"].as_u64().expect("seq");
    assert_eq!(
        seq,
        5 + fills.len() as u64,
        "one counter: ack, 3 snapshots, accepted, fills"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_channel_refuses_bad_tokens_with_authentication_failure() {
    // Proves the user channel verifies its JWT like the venue: another key's token, no
    // token, and a REST-style token carrying a `uri` are each answered
    // {"type":"error","message":"authentication failure"}; a WebSocket token of the key
    // then subscribes on the same connection (an empty snapshot: one message, no orders).
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| c.start_offset_ns = u64::MAX).await;
    let mut ws = Ws::connect(sim.addr).await;
    let stranger = test_key().ws_jwt(now_s()).expect("jwt");
    let rest_style = key
        .rest_jwt("GET", "/users/self/verify", now_s())
        .expect("jwt");
    for jwt in [Some(stranger), None, Some(rest_style)] {
        ws.subscribe_user(jwt).await;
        let frame = ws.next_json().await;
        assert_eq!(
            frame,
            json!({"type": "error", "message": "authentication failure"})
        );
    }
    ws.subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    assert_eq!(ws.next_json().await["sequence_num"], 0);
    let snapshot = ws.next_json().await;
    assert_eq!(snapshot["events"][0]["type"], "snapshot");
    assert_eq!(snapshot["events"][0]["orders"], json!([]));
    assert_eq!(snapshot["sequence_num"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_fills_and_accounts_paginate_and_filter() {
    // Proves the list endpoints: 7 orders come newest first in pages of 3, 3, 1 with
    // has_next/cursor, and order_status/product_ids filter; fills page by 2 with cursor ""
    // at the end and filter by order; accounts page by 2 with the open buys' hold
    // (notional + 60 bps); best_bid_ask shows the book after our IOC sell consumed the bid.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| c.start_offset_ns = u64::MAX).await;
    let client = client(&sim, &key);
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create(&client, &gtc(200 + i, Side::Buy, 6_000_000, 10_000)).await);
    }
    client
        .cancel_orders(&[&ids[0], &ids[1]])
        .await
        .expect("cancel");
    let path = "/api/v3/brokerage/orders/historical/batch";
    let mut listed = Vec::new();
    let mut cursor = String::new();
    let mut pages = Vec::new();
    loop {
        let (status, body) = get(sim.addr, &key, &format!("{path}?limit=3&cursor={cursor}")).await;
        assert_eq!(status, 200, "{body}");
        let orders = body["orders"].as_array().expect("orders");
        pages.push(orders.len());
        listed.extend(
            orders
                .iter()
                .map(|o| o["order_id"].as_str().expect("id").to_owned()),
        );
        cursor = body["cursor"].as_str().expect("cursor").to_owned();
        assert_eq!(body["has_next"], json!(!cursor.is_empty()));
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(pages, [3, 3, 1]);
    assert_eq!(
        listed,
        ids.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first"
    );
    let (_, open) = get(sim.addr, &key, &format!("{path}?order_status=OPEN")).await;
    assert_eq!(open["orders"].as_array().expect("orders").len(), 5);
    let (_, eth) = get(sim.addr, &key, &format!("{path}?product_ids=ETH-USD")).await;
    assert_eq!(eth["orders"], json!([]));

    let ioc = OrderConfiguration::LimitIoc {
        price_ticks: 6_509_000,
        size_lots: 50_000_000,
    };
    let buy_id = create(&client, &order(1, Side::Buy, ioc)).await;
    let sell = OrderConfiguration::LimitIoc {
        price_ticks: 6_508_366,
        size_lots: 10_000_000,
    };
    create(&client, &order(2, Side::Sell, sell)).await;
    let all = sim.fills().len();
    assert!(all >= 3);
    let fills_path = "/api/v3/brokerage/orders/historical/fills";
    let (mut seen, mut cursor) = (0, String::new());
    loop {
        let (_, body) = get(
            sim.addr,
            &key,
            &format!("{fills_path}?limit=2&cursor={cursor}"),
        )
        .await;
        let page = body["fills"].as_array().expect("fills");
        assert!(page.len() <= 2 && !page.is_empty());
        seen += page.len();
        cursor = body["cursor"].as_str().expect("cursor").to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(seen, all);
    let (_, mine) = get(sim.addr, &key, &format!("{fills_path}?order_ids={buy_id}")).await;
    assert_eq!(mine["fills"].as_array().expect("fills").len(), all - 1);

    let (_, first) = get(sim.addr, &key, "/api/v3/brokerage/accounts?limit=2").await;
    assert_eq!(
        (first["size"].as_u64(), first["has_next"].as_bool()),
        (Some(2), Some(true))
    );
    let cursor = first["cursor"].as_str().expect("cursor");
    let (_, second) = get(
        sim.addr,
        &key,
        &format!("/api/v3/brokerage/accounts?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        (second["size"].as_u64(), second["has_next"].as_bool()),
        (Some(1), Some(false))
    );
    let accounts: Vec<&Value> = first["accounts"]
        .as_array()
        .into_iter()
        .chain(second["accounts"].as_array())
        .flatten()
        .collect();
    let usd = accounts
        .iter()
        .find(|a| a["currency"] == "USD")
        .expect("USD account");
    assert_eq!(
        usd["hold"],
        json!({"value": "30.18", "currency": "USD"}),
        "5 × 6 USD + 60 bps"
    );
    let balance = sim.balances()["USD"].clone();
    let available = at_scale(
        usd["available_balance"]["value"].as_str().expect("value"),
        24,
    );
    assert_eq!(available, at_scale(&balance, 24) - at_scale("30.18", 24));

    let (_, books) = get(
        sim.addr,
        &key,
        "/api/v3/brokerage/best_bid_ask?product_ids=BTC-USD",
    )
    .await;
    let book = &books["pricebooks"][0];
    assert_eq!(
        book["bids"][0],
        json!({"price": "65083.66", "size": "0.13929087"})
    );
    assert!(at_scale(book["asks"][0]["price"].as_str().expect("ask"), 2) > 6_508_367);
}

struct ChannelSink(tokio::sync::mpsc::UnboundedSender<(u32, String)>);

impl traider_gateways::coinbase::ws::FrameSink for ChannelSink {
    fn on_frame(&mut self, conn_id: u32, frame: &[u8]) {
        let _ = self
            .0
            .send((conn_id, String::from_utf8_lossy(frame).into_owned()));
    }
    fn on_feed(&mut self, conn_id: u32, control: traider_core::input::FeedControl) {
        let _ = self.0.send((conn_id, format!("FEED {}", control.as_str())));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_market_data_client_streams_from_the_sim_without_gaps() {
    // Proves the daemon's own MarketDataClient (4 channels, both products, as recorded)
    // works against the sim joining mid-recording: one connection, no gap, no resubscribe,
    // both books from fresh snapshots, and once the recording ends (synthesized heartbeats)
    // the books it rebuilt equal the SOURCES.md oracle and the sim's own best bid/ask.
    use traider_gateways::coinbase::ws::{MarketDataClient, WsConfig};
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| c.speed = 5.0).await;
    mid_recording(&sim).await;
    let products = vec!["BTC-USD".to_owned(), "ETH-USD".to_owned()];
    let client = MarketDataClient::new(WsConfig::new(format!("ws://{}/", sim.addr), products))
        .expect("client");
    let stats = client.stats();
    let (tx, mut frames) = tokio::sync::mpsc::unbounded_channel();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(client.run(ChannelSink(tx), shutdown));
    let mut books: BTreeMap<String, TestBook> = BTreeMap::new();
    let (mut feeds, mut snapshots) = (Vec::new(), 0);
    loop {
        let (_, text) = tokio::time::timeout(Duration::from_secs(20), frames.recv())
            .await
            .expect("frames keep coming")
            .expect("client running");
        if let Some(feed) = text.strip_prefix("FEED ") {
            feeds.push(feed.to_owned());
            continue;
        }
        let frame: Value = serde_json::from_str(&text).expect("JSON");
        if frame["channel"] == "l2_data" {
            let event = &frame["events"][0];
            snapshots += usize::from(event["type"] == "snapshot");
            let product = event["product_id"].as_str().expect("product").to_owned();
            apply(books.entry(product).or_default(), event);
        }
        let counter = frame["events"][0]["heartbeat_counter"].as_u64();
        if frame["channel"] == "heartbeats" && counter.is_some_and(|c| c > 41_715) {
            break;
        }
    }
    stop.send_replace(true);
    let _ = task.await;
    assert_eq!(feeds, ["connected"]);
    let snapshot = stats.snapshot();
    assert_eq!(
        (snapshot.gaps, snapshot.resubscribes, snapshot.connects),
        (0, 0, 1)
    );
    assert_eq!(snapshots, 2);
    let best = |product: &str| {
        let book = &books[product];
        let bid = book.keys().rfind(|(s, _)| s == "bid").expect("bid").1;
        let ask = book.keys().find(|(s, _)| s == "offer").expect("ask").1;
        (bid, ask)
    };
    assert_eq!(
        best("BTC-USD"),
        (at_scale("65083.66", 18), at_scale("65083.67", 18))
    );
    assert_eq!(
        best("ETH-USD"),
        (at_scale("1919.28", 18), at_scale("1919.38", 18))
    );
    assert_eq!(
        sim.best_bid_ask("ETH-USD"),
        Some(("1919.28".to_owned(), "1919.38".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_channel_connection_also_gets_heartbeats() {
    // Proves a connection that subscribes to `user` and `heartbeats` gets both on one
    // counter: the acks, the (empty) snapshot, then synthesized heartbeats counting up
    // from the recorded 41715, one sequence_num apart.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| {
        c.start_offset_ns = u64::MAX;
        c.heartbeat_interval = Duration::from_millis(200);
    })
    .await;
    let mut ws = Ws::connect(sim.addr).await;
    ws.subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    ws.send(json!({"type": "subscribe", "channel": "heartbeats", "jwt": key.ws_jwt(now_s()).expect("jwt")}))
        .await;
    let frames: Vec<Value> = futures_collect(&mut ws, 5).await;
    let channels: Vec<&str> = frames
        .iter()
        .map(|f| f["channel"].as_str().expect("channel"))
        .collect();
    assert_eq!(
        channels,
        [
            "subscriptions",
            "user",
            "subscriptions",
            "heartbeats",
            "heartbeats"
        ]
    );
    let seqs: Vec<u64> = frames
        .iter()
        .map(|f| f["sequence_num"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    let counters: Vec<u64> = frames[3..]
        .iter()
        .map(|f| {
            f["events"][0]["heartbeat_counter"]
                .as_u64()
                .expect("counter")
        })
        .collect();
    assert!(
        counters[0] > 41_715 && counters[1] == counters[0] + 1,
        "{counters:?}"
    );
}

async fn futures_collect(ws: &mut Ws, count: usize) -> Vec<Value> {
    let mut frames = Vec::new();
    while frames.len() < count {
        frames.push(ws.next_json().await);
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gtd_order_expires_at_its_end_time() {
    // Proves GTD expiry: a resting GTD order whose end_time is 1 s ahead on the wall clock
    // is OPEN at first, then reported EXPIRED on the user channel and over REST, and no
    // longer holds funds.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| {
        c.start_offset_ns = u64::MAX;
        c.heartbeat_interval = Duration::from_millis(100);
    })
    .await;
    let mut ws = Ws::connect(sim.addr).await;
    ws.subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    ws.next_json().await;
    ws.next_json().await;
    let end_ns = traider_standins::replay::clock::now_unix_ns() + 1_000_000_000;
    let gtd = OrderConfiguration::LimitGtd {
        price_ticks: 6_000_000,
        size_lots: 10_000,
        post_only: true,
        end_time: traider_standins::replay::clock::format_rfc3339_ns(end_ns),
    };
    let client = client(&sim, &key);
    let order_id = create(&client, &order(1, Side::Buy, gtd)).await;
    let opened = ws.next_of("user").await;
    assert_eq!(opened["events"][0]["orders"][0]["status"], "OPEN");
    assert_eq!(
        opened["events"][0]["orders"][0]["time_in_force"],
        "GOOD_UNTIL_DATE_TIME"
    );
    let expired = ws.next_of("user").await;
    let order = &expired["events"][0]["orders"][0];
    assert_eq!(
        (order["order_id"].as_str(), order["status"].as_str()),
        (Some(order_id.as_str()), Some("EXPIRED"))
    );
    assert!(traider_standins::replay::clock::now_unix_ns() >= end_ns);
    assert_eq!(order["outstanding_hold_amount"], "0");
    assert_eq!(
        client.get_order(&order_id).await.expect("order")["status"],
        "EXPIRED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_limit_sell_triggers_on_a_print_at_its_stop_and_takes_the_bid() {
    // Proves stop-limit orders on the venue clock: a sell stopped down at 65083.66 (the
    // recorded bid, where aggressive sellers print) is reported STOP_PENDING when created,
    // then, on such a print, STOP_TRIGGERED and filled as TAKER at a bid within its 65000
    // limit; a buy stopped up at 70000 (never printed) stays pending and unfilled. The
    // recording loops, so a print at the stop always comes after the sell rests, however
    // late the test creates it; the test follows the user channel until the sell fills.
    use traider_gateways::coinbase::orders::StopDirection;
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| {
        c.speed = 4.0;
        c.loop_playback = true;
        c.start_offset_ns = 5_000_000_000;
    })
    .await;
    let mut ws = Ws::connect(sim.addr).await;
    ws.subscribe_user(Some(key.ws_jwt(now_s()).expect("jwt")))
        .await;
    assert_eq!(ws.next_json().await["channel"], "subscriptions");
    let snapshot = ws.next_of("user").await;
    assert_eq!(snapshot["events"][0]["type"], "snapshot");
    let client = client(&sim, &key);
    let stop = |price_ticks, stop_ticks, direction| OrderConfiguration::StopLimitGtc {
        price_ticks,
        stop_ticks,
        size_lots: 100_000,
        direction,
    };
    let sell = create(
        &client,
        &order(
            1,
            Side::Sell,
            stop(6_500_000, 6_508_366, StopDirection::Down),
        ),
    )
    .await;
    let buy = create(
        &client,
        &order(2, Side::Buy, stop(7_100_000, 7_000_000, StopDirection::Up)),
    )
    .await;
    // Every (status, trigger_status) the user channel reports, per order, until the sell
    // has filled (and the buy's creation has been reported).
    let mut states: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let sell_filled = |states: &BTreeMap<String, Vec<(String, String)>>| {
        states
            .get(&sell)
            .and_then(|s| s.last())
            .is_some_and(|(status, _)| status == "FILLED")
    };
    let followed = tokio::time::timeout(DEADLINE, async {
        while !(sell_filled(&states) && states.contains_key(&buy)) {
            let update = ws.next_of("user").await;
            for event in update["events"].as_array().expect("events") {
                for order in event["orders"].as_array().expect("orders") {
                    let text = |k: &str| order[k].as_str().expect("text").to_owned();
                    states
                        .entry(text("order_id"))
                        .or_default()
                        .push((text("status"), text("trigger_status")));
                }
            }
        }
    })
    .await;
    assert!(followed.is_ok(), "the sell never filled: {states:?}");
    let pending = ("OPEN".to_owned(), "STOP_PENDING".to_owned());
    assert_eq!(states[&sell].first(), Some(&pending), "{states:?}");
    assert_eq!(
        states[&sell].last(),
        Some(&("FILLED".to_owned(), "STOP_TRIGGERED".to_owned()))
    );
    assert!(
        states[&buy].iter().all(|state| *state == pending),
        "{states:?}"
    );
    let triggered = client.get_order(&sell).await.expect("order");
    assert_eq!(
        (
            triggered["trigger_status"].as_str(),
            triggered["status"].as_str()
        ),
        (Some("STOP_TRIGGERED"), Some("FILLED"))
    );
    let fills = client.list_fills(&sell).await.expect("fills");
    assert!(!fills.is_empty());
    for fill in &fills {
        let price = at_scale(fill["price"].as_str().expect("price"), 2);
        assert!((6_500_000..=6_508_366).contains(&price), "{fill}");
        assert_eq!(fill["liquidity_indicator"], "TAKER");
    }
    let waiting = client.get_order(&buy).await.expect("order");
    assert_eq!(
        (
            waiting["trigger_status"].as_str(),
            waiting["filled_size"].as_str()
        ),
        (Some("STOP_PENDING"), Some("0"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_balances_cannot_pay_for_are_insufficient_funds() {
    // Proves the funds check against the default balances (USD 100000, BTC 1): a sell of
    // 2 BTC and a buy of 2 BTC at 60000 (120000 USD) are rejected for insufficient funds and
    // create nothing; a buy of 1.6 BTC at 60000 fits, and then holds so much that a second
    // one no longer does; a sell of 1 BTC fits.
    let data = data();
    let key = test_key();
    let sim = start(&data, &key, |c| c.start_offset_ns = u64::MAX).await;
    let client = client(&sim, &key);
    // The client reports new_order_failure_reason, which the venue spells without the S
    // (failure_reason says INSUFFICIENT_FUNDS; protocol reference §5.3).
    const INSUFFICIENT: &str = "INSUFFICIENT_FUND";
    let reason = |outcome: CreateOutcome| match outcome {
        CreateOutcome::Rejected { reason, .. } => reason,
        CreateOutcome::Accepted { .. } => "ACCEPTED".to_owned(),
    };
    let outcome = |id, side, ticks, lots| {
        let client = client.clone();
        async move {
            reason(
                client
                    .create_order(&gtc(id, side, ticks, lots))
                    .await
                    .expect("answered"),
            )
        }
    };
    assert_eq!(
        outcome(1, Side::Sell, 7_000_000, 200_000_000).await,
        INSUFFICIENT
    );
    assert_eq!(
        outcome(2, Side::Buy, 6_000_000, 200_000_000).await,
        INSUFFICIENT
    );
    assert_eq!(sim.orders_created(), 0);
    assert_eq!(
        outcome(3, Side::Buy, 6_000_000, 160_000_000).await,
        "ACCEPTED"
    );
    assert_eq!(
        outcome(4, Side::Buy, 6_000_000, 10_000_000).await,
        INSUFFICIENT,
        "96576 USD held"
    );
    assert_eq!(
        outcome(5, Side::Sell, 7_000_000, 100_000_000).await,
        "ACCEPTED"
    );
    assert_eq!(sim.orders_created(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_loop_the_recording_starts_over_on_one_continuing_sequence() {
    // Proves --loop on the venue clock: started 2 s before the recording's end, a heartbeat
    // subscriber sees the recorded counters reach the last one (41715), then start over
    // from the first recorded one (41691), all on one gapless sequence_num counter.
    let data = data();
    let key = test_key();
    let end_ns = recorded_frames().last().expect("frames").0;
    let sim = start(&data, &key, |c| {
        c.speed = 4.0;
        c.loop_playback = true;
        c.start_offset_ns = end_ns - 2_000_000_000;
    })
    .await;
    let mut ws = Ws::connect(sim.addr).await;
    ws.subscribe("heartbeats", &["BTC-USD"]).await;
    let mut counters = Vec::new();
    let mut expected_seq = 0;
    while !counters.contains(&41_692) {
        let frame = ws.next_json().await;
        assert_eq!(frame["sequence_num"], expected_seq);
        expected_seq += 1;
        if let Some(counter) = frame["events"][0]["heartbeat_counter"].as_u64() {
            counters.push(counter);
        }
    }
    let restart = counters
        .iter()
        .position(|c| *c == 41_691)
        .expect("starts over");
    assert!(
        restart > 0 && counters[restart - 1] == 41_715,
        "{counters:?}"
    );
}
