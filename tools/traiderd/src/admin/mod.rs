//! The metrics and admin endpoint: Prometheus `/metrics`, `/health` and `/ready`, and the
//! authenticated JSON admin API under `/api/v1` described by `/openapi.json`.
//!
//! Runs on the daemon's I/O runtime, never on the hot thread: reads come from the status
//! snapshots the hot thread publishes ([`board`]), commands go into the input ring and the
//! journal like market data ([`api`]). Who may call it is `traider_admin_api::auth`'s
//! business; what it serves is configured in `[admin]` ([`crate::config::admin`]).

pub mod api;
pub mod board;
pub mod daemon;
pub mod metrics;
pub mod server;
