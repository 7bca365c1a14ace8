//! Strategies: what to quote or take, given a synced book and the strategy's own orders.
//!
//! A strategy is called on the hot thread after an instrument's book or trades change and
//! returns [`Intent`]s. Every intent carries a [`Reason`] that is journaled with the decision.
//! Strategies see only integers and event time; risk checks every placement afterwards.

mod market_maker;
mod taker;

pub use market_maker::{MarketMaker, MarketMakerParams};
pub use taker::{Taker, TakerParams};

use crate::book::OrderBook;
use crate::event::{Side, TradePrint};
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::order::{ClientOrderId, Order, OrderRequest};

/// Why a strategy (or the engine) decided something. Journaled with each decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Market maker: a quote priced from the micro-price (in 1e-4 ticks) less the inventory
    /// skew (1e-4 ticks).
    Quote {
        micro_ticks_e4: i64,
        skew_ticks_e4: i64,
    },
    /// Market maker: the resting quote is `drift_ticks` away from the wanted price.
    Requote { drift_ticks: i64 },
    /// Market maker: the inventory cap is reached on this side; its quote is withdrawn.
    InventoryCap { position_lots: i64 },
    /// Taker: book imbalance and trade-flow momentum (both in bps) crossed their thresholds.
    Momentum { imbalance_bps: i64, flow_bps: i64 },
    /// Not the strategy: trading was halted (`cause` is a [`crate::venue::GateCause`] code)
    /// and every open order is cancelled.
    Halt { cause: i64 },
    /// Not the strategy: a control cancelled the order (`cause` is a
    /// [`crate::control::StateCause`] code: kill, loss limit, strategy off, cancel-all).
    Control { cause: i64 },
    /// Not the strategy: the kill switch closes a position of `position_lots`.
    Flatten { position_lots: i64 },
}

impl Reason {
    /// (code, a, b) for the journal's fixed layout.
    pub fn encode(self) -> (u8, i64, i64) {
        match self {
            Self::Quote {
                micro_ticks_e4,
                skew_ticks_e4,
            } => (1, micro_ticks_e4, skew_ticks_e4),
            Self::Requote { drift_ticks } => (2, drift_ticks, 0),
            Self::InventoryCap { position_lots } => (3, position_lots, 0),
            Self::Momentum {
                imbalance_bps,
                flow_bps,
            } => (4, imbalance_bps, flow_bps),
            Self::Halt { cause } => (5, cause, 0),
            Self::Control { cause } => (6, cause, 0),
            Self::Flatten { position_lots } => (7, position_lots, 0),
        }
    }

    /// The inverse of [`Self::encode`]: a one-field reason must carry 0 in `b` (what
    /// `encode` writes there), so every accepted triple encodes back to itself.
    pub fn decode(code: u8, a: i64, b: i64) -> Option<Self> {
        let two_fields = matches!(code, 1 | 4);
        if !two_fields && b != 0 {
            return None;
        }
        Some(match code {
            1 => Self::Quote {
                micro_ticks_e4: a,
                skew_ticks_e4: b,
            },
            2 => Self::Requote { drift_ticks: a },
            3 => Self::InventoryCap { position_lots: a },
            4 => Self::Momentum {
                imbalance_bps: a,
                flow_bps: b,
            },
            5 => Self::Halt { cause: a },
            6 => Self::Control { cause: a },
            7 => Self::Flatten { position_lots: a },
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Quote { .. } => "quote",
            Self::Requote { .. } => "requote",
            Self::InventoryCap { .. } => "inventory_cap",
            Self::Momentum { .. } => "momentum",
            Self::Halt { .. } => "halt",
            Self::Control { .. } => "control",
            Self::Flatten { .. } => "flatten",
        }
    }
}

/// What a strategy wants done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Place {
        request: OrderRequest,
        reason: Reason,
    },
    Cancel {
        id: ClientOrderId,
        reason: Reason,
    },
    /// Move a resting order to a new price. A live venue edits it in place (after risk);
    /// the simulated venue, which has no edits, cancels it and the strategy places anew.
    Reprice {
        id: ClientOrderId,
        price_ticks: i64,
        reason: Reason,
    },
}

/// Per-instrument sizing, in the instrument's lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizingParams {
    pub order_size_lots: i64,
    pub inventory_max_lots: i64,
}

/// What a strategy sees of one instrument.
pub struct MarketView<'a> {
    pub now_ns: u64,
    pub instrument: InstrumentId,
    pub spec: &'a InstrumentSpec,
    pub book: &'a OrderBook,
    pub position_lots: i64,
    /// Every live order (all instruments), oldest first; orders with `adopted` set were
    /// placed by someone else and are not the strategy's to manage (see [`Self::own`]).
    pub live_orders: &'a [Order],
    pub sizing: SizingParams,
}

impl MarketView<'_> {
    /// The strategy's own live orders of this instrument (adopted ones excluded).
    pub fn own(&self) -> impl Iterator<Item = &Order> + '_ {
        let instrument = self.instrument;
        self.live_orders
            .iter()
            .filter(move |o| o.request.instrument == instrument && !o.adopted)
    }

    /// The strategy's own live orders of this instrument on one side.
    pub fn working(&self, side: Side) -> impl Iterator<Item = &Order> + '_ {
        self.own().filter(move |o| o.request.side == side)
    }
}

pub trait Strategy: Send {
    fn name(&self) -> &'static str;

    /// Live trades of an instrument (not the subscribe-time history).
    fn on_trades(&mut self, _now_ns: u64, _instrument: InstrumentId, _trades: &[TradePrint]) {}

    /// The instrument's synced book changed; push intents into `out`.
    fn on_book(&mut self, view: &MarketView<'_>, out: &mut Vec<Intent>);

    /// All of the strategy's state, into the engine's state digest.
    fn digest(&self, h: &mut crate::digest::StateHasher);
}

/// Integer division rounding toward negative infinity.
pub(crate) fn div_floor(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    if (numerator % denominator != 0) && ((numerator < 0) != (denominator < 0)) {
        quotient - 1
    } else {
        quotient
    }
}

/// Integer division rounding toward positive infinity.
pub(crate) fn div_ceil(numerator: i128, denominator: i128) -> i128 {
    -div_floor(-numerator, denominator)
}
