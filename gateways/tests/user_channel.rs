//! The user-channel client against a real local WebSocket server (tokio-tungstenite) that
//! speaks the documented Coinbase frames and checks each subscribe's JWT with `verify_jwt`:
//! snapshot assembly, gaps, heartbeat silence, auth failures and malformed frames.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use traider_gateways::coinbase::auth::{ApiKey, PublicKey, verify_jwt};
use traider_gateways::coinbase::decimal::Decimal;
use traider_gateways::coinbase::fills::FillTracker;
use traider_gateways::coinbase::user::*;

type Ws = WebSocketStream<TcpStream>;

use traider_testkit::sim::{now_s, test_key as key};

/// Accepts connections forever; `handler(n, ws)` serves the n-th (from 1).
async fn serve<F, Fut>(handler: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(usize, Ws) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let accepted = count.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let n = accepted.fetch_add(1, Ordering::SeqCst) + 1;
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                tokio::spawn(handler(n, ws));
            }
        }
    });
    (addr, count)
}

/// Reads the two subscribe messages and checks them as Coinbase would; returns them.
async fn read_subscribes(ws: &mut Ws, public: &PublicKey) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for _ in 0..2 {
        let message = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .map_err(|_| "no subscribe within 5 s".to_string())?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        let text = message.into_text().map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let jwt = value["jwt"].as_str().ok_or("no jwt")?;
        verify_jwt(jwt, public, now_s(), None).map_err(|e| e.to_string())?;
        if value["type"] != "subscribe" || !value["channel"].is_string() {
            return Err(format!("not a one-channel subscribe: {value}"));
        }
        out.push(value);
    }
    Ok(out)
}

fn order_json(id: &str, status: &str, cumulative: &str, fees: &str, fills: u32) -> Value {
    json!({"order_id": id, "client_order_id": format!("c-{id}"), "product_id": "BTC-USD",
           "order_side": "BUY", "order_type": "Limit", "status": status,
           "cumulative_quantity": cumulative, "filled_value": cumulative, "total_fees": fees,
           "number_of_fills": fills.to_string(), "leaves_quantity": "1", "post_only": "false"})
}

fn user_frame(seq: u64, kind: &str, orders: Vec<Value>) -> Message {
    let frame = json!({"channel": "user", "client_id": "", "timestamp": "2026-08-09T21:05:48.5Z",
        "sequence_num": seq, "events": [{"type": kind, "orders": orders}]});
    Message::text(frame.to_string())
}

fn heartbeat(seq: u64, counter: u64) -> Message {
    let frame = json!({"channel": "heartbeats", "sequence_num": seq,
        "events": [{"current_time": "2026-08-09 21:05:48.8 +0000 UTC m=+1.0", "heartbeat_counter": counter}]});
    Message::text(frame.to_string())
}

fn config(addr: SocketAddr) -> UserConfig {
    let mut config = UserConfig::new(format!("ws://{addr}"));
    config.backoff_min = Duration::from_millis(50);
    config.backoff_max = Duration::from_millis(200);
    config.heartbeat_timeout = Duration::from_secs(5);
    config
}

type Events = mpsc::UnboundedReceiver<(u32, UserEvent)>;

fn start(config: UserConfig, key: Arc<ApiKey>) -> (Events, watch::Sender<bool>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let sink = move |conn_id: u32, event: UserEvent| {
        let _ = tx.send((conn_id, event));
    };
    tokio::spawn(run_user_channel(config, key, sink, shutdown));
    (rx, stop)
}

async fn next(events: &mut Events) -> (u32, UserEvent) {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
        .expect("client running")
}

async fn next_skipping_heartbeats(events: &mut Events) -> (u32, UserEvent) {
    loop {
        let event = next(events).await;
        if !matches!(event.1, UserEvent::Heartbeat { .. }) {
            return event;
        }
    }
}

#[tokio::test]
async fn snapshot_batches_arrive_as_one_snapshot_before_updates() {
    // Proves the subscribes (one channel each, fresh verified JWTs, product_ids only on
    // user), a 50+50+9 snapshot delivered once as 109 orders after the ack, then heartbeat
    // and update in order, and a clean Disconnected{Shutdown} at the end.
    let key = key();
    let public = key.public_key();
    let (checks_tx, mut checks) = mpsc::unbounded_channel();
    let (addr, _) = serve(move |_, mut ws| {
        let public = public.clone();
        let checks_tx = checks_tx.clone();
        async move {
            let subscribes = read_subscribes(&mut ws, &public).await;
            let _ = checks_tx.send(subscribes);
            let ack = json!({"channel":"subscriptions","sequence_num":0,"events":[{"subscriptions":{"user":["BTC-USD"],"heartbeats":["heartbeats"]}}]});
            let _ = ws.send(Message::text(ack.to_string())).await;
            let mut seq = 1;
            for (from, count) in [(0, 50), (50, 50), (100, 9)] {
                let orders = (from..from + count)
                    .map(|i| order_json(&format!("o{i}"), "OPEN", "0", "0", 0))
                    .collect();
                let _ = ws.send(user_frame(seq, "snapshot", orders)).await;
                seq += 1;
            }
            let _ = ws.send(heartbeat(seq, 41691)).await;
            let update = order_json("o3", "OPEN", "0.25", "0.01", 1);
            let _ = ws.send(user_frame(seq + 1, "update", vec![update])).await;
            while ws.next().await.is_some() {}
        }
    })
    .await;
    let mut config = config(addr);
    config.product_ids = vec!["BTC-USD".into()];
    let (mut events, stop) = start(config, key);
    assert_eq!(next(&mut events).await, (1, UserEvent::Connected));
    let subscribes = checks
        .recv()
        .await
        .expect("server ran")
        .expect("subscribes valid");
    assert_eq!(subscribes[0]["channel"], "user");
    assert_eq!(subscribes[0]["product_ids"], json!(["BTC-USD"]));
    assert_eq!(subscribes[1]["channel"], "heartbeats");
    assert!(subscribes[1].get("product_ids").is_none());
    assert_ne!(
        subscribes[0]["jwt"], subscribes[1]["jwt"],
        "a fresh token per message"
    );
    let (conn, UserEvent::Snapshot(orders)) = next(&mut events).await else {
        panic!("the snapshot comes first")
    };
    assert_eq!(conn, 1);
    assert_eq!(orders.len(), 109);
    assert!(
        orders
            .iter()
            .enumerate()
            .all(|(i, o)| o.order_id == format!("o{i}"))
    );
    assert_eq!(
        next(&mut events).await,
        (
            1,
            UserEvent::Heartbeat {
                counter: Some(41691)
            }
        )
    );
    let (_, UserEvent::Update(update)) = next(&mut events).await else {
        panic!("then the update")
    };
    assert_eq!(update[0].cumulative_quantity, Decimal::parse("0.25").ok());
    stop.send(true).expect("client alive");
    assert_eq!(
        next(&mut events).await,
        (
            1,
            UserEvent::Disconnected {
                reason: DisconnectReason::Shutdown
            }
        )
    );
}

#[tokio::test]
async fn a_gap_reconnects_and_fills_are_counted_once() {
    // Proves a forward sequence gap delivers the revealing frame, reports Gap{3,5}, reconnects
    // with a fresh snapshot, and a FillTracker fed every order sees each fill exactly once
    // (A fills fully in the gap frame and leaves the book; B is restated by both snapshots).
    let (addr, _) = serve(|n, mut ws| async move {
        let _ = read_subscribes_unchecked(&mut ws).await;
        if n == 1 {
            let b = order_json("B", "OPEN", "0.2", "0.002", 1);
            let a = order_json("A", "OPEN", "0", "0", 0);
            let _ = ws.send(user_frame(0, "snapshot", vec![a, b.clone()])).await;
            let a_half = order_json("A", "OPEN", "0.5", "0.005", 1);
            let _ = ws.send(user_frame(1, "update", vec![a_half.clone()])).await;
            let _ = ws.send(user_frame(2, "update", vec![a_half])).await;
            let a_done = order_json("A", "FILLED", "1", "0.01", 2);
            let _ = ws.send(user_frame(5, "update", vec![a_done])).await;
        } else {
            let b = order_json("B", "OPEN", "0.2", "0.002", 1);
            let _ = ws.send(user_frame(0, "snapshot", vec![b.clone()])).await;
            let _ = ws.send(user_frame(1, "update", vec![b])).await;
        }
        while ws.next().await.is_some() {}
    })
    .await;
    let (mut events, stop) = start(config(addr), key());
    let mut tracker = FillTracker::new();
    let mut seen = Vec::new();
    while seen.len() < 9 {
        let (conn, event) = next_skipping_heartbeats(&mut events).await;
        if let UserEvent::Snapshot(orders) | UserEvent::Update(orders) = &event {
            for order in orders {
                if let Some(delta) = tracker.observe(order) {
                    seen.push((
                        conn,
                        format!("{} +{}", delta.order_id, delta.delta.quantity),
                    ));
                }
            }
        }
        seen.push((conn, format!("{event:?}").chars().take(12).collect()));
    }
    let labels: Vec<String> = seen.iter().map(|(c, s)| format!("{c}:{s}")).collect();
    assert_eq!(
        labels,
        [
            "1:Connected",
            "1:B +0.2",
            "1:Snapshot([Us",
            "1:A +0.5",
            "1:Update([User",
            "1:Update([User",
            "1:A +0.5",
            "1:Update([User",
            "1:Gap { expect",
        ]
    );
    let mut rest = Vec::new();
    loop {
        let (conn, event) = next_skipping_heartbeats(&mut events).await;
        let done = conn == 2 && matches!(event, UserEvent::Update(_));
        if let UserEvent::Snapshot(orders) | UserEvent::Update(orders) = &event {
            assert!(
                orders.iter().all(|o| tracker.observe(o).is_none()),
                "no double count"
            );
        }
        rest.push((conn, event));
        if done {
            break;
        }
    }
    stop.send(true).expect("client alive");
    assert_eq!(
        next(&mut events).await,
        (
            2,
            UserEvent::Disconnected {
                reason: DisconnectReason::Shutdown
            }
        )
    );
    assert_eq!(
        rest[0],
        (
            1,
            UserEvent::Disconnected {
                reason: DisconnectReason::Gap
            }
        )
    );
    assert_eq!(rest[1], (2, UserEvent::Connected));
    assert!(matches!(&rest[2], (2, UserEvent::Snapshot(o)) if o.len() == 1));
    let a = tracker.totals("A").expect("A tracked").accounted;
    assert_eq!(a.quantity, Decimal::parse("1").expect("decimal"));
    assert_eq!(a.fills_count, 2);
    assert_eq!(tracker.totals("B").expect("B").accounted.fills_count, 1);
}

/// Reads two messages without checking them.
async fn read_subscribes_unchecked(ws: &mut Ws) -> Option<()> {
    ws.next().await?.ok()?;
    ws.next().await?.ok()?;
    Some(())
}

#[tokio::test]
async fn heartbeat_silence_reconnects() {
    // Proves a server that goes quiet is reported as Silence within the timeout and the
    // client reconnects (a second Connected).
    let (addr, _) = serve(|_, mut ws| async move {
        let _ = read_subscribes_unchecked(&mut ws).await;
        let _ = ws.send(user_frame(0, "snapshot", vec![])).await;
        let _ = ws.send(heartbeat(1, 10)).await;
        while ws.next().await.is_some() {}
    })
    .await;
    let mut config = config(addr);
    config.heartbeat_timeout = Duration::from_millis(300);
    let (mut events, stop) = start(config, key());
    let mut kinds = Vec::new();
    for _ in 0..6 {
        kinds.push(next(&mut events).await);
    }
    stop.send(true).expect("client alive");
    assert_eq!(kinds[0], (1, UserEvent::Connected));
    assert_eq!(kinds[1], (1, UserEvent::Snapshot(vec![])));
    assert_eq!(kinds[2], (1, UserEvent::Heartbeat { counter: Some(10) }));
    assert_eq!(kinds[3], (1, UserEvent::Silence));
    assert_eq!(
        kinds[4],
        (
            1,
            UserEvent::Disconnected {
                reason: DisconnectReason::Silence
            }
        )
    );
    assert_eq!(kinds[5], (2, UserEvent::Connected));
}

#[tokio::test]
async fn authentication_failure_backs_off_instead_of_spinning() {
    // Proves an "authentication failure" error frame is reported as AuthFailed, ends the
    // connection, and the client reconnects, backing off: over the 1.2 s after its
    // reconnect, with 100..400 ms backoff, at most a handful of connections are made (a
    // spinning client would make hundreds; a slow machine makes fewer, never more).
    let (addr, count) = serve(|_, mut ws| async move {
        let _ = read_subscribes_unchecked(&mut ws).await;
        let error = json!({"type": "error", "message": "authentication failure"});
        let _ = ws.send(Message::text(error.to_string())).await;
        while ws.next().await.is_some() {}
    })
    .await;
    let mut config = config(addr);
    config.backoff_min = Duration::from_millis(100);
    config.backoff_max = Duration::from_millis(400);
    let (mut events, stop) = start(config, key());
    assert_eq!(next(&mut events).await, (1, UserEvent::Connected));
    assert_eq!(
        next(&mut events).await,
        (
            1,
            UserEvent::AuthFailed {
                message: "authentication failure".into()
            }
        )
    );
    assert_eq!(
        next(&mut events).await,
        (
            1,
            UserEvent::Disconnected {
                reason: DisconnectReason::AuthFailed
            }
        )
    );
    assert_eq!(next(&mut events).await, (2, UserEvent::Connected));
    // No event marks "not spinning": 1.2 s have to pass (a lower bound on the window).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stop.send(true).expect("client alive");
    let connections = count.load(Ordering::SeqCst);
    assert!(
        (2..=6).contains(&connections),
        "{connections} connections in the 1.2 s after the reconnect"
    );
}

#[tokio::test]
async fn malformed_frames_are_reported_and_skipped() {
    // Proves unreadable frames become Malformed events naming the problem, the connection
    // stays up, and the next good frame is delivered.
    let (addr, count) = serve(|_, mut ws| async move {
        let _ = read_subscribes_unchecked(&mut ws).await;
        let _ = ws.send(user_frame(0, "snapshot", vec![])).await;
        let bad = json!({"channel":"user","sequence_num":1,"events":[{"type":"update",
            "orders":[{"order_id":"x","cumulative_quantity":"abc"}]}]});
        let _ = ws.send(Message::text(bad.to_string())).await;
        let _ = ws
            .send(Message::text("{\"channel\":\"user\",\"sequence_num\":2,"))
            .await;
        let good = order_json("y", "OPEN", "0", "0", 0);
        let _ = ws.send(user_frame(3, "update", vec![good])).await;
        while ws.next().await.is_some() {}
    })
    .await;
    let (mut events, stop) = start(config(addr), key());
    assert_eq!(next(&mut events).await.1, UserEvent::Connected);
    assert_eq!(next(&mut events).await.1, UserEvent::Snapshot(vec![]));
    let UserEvent::Malformed { error } = next(&mut events).await.1 else {
        panic!("malformed")
    };
    assert!(error.problem.contains("cumulative_quantity"), "{error}");
    assert!(matches!(
        next(&mut events).await.1,
        UserEvent::Malformed { .. }
    ));
    let (conn, UserEvent::Update(orders)) = next(&mut events).await else {
        panic!("the good update, no gap")
    };
    assert_eq!((conn, orders[0].order_id.as_str()), (1, "y"));
    stop.send(true).expect("client alive");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
