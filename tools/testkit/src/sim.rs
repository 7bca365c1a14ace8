//! Helpers for the coinbase-sim tests: keys, a started sim, a raw WebSocket client that
//! sees every frame as sent, and signed REST GETs.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use traider_gateways::coinbase::auth::ApiKey;
use traider_gateways::coinbase::trading::TradingClient;
use traider_standins::replay::ReplayData;
use traider_standins::sim::{SimConfig, SimHandle, serve};

pub const KEY_NAME: &str = "organizations/sim/apiKeys/test";

/// A fresh Ed25519 key (random each run: no key material lives in the repository).
pub fn test_key() -> Arc<ApiKey> {
    let mut rng = fastrand::Rng::new();
    let secret: Vec<u8> = (0..32).map(|_| rng.u8(..)).collect();
    let secret = base64::engine::general_purpose::STANDARD.encode(secret);
    Arc::new(ApiKey::from_secret(KEY_NAME.into(), &secret).expect("test key"))
}

/// The recorded session, loaded once per test process for in-process stand-ins.
pub fn data() -> Arc<ReplayData> {
    static DATA: OnceLock<Arc<ReplayData>> = OnceLock::new();
    Arc::clone(
        DATA.get_or_init(|| {
            Arc::new(ReplayData::load(crate::data::capture()).expect("capture loads"))
        }),
    )
}

/// A sim on a free port with `tweak` applied to the defaults (rate 1000/s).
pub async fn start(
    data: &Arc<ReplayData>,
    key: &ApiKey,
    tweak: impl FnOnce(&mut SimConfig),
) -> SimHandle {
    let mut config = SimConfig::new("127.0.0.1:0".parse().expect("address"), key.public_key());
    config.private_rate_per_s = 1000;
    tweak(&mut config);
    serve(config, Arc::clone(data)).await.expect("sim starts")
}

/// A REST trading client of the venue at `addr` (`127.0.0.1:PORT`) signing with `key`,
/// whose requests time out after `timeout`.
pub fn client(addr: impl std::fmt::Display, key: &Arc<ApiKey>, timeout: Duration) -> TradingClient {
    TradingClient::new(&format!("http://{addr}"), Arc::clone(key), timeout).expect("client")
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A signed `GET path?query`; `(status, body)`.
pub async fn get(addr: SocketAddr, key: &ApiKey, path_and_query: &str) -> (u16, Value) {
    let token = key.rest_jwt("GET", path_and_query, now_s()).expect("token");
    let response = reqwest::Client::new()
        .get(format!("http://{addr}{path_and_query}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub struct Ws(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Ws {
    pub async fn connect(addr: SocketAddr) -> Self {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .expect("ws connects");
        Self(stream)
    }

    pub async fn send(&mut self, message: Value) {
        self.0
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Subscribes to a market channel the way the recorded client did.
    pub async fn subscribe(&mut self, channel: &str, products: &[&str]) {
        let message = json!({"type": "subscribe", "product_ids": products, "channel": channel});
        self.send(message).await;
    }

    pub async fn subscribe_user(&mut self, jwt: Option<String>) {
        let mut message = json!({"type": "subscribe", "channel": "user"});
        if let Some(jwt) = jwt {
            message["jwt"] = json!(jwt);
        }
        self.send(message).await;
    }

    /// The next text frame within `wait`; `None` on timeout; `Some(None)` when closed.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Option<String>> {
        loop {
            let next = tokio::time::timeout(wait, self.0.next()).await.ok()?;
            match next {
                Some(Ok(Message::Text(text))) => return Some(Some(text.to_string())),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_))) => panic!("the venue sends text only"),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Some(None),
            }
        }
    }

    /// The next text frame (10 s at most), as JSON.
    pub async fn next_json(&mut self) -> Value {
        let text = self
            .next_within(Duration::from_secs(10))
            .await
            .expect("a frame within 10 s")
            .expect("socket open");
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:.200}"))
    }

    /// Frames until one of `channel` arrives; returns it.
    pub async fn next_of(&mut self, channel: &str) -> Value {
        loop {
            let frame = self.next_json().await;
            if frame["channel"] == channel {
                return frame;
            }
        }
    }
}

/// The capture's recorded `recv` frames as `(recorder offset ns, parsed JSON)`.
pub fn recorded_frames() -> &'static [(u64, Value)] {
    static FRAMES: OnceLock<Vec<(u64, Value)>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let capture =
            traider_gateways::capture::load_frames(crate::data::capture()).expect("loads");
        let first = capture.frames.first().map_or(0, |f| f.0);
        capture
            .frames
            .into_iter()
            .map(|(ts, text)| (ts - first, serde_json::from_str(&text).expect("json")))
            .collect()
    })
}
