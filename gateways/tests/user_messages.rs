//! User-channel frames as the docs show them (docs/coinbase-advanced-trade.md §2.5 "user",
//! traps 7, 10, 11, 17): typed, lenient where the venue is loose, exact, and refusing
//! malformed frames with an error that names the problem.

use traider_core::event::Side;
use traider_gateways::coinbase::decimal::Decimal;
use traider_gateways::coinbase::user::*;

fn d(text: &str) -> Decimal {
    Decimal::parse(text).expect("decimal")
}

/// The documented update shape: `order_type` spelled `Limit`, `post_only` and
/// `number_of_fills` as strings, fields the parser does not know, no `client_id`.
const UPDATE: &str = r#"{
  "channel": "user", "timestamp": "2026-08-09T21:05:48.59377Z", "sequence_num": 7,
  "events": [{"type": "update", "orders": [{
    "avg_price": "65083.66", "cancel_reason": "", "client_order_id": "c-1",
    "completion_percentage": "40.00", "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
    "cumulative_quantity": "0.0004", "filled_value": "26.033464", "leaves_quantity": "0.0006",
    "limit_price": "65083.66", "number_of_fills": "2", "order_id": "11111-abc",
    "order_side": "BUY", "order_type": "Limit", "outstanding_hold_amount": "39.05",
    "post_only": "false", "product_id": "BTC-USD", "product_type": "SPOT",
    "reject_Reason": "", "retail_portfolio_id": "p", "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
    "status": "OPEN", "stop_price": "", "time_in_force": "GOOD_UNTIL_CANCELLED",
    "total_fees": "0.156200784", "total_value_after_fees": "26.189664784",
    "trigger_status": "INVALID_ORDER_TYPE", "creation_time": "2026-08-09T21:05:40.1Z",
    "end_time": "0001-01-01T00:00:00Z", "start_time": "0001-01-01T00:00:00Z",
    "a_future_field": {"nested": [1, 2]}
  }]}, {"type": "snapshot", "orders": [], "positions": {"perpetual_futures_positions": []}}]
}"#;

#[test]
fn documented_update_parses_to_exact_typed_order() {
    // Proves every listed field is read exactly (decimal strings, string booleans and
    // counts, the "Limit" spelling), unknown fields are ignored and several events are kept.
    let frame = parse_user_frame(UPDATE.as_bytes()).expect("documented frame parses");
    let UserFrame::User {
        sequence_num,
        events,
    } = frame
    else {
        panic!("a user frame: {frame:?}")
    };
    assert_eq!(sequence_num, Some(7));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, UserEventKind::Update);
    assert_eq!(events[1].kind, UserEventKind::Snapshot);
    assert!(events[1].orders.is_empty());
    let order = &events[0].orders[0];
    assert_eq!(order.order_id, "11111-abc");
    assert_eq!(order.client_order_id.as_deref(), Some("c-1"));
    assert_eq!(order.product_id.as_deref(), Some("BTC-USD"));
    assert_eq!(order.side, Some(Side::Buy));
    assert_eq!(order.status, OrderStatus::Open);
    assert_eq!(order.order_type, Some(OrderType::Limit));
    assert_eq!(
        order.time_in_force,
        Some(VenueTimeInForce::GoodUntilCancelled)
    );
    assert_eq!(order.limit_price, Some(d("65083.66")));
    assert_eq!(order.stop_price, None, "empty string is absent");
    assert_eq!(order.post_only, Some(false));
    assert_eq!(order.cumulative_quantity, Some(d("0.0004")));
    assert_eq!(order.leaves_quantity, Some(d("0.0006")));
    assert_eq!(order.avg_price, Some(d("65083.66")));
    assert_eq!(order.filled_value, Some(d("26.033464")));
    assert_eq!(order.number_of_fills, Some(2));
    assert_eq!(order.total_fees, Some(d("0.156200784")));
    assert_eq!(order.reject_reason, None);
    assert_eq!(order.cancel_reason, None);
}

#[test]
fn enums_are_case_insensitive_with_unknown_variants() {
    // Proves statuses and types match in any case/spelling, and unknown values do not fail.
    for (text, status) in [
        ("CANCELLED", OrderStatus::Cancelled),
        ("Cancelled", OrderStatus::Cancelled),
        ("cancel_queued", OrderStatus::CancelQueued),
        ("PENDING", OrderStatus::Pending),
        ("FILLED", OrderStatus::Filled),
        ("EXPIRED", OrderStatus::Expired),
        ("FAILED", OrderStatus::Failed),
        ("EDIT_QUEUED", OrderStatus::EditQueued),
        ("UNKNOWN_ORDER_STATUS", OrderStatus::Unknown),
        ("SOMETHING_NEW", OrderStatus::Unknown),
    ] {
        assert_eq!(OrderStatus::parse(text), status, "{text}");
    }
    assert_eq!(OrderType::parse("STOP_LIMIT"), OrderType::StopLimit);
    assert_eq!(OrderType::parse("market"), OrderType::Market);
    assert_eq!(OrderType::parse("LIQUIDATION"), OrderType::Unknown);
    assert_eq!(
        VenueTimeInForce::parse("immediate_or_cancel"),
        VenueTimeInForce::ImmediateOrCancel
    );
    assert_eq!(parse_side("sell"), Some(Side::Sell));
    assert_eq!(parse_side("bid"), None);
    assert!(OrderStatus::Cancelled.is_terminal() && !OrderStatus::CancelQueued.is_terminal());
}

#[test]
fn heartbeats_errors_acks_and_other_channels() {
    // Proves the non-user frames: heartbeat counters as number or string, the error shape
    // without channel, the subscriptions ack and unknown channels are all recognised.
    let hb = br#"{"channel":"heartbeats","sequence_num":3,"events":[{"current_time":"2026-08-09 21:05:48.854840045 +0000 UTC m=+41691.260485341","heartbeat_counter":41691}]}"#;
    assert_eq!(
        parse_user_frame(hb).expect("heartbeat"),
        UserFrame::Heartbeat {
            sequence_num: Some(3),
            counter: Some(41691)
        }
    );
    let hb_doc = br#"{"channel":"heartbeats","client_id":"","sequence_num":4,"events":[{"heartbeat_counter":"3049"}]}"#;
    assert!(matches!(
        parse_user_frame(hb_doc).expect("heartbeat"),
        UserFrame::Heartbeat {
            counter: Some(3049),
            ..
        }
    ));
    assert_eq!(
        parse_user_frame(br#"{"type":"error","message":"authentication failure"}"#)
            .expect("error frame"),
        UserFrame::Error {
            message: "authentication failure".into()
        }
    );
    let ack = br#"{"channel":"subscriptions","sequence_num":0,"events":[{"subscriptions":{"user":["BTC-USD"]}}]}"#;
    assert_eq!(
        parse_user_frame(ack).expect("ack"),
        UserFrame::Subscriptions {
            sequence_num: Some(0)
        }
    );
    let other = br#"{"channel":"futures_balance_summary","sequence_num":9,"events":[]}"#;
    assert!(matches!(
        parse_user_frame(other).expect("other"),
        UserFrame::Other {
            sequence_num: Some(9),
            ..
        }
    ));
}

#[test]
fn malformed_frames_name_the_problem() {
    // Proves bad input is an error (never a panic) whose text names the offending field.
    let cases: [(&[u8], &str); 6] = [
        (b"not json", "not JSON"),
        (b"[1,2]", "not a JSON object"),
        (
            br#"{"channel":"user","events":[{"type":"update","orders":[{"cumulative_quantity":"1"}]}]}"#,
            "events[0].orders[0].order_id: missing",
        ),
        (
            br#"{"channel":"user","events":[{"type":"update","orders":[{"order_id":"x","cumulative_quantity":"1.2.3"}]}]}"#,
            "events[0].orders[0].cumulative_quantity",
        ),
        (
            br#"{"channel":"user","events":[{"type":"update","orders":[{"order_id":"x","total_fees":0.1}]}]}"#,
            "total_fees: not a decimal string: 0.1",
        ),
        (br#"{"channel":"user","events":[{"orders":[]}]}"#, "events[0].type: missing"),
    ];
    for (frame, expected) in cases {
        let error = parse_user_frame(frame).expect_err("malformed");
        assert!(
            error.to_string().contains(expected),
            "{error} should mention {expected}"
        );
    }
    let huge = vec![b'{'; 100_000];
    assert!(parse_user_frame(&huge).is_err());
}
