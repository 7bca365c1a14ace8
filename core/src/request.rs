//! What an order asks for: the terms a strategy proposes, risk approves, the order manager
//! keeps and the venue receives. Integers only: price in ticks, size in lots.

use crate::event::Side;
use crate::instrument::InstrumentId;

crate::wire::code_enum! {
    /// How an order executes.
    pub enum TimeInForce {
        /// Rests until cancelled; `post_only` orders refuse to take liquidity.
        GoodTillCancel = 0 "gtc",
        /// Takes what it can at the limit price, the rest is cancelled.
        ImmediateOrCancel = 1 "ioc",
    }
}

/// What an order asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OrderRequest {
    pub instrument: InstrumentId,
    pub side: Side,
    pub price_ticks: i64,
    pub size_lots: i64,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
}
