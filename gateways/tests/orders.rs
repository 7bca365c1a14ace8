//! Advanced Trade order bodies and responses: the documented JSON shapes
//! (docs/coinbase-advanced-trade.md §5.3-5.5), built from integer ticks and lots with
//! Coinbase's real BTC-USD increments, and every response shape the venue answers with.

use proptest::prelude::*;
use serde_json::json;
use traider_core::event::Side;
use traider_core::instrument::InstrumentId;
use traider_core::order::{ClientOrderId, OrderRequest, TimeInForce};
use traider_gateways::coinbase::orders::*;

// BTC-USD's increments in the recorded products response.
use traider_testkit::fixtures::btc;

fn config(body: &serde_json::Value) -> &serde_json::Value {
    &body["order_configuration"]
}

#[test]
fn engine_orders_become_the_documented_create_bodies() {
    // Proves a resting post-only buy becomes limit_limit_gtc and an IOC sell sor_limit_ioc,
    // with the client order id, product, side and exact decimal strings from ticks and lots.
    let id = ClientOrderId::new(7, 42);
    let gtc = OrderRequest {
        instrument: InstrumentId(0),
        side: Side::Buy,
        price_ticks: 6_508_366,
        size_lots: 10_000,
        time_in_force: TimeInForce::GoodTillCancel,
        post_only: true,
    };
    let body = create_order_body(id, gtc.side, &btc(), &OrderConfiguration::of(&gtc));
    assert_eq!(
        body,
        json!({
            "client_order_id": id.to_string(),
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {
                "base_size": "0.0001", "limit_price": "65083.66", "post_only": true,
            }},
        })
    );
    let ioc = OrderRequest {
        side: Side::Sell,
        price_ticks: 6_500_000,
        size_lots: 123_456_789,
        time_in_force: TimeInForce::ImmediateOrCancel,
        post_only: false,
        ..gtc
    };
    let body = create_order_body(id, ioc.side, &btc(), &OrderConfiguration::of(&ioc));
    assert_eq!(body["side"], "SELL");
    assert_eq!(
        *config(&body),
        json!({"sor_limit_ioc": {"base_size": "1.23456789", "limit_price": "65000"}})
    );
}

#[test]
fn every_configuration_has_its_documented_key_and_fields() {
    // Proves the other variants' keys and fields: market IOC, GTD with end_time, FOK and a
    // stop-limit with its direction enum.
    let id = ClientOrderId::new(1, 1);
    let cases = [
        (
            OrderConfiguration::MarketIoc { size_lots: 5_000 },
            json!({"market_market_ioc": {"base_size": "0.00005"}}),
        ),
        (
            OrderConfiguration::LimitGtd {
                price_ticks: 100,
                size_lots: 1,
                post_only: false,
                end_time: "2026-12-02T00:00:00Z".into(),
            },
            json!({"limit_limit_gtd": {"base_size": "0.00000001", "limit_price": "1",
                   "end_time": "2026-12-02T00:00:00Z", "post_only": false}}),
        ),
        (
            OrderConfiguration::LimitFok {
                price_ticks: 101,
                size_lots: 100_000_000,
            },
            json!({"limit_limit_fok": {"base_size": "1", "limit_price": "1.01"}}),
        ),
        (
            OrderConfiguration::StopLimitGtc {
                price_ticks: 6_400_000,
                stop_ticks: 6_410_000,
                size_lots: 20_000,
                direction: StopDirection::Down,
            },
            json!({"stop_limit_stop_limit_gtc": {"base_size": "0.0002", "limit_price": "64000",
                   "stop_price": "64100", "stop_direction": "STOP_DIRECTION_STOP_DOWN"}}),
        ),
    ];
    for (configuration, expected) in cases {
        let body = create_order_body(id, Side::Buy, &btc(), &configuration);
        assert_eq!(*config(&body), expected, "{configuration:?}");
    }
    assert_eq!(
        edit_order_body("ord-1", &btc(), 6_508_300, 30_000),
        json!({"order_id": "ord-1", "price": "65083", "size": "0.0003"})
    );
    assert_eq!(
        batch_cancel_body(&["a", "b"]),
        json!({"order_ids": ["a", "b"]})
    );
}

proptest! {
    // Proves the decimal strings sent for any ticks and lots read back, with the same
    // increments, as exactly those ticks and lots (no rounding anywhere).
    #[test]
    fn prices_and_sizes_round_trip_exactly(ticks in 1i64..10_000_000_000, lots in 1i64..100_000_000_000) {
        let product = btc();
        let body = create_order_body(
            ClientOrderId::new(0, 0),
            Side::Buy,
            &product,
            &OrderConfiguration::LimitGtc { price_ticks: ticks, size_lots: lots, post_only: false },
        );
        let fields = &config(&body)["limit_limit_gtc"];
        let price = fields["limit_price"].as_str().unwrap();
        let size = fields["base_size"].as_str().unwrap();
        prop_assert_eq!(product.price_increment.parse_count(price.as_bytes()), Ok(ticks));
        prop_assert_eq!(product.base_increment.parse_count(size.as_bytes()), Ok(lots));
    }
}

#[test]
fn create_responses_accepted_and_rejected() {
    // Proves HTTP 200 success is Accepted with the venue's order id; HTTP 200 success=false
    // is Rejected with the most specific reason the venue gave (post-only cross,
    // insufficient funds where error is only UNKNOWN_FAILURE_REASON), and the message.
    let accepted = json!({
        "success": true,
        "success_response": {"order_id": "11111-000000-000000", "product_id": "BTC-USD",
                             "side": "BUY", "client_order_id": "0000-00000-000000"},
        "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "10000", "post_only": false}},
    });
    assert_eq!(
        parse_create_response(200, accepted.to_string().as_bytes()),
        Ok(CreateOutcome::Accepted {
            order_id: "11111-000000-000000".into(),
            client_order_id: "0000-00000-000000".into(),
        })
    );
    let post_only = json!({
        "success": false,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {"error": "INVALID_LIMIT_PRICE_POST_ONLY",
                           "message": "Post only limit order would cross the order book",
                           "error_details": "", "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
                           "new_order_failure_reason": "INVALID_LIMIT_PRICE_POST_ONLY"},
    });
    assert_eq!(
        parse_create_response(200, post_only.to_string().as_bytes()),
        Ok(CreateOutcome::Rejected {
            reason: "INVALID_LIMIT_PRICE_POST_ONLY".into(),
            message: "Post only limit order would cross the order book".into(),
        })
    );
    let funds = json!({
        "success": false,
        "failure_reason": "INSUFFICIENT_FUNDS",
        "error_response": {"error": "UNKNOWN_FAILURE_REASON", "message": "",
                           "error_details": "Insufficient balance in source account",
                           "new_order_failure_reason": "INSUFFICIENT_FUND"},
    });
    assert_eq!(
        parse_create_response(200, funds.to_string().as_bytes()),
        Ok(CreateOutcome::Rejected {
            reason: "INSUFFICIENT_FUND".into(),
            message: "Insufficient balance in source account".into(),
        })
    );
    let invalid = json!({
        "success": false,
        "error_response": {"error": "UNKNOWN_FAILURE_REASON",
                           "message": "The order configuration was invalid",
                           "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
                           "new_order_failure_reason": "UNKNOWN_NEW_ORDER_FAILURE_REASON"},
    });
    assert_eq!(
        parse_create_response(200, invalid.to_string().as_bytes()),
        Ok(CreateOutcome::Rejected {
            reason: "UNKNOWN_FAILURE_REASON".into(),
            message: "The order configuration was invalid".into(),
        })
    );
}

#[test]
fn http_failures_are_api_errors_named_and_classified() {
    // Proves 401 as plain text and 429 and 5xx are retryable errors, a 4xx gRPC-gateway
    // body is a non-retryable error carrying its fields, and a 200 whose body is not the
    // documented shape is Malformed (never an accepted or rejected order).
    let unauthorized = parse_create_response(401, b"Unauthorized").unwrap_err();
    assert_eq!(unauthorized, ApiError::Unauthorized("Unauthorized".into()));
    assert!(unauthorized.is_retryable());
    let throttled = parse_cancel_response(
        429,
        br#"{"error":"rate_limit","code":8,"message":"Too many requests"}"#,
    )
    .unwrap_err();
    assert_eq!(throttled, ApiError::RateLimited("Too many requests".into()));
    assert!(throttled.is_retryable());
    let server = parse_edit_response(503, b"<html>upstream</html>").unwrap_err();
    assert!(matches!(server, ApiError::Server { status: 503, .. }) && server.is_retryable());
    let bad = parse_create_response(
        400,
        br#"{"error":"INVALID_ARGUMENT","code":3,"message":"product_id is required","details":[]}"#,
    )
    .unwrap_err();
    assert_eq!(
        bad,
        ApiError::Request {
            status: 400,
            error: "INVALID_ARGUMENT".into(),
            message: "product_id is required".into(),
        }
    );
    assert!(!bad.is_retryable());
    for body in [&b"{}"[..], b"not json", br#"{"success":true}"#] {
        let err = parse_create_response(200, body).unwrap_err();
        assert!(matches!(err, ApiError::Malformed { .. }), "{err}");
        assert!(!err.is_retryable());
    }
}

#[test]
fn cancel_and_edit_responses() {
    // Proves batch-cancel results keep each order's outcome (a success carries
    // UNKNOWN_CANCEL_FAILURE_REASON), and edit answers are Accepted or Rejected with the
    // specific edit or preview failure reasons.
    let cancel = json!({"results": [
        {"success": true, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": "a"},
        {"success": false, "failure_reason": "DUPLICATE_CANCEL_REQUEST", "order_id": "b"},
    ]});
    let results = parse_cancel_response(200, cancel.to_string().as_bytes()).unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].success && results[0].order_id == "a");
    assert_eq!(
        (results[1].success, results[1].failure_reason.as_str()),
        (false, "DUPLICATE_CANCEL_REQUEST")
    );
    assert_eq!(
        parse_edit_response(200, br#"{"success":true,"errors":[]}"#),
        Ok(EditOutcome::Accepted)
    );
    let rejected = json!({"success": false, "errors": [
        {"edit_failure_reason": "ORDER_NOT_FOUND", "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON"},
        {"edit_failure_reason": "UNKNOWN_EDIT_ORDER_FAILURE_REASON", "preview_failure_reason": "PREVIEW_INVALID_LIMIT_PRICE"},
    ]});
    assert_eq!(
        parse_edit_response(200, rejected.to_string().as_bytes()),
        Ok(EditOutcome::Rejected {
            reasons: vec![
                "ORDER_NOT_FOUND".into(),
                "PREVIEW_INVALID_LIMIT_PRICE".into()
            ],
        })
    );
}
