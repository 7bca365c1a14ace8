//! The endpoint itself: routes, plain HTTP on loopback or HTTPS (rustls) anywhere, and the
//! unauthenticated probes (`/health`, `/ready`, `/openapi.json`).
//!
//! Runs on the daemon's I/O runtime (a cold thread); it reads the hot thread's state only
//! through the boards and talks to it only through the input ring.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use traider_journal::Syncer;

use super::api::{self, AdminState};
use super::metrics::{Extras, render};
use crate::config::admin::AdminConfig;
use traider_admin_api::auth::Role;
use traider_admin_api::paths;
use traider_core::admin::Endpoint;

/// The OpenAPI document served at `/openapi.json`.
pub use traider_admin_api::OPENAPI;

/// The hot path counts as stalled after this long without a new snapshot.
const STALLED_AFTER: Duration = Duration::from_secs(5);

/// A scrape waits this long for fresh latency copies from the hot thread.
const LATENCY_WAIT: Duration = Duration::from_millis(500);

struct Served {
    api: Arc<AdminState>,
    journal: Option<Syncer>,
}

type Shared = State<Arc<Served>>;

pub fn router(api: Arc<AdminState>, journal: Option<Syncer>) -> Router {
    let served = Arc::new(Served {
        api: Arc::clone(&api),
        journal,
    });
    let v1 = Router::new()
        .route(paths::STATUS, get(api::status))
        .route(paths::POSITIONS, get(api::positions))
        .route(paths::ORDERS, get(api::orders))
        .route(paths::LIMITS, get(api::limits).put(api::set_limit))
        .route(paths::KILL, post(api::kill))
        .route(paths::RESUME, post(api::resume))
        .route(paths::CANCEL_ALL, post(api::cancel_all))
        .route(paths::STRATEGY, post(api::strategy))
        .with_state(api);
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::READY, get(ready))
        .route(paths::METRICS, get(metrics))
        .route(paths::OPENAPI, get(openapi))
        .with_state(served)
        .merge(v1)
        .fallback(not_found)
}

async fn not_found() -> Response {
    api::error_response(404, "not_found", "no such endpoint: see /openapi.json")
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn health(State(served): Shared) -> Response {
    let quiet = served.api.status.quiet_for();
    let alive = quiet < STALLED_AFTER || served.api.started.elapsed() < STALLED_AFTER;
    let body = json!({"alive": alive, "hot_path_quiet_ms": quiet.as_millis() as u64});
    let status = if alive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Ready to trade: every instrument known and fresh, trading active, the strategy on, the
/// venue gate open; otherwise 503 with the reasons.
async fn ready(State(served): Shared) -> Response {
    let snapshot = served.api.status.read();
    let mut reasons = Vec::new();
    if snapshot.count == 0 {
        reasons.push("no status from the hot path yet".to_owned());
    }
    for status in snapshot.instruments() {
        if !status.tradable {
            reasons.push(format!("{}: rules not known", status.symbol));
        }
        if status.stale {
            reasons.push(format!("{}: book stale", status.symbol));
        }
    }
    let control = &snapshot.control;
    if control.state.state != traider_core::control::TradingState::Active {
        reasons.push(format!("trading {}", control.state.state.as_str()));
    }
    if !control.strategy_on {
        reasons.push("strategy off".to_owned());
    }
    if let Some(gate) = snapshot.gate_closed {
        reasons.push(format!("venue gate closed: {}", gate.as_str()));
    }
    let ready = reasons.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({"ready": ready, "reasons": reasons})),
    )
        .into_response()
}

async fn metrics(State(served): Shared, headers: HeaderMap) -> Response {
    let api = &served.api;
    let identity = if api.metrics_public {
        None
    } else {
        match api.guard(&headers, Endpoint::Metrics, Role::Viewer) {
            Ok(identity) => Some(identity),
            Err(refused) => return refused,
        }
    };
    let latency = api.latency.fresh(LATENCY_WAIT).await;
    let snapshot = api.status.read();
    let journal = served
        .journal
        .as_ref()
        .map(|s| (s.committed_seq(), s.durable_seq()));
    let extras = Extras {
        mode: api.mode,
        latency: &latency,
        quiet_s: api.status.quiet_for().as_secs_f64(),
        journal,
    };
    let text = render(&snapshot, &extras);
    if let Some(identity) = identity {
        api.audit_read(&identity, Endpoint::Metrics);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The running endpoint; dropping it does not stop it, [`AdminServer::stop`] does.
pub struct AdminServer {
    pub addr: SocketAddr,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
}

impl AdminServer {
    /// Binds `config.listen` and serves on `runtime`.
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        config: &AdminConfig,
        api: Arc<AdminState>,
        journal: Option<Syncer>,
    ) -> anyhow::Result<Self> {
        let _context = runtime.enter();
        let app = router(api, journal).into_make_service();
        let listener = std::net::TcpListener::bind(config.listen)
            .with_context(|| format!("admin endpoint: cannot listen on {}", config.listen))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let handle = axum_server::Handle::new();
        let task = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let tls = runtime
                    .block_on(axum_server::tls_rustls::RustlsConfig::from_pem_file(
                        cert, key,
                    ))
                    .with_context(|| {
                        format!(
                            "admin endpoint: cannot load the TLS certificate {} and key {}",
                            cert.display(),
                            key.display()
                        )
                    })?;
                let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
                runtime.spawn(async move {
                    if let Err(error) = server.serve(app).await {
                        tracing::error!(%error, "admin endpoint failed");
                    }
                })
            }
            _ => {
                let server = axum_server::from_tcp(listener)?.handle(handle.clone());
                runtime.spawn(async move {
                    if let Err(error) = server.serve(app).await {
                        tracing::error!(%error, "admin endpoint failed");
                    }
                })
            }
        };
        let scheme = if config.tls() { "https" } else { "http" };
        tracing::info!(url = %format!("{scheme}://{addr}"), "admin endpoint listening");
        Ok(Self { addr, handle, task })
    }

    /// Stops accepting, lets requests in flight finish (up to a second).
    pub fn stop(self, runtime: &tokio::runtime::Runtime) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(1)));
        let _ = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(2), self.task).await });
    }
}
