//! Pre-trade risk, first version.
//!
//! Every order request passes [`RiskEngine::check`] before it can exist. A pass is a
//! [`RiskApproved`], which only this module can construct; the order manager takes nothing
//! else, so nothing unchecked can reach the order sender. A refusal is a [`Reject`], a small
//! `Copy` enum whose variants are listed in the order the checks run, counted by reason.

use crate::book::OrderBook;
use crate::event::Side;
use crate::instrument::InstrumentSpec;
use crate::num::Money;
use crate::order::OrderRequest;

/// Why an order was refused, in the order the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Reject {
    /// The venue marks the product offline, disabled or trading-disabled.
    VenueTradingDisabled = 0,
    /// The venue accepts only cancels for the product.
    VenueCancelOnly = 1,
    /// The venue accepts only post-only orders and this one could take liquidity.
    VenuePostOnly = 2,
    /// The book is stale (gap, disconnect, no snapshot), crossed, one-sided, or older than
    /// the age limit.
    BookStale = 3,
    /// Size or price outside the venue's rules (non-positive, below the base minimum, above
    /// the base maximum, or notional below the quote minimum).
    VenueSizeLimits = 4,
    MaxOrderSize = 5,
    MaxOrderNotional = 6,
    /// The limit price is further from the mid than the collar allows.
    PriceCollar = 7,
    /// Filling this order and every open order on its side could exceed the position limit.
    MaxPosition = 8,
    MaxOpenOrders = 9,
    /// More orders in the last second than allowed.
    OrderRate = 10,
}

impl Reject {
    pub const COUNT: usize = 11;
    pub const ALL: [Reject; Reject::COUNT] = [
        Self::VenueTradingDisabled,
        Self::VenueCancelOnly,
        Self::VenuePostOnly,
        Self::BookStale,
        Self::VenueSizeLimits,
        Self::MaxOrderSize,
        Self::MaxOrderNotional,
        Self::PriceCollar,
        Self::MaxPosition,
        Self::MaxOpenOrders,
        Self::OrderRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VenueTradingDisabled => "venue_trading_disabled",
            Self::VenueCancelOnly => "venue_cancel_only",
            Self::VenuePostOnly => "venue_post_only",
            Self::BookStale => "book_stale",
            Self::VenueSizeLimits => "venue_size_limits",
            Self::MaxOrderSize => "max_order_size",
            Self::MaxOrderNotional => "max_order_notional",
            Self::PriceCollar => "price_collar",
            Self::MaxPosition => "max_position",
            Self::MaxOpenOrders => "max_open_orders",
            Self::OrderRate => "order_rate",
        }
    }

    pub fn from_u8(code: u8) -> Option<Reject> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

/// Limits of one instrument, in its integer units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentLimits {
    pub order_size_lots_max: i64,
    pub order_notional_max: Money,
    pub position_lots_max: i64,
}

/// Limits across instruments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalLimits {
    pub price_collar_bps: u32,
    pub orders_open_max: usize,
    pub orders_per_second_max: u32,
    pub book_age_ns_max: u64,
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
    pub spec: &'a InstrumentSpec,
    pub limits: &'a InstrumentLimits,
    pub book: &'a OrderBook,
    pub position_lots: i64,
    /// Remaining lots of open orders on the request's side of this instrument.
    pub open_same_side_lots: i64,
    pub orders_open: usize,
}

pub struct RiskEngine {
    limits: GlobalLimits,
    /// Send times of the most recent orders (a ring of `orders_per_second_max`).
    recent_ns: Vec<u64>,
    recent_next: usize,
    rejects: [u64; Reject::COUNT],
    approved: u64,
}

const SECOND_NS: u64 = 1_000_000_000;

impl RiskEngine {
    pub fn new(limits: GlobalLimits) -> Self {
        Self {
            limits,
            recent_ns: Vec::with_capacity(limits.orders_per_second_max as usize),
            recent_next: 0,
            rejects: [0; Reject::COUNT],
            approved: 0,
        }
    }

    pub fn limits(&self) -> &GlobalLimits {
        &self.limits
    }

    /// Rejections so far, indexed by `Reject as usize`.
    pub fn rejects(&self) -> &[u64; Reject::COUNT] {
        &self.rejects
    }

    pub fn approved(&self) -> u64 {
        self.approved
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
                self.record_send(ctx.now_ns);
                self.approved += 1;
                Ok(RiskApproved { request: *request })
            }
        }
    }

    fn first_failure(&self, request: &OrderRequest, ctx: &RiskContext<'_>) -> Option<Reject> {
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
        let Some(top) = ctx.book.top() else {
            return Some(Reject::BookStale);
        };
        let age_ns = ctx.now_ns.saturating_sub(ctx.book.updated_ns);
        if ctx.book.stale().is_some()
            || top.bid_ticks >= top.ask_ticks
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
        if request.size_lots > ctx.limits.order_size_lots_max {
            return Some(Reject::MaxOrderSize);
        }
        if notional > ctx.limits.order_notional_max {
            return Some(Reject::MaxOrderNotional);
        }
        // |price − mid| ≤ collar × mid, in integers: |2·price − (bid+ask)|·10⁴ ≤ collar·(bid+ask).
        let mid_x2 = i128::from(top.mid_ticks_x2());
        let distance_x2 = (2 * i128::from(request.price_ticks) - mid_x2).abs();
        if distance_x2 * 10_000 > i128::from(self.limits.price_collar_bps) * mid_x2 {
            return Some(Reject::PriceCollar);
        }
        let worst_lots = match request.side {
            Side::Buy => ctx.position_lots + ctx.open_same_side_lots + request.size_lots,
            Side::Sell => ctx.position_lots - ctx.open_same_side_lots - request.size_lots,
        };
        if worst_lots.abs() > ctx.limits.position_lots_max {
            return Some(Reject::MaxPosition);
        }
        if ctx.orders_open >= self.limits.orders_open_max {
            return Some(Reject::MaxOpenOrders);
        }
        if !self.rate_allows(ctx.now_ns) {
            return Some(Reject::OrderRate);
        }
        None
    }

    fn rate_allows(&self, now_ns: u64) -> bool {
        let limit = self.limits.orders_per_second_max as usize;
        if limit == 0 {
            return false;
        }
        if self.recent_ns.len() < limit {
            return true;
        }
        // The oldest of the last `limit` sends must be at least a second ago.
        let oldest = self.recent_ns[self.recent_next];
        now_ns.saturating_sub(oldest) >= SECOND_NS
    }

    fn record_send(&mut self, now_ns: u64) {
        let limit = self.limits.orders_per_second_max as usize;
        if self.recent_ns.len() < limit {
            self.recent_ns.push(now_ns);
            self.recent_next = self.recent_ns.len() % limit;
        } else {
            self.recent_ns[self.recent_next] = now_ns;
            self.recent_next = (self.recent_next + 1) % limit;
        }
    }
}

impl RiskEngine {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.usize(self.recent_ns.len());
        h.usize(self.recent_next);
        for &ts in &self.recent_ns {
            h.u64(ts);
        }
        for &count in &self.rejects {
            h.u64(count);
        }
        h.u64(self.approved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LevelChange;
    use crate::instrument::tests::btc_usd;
    use crate::instrument::{InstrumentId, InstrumentSpec};
    use crate::order::TimeInForce;
    use proptest::prelude::*;

    const NOW: u64 = 10 * SECOND_NS;
    const BID: i64 = 10_000; // 100.00
    const ASK: i64 = 10_002; // 100.02, mid 100.01

    fn book() -> OrderBook {
        let mut book = OrderBook::with_capacity(16);
        let levels = [
            LevelChange {
                side: Side::Buy,
                price_ticks: BID,
                size_lots: 100,
            },
            LevelChange {
                side: Side::Sell,
                price_ticks: ASK,
                size_lots: 100,
            },
        ];
        book.apply_snapshot(&levels, NOW - 1).unwrap();
        book
    }

    fn limits() -> InstrumentLimits {
        InstrumentLimits {
            order_size_lots_max: 10_000_000,                // 0.1
            order_notional_max: Money::parse("5").unwrap(), // 5 USD
            position_lots_max: 20_000_000,                  // 0.2
        }
    }

    fn global() -> GlobalLimits {
        GlobalLimits {
            price_collar_bps: 100,
            orders_open_max: 3,
            orders_per_second_max: 2,
            book_age_ns_max: SECOND_NS,
        }
    }

    fn order(side: Side, price_ticks: i64, size_lots: i64) -> OrderRequest {
        OrderRequest {
            instrument: InstrumentId(0),
            side,
            price_ticks,
            size_lots,
            time_in_force: TimeInForce::GoodTillCancel,
            post_only: true,
        }
    }

    struct World {
        spec: InstrumentSpec,
        limits: InstrumentLimits,
        book: OrderBook,
        position_lots: i64,
        open_same_side_lots: i64,
        orders_open: usize,
        now_ns: u64,
    }

    impl World {
        fn new() -> Self {
            Self {
                spec: btc_usd(),
                limits: limits(),
                book: book(),
                position_lots: 0,
                open_same_side_lots: 0,
                orders_open: 0,
                now_ns: NOW,
            }
        }

        fn check(
            &self,
            risk: &mut RiskEngine,
            request: &OrderRequest,
        ) -> Result<RiskApproved, Reject> {
            let ctx = RiskContext {
                now_ns: self.now_ns,
                spec: &self.spec,
                limits: &self.limits,
                book: &self.book,
                position_lots: self.position_lots,
                open_same_side_lots: self.open_same_side_lots,
                orders_open: self.orders_open,
            };
            risk.check(request, &ctx)
        }
    }

    type Setup = fn(&mut World);

    /// `pass` (in its world) must be approved; `fail` (in its world) must be refused for
    /// exactly `reason`, and counted.
    fn boundary(reason: Reject, pass: (Setup, OrderRequest), fail: (Setup, OrderRequest)) {
        let mut world = World::new();
        (pass.0)(&mut world);
        let mut risk = RiskEngine::new(global());
        assert_eq!(
            world.check(&mut risk, &pass.1).map(|_| ()),
            Ok(()),
            "{reason:?}: within limits must pass"
        );
        let mut world = World::new();
        (fail.0)(&mut world);
        let mut risk = RiskEngine::new(global());
        assert_eq!(world.check(&mut risk, &fail.1).map(|_| ()), Err(reason));
        assert_eq!(risk.rejects()[reason as usize], 1, "{reason:?} is counted");
        assert_eq!(risk.rejects().iter().sum::<u64>(), 1);
    }

    fn none(_: &mut World) {}

    // Proves each limit refuses the order that breaks it and passes the one that does not.
    #[test]
    fn each_limit_has_a_boundary() {
        let ok = order(Side::Buy, BID, 1_000_000); // 0.01 @ 100.00 = 1 USD, the venue minimum
        boundary(
            Reject::VenueTradingDisabled,
            (none, ok),
            (|w| w.spec.status.trading_disabled = true, ok),
        );
        boundary(
            Reject::VenueCancelOnly,
            (none, ok),
            (|w| w.spec.status.cancel_only = true, ok),
        );
        let taker = OrderRequest {
            post_only: false,
            ..ok
        };
        boundary(
            Reject::VenuePostOnly,
            (|w| w.spec.status.post_only = true, ok),
            (|w| w.spec.status.post_only = true, taker),
        );
        boundary(
            Reject::BookStale,
            (|w| w.now_ns = NOW - 1 + SECOND_NS, ok),
            (|w| w.now_ns = NOW + SECOND_NS, ok),
        );
        boundary(
            Reject::BookStale,
            (none, ok),
            (
                |w| w.book.mark_stale(crate::book::StaleCause::SequenceGap),
                ok,
            ),
        );
        let crossed = |w: &mut World| {
            let level = LevelChange {
                side: Side::Buy,
                price_ticks: ASK,
                size_lots: 1,
            };
            w.book.apply_update(&[level], NOW).unwrap();
        };
        boundary(Reject::BookStale, (none, ok), (crossed, ok));
        boundary(
            Reject::VenueSizeLimits,
            (none, ok),
            (none, order(Side::Buy, BID, 999_999)),
        );
        boundary(
            Reject::VenueSizeLimits,
            (none, ok),
            (none, order(Side::Buy, 0, 1_000_000)),
        );
        let roomy: Setup = |w| w.limits.order_notional_max = Money::parse("1000000").unwrap();
        boundary(
            Reject::MaxOrderSize,
            (roomy, order(Side::Buy, BID, 10_000_000)),
            (roomy, order(Side::Buy, BID, 10_000_001)),
        );
        boundary(
            Reject::MaxOrderNotional,
            (none, order(Side::Buy, BID, 5_000_000)),
            (none, order(Side::Buy, BID, 5_000_001)),
        );
        // Collar 100 bps of mid 100.01 = 1.0001: 99.01 is inside, 99.00 outside; same above.
        boundary(
            Reject::PriceCollar,
            (none, order(Side::Buy, 9_901, 2_000_000)),
            (none, order(Side::Buy, 9_900, 2_000_000)),
        );
        boundary(
            Reject::PriceCollar,
            (none, order(Side::Sell, 10_101, 2_000_000)),
            (none, order(Side::Sell, 10_102, 2_000_000)),
        );
        let long: Setup = |w| w.position_lots = 19_000_000;
        boundary(
            Reject::MaxPosition,
            (long, ok),
            (long, order(Side::Buy, BID, 1_000_001)),
        );
        let short: Setup = |w| w.position_lots = -19_000_000;
        boundary(
            Reject::MaxPosition,
            (short, order(Side::Sell, ASK, 1_000_000)),
            (short, order(Side::Sell, ASK, 1_000_001)),
        );
        let working: Setup = |w| {
            w.position_lots = 10_000_000;
            w.open_same_side_lots = 9_000_000;
        };
        boundary(
            Reject::MaxPosition,
            (working, ok),
            (working, order(Side::Buy, BID, 1_000_001)),
        );
        boundary(
            Reject::MaxOpenOrders,
            (|w| w.orders_open = 2, ok),
            (|w| w.orders_open = 3, ok),
        );
    }

    // Proves the order-rate limit refuses the order past the limit within a second and
    // passes it once the oldest send is a second old.
    #[test]
    fn order_rate_is_a_sliding_second() {
        let mut world = World::new();
        let mut risk = RiskEngine::new(global());
        let ok = order(Side::Buy, BID, 1_000_000);
        assert!(world.check(&mut risk, &ok).is_ok());
        world.now_ns += 1;
        assert!(world.check(&mut risk, &ok).is_ok());
        world.now_ns += SECOND_NS - 2;
        assert_eq!(
            world.check(&mut risk, &ok).map(|_| ()),
            Err(Reject::OrderRate)
        );
        world.now_ns += 1; // exactly a second after the first
        world.book.updated_ns = world.now_ns;
        assert!(world.check(&mut risk, &ok).is_ok());
        assert_eq!(
            world.check(&mut risk, &ok).map(|_| ()),
            Err(Reject::OrderRate)
        );
        assert_eq!(risk.approved(), 3);
    }

    proptest! {
        // Proves no approved order breaks a limit and no order within every limit is refused.
        #[test]
        fn approval_iff_within_limits(
            buy in any::<bool>(),
            price in 9_800_i64..10_200,
            size in 1_i64..12_000_000,
            position in -25_000_000_i64..25_000_000,
            open in 0_i64..5_000_000,
            orders_open in 0_usize..5,
        ) {
            let mut world = World::new();
            world.position_lots = position;
            world.open_same_side_lots = open;
            world.orders_open = orders_open;
            let side = if buy { Side::Buy } else { Side::Sell };
            let request = order(side, price, size);
            let mut risk = RiskEngine::new(global());
            let approved = world.check(&mut risk, &request).is_ok();
            // Independent statement of the limits, in decimal-free integer arithmetic.
            let notional_cents_x1e8 = i128::from(price) * i128::from(size); // 1e-10 USD units
            let mid_x2 = i128::from(BID + ASK);
            let within = (10_000_000_000..=50_000_000_000).contains(&notional_cents_x1e8) // 1 to 5 USD
                && size <= 10_000_000
                && (2 * i128::from(price) - mid_x2).abs() * 10_000 <= 100 * mid_x2
                && (position + side.sign() * (open + size)).abs() <= 20_000_000
                && orders_open < 3;
            prop_assert_eq!(approved, within);
        }
    }
}
