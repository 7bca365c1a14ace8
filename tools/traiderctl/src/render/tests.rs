//! The renderers on sample answers, full and with fields missing.

use super::*;
use serde_json::json;

fn status_full() -> Value {
    json!({
        "mode": "paper",
        "trading_state": "halted",
        "state_cause": "kill",
        "state_actor": {"name": "alice", "role": "operator", "source": "api"},
        "strategy_enabled": false,
        "strategy_cause": "operator",
        "flattening": true,
        "gate": "open",
        "event_time": "2025-01-02T03:04:05.678Z",
        "orders_open": 2,
        "pnl": {"total": "-12.50", "day_start": "0", "session_high": "3.25"},
        "counters": {"fills": 4, "orders_sent": 9},
        "rejects": {"price_collar": 1},
        "instruments": {
            "BTC-USD": {"best_bid": "64000.01", "best_ask": "64000.02", "stale": false,
                        "tradable": true, "position": "0.0105", "orders_open": 2},
            "ETH-USD": {"best_bid": null, "stale": true, "tradable": false}
        }
    })
}

#[test]
fn render_status_shows_every_field_of_a_full_status() {
    // Proves each field of the status lands on its labelled line, and each instrument
    // in a table row with its flags.
    let text = render_status(&status_full());
    let expected = "\
mode         paper
trading      halted, cause kill, by alice (operator via api)
strategy     disabled, cause operator
flattening   yes
gate         open
event time   2025-01-02T03:04:05.678Z
orders open  2
pnl          total -12.50, day start 0, session high 3.25
counters     fills=4 orders_sent=9
rejects      price_collar=1

INSTRUMENT  BID       ASK       POSITION  ORDERS  FLAGS
BTC-USD     64000.01  64000.02  0.0105    2       -
ETH-USD     -         -         -         -       stale,halted";
    assert_eq!(text, expected);
}

#[test]
fn render_status_renders_what_is_there_when_fields_are_missing() {
    // Proves a partial status (fields missing, wrong types, an empty object) renders
    // the fields present and nothing else, without panicking.
    let partial = json!({"trading_state": "active", "pnl": {"total": "1"},
                         "state_actor": {"source": "risk"}, "counters": "n/a",
                         "instruments": {"BTC-USD": 7}});
    let text = render_status(&partial);
    let expected = "\
trading   active, by ? (via risk)
pnl       total 1
counters  n/a

INSTRUMENT  BID  ASK  POSITION  ORDERS  FLAGS
BTC-USD     -    -    -         -       -";
    assert_eq!(text, expected);
    assert_eq!(render_status(&json!({})), "(the status is empty)");
    assert_eq!(render_status(&json!([1, 2])), "(the status is empty)");
    assert_eq!(
        render_status(&json!({"strategy_cause": "x"})),
        "strategy  cause x"
    );
}

#[test]
fn render_positions_is_one_row_per_instrument() {
    // Proves the positions table's columns and that missing fields show as `-`.
    let body = json!({
        "BTC-USD": {"position": "0.5", "realized_pnl": "10.00", "unrealized_pnl": "-2.50",
                    "cost_basis": "32000.00", "fees": "1.20", "fills": 3},
        "ETH-USD": {"position": "0"}
    });
    let expected = "\
INSTRUMENT  POSITION  REALIZED  UNREALIZED  COST_BASIS  FEES  FILLS
BTC-USD     0.5       10.00     -2.50       32000.00    1.20  3
ETH-USD     0         -         -           -           -     -";
    assert_eq!(render_positions(&body), expected);
    assert_eq!(render_positions(&json!({})), "no positions");
    assert_eq!(render_positions(&json!(null)), "no positions");
}

#[test]
fn render_orders_is_a_table_with_flags() {
    // Proves the orders table, the count line and the post-only / cancel-pending /
    // adopted flags; a missing count is the number of rows.
    let body = json!({"count": 2, "orders": [
        {"client_order_id": "c-1", "instrument": "BTC-USD", "side": "buy",
         "price": "64000.00", "size": "0.001", "filled": "0", "state": "open",
         "time_in_force": "gtc", "post_only": true, "cancel_pending": false,
         "adopted": false},
        {"client_order_id": "c-2", "instrument": "BTC-USD", "side": "sell",
         "cancel_pending": true, "adopted": true}
    ]});
    let expected = "\
2 live orders
CLIENT_ORDER_ID  INSTRUMENT  SIDE  PRICE     SIZE   FILLED  STATE  TIF  FLAGS
c-1              BTC-USD     buy   64000.00  0.001  0       open   gtc  post-only
c-2              BTC-USD     sell  -         -      -       -      -    cancel-pending,adopted";
    assert_eq!(render_orders(&body), expected);
    let uncounted = json!({"orders": [{"client_order_id": "c-9"}]});
    assert!(render_orders(&uncounted).starts_with("1 live order\n"));
    assert_eq!(
        render_orders(&json!({"count": 0, "orders": []})),
        "no live orders"
    );
    assert_eq!(render_orders(&json!({})), "no live orders");
}

#[test]
fn render_limits_lists_the_account_then_each_instrument() {
    // Proves `name value` lines, account first, numbers and strings alike.
    let body = json!({
        "account": {"max_open_orders": 20, "daily_loss_limit": "500"},
        "instruments": {"BTC-USD": {"max_order_size": "0.01", "max_position": "0.1"}}
    });
    let expected = "\
account
  daily_loss_limit  500
  max_open_orders   20
BTC-USD
  max_order_size  0.01
  max_position    0.1";
    assert_eq!(render_limits(&body), expected);
    assert_eq!(render_limits(&json!({"instruments": {"X": 1}})), "X\n  1");
    assert_eq!(render_limits(&json!({})), "no limits in the answer");
}

#[test]
fn render_outcome_says_applied_no_change_or_pending() {
    // Proves the command lines for 200 applied / no_change (with and without the trading
    // state) and for 202 pending.
    let body = |outcome: &str| {
        json!({"command": "kill", "request_id": 7, "outcome": outcome,
               "trading_state": "halted"})
    };
    assert_eq!(
        render_outcome("kill", 200, &body("applied")),
        "kill: applied (trading halted)"
    );
    assert_eq!(
        render_outcome("kill", 200, &body("no_change")),
        "kill: no change (trading halted)"
    );
    assert_eq!(
        render_outcome("kill", 202, &body("pending")),
        "kill: published, not yet confirmed"
    );
    assert_eq!(
        render_outcome("resume", 200, &json!({"outcome": "pending"})),
        "resume: published, not yet confirmed"
    );
    assert_eq!(
        render_outcome("cancel-all", 200, &json!({"outcome": "applied"})),
        "cancel-all: applied"
    );
    assert_eq!(
        render_outcome("resume", 200, &json!({})),
        "resume: done (no outcome in the answer)"
    );
}

#[test]
fn render_answer_picks_the_renderer_by_call() {
    // Proves commands render as outcomes under the operator's name for them, reads as
    // their own renderers.
    let outcome = Answer {
        status: 200,
        body: json!({"command": "strategy", "outcome": "applied", "trading_state": "active"}),
    };
    let enable = Call::Strategy { enabled: true };
    assert_eq!(
        render_answer(&enable, &outcome),
        "strategy enable: applied (trading active)"
    );
    let orders = Answer {
        status: 200,
        body: json!({"count": 0, "orders": []}),
    };
    assert_eq!(render_answer(&Call::Orders, &orders), "no live orders");
}
