//! Orders and fills at the simulated venue: what an order is, the checks a new order passes,
//! and the JSON views of orders and fills the REST endpoints and the user channel answer
//! with. Amounts are integers (ticks, lots, [`Money`] units); text is made only here.
//!
//! Pure functions; called under the venue lock.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use traider_core::num::{DecimalDisplay, MONEY_SCALE, Money};

use super::book::{Rules, SimBook};
use crate::replay::clock::format_rfc3339_ns;

/// "Not applicable" time, as the venue writes it.
pub const NO_TIME: &str = "0001-01-01T00:00:00Z";

/// One order at the simulated venue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOrder {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// The `order_configuration` as received (edits rewrite it).
    pub configuration: Value,
    /// The configuration's key, e.g. `limit_limit_gtc`.
    pub kind: String,
    /// `OPEN`, `FILLED`, `CANCELLED` (user-channel spelling).
    pub status: String,
    pub size_lots: i64,
    /// `None` for a market order.
    pub limit_ticks: Option<i64>,
    pub stop_ticks: Option<i64>,
    pub post_only: bool,
    /// A stop order triggers when a print reaches its stop price from below (`true`:
    /// `STOP_DIRECTION_STOP_UP`) or from above.
    #[serde(default)]
    pub stop_up: bool,
    /// A stop order has triggered and works as a limit GTC order.
    #[serde(default)]
    pub triggered: bool,
    pub filled_lots: i64,
    pub fills: u32,
    /// Σ price × size of the fills, in [`Money`] units of the quote currency.
    pub filled_value: i128,
    /// Σ commissions, in [`Money`] units.
    pub total_fees: i128,
    /// Venue clock (UNIX ns) at creation.
    pub created_ns: u64,
    pub cancel_reason: String,
    /// A GTD order's `end_time` as received (empty otherwise).
    pub end_time: String,
}

impl SimOrder {
    pub fn is_open(&self) -> bool {
        self.status == "OPEN"
    }

    pub fn is_buy(&self) -> bool {
        self.side == "BUY"
    }

    pub fn leaves_lots(&self) -> i64 {
        self.size_lots - self.filled_lots
    }

    /// The venue's `trigger_status`.
    pub fn trigger_status(&self) -> &'static str {
        match (self.stop_ticks.is_some(), self.triggered) {
            (false, _) => "INVALID_ORDER_TYPE",
            (true, false) => "STOP_PENDING",
            (true, true) => "STOP_TRIGGERED",
        }
    }
}

/// One fill at the simulated venue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimFill {
    /// UUID-shaped, unique.
    pub trade_id: String,
    pub entry_id: String,
    pub order_id: String,
    pub product_id: String,
    pub side: String,
    pub price: String,
    pub size: String,
    /// Exact decimal, quote currency.
    pub commission: String,
    /// `MAKER` or `TAKER`.
    pub liquidity_indicator: String,
    pub trade_time: String,
    pub sequence_timestamp: String,
}

/// A new order, checked: what matching needs.
pub(crate) struct Checked {
    pub kind: String,
    pub buy: bool,
    pub lots: i64,
    pub limit_ticks: Option<i64>,
    pub stop_ticks: Option<i64>,
    pub post_only: bool,
    pub stop_up: bool,
    pub end_time: String,
}

/// The configuration keys the venue accepts.
const LIMIT_KINDS: [&str; 5] = [
    "limit_limit_gtc",
    "limit_limit_gtd",
    "limit_limit_fok",
    "sor_limit_ioc",
    "stop_limit_stop_limit_gtc",
];

/// Why the venue refuses an order: its error code and message.
type Refusal = (&'static str, String);

fn unsupported(what: &str) -> Refusal {
    ("UNSUPPORTED_ORDER_CONFIGURATION", what.to_owned())
}

/// The venue's checks of a new order against its product's rules and book;
/// `Err((reason, message))` rejects it.
pub(crate) fn check_order(
    rules: &Rules,
    book: Option<&SimBook>,
    side: &str,
    configuration: &Value,
) -> Result<Checked, Refusal> {
    if rules.trading_disabled {
        let message = "trading is disabled for this product".to_owned();
        return Err(("ORDER_ENTRY_DISABLED", message));
    }
    let buy = match side {
        "BUY" => true,
        "SELL" => false,
        other => return Err(("INVALID_SIDE", format!("side {other:?}"))),
    };
    let (kind, fields) = configuration
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or((
            "UNSUPPORTED_ORDER_CONFIGURATION",
            "exactly one order configuration".into(),
        ))?;
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    let lots = check_size(rules, text("base_size"))?;
    let checked = Checked {
        kind: kind.clone(),
        buy,
        lots,
        limit_ticks: None,
        stop_ticks: None,
        post_only: false,
        stop_up: match text("stop_direction") {
            Some("STOP_DIRECTION_STOP_UP") => true,
            Some("STOP_DIRECTION_STOP_DOWN") => false,
            _ => buy,
        },
        end_time: text("end_time").unwrap_or_default().to_owned(),
    };
    if kind == "market_market_ioc" {
        return Ok(checked);
    }
    if !LIMIT_KINDS.contains(&kind.as_str()) {
        return Err(unsupported(&format!("{kind} is not supported")));
    }
    check_limit(rules, book, fields, checked)
}

/// The order's `base_size` in lots: required, on the base increment, within the
/// product's min/max.
fn check_size(rules: &Rules, size: Option<&str>) -> Result<i64, Refusal> {
    let size = size.ok_or(unsupported("base_size is required"))?;
    let lots = rules
        .base_increment
        .parse_count(size.as_bytes())
        .map_err(|_| {
            let message = format!("base_size {size} is not on the base increment");
            ("INVALID_SIZE_PRECISION", message)
        })?;
    if lots < rules.base_min_lots || lots > rules.base_max_lots {
        let message = format!("base_size {size} is outside the product's min/max");
        return Err(("INVALID_SIZE", message));
    }
    Ok(lots)
}

/// A limit order's prices: the limit (and a stop order's stop) on the price increment
/// and positive; a post-only order must not cross the book.
fn check_limit(
    rules: &Rules,
    book: Option<&SimBook>,
    fields: &Value,
    mut checked: Checked,
) -> Result<Checked, Refusal> {
    let ticks = price_ticks(rules, fields, "limit_price")?;
    if checked.kind == "stop_limit_stop_limit_gtc" {
        checked.stop_ticks = Some(price_ticks(rules, fields, "stop_price")?);
    }
    let post_only = fields
        .get("post_only")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let crosses = if checked.buy {
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
    checked.limit_ticks = Some(ticks);
    checked.post_only = post_only;
    Ok(checked)
}

/// The price at `key` in ticks: required, on the price increment, positive.
fn price_ticks(rules: &Rules, fields: &Value, key: &str) -> Result<i64, Refusal> {
    let price = fields
        .get(key)
        .and_then(Value::as_str)
        .ok_or(("INVALID_LIMIT_PRICE", format!("{key} is required")))?;
    let ticks = rules
        .price_increment
        .parse_count(price.as_bytes())
        .map_err(|_| {
            let message = format!("{key} {price} is not on the price increment");
            ("INVALID_PRICE_PRECISION", message)
        })?;
    if ticks <= 0 {
        return Err(("INVALID_LIMIT_PRICE", format!("{key} must be positive")));
    }
    Ok(ticks)
}

/// Money units per quote unit of one tick × one lot: `step_p × step_b × 10^(24 − sp − sb)`.
pub(crate) fn notional(rules: &Rules, ticks: i64, lots: i64) -> i128 {
    let scale = rules.price_increment.scale + rules.base_increment.scale;
    assert!(scale <= MONEY_SCALE, "increments finer than Money");
    i128::from(ticks)
        * i128::from(rules.price_increment.step)
        * i128::from(lots)
        * i128::from(rules.base_increment.step)
        * 10_i128.pow(MONEY_SCALE - scale)
}

/// Base amount of `lots` in [`Money`] units of the base currency.
pub(crate) fn base_units(rules: &Rules, lots: i64) -> i128 {
    assert!(rules.base_increment.scale <= MONEY_SCALE);
    i128::from(lots)
        * i128::from(rules.base_increment.step)
        * 10_i128.pow(MONEY_SCALE - rules.base_increment.scale)
}

/// `bps` basis points of `amount`, rounded down (exact for tick × lot notionals).
pub(crate) fn fee(amount: i128, bps: u32) -> i128 {
    amount * i128::from(bps) / 10_000
}

pub(crate) fn money_text(units: i128) -> String {
    Money(units).display().to_string()
}

/// `numerator / denominator` (both ≥ 0) as a decimal with `digits` fractional digits,
/// rounded down; long division, so large [`Money`] amounts cannot overflow.
fn ratio_text(numerator: i128, denominator: i128, digits: u32) -> String {
    if denominator <= 0 || numerator < 0 {
        return "0".to_owned();
    }
    let mut units = numerator / denominator;
    let mut remainder = numerator % denominator;
    for _ in 0..digits {
        remainder *= 10;
        units = units * 10 + remainder / denominator;
        remainder %= denominator;
    }
    DecimalDisplay {
        units,
        scale: digits,
    }
    .to_string()
}

/// What an open order holds: quote (notional plus the taker fee) for a buy, base for a sell;
/// in [`Money`] units of the held currency.
pub(crate) fn hold_units(order: &SimOrder, rules: &Rules, taker_fee_bps: u32) -> i128 {
    if !order.is_open() {
        return 0;
    }
    if order.is_buy() {
        let ticks = order.limit_ticks.unwrap_or(0);
        let value = notional(rules, ticks, order.leaves_lots());
        value + fee(value, taker_fee_bps)
    } else {
        base_units(rules, order.leaves_lots())
    }
}

fn order_type(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "market_market_ioc" => ("MARKET", "IMMEDIATE_OR_CANCEL"),
        "sor_limit_ioc" => ("LIMIT", "IMMEDIATE_OR_CANCEL"),
        "limit_limit_fok" => ("LIMIT", "FILL_OR_KILL"),
        "limit_limit_gtd" => ("LIMIT", "GOOD_UNTIL_DATE_TIME"),
        "stop_limit_stop_limit_gtc" => ("STOP_LIMIT", "GOOD_UNTIL_CANCELLED"),
        _ => ("LIMIT", "GOOD_UNTIL_CANCELLED"),
    }
}

/// The cumulative figures both views share.
struct Figures {
    filled: String,
    leaves: String,
    avg_price: String,
    filled_value: String,
    completion: String,
    total_fees: String,
    after_fees: String,
    limit_price: String,
    stop_price: String,
}

fn figures(order: &SimOrder, rules: &Rules) -> Figures {
    let base = |lots: i64| rules.base_increment.display(lots).to_string();
    let price = |ticks: Option<i64>| {
        ticks.map_or_else(
            || "0".to_owned(),
            |t| rules.price_increment.display(t).to_string(),
        )
    };
    let filled_base = base_units(rules, order.filled_lots);
    // avg = value / base, both in Money units: a quote price to 10 digits past the tick.
    let digits = rules.price_increment.scale + 10;
    let after_fees = if order.is_buy() {
        order.filled_value + order.total_fees
    } else {
        order.filled_value - order.total_fees
    };
    Figures {
        filled: base(order.filled_lots),
        leaves: base(order.leaves_lots()),
        avg_price: ratio_text(order.filled_value, filled_base, digits),
        filled_value: money_text(order.filled_value),
        completion: ratio_text(
            i128::from(order.filled_lots) * 100,
            i128::from(order.size_lots),
            2,
        ),
        total_fees: money_text(order.total_fees),
        after_fees: money_text(after_fees),
        limit_price: price(order.limit_ticks),
        stop_price: price(order.stop_ticks),
    }
}

/// The REST order object (`GET /orders/historical/{id}`, list orders).
pub(crate) fn rest_order_json(order: &SimOrder, rules: &Rules, taker_fee_bps: u32) -> Value {
    let f = figures(order, rules);
    let (order_type, time_in_force) = order_type(&order.kind);
    json!({
        "order_id": order.order_id, "product_id": order.product_id, "user_id": "sim",
        "order_configuration": order.configuration, "side": order.side,
        "client_order_id": order.client_order_id, "status": order.status,
        "time_in_force": time_in_force, "created_time": format_rfc3339_ns(order.created_ns),
        "completion_percentage": f.completion, "filled_size": f.filled,
        "average_filled_price": f.avg_price, "fee": "", "number_of_fills": order.fills.to_string(),
        "filled_value": f.filled_value, "pending_cancel": false, "size_in_quote": false,
        "total_fees": f.total_fees, "size_inclusive_of_fees": false,
        "total_value_after_fees": f.after_fees, "trigger_status": order.trigger_status(),
        "order_type": order_type, "reject_reason": "REJECT_REASON_UNSPECIFIED",
        "settled": !order.is_open(), "product_type": "SPOT", "reject_message": "",
        "cancel_message": order.cancel_reason, "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": money_text(hold_units(order, rules, taker_fee_bps)),
        "is_liquidation": false, "edit_history": [], "retail_portfolio_id": "",
    })
}

/// The user-channel order object (§2.5), cumulative.
pub(crate) fn user_order_json(order: &SimOrder, rules: &Rules, taker_fee_bps: u32) -> Value {
    let f = figures(order, rules);
    let (order_type, time_in_force) = order_type(&order.kind);
    let order_type = match order_type {
        "MARKET" => "Market",
        "STOP_LIMIT" => "StopLimit",
        _ => "Limit",
    };
    let end_time = if order.end_time.is_empty() {
        NO_TIME
    } else {
        &order.end_time
    };
    json!({
        "avg_price": f.avg_price, "cancel_reason": order.cancel_reason,
        "client_order_id": order.client_order_id,
        "completion_percentage": f.completion,
        "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
        "cumulative_quantity": f.filled, "filled_value": f.filled_value,
        "leaves_quantity": if order.is_open() { f.leaves } else { "0".to_owned() },
        "limit_price": f.limit_price, "number_of_fills": order.fills.to_string(),
        "order_id": order.order_id, "order_side": order.side, "order_type": order_type,
        "outstanding_hold_amount": money_text(hold_units(order, rules, taker_fee_bps)),
        "post_only": if order.post_only { "true" } else { "false" },
        "product_id": order.product_id, "product_type": "SPOT",
        "reject_reason": "", "retail_portfolio_id": "",
        "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE", "status": order.status,
        "stop_price": f.stop_price, "time_in_force": time_in_force,
        "total_fees": f.total_fees, "total_value_after_fees": f.after_fees,
        "trigger_status": order.trigger_status(),
        "creation_time": format_rfc3339_ns(order.created_ns), "end_time": end_time,
        "start_time": NO_TIME,
    })
}

/// A user-channel object for a create the venue refused (no order exists).
pub(crate) fn failed_order_json(
    client_order_id: &str,
    product_id: &str,
    side: &str,
    reason: &str,
    now_ns: u64,
) -> Value {
    json!({
        "avg_price": "0", "cancel_reason": "", "client_order_id": client_order_id,
        "completion_percentage": "0", "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
        "cumulative_quantity": "0", "filled_value": "0", "leaves_quantity": "0",
        "limit_price": "0", "number_of_fills": "0", "order_id": "", "order_side": side,
        "order_type": "Limit", "outstanding_hold_amount": "0", "post_only": "false",
        "product_id": product_id, "product_type": "SPOT", "reject_reason": reason,
        "retail_portfolio_id": "", "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
        "status": "FAILED", "stop_price": "0", "time_in_force": "UNKNOWN_TIME_IN_FORCE",
        "total_fees": "0", "total_value_after_fees": "0", "trigger_status": "INVALID_ORDER_TYPE",
        "creation_time": format_rfc3339_ns(now_ns), "end_time": NO_TIME, "start_time": NO_TIME,
    })
}

/// The REST fill object (`GET /orders/historical/fills`).
pub(crate) fn fill_json(fill: &SimFill) -> Value {
    json!({
        "entry_id": fill.entry_id, "trade_id": fill.trade_id, "order_id": fill.order_id,
        "trade_time": fill.trade_time, "trade_type": "FILL", "price": fill.price,
        "size": fill.size, "commission": fill.commission, "product_id": fill.product_id,
        "sequence_timestamp": fill.sequence_timestamp,
        "liquidity_indicator": fill.liquidity_indicator, "size_in_quote": false,
        "user_id": "sim", "side": fill.side, "retail_portfolio_id": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_down_at_their_digits() {
        // Proves average prices and percentages are exact decimals rounded down.
        assert_eq!(ratio_text(2, 3, 4), "0.6666");
        assert_eq!(ratio_text(100, 1, 2), "100");
        assert_eq!(ratio_text(5, 0, 2), "0");
        assert_eq!(fee(1_000_000, 40), 4_000);
        let value = 32_541_835 * 10_i128.pow(21); // 0.5 BTC at 65083.67, in Money units
        let base = 5 * 10_i128.pow(23);
        assert_eq!(ratio_text(value, base, 12), "65083.67");
    }
}
