//! The capture as the replay server serves it, precomputed once at load: per received frame
//! its channel, product ids, recorded times, the byte span of its `sequence_num` digits and
//! (for `l2_data`) its parsed level changes; plus the products REST body and the last
//! recorded heartbeat. Loaded on the caller's thread, then shared read-only by every
//! connection task.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use traider_gateways::capture::{Capture, load_frames};

use super::ReplayError;
use super::book::{L2Event, LevelUpdate, Side, parse_decimal_key};
use super::clock::{parse_go_time, parse_rfc3339_ns};

/// One recorded `recv` frame, ready to serve.
#[derive(Clone, Debug)]
pub struct ReplayFrame {
    /// The frame text exactly as recorded.
    pub text: String,
    /// Recorder receive time (pacing).
    pub ts_ns: u64,
    /// Envelope `channel` (`l2_data`, not `level2`).
    pub channel: String,
    /// Product ids the frame's events name, first-seen order, no duplicates.
    pub products: Vec<String>,
    /// Byte range of the digits of the first `"sequence_num":` in `text`.
    pub sequence_digits: Option<Range<usize>>,
    /// Envelope `timestamp`, parsed.
    pub timestamp_ns: Option<u64>,
    /// Parsed `l2_data` events (empty for other channels).
    pub l2: Vec<L2Event>,
}

impl ReplayFrame {
    /// The frame text with its `sequence_num` replaced by `sequence_num`, everything else
    /// byte-identical.
    pub fn text_with_sequence(&self, sequence_num: u64) -> String {
        let Some(range) = &self.sequence_digits else {
            return self.text.clone();
        };
        let digits = sequence_num.to_string();
        let mut text = String::with_capacity(self.text.len() + digits.len());
        text.push_str(&self.text[..range.start]);
        text.push_str(&digits);
        text.push_str(&self.text[range.end..]);
        text
    }
}

/// The last recorded heartbeat, from which synthesized heartbeats continue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastHeartbeat {
    pub timestamp_ns: u64,
    pub wall_ns: u64,
    pub monotonic_ns: u64,
    pub counter: u64,
}

/// Everything the server serves, shared by all connections.
#[derive(Debug)]
pub struct ReplayData {
    pub frames: Vec<ReplayFrame>,
    /// The recorded products response, verbatim.
    pub products_body: Option<String>,
    /// `(product_id, product object verbatim)` from that body.
    products: Vec<(String, Box<RawValue>)>,
    pub last_heartbeat: LastHeartbeat,
    /// Envelope time of the first frame: the replay clock before anything was streamed.
    pub first_timestamp_ns: u64,
}

#[derive(Deserialize)]
struct WireFrame {
    channel: Option<String>,
    timestamp: Option<String>,
    #[serde(default)]
    events: Vec<WireEvent>,
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: Option<String>,
    product_id: Option<String>,
    #[serde(default)]
    updates: Vec<WireLevel>,
    #[serde(default)]
    trades: Vec<WireProduct>,
    #[serde(default)]
    tickers: Vec<WireProduct>,
    #[serde(default)]
    candles: Vec<WireProduct>,
    current_time: Option<String>,
    heartbeat_counter: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireLevel {
    side: String,
    event_time: String,
    price_level: String,
    new_quantity: String,
}

#[derive(Deserialize)]
struct WireProduct {
    product_id: Option<String>,
}

#[derive(Deserialize)]
struct WireProducts {
    products: Vec<Box<RawValue>>,
}

impl ReplayData {
    /// Loads and precomputes a cryptofeed capture.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ReplayError> {
        Self::from_capture(load_frames(path)?)
    }

    pub fn from_capture(capture: Capture) -> Result<Self, ReplayError> {
        let mut frames = Vec::with_capacity(capture.frames.len());
        let mut last_heartbeat = None;
        for (index, (ts_ns, text)) in capture.frames.into_iter().enumerate() {
            let fail = |what: String| ReplayError::Frame { index, what };
            let wire: WireFrame = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
            let (frame, heartbeat) = precompute(ts_ns, text, wire).map_err(fail)?;
            last_heartbeat = heartbeat.or(last_heartbeat);
            frames.push(frame);
        }
        let first_timestamp_ns = frames.iter().find_map(|f| f.timestamp_ns).unwrap_or(0);
        let last_timestamp_ns = frames
            .iter()
            .rev()
            .find_map(|f| f.timestamp_ns)
            .unwrap_or(0);
        let last_heartbeat = last_heartbeat.unwrap_or(LastHeartbeat {
            timestamp_ns: last_timestamp_ns,
            wall_ns: last_timestamp_ns,
            monotonic_ns: 0,
            counter: 0,
        });
        let products = match &capture.products_body {
            None => Vec::new(),
            Some(body) => parse_products(body)?,
        };
        Ok(Self {
            frames,
            products_body: capture.products_body,
            products,
            last_heartbeat,
            first_timestamp_ns,
        })
    }

    /// The products response filtered to `product_ids` (all of them, verbatim, when empty).
    pub fn products_json(&self, product_ids: &[String]) -> Option<String> {
        let body = self.products_body.as_ref()?;
        if product_ids.is_empty() {
            return Some(body.clone());
        }
        let selected: Vec<&RawValue> = self
            .products
            .iter()
            .filter(|(id, _)| product_ids.contains(id))
            .map(|(_, product)| &**product)
            .collect();
        let json = serde_json::json!({ "products": selected, "num_products": selected.len() });
        Some(json.to_string())
    }
}

fn parse_products(body: &str) -> Result<Vec<(String, Box<RawValue>)>, ReplayError> {
    let fail = |what: String| ReplayError::Products(what);
    let wire: WireProducts = serde_json::from_str(body).map_err(|e| fail(e.to_string()))?;
    wire.products
        .into_iter()
        .map(|product| {
            let id: WireProduct =
                serde_json::from_str(product.get()).map_err(|e| fail(e.to_string()))?;
            let id = id
                .product_id
                .ok_or_else(|| fail("a product without product_id".into()))?;
            Ok((id, product))
        })
        .collect()
}

fn precompute(
    ts_ns: u64,
    text: String,
    wire: WireFrame,
) -> Result<(ReplayFrame, Option<LastHeartbeat>), String> {
    let channel = wire.channel.unwrap_or_default();
    let timestamp_ns = wire.timestamp.as_deref().and_then(parse_rfc3339_ns);
    let mut products: Vec<String> = Vec::new();
    let mut add = |id: &Option<String>| {
        if let Some(id) = id.as_ref().filter(|id| !products.contains(id)) {
            products.push(id.clone());
        }
    };
    let mut l2 = Vec::new();
    let mut heartbeat = None;
    for event in &wire.events {
        add(&event.product_id);
        event
            .trades
            .iter()
            .chain(&event.tickers)
            .chain(&event.candles)
            .for_each(|p| add(&p.product_id));
        if channel == "l2_data" {
            l2.push(parse_l2_event(event)?);
        }
        if channel == "heartbeats" {
            heartbeat = Some(parse_heartbeat(event, timestamp_ns)?);
        }
    }
    let sequence_digits = sequence_digits(&text);
    let frame = ReplayFrame {
        text,
        ts_ns,
        channel,
        products,
        sequence_digits,
        timestamp_ns,
        l2,
    };
    Ok((frame, heartbeat))
}

fn parse_l2_event(event: &WireEvent) -> Result<L2Event, String> {
    let product_id = event
        .product_id
        .clone()
        .ok_or("l2_data event without product_id")?;
    let snapshot = match event.kind.as_deref() {
        Some("snapshot") => true,
        Some("update") => false,
        other => return Err(format!("l2_data event type {other:?}")),
    };
    let mut updates = Vec::with_capacity(event.updates.len());
    for level in &event.updates {
        let side = Side::parse(&level.side).ok_or_else(|| format!("l2 side {:?}", level.side))?;
        let price_key = parse_decimal_key(&level.price_level)
            .ok_or_else(|| format!("l2 price_level {:?}", level.price_level))?;
        let quantity_key = parse_decimal_key(&level.new_quantity)
            .ok_or_else(|| format!("l2 new_quantity {:?}", level.new_quantity))?;
        updates.push(LevelUpdate {
            side,
            price_key,
            price: Arc::from(level.price_level.as_str()),
            quantity: Arc::from(level.new_quantity.as_str()),
            delete: quantity_key == 0,
        });
    }
    let event_time = event
        .updates
        .first()
        .map_or("", |level| level.event_time.as_str());
    Ok(L2Event {
        product_id,
        snapshot,
        event_time: Arc::from(event_time),
        updates,
    })
}

fn parse_heartbeat(event: &WireEvent, timestamp_ns: Option<u64>) -> Result<LastHeartbeat, String> {
    let counter = match &event.heartbeat_counter {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or("heartbeat without a heartbeat_counter")?;
    let (wall_ns, monotonic_ns) = event
        .current_time
        .as_deref()
        .and_then(parse_go_time)
        .ok_or("heartbeat current_time is not Go time.String() form")?;
    Ok(LastHeartbeat {
        timestamp_ns: timestamp_ns.unwrap_or(wall_ns),
        wall_ns,
        monotonic_ns: monotonic_ns.unwrap_or(0),
        counter,
    })
}

/// The byte range of the digits after the first `"sequence_num":`.
fn sequence_digits(text: &str) -> Option<Range<usize>> {
    const KEY: &str = "\"sequence_num\":";
    let start = text.find(KEY)? + KEY.len();
    let count = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    (count > 0).then_some(start..start + count)
}

/// The subscribe name of an envelope channel (`l2_data` is subscribed as `level2`).
pub fn subscribe_name(channel: &str) -> &str {
    if channel == "l2_data" {
        "level2"
    } else {
        channel
    }
}
