//! Advanced Trade REST reads on the wire (docs/coinbase-advanced-trade.md §5.1, §5.6-5.8,
//! trap 12): list orders, list fills, accounts, best bid/ask and server time, each page
//! read into typed values with exact decimals. A body that is not the documented shape is
//! [`ApiError::Malformed`] naming the field and quoting the body's start.
//!
//! Pagination: orders and accounts answer `has_next` + `cursor`; fills answer `cursor` only
//! (empty on the last page). [`Page::next_cursor`] is the cursor to ask for next, if any.

use serde_json::{Map, Value};
use traider_core::event::Side;

use super::decimal::Decimal;
use super::fields::{
    FieldError, array, field_error, item, opt_bool, opt_decimal, opt_object, opt_str, opt_u64,
    req_str,
};
use super::orders::ApiError;
use super::user::{OrderStatus, OrderType, VenueTimeInForce, parse_side};

/// `GET` list orders.
pub const LIST_ORDERS_PATH: &str = "/api/v3/brokerage/orders/historical/batch";
/// `GET` list fills.
pub const LIST_FILLS_PATH: &str = "/api/v3/brokerage/orders/historical/fills";
/// `GET` accounts.
pub const ACCOUNTS_PATH: &str = "/api/v3/brokerage/accounts";
/// `GET` best bid/ask.
pub const BEST_BID_ASK_PATH: &str = "/api/v3/brokerage/best_bid_ask";
/// `GET` server time (public, unsigned).
pub const SERVER_TIME_PATH: &str = "/api/v3/brokerage/time";
/// Pages followed before a listing gives up, unless the filter says otherwise.
pub const PAGES_MAX_DEFAULT: usize = 100;

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// An order as `GET /orders/historical/*` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestOrder {
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub product_id: Option<String>,
    pub side: Option<Side>,
    pub status: OrderStatus,
    pub order_type: Option<OrderType>,
    pub time_in_force: Option<VenueTimeInForce>,
    /// From `order_configuration`'s one variant, when it has them.
    pub limit_price: Option<Decimal>,
    pub base_size: Option<Decimal>,
    pub post_only: Option<bool>,
    /// Filled so far, base units.
    pub filled_size: Option<Decimal>,
    pub average_filled_price: Option<Decimal>,
    pub filled_value: Option<Decimal>,
    pub number_of_fills: Option<u64>,
    pub total_fees: Option<Decimal>,
    pub reject_reason: Option<String>,
    pub reject_message: Option<String>,
    pub cancel_message: Option<String>,
    pub created_time: Option<String>,
    pub last_fill_time: Option<String>,
}

/// One fill (a trade of one of the key's orders): the authoritative record of price, size
/// and commission.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestFill {
    pub trade_id: String,
    pub order_id: String,
    pub product_id: Option<String>,
    pub price: Decimal,
    /// Base units (the documented shape; `size_in_quote` says otherwise for some fills).
    pub size: Decimal,
    /// Quote units.
    pub commission: Decimal,
    pub size_in_quote: Option<bool>,
    pub side: Option<Side>,
    /// `MAKER` / `TAKER`, verbatim.
    pub liquidity_indicator: Option<String>,
    pub trade_time: Option<String>,
    pub sequence_timestamp: Option<String>,
}

/// One balance of the key's portfolio.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub uuid: String,
    pub currency: String,
    pub name: Option<String>,
    /// `available_balance.value`.
    pub available: Decimal,
    /// `hold.value` (zero when absent).
    pub hold: Decimal,
    pub active: Option<bool>,
    pub ready: Option<bool>,
    /// `type`, verbatim (`ACCOUNT_TYPE_CRYPTO`, ...).
    pub account_type: Option<String>,
}

/// One side's level of a REST book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriceLevel {
    pub price: Decimal,
    pub size: Decimal,
}

/// The top of one product's book (`bids`/`asks`, best first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BestBidAsk {
    pub product_id: String,
    pub bids: Vec<PriceLevel>,
    pub asks: Vec<PriceLevel>,
    pub time: Option<String>,
}

/// The venue's clock (`GET /time`, camelCase fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerTime {
    pub iso: Option<String>,
    pub epoch_seconds: u64,
    pub epoch_millis: u64,
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// Parses `body` as a JSON object and reads it with `read`, mapping errors to Malformed.
fn read_body<T>(
    body: &[u8],
    read: impl FnOnce(&Map<String, Value>) -> Result<T, FieldError>,
) -> Result<T, ApiError> {
    let malformed = |reason: String| ApiError::Malformed {
        reason,
        snippet: snippet(body),
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(malformed("not a JSON object".to_owned()));
    };
    read(&object).map_err(|e| malformed(e.to_string()))
}

/// Reads every object of array `key` with `read`.
fn read_items<T>(
    object: &Map<String, Value>,
    key: &str,
    read: impl Fn(&Map<String, Value>, &str) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    let values = array(object, key, "")?;
    let mut out = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let (entry, path) = item(value, "", key, index)?;
        out.push(read(entry, &path)?);
    }
    Ok(out)
}

fn required_decimal(o: &Map<String, Value>, key: &str, path: &str) -> Result<Decimal, FieldError> {
    opt_decimal(o, key, path)?.ok_or_else(|| field_error(path, key, "missing"))
}

/// The next cursor of an orders/accounts page: `cursor` when `has_next` is true.
fn has_next_cursor(object: &Map<String, Value>) -> Result<Option<String>, FieldError> {
    let has_next = opt_bool(object, "has_next", "")?.unwrap_or(false);
    let cursor = opt_str(object, "cursor", "")?;
    match (has_next, cursor) {
        (false, _) => Ok(None),
        (true, Some(cursor)) => Ok(Some(cursor)),
        (true, None) => Err(field_error("", "cursor", "missing while has_next is true")),
    }
}

fn parse_rest_order(o: &Map<String, Value>, path: &str) -> Result<RestOrder, FieldError> {
    let text = |key: &str| opt_str(o, key, path);
    let dec = |key: &str| opt_decimal(o, key, path);
    // order_configuration holds exactly one variant ({"limit_limit_gtc": {...}}).
    let config_path = super::fields::join(path, "order_configuration");
    let variant = opt_object(o, "order_configuration", path)?
        .and_then(|c| c.iter().find_map(|(k, v)| v.as_object().map(|v| (k, v))));
    let (limit_price, base_size, post_only) = match variant {
        Some((name, v)) => {
            let at = super::fields::join(&config_path, name);
            (
                opt_decimal(v, "limit_price", &at)?,
                opt_decimal(v, "base_size", &at)?,
                opt_bool(v, "post_only", &at)?,
            )
        }
        None => (None, None, None),
    };
    Ok(RestOrder {
        order_id: req_str(o, "order_id", path)?,
        client_order_id: text("client_order_id")?,
        product_id: text("product_id")?,
        side: text("side")?.as_deref().and_then(parse_side),
        status: text("status")?
            .as_deref()
            .map_or(OrderStatus::Unknown, OrderStatus::parse),
        order_type: text("order_type")?.as_deref().map(OrderType::parse),
        time_in_force: text("time_in_force")?
            .as_deref()
            .map(VenueTimeInForce::parse),
        limit_price,
        base_size,
        post_only,
        filled_size: dec("filled_size")?,
        average_filled_price: dec("average_filled_price")?,
        filled_value: dec("filled_value")?,
        number_of_fills: opt_u64(o, "number_of_fills", path)?,
        total_fees: dec("total_fees")?,
        reject_reason: text("reject_reason")?,
        reject_message: text("reject_message")?,
        cancel_message: text("cancel_message")?,
        created_time: text("created_time")?,
        last_fill_time: text("last_fill_time")?,
    })
}

fn parse_rest_fill(o: &Map<String, Value>, path: &str) -> Result<RestFill, FieldError> {
    let text = |key: &str| opt_str(o, key, path);
    Ok(RestFill {
        trade_id: req_str(o, "trade_id", path)?,
        order_id: req_str(o, "order_id", path)?,
        product_id: text("product_id")?,
        price: required_decimal(o, "price", path)?,
        size: required_decimal(o, "size", path)?,
        commission: required_decimal(o, "commission", path)?,
        size_in_quote: opt_bool(o, "size_in_quote", path)?,
        side: text("side")?.as_deref().and_then(parse_side),
        liquidity_indicator: text("liquidity_indicator")?,
        trade_time: text("trade_time")?,
        sequence_timestamp: text("sequence_timestamp")?,
    })
}

fn parse_account(o: &Map<String, Value>, path: &str) -> Result<Account, FieldError> {
    let amount = |key: &str| -> Result<Option<Decimal>, FieldError> {
        match opt_object(o, key, path)? {
            Some(balance) => opt_decimal(balance, "value", &super::fields::join(path, key)),
            None => Ok(None),
        }
    };
    Ok(Account {
        uuid: req_str(o, "uuid", path)?,
        currency: req_str(o, "currency", path)?,
        name: opt_str(o, "name", path)?,
        available: amount("available_balance")?
            .ok_or_else(|| field_error(path, "available_balance.value", "missing"))?,
        hold: amount("hold")?.unwrap_or_default(),
        active: opt_bool(o, "active", path)?,
        ready: opt_bool(o, "ready", path)?,
        account_type: opt_str(o, "type", path)?,
    })
}

fn parse_level(o: &Map<String, Value>, path: &str) -> Result<PriceLevel, FieldError> {
    Ok(PriceLevel {
        price: required_decimal(o, "price", path)?,
        size: required_decimal(o, "size", path)?,
    })
}

fn parse_book(o: &Map<String, Value>, path: &str) -> Result<BestBidAsk, FieldError> {
    let side = |key: &str| -> Result<Vec<PriceLevel>, FieldError> {
        let mut out = Vec::new();
        for (index, value) in array(o, key, path)?.iter().enumerate() {
            let (level, at) = item(value, path, key, index)?;
            out.push(parse_level(level, &at)?);
        }
        Ok(out)
    };
    Ok(BestBidAsk {
        product_id: req_str(o, "product_id", path)?,
        bids: side("bids")?,
        asks: side("asks")?,
        time: opt_str(o, "time", path)?,
    })
}

/// One page of `GET /orders/historical/batch` (`orders`, `has_next`, `cursor`).
pub fn parse_orders_page(body: &[u8]) -> Result<Page<RestOrder>, ApiError> {
    read_body(body, |o| {
        if !o.contains_key("orders") {
            return Err(field_error("", "orders", "missing"));
        }
        Ok(Page {
            items: read_items(o, "orders", parse_rest_order)?,
            next_cursor: has_next_cursor(o)?,
        })
    })
}

/// One page of `GET /orders/historical/fills` (`fills`, `cursor`; empty cursor = last).
pub fn parse_fills_page(body: &[u8]) -> Result<Page<RestFill>, ApiError> {
    read_body(body, |o| {
        if !o.contains_key("fills") {
            return Err(field_error("", "fills", "missing"));
        }
        Ok(Page {
            items: read_items(o, "fills", parse_rest_fill)?,
            next_cursor: opt_str(o, "cursor", "")?,
        })
    })
}

/// One page of `GET /accounts` (`accounts`, `has_next`, `cursor`).
pub fn parse_accounts_page(body: &[u8]) -> Result<Page<Account>, ApiError> {
    read_body(body, |o| {
        if !o.contains_key("accounts") {
            return Err(field_error("", "accounts", "missing"));
        }
        Ok(Page {
            items: read_items(o, "accounts", parse_account)?,
            next_cursor: has_next_cursor(o)?,
        })
    })
}

/// `GET /best_bid_ask` (`pricebooks`).
pub fn parse_best_bid_ask(body: &[u8]) -> Result<Vec<BestBidAsk>, ApiError> {
    read_body(body, |o| {
        if !o.contains_key("pricebooks") {
            return Err(field_error("", "pricebooks", "missing"));
        }
        read_items(o, "pricebooks", parse_book)
    })
}

/// `GET /time` (`iso`, `epochSeconds`, `epochMillis`; numbers or digit strings).
pub fn parse_server_time(body: &[u8]) -> Result<ServerTime, ApiError> {
    read_body(body, |o| {
        let epoch_seconds = opt_u64(o, "epochSeconds", "")?
            .ok_or_else(|| field_error("", "epochSeconds", "missing"))?;
        let epoch_millis = match opt_u64(o, "epochMillis", "")? {
            Some(millis) => millis,
            None => epoch_seconds.checked_mul(1000).ok_or_else(|| {
                field_error("", "epochSeconds", "too large to count in milliseconds")
            })?,
        };
        Ok(ServerTime {
            iso: opt_str(o, "iso", "")?,
            epoch_seconds,
            epoch_millis,
        })
    })
}
