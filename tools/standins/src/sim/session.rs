//! One WebSocket session at the simulated venue: market channels and/or the authenticated
//! `user` channel on the same socket, fed from the venue clock's one event stream.
//!
//! A subscribe must come within `subscribe_timeout`; every (un)subscribe is answered with a
//! cumulative `subscriptions` ack; one `sequence_num` counter from 0 covers every message
//! sent. A `level2` subscribe gets a snapshot of the venue's CURRENT book, then the replayed
//! updates after it; other market channels pass through as recorded from the subscribe on.
//! A `user` subscribe (JWT verified, no `uri` claim) gets the open orders in batches of 50,
//! then an `update` per change of one of our orders. The snapshot and the stream after it
//! are cut at the same venue event (`tick`), taken under the venue lock, so nothing is
//! missed or doubled. Faults of the scenario apply to the chosen market/user connection.
//!
//! Runs as one tokio task per connection plus a reader task that turns client frames into
//! commands.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Duration, Instant, sleep_until};
use traider_gateways::coinbase::auth::verify_jwt;

use super::faults::WsFaults;
use super::orders::user_order_json;
use super::venue::VenueEvent;
use super::{Shared, unix_now_s};
use crate::replay::clock::format_rfc3339_ns;
use crate::replay::data::subscribe_name;
use crate::replay::messages::{
    Command, ack_frame, error_frame, heartbeat_frame, parse_command, products_for,
};

/// Open orders per user-channel snapshot message.
pub const USER_SNAPSHOT_BATCH: usize = 50;

/// Why a session ended.
#[derive(Debug)]
enum Stop {
    ClientGone,
    Shutdown,
    SubscribeTimeout,
    FaultDisconnect,
    SendFailed,
    /// The session fell further behind the venue than the event buffer holds.
    Lagged,
}

/// What woke a session.
enum Wake {
    Stop(Stop),
    Request(Request),
    Event(Arc<VenueEvent>),
    Lagged,
}

/// A client frame: a command, plus the `jwt` field the replay's parser ignores.
struct Request {
    command: Command,
    jwt: Option<String>,
}

#[derive(Deserialize)]
struct JwtField {
    jwt: Option<String>,
}

/// Serves one upgraded connection until it ends.
pub(crate) async fn serve(socket: WebSocket, shared: Arc<Shared>, conn_index: u64) {
    let (tx, rx) = socket.split();
    let (command_tx, commands) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_requests(rx, command_tx));
    let events = shared.lock().events.subscribe();
    let mut session = Session {
        shared,
        conn_index,
        tx,
        commands,
        events,
        subscriptions: BTreeMap::new(),
        since: BTreeMap::new(),
        faults: WsFaults {
            connection: 0,
            ..WsFaults::default()
        },
        classified: false,
        next_seq: 0,
        stalled: false,
    };
    let stop = session.run().await;
    tracing::info!(
        conn_index,
        ?stop,
        sent = session.next_seq,
        "sim connection ended"
    );
    reader.abort();
}

async fn read_requests(mut rx: SplitStream<WebSocket>, requests: mpsc::UnboundedSender<Request>) {
    while let Some(Ok(message)) = rx.next().await {
        match message {
            Message::Text(text) => {
                let jwt = serde_json::from_str::<JwtField>(text.as_str())
                    .ok()
                    .and_then(|f| f.jwt);
                let command = parse_command(text.as_str());
                if requests.send(Request { command, jwt }).is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

struct Session {
    shared: Arc<Shared>,
    conn_index: u64,
    tx: SplitSink<WebSocket, Message>,
    commands: mpsc::UnboundedReceiver<Request>,
    events: broadcast::Receiver<Arc<VenueEvent>>,
    /// Subscribe name -> product ids (`["heartbeats"]`; the user channel's filter).
    subscriptions: BTreeMap<String, Vec<String>>,
    /// `channel` or `channel/product` -> the venue tick its stream starts after.
    since: BTreeMap<String, u64>,
    faults: WsFaults,
    /// Counted as a market or a user connection yet.
    classified: bool,
    next_seq: u64,
    stalled: bool,
}

/// The user channel's envelope, in the venue's field order.
#[derive(Serialize)]
struct UserEnvelope<'a> {
    channel: &'a str,
    timestamp: &'a str,
    sequence_num: u64,
    events: [UserEvent<'a>; 1],
}

#[derive(Serialize)]
struct UserEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    orders: &'a [Value],
    positions: Positions,
}

#[derive(Serialize)]
struct Positions {
    perpetual_futures_positions: [(); 0],
    expiring_futures_positions: [(); 0],
}

fn user_frame(timestamp: &str, sequence_num: u64, kind: &str, orders: &[Value]) -> String {
    let envelope = UserEnvelope {
        channel: "user",
        timestamp,
        sequence_num,
        events: [UserEvent {
            kind,
            orders,
            positions: Positions {
                perpetual_futures_positions: [],
                expiring_futures_positions: [],
            },
        }],
    };
    serde_json::to_string(&envelope).expect("strings and JSON values always serialize")
}

fn key(channel: &str, product: &str) -> String {
    format!("{channel}/{product}")
}

impl Session {
    async fn run(&mut self) -> Stop {
        let deadline = Instant::now() + self.shared.config.subscribe_timeout;
        loop {
            let subscribed = !self.subscriptions.is_empty() || self.classified;
            let timer = async {
                if subscribed {
                    std::future::pending().await
                } else {
                    sleep_until(deadline).await
                }
            };
            let mut shutdown = self.shared.shutdown.clone();
            let wake = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => Wake::Stop(Stop::Shutdown),
                request = self.commands.recv() => request.map_or(Wake::Stop(Stop::ClientGone), Wake::Request),
                event = self.events.recv() => match event {
                    Ok(event) => Wake::Event(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => Wake::Lagged,
                    Err(broadcast::error::RecvError::Closed) => Wake::Stop(Stop::Shutdown),
                },
                () = timer => Wake::Stop(Stop::SubscribeTimeout),
            };
            let step = match wake {
                Wake::Stop(stop) => Err(stop),
                Wake::Request(request) => self.handle(request).await,
                Wake::Event(event) => self.on_event(&event).await,
                Wake::Lagged if self.stalled => Ok(()),
                Wake::Lagged => Err(Stop::Lagged),
            };
            if let Err(stop) = step {
                if matches!(stop, Stop::SubscribeTimeout | Stop::Lagged) {
                    let reason = match stop {
                        Stop::Lagged => "slow consumer",
                        _ => "no subscribe message received within the time limit",
                    };
                    let close = CloseFrame {
                        code: close_code::POLICY,
                        reason: reason.into(),
                    };
                    let _ = self.tx.send(Message::Close(Some(close))).await;
                }
                return stop;
            }
        }
    }

    /// Whether venue event `tick` of `channel` (and `product`) is for this session.
    fn wants(&self, channel: &str, product: Option<&str>, tick: u64) -> bool {
        let Some(products) = self.subscriptions.get(channel) else {
            return false;
        };
        let since_key = match product {
            Some(p) if channel != "heartbeats" => {
                if !products.contains(&p.to_owned()) {
                    return false;
                }
                key(channel, p)
            }
            _ => channel.to_owned(),
        };
        self.since
            .get(&since_key)
            .is_some_and(|since| tick > *since)
    }

    async fn on_event(&mut self, event: &VenueEvent) -> Result<(), Stop> {
        match event {
            VenueEvent::Frame { tick, index } => {
                let data = Arc::clone(&self.shared.data);
                let Some(frame) = data.frames.get(*index) else {
                    return Ok(());
                };
                let channel = subscribe_name(&frame.channel);
                if frame.channel == "subscriptions" {
                    return Ok(());
                }
                let wanted = if frame.products.is_empty() {
                    self.wants(channel, None, *tick)
                } else {
                    frame
                        .products
                        .iter()
                        .any(|p| self.wants(channel, Some(p), *tick))
                };
                if wanted && let Some(seq) = self.take_sequence() {
                    self.deliver(seq, frame.text_with_sequence(seq)).await?;
                }
            }
            VenueEvent::Heartbeat {
                tick,
                timestamp_ns,
                current_time,
                counter,
            } => {
                if self.wants("heartbeats", None, *tick)
                    && let Some(seq) = self.take_sequence()
                {
                    let timestamp = format_rfc3339_ns(*timestamp_ns);
                    let text = heartbeat_frame(&timestamp, seq, current_time, *counter);
                    self.deliver(seq, text).await?;
                }
            }
            VenueEvent::Order {
                tick,
                product_id,
                order,
                timestamp_ns,
            } => {
                let filter_passes = self
                    .subscriptions
                    .get("user")
                    .is_some_and(|ids| ids.is_empty() || ids.contains(product_id));
                if filter_passes
                    && self.wants("user", None, *tick)
                    && let Some(seq) = self.take_sequence()
                {
                    let timestamp = format_rfc3339_ns(*timestamp_ns);
                    let text = user_frame(&timestamp, seq, "update", std::slice::from_ref(order));
                    self.deliver(seq, text).await?;
                }
            }
        }
        Ok(())
    }

    /// Counts this connection as a market or user connection at its first subscribe of
    /// such a channel, and takes the faults if it is the chosen one.
    fn classify(&mut self, channel: &str) {
        if self.classified || channel == "heartbeats" {
            return;
        }
        self.classified = true;
        let config = &self.shared.config.faults;
        let (counter, faults) = if channel == "user" {
            (&self.shared.user_conns, &config.user)
        } else {
            (&self.shared.market_conns, &config.market)
        };
        let ordinal = counter.fetch_add(1, Ordering::Relaxed) + 1;
        if ordinal == faults.connection {
            tracing::info!(
                conn_index = self.conn_index,
                channel,
                ordinal,
                "faults apply"
            );
            self.faults = faults.clone();
        }
    }

    async fn handle(&mut self, request: Request) -> Result<(), Stop> {
        let (subscribe, channel, requested) = match request.command {
            Command::Invalid(reason) => return self.send_error(&reason).await,
            Command::Subscribe {
                channel,
                product_ids,
            } => (true, channel, product_ids),
            Command::Unsubscribe {
                channel,
                product_ids,
            } => (false, channel, product_ids),
        };
        if channel == "user" {
            return self.handle_user(subscribe, requested, request.jwt).await;
        }
        let products = match products_for(&channel, requested, subscribe) {
            Ok(products) => products,
            Err(reason) => return self.send_error(&reason).await,
        };
        if !subscribe {
            self.unsubscribe(&channel, &products);
            return self.send_ack().await;
        }
        self.classify(&channel);
        let entry = self.subscriptions.entry(channel.clone()).or_default();
        for product in &products {
            if !entry.contains(product) {
                entry.push(product.clone());
            }
        }
        let Some(ack_seq) = self.take_sequence() else {
            return Ok(());
        };
        // Cut the stream and take the snapshots at one venue tick.
        let mut snapshots = Vec::new();
        let shared = Arc::clone(&self.shared);
        let ack = {
            let venue = shared.lock();
            let timestamp = format_rfc3339_ns(shared.clock.now_ns());
            for product in &products {
                let since_key = if channel == "heartbeats" {
                    channel.clone()
                } else {
                    key(&channel, product)
                };
                self.since.insert(since_key, venue.tick);
            }
            if channel == "level2" {
                for product in products.iter().filter(|p| venue.mirror.contains(p)) {
                    snapshots.push(product.clone());
                }
            }
            let mut texts = Vec::new();
            for product in &snapshots {
                if let Some(seq) = self.take_sequence()
                    && let Some(text) = venue.mirror.snapshot_frame(product, &timestamp, seq)
                {
                    texts.push((seq, text));
                }
            }
            (ack_frame(&timestamp, ack_seq, &self.subscriptions), texts)
        };
        self.deliver(ack_seq, ack.0).await?;
        for (seq, text) in ack.1 {
            self.deliver(seq, text).await?;
        }
        Ok(())
    }

    async fn handle_user(
        &mut self,
        subscribe: bool,
        requested: Option<Vec<String>>,
        jwt: Option<String>,
    ) -> Result<(), Stop> {
        let key = &self.shared.config.key;
        let verified = jwt
            .as_deref()
            .is_some_and(|t| verify_jwt(t, key, unix_now_s(), None).is_ok());
        if !verified {
            tracing::info!(
                conn_index = self.conn_index,
                "user channel: authentication failure"
            );
            return self.send_error("authentication failure").await;
        }
        if !subscribe {
            self.subscriptions.remove("user");
            return self.send_ack().await;
        }
        self.classify("user");
        let filter = requested.unwrap_or_default();
        self.subscriptions.insert("user".to_owned(), filter.clone());
        let Some(ack_seq) = self.take_sequence() else {
            return Ok(());
        };
        let shared = Arc::clone(&self.shared);
        let (timestamp, orders) = {
            let venue = shared.lock();
            self.since.insert("user".to_owned(), venue.tick);
            let taker = shared.config.taker_fee_bps;
            let orders: Vec<Value> = venue
                .ledger
                .orders
                .values()
                .filter(|o| o.is_open() && (filter.is_empty() || filter.contains(&o.product_id)))
                .filter_map(|o| {
                    let rules = shared.rules.get(&o.product_id)?;
                    Some(user_order_json(o, rules, taker))
                })
                .collect();
            (format_rfc3339_ns(shared.clock.now_ns()), orders)
        };
        let ack = ack_frame(&timestamp, ack_seq, &self.subscriptions);
        self.deliver(ack_seq, ack).await?;
        // Batches of 50; the first with fewer than 50 ends the snapshot (maybe empty).
        let mut start = 0;
        loop {
            let end = (start + USER_SNAPSHOT_BATCH).min(orders.len());
            let batch = &orders[start..end];
            if let Some(seq) = self.take_sequence() {
                self.deliver(seq, user_frame(&timestamp, seq, "snapshot", batch))
                    .await?;
            }
            if batch.len() < USER_SNAPSHOT_BATCH {
                return Ok(());
            }
            start = end;
        }
    }

    /// Removes `products` (all of the channel when empty) from `channel`.
    fn unsubscribe(&mut self, channel: &str, products: &[String]) {
        let Some(entry) = self.subscriptions.get_mut(channel) else {
            return;
        };
        entry.retain(|p| !products.is_empty() && !products.contains(p));
        if entry.is_empty() {
            self.subscriptions.remove(channel);
        }
    }

    async fn send_ack(&mut self) -> Result<(), Stop> {
        let Some(seq) = self.take_sequence() else {
            return Ok(());
        };
        let timestamp = format_rfc3339_ns(self.shared.clock.now_ns());
        let text = ack_frame(&timestamp, seq, &self.subscriptions);
        self.deliver(seq, text).await
    }

    /// Error frames carry no `sequence_num`, as on Coinbase.
    async fn send_error(&mut self, reason: &str) -> Result<(), Stop> {
        if self.stalled {
            return Ok(());
        }
        self.send_text(error_frame(reason)).await
    }

    /// The next outgoing `sequence_num` (skipping the scenario's gaps), or `None` once
    /// stalled.
    fn take_sequence(&mut self) -> Option<u64> {
        if self.stalled {
            return None;
        }
        while self.faults.skip_seqs.contains(&self.next_seq) {
            tracing::info!(
                conn_index = self.conn_index,
                seq = self.next_seq,
                "fault: skipping"
            );
            self.next_seq += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        Some(seq)
    }

    /// Sends the message carrying `seq`, applying the faults.
    async fn deliver(&mut self, seq: u64, text: String) -> Result<(), Stop> {
        if let Some(ms) = self.faults.delay_ms(seq) {
            tracing::info!(conn_index = self.conn_index, seq, ms, "fault: delaying");
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.faults.drop_seqs.contains(&seq) {
            tracing::info!(conn_index = self.conn_index, seq, "fault: dropping message");
        } else if self.faults.malformed_seqs.contains(&seq) {
            tracing::info!(
                conn_index = self.conn_index,
                seq,
                "fault: malformed message"
            );
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            self.send_text(text[..cut].to_owned()).await?;
        } else {
            self.send_text(text).await?;
        }
        if self.faults.disconnect_after_seq == Some(seq) {
            tracing::info!(conn_index = self.conn_index, seq, "fault: disconnecting");
            let close = CloseFrame {
                code: close_code::AWAY,
                reason: "sim fault: disconnect".into(),
            };
            let _ = self.tx.send(Message::Close(Some(close))).await;
            return Err(Stop::FaultDisconnect);
        }
        if self.faults.stall_after_seq == Some(seq) {
            tracing::info!(conn_index = self.conn_index, seq, "fault: stalling");
            self.stalled = true;
        }
        Ok(())
    }

    async fn send_text(&mut self, text: String) -> Result<(), Stop> {
        self.tx
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Stop::SendFailed)
    }
}
