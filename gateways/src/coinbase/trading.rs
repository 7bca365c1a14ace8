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
//!
//! Reads ([`TradingClient::list_orders`], [`TradingClient::list_fills_paged`],
//! [`TradingClient::accounts`], [`TradingClient::best_bid_ask`]) share the signing and the
//! rate limit and follow cursors to the last page, up to the filter's page cap
//! ([`SendError::PageLimit`] beyond it: a truncated listing is never returned as complete).
//! [`TradingClient::server_time`] is public: unsigned and outside the private rate limit.

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
use super::reads::{
    ACCOUNTS_PATH, Account, BEST_BID_ASK_PATH, BestBidAsk, LIST_FILLS_PATH, LIST_ORDERS_PATH,
    PAGES_MAX_DEFAULT, Page, RestFill, RestOrder, SERVER_TIME_PATH, ServerTime,
    parse_accounts_page, parse_best_bid_ask, parse_fills_page, parse_orders_page,
    parse_server_time,
};
use super::user::OrderStatus;

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
    /// A listing had more pages than its cap; nothing is returned rather than a part.
    #[error("{path}: more than {pages} pages; listing abandoned")]
    PageLimit { path: String, pages: usize },
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
    /// Private requests that had to wait for the rate limit (shared by clones).
    rate_waits: Arc<std::sync::atomic::AtomicU64>,
}

/// Spacing margin of the client-side limit: requests leave at most at this fraction of the
/// configured rate, leaving room for jitter between here and the venue.
const RATE_MARGIN_PERCENT: u32 = 90;

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
            now_s: crate::clock::unix_now_s,
            private_limit: None,
            rate_waits: Arc::default(),
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

    /// Private requests so far that waited for the rate limit (demand above the rate).
    pub fn rate_waits(&self) -> u64 {
        self.rate_waits.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), SendError> {
        self.send_query(method, path, &[], body).await
    }

    /// A signed request with `query` pairs appended to `path` (the token signs the path
    /// alone, as Coinbase wants).
    async fn send_query(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), SendError> {
        if let Some(limit) = &self.private_limit
            && limit.check().is_err()
        {
            self.rate_waits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            limit.until_ready().await;
        }
        let token = self.key.rest_jwt(method.as_str(), path, (self.now_s)())?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .query(query)
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
    /// Every order matching `filter`, all pages (`has_next` / `cursor`).
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<RestOrder>, SendError> {
        let mut query = Vec::new();
        for status in filter.statuses.iter().filter_map(|s| s.as_query()) {
            query.push(("order_status", status.to_owned()));
        }
        push_all(&mut query, "order_ids", &filter.order_ids);
        push_all(&mut query, "product_ids", &filter.product_ids);
        push_limit(&mut query, filter.limit);
        self.get_pages(LIST_ORDERS_PATH, query, filter.pages_max, parse_orders_page)
            .await
    }

    /// Every fill matching `filter`, all pages (until the `cursor` comes back empty).
    pub async fn list_fills_paged(&self, filter: &FillFilter) -> Result<Vec<RestFill>, SendError> {
        let mut query = Vec::new();
        push_all(&mut query, "order_ids", &filter.order_ids);
        push_all(&mut query, "product_ids", &filter.product_ids);
        push_limit(&mut query, filter.limit);
        self.get_pages(LIST_FILLS_PATH, query, filter.pages_max, parse_fills_page)
            .await
    }

    /// Every account (balance) of the key, all pages.
    pub async fn accounts(&self) -> Result<Vec<Account>, SendError> {
        let query = vec![("limit", "250".to_owned())];
        self.get_pages(ACCOUNTS_PATH, query, PAGES_MAX_DEFAULT, parse_accounts_page)
            .await
    }

    /// The best bid and ask of `product_ids` (all products when empty).
    pub async fn best_bid_ask(&self, product_ids: &[&str]) -> Result<Vec<BestBidAsk>, SendError> {
        let query: Vec<(&str, String)> = product_ids
            .iter()
            .map(|id| ("product_ids", (*id).to_owned()))
            .collect();
        let (status, bytes) = self
            .send_query(reqwest::Method::GET, BEST_BID_ASK_PATH, &query, None)
            .await?;
        check_status(status, &bytes)?;
        Ok(parse_best_bid_ask(&bytes)?)
    }

    /// The venue's clock, from the public `GET /time` (unsigned, not rate-limited here).
    pub async fn server_time(&self) -> Result<ServerTime, SendError> {
        let response = self
            .http
            .get(format!("{}{SERVER_TIME_PATH}", self.base_url))
            .send()
            .await
            .map_err(|e| SendError::Unknown(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::Unknown(e.to_string()))?;
        check_status(status, &bytes)?;
        Ok(parse_server_time(&bytes)?)
    }

    /// GETs `path` page after page, passing each page's cursor to the next request.
    async fn get_pages<T>(
        &self,
        path: &str,
        query: Vec<(&'static str, String)>,
        pages_max: usize,
        parse: fn(&[u8]) -> Result<Page<T>, ApiError>,
    ) -> Result<Vec<T>, SendError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..pages_max.max(1) {
            let mut page_query = query.clone();
            if let Some(cursor) = &cursor {
                page_query.push(("cursor", cursor.clone()));
            }
            let (status, bytes) = self
                .send_query(reqwest::Method::GET, path, &page_query, None)
                .await?;
            check_status(status, &bytes)?;
            let page = parse(&bytes)?;
            items.extend(page.items);
            match page.next_cursor {
                None => return Ok(items),
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    return Err(SendError::Api(ApiError::Malformed {
                        reason: format!("cursor {next:?} repeats"),
                        snippet: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                    }));
                }
                Some(next) => cursor = Some(next),
            }
        }
        Err(SendError::PageLimit {
            path: path.to_owned(),
            pages: pages_max.max(1),
        })
    }
}

/// Which orders [`TradingClient::list_orders`] lists; empty lists mean "any".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFilter {
    /// `order_status`, repeated ([`OrderStatus::Unknown`] is skipped).
    pub statuses: Vec<OrderStatus>,
    pub order_ids: Vec<String>,
    pub product_ids: Vec<String>,
    /// Page size (`limit`); the venue's default when `None`.
    pub limit: Option<u32>,
    /// Pages followed before [`SendError::PageLimit`].
    pub pages_max: usize,
}

impl Default for OrderFilter {
    fn default() -> Self {
        Self {
            statuses: Vec::new(),
            order_ids: Vec::new(),
            product_ids: Vec::new(),
            limit: None,
            pages_max: PAGES_MAX_DEFAULT,
        }
    }
}

impl OrderFilter {
    /// The open orders of `product_ids` (all products when empty).
    pub fn open(product_ids: &[&str]) -> Self {
        Self {
            statuses: vec![OrderStatus::Open],
            product_ids: product_ids.iter().map(|p| (*p).to_owned()).collect(),
            ..Self::default()
        }
    }
}

/// Which fills [`TradingClient::list_fills_paged`] lists; empty lists mean "any".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillFilter {
    pub order_ids: Vec<String>,
    pub product_ids: Vec<String>,
    /// Page size (`limit`); the venue's default when `None`.
    pub limit: Option<u32>,
    /// Pages followed before [`SendError::PageLimit`].
    pub pages_max: usize,
}

impl Default for FillFilter {
    fn default() -> Self {
        Self {
            order_ids: Vec::new(),
            product_ids: Vec::new(),
            limit: None,
            pages_max: PAGES_MAX_DEFAULT,
        }
    }
}

impl FillFilter {
    /// The fills of `order_ids`.
    pub fn orders(order_ids: &[&str]) -> Self {
        Self {
            order_ids: order_ids.iter().map(|o| (*o).to_owned()).collect(),
            ..Self::default()
        }
    }
}

fn push_all(query: &mut Vec<(&'static str, String)>, key: &'static str, values: &[String]) {
    query.extend(values.iter().map(|v| (key, v.clone())));
}

fn push_limit(query: &mut Vec<(&'static str, String)>, limit: Option<u32>) {
    if let Some(limit) = limit {
        query.push(("limit", limit.to_string()));
    }
}
