//! The admin API's contract, shared by the daemon's endpoint (`traiderd`) and the operator's
//! client (`traiderctl`): who may call it ([`auth`]: roles, bearer tokens kept as SHA-256
//! digests, TOTP second factors), where ([`paths`]), and the OpenAPI document that describes
//! every request and answer ([`OPENAPI`]).
//!
//! Runs on the caller's thread (the endpoint's I/O runtime, or the CLI); nothing here touches
//! the hot path. The codes a refusal carries ([`traider_core::admin::Refusal`]) and the
//! endpoints an audit names ([`traider_core::admin::Endpoint`]) are the journal's, defined in
//! the core with every other journaled code.
#![deny(unsafe_code)]

pub mod auth;

pub use auth::Role;

/// The OpenAPI 3 document of the admin API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The header that carries a TOTP code.
pub const TOTP_HEADER: &str = "x-totp";

/// Where each endpoint is.
pub mod paths {
    pub const STATUS: &str = "/api/v1/status";
    pub const POSITIONS: &str = "/api/v1/positions";
    pub const ORDERS: &str = "/api/v1/orders";
    /// `GET` reads every limit, `PUT` sets one.
    pub const LIMITS: &str = "/api/v1/limits";
    pub const KILL: &str = "/api/v1/kill";
    pub const RESUME: &str = "/api/v1/resume";
    pub const CANCEL_ALL: &str = "/api/v1/cancel-all";
    pub const STRATEGY: &str = "/api/v1/strategy";
    pub const HEALTH: &str = "/health";
    pub const READY: &str = "/ready";
    pub const METRICS: &str = "/metrics";
    pub const OPENAPI: &str = "/openapi.json";
}
