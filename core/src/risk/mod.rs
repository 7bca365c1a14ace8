//! Pre-trade risk: the controls of SEC Rule 15c3-5 and MiFID II RTS 6 that a trading daemon
//! can enforce itself, inside the order path.
//!
//! Every order request passes [`RiskEngine::check`] before it can exist. A pass is a
//! [`RiskApproved`], which only this module can construct; the order manager takes nothing
//! else, so nothing unchecked can reach the order sender. A refusal is a [`Reject`], a small
//! `Copy` enum whose variants are listed in the order the checks run, counted by reason.
//! Strategy cancels pass [`RiskEngine::allow_cancel`] (cancel and message throttles); the
//! cancels of a halt or a kill are never held back.
//!
//! The trading state ([`crate::control`]) comes first: HALTED refuses everything but the
//! kill switch's flattening orders, REDUCING everything that does not reduce a position.
//! Limits live in [`limits`] and change at runtime; the rate and duplicate windows in
//! [`window`].

pub mod limits;
pub mod window;

pub use limits::{GlobalLimits, InstrumentLimits, LimitId, LimitOverrides, LimitUnit};

use crate::book::OrderBook;
use crate::event::Side;
use crate::instrument::InstrumentSpec;
use crate::num::Money;
use crate::request::OrderRequest;
use window::{RateWindow, RecentOrders};

crate::wire::code_enum! {
    /// What orders may do: the trading state (kill switch, loss limits; see
    /// [`crate::control`]), checked first.
    #[derive(PartialOrd, Ord)]
    pub enum TradingState {
        Active = 0 "active",
        /// Only orders that reduce a position pass.
        Reducing = 1 "reducing",
        /// Nothing passes (but the kill switch's flattening), every open order is cancelled.
        Halted = 2 "halted",
    }
}

crate::wire::code_enum! {
    /// Why an order was refused. Variants are listed in the order the checks run (so
    /// `ALL` is that order); the numbers are the journal's codes (stable across versions,
    /// hence not in order).
    #[derive(PartialOrd, Ord)]
    pub enum Reject {
        /// Trading is HALTED (kill switch, loss limit): nothing but flattening passes.
        TradingHalted = 11 "trading_halted",
        /// Trading is REDUCING (or the order flattens): only an order that reduces the
        /// position, with every open order on its side, passes.
        ReduceOnly = 12 "reduce_only",
        /// The venue marks the product offline, disabled or trading-disabled.
        VenueTradingDisabled = 0 "venue_trading_disabled",
        /// The venue accepts only cancels for the product.
        VenueCancelOnly = 1 "venue_cancel_only",
        /// The venue accepts only post-only orders and this one could take liquidity.
        VenuePostOnly = 2 "venue_post_only",
        /// The book is stale (gap, disconnect, no snapshot), crossed, or older than the age
        /// limit.
        BookStale = 3 "book_stale",
        /// Size or price outside the venue's rules (non-positive, below the base minimum,
        /// above the base maximum, or notional below the quote minimum).
        VenueSizeLimits = 4 "venue_size_limits",
        MaxOrderSize = 5 "max_order_size",
        MaxOrderNotional = 6 "max_order_notional",
        /// The book is thin (one side, or a spread past `thin_book_spread_bps`) and there is
        /// no last trade to centre the collar on.
        NoReferencePrice = 13 "no_reference_price",
        /// The limit price is further from the reference price than the collar allows.
        PriceCollar = 7 "price_collar",
        /// Filling this order and every open order on its side could exceed the position
        /// limit.
        MaxPosition = 8 "max_position",
        /// The account's gross exposure, open orders included, would exceed its limit.
        MaxGrossExposure = 14 "max_gross_exposure",
        MaxOpenOrders = 9 "max_open_orders",
        /// Open orders of this instrument at their limit.
        MaxOpenOrdersInstrument = 15 "instrument_max_open_orders",
        /// The same order (instrument, side, price, size) was approved within the window.
        DuplicateOrder = 16 "duplicate_order",
        /// More orders in the last second than allowed.
        OrderRate = 10 "order_rate",
        /// More orders, cancels and edits together in the last second than allowed.
        MessageRate = 17 "message_rate",
    }
}

// Counters are indexed by code: the codes are 0..COUNT, once each.
const _: () = {
    let mut seen = [false; Reject::COUNT];
    let mut i = 0;
    while i < Reject::COUNT {
        let code = Reject::ALL[i] as usize;
        assert!(
            code < Reject::COUNT && !seen[code],
            "reject codes are 0..COUNT"
        );
        seen[code] = true;
        i += 1;
    }
};

/// Who asks for the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The strategy (or a reprice of its quote).
    Strategy,
    /// The kill switch closing a position: must reduce it; passes HALTED, and the
    /// duplicate and rate throttles do not hold it back.
    Flatten,
}

/// A request that passed every check. Only [`RiskEngine::check`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskApproved {
    request: OrderRequest,
}

impl RiskApproved {
    pub fn request(&self) -> &OrderRequest {
        &self.request
    }

    #[cfg(test)]
    pub(crate) fn for_tests(request: OrderRequest) -> Self {
        Self { request }
    }
}

/// What the checks need to know about the world.
pub struct RiskContext<'a> {
    pub now_ns: u64,
    pub state: TradingState,
    pub purpose: Purpose,
    pub spec: &'a InstrumentSpec,
    pub limits: &'a InstrumentLimits,
    pub book: &'a OrderBook,
    /// The instrument's last trade price, for the collar of a thin book.
    pub last_trade_ticks: Option<i64>,
    pub position_lots: i64,
    /// Remaining lots of open (and already approved) buy and sell orders of the instrument.
    pub open_buy_lots: i64,
    pub open_sell_lots: i64,
    /// Open orders of the account, and of this instrument.
    pub orders_open: usize,
    pub instrument_orders_open: usize,
    /// Gross exposure of every other instrument (see [`RiskEngine::exposure`]).
    pub exposure_others: Money,
}

const SECOND_NS: u64 = 1_000_000_000;

pub struct RiskEngine {
    limits: GlobalLimits,
    orders: RateWindow,
    cancels: RateWindow,
    messages: RateWindow,
    recent: RecentOrders,
    rejects: [u64; Reject::COUNT],
    approved: u64,
    cancels_throttled: u64,
}

impl RiskEngine {
    pub fn new(limits: GlobalLimits) -> Self {
        Self {
            limits,
            orders: RateWindow::default(),
            cancels: RateWindow::default(),
            messages: RateWindow::default(),
            recent: RecentOrders::default(),
            rejects: [0; Reject::COUNT],
            approved: 0,
            cancels_throttled: 0,
        }
    }

    pub fn limits(&self) -> &GlobalLimits {
        &self.limits
    }

    pub(crate) fn limits_mut(&mut self) -> &mut GlobalLimits {
        &mut self.limits
    }

    /// Rejections so far, indexed by `Reject as usize`.
    pub fn rejects(&self) -> &[u64; Reject::COUNT] {
        &self.rejects
    }

    pub fn approved(&self) -> u64 {
        self.approved
    }

    /// Strategy cancels held back by the cancel or message throttle.
    pub fn cancels_throttled(&self) -> u64 {
        self.cancels_throttled
    }

    /// Runs every check in order; the first failure is counted and returned.
    pub fn check(
        &mut self,
        request: &OrderRequest,
        ctx: &RiskContext<'_>,
    ) -> Result<RiskApproved, Reject> {
        match self.first_failure(request, ctx) {
            Some(reject) => {
                self.rejects[reject as usize] += 1;
                Err(reject)
            }
            None => {
                self.orders.record(ctx.now_ns);
                self.messages.record(ctx.now_ns);
                self.recent.record(request, ctx.now_ns);
                self.approved += 1;
                Ok(RiskApproved { request: *request })
            }
        }
    }

    /// A strategy cancel (or edit) may leave now: within the cancel and message rates.
    /// Counted as sent when it may; counted as throttled when not.
    pub fn allow_cancel(&mut self, now_ns: u64) -> bool {
        let allowed = self
            .cancels
            .allows(now_ns, SECOND_NS, self.limits.cancels_per_second_max)
            && self
                .messages
                .allows(now_ns, SECOND_NS, self.limits.messages_per_second_max);
        if allowed {
            self.cancels.record(now_ns);
            self.messages.record(now_ns);
        } else {
            self.cancels_throttled += 1;
        }
        allowed
    }

    /// A cancel the risk engine may not hold back (halt, kill): counted, never refused.
    pub fn record_forced_cancel(&mut self, now_ns: u64) {
        self.cancels.record(now_ns);
        self.messages.record(now_ns);
    }

    /// Gross exposure of one instrument: its worse-side position (position plus every open
    /// order on the side that grows it most) valued at twice-the-reference `reference_x2`.
    pub fn exposure(
        spec: &InstrumentSpec,
        reference_x2: i64,
        position_lots: i64,
        open_buy_lots: i64,
        open_sell_lots: i64,
    ) -> Money {
        let worse = (position_lots + open_buy_lots)
            .abs()
            .max((position_lots - open_sell_lots).abs());
        Money(spec.notional(reference_x2, worse).0 / 2)
    }

    /// Twice the reference price in ticks: the mid of a book with both sides and a spread
    /// within `thin_book_spread_bps`, else twice the last trade.
    pub fn reference_x2(
        limits: &GlobalLimits,
        book: &OrderBook,
        last_trade_ticks: Option<i64>,
    ) -> Option<i64> {
        let thick = book.top().filter(|top| {
            let spread_x2 = 2 * i128::from(top.ask_ticks - top.bid_ticks);
            spread_x2 * 10_000
                <= i128::from(limits.thin_book_spread_bps) * i128::from(top.mid_ticks_x2())
        });
        match (thick, last_trade_ticks) {
            (Some(top), _) => Some(top.mid_ticks_x2()),
            (None, Some(last)) if last > 0 => Some(2 * last),
            _ => None,
        }
    }

    /// The first check `request` fails, in the order the checks run (that of [`Reject`]'s
    /// variants); `None` when it passes them all.
    #[allow(
        clippy::too_many_lines,
        reason = "the checks in the order they run, read top to bottom beside Reject"
    )]
    fn first_failure(&self, request: &OrderRequest, ctx: &RiskContext<'_>) -> Option<Reject> {
        let flatten = ctx.purpose == Purpose::Flatten;
        if ctx.state == TradingState::Halted && !flatten {
            return Some(Reject::TradingHalted);
        }
        let (same_side_lots, other_side_lots) = match request.side {
            Side::Buy => (ctx.open_buy_lots, ctx.open_sell_lots),
            Side::Sell => (ctx.open_sell_lots, ctx.open_buy_lots),
        };
        if ctx.state == TradingState::Reducing || flatten {
            let reduces = ctx.position_lots.signum() == -request.side.sign()
                && same_side_lots + request.size_lots <= ctx.position_lots.abs();
            if !reduces {
                return Some(Reject::ReduceOnly);
            }
        }
        if let Some(reject) = self.venue_and_book(request, ctx) {
            return Some(reject);
        }
        let notional = ctx.spec.notional(request.price_ticks, request.size_lots);
        if request.size_lots > ctx.limits.order_size_lots_max {
            return Some(Reject::MaxOrderSize);
        }
        if notional > ctx.limits.order_notional_max {
            return Some(Reject::MaxOrderNotional);
        }
        let Some(reference_x2) = Self::reference_x2(&self.limits, ctx.book, ctx.last_trade_ticks)
        else {
            return Some(Reject::NoReferencePrice);
        };
        // |price − ref| ≤ collar × ref, in integers: |2·price − 2·ref|·10⁴ ≤ collar·2·ref.
        let reference_x2 = i128::from(reference_x2);
        let distance_x2 = (2 * i128::from(request.price_ticks) - reference_x2).abs();
        if distance_x2 * 10_000 > i128::from(self.limits.price_collar_bps) * reference_x2 {
            return Some(Reject::PriceCollar);
        }
        let worst_lots =
            ctx.position_lots + request.side.sign() * (same_side_lots + request.size_lots);
        if worst_lots.abs() > ctx.limits.position_lots_max {
            return Some(Reject::MaxPosition);
        }
        if self.limits.gross_exposure_max > Money::ZERO {
            let (buy, sell) = match request.side {
                Side::Buy => (same_side_lots + request.size_lots, other_side_lots),
                Side::Sell => (other_side_lots, same_side_lots + request.size_lots),
            };
            let this = Self::exposure(ctx.spec, reference_x2 as i64, ctx.position_lots, buy, sell);
            if ctx.exposure_others + this > self.limits.gross_exposure_max {
                return Some(Reject::MaxGrossExposure);
            }
        }
        if ctx.orders_open >= self.limits.orders_open_max {
            return Some(Reject::MaxOpenOrders);
        }
        if ctx.instrument_orders_open >= ctx.limits.orders_open_max as usize {
            return Some(Reject::MaxOpenOrdersInstrument);
        }
        if flatten {
            return None;
        }
        if self
            .recent
            .is_duplicate(request, ctx.now_ns, self.limits.duplicate_window_ns)
        {
            return Some(Reject::DuplicateOrder);
        }
        if !self
            .orders
            .allows(ctx.now_ns, SECOND_NS, self.limits.orders_per_second_max)
        {
            return Some(Reject::OrderRate);
        }
        if !self
            .messages
            .allows(ctx.now_ns, SECOND_NS, self.limits.messages_per_second_max)
        {
            return Some(Reject::MessageRate);
        }
        None
    }

    /// The venue's status and rules, and the book's freshness.
    fn venue_and_book(&self, request: &OrderRequest, ctx: &RiskContext<'_>) -> Option<Reject> {
        let status = ctx.spec.status;
        if status.trading_disabled {
            return Some(Reject::VenueTradingDisabled);
        }
        if status.cancel_only {
            return Some(Reject::VenueCancelOnly);
        }
        if status.post_only && !request.post_only {
            return Some(Reject::VenuePostOnly);
        }
        let age_ns = ctx.now_ns.saturating_sub(ctx.book.updated_ns);
        if ctx.book.stale().is_some()
            || ctx.book.is_crossed()
            || age_ns > self.limits.book_age_ns_max
        {
            return Some(Reject::BookStale);
        }
        let notional = ctx.spec.notional(request.price_ticks, request.size_lots);
        if request.size_lots <= 0
            || request.price_ticks <= 0
            || request.size_lots < ctx.spec.base_min_lots
            || request.size_lots > ctx.spec.base_max_lots
            || notional < ctx.spec.quote_min
        {
            return Some(Reject::VenueSizeLimits);
        }
        None
    }
}

impl RiskEngine {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        self.limits.digest(h);
        self.orders.digest(h);
        self.cancels.digest(h);
        self.messages.digest(h);
        self.recent.digest(h);
        for &count in &self.rejects {
            h.u64(count);
        }
        h.u64(self.approved);
        h.u64(self.cancels_throttled);
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom
mod tests;
