//! The admin API's handlers: authenticate, authorize, then read the status board or publish
//! a command into the input ring and wait for the engine's outcome.
//!
//! Every `/api/v1` request (and `/metrics` when it needs a token) is journaled with its
//! identity: a command is itself the journaled input; a read, or a request refused here, is
//! journaled as an audit input. The kill command passes the token and role checks only:
//! nothing else stands between it and the ring.
// The guards return the refusal's response itself (cold path, once per request).
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use traider_core::admin::{
    Actor, AdminCommand, AdminInput, AdminOutcome, Endpoint, Refusal, Source,
};
use traider_core::engine::StatusSnapshot;
use traider_core::input::InputKind;
use traider_core::pipeline::ring::InputProducer;

use super::board::{LatencyBoard, StatusBoard};
use crate::clock::unix_now_ns;
use crate::views;
use traider_admin_api::TOTP_HEADER;
use traider_admin_api::auth::{AuthError, Authenticator, Identity, Role};

/// Everything the handlers share.
pub struct AdminState {
    pub mode: &'static str,
    pub auth: Authenticator,
    pub status: StatusBoard,
    pub latency: LatencyBoard,
    producer: Mutex<InputProducer>,
    next_request: AtomicU32,
    pub metrics_public: bool,
    pub command_wait: Duration,
    pub started: Instant,
}

impl AdminState {
    pub fn new(
        mode: &'static str,
        auth: Authenticator,
        status: StatusBoard,
        latency: LatencyBoard,
        producer: InputProducer,
        metrics_public: bool,
        command_wait: Duration,
    ) -> Self {
        Self {
            mode,
            auth,
            status,
            latency,
            producer: Mutex::new(producer),
            // Random start: ids must not repeat ones the journal rebuilt into the engine's
            // recent outcomes before a restart (a match would answer for the wrong command).
            next_request: AtomicU32::new(random_u32()),
            metrics_public,
            command_wait,
            started: Instant::now(),
        }
    }

    /// Publishes an admin input; returns its request id.
    fn publish(&self, actor: Actor, command: AdminCommand) -> u32 {
        let request_id = self.next_request.fetch_add(1, Ordering::Relaxed).max(1);
        let bytes = AdminInput {
            actor,
            request_id,
            command,
        }
        .to_bytes();
        let mut producer = self
            .producer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        producer.publish(InputKind::Admin, 0, unix_now_ns(), &bytes);
        request_id
    }

    /// Journals a served read by `identity`.
    pub(super) fn audit_read(&self, identity: &Identity, endpoint: Endpoint) {
        self.audit(actor_of(Some(identity)), endpoint, 200, Refusal::Allowed);
    }

    fn audit(&self, actor: Actor, endpoint: Endpoint, status: u16, refusal: Refusal) {
        let command = AdminCommand::Audit {
            endpoint,
            status,
            refusal,
        };
        self.publish(actor, command);
    }

    /// Token, then role; a refusal is journaled and answered.
    pub(super) fn guard(
        &self,
        headers: &HeaderMap,
        endpoint: Endpoint,
        needed: Role,
    ) -> Result<Identity, Response> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let identity = self
            .auth
            .authenticate(authorization)
            .map_err(|e| self.refuse(None, endpoint, e))?;
        self.auth
            .authorize(&identity, needed)
            .map_err(|e| self.refuse(Some(&identity), endpoint, e))?;
        Ok(identity)
    }

    /// The second factor of `identity` from the request's `X-TOTP`.
    fn second_factor(
        &self,
        identity: &Identity,
        headers: &HeaderMap,
        endpoint: Endpoint,
    ) -> Result<(), Response> {
        let code = headers.get(TOTP_HEADER).and_then(|v| v.to_str().ok());
        self.auth
            .verify_totp(identity, code, unix_now_ns() / 1_000_000_000)
            .map_err(|e| self.refuse(Some(identity), endpoint, e))
    }

    fn refuse(
        &self,
        identity: Option<&Identity>,
        endpoint: Endpoint,
        error: AuthError,
    ) -> Response {
        let status = error.status();
        self.audit(actor_of(identity), endpoint, status, error.refusal());
        error_response(status, error.refusal().as_str(), &error.to_string())
    }

    fn bad_request(&self, identity: &Identity, endpoint: Endpoint, message: &str) -> Response {
        self.audit(actor_of(Some(identity)), endpoint, 400, Refusal::BadRequest);
        error_response(400, Refusal::BadRequest.as_str(), message)
    }

    /// Publishes `command` and waits for the engine's outcome.
    async fn command(&self, identity: &Identity, command: AdminCommand) -> Response {
        let request_id = self.publish(actor_of(Some(identity)), command);
        let deadline = Instant::now() + self.command_wait;
        loop {
            let snapshot = self.status.read();
            let found = snapshot
                .control
                .admin_recent
                .iter()
                .flatten()
                .find(|r| r.request_id == request_id);
            if let Some(record) = found {
                return outcome_response(command, request_id, record.outcome, &snapshot);
            }
            if Instant::now() >= deadline {
                let body = json!({"command": command.name(), "request_id": request_id, "outcome": "pending"});
                return (StatusCode::ACCEPTED, Json(body)).into_response();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

fn random_u32() -> u32 {
    let mut bytes = [0_u8; 4];
    // Without the OS's randomness, the clock's nanoseconds still differ between runs.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (unix_now_ns() as u32).to_le_bytes();
    }
    u32::from_le_bytes(bytes)
}

fn actor_of(identity: Option<&Identity>) -> Actor {
    let anonymous = || Actor::with("anonymous", Role::Viewer, Source::Api);
    let actor = match identity {
        Some(identity) => {
            Actor::with(&identity.name, identity.role, Source::Api).or_else(anonymous)
        }
        None => anonymous(),
    };
    actor.unwrap_or_else(Actor::system)
}

pub fn error_response(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn outcome_response(
    command: AdminCommand,
    request_id: u32,
    outcome: AdminOutcome,
    snapshot: &traider_core::engine::StatusSnapshot,
) -> Response {
    let refused = |status: u16, message: &str| error_response(status, outcome.as_str(), message);
    match outcome {
        AdminOutcome::Applied | AdminOutcome::NoChange => {
            let body = json!({
                "command": command.name(), "request_id": request_id, "outcome": outcome.as_str(),
                "trading_state": snapshot.control.state.state.as_str(),
                "strategy_enabled": snapshot.control.strategy_on,
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        AdminOutcome::RefusedRole => refused(403, "the engine refused: this role may not do that"),
        AdminOutcome::RefusedSecondFactor => {
            refused(403, "the engine refused: this needs the second factor")
        }
        AdminOutcome::RefusedValue => refused(409, "the engine refused the value"),
    }
}

type Shared = State<Arc<AdminState>>;

async fn read_view(
    state: &AdminState,
    headers: &HeaderMap,
    endpoint: Endpoint,
    view: impl FnOnce(&AdminState) -> Value,
) -> Response {
    let identity = match state.guard(headers, endpoint, Role::Viewer) {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let body = view(state);
    state.audit(actor_of(Some(&identity)), endpoint, 200, Refusal::Allowed);
    Json(body).into_response()
}

pub async fn status(State(state): Shared, headers: HeaderMap) -> Response {
    read_view(&state, &headers, Endpoint::Status, |s| {
        views::status_json(s.mode, &s.status.read())
    })
    .await
}

pub async fn positions(State(state): Shared, headers: HeaderMap) -> Response {
    read_view(&state, &headers, Endpoint::Positions, |s| {
        views::positions_json(&s.status.read())
    })
    .await
}

pub async fn orders(State(state): Shared, headers: HeaderMap) -> Response {
    read_view(&state, &headers, Endpoint::Orders, |s| {
        views::orders_json(&s.status.read())
    })
    .await
}

pub async fn limits(State(state): Shared, headers: HeaderMap) -> Response {
    read_view(&state, &headers, Endpoint::LimitsGet, |s| {
        views::limits_json(&s.status.read())
    })
    .await
}

/// A JSON body (or none); `Err` names what is wrong. Public for the fuzz targets.
pub fn body_json(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice::<Value>(body)
        .map_err(|e| format!("the body is not JSON: {e}"))
        .and_then(|v| {
            v.is_object()
                .then_some(v)
                .ok_or_else(|| "the body must be a JSON object".to_owned())
        })
}

/// A boolean field of a body, if present. Public for the fuzz targets.
pub fn bool_field(body: &Value, name: &str) -> Result<Option<bool>, String> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("{name} must be true or false, not {other}")),
    }
}

pub async fn kill(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let identity = match state.guard(&headers, Endpoint::Kill, Role::Operator) {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let flatten = match body_json(&body).and_then(|b| bool_field(&b, "flatten")) {
        Ok(flatten) => flatten.unwrap_or(false),
        Err(message) => return state.bad_request(&identity, Endpoint::Kill, &message),
    };
    state
        .command(&identity, AdminCommand::Kill { flatten })
        .await
}

pub async fn cancel_all(State(state): Shared, headers: HeaderMap) -> Response {
    match state.guard(&headers, Endpoint::CancelAll, Role::Operator) {
        Ok(identity) => state.command(&identity, AdminCommand::CancelAll).await,
        Err(refused) => refused,
    }
}

pub async fn resume(State(state): Shared, headers: HeaderMap) -> Response {
    let identity = match state.guard(&headers, Endpoint::Resume, Role::Admin) {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    if let Err(refused) = state.second_factor(&identity, &headers, Endpoint::Resume) {
        return refused;
    }
    let command = AdminCommand::Resume {
        second_factor: true,
    };
    state.command(&identity, command).await
}

pub async fn strategy(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    // Switching off takes an operator, on an admin with the second factor.
    let identity = match state.guard(&headers, Endpoint::Strategy, Role::Operator) {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let enabled = match body_json(&body).and_then(|b| bool_field(&b, "enabled")) {
        Ok(Some(enabled)) => enabled,
        Ok(None) => {
            let message = "give {\"enabled\": true|false}";
            return state.bad_request(&identity, Endpoint::Strategy, message);
        }
        Err(message) => return state.bad_request(&identity, Endpoint::Strategy, &message),
    };
    if enabled {
        if let Err(error) = state.auth.authorize(&identity, Role::Admin) {
            return state.refuse(Some(&identity), Endpoint::Strategy, error);
        }
        if let Err(refused) = state.second_factor(&identity, &headers, Endpoint::Strategy) {
            return refused;
        }
    }
    let command = AdminCommand::Strategy {
        enabled,
        second_factor: enabled,
    };
    state.command(&identity, command).await
}

/// Reads a `PUT /api/v1/limits` body (`{"limit", "instrument"?, "value"}`) against
/// `snapshot`; `Err` says what is wrong. Public for the fuzz targets.
pub fn parse_set_limit_body(
    snapshot: &StatusSnapshot,
    body: &[u8],
) -> Result<views::LimitChange, String> {
    let body = body_json(body)?;
    let text = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("{name} must be a string, not {other}")),
    };
    let limit = text("limit")?.ok_or("give \"limit\"")?;
    let value = text("value")?.ok_or("give \"value\"")?;
    let instrument = text("instrument")?;
    views::parse_limit_change(snapshot, &limit, instrument.as_deref(), &value)
}

pub async fn set_limit(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let identity = match state.guard(&headers, Endpoint::LimitsSet, Role::Admin) {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let change = match parse_set_limit_body(&state.status.read(), &body) {
        Ok(change) => change,
        Err(message) => return state.bad_request(&identity, Endpoint::LimitsSet, &message),
    };
    let loosens = change.limit.loosens(change.old, change.value);
    if loosens && let Err(refused) = state.second_factor(&identity, &headers, Endpoint::LimitsSet) {
        return refused;
    }
    let command = AdminCommand::SetLimit {
        limit: change.limit,
        instrument: change.instrument,
        value: change.value,
        second_factor: loosens,
    };
    state.command(&identity, command).await
}
