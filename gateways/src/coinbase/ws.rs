//! Coinbase Advanced Trade market-data WebSocket client.
//!
//! Runs on the market-data cold thread, inside a tokio runtime. It connects (rustls for
//! `wss://`, plain TCP for `ws://`), sends one subscribe message per channel, and hands every
//! text frame unchanged to a [`FrameSink`] (which publishes it to the hot path's input ring).
//! It never parses JSON: a byte-level envelope scan ([`super::subscribe`]) is enough to keep
//! the connection honest.
//!
//! Invariants:
//! - `conn_id` counts successful connects from 1; every `Connected` is followed by exactly
//!   one `Disconnected` for the same `conn_id`, after every frame of that connection.
//! - One `sequence_num` counter per connection across all channels; a forward gap sends
//!   `unsubscribe` + `subscribe` for `level2`, then reports `Resubscribed`. If fresh snapshots
//!   for every product do not arrive within `resync_timeout`, or a second gap happens
//!   meanwhile, the connection is dropped and reopened.
//! - No `heartbeats` frame within `heartbeat_timeout` reports `HeartbeatSilence` and
//!   reconnects (with no `heartbeats` subscription, any frame counts as a heartbeat).
//! - Reconnects back off exponentially with jitter; the backoff resets after a connection
//!   that stayed up for `healthy_after`.

mod session;
mod stats;

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::{self, protocol::WebSocketConfig};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use traider_core::input::FeedControl;

use session::Session;
pub use stats::{WsStats, WsStatsSnapshot};

/// Coinbase's public market-data endpoint.
pub const MARKET_DATA_URL: &str = "wss://advanced-trade-ws.coinbase.com";
/// The smallest message limit accepted: the real BTC-USD snapshot is one 5.1 MB frame.
pub const MAX_MESSAGE_BYTES_MIN: usize = 16 << 20;

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the client delivers what it receives. Called on the client's own task.
pub trait FrameSink: Send + 'static {
    /// One received text frame from connection `conn_id` (1, 2, ... one per successful connect).
    fn on_frame(&mut self, conn_id: u32, frame: &[u8]);
    /// A connection health change on `conn_id`.
    fn on_feed(&mut self, conn_id: u32, control: FeedControl);
}

/// Market-data client settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsConfig {
    /// `wss://...` or `ws://...`.
    pub url: String,
    pub product_ids: Vec<String>,
    /// Subscribe names (`level2`, not `l2_data`), one subscribe message each.
    pub channels: Vec<String>,
    pub heartbeat_timeout: Duration,
    /// How long fresh `level2` snapshots may take after a resubscribe.
    pub resync_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// A connection that stayed up this long resets the backoff.
    pub healthy_after: Duration,
    /// Largest accepted message and frame; at least [`MAX_MESSAGE_BYTES_MIN`].
    pub max_message_bytes: usize,
    pub connect_timeout: Duration,
}

impl WsConfig {
    /// Defaults: channels `level2, market_trades, ticker, heartbeats`, heartbeat timeout 5 s,
    /// resync 10 s, backoff 250 ms..30 s (reset after 30 s up), 64 MiB messages, connect 10 s.
    pub fn new(url: impl Into<String>, product_ids: Vec<String>) -> Self {
        Self {
            url: url.into(),
            product_ids,
            channels: ["level2", "market_trades", "ticker", "heartbeats"]
                .map(String::from)
                .into(),
            heartbeat_timeout: Duration::from_secs(5),
            resync_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(30),
            max_message_bytes: 64 << 20,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Checks the settings; [`MarketDataClient::new`] calls it.
    pub fn validate(&self) -> Result<(), WsError> {
        let fail = |why: &str| Err(WsError::Config(why.to_string()));
        if !(self.url.starts_with("ws://") || self.url.starts_with("wss://")) {
            return fail("url must start with ws:// or wss://");
        }
        if self.product_ids.is_empty() || self.product_ids.iter().any(String::is_empty) {
            return fail("product_ids must be non-empty strings");
        }
        if self.channels.is_empty() || self.channels.iter().any(String::is_empty) {
            return fail("channels must be non-empty strings");
        }
        if self.max_message_bytes < MAX_MESSAGE_BYTES_MIN {
            return fail("max_message_bytes must be at least 16 MiB");
        }
        if self.backoff_min.is_zero() || self.backoff_min > self.backoff_max {
            return fail("need 0 < backoff_min <= backoff_max");
        }
        if self.heartbeat_timeout.is_zero() || self.resync_timeout.is_zero() {
            return fail("heartbeat_timeout and resync_timeout must be positive");
        }
        Ok(())
    }

    fn has_channel(&self, name: &str) -> bool {
        self.channels.iter().any(|c| c == name)
    }
}

/// Market-data client failures.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("invalid market-data config: {0}")]
    Config(String),
    #[error("connect to {url} timed out after {timeout:?}")]
    ConnectTimeout { url: String, timeout: Duration },
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
}

impl WsError {
    /// Whether reconnecting may help. Config and URL errors never go away by themselves.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Config(_) => false,
            Self::ConnectTimeout { .. } => true,
            Self::WebSocket(error) => !matches!(error, tungstenite::Error::Url(_)),
        }
    }
}

/// Why one connection ended.
enum SessionEnd {
    Shutdown,
    Closed,
    Failed(WsError),
    HeartbeatSilence,
    ResyncFailed,
}

/// The market-data client; [`MarketDataClient::stats`] can be read while it runs.
pub struct MarketDataClient {
    config: WsConfig,
    stats: std::sync::Arc<WsStats>,
    /// rustls with the `ring` provider and the webpki roots, built once; plain TCP for ws://.
    connector: Connector,
}

impl std::fmt::Debug for MarketDataClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketDataClient")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl MarketDataClient {
    pub fn new(config: WsConfig) -> Result<Self, WsError> {
        config.validate()?;
        let connector = if config.url.starts_with("wss://") {
            Connector::Rustls(tls_config()?)
        } else {
            Connector::Plain
        };
        Ok(Self {
            config,
            stats: Default::default(),
            connector,
        })
    }

    /// Live counters, shared with the running client.
    pub fn stats(&self) -> std::sync::Arc<WsStats> {
        self.stats.clone()
    }

    /// Connects, streams and reconnects until `shutdown` becomes `true` (or its sender is
    /// dropped); then closes the socket and returns the sink. Errs only on a non-retryable
    /// error.
    pub async fn run<S: FrameSink>(
        self,
        mut sink: S,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<S, WsError> {
        let mut conn_id = 0u32;
        let mut failures = 0u32;
        loop {
            if *shutdown.borrow() {
                return Ok(sink);
            }
            let connected = tokio::select! {
                biased;
                _ = shutdown_requested(&mut shutdown) => return Ok(sink),
                connected = self.connect() => connected,
            };
            match connected {
                Ok(stream) => {
                    conn_id += 1;
                    let started = Instant::now();
                    let end = self
                        .session(stream, conn_id, &mut sink, &mut shutdown)
                        .await;
                    sink.on_feed(conn_id, FeedControl::Disconnected);
                    failures = if started.elapsed() >= self.config.healthy_after {
                        0
                    } else {
                        failures
                    };
                    match end {
                        SessionEnd::Shutdown => return Ok(sink),
                        SessionEnd::Failed(error) if !error.is_retryable() => return Err(error),
                        SessionEnd::Failed(error) => {
                            tracing::warn!(conn_id, %error, "market-data connection failed");
                        }
                        SessionEnd::Closed => {
                            tracing::warn!(conn_id, "market-data connection closed")
                        }
                        SessionEnd::HeartbeatSilence | SessionEnd::ResyncFailed => {}
                    }
                }
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, url = %self.config.url, "market-data connect failed")
                }
            }
            let delay = backoff_delay(&self.config, failures);
            failures = failures.saturating_add(1);
            self.stats.add_reconnect();
            tracing::info!(delay_ms = delay.as_millis() as u64, "market-data reconnect");
            tokio::select! {
                biased;
                _ = shutdown_requested(&mut shutdown) => return Ok(sink),
                () = sleep(delay) => {}
            }
        }
    }

    async fn connect(&self) -> Result<WsStream, WsError> {
        let limit = Some(self.config.max_message_bytes);
        let ws_config = WebSocketConfig::default()
            .max_message_size(limit)
            .max_frame_size(limit);
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            self.config.url.as_str(),
            Some(ws_config),
            true,
            Some(self.connector.clone()),
        );
        let timeout_error = |_| WsError::ConnectTimeout {
            url: self.config.url.clone(),
            timeout: self.config.connect_timeout,
        };
        let (stream, _response) = timeout(self.config.connect_timeout, connecting)
            .await
            .map_err(timeout_error)??;
        Ok(stream)
    }

    async fn session<S: FrameSink>(
        &self,
        mut stream: WsStream,
        conn_id: u32,
        sink: &mut S,
        shutdown: &mut watch::Receiver<bool>,
    ) -> SessionEnd {
        self.stats.add_connect();
        sink.on_feed(conn_id, FeedControl::Connected);
        tracing::info!(conn_id, url = %self.config.url, "market-data connected");
        let mut session = Session::new(&self.config, &self.stats, conn_id);
        let end = match session.subscribe_all(&mut stream).await {
            Ok(()) => session.pump(&mut stream, sink, shutdown).await,
            Err(error) => SessionEnd::Failed(error),
        };
        if !matches!(end, SessionEnd::Closed) {
            let _ = timeout(Duration::from_secs(1), stream.close(None)).await;
        }
        end
    }
}

/// Runs a [`MarketDataClient`] to completion; see [`MarketDataClient::run`].
pub async fn run_market_data<S: FrameSink>(
    config: WsConfig,
    sink: S,
    shutdown: watch::Receiver<bool>,
) -> Result<S, WsError> {
    MarketDataClient::new(config)?.run(sink, shutdown).await
}

/// A TLS client config that names its crypto provider explicitly, so it never depends on
/// which rustls provider features other crates happen to enable.
pub(crate) fn tls_config() -> Result<std::sync::Arc<rustls::ClientConfig>, WsError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WsError::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// Resolves once shutdown is requested or its sender is gone.
pub(crate) async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// `backoff_min * 2^failures`, capped at `backoff_max`, plus up to 50 % jitter (still capped).
fn backoff_delay(config: &WsConfig, failures: u32) -> Duration {
    backoff_between(config.backoff_min, config.backoff_max, failures)
}

/// `min * 2^failures`, capped at `max`, plus up to 50 % jitter (still capped).
pub(crate) fn backoff_between(min: Duration, max: Duration, failures: u32) -> Duration {
    let base = min.saturating_mul(1u32 << failures.min(20)).min(max);
    base.mul_f64(1.0 + fastrand::f64() * 0.5).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter_and_caps() {
        // Proves delays start at backoff_min, double per failure with <= 50 % jitter, and cap.
        let mut config = WsConfig::new("ws://127.0.0.1:1", vec!["BTC-USD".into()]);
        config.backoff_min = Duration::from_millis(100);
        config.backoff_max = Duration::from_millis(1000);
        for _ in 0..200 {
            let first = backoff_delay(&config, 0);
            assert!(
                first >= config.backoff_min && first <= Duration::from_millis(150),
                "{first:?}"
            );
            let third = backoff_delay(&config, 2);
            assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(600));
            assert_eq!(backoff_delay(&config, 40), config.backoff_max);
        }
    }

    #[test]
    fn config_validation_rejects_unsafe_limits() {
        // Proves small message limits, non-ws URLs and inverted backoff are refused; wss builds TLS.
        let good = WsConfig::new(MARKET_DATA_URL, vec!["BTC-USD".into()]);
        assert!(good.validate().is_ok());
        let client =
            MarketDataClient::new(good.clone()).expect("wss config builds a TLS connector");
        assert!(matches!(client.connector, Connector::Rustls(_)));
        let mut small = good.clone();
        small.max_message_bytes = 10 << 20;
        assert!(matches!(small.validate(), Err(WsError::Config(_))));
        let mut http = good.clone();
        http.url = "https://advanced-trade-ws.coinbase.com".into();
        assert!(http.validate().is_err());
        let mut backwards = good;
        backwards.backoff_min = Duration::from_secs(60);
        assert!(backwards.validate().is_err());
        assert!(!WsError::Config(String::new()).is_retryable());
    }
}
