//! The venue's REST order entry (create, cancel, edit, get) and the prologue every
//! private request goes through, [`private`]: its fault (by endpoint class and ordinal),
//! authentication, the rate limit, the work under the venue lock, the request log and the
//! state save, in that order. The list endpoints live in [`super::lists`].
//!
//! Runs on axum's tokio tasks; the work itself is synchronous under the lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use traider_gateways::coinbase::auth::{REST_URI_HOST, verify_jwt};
use traider_gateways::coinbase::orders::{BATCH_CANCEL_PATH, CREATE_ORDER_PATH, EDIT_ORDER_PATH};

use super::faults::RestFaultKind;
use super::listener::Peer;
use super::orders::{
    Checked, base_units, check_order, failed_order_json, fee, money_text, notional, rest_order_json,
};
use super::venue::{Venue, VenueEvent};
use super::{GET_ORDER_PREFIX, RequestLog, Shared, SimOrder, unix_now_s};

/// How long a `timeout` fault holds a connection at most.
const HOLD_MAX: Duration = Duration::from_secs(600);

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (status, headers, body.to_string()).into_response()
}

pub(super) fn error_body(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
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
pub(super) async fn private(
    shared: &Shared,
    peer: &Peer,
    endpoint: &'static str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    work: impl FnOnce(&Shared, &mut Venue) -> Response,
) -> Response {
    let request = Request {
        endpoint,
        method,
        path,
        headers,
        client_order_id: None,
    };
    private_request(shared, peer, request, work).await
}

/// What the prologue needs of a request.
pub(super) struct Request<'a> {
    pub endpoint: &'static str,
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    /// A create's client order id (a `lost` create loses its re-sends too).
    pub client_order_id: Option<String>,
}

/// [`private`] for a request described whole.
pub(super) async fn private_request(
    shared: &Shared,
    peer: &Peer,
    request: Request<'_>,
    work: impl FnOnce(&Shared, &mut Venue) -> Response,
) -> Response {
    match decide(shared, request, work) {
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
    request: Request<'_>,
    work: impl FnOnce(&Shared, &mut Venue) -> Response,
) -> Verdict {
    let Request {
        endpoint,
        method,
        path,
        headers,
        client_order_id,
    } = request;
    let kid = authenticated_kid(shared, method, path, headers);
    let mut venue = shared.lock();
    let fault = fault_of(shared, &mut venue, endpoint, client_order_id.as_ref());
    let mut log = RequestLog {
        method: method.to_string(),
        path: path.to_owned(),
        endpoint: endpoint.to_owned(),
        status: 0,
        kid: None,
        fault: None,
        client_order_id,
        at_us: shared.started.elapsed().as_micros() as u64,
    };
    if let Some(verdict) = injected_fault(fault, endpoint, &mut log) {
        venue.requests.push(log);
        return verdict;
    }
    let Some(kid) = kid else {
        log.status = 401;
        venue.requests.push(log);
        return Verdict::Answer(unauthorized());
    };
    log.kid = Some(kid);
    if !take_rate_slot(&mut venue, shared.config.private_rate_per_s as usize) {
        log.status = 429;
        venue.requests.push(log);
        return Verdict::Answer(rate_limited());
    }
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

/// The key id of the request's bearer JWT, when it verifies for this method and path.
fn authenticated_kid(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<String> {
    let uri = format!("{method} {REST_URI_HOST}{path}");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    token
        .and_then(|t| verify_jwt(t, &shared.config.key, unix_now_s(), Some(&uri)).ok())
        .map(|verified| verified.kid)
}

/// Counts the request against its endpoint class and returns the configured fault of that
/// ordinal; a create whose client order id was lost once is lost again.
fn fault_of(
    shared: &Shared,
    venue: &mut Venue,
    endpoint: &'static str,
    client_order_id: Option<&String>,
) -> Option<RestFaultKind> {
    let count = venue.rest_counts.entry(endpoint).or_default();
    *count += 1;
    let mut fault = shared.config.faults.rest_fault(endpoint, *count);
    if let Some(client_order_id) = client_order_id {
        if venue.lost_client_ids.contains(client_order_id) {
            fault = Some(RestFaultKind::Lost);
        } else if fault == Some(RestFaultKind::Lost) {
            venue.lost_client_ids.insert(client_order_id.clone());
        }
    }
    fault
}

/// The verdict of a fault that stops the request before authentication (a status, a
/// dropped connection, a lost request), written into its log; `None` to go on.
fn injected_fault(
    fault: Option<RestFaultKind>,
    endpoint: &'static str,
    log: &mut RequestLog,
) -> Option<Verdict> {
    match fault {
        Some(RestFaultKind::Status(code)) => {
            tracing::info!(endpoint, code, "fault: status");
            log.status = code;
            log.fault = Some(code.to_string());
            Some(Verdict::Answer(status_fault(code)))
        }
        Some(RestFaultKind::Drop) => {
            tracing::info!(endpoint, "fault: dropping the connection");
            log.fault = Some("drop".to_owned());
            Some(Verdict::Drop)
        }
        Some(RestFaultKind::Lost) => {
            tracing::info!(endpoint, "fault: request lost on its way, never answering");
            log.fault = Some("lost".to_owned());
            Some(Verdict::Hold)
        }
        Some(RestFaultKind::Timeout) | None => None,
    }
}

/// The private rate limit: takes a slot in the last second's window, or `false` when
/// `rate_per_s` requests already hold one.
fn take_rate_slot(venue: &mut Venue, rate_per_s: usize) -> bool {
    let now = Instant::now();
    while venue
        .recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        venue.recent.pop_front();
    }
    if venue.recent.len() >= rate_per_s {
        return false;
    }
    venue.recent.push_back(now);
    true
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
            // The venue's own spelling of this one (protocol reference §5.3).
            "new_order_failure_reason": if reason == "INSUFFICIENT_FUNDS" { "INSUFFICIENT_FUND" } else { reason },
        },
    })
}

/// Whether the account can pay for `checked` on top of what open orders hold: a buy needs
/// its notional at the limit (at the prices it would take, for a market order) plus the
/// taker fee in the quote currency, a sell its size in the base currency.
fn check_funds(
    shared: &Shared,
    venue: &Venue,
    product_id: &str,
    checked: &Checked,
) -> Result<(), (&'static str, String)> {
    let Some(rules) = shared
        .rules
        .get(product_id)
        .filter(|_| shared.config.check_balances)
    else {
        return Ok(());
    };
    let (currency, need) = if checked.buy {
        let value = match checked.limit_ticks {
            Some(ticks) => notional(rules, ticks, checked.lots),
            None => venue.books.get(product_id).map_or(0, |book| {
                let levels = book.peek(true, None, checked.lots);
                levels.iter().map(|(t, l)| notional(rules, *t, *l)).sum()
            }),
        };
        (
            &rules.quote_currency,
            value + fee(value, shared.config.taker_fee_bps),
        )
    } else {
        (&rules.base_currency, base_units(rules, checked.lots))
    };
    let available = venue.available(&shared.terms(), currency);
    if need > available {
        let message = format!(
            "Insufficient balance in source account: {currency} {} available, {} needed",
            money_text(available),
            money_text(need)
        );
        return Err(("INSUFFICIENT_FUNDS", message));
    }
    Ok(())
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
    let client_order_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("client_order_id")?.as_str().map(str::to_owned));
    let request = Request {
        endpoint: "create",
        method: &method,
        path: CREATE_ORDER_PATH,
        headers: &headers,
        client_order_id,
    };
    private_request(
        &shared,
        &peer,
        request,
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
    let checked = match check_create(shared, venue, &create) {
        Ok(checked) => checked,
        Err((reason, message)) => return reject_create(venue, &create, reason, &message, now_ns),
    };
    venue.ledger.next_order += 1;
    let order_id = format!("5a1e0000-0000-4000-8000-{:012x}", venue.ledger.next_order);
    let client_order_id = create.client_order_id.clone();
    let order = sim_order(order_id.clone(), create, &checked, now_ns);
    venue.ledger.orders.insert(order_id.clone(), order);
    venue
        .ledger
        .by_client_id
        .insert(client_order_id, order_id.clone());
    venue.ledger.created += 1;
    let terms = shared.terms();
    venue.publish(&terms, &order_id, now_ns);
    venue.execute(&terms, &order_id, &checked, now_ns);
    venue.ledger.orders.get(&order_id).map_or_else(
        || status_fault(500),
        |order| json_response(StatusCode::OK, &accepted(order)),
    )
}

/// A create's checks: the product, the order against its rules and book, then the funds.
fn check_create(
    shared: &Shared,
    venue: &Venue,
    create: &CreateBody,
) -> Result<Checked, (&'static str, String)> {
    let checked = match shared.rules.get(&create.product_id) {
        None => Err(("INVALID_PRODUCT_ID", "unknown product".to_owned())),
        Some(rules) => check_order(
            rules,
            venue.books.get(&create.product_id),
            &create.side,
            &create.order_configuration,
        ),
    };
    checked.and_then(|c| {
        check_funds(shared, venue, &create.product_id, &c)?;
        Ok(c)
    })
}

/// A refused create: the failed order goes out on the user channel, the answer says why.
fn reject_create(
    venue: &mut Venue,
    create: &CreateBody,
    reason: &'static str,
    message: &str,
    now_ns: u64,
) -> Response {
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
    json_response(StatusCode::OK, &rejected(reason, message))
}

/// The new open order `create` describes, as `checked` read it.
fn sim_order(order_id: String, create: CreateBody, checked: &Checked, now_ns: u64) -> SimOrder {
    SimOrder {
        order_id,
        client_order_id: create.client_order_id,
        product_id: create.product_id,
        side: create.side,
        configuration: create.order_configuration,
        kind: checked.kind.clone(),
        status: "OPEN".to_owned(),
        size_lots: checked.lots,
        limit_ticks: checked.limit_ticks,
        stop_ticks: checked.stop_ticks,
        post_only: checked.post_only,
        stop_up: checked.stop_up,
        triggered: false,
        filled_lots: 0,
        fills: 0,
        filled_value: 0,
        total_fees: 0,
        created_ns: now_ns,
        cancel_reason: String::new(),
        end_time: checked.end_time.clone(),
    }
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
