//! `coinbase-replay`: a local stand-in for Coinbase Advanced Trade's market-data endpoint that
//! serves a recorded cryptofeed capture over a real WebSocket (and the products/time REST
//! endpoints) on a loopback port, for tests, demos and paper runs without the network.
//!
//! Runs on a tokio runtime: axum's accept loop, one task per WebSocket connection (see
//! [`session`]) and axum's REST handlers. The capture is loaded and precomputed once
//! ([`ReplayData`]) and shared read-only.
//!
//! Behaviour per connection, independently: a subscribe is required within
//! `subscribe_timeout` (5 s, as on Coinbase) or the server closes; every (un)subscribe is
//! answered with a cumulative `subscriptions` ack; streaming starts once no further
//! subscribe came for `subscribe_settle`; recorded frames are filtered to the connection's
//! subscriptions; one `sequence_num` counter from 0 covers every message sent (the recorded
//! digits are patched, all other bytes are as recorded). Faults (`drop`, `disconnect`,
//! `stall`) apply to the FIRST connection the server accepts only, so a reconnecting client
//! gets a clean stream. Only loopback listen addresses are accepted.

pub mod book;
pub mod clock;
pub mod data;
pub mod messages;
pub mod rest;
mod session;

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use book::BookMirror;
pub use data::{ReplayData, ReplayFrame};

/// Largest client message accepted (subscribe messages are tiny).
const CLIENT_MESSAGE_BYTES_MAX: usize = 1 << 20;

/// How recorded frames are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Recorded `ts` deltas divided by [`ReplayConfig::speed`].
    Recorded,
    /// As fast as the socket takes them.
    Asap,
}

/// Injected faults, counted in outgoing `sequence_num`s of the first connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Messages that would carry these numbers are not sent (the counter still advances).
    pub drop_seqs: BTreeSet<u64>,
    /// Close the socket after the message carrying this number.
    pub disconnect_after_seq: Option<u64>,
    /// Send nothing more after this number; the socket stays open.
    pub stall_after_seq: Option<u64>,
}

/// Server settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayConfig {
    /// Must be a loopback address; port 0 picks a free one.
    pub listen: SocketAddr,
    pub pace: Pace,
    /// Playback speed factor for [`Pace::Recorded`] (> 0).
    pub speed: f64,
    pub faults: Faults,
    /// Start over from the first frame after the last one, instead of heartbeating.
    pub loop_playback: bool,
    pub subscribe_timeout: Duration,
    pub subscribe_settle: Duration,
    /// Interval of synthesized heartbeats after the recording.
    pub heartbeat_interval: Duration,
}

impl ReplayConfig {
    /// Defaults: recorded pace at speed 1, no faults, no loop, subscribe timeout 5 s,
    /// settle 50 ms, heartbeats every second.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            pace: Pace::Recorded,
            speed: 1.0,
            faults: Faults::default(),
            loop_playback: false,
            subscribe_timeout: Duration::from_secs(5),
            subscribe_settle: Duration::from_millis(50),
            heartbeat_interval: Duration::from_secs(1),
        }
    }

    pub fn validate(&self) -> Result<(), ReplayError> {
        if !self.listen.ip().is_loopback() {
            return Err(ReplayError::NotLoopback(self.listen));
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(ReplayError::Config(format!(
                "speed must be > 0, got {}",
                self.speed
            )));
        }
        if self.heartbeat_interval.is_zero() {
            return Err(ReplayError::Config(
                "heartbeat_interval must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Replay server failures.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Capture(#[from] traider_gateways::capture::CaptureError),
    #[error("capture recv frame {index}: {what}")]
    Frame { index: usize, what: String },
    #[error("capture products body: {0}")]
    Products(String),
    #[error("refusing to listen on {0}: only loopback addresses are allowed")]
    NotLoopback(SocketAddr),
    #[error("invalid replay config: {0}")]
    Config(String),
    #[error("listen on {addr}: {cause}")]
    Bind { addr: SocketAddr, cause: io::Error },
    #[error("server task failed: {0}")]
    Task(String),
}

impl ReplayError {
    /// Only a bind failure (port in use, say) may succeed on a later try.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Bind { .. })
    }
}

/// State shared by every handler and connection.
struct Shared {
    data: Arc<ReplayData>,
    config: ReplayConfig,
    /// WebSocket connections accepted so far (the first one gets the faults).
    connections: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

/// The running server. Dropping it (or [`ReplayHandle::shutdown`]) stops it and every
/// connection.
#[derive(Debug)]
pub struct ReplayHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<io::Result<()>>,
}

impl ReplayHandle {
    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(self) -> Result<(), ReplayError> {
        self.stop.send_replace(true);
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ReplayError::Task(error.to_string())),
            Err(error) => Err(ReplayError::Task(error.to_string())),
        }
    }
}

/// Entry point of the library API.
#[derive(Debug)]
pub struct ReplayServer;

impl ReplayServer {
    /// Binds `config.listen` and starts serving `data` on the current tokio runtime.
    pub async fn bind(
        config: ReplayConfig,
        data: Arc<ReplayData>,
    ) -> Result<(SocketAddr, ReplayHandle), ReplayError> {
        config.validate()?;
        let bind_error = |cause| ReplayError::Bind {
            addr: config.listen,
            cause,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            data,
            config,
            connections: AtomicU64::new(0),
            shutdown,
        });
        let mut stopped = stop.subscribe();
        let app = Router::new()
            .route(rest::PRODUCTS_PATH, get(rest::products))
            .route(rest::TIME_PATH, get(rest::time))
            .fallback(upgrade)
            .with_state(shared);
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        let task = tokio::spawn(async move { serving.await });
        tracing::info!(%addr, "coinbase-replay bound");
        Ok((addr, ReplayHandle { stop, task }))
    }
}

/// Any path that asks for a WebSocket upgrade gets a replay connection.
async fn upgrade(
    State(shared): State<Arc<Shared>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return (
            StatusCode::NOT_FOUND,
            "not found: use a WebSocket upgrade or a REST path",
        )
            .into_response();
    };
    let conn_index = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::info!(conn_index, "replay connection accepted");
    upgrade
        .max_message_size(CLIENT_MESSAGE_BYTES_MAX)
        .on_upgrade(move |socket| session::serve(socket, shared, conn_index))
}
