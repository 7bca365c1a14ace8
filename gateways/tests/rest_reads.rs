//! The REST reads (list orders, list fills, accounts, best bid/ask, server time) against a
//! real local axum server that verifies every request's JWT with `verify_jwt` (the `uri`
//! claim is the path without the query) and serves the documented, paginated shapes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use traider_core::event::Side;
use traider_gateways::coinbase::auth::{ApiKey, PublicKey, verify_jwt};
use traider_gateways::coinbase::decimal::Decimal;
use traider_gateways::coinbase::orders::ApiError;
use traider_gateways::coinbase::reads::*;
use traider_gateways::coinbase::trading::{FillFilter, OrderFilter, SendError, TradingClient};
use traider_gateways::coinbase::user::OrderStatus;

type Pairs = Vec<(String, String)>;

struct Venue {
    public: PublicKey,
    /// (path, query pairs) of every request, in order.
    log: Mutex<Vec<(String, Pairs)>>,
}

use traider_testkit::sim::{now_s, test_key as key};

fn d(text: &str) -> Decimal {
    Decimal::parse(text).expect("decimal")
}

/// Checks the bearer token as Coinbase does (`true`: valid); logs the request.
fn authorize(venue: &Venue, headers: &HeaderMap, uri: &Uri, query: &Pairs) -> bool {
    let path = uri.path().to_owned();
    venue
        .log
        .lock()
        .expect("log")
        .push((path.clone(), query.clone()));
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let expected_uri = format!("GET api.coinbase.com{path}");
    token.is_some_and(|t| verify_jwt(t, &venue.public, now_s(), Some(&expected_uri)).is_ok())
}

/// Coinbase's plain-text 401.
fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "Unauthorized").into_response()
}

fn cursor(query: &Pairs) -> Option<&str> {
    query
        .iter()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.as_str())
}

fn has(query: &Pairs, key: &str, value: &str) -> bool {
    query.iter().any(|(k, v)| k == key && v == value)
}

fn rest_order(id: &str, status: &str) -> Value {
    json!({"order_id": id, "client_order_id": format!("c-{id}"), "product_id": "BTC-USD",
        "user_id": "u", "side": "BUY", "status": status, "time_in_force": "GOOD_UNTIL_CANCELLED",
        "order_type": "LIMIT", "created_time": "2026-08-09T21:05:40.123Z",
        "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "65000.01", "post_only": true}},
        "filled_size": "0.0004", "average_filled_price": "65000.01", "filled_value": "26.000004",
        "number_of_fills": "1", "total_fees": "0.156", "fee": "", "reject_reason": "REJECT_REASON_UNSPECIFIED",
        "settled": false, "pending_cancel": false, "edit_history": []})
}

async fn orders(
    State(venue): State<Arc<Venue>>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<Pairs>,
) -> Response {
    if !authorize(&venue, &headers, &uri, &query) {
        return unauthorized();
    }
    let body = if has(&query, "product_ids", "ENDLESS") {
        let n: u64 = cursor(&query).and_then(|c| c.parse().ok()).unwrap_or(0);
        json!({"orders": [], "has_next": true, "cursor": (n + 1).to_string(), "sequence": "0"})
    } else if has(&query, "product_ids", "BAD") {
        let mut order = rest_order("x", "OPEN");
        order["filled_size"] = json!(1.5);
        json!({"orders": [order], "has_next": false, "cursor": ""})
    } else {
        match cursor(&query) {
            None => json!({"orders": [rest_order("o1", "OPEN"), rest_order("o2", "FILLED")],
                           "has_next": true, "cursor": "c+1/=", "sequence": "0"}),
            Some("c+1/=") => json!({"orders": [rest_order("o3", "CANCELLED")],
                                   "has_next": false, "cursor": "", "sequence": "0"}),
            Some(_) => return (StatusCode::BAD_REQUEST, "bad cursor").into_response(),
        }
    };
    axum::Json(body).into_response()
}

fn rest_fill(trade: &str, order: &str, price: &str, size: &str, fee: &str) -> Value {
    json!({"entry_id": format!("e-{trade}"), "trade_id": trade, "order_id": order,
        "trade_time": "2026-08-09T21:05:41.5Z", "trade_type": "FILL", "price": price, "size": size,
        "commission": fee, "product_id": "BTC-USD", "sequence_timestamp": "2026-08-09T21:05:41.51Z",
        "liquidity_indicator": "MAKER", "size_in_quote": false, "user_id": "u", "side": "SELL"})
}

async fn fills(
    State(venue): State<Arc<Venue>>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<Pairs>,
) -> Response {
    if !authorize(&venue, &headers, &uri, &query) {
        return unauthorized();
    }
    let body = match cursor(&query) {
        None => json!({"fills": [rest_fill("t1", "o1", "65000.01", "0.0001", "0.039"),
                                 rest_fill("t2", "o1", "65000.02", "0.0002", "0.078")],
                       "cursor": "f2"}),
        Some("f2") => json!({"fills": [rest_fill("t3", "o2", "64999.99", "0.0003", "0.117")],
                             "cursor": ""}),
        Some(_) => return (StatusCode::BAD_REQUEST, "bad cursor").into_response(),
    };
    axum::Json(body).into_response()
}

async fn accounts(
    State(venue): State<Arc<Venue>>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<Pairs>,
) -> Response {
    if !authorize(&venue, &headers, &uri, &query) {
        return unauthorized();
    }
    let account = |uuid: &str, currency: &str, value: &str, hold: &str| {
        json!({"uuid": uuid, "name": format!("{currency} Wallet"), "currency": currency,
            "available_balance": {"value": value, "currency": currency}, "default": true,
            "active": true, "created_at": "2021-01-01T00:00:00Z", "type": "ACCOUNT_TYPE_CRYPTO",
            "ready": true, "hold": {"value": hold, "currency": currency}, "platform": "ACCOUNT_PLATFORM_CONSUMER"})
    };
    let body = match cursor(&query) {
        None => json!({"accounts": [account("a1", "BTC", "0.12345678", "0.001")],
                       "has_next": true, "cursor": "a2", "size": 1}),
        Some(_) => json!({"accounts": [account("a2", "USD", "1000.5", "0")],
                          "has_next": false, "cursor": "", "size": 1}),
    };
    axum::Json(body).into_response()
}

async fn best_bid_ask(
    State(venue): State<Arc<Venue>>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<Pairs>,
) -> Response {
    if !authorize(&venue, &headers, &uri, &query) {
        return unauthorized();
    }
    let books: Vec<Value> = query
        .iter()
        .filter(|(k, _)| k == "product_ids")
        .map(|(_, id)| {
            json!({"product_id": id, "bids": [{"price": "65083.66", "size": "0.5"}],
                              "asks": [{"price": "65083.67", "size": "1.25"}],
                              "time": "2026-08-09T21:05:48.5Z"})
        })
        .collect();
    axum::Json(json!({ "pricebooks": books })).into_response()
}

async fn time(headers: HeaderMap) -> Response {
    if headers.contains_key("authorization") {
        return (StatusCode::BAD_REQUEST, "public endpoint, no token").into_response();
    }
    axum::Json(
        json!({"iso": "2026-08-09T21:05:48Z", "epochSeconds": "1786309548",
                      "epochMillis": "1786309548123"}),
    )
    .into_response()
}

async fn start(public: PublicKey) -> (SocketAddr, Arc<Venue>) {
    let venue = Arc::new(Venue {
        public,
        log: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route(LIST_ORDERS_PATH, get(orders))
        .route(LIST_FILLS_PATH, get(fills))
        .route(ACCOUNTS_PATH, get(accounts))
        .route(BEST_BID_ASK_PATH, get(best_bid_ask))
        .route(SERVER_TIME_PATH, get(time))
        .with_state(venue.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, venue)
}

fn client(addr: SocketAddr, key: Arc<ApiKey>) -> TradingClient {
    TradingClient::new(&format!("http://{addr}"), key, Duration::from_secs(5)).expect("client")
}

#[tokio::test]
async fn list_orders_follows_cursors_with_repeated_statuses() {
    // Proves list_orders sends order_status repeated, product_ids and limit, signs the path
    // without the query, follows has_next/cursor (with a cursor needing URL encoding) to the
    // last page, and reads every order field exactly.
    let key = key();
    let (addr, venue) = start(key.public_key()).await;
    let filter = OrderFilter {
        statuses: vec![OrderStatus::Open, OrderStatus::Filled, OrderStatus::Unknown],
        product_ids: vec!["BTC-USD".into()],
        limit: Some(2),
        ..OrderFilter::default()
    };
    let orders = client(addr, key)
        .list_orders(&filter)
        .await
        .expect("orders");
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["o1", "o2", "o3"]);
    let log = venue.log.lock().expect("log").clone();
    assert_eq!(log.len(), 2);
    let first = &log[0].1;
    assert!(has(first, "order_status", "OPEN") && has(first, "order_status", "FILLED"));
    assert_eq!(first.iter().filter(|(k, _)| k == "order_status").count(), 2);
    assert!(has(first, "product_ids", "BTC-USD") && has(first, "limit", "2"));
    assert_eq!(cursor(&log[1].1), Some("c+1/="));
    let o1 = &orders[0];
    assert_eq!(o1.client_order_id.as_deref(), Some("c-o1"));
    assert_eq!(o1.side, Some(Side::Buy));
    assert_eq!(o1.status, OrderStatus::Open);
    assert_eq!(orders[2].status, OrderStatus::Cancelled);
    assert_eq!(o1.limit_price, Some(d("65000.01")));
    assert_eq!(o1.base_size, Some(d("0.001")));
    assert_eq!(o1.post_only, Some(true));
    assert_eq!(o1.filled_size, Some(d("0.0004")));
    assert_eq!(o1.filled_value, Some(d("26.000004")));
    assert_eq!(o1.number_of_fills, Some(1));
    assert_eq!(o1.total_fees, Some(d("0.156")));
}

#[tokio::test]
async fn fills_accounts_books_and_time_read_their_documented_shapes() {
    // Proves fills paginate until the cursor is empty, accounts by has_next, best bid/ask
    // reads bids/asks per product, and server time reads camelCase fields without a token;
    // all amounts exact.
    let key = key();
    let (addr, venue) = start(key.public_key()).await;
    let client = client(addr, key);
    let fills = client
        .list_fills_paged(&FillFilter::orders(&["o1", "o2"]))
        .await
        .expect("fills");
    let trades: Vec<&str> = fills.iter().map(|f| f.trade_id.as_str()).collect();
    assert_eq!(trades, ["t1", "t2", "t3"]);
    assert_eq!(fills[1].price, d("65000.02"));
    assert_eq!(fills[1].size, d("0.0002"));
    assert_eq!(fills[1].commission, d("0.078"));
    assert_eq!(fills[2].order_id, "o2");
    assert_eq!(fills[0].side, Some(Side::Sell));
    assert_eq!(fills[0].liquidity_indicator.as_deref(), Some("MAKER"));
    let fill_query = &venue.log.lock().expect("log")[0].1.clone();
    assert!(has(fill_query, "order_ids", "o1") && has(fill_query, "order_ids", "o2"));

    let accounts = client.accounts().await.expect("accounts");
    assert_eq!(accounts.len(), 2);
    assert_eq!(
        (
            accounts[0].currency.as_str(),
            accounts[0].available,
            accounts[0].hold
        ),
        ("BTC", d("0.12345678"), d("0.001"))
    );
    assert_eq!(accounts[1].available, d("1000.5"));

    let books = client
        .best_bid_ask(&["BTC-USD", "ETH-USD"])
        .await
        .expect("books");
    assert_eq!(books.len(), 2);
    assert_eq!(books[1].product_id, "ETH-USD");
    assert_eq!(books[0].bids[0].price, d("65083.66"));
    assert_eq!(books[0].asks[0].size, d("1.25"));

    let time = client.server_time().await.expect("time");
    assert_eq!(
        (time.epoch_seconds, time.epoch_millis),
        (1_786_309_548, 1_786_309_548_123)
    );
    assert_eq!(time.iso.as_deref(), Some("2026-08-09T21:05:48Z"));
}

#[tokio::test]
async fn wrong_key_page_cap_and_bad_bodies_are_errors() {
    // Proves the server really checks tokens (another key gets 401 Unauthorized), an
    // endless listing stops at the page cap with PageLimit rather than a partial list, and a
    // float where a decimal string belongs is Malformed naming the field.
    let (addr, venue) = start(key().public_key()).await;
    let stranger = client(addr, key());
    let refused = stranger.list_orders(&OrderFilter::open(&[])).await;
    assert!(
        matches!(refused, Err(SendError::Api(ApiError::Unauthorized(_)))),
        "{refused:?}"
    );

    let key = key();
    let (addr, venue_ok) = start(key.public_key()).await;
    let client = client(addr, key);
    let endless = OrderFilter {
        product_ids: vec!["ENDLESS".into()],
        pages_max: 3,
        ..OrderFilter::default()
    };
    let capped = client.list_orders(&endless).await;
    assert!(
        matches!(capped, Err(SendError::PageLimit { pages: 3, .. })),
        "{capped:?}"
    );
    assert_eq!(venue_ok.log.lock().expect("log").len(), 3);
    let bad = client.list_orders(&OrderFilter::open(&["BAD"])).await;
    let Err(SendError::Api(ApiError::Malformed { reason, snippet })) = bad else {
        panic!("malformed: {bad:?}")
    };
    assert!(reason.contains("orders[0].filled_size"), "{reason}");
    assert!(snippet.starts_with("{\""), "{snippet}");
    drop(venue);
}

#[test]
fn page_parsers_refuse_missing_lists_and_dangling_cursors() {
    // Proves a page without its list, or with has_next but no cursor, is Malformed, and a
    // fills page with an empty cursor is the last.
    assert!(matches!(
        parse_orders_page(br#"{"has_next":false}"#),
        Err(ApiError::Malformed { .. })
    ));
    let dangling = parse_accounts_page(br#"{"accounts":[],"has_next":true,"cursor":""}"#);
    assert!(format!("{dangling:?}").contains("cursor"), "{dangling:?}");
    let last = parse_fills_page(br#"{"fills":[],"cursor":""}"#).expect("page");
    assert_eq!(last.next_cursor, None);
    assert!(parse_server_time(br#"{"iso":"x"}"#).is_err());
    assert_eq!(
        parse_server_time(br#"{"epochSeconds":5}"#)
            .expect("time")
            .epoch_millis,
        5000
    );
}

#[test]
fn server_time_too_large_for_milliseconds_is_malformed() {
    // Proves an epochSeconds whose milliseconds overflow u64 (and no epochMillis) is a
    // Malformed answer, not an overflow (found by the rest_answer fuzz target).
    let body = br#"{"iso":"2026-08T21:05:48Z","epochSeconds":"35726172619096244"}"#;
    assert!(matches!(
        parse_server_time(body),
        Err(ApiError::Malformed { .. })
    ));
    let max = format!(r#"{{"epochSeconds":{}}}"#, u64::MAX / 1000);
    assert!(parse_server_time(max.as_bytes()).is_ok());
}
