//! `coinbase-sim`'s order entry: a local stand-in for Advanced Trade's authenticated REST
//! order endpoints, on 127.0.0.1, for live-mode tests without the network.
//!
//! This first part serves `POST /orders`, `POST /orders/batch_cancel`, `POST /orders/edit`
//! `GET /orders/historical/{order_id}` and `GET /orders/historical/fills` (plus public
//! `GET /time`) and applies the rules that
//! matter to a client:
//! - every request needs `Authorization: Bearer <JWT>` that verifies against the configured
//!   key, with `uri` = `"METHOD api.coinbase.com/path"`; anything else is a plain-text 401;
//! - a private rate limit (30 requests/s by default) answered with 429 when exceeded;
//! - `client_order_id` idempotency: a create with a known id returns the existing order and
//!   creates nothing;
//! - product rules from the capture's products response: size and price on their
//!   increments, base size within min/max, trading not disabled; post-only orders that
//!   would cross the capture's book are rejected. Rejections are HTTP 200 with
//!   `success: false`, as Coinbase does.
//!
//! Orders execute against each product's book as the capture leaves it: market, IOC and FOK
//! orders and the crossing part of a limit order take liquidity (consuming the book, paying
//! the taker fee); what rests does not match later (replayed market data and the user
//! channel come next). Every request is logged with its verdict, for tests to inspect.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cmp::Reverse;
use tokio::net::TcpListener;
use tokio::sync::watch;
use traider_core::num::{DecimalDisplay, Increment};
use traider_gateways::coinbase::auth::{PublicKey, REST_URI_HOST, verify_jwt};
use traider_gateways::coinbase::orders::{BATCH_CANCEL_PATH, CREATE_ORDER_PATH, EDIT_ORDER_PATH};

use crate::replay_server::{BookMirror, ReplayData};

/// `GET /orders/historical/fills`.
pub const FILLS_PATH: &str = "/api/v3/brokerage/orders/historical/fills";
/// Path prefix of `GET /orders/historical/{order_id}`.
pub const GET_ORDER_PREFIX: &str = "/api/v3/brokerage/orders/historical/";
/// The venue's public time endpoint.
pub const TIME_PATH: &str = "/api/v3/brokerage/time";

/// Settings of the simulated venue.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Must be loopback; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The API key whose JWTs are accepted.
    pub key: PublicKey,
    /// Private requests allowed per second (Coinbase: 30).
    pub private_rate_per_s: u32,
    /// Fee on taking liquidity, in basis points (Coinbase's entry tier: 60).
    pub taker_fee_bps: u32,
}

/// A product's trading rules, in integers.
#[derive(Clone, Debug)]
struct Rules {
    price_increment: Increment,
    base_increment: Increment,
    base_min_lots: i64,
    base_max_lots: i64,
    trading_disabled: bool,
}

/// A product's book at the venue: the capture's book at its end, in ticks and lots, which
/// taking orders consume.
#[derive(Clone, Debug, Default)]
struct SimBook {
    bids: BTreeMap<Reverse<i64>, i64>,
    asks: BTreeMap<i64, i64>,
}

impl SimBook {
    fn best_bid(&self) -> Option<i64> {
        self.bids.keys().next().map(|Reverse(ticks)| *ticks)
    }

    fn best_ask(&self) -> Option<i64> {
        self.asks.keys().next().copied()
    }

    /// Lots available to a `buy` (or sell) at `limit` or better (`None`: any price).
    fn available(&self, buy: bool, limit: Option<i64>) -> i64 {
        if buy {
            self.asks
                .iter()
                .take_while(|(ticks, _)| limit.is_none_or(|l| **ticks <= l))
                .map(|(_, lots)| lots)
                .sum()
        } else {
            self.bids
                .iter()
                .take_while(|(Reverse(ticks), _)| limit.is_none_or(|l| *ticks >= l))
                .map(|(_, lots)| lots)
                .sum()
        }
    }

    /// Takes up to `lots` at `limit` or better, best price first; returns `(ticks, lots)`
    /// per level taken, and removes what it took from the book.
    fn take(&mut self, buy: bool, limit: Option<i64>, mut lots: i64) -> Vec<(i64, i64)> {
        let mut taken = Vec::new();
        while lots > 0 {
            let next = if buy {
                self.asks
                    .iter()
                    .next()
                    .map(|(t, l)| (*t, *l))
                    .filter(|(t, _)| limit.is_none_or(|l| *t <= l))
            } else {
                self.bids
                    .iter()
                    .next()
                    .map(|(Reverse(t), l)| (*t, *l))
                    .filter(|(t, _)| limit.is_none_or(|l| *t >= l))
            };
            let Some((ticks, size)) = next else { break };
            let fill = size.min(lots);
            lots -= fill;
            taken.push((ticks, fill));
            if buy {
                if fill == size {
                    self.asks.remove(&ticks);
                } else {
                    self.asks.insert(ticks, size - fill);
                }
            } else if fill == size {
                self.bids.remove(&Reverse(ticks));
            } else {
                self.bids.insert(Reverse(ticks), size - fill);
            }
        }
        taken
    }
}

/// One order at the simulated venue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimOrder {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    pub side: String,
    /// The `order_configuration` as received.
    pub configuration: Value,
    /// `OPEN`, `FILLED` or `CANCELLED`.
    pub status: String,
    pub filled_lots: i64,
    pub fills: u32,
}

/// One fill at the simulated venue (always taker: resting orders do not match later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFill {
    pub trade_id: String,
    pub order_id: String,
    pub product_id: String,
    pub side: String,
    pub price: String,
    pub size: String,
    pub commission: String,
}

/// One request the venue received, and what it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// HTTP status answered.
    pub status: u16,
    /// The key name of a verified token (`None`: refused before or at authentication).
    pub kid: Option<String>,
}

#[derive(Default)]
struct Book {
    books: BTreeMap<String, SimBook>,
    fills: Vec<SimFill>,
    orders: BTreeMap<String, SimOrder>,
    by_client_id: BTreeMap<String, String>,
    next_order: u64,
    next_fill: u64,
    requests: Vec<RequestLog>,
    recent: VecDeque<Instant>,
    created: u64,
}

struct Shared {
    config: SimConfig,
    rules: BTreeMap<String, Rules>,
    state: Mutex<Book>,
}

/// A running simulated venue.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl SimHandle {
    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.lock().requests.clone()
    }

    /// Every order the venue holds, by order id.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.lock().orders.values().cloned().collect()
    }

    /// Every fill, in order.
    pub fn fills(&self) -> Vec<SimFill> {
        self.lock().fills.clone()
    }

    /// Orders created (idempotent repeats do not count).
    pub fn orders_created(&self) -> u64 {
        self.lock().created
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        lock(&self.shared.state)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

fn lock(state: &Mutex<Book>) -> std::sync::MutexGuard<'_, Book> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Deserialize)]
struct ProductsBody {
    products: Vec<ProductJson>,
}

#[derive(Deserialize)]
struct ProductJson {
    product_id: String,
    #[serde(default)]
    price_increment: String,
    #[serde(default)]
    quote_increment: String,
    base_increment: String,
    base_min_size: String,
    base_max_size: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    trading_disabled: bool,
}

type Products = (BTreeMap<String, Rules>, BTreeMap<String, SimBook>);

/// The product rules of `data`, and each product's book at the capture's end.
fn rules_of(data: &ReplayData) -> anyhow::Result<Products> {
    let body = data
        .products_body
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the capture holds no products response"))?;
    let products: ProductsBody = serde_json::from_str(body)?;
    let mut book = BookMirror::new();
    for frame in &data.frames {
        for event in &frame.l2 {
            book.apply(event);
        }
    }
    let mut rules = BTreeMap::new();
    let mut books = BTreeMap::new();
    for product in products.products {
        let price_text = if product.price_increment.is_empty() {
            &product.quote_increment
        } else {
            &product.price_increment
        };
        let (Ok(price_increment), Ok(base_increment)) = (
            Increment::parse(price_text),
            Increment::parse(&product.base_increment),
        ) else {
            continue;
        };
        let lots = |text: &str| base_increment.parse_count(text.as_bytes()).ok();
        let (Some(base_min_lots), Some(base_max_lots)) =
            (lots(&product.base_min_size), lots(&product.base_max_size))
        else {
            continue;
        };
        let ticks = |text: &str| price_increment.parse_count(text.as_bytes()).ok();
        if let Some((bids, asks)) = book.levels(&product.product_id) {
            let mut sim = SimBook::default();
            for (price, size) in bids {
                if let (Some(t), Some(l)) = (ticks(price), lots(size)) {
                    sim.bids.insert(Reverse(t), l);
                }
            }
            for (price, size) in asks {
                if let (Some(t), Some(l)) = (ticks(price), lots(size)) {
                    sim.asks.insert(t, l);
                }
            }
            books.insert(product.product_id.clone(), sim);
        }
        rules.insert(
            product.product_id.clone(),
            Rules {
                price_increment,
                base_increment,
                base_min_lots,
                base_max_lots,
                trading_disabled: product.trading_disabled
                    || !product.status.eq_ignore_ascii_case("online"),
            },
        );
    }
    Ok((rules, books))
}

/// Binds `config.listen` and serves the order endpoints for the products of `data`.
pub async fn serve(config: SimConfig, data: &ReplayData) -> anyhow::Result<SimHandle> {
    anyhow::ensure!(
        config.listen.ip().is_loopback(),
        "refusing to listen on {}: only loopback addresses are allowed",
        config.listen
    );
    anyhow::ensure!(
        config.private_rate_per_s > 0,
        "private_rate_per_s must be positive"
    );
    let (rules, books) = rules_of(data)?;
    let shared = Arc::new(Shared {
        rules,
        config,
        state: Mutex::new(Book {
            books,
            ..Book::default()
        }),
    });
    let listener = TcpListener::bind(shared.config.listen).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route(CREATE_ORDER_PATH, post(create_order))
        .route(BATCH_CANCEL_PATH, post(batch_cancel))
        .route(EDIT_ORDER_PATH, post(edit_order))
        .route(FILLS_PATH, get(list_fills))
        .route(&format!("{GET_ORDER_PREFIX}{{order_id}}"), get(get_order))
        .route(TIME_PATH, get(crate::replay_server::rest::time))
        .with_state(Arc::clone(&shared));
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        if let Err(error) = serving.await {
            tracing::error!(%error, "coinbase-sim server failed");
        }
    });
    tracing::info!(%addr, "coinbase-sim bound");
    Ok(SimHandle { addr, shared, stop })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Why a request was refused before its handler ran.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    Unauthorized,
    RateLimited,
    /// The body is not the endpoint's JSON.
    BadBody,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
            Self::RateLimited => json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"error": "RATE_LIMIT_EXCEEDED", "code": 8, "message": "Too many requests", "details": []}),
            ),
            Self::BadBody => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "INVALID_ARGUMENT", "code": 3, "message": "the request body does not parse", "details": []}),
            ),
        }
    }
}

impl Shared {
    /// Authentication, then the rate limit; the key name of the verified token, or why the
    /// request is refused. Logs refusals; handlers log what they serve.
    fn admit(&self, method: &Method, path: &str, headers: &HeaderMap) -> Result<String, Refusal> {
        let uri = format!("{method} {REST_URI_HOST}{path}");
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let verified =
            token.and_then(|t| verify_jwt(t, &self.config.key, unix_now_s(), Some(&uri)).ok());
        let mut state = lock(&self.state);
        let Some(verified) = verified else {
            state.requests.push(RequestLog {
                method: method.to_string(),
                path: path.to_owned(),
                status: 401,
                kid: None,
            });
            return Err(Refusal::Unauthorized);
        };
        let now = Instant::now();
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            state.recent.pop_front();
        }
        if state.recent.len() >= self.config.private_rate_per_s as usize {
            state.requests.push(RequestLog {
                method: method.to_string(),
                path: path.to_owned(),
                status: 429,
                kid: Some(verified.kid),
            });
            return Err(Refusal::RateLimited);
        }
        state.recent.push_back(now);
        Ok(verified.kid)
    }

    /// [`Self::admit`], then the body as the endpoint's JSON.
    fn admit_body<T: serde::de::DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<T, Refusal> {
        let kid = self.admit(method, path, headers)?;
        self.log_ok(method.as_str(), path, kid);
        serde_json::from_slice(body).map_err(|_| Refusal::BadBody)
    }

    fn log_ok(&self, method: &str, path: &str, kid: String) {
        lock(&self.state).requests.push(RequestLog {
            method: method.to_owned(),
            path: path.to_owned(),
            status: 200,
            kid: Some(kid),
        });
    }
}

#[derive(Deserialize)]
struct CreateBody {
    client_order_id: String,
    product_id: String,
    side: String,
    order_configuration: Value,
}

fn rejected(reason: &str, message: &str) -> Value {
    json!({
        "success": false,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": reason, "message": message, "error_details": "",
            "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
            "new_order_failure_reason": reason,
        },
    })
}

fn accepted(order: &SimOrder) -> Value {
    json!({
        "success": true,
        "success_response": {
            "order_id": order.order_id, "product_id": order.product_id,
            "side": order.side, "client_order_id": order.client_order_id,
        },
        "order_configuration": order.configuration,
    })
}

/// A new order, checked: what matching needs.
struct Checked {
    kind: String,
    buy: bool,
    lots: i64,
    /// `None` for a market order.
    limit_ticks: Option<i64>,
}

/// The venue's checks of a new order against its product's rules and book;
/// `Err((reason, message))` rejects it.
fn check_order(
    rules: &Rules,
    book: Option<&SimBook>,
    body: &CreateBody,
) -> Result<Checked, (&'static str, String)> {
    if rules.trading_disabled {
        return Err((
            "ORDER_ENTRY_DISABLED",
            "trading is disabled for this product".into(),
        ));
    }
    let buy = match body.side.as_str() {
        "BUY" => true,
        "SELL" => false,
        other => return Err(("INVALID_SIDE", format!("side {other:?}"))),
    };
    let (kind, fields) = body
        .order_configuration
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or((
            "UNSUPPORTED_ORDER_CONFIGURATION",
            "exactly one order configuration".into(),
        ))?;
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    let size = text("base_size").ok_or((
        "UNSUPPORTED_ORDER_CONFIGURATION",
        "base_size is required".into(),
    ))?;
    let lots = rules
        .base_increment
        .parse_count(size.as_bytes())
        .map_err(|_| {
            (
                "INVALID_SIZE_PRECISION",
                format!("base_size {size} is not on the base increment"),
            )
        })?;
    if lots < rules.base_min_lots || lots > rules.base_max_lots {
        return Err((
            "INVALID_SIZE",
            format!("base_size {size} is outside the product's min/max"),
        ));
    }
    if kind == "market_market_ioc" {
        return Ok(Checked {
            kind: kind.clone(),
            buy,
            lots,
            limit_ticks: None,
        });
    }
    let limits = [
        "limit_limit_gtc",
        "limit_limit_gtd",
        "limit_limit_fok",
        "sor_limit_ioc",
        "stop_limit_stop_limit_gtc",
    ];
    if !limits.contains(&kind.as_str()) {
        return Err((
            "UNSUPPORTED_ORDER_CONFIGURATION",
            format!("{kind} is not supported"),
        ));
    }
    let price =
        text("limit_price").ok_or(("INVALID_LIMIT_PRICE", "limit_price is required".into()))?;
    let ticks = rules
        .price_increment
        .parse_count(price.as_bytes())
        .map_err(|_| {
            (
                "INVALID_PRICE_PRECISION",
                format!("limit_price {price} is not on the price increment"),
            )
        })?;
    if ticks <= 0 {
        return Err(("INVALID_LIMIT_PRICE", "limit_price must be positive".into()));
    }
    let post_only = fields
        .get("post_only")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let crosses = if buy {
        book.and_then(SimBook::best_ask)
            .is_some_and(|ask| ticks >= ask)
    } else {
        book.and_then(SimBook::best_bid)
            .is_some_and(|bid| ticks <= bid)
    };
    if post_only && crosses {
        return Err((
            "INVALID_LIMIT_PRICE_POST_ONLY",
            "Post only limit order would cross the order book".into(),
        ));
    }
    Ok(Checked {
        kind: kind.clone(),
        buy,
        lots,
        limit_ticks: Some(ticks),
    })
}

/// Executes a new order against its product's book: market, IOC and FOK orders and the
/// crossing part of a limit GTC/GTD take liquidity (a FOK all or nothing); an IOC's or
/// market order's rest is cancelled, a limit order's rest rests (without matching later).
fn execute(
    config: &SimConfig,
    state: &mut Book,
    order: &mut SimOrder,
    rules: &Rules,
    checked: &Checked,
) {
    let takes = matches!(
        checked.kind.as_str(),
        "market_market_ioc"
            | "sor_limit_ioc"
            | "limit_limit_fok"
            | "limit_limit_gtc"
            | "limit_limit_gtd"
    );
    let Some(book) = state.books.get_mut(&order.product_id).filter(|_| takes) else {
        return;
    };
    let fill_or_kill = checked.kind == "limit_limit_fok";
    let immediate = matches!(checked.kind.as_str(), "market_market_ioc" | "sor_limit_ioc");
    if fill_or_kill && book.available(checked.buy, checked.limit_ticks) < checked.lots {
        order.status = "CANCELLED".to_owned();
        return;
    }
    for (ticks, lots) in book.take(checked.buy, checked.limit_ticks, checked.lots) {
        state.next_fill += 1;
        // Commission in quote units: price × size × bps / 10^4, exactly.
        let notional = i128::from(ticks)
            * i128::from(rules.price_increment.step)
            * i128::from(lots)
            * i128::from(rules.base_increment.step);
        let commission = DecimalDisplay {
            units: notional * i128::from(config.taker_fee_bps),
            scale: rules.price_increment.scale + rules.base_increment.scale + 4,
        };
        state.fills.push(SimFill {
            trade_id: format!("7e1d0000-0000-4000-8000-{:012x}", state.next_fill),
            order_id: order.order_id.clone(),
            product_id: order.product_id.clone(),
            side: order.side.clone(),
            price: rules.price_increment.display(ticks).to_string(),
            size: rules.base_increment.display(lots).to_string(),
            commission: commission.to_string(),
        });
        order.filled_lots += lots;
        order.fills += 1;
    }
    if order.filled_lots == checked.lots {
        order.status = "FILLED".to_owned();
    } else if immediate || fill_or_kill {
        order.status = "CANCELLED".to_owned();
    }
}

async fn create_order(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let create: CreateBody = match shared.admit_body(&method, CREATE_ORDER_PATH, &headers, &body) {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = lock(&shared.state);
    if let Some(existing) = state
        .by_client_id
        .get(&create.client_order_id)
        .and_then(|id| state.orders.get(id))
    {
        return json_response(StatusCode::OK, &accepted(existing));
    }
    let Some(rules) = shared.rules.get(&create.product_id) else {
        return json_response(
            StatusCode::OK,
            &rejected("INVALID_PRODUCT_ID", "unknown product"),
        );
    };
    let checked = match check_order(rules, state.books.get(&create.product_id), &create) {
        Ok(checked) => checked,
        Err((reason, message)) => {
            return json_response(StatusCode::OK, &rejected(reason, &message));
        }
    };
    state.next_order += 1;
    let mut order = SimOrder {
        order_id: format!("5a1e0000-0000-4000-8000-{:012x}", state.next_order),
        client_order_id: create.client_order_id.clone(),
        product_id: create.product_id,
        side: create.side,
        configuration: create.order_configuration,
        status: "OPEN".to_owned(),
        filled_lots: 0,
        fills: 0,
    };
    execute(&shared.config, &mut state, &mut order, rules, &checked);
    state.created += 1;
    state
        .by_client_id
        .insert(create.client_order_id, order.order_id.clone());
    let response = accepted(&order);
    state.orders.insert(order.order_id.clone(), order);
    json_response(StatusCode::OK, &response)
}

#[derive(Deserialize)]
struct CancelBody {
    order_ids: Vec<String>,
}

async fn batch_cancel(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cancel: CancelBody = match shared.admit_body(&method, BATCH_CANCEL_PATH, &headers, &body) {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = lock(&shared.state);
    let results: Vec<Value> = cancel
        .order_ids
        .iter()
        .map(|id| {
            let (success, reason) = match state.orders.get_mut(id) {
                Some(order) if order.status == "OPEN" => {
                    order.status = "CANCELLED".to_owned();
                    (true, "UNKNOWN_CANCEL_FAILURE_REASON")
                }
                Some(_) => (false, "DUPLICATE_CANCEL_REQUEST"),
                None => (false, "UNKNOWN_CANCEL_ORDER"),
            };
            json!({"success": success, "failure_reason": reason, "order_id": id})
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "results": results }))
}

async fn get_order(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    UrlPath(order_id): UrlPath<String>,
) -> Response {
    let path = format!("{GET_ORDER_PREFIX}{order_id}");
    let kid = match shared.admit(&method, &path, &headers) {
        Ok(kid) => kid,
        Err(refusal) => return refusal.into_response(),
    };
    shared.log_ok("GET", &path, kid);
    let state = lock(&shared.state);
    match state.orders.get(&order_id) {
        Some(order) => json_response(
            StatusCode::OK,
            &json!({"order": {
                "order_id": order.order_id, "client_order_id": order.client_order_id,
                "product_id": order.product_id, "side": order.side, "status": order.status,
                "order_configuration": order.configuration,
                "filled_size": shared.rules.get(&order.product_id)
                    .map_or_else(String::new, |r| r.base_increment.display(order.filled_lots).to_string()),
                "number_of_fills": order.fills.to_string(),
            }}),
        ),
        None => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "NOT_FOUND", "code": 5, "message": "order not found", "details": []}),
        ),
    }
}

#[derive(Deserialize)]
struct EditBody {
    order_id: String,
    price: String,
    size: String,
}

fn edit_rejected(reason: &str) -> Value {
    json!({"success": false, "errors": [{
        "edit_failure_reason": reason,
        "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
    }]})
}

/// `POST /orders/edit`: a new price and size for a resting limit GTC order, checked like a
/// new order (increments, min/max, post-only against the book); the order keeps its id.
async fn edit_order(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let edit: EditBody = match shared.admit_body(&method, EDIT_ORDER_PATH, &headers, &body) {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal.into_response(),
    };
    let mut state = lock(&shared.state);
    let Book { orders, books, .. } = &mut *state;
    let Some(order) = orders.get_mut(&edit.order_id) else {
        return json_response(StatusCode::OK, &edit_rejected("ORDER_NOT_FOUND"));
    };
    let Some(gtc) = order
        .configuration
        .get("limit_limit_gtc")
        .filter(|_| order.status == "OPEN")
        .cloned()
    else {
        return json_response(StatusCode::OK, &edit_rejected("INVALID_ORDER_STATUS"));
    };
    let mut fields = gtc;
    fields["limit_price"] = json!(edit.price);
    fields["base_size"] = json!(edit.size);
    let candidate = CreateBody {
        client_order_id: order.client_order_id.clone(),
        product_id: order.product_id.clone(),
        side: order.side.clone(),
        order_configuration: json!({"limit_limit_gtc": fields}),
    };
    let Some(rules) = shared.rules.get(&order.product_id) else {
        return json_response(StatusCode::OK, &edit_rejected("INVALID_PRODUCT_ID"));
    };
    if let Err((reason, _)) = check_order(rules, books.get(&candidate.product_id), &candidate) {
        return json_response(StatusCode::OK, &edit_rejected(reason));
    }
    order.configuration = candidate.order_configuration;
    json_response(StatusCode::OK, &json!({"success": true, "errors": []}))
}

/// `GET /orders/historical/fills?order_ids=...`: the fills of the given orders (all fills
/// without the parameter), in the order they happened.
async fn list_fills(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let kid = match shared.admit(&method, FILLS_PATH, &headers) {
        Ok(kid) => kid,
        Err(refusal) => return refusal.into_response(),
    };
    shared.log_ok("GET", FILLS_PATH, kid);
    let wanted =
        crate::replay_server::rest::query_values(query.as_deref().unwrap_or(""), "order_ids");
    let state = lock(&shared.state);
    let fills: Vec<Value> = state
        .fills
        .iter()
        .filter(|f| wanted.is_empty() || wanted.contains(&f.order_id))
        .map(|f| {
            json!({
                "entry_id": f.trade_id, "trade_id": f.trade_id, "order_id": f.order_id,
                "trade_type": "FILL", "price": f.price, "size": f.size,
                "commission": f.commission, "product_id": f.product_id,
                "liquidity_indicator": "TAKER", "size_in_quote": false, "side": f.side,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({"fills": fills, "cursor": ""}))
}
