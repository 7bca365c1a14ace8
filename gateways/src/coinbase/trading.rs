//! The authenticated Advanced Trade REST client for order entry (cold path, tokio): every
//! request gets a fresh JWT for its method and path, bodies and answers go through
//! [`super::orders`].
//!
//! Private requests pass a client-side rate limit ([`TradingClient::with_private_rate`]):
//! evenly spaced (GCRA, no burst) a little below the configured rate, so that no one-second
//! window at the venue sees more than the rate even with network jitter, and the venue
//! never needs to answer 429 in normal operation.
//!
//! A create whose answer never arrives (timeout, connection lost after sending) is
//! [`SendError::Unknown`]: the order may or may not exist at the venue. The caller keeps it
//! unknown until reconciled (or re-sends it with the same `client_order_id`, which the
//! venue treats as the same order); it is never assumed dead or alive.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use serde_json::Value;

use super::auth::{ApiKey, AuthError};
use super::orders::{
    ApiError, BATCH_CANCEL_PATH, CREATE_ORDER_PATH, CancelResult, CreateOutcome, EDIT_ORDER_PATH,
    EditOutcome, batch_cancel_body, check_status, parse_cancel_response, parse_create_response,
    parse_edit_response,
};

/// Why a request has no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The venue answered, and not with an outcome (401, 429, 5xx, other 4xx, bad body).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No answer: the request may or may not have taken effect.
    #[error("no answer from the venue ({0}); the request's outcome is unknown")]
    Unknown(String),
    /// The request never left (no token could be made).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Signs and sends order requests to one REST base URL.
#[derive(Clone)]
pub struct TradingClient {
    http: reqwest::Client,
    base_url: String,
    key: Arc<ApiKey>,
    /// Seconds since the Unix epoch, for the tokens' `nbf` (the venue's clock, ideally:
    /// see `GET /time`).
    now_s: fn() -> u64,
    /// The private endpoints' shared rate limit (`None`: unlimited).
    private_limit: Option<Arc<DefaultDirectRateLimiter>>,
}

/// Spacing margin of the client-side limit: requests leave at most at this fraction of the
/// configured rate, leaving room for jitter between here and the venue.
const RATE_MARGIN_PERCENT: u32 = 90;

fn system_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TradingClient {
    /// A client for `base_url` (`https://api.coinbase.com` or a local stand-in) whose
    /// requests time out after `timeout`.
    pub fn new(base_url: &str, key: Arc<ApiKey>, timeout: Duration) -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| SendError::Unknown(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
            now_s: system_now_s,
            private_limit: None,
        })
    }

    /// Limits private requests (every order endpoint) to `per_s` per second, evenly spaced.
    pub fn with_private_rate(mut self, per_s: NonZeroU32) -> Self {
        let spacing = Duration::from_secs(1) * 100 / (per_s.get() * RATE_MARGIN_PERCENT);
        let quota = Quota::with_period(spacing)
            .unwrap_or_else(|| Quota::per_second(per_s))
            .allow_burst(NonZeroU32::MIN);
        self.private_limit = Some(Arc::new(RateLimiter::direct(quota)));
        self
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), SendError> {
        if let Some(limit) = &self.private_limit {
            limit.until_ready().await;
        }
        let token = self.key.rest_jwt(method.as_str(), path, (self.now_s)())?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| SendError::Unknown(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::Unknown(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }

    /// `POST /orders` with `body` (from [`super::orders::create_order_body`]).
    pub async fn create_order(&self, body: &Value) -> Result<CreateOutcome, SendError> {
        let (status, bytes) = self
            .send(reqwest::Method::POST, CREATE_ORDER_PATH, Some(body))
            .await?;
        Ok(parse_create_response(status, &bytes)?)
    }

    /// `POST /orders/batch_cancel` for `order_ids`.
    pub async fn cancel_orders(&self, order_ids: &[&str]) -> Result<Vec<CancelResult>, SendError> {
        let body = batch_cancel_body(order_ids);
        let (status, bytes) = self
            .send(reqwest::Method::POST, BATCH_CANCEL_PATH, Some(&body))
            .await?;
        Ok(parse_cancel_response(status, &bytes)?)
    }

    /// `POST /orders/edit` with `body` (from [`super::orders::edit_order_body`]).
    pub async fn edit_order(&self, body: &Value) -> Result<EditOutcome, SendError> {
        let (status, bytes) = self
            .send(reqwest::Method::POST, EDIT_ORDER_PATH, Some(body))
            .await?;
        Ok(parse_edit_response(status, &bytes)?)
    }

    /// `GET /orders/historical/fills` for `order_id`: the fill objects (first page).
    pub async fn list_fills(&self, order_id: &str) -> Result<Vec<Value>, SendError> {
        let path = format!("/api/v3/brokerage/orders/historical/fills?order_ids={order_id}");
        match self.get_field(&path, "fills").await? {
            Value::Array(fills) => Ok(fills),
            other => Err(SendError::Api(ApiError::Malformed {
                reason: "fills is not an array".to_owned(),
                snippet: other.to_string().chars().take(200).collect(),
            })),
        }
    }

    /// `GET /orders/historical/{order_id}`: the order object.
    pub async fn get_order(&self, order_id: &str) -> Result<Value, SendError> {
        let path = format!("/api/v3/brokerage/orders/historical/{order_id}");
        self.get_field(&path, "order").await
    }

    /// A GET whose answer is a JSON object; returns its `field` (Malformed if absent).
    async fn get_field(&self, path: &str, field: &str) -> Result<Value, SendError> {
        let (status, bytes) = self.send(reqwest::Method::GET, path, None).await?;
        check_status(status, &bytes)?;
        let malformed = |reason: String| ApiError::Malformed {
            reason,
            snippet: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
        };
        let mut value: Value =
            serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        match value.get_mut(field) {
            Some(found) => Ok(found.take()),
            None => Err(SendError::Api(malformed(format!(
                "no \"{field}\" in the answer"
            )))),
        }
    }
}
