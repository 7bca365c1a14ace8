//! The venue's REST endpoints. Every private request goes through [`private`]: its fault
//! (by endpoint class and ordinal), authentication, the rate limit, the work under the
//! venue lock, the request log and the state save, in that order.
//!
//! Runs on axum's tokio tasks; the work itself is synchronous under the lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use traider_gateways::coinbase::auth::{REST_URI_HOST, verify_jwt};
use traider_gateways::coinbase::orders::{BATCH_CANCEL_PATH, CREATE_ORDER_PATH, EDIT_ORDER_PATH};

use super::faults::RestFaultKind;
use super::listener::Peer;
use super::orders::{
    check_order, failed_order_json, fill_json, hold_units, money_text, rest_order_json,
};
use super::venue::{Venue, VenueEvent};
use super::{
    ACCOUNTS_PATH, BEST_BID_ASK_PATH, FILLS_PATH, GET_ORDER_PREFIX, LIST_ORDERS_PATH, RequestLog,
    Shared, SimOrder, unix_now_s,
};
use crate::replay_server::clock::format_rfc3339_ns;
use crate::replay_server::rest::query_values;

/// How long a `timeout` fault holds a connection at most.
const HOLD_MAX: Duration = Duration::from_secs(600);

fn json_response(status: StatusCode, body: &Value) -> Response {
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (status, headers, body.to_string()).into_response()
}

fn error_body(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
    let body = json!({"error": error, "code": code, "message": message, "details": []});
    json_response(status, &body)
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "Unauthorized").into_response()
}

fn rate_limited() -> Response {
    let status = StatusCode::TOO_MANY_REQUESTS;
    error_body(status, "RATE_LIMIT_EXCEEDED", 8, "Too many requests")
}

fn bad_body() -> Response {
    let message = "the request body does not parse";
    error_body(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", 3, message)
}

fn status_fault(code: u16) -> Response {
    match code {
        401 => unauthorized(),
        429 => rate_limited(),
        503 => error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            14,
            "service unavailable",
        ),
        _ => error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            13,
            "internal error",
        ),
    }
}

/// Waits until the sim stops (or [`HOLD_MAX`]): a request that is never answered.
async fn hold(shared: &Shared) {
    let mut shutdown = shared.shutdown.clone();
    tokio::select! {
        _ = shutdown.wait_for(|stop| *stop) => {}
        () = tokio::time::sleep(HOLD_MAX) => {}
    }
}

/// What the locked part of a private request decided.
enum Verdict {
    Answer(Response),
    /// Close the connection without an answer.
    Drop,
    /// The work is done; never answer.
    Hold,
}

/// The prologue and epilogue of every private endpoint around `work`.
async fn private(
    shared: &Shared,
    peer: &Peer,
    endpoint: &'static str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    work: impl FnOnce(&Shared, &mut Venue) -> Response,
) -> Response {
    match decide(shared, endpoint, method, path, headers, work) {
        Verdict::Answer(response) => response,
        Verdict::Drop => {
            peer.close();
            hold(shared).await;
            status_fault(500)
        }
        Verdict::Hold => {
            hold(shared).await;
            status_fault(500)
        }
    }
}

/// Under the venue lock: the fault of this request, authentication, the rate limit, the
/// work, the request log and the state save.
fn decide(
    shared: &Shared,
    endpoint: &'static str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    work: impl FnOnce(&Shared, &mut Venue) -> Response,
) -> Verdict {
    let uri = format!("{method} {REST_URI_HOST}{path}");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let kid = token
        .and_then(|t| verify_jwt(t, &shared.config.key, unix_now_s(), Some(&uri)).ok())
        .map(|verified| verified.kid);
    let mut venue = shared.lock();
    let count = venue.rest_counts.entry(endpoint).or_default();
    *count += 1;
    let fault = shared.config.faults.rest_fault(endpoint, *count);
    let mut log = RequestLog {
        method: method.to_string(),
        path: path.to_owned(),
        endpoint: endpoint.to_owned(),
        status: 0,
        kid: None,
        fault: None,
    };
    match fault {
        Some(RestFaultKind::Status(code)) => {
            tracing::info!(endpoint, code, "fault: status");
            log.status = code;
            log.fault = Some(code.to_string());
            venue.requests.push(log);
            return Verdict::Answer(status_fault(code));
        }
        Some(RestFaultKind::Drop) => {
            tracing::info!(endpoint, "fault: dropping the connection");
            log.fault = Some("drop".to_owned());
            venue.requests.push(log);
            return Verdict::Drop;
        }
        Some(RestFaultKind::Timeout) | None => {}
    }
    let Some(kid) = kid else {
        log.status = 401;
        venue.requests.push(log);
        return Verdict::Answer(unauthorized());
    };
    log.kid = Some(kid);
    let now = Instant::now();
    while venue
        .recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        venue.recent.pop_front();
    }
    if venue.recent.len() >= shared.config.private_rate_per_s as usize {
        log.status = 429;
        venue.requests.push(log);
        return Verdict::Answer(rate_limited());
    }
    venue.recent.push_back(now);
    let response = work(shared, &mut venue);
    log.status = response.status().as_u16();
    let timeout = fault == Some(RestFaultKind::Timeout);
    if timeout {
        tracing::info!(endpoint, "fault: done, never answering");
        log.status = 0;
        log.fault = Some("timeout".to_owned());
    }
    venue.requests.push(log);
    shared.commit(&mut venue);
    if timeout {
        Verdict::Hold
    } else {
        Verdict::Answer(response)
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
        "failure_reason": reason,
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

pub(super) async fn create_order(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    private(
        &shared,
        &peer,
        "create",
        &method,
        CREATE_ORDER_PATH,
        &headers,
        |shared, venue| match serde_json::from_slice(&body) {
            Ok(create) => create_work(shared, venue, create),
            Err(_) => bad_body(),
        },
    )
    .await
}

fn create_work(shared: &Shared, venue: &mut Venue, create: CreateBody) -> Response {
    if let Some(existing) = venue
        .ledger
        .by_client_id
        .get(&create.client_order_id)
        .and_then(|id| venue.ledger.orders.get(id))
    {
        return json_response(StatusCode::OK, &accepted(existing));
    }
    let now_ns = shared.clock.now_ns();
    let checked = match shared.rules.get(&create.product_id) {
        None => Err(("INVALID_PRODUCT_ID", "unknown product".to_owned())),
        Some(rules) => check_order(
            rules,
            venue.books.get(&create.product_id),
            &create.side,
            &create.order_configuration,
        ),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err((reason, message)) => {
            let order = failed_order_json(
                &create.client_order_id,
                &create.product_id,
                &create.side,
                reason,
                now_ns,
            );
            let product_id = create.product_id.clone();
            venue.emit(|tick| VenueEvent::Order {
                tick,
                product_id,
                order,
                timestamp_ns: now_ns,
            });
            return json_response(StatusCode::OK, &rejected(reason, &message));
        }
    };
    venue.ledger.next_order += 1;
    let order_id = format!("5a1e0000-0000-4000-8000-{:012x}", venue.ledger.next_order);
    let order = SimOrder {
        order_id: order_id.clone(),
        client_order_id: create.client_order_id.clone(),
        product_id: create.product_id,
        side: create.side,
        configuration: create.order_configuration,
        kind: checked.kind.clone(),
        status: "OPEN".to_owned(),
        size_lots: checked.lots,
        limit_ticks: checked.limit_ticks,
        stop_ticks: checked.stop_ticks,
        post_only: checked.post_only,
        filled_lots: 0,
        fills: 0,
        filled_value: 0,
        total_fees: 0,
        created_ns: now_ns,
        cancel_reason: String::new(),
        end_time: checked.end_time.clone(),
    };
    venue.ledger.orders.insert(order_id.clone(), order);
    venue
        .ledger
        .by_client_id
        .insert(create.client_order_id, order_id.clone());
    venue.ledger.created += 1;
    let terms = shared.terms();
    venue.publish(&terms, &order_id, now_ns);
    venue.execute(&terms, &order_id, &checked, now_ns);
    venue.ledger.orders.get(&order_id).map_or_else(
        || status_fault(500),
        |order| json_response(StatusCode::OK, &accepted(order)),
    )
}

#[derive(Deserialize)]
struct CancelBody {
    order_ids: Vec<String>,
}

pub(super) async fn batch_cancel(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    private(
        &shared,
        &peer,
        "cancel",
        &method,
        BATCH_CANCEL_PATH,
        &headers,
        |shared, venue| {
            let Ok(cancel) = serde_json::from_slice::<CancelBody>(&body) else {
                return bad_body();
            };
            let now_ns = shared.clock.now_ns();
            let terms = shared.terms();
            let results: Vec<Value> = cancel
                .order_ids
                .iter()
                .map(|id| {
                    let (success, reason) = match venue.cancel(&terms, id, now_ns) {
                        Some(true) => (true, "UNKNOWN_CANCEL_FAILURE_REASON"),
                        Some(false) => (false, "DUPLICATE_CANCEL_REQUEST"),
                        None => (false, "UNKNOWN_CANCEL_ORDER"),
                    };
                    json!({"success": success, "failure_reason": reason, "order_id": id})
                })
                .collect();
            json_response(StatusCode::OK, &json!({ "results": results }))
        },
    )
    .await
}

pub(super) async fn get_order(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    UrlPath(order_id): UrlPath<String>,
) -> Response {
    let path = format!("{GET_ORDER_PREFIX}{order_id}");
    private(
        &shared,
        &peer,
        "get_order",
        &method,
        &path,
        &headers,
        |shared, venue| {
            let order = venue.ledger.orders.get(&order_id);
            match order.and_then(|o| Some((o, shared.rules.get(&o.product_id)?))) {
                Some((order, rules)) => {
                    let json = rest_order_json(order, rules, shared.config.taker_fee_bps);
                    json_response(StatusCode::OK, &json!({ "order": json }))
                }
                None => error_body(StatusCode::NOT_FOUND, "NOT_FOUND", 5, "order not found"),
            }
        },
    )
    .await
}

#[derive(Deserialize)]
struct EditBody {
    order_id: String,
    price: String,
    size: String,
}

fn edit_rejected(reason: &str) -> Response {
    let body = json!({"success": false, "errors": [{
        "edit_failure_reason": reason,
        "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
    }]});
    json_response(StatusCode::OK, &body)
}

pub(super) async fn edit_order(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    private(
        &shared,
        &peer,
        "edit",
        &method,
        EDIT_ORDER_PATH,
        &headers,
        |shared, venue| match serde_json::from_slice(&body) {
            Ok(edit) => edit_work(shared, venue, &edit),
            Err(_) => bad_body(),
        },
    )
    .await
}

/// A new price and size for a resting limit GTC order, checked like a new order
/// (increments, min/max, post-only against the book) and above what already filled; the
/// order keeps its id.
fn edit_work(shared: &Shared, venue: &mut Venue, edit: &EditBody) -> Response {
    let Some(order) = venue.ledger.orders.get(&edit.order_id) else {
        return edit_rejected("ORDER_NOT_FOUND");
    };
    let Some(mut fields) = order
        .configuration
        .get("limit_limit_gtc")
        .filter(|_| order.is_open())
        .cloned()
    else {
        return edit_rejected("INVALID_ORDER_STATUS");
    };
    let Some(rules) = shared.rules.get(&order.product_id) else {
        return edit_rejected("INVALID_PRODUCT_ID");
    };
    fields["limit_price"] = json!(edit.price);
    fields["base_size"] = json!(edit.size);
    let configuration = json!({ "limit_limit_gtc": fields });
    let book = venue.books.get(&order.product_id);
    let checked = match check_order(rules, book, &order.side, &configuration) {
        Ok(checked) => checked,
        Err((reason, _)) => return edit_rejected(reason),
    };
    if checked.lots <= order.filled_lots {
        return edit_rejected("INVALID_EDITED_SIZE");
    }
    let order_id = order.order_id.clone();
    if let Some(order) = venue.ledger.orders.get_mut(&order_id) {
        order.configuration = configuration;
        order.size_lots = checked.lots;
        order.limit_ticks = checked.limit_ticks;
        order.post_only = checked.post_only;
    }
    venue.publish(&shared.terms(), &order_id, shared.clock.now_ns());
    json_response(StatusCode::OK, &json!({"success": true, "errors": []}))
}

/// `limit` (default `default`, at most `max`) and `cursor` (an offset) of a query.
fn page(query: &str, default: usize, max: usize) -> (usize, usize) {
    let first = |key: &str| query_values(query, key).into_iter().next();
    let limit = first("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(default)
        .min(max);
    let offset = first("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    (limit, offset)
}

/// The `(items, next cursor)` page of `items` at `offset`; the cursor is `""` at the end.
fn paginate<T>(items: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, String) {
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    let next = offset + page.len();
    let cursor = if next < total {
        next.to_string()
    } else {
        String::new()
    };
    (page, cursor)
}

pub(super) async fn list_orders(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    private(&shared, &peer, "list_orders", &method, LIST_ORDERS_PATH, &headers, |shared, venue| {
        let statuses = query_values(&query, "order_status");
        let products = query_values(&query, "product_ids");
        let ids = query_values(&query, "order_ids");
        let (limit, offset) = page(&query, 100, 1000);
        let matching: Vec<&SimOrder> = venue
            .ledger
            .orders
            .values()
            .rev()
            .filter(|o| statuses.is_empty() || statuses.contains(&o.status))
            .filter(|o| products.is_empty() || products.contains(&o.product_id))
            .filter(|o| ids.is_empty() || ids.contains(&o.order_id))
            .collect();
        let (orders, cursor) = paginate(matching, offset, limit);
        let orders: Vec<Value> = orders
            .into_iter()
            .filter_map(|o| {
                let rules = shared.rules.get(&o.product_id)?;
                Some(rest_order_json(o, rules, shared.config.taker_fee_bps))
            })
            .collect();
        let body = json!({"orders": orders, "sequence": "0", "has_next": !cursor.is_empty(), "cursor": cursor});
        json_response(StatusCode::OK, &body)
    })
    .await
}

pub(super) async fn list_fills(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    private(
        &shared,
        &peer,
        "fills",
        &method,
        FILLS_PATH,
        &headers,
        |_, venue| {
            let orders = query_values(&query, "order_ids");
            let products = query_values(&query, "product_ids");
            let trades = query_values(&query, "trade_ids");
            let (limit, offset) = page(&query, 100, 1000);
            let matching: Vec<Value> = venue
                .ledger
                .fills
                .iter()
                .filter(|f| orders.is_empty() || orders.contains(&f.order_id))
                .filter(|f| products.is_empty() || products.contains(&f.product_id))
                .filter(|f| trades.is_empty() || trades.contains(&f.trade_id))
                .map(fill_json)
                .collect();
            let (fills, cursor) = paginate(matching, offset, limit);
            json_response(StatusCode::OK, &json!({"fills": fills, "cursor": cursor}))
        },
    )
    .await
}

/// A deterministic UUID-shaped account id per currency.
fn account_uuid(currency: &str) -> String {
    let hex: String = currency
        .bytes()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("acc00000-0000-4000-8000-{hex:0>12}")
}

pub(super) async fn accounts(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    private(&shared, &peer, "accounts", &method, ACCOUNTS_PATH, &headers, |shared, venue| {
        let (limit, offset) = page(&query, 49, 250);
        let mut holds = std::collections::BTreeMap::<&str, i128>::new();
        for order in venue.ledger.orders.values().filter(|o| o.is_open()) {
            let Some(rules) = shared.rules.get(&order.product_id) else {
                continue;
            };
            let currency = if order.is_buy() { &rules.quote_currency } else { &rules.base_currency };
            *holds.entry(currency).or_default() += hold_units(order, rules, shared.config.taker_fee_bps);
        }
        let created = format_rfc3339_ns(shared.data.first_timestamp_ns);
        let all: Vec<Value> = venue
            .ledger
            .balances
            .iter()
            .map(|(currency, balance)| {
                let hold = holds.get(currency.as_str()).copied().unwrap_or(0);
                let fiat = matches!(currency.as_str(), "USD" | "EUR" | "GBP");
                json!({
                    "uuid": account_uuid(currency), "name": format!("{currency} Wallet"),
                    "currency": currency,
                    "available_balance": {"value": money_text(balance - hold), "currency": currency},
                    "default": false, "active": true, "created_at": created, "updated_at": created,
                    "deleted_at": null,
                    "type": if fiat { "ACCOUNT_TYPE_FIAT" } else { "ACCOUNT_TYPE_CRYPTO" },
                    "ready": true, "hold": {"value": money_text(hold), "currency": currency},
                    "retail_portfolio_id": "", "platform": "ACCOUNT_PLATFORM_CONSUMER",
                })
            })
            .collect();
        let (accounts, cursor) = paginate(all, offset, limit);
        let size = accounts.len();
        let body = json!({"accounts": accounts, "has_next": !cursor.is_empty(), "cursor": cursor, "size": size});
        json_response(StatusCode::OK, &body)
    })
    .await
}

pub(super) async fn best_bid_ask(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    private(
        &shared,
        &peer,
        "best_bid_ask",
        &method,
        BEST_BID_ASK_PATH,
        &headers,
        |shared, venue| {
            let wanted = query_values(&query, "product_ids");
            let time = format_rfc3339_ns(shared.clock.now_ns());
            let books: Vec<Value> = venue
                .books
                .iter()
                .filter(|(id, _)| wanted.is_empty() || wanted.contains(id))
                .filter_map(|(id, book)| {
                    let rules = shared.rules.get(id)?;
                    let level = |(ticks, lots): (i64, i64)| {
                        json!({"price": rules.price_increment.display(ticks).to_string(),
                           "size": rules.base_increment.display(lots).to_string()})
                    };
                    let bids: Vec<Value> = book
                        .bids
                        .iter()
                        .next()
                        .map(|(t, l)| level((t.0, *l)))
                        .into_iter()
                        .collect();
                    let asks: Vec<Value> = book
                        .asks
                        .iter()
                        .next()
                        .map(|(t, l)| level((*t, *l)))
                        .into_iter()
                        .collect();
                    Some(json!({"product_id": id, "bids": bids, "asks": asks, "time": time}))
                })
                .collect();
            json_response(StatusCode::OK, &json!({ "pricebooks": books }))
        },
    )
    .await
}

pub(super) async fn products(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let product_ids = query_values(query.as_deref().unwrap_or(""), "product_ids");
    match shared.data.products_json(&product_ids) {
        Some(body) => {
            let headers = [(header::CONTENT_TYPE, "application/json")];
            (StatusCode::OK, headers, body).into_response()
        }
        None => error_body(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            5,
            "the capture holds no products response",
        ),
    }
}

/// Inspection endpoints answer loopback peers only.
fn inspect(peer: &Peer, body: impl FnOnce() -> Value) -> Response {
    if !peer.addr.ip().is_loopback() {
        return (StatusCode::FORBIDDEN, "loopback only").into_response();
    }
    json_response(StatusCode::OK, &body())
}

pub(super) async fn sim_orders(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Response {
    inspect(&peer, || {
        let venue = shared.lock();
        let orders: Vec<Value> = venue
            .ledger
            .orders
            .values()
            .filter_map(|o| {
                let rules = shared.rules.get(&o.product_id)?;
                Some(rest_order_json(o, rules, shared.config.taker_fee_bps))
            })
            .collect();
        json!({"orders": orders, "created": venue.ledger.created})
    })
}

pub(super) async fn sim_fills(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Response {
    inspect(&peer, || {
        let venue = shared.lock();
        let fills: Vec<Value> = venue.ledger.fills.iter().map(fill_json).collect();
        json!({ "fills": fills })
    })
}

pub(super) async fn sim_requests(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Response {
    inspect(&peer, || {
        let venue = shared.lock();
        let mut by_status = std::collections::BTreeMap::<String, u64>::new();
        for request in &venue.requests {
            *by_status.entry(request.status.to_string()).or_default() += 1;
        }
        let rate_limited = venue
            .requests
            .iter()
            .filter(|r| r.status == 429 && r.fault.is_none())
            .count();
        json!({"requests": venue.requests, "by_status": by_status, "rate_limited": rate_limited})
    })
}
