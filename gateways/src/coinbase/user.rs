//! Coinbase Advanced Trade user-channel client: the key's own orders, live
//! (docs/coinbase-advanced-trade.md §2.1-2.6).
//!
//! Runs on the gateway's cold thread inside a tokio runtime. It connects to the user-data
//! endpoint, sends one subscribe per channel (`user`, then `heartbeats`), each with a fresh
//! WebSocket JWT ([`ApiKey::ws_jwt`]), parses every frame ([`messages`]) and delivers
//! [`UserEvent`]s to a [`UserSink`] on its own task.
//!
//! Invariants (what the sink can rely on):
//! - `conn_id` counts successful connects from 1. Every [`UserEvent::Connected`] is
//!   followed, after every other event of that connection, by exactly one
//!   [`UserEvent::Disconnected`] with the same `conn_id`.
//! - Each connection delivers at most one [`UserEvent::Snapshot`], complete (all batches),
//!   before any [`UserEvent::Update`] of that connection.
//! - Order objects carry cumulative totals, not fills: feed both snapshots and updates to a
//!   [`super::fills::FillTracker`], which turns them into fill deltas without double
//!   counting across reconnects.
//! - A forward `sequence_num` gap means this connection lost user data: the frame that
//!   reveals it is still delivered, then [`UserEvent::Gap`], then the connection is closed
//!   and reopened (its new snapshot restates every open
//!   order; reconcile filled/cancelled ones over REST). Lower numbers are ignored.
//! - No heartbeat for `heartbeat_timeout`: [`UserEvent::Silence`], then reconnect.
//! - An error frame ends the connection: "authentication failure" (any message naming
//!   authentication) is [`UserEvent::AuthFailed`], others [`UserEvent::VenueError`]. Either
//!   way the reconnect backs off, so a bad key never makes the client spin.
//! - A frame that cannot be read is [`UserEvent::Malformed`] and is skipped (reconnecting
//!   would not make it readable); its sequence number still counts.
//! - Reconnects back off exponentially with jitter between `backoff_min` and `backoff_max`,
//!   forever until shutdown; the backoff resets after a connection that stayed up for
//!   `healthy_after` and did not end in an error frame.

pub mod messages;
mod session;
mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::{self, protocol::WebSocketConfig};

use super::auth::{ApiKey, AuthError};
use super::ws::{backoff_between, shutdown_requested, tls_config};
pub use messages::{
    MalformedFrame, OrderStatus, OrderType, UserBatch, UserEventKind, UserFrame, UserOrder,
    VenueTimeInForce, parse_side, parse_user_frame,
};
use session::Session;
pub use snapshot::SNAPSHOT_BATCH_ORDERS;

/// Coinbase's user-data endpoint.
pub const USER_DATA_URL: &str = "wss://advanced-trade-ws-user.coinbase.com";

/// What the user-channel client tells its sink, per connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserEvent {
    /// The socket is open and the subscribes are about to be sent.
    Connected,
    /// Every open order at subscribe time (all batches joined); may be empty.
    Snapshot(Vec<UserOrder>),
    /// Orders that changed, with their cumulative fields.
    Update(Vec<UserOrder>),
    /// A heartbeat arrived (the server's counter when it sent one).
    Heartbeat { counter: Option<u64> },
    /// `sequence_num` jumped from `expected` to `got`: user data was lost; a reconnect follows.
    Gap { expected: u64, got: u64 },
    /// No heartbeat within `heartbeat_timeout`; a reconnect follows.
    Silence,
    /// The venue refused the token or the key; a backed-off reconnect follows.
    AuthFailed { message: String },
    /// Another error frame from the venue; a backed-off reconnect follows.
    VenueError { message: String },
    /// A frame that could not be read (skipped).
    Malformed { error: MalformedFrame },
    /// The connection ended; always the connection's last event.
    Disconnected { reason: DisconnectReason },
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// Shutdown was requested.
    Shutdown,
    /// The server closed the socket.
    Closed,
    /// A sequence gap (see [`UserEvent::Gap`]).
    Gap,
    /// Heartbeat silence.
    Silence,
    /// An authentication error frame.
    AuthFailed,
    /// Another error frame.
    VenueError,
    /// A socket or token error, as text.
    Failed(String),
}

/// Where the client delivers what it sees; called on the client's task, in order.
pub trait UserSink: Send + 'static {
    /// One event of connection `conn_id` (1, 2, ... one per successful connect).
    fn on_event(&mut self, conn_id: u32, event: UserEvent);
}

impl<F: FnMut(u32, UserEvent) + Send + 'static> UserSink for F {
    fn on_event(&mut self, conn_id: u32, event: UserEvent) {
        self(conn_id, event)
    }
}

/// User-channel client settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserConfig {
    /// `wss://...` or `ws://...` ([`USER_DATA_URL`] live).
    pub url: String,
    /// Products to follow; empty = all products (the field is then omitted).
    pub product_ids: Vec<String>,
    pub heartbeat_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// A connection that stayed up this long (and did not end in an error frame) resets
    /// the backoff.
    pub healthy_after: Duration,
    pub connect_timeout: Duration,
    /// Largest accepted message and frame.
    pub max_message_bytes: usize,
}

impl UserConfig {
    /// Defaults: all products, heartbeat timeout 5 s, backoff 500 ms..60 s (reset after
    /// 30 s up), connect timeout 10 s, 16 MiB messages.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            product_ids: Vec::new(),
            heartbeat_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            healthy_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_message_bytes: 16 << 20,
        }
    }

    /// Checks the settings; [`UserChannelClient::new`] calls it.
    pub fn validate(&self) -> Result<(), UserError> {
        let fail = |why: &str| Err(UserError::Config(why.to_owned()));
        if !(self.url.starts_with("ws://") || self.url.starts_with("wss://")) {
            return fail("url must start with ws:// or wss://");
        }
        if self.product_ids.iter().any(String::is_empty) {
            return fail("product_ids must be non-empty strings");
        }
        if self.backoff_min.is_zero() || self.backoff_min > self.backoff_max {
            return fail("need 0 < backoff_min <= backoff_max");
        }
        if self.heartbeat_timeout.is_zero() || self.connect_timeout.is_zero() {
            return fail("heartbeat_timeout and connect_timeout must be positive");
        }
        if self.max_message_bytes < 1 << 20 {
            return fail("max_message_bytes must be at least 1 MiB");
        }
        Ok(())
    }
}

/// User-channel client failures.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("invalid user-channel config: {0}")]
    Config(String),
    #[error("connect to {url} timed out after {timeout:?}")]
    ConnectTimeout { url: String, timeout: Duration },
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl UserError {
    /// Whether reconnecting may help (config and URL errors never go away by themselves).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Config(_) => false,
            Self::ConnectTimeout { .. } | Self::Auth(_) => true,
            Self::WebSocket(error) => !matches!(error, tungstenite::Error::Url(_)),
        }
    }
}

/// The user-channel client.
pub struct UserChannelClient {
    config: UserConfig,
    key: Arc<ApiKey>,
    connector: Connector,
    /// Seconds since the Unix epoch for the tokens' `nbf`.
    now_s: fn() -> u64,
}

impl std::fmt::Debug for UserChannelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChannelClient")
            .field("config", &self.config)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl UserChannelClient {
    pub fn new(config: UserConfig, key: Arc<ApiKey>) -> Result<Self, UserError> {
        config.validate()?;
        let connector = if config.url.starts_with("wss://") {
            Connector::Rustls(tls_config().map_err(|e| UserError::Config(e.to_string()))?)
        } else {
            Connector::Plain
        };
        Ok(Self {
            config,
            key,
            connector,
            now_s: crate::clock::unix_now_s,
        })
    }

    /// Uses `now_s` (seconds since the Unix epoch, e.g. corrected by `GET /time`) for tokens.
    pub fn with_clock(mut self, now_s: fn() -> u64) -> Self {
        self.now_s = now_s;
        self
    }

    /// Connects, streams and reconnects until `shutdown` becomes `true` (or its sender is
    /// dropped); then returns the sink. Errs only on a non-retryable error.
    pub async fn run<S: UserSink>(
        self,
        mut sink: S,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<S, UserError> {
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
                    sink.on_event(conn_id, UserEvent::Connected);
                    tracing::info!(conn_id, url = %self.config.url, "user channel connected");
                    let mut session = Session::new(&self.config, &self.key, self.now_s, conn_id);
                    let reason = session.run(stream, &mut sink, &mut shutdown).await;
                    let refused = matches!(
                        reason,
                        DisconnectReason::AuthFailed | DisconnectReason::VenueError
                    );
                    let done = reason == DisconnectReason::Shutdown;
                    tracing::warn!(conn_id, ?reason, "user channel disconnected");
                    sink.on_event(conn_id, UserEvent::Disconnected { reason });
                    if done {
                        return Ok(sink);
                    }
                    if started.elapsed() >= self.config.healthy_after && !refused {
                        failures = 0;
                    }
                }
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, url = %self.config.url, "user channel connect failed")
                }
            }
            let delay = backoff_between(self.config.backoff_min, self.config.backoff_max, failures);
            failures = failures.saturating_add(1);
            tracing::info!(
                delay_ms = delay.as_millis() as u64,
                "user channel reconnect"
            );
            tokio::select! {
                biased;
                _ = shutdown_requested(&mut shutdown) => return Ok(sink),
                () = sleep(delay) => {}
            }
        }
    }

    async fn connect(&self) -> Result<session::UserStream, UserError> {
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
        let (stream, _response) = timeout(self.config.connect_timeout, connecting)
            .await
            .map_err(|_| UserError::ConnectTimeout {
                url: self.config.url.clone(),
                timeout: self.config.connect_timeout,
            })??;
        Ok(stream)
    }
}

/// Runs a [`UserChannelClient`] to completion; see [`UserChannelClient::run`].
pub async fn run_user_channel<S: UserSink>(
    config: UserConfig,
    key: Arc<ApiKey>,
    sink: S,
    shutdown: watch::Receiver<bool>,
) -> Result<S, UserError> {
    UserChannelClient::new(config, key)?
        .run(sink, shutdown)
        .await
}
