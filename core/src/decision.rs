//! Decisions: everything the engine decides. Each is journaled when it is made, after the
//! input that caused it; [`crate::record`] holds their codec, the table below their codes,
//! names and fields.

use crate::admin::{Actor, AdminCommandKind, AdminOutcome};
use crate::book::StaleCause;
use crate::control::{StateCause, TradingState};
use crate::event::{DecodeError, Side};
use crate::instrument::InstrumentId;
use crate::num::Money;
use crate::order::{ClientOrderId, OrderRequest};
use crate::risk::{LimitId, Reject};
use crate::sim::{Liquidity, VenueReject};
use crate::strategy::Reason;
use crate::venue::GateCause;

crate::wire::wire_union! {
    /// Everything the engine decides. Journaled as record kind `DECISION_BASE + code`
    /// ([`crate::record`]), fields in the order listed here; `serde` gives the fields as a
    /// JSON object (`journal dump`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(untagged)]
    pub enum Decision, kinds DecisionKind, reserved 0 {
        /// A new order, with the reason the strategy (or a control) gave for it.
        OrderNew = 1 "order_new" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            #[serde(flatten)]
            request: OrderRequest,
            reason: Reason,
        },
        CancelRequest = 2 "cancel_request" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            instrument: InstrumentId,
            reason: Reason,
        },
        RiskReject = 3 "risk_reject" {
            #[serde(flatten)]
            request: OrderRequest,
            reject: Reject,
            reason: Reason,
        },
        OrderAccepted = 4 "order_accepted" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        OrderRejected = 5 "order_rejected" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            reason: VenueReject,
        },
        Fill = 6 "fill" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            instrument: InstrumentId,
            side: Side,
            liquidity: Liquidity,
            price_ticks: i64,
            size_lots: i64,
            fee: Money,
        },
        OrderCancelled = 7 "order_cancelled" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        CancelRejected = 8 "cancel_rejected" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        BookStale = 9 "book_stale" {
            instrument: InstrumentId,
            cause: StaleCause,
        },
        BookSynced = 10 "book_synced" {
            instrument: InstrumentId,
        },
        FeedGap = 11 "feed_gap" {
            conn_id: u32,
            expected: u64,
            got: u64,
        },
        DecodeFailed = 12 "decode_failed" {
            error: DecodeError,
        },
        InstrumentReady = 13 "instrument_ready" {
            instrument: InstrumentId,
        },
        InstrumentRefused = 14 "instrument_refused" {
            instrument: InstrumentId,
        },
        /// A send to the live venue got no answer: the order stays live (it may exist at the
        /// venue) until reconciliation says what became of it.
        OrderUnknown = 15 "order_unknown" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// New orders are allowed again (`open`) or stopped; `cause` says why.
        TradingGate = 16 "trading_gate" {
            open: bool,
            cause: GateCause,
        },
        /// A requote sent as an edit of a resting order: its new limit price.
        EditRequest = 17 "edit_request" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            price_ticks: i64,
            reason: Reason,
        },
        /// The venue answered an edit: `applied`, or refused (the order keeps its price).
        EditDone = 18 "edit_done" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            applied: bool,
            price_ticks: i64,
        },
        /// An order someone else placed at the venue, taken over under `id` (its fills follow
        /// as fills); `venue_ref` is the venue's order id (a UUID, as 128 bits).
        OrderAdopted = 19 "order_adopted" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            #[serde(flatten)]
            request: OrderRequest,
            #[serde(rename = "order_id", serialize_with = "crate::order::serialize_venue_ref")]
            venue_ref: u128,
        },
        /// The trading state moved (kill switch, loss limit, resume): why and who.
        TradingState = 20 "trading_state" {
            state: TradingState,
            cause: StateCause,
            actor: Actor,
        },
        /// The strategy was switched on or off (execution throttle, operator).
        StrategySwitched = 21 "strategy_switched" {
            enabled: bool,
            cause: StateCause,
            actor: Actor,
        },
        /// A risk limit changed at runtime (`instrument`: index, or [`crate::admin::ACCOUNT`] for the
        /// account), old and new value in the limit's unit.
        LimitChanged = 22 "limit_changed" {
            limit: LimitId,
            #[serde(serialize_with = "crate::admin::serialize_scope")]
            instrument: u16,
            #[serde(serialize_with = "crate::num::serialize_i128_text")]
            old: i128,
            #[serde(serialize_with = "crate::num::serialize_i128_text")]
            new: i128,
        },
        /// What became of an admin input.
        AdminDone = 23 "admin_done" {
            command: AdminCommandKind,
            outcome: AdminOutcome,
        },
    }

}
