//! The user channel's frames, typed (docs/coinbase-advanced-trade.md §2.3, §2.5 "user").
//!
//! Lenient where the venue is loose: only `order_id` is essential in an order; every other
//! field is optional, unknown fields, channels and event types are ignored, enums are read
//! case-insensitively with an `Unknown` variant, and numbers stay exact ([`Decimal`]), with
//! `number_of_fills` and `post_only` accepted as strings. Strict where a wrong value would
//! mislead: a field that is present but not a valid decimal/integer is an error naming it.

use serde_json::{Map, Value};
use traider_core::event::Side;

use super::super::decimal::Decimal;
use super::super::fields::{
    FieldError, array, enum_key, field_error, item, opt_bool, opt_decimal, opt_str, opt_u64,
    req_str,
};

/// An order's status (user channel and REST; REST-only values included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Not yet open.
    Pending,
    /// REST only: accepted, queued for placement.
    Queued,
    Open,
    Filled,
    /// A cancel was requested; the order may still fill.
    CancelQueued,
    /// REST only: an edit is in flight.
    EditQueued,
    Cancelled,
    /// Not filled by its end time.
    Expired,
    /// Could not be placed.
    Failed,
    /// Absent, `UNKNOWN_ORDER_STATUS` or a value this build does not know.
    #[default]
    Unknown,
}

impl OrderStatus {
    /// Reads a status, case-insensitively (`CANCELLED`, `Cancelled`, `cancel_queued`...).
    pub fn parse(text: &str) -> Self {
        match enum_key(text).as_str() {
            "PENDING" => Self::Pending,
            "QUEUED" => Self::Queued,
            "OPEN" => Self::Open,
            "FILLED" => Self::Filled,
            "CANCELQUEUED" => Self::CancelQueued,
            "EDITQUEUED" => Self::EditQueued,
            "CANCELLED" | "CANCELED" => Self::Cancelled,
            "EXPIRED" => Self::Expired,
            "FAILED" => Self::Failed,
            _ => Self::Unknown,
        }
    }

    /// True if the order can no longer fill.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Cancelled | Self::Expired | Self::Failed
        )
    }

    /// The REST query spelling (`order_status=OPEN`); `None` for [`Self::Unknown`].
    pub fn as_query(self) -> Option<&'static str> {
        Some(match self {
            Self::Pending => "PENDING",
            Self::Queued => "QUEUED",
            Self::Open => "OPEN",
            Self::Filled => "FILLED",
            Self::CancelQueued => "CANCEL_QUEUED",
            Self::EditQueued => "EDIT_QUEUED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
            Self::Failed => "FAILED",
            Self::Unknown => return None,
        })
    }
}

/// An order's type (`LIMIT` on REST, `Limit` in the user channel's example).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    Market,
    Limit,
    Stop,
    StopLimit,
    Bracket,
    Twap,
    Unknown,
}

impl OrderType {
    pub fn parse(text: &str) -> Self {
        match enum_key(text).as_str() {
            "MARKET" => Self::Market,
            "LIMIT" => Self::Limit,
            "STOP" => Self::Stop,
            "STOPLIMIT" => Self::StopLimit,
            "BRACKET" => Self::Bracket,
            "TWAP" => Self::Twap,
            _ => Self::Unknown,
        }
    }
}

/// The venue's time-in-force values (the core's own `TimeInForce` is what it sends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VenueTimeInForce {
    GoodUntilCancelled,
    GoodUntilDateTime,
    ImmediateOrCancel,
    FillOrKill,
    Unknown,
}

impl VenueTimeInForce {
    pub fn parse(text: &str) -> Self {
        match enum_key(text).as_str() {
            "GOODUNTILCANCELLED" | "GTC" => Self::GoodUntilCancelled,
            "GOODUNTILDATETIME" | "GTD" => Self::GoodUntilDateTime,
            "IMMEDIATEORCANCEL" | "IOC" => Self::ImmediateOrCancel,
            "FILLORKILL" | "FOK" => Self::FillOrKill,
            _ => Self::Unknown,
        }
    }
}

/// `BUY`/`SELL` in any case; anything else is `None`.
pub fn parse_side(text: &str) -> Option<Side> {
    match enum_key(text).as_str() {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    }
}

/// One order object of a user-channel event. Quantities are in base units, values and fees
/// in quote units, all exact; cumulative fields are totals since the order was placed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserOrder {
    /// The venue's id; the one essential field.
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub product_id: Option<String>,
    /// `order_side`; `None` if absent or not `BUY`/`SELL`.
    pub side: Option<Side>,
    /// [`OrderStatus::Unknown`] when absent.
    pub status: OrderStatus,
    pub order_type: Option<OrderType>,
    pub time_in_force: Option<VenueTimeInForce>,
    /// `None` when absent or empty; `"0"` (not a limit order) is kept as zero.
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub post_only: Option<bool>,
    /// Filled so far, base units.
    pub cumulative_quantity: Option<Decimal>,
    /// Remaining, in the unit the order was sized in (quote for quote-sized market buys).
    pub leaves_quantity: Option<Decimal>,
    pub avg_price: Option<Decimal>,
    /// Filled so far, quote units.
    pub filled_value: Option<Decimal>,
    pub number_of_fills: Option<u64>,
    pub total_fees: Option<Decimal>,
    pub reject_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub creation_time: Option<String>,
}

impl UserOrder {
    /// Reads one order object at `path` (for error messages).
    pub fn parse(object: &Map<String, Value>, path: &str) -> Result<Self, FieldError> {
        let text = |key: &str| opt_str(object, key, path);
        let dec = |key: &str| opt_decimal(object, key, path);
        Ok(Self {
            order_id: req_str(object, "order_id", path)?,
            client_order_id: text("client_order_id")?,
            product_id: text("product_id")?,
            side: text("order_side")?.as_deref().and_then(parse_side),
            status: text("status")?
                .as_deref()
                .map_or(OrderStatus::Unknown, OrderStatus::parse),
            order_type: text("order_type")?.as_deref().map(OrderType::parse),
            time_in_force: text("time_in_force")?
                .as_deref()
                .map(VenueTimeInForce::parse),
            limit_price: dec("limit_price")?,
            stop_price: dec("stop_price")?,
            post_only: opt_bool(object, "post_only", path)?,
            cumulative_quantity: dec("cumulative_quantity")?,
            leaves_quantity: dec("leaves_quantity")?,
            avg_price: dec("avg_price")?,
            filled_value: dec("filled_value")?,
            number_of_fills: opt_u64(object, "number_of_fills", path)?,
            total_fees: dec("total_fees")?,
            // The field table spells it reject_Reason, the example reject_reason.
            reject_reason: match text("reject_reason")? {
                Some(reason) => Some(reason),
                None => text("reject_Reason")?,
            },
            cancel_reason: text("cancel_reason")?,
            creation_time: text("creation_time")?,
        })
    }
}

/// A user-channel event's `type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserEventKind {
    /// Part of the open-order listing sent after subscribing (batches of 50).
    Snapshot,
    /// Changes to orders.
    Update,
    /// A type this build does not know (kept verbatim).
    Unknown(String),
}

/// One event of a `user` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserBatch {
    pub kind: UserEventKind,
    pub orders: Vec<UserOrder>,
}

/// One frame from the user-data WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserFrame {
    /// `channel: "user"`.
    User {
        sequence_num: Option<u64>,
        events: Vec<UserBatch>,
    },
    /// `channel: "heartbeats"`; the counter is a number on the wire, a string in the docs.
    Heartbeat {
        sequence_num: Option<u64>,
        counter: Option<u64>,
    },
    /// `channel: "subscriptions"` (the cumulative subscription ack).
    Subscriptions { sequence_num: Option<u64> },
    /// `{"type":"error","message":...}`: no channel, no sequence number.
    Error { message: String },
    /// Any other channel (e.g. `futures_balance_summary`), ignored.
    Other {
        channel: String,
        sequence_num: Option<u64>,
    },
}

impl UserFrame {
    pub fn sequence_num(&self) -> Option<u64> {
        match self {
            Self::User { sequence_num, .. }
            | Self::Heartbeat { sequence_num, .. }
            | Self::Subscriptions { sequence_num }
            | Self::Other { sequence_num, .. } => *sequence_num,
            Self::Error { .. } => None,
        }
    }
}

/// A frame that could not be read, with what was wrong and the frame's first bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed user-channel frame ({problem}): {snippet}")]
pub struct MalformedFrame {
    pub problem: String,
    pub snippet: String,
}

const SNIPPET_CHARS: usize = 160;

/// Reads one text frame of the user-data WebSocket.
pub fn parse_user_frame(frame: &[u8]) -> Result<UserFrame, MalformedFrame> {
    let malformed = |problem: String| MalformedFrame {
        problem,
        snippet: String::from_utf8_lossy(frame)
            .chars()
            .take(SNIPPET_CHARS)
            .collect(),
    };
    let value: Value =
        serde_json::from_slice(frame).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(envelope) = value else {
        return Err(malformed("not a JSON object".to_owned()));
    };
    parse_envelope(&envelope).map_err(|e| malformed(e.to_string()))
}

fn parse_envelope(envelope: &Map<String, Value>) -> Result<UserFrame, FieldError> {
    let channel = opt_str(envelope, "channel", "")?;
    let Some(channel) = channel else {
        let kind = opt_str(envelope, "type", "")?;
        if kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("error"))
        {
            let message = opt_str(envelope, "message", "")?.unwrap_or_default();
            return Ok(UserFrame::Error { message });
        }
        return Err(field_error(
            "",
            "channel",
            "missing (and not an error frame)",
        ));
    };
    let sequence_num = opt_u64(envelope, "sequence_num", "")?;
    let events = array(envelope, "events", "")?;
    Ok(match channel.as_str() {
        "user" => {
            let mut batches = Vec::with_capacity(events.len());
            for (index, event) in events.iter().enumerate() {
                let (event, path) = item(event, "", "events", index)?;
                batches.push(parse_event(event, &path)?);
            }
            UserFrame::User {
                sequence_num,
                events: batches,
            }
        }
        "heartbeats" => {
            let counter = match events.first() {
                Some(event) => {
                    let (event, path) = item(event, "", "events", 0)?;
                    opt_u64(event, "heartbeat_counter", &path)?
                }
                None => None,
            };
            UserFrame::Heartbeat {
                sequence_num,
                counter,
            }
        }
        "subscriptions" => UserFrame::Subscriptions { sequence_num },
        _ => UserFrame::Other {
            channel,
            sequence_num,
        },
    })
}

fn parse_event(event: &Map<String, Value>, path: &str) -> Result<UserBatch, FieldError> {
    let kind = match opt_str(event, "type", path)? {
        None => return Err(field_error(path, "type", "missing")),
        Some(kind) => match enum_key(&kind).as_str() {
            "SNAPSHOT" => UserEventKind::Snapshot,
            "UPDATE" => UserEventKind::Update,
            _ => UserEventKind::Unknown(kind),
        },
    };
    let raw_orders = array(event, "orders", path)?;
    let mut orders = Vec::with_capacity(raw_orders.len());
    for (index, order) in raw_orders.iter().enumerate() {
        let (order, order_path) = item(order, path, "orders", index)?;
        orders.push(UserOrder::parse(order, &order_path)?);
    }
    Ok(UserBatch { kind, orders })
}
