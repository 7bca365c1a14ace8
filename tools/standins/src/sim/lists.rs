//! The venue's list and read endpoints: list orders, fills, accounts (with holds) and
//! best bid/ask, each paginated by `limit` + an offset `cursor` where the venue paginates;
//! the public products endpoint; and the unauthenticated inspection endpoints for tests.
//!
//! Runs on axum's tokio tasks; the work is synchronous under the venue lock (see
//! [`super::rest::private`]).

use std::sync::Arc;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::listener::Peer;
use super::orders::{fill_json, hold_units, money_text, rest_order_json};
use super::rest::{error_body, json_response, private};
use super::{ACCOUNTS_PATH, BEST_BID_ASK_PATH, FILLS_PATH, LIST_ORDERS_PATH, Shared, SimOrder};
use crate::replay::clock::format_rfc3339_ns;
use crate::replay::rest::query_values;

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
