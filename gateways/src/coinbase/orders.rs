//! Advanced Trade order endpoints on the wire (docs/coinbase-advanced-trade.md §5.3-5.5):
//! request bodies built from the core's integer orders, and responses read exactly.
//!
//! - Prices and sizes go out as decimal strings made from ticks and lots with the product's
//!   increments (never through `f64`); `client_order_id` is the core's deterministic id, so
//!   a retried create is the same order at the venue.
//! - Create, cancel and edit answer **HTTP 200 with `success: false`** for business
//!   rejections: that is a [`CreateOutcome::Rejected`] with the venue's reason code, never
//!   an error. Transport-level problems are [`ApiError`]s: 401 (which Coinbase also uses
//!   when throttling), 429, 5xx, and the gRPC-gateway error body of other 4xx.
//! - Unknown reason codes are kept verbatim (the set is open-ended).

use serde::Deserialize;
use serde_json::{Value, json};
use traider_core::event::Side;
use traider_core::num::Increment;
use traider_core::order::{ClientOrderId, OrderRequest, TimeInForce};

/// Path of the create-order endpoint.
pub const CREATE_ORDER_PATH: &str = "/api/v3/brokerage/orders";
/// Path of the batch-cancel endpoint.
pub const BATCH_CANCEL_PATH: &str = "/api/v3/brokerage/orders/batch_cancel";
/// Path of the edit-order endpoint.
pub const EDIT_ORDER_PATH: &str = "/api/v3/brokerage/orders/edit";

/// What an order body needs to know of its product.
#[derive(Clone, Debug)]
pub struct ProductFormat {
    pub product_id: String,
    pub price_increment: Increment,
    pub base_increment: Increment,
}

/// Stop-limit trigger direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopDirection {
    Up,
    Down,
}

/// The `order_configuration` variants TRAIDER sends. Prices in ticks, sizes in lots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderConfiguration {
    /// `market_market_ioc`, sized in base.
    MarketIoc { size_lots: i64 },
    /// `limit_limit_gtc`.
    LimitGtc {
        price_ticks: i64,
        size_lots: i64,
        post_only: bool,
    },
    /// `limit_limit_gtd`; `end_time` is RFC 3339.
    LimitGtd {
        price_ticks: i64,
        size_lots: i64,
        post_only: bool,
        end_time: String,
    },
    /// `limit_limit_fok`.
    LimitFok { price_ticks: i64, size_lots: i64 },
    /// `sor_limit_ioc`: a limit IOC.
    LimitIoc { price_ticks: i64, size_lots: i64 },
    /// `stop_limit_stop_limit_gtc`.
    StopLimitGtc {
        price_ticks: i64,
        stop_ticks: i64,
        size_lots: i64,
        direction: StopDirection,
    },
}

impl OrderConfiguration {
    /// The configuration of one of the engine's orders.
    pub fn of(request: &OrderRequest) -> Self {
        match request.time_in_force {
            TimeInForce::GoodTillCancel => Self::LimitGtc {
                price_ticks: request.price_ticks,
                size_lots: request.size_lots,
                post_only: request.post_only,
            },
            TimeInForce::ImmediateOrCancel => Self::LimitIoc {
                price_ticks: request.price_ticks,
                size_lots: request.size_lots,
            },
        }
    }

    fn to_json(&self, product: &ProductFormat) -> Value {
        let price = |ticks: i64| product.price_increment.display(ticks).to_string();
        let size = |lots: i64| product.base_increment.display(lots).to_string();
        match self {
            Self::MarketIoc { size_lots } => {
                json!({"market_market_ioc": {"base_size": size(*size_lots)}})
            }
            Self::LimitGtc {
                price_ticks,
                size_lots,
                post_only,
            } => json!({"limit_limit_gtc": {
                "base_size": size(*size_lots), "limit_price": price(*price_ticks), "post_only": post_only,
            }}),
            Self::LimitGtd {
                price_ticks,
                size_lots,
                post_only,
                end_time,
            } => json!({"limit_limit_gtd": {
                "base_size": size(*size_lots), "limit_price": price(*price_ticks),
                "end_time": end_time, "post_only": post_only,
            }}),
            Self::LimitFok {
                price_ticks,
                size_lots,
            } => json!({"limit_limit_fok": {
                "base_size": size(*size_lots), "limit_price": price(*price_ticks),
            }}),
            Self::LimitIoc {
                price_ticks,
                size_lots,
            } => json!({"sor_limit_ioc": {
                "base_size": size(*size_lots), "limit_price": price(*price_ticks),
            }}),
            Self::StopLimitGtc {
                price_ticks,
                stop_ticks,
                size_lots,
                direction,
            } => json!({"stop_limit_stop_limit_gtc": {
                "base_size": size(*size_lots), "limit_price": price(*price_ticks),
                "stop_price": price(*stop_ticks),
                "stop_direction": match direction {
                    StopDirection::Up => "STOP_DIRECTION_STOP_UP",
                    StopDirection::Down => "STOP_DIRECTION_STOP_DOWN",
                },
            }}),
        }
    }
}

/// The body of `POST /orders`.
pub fn create_order_body(
    id: ClientOrderId,
    side: Side,
    product: &ProductFormat,
    configuration: &OrderConfiguration,
) -> Value {
    json!({
        "client_order_id": id.to_string(),
        "product_id": product.product_id,
        "side": match side { Side::Buy => "BUY", Side::Sell => "SELL" },
        "order_configuration": configuration.to_json(product),
    })
}

/// The body of `POST /orders/edit`: new price (ticks) and size (lots) of a resting order.
pub fn edit_order_body(
    order_id: &str,
    product: &ProductFormat,
    price_ticks: i64,
    size_lots: i64,
) -> Value {
    json!({
        "order_id": order_id,
        "price": product.price_increment.display(price_ticks).to_string(),
        "size": product.base_increment.display(size_lots).to_string(),
    })
}

/// The body of `POST /orders/batch_cancel`.
pub fn batch_cancel_body(order_ids: &[&str]) -> Value {
    json!({ "order_ids": order_ids })
}

/// A response that is not an answer to the request: what went wrong at the HTTP level.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: a bad token, or throttling (Coinbase answers some of it this way).
    #[error("HTTP 401 unauthorized: {0}")]
    Unauthorized(String),
    #[error("HTTP 429 rate limited: {0}")]
    RateLimited(String),
    #[error("HTTP {status} from the venue: {message}")]
    Server { status: u16, message: String },
    /// Another 4xx, with the gRPC-gateway error body's fields where it had one.
    #[error("HTTP {status} {error}: {message}")]
    Request {
        status: u16,
        error: String,
        message: String,
    },
    /// HTTP 200 whose body is not the documented shape.
    #[error("unexpected response body ({reason}): {snippet}")]
    Malformed { reason: String, snippet: String },
}

impl ApiError {
    /// Whether sending the same request again (with the same client order id) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized(_) | Self::RateLimited(_) | Self::Server { .. }
        )
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

/// Maps a non-200 status to its [`ApiError`]; `Ok(())` for 200.
pub fn check_status(status: u16, body: &[u8]) -> Result<(), ApiError> {
    if status == 200 {
        return Ok(());
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .map_or_else(|| snippet(body), |e| e.message.clone());
    Err(match status {
        401 => ApiError::Unauthorized(message),
        429 => ApiError::RateLimited(message),
        500..=599 => ApiError::Server { status, message },
        _ => ApiError::Request {
            status,
            error: parsed.map(|e| e.error).unwrap_or_default(),
            message,
        },
    })
}

fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Malformed {
        reason: e.to_string(),
        snippet: snippet(body),
    })
}

/// What the venue did with a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Accepted {
        order_id: String,
        client_order_id: String,
    },
    /// `success: false`: no order. `reason` is the most specific code the venue gave
    /// (`new_order_failure_reason`, else `failure_reason`, else `error_response.error`).
    Rejected { reason: String, message: String },
}

#[derive(Deserialize)]
struct CreateResponse {
    success: bool,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    success_response: Option<SuccessResponse>,
    #[serde(default)]
    error_response: Option<ErrorResponse>,
}

#[derive(Deserialize)]
struct SuccessResponse {
    order_id: String,
    #[serde(default)]
    client_order_id: String,
}

#[derive(Deserialize, Default)]
struct ErrorResponse {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_details: String,
    #[serde(default)]
    new_order_failure_reason: Option<String>,
}

/// A reason code that says something: not empty and not one of the venue's `UNKNOWN_*`
/// placeholders (`UNKNOWN_FAILURE_REASON`, `UNKNOWN_PREVIEW_FAILURE_REASON`, ...), which
/// accompany both successes and failures whose real code is in another field.
fn specific(reason: Option<&str>) -> Option<&str> {
    reason.filter(|r| !r.is_empty() && !r.starts_with("UNKNOWN_"))
}

/// Reads the answer to `POST /orders`.
pub fn parse_create_response(status: u16, body: &[u8]) -> Result<CreateOutcome, ApiError> {
    check_status(status, body)?;
    let response: CreateResponse = parse_body(body)?;
    if response.success {
        let accepted = response
            .success_response
            .ok_or_else(|| ApiError::Malformed {
                reason: "success without success_response".to_owned(),
                snippet: snippet(body),
            })?;
        return Ok(CreateOutcome::Accepted {
            order_id: accepted.order_id,
            client_order_id: accepted.client_order_id,
        });
    }
    let error = response.error_response.unwrap_or_default();
    let reason = specific(error.new_order_failure_reason.as_deref())
        .or(specific(response.failure_reason.as_deref()))
        .or(specific(Some(error.error.as_str())))
        .unwrap_or("UNKNOWN_FAILURE_REASON")
        .to_owned();
    let message = if error.message.is_empty() {
        error.error_details
    } else {
        error.message
    };
    Ok(CreateOutcome::Rejected { reason, message })
}

/// One order's answer to a batch cancel. A `success` means the cancel was *initiated*
/// (the order may still fill until the user channel says `CANCELLED`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CancelResult {
    pub success: bool,
    #[serde(default)]
    pub failure_reason: String,
    pub order_id: String,
}

#[derive(Deserialize)]
struct CancelResponse {
    results: Vec<CancelResult>,
}

/// Reads the answer to `POST /orders/batch_cancel`.
pub fn parse_cancel_response(status: u16, body: &[u8]) -> Result<Vec<CancelResult>, ApiError> {
    check_status(status, body)?;
    Ok(parse_body::<CancelResponse>(body)?.results)
}

/// What the venue did with an edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditOutcome {
    Accepted,
    /// The edit failure reasons, in the venue's order.
    Rejected {
        reasons: Vec<String>,
    },
}

#[derive(Deserialize)]
struct EditResponse {
    success: bool,
    #[serde(default)]
    errors: Vec<EditError>,
}

#[derive(Deserialize)]
struct EditError {
    #[serde(default)]
    edit_failure_reason: Option<String>,
    #[serde(default)]
    preview_failure_reason: Option<String>,
}

/// Reads the answer to `POST /orders/edit`.
pub fn parse_edit_response(status: u16, body: &[u8]) -> Result<EditOutcome, ApiError> {
    check_status(status, body)?;
    let response: EditResponse = parse_body(body)?;
    if response.success {
        return Ok(EditOutcome::Accepted);
    }
    let reasons = response
        .errors
        .iter()
        .filter_map(|e| {
            specific(e.edit_failure_reason.as_deref())
                .or(specific(e.preview_failure_reason.as_deref()))
                .map(str::to_owned)
        })
        .collect();
    Ok(EditOutcome::Rejected { reasons })
}
