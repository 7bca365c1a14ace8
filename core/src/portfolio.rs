//! Positions and P&L, exact.
//!
//! Average-cost accounting in [`Money`]: the position keeps its signed cost basis. Reducing a
//! position removes `cost × closed / |position|` (integer division toward zero) from the basis;
//! the rounding remainder stays in the basis, so no money is created or lost and
//! realized + unrealized always equals cash flow + mark value exactly.

use crate::event::Side;
use crate::instrument::InstrumentSpec;
use crate::num::Money;

/// One instrument's position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed: positive long, negative short.
    pub lots: i64,
    /// Signed cost basis of the open position (negative for a short).
    pub cost: Money,
    pub realized: Money,
    pub fees: Money,
    pub fills: u64,
    pub traded_lots: i64,
}

impl Position {
    /// Applies a fill of `size_lots` at `price_ticks` paying `fee`.
    pub fn apply_fill(
        &mut self,
        spec: &InstrumentSpec,
        side: Side,
        price_ticks: i64,
        size_lots: i64,
        fee: Money,
    ) {
        debug_assert!(size_lots > 0);
        self.fills += 1;
        self.traded_lots += size_lots;
        self.fees += fee;
        let signed = side.sign() * size_lots;
        let reducing = self.lots != 0 && (self.lots > 0) != (signed > 0);
        if !reducing {
            self.cost += spec.notional(price_ticks, signed);
            self.lots += signed;
            return;
        }
        let closed = size_lots.min(self.lots.abs());
        let removed = Money(self.cost.0 * i128::from(closed) / i128::from(self.lots.abs()));
        let position_sign = self.lots.signum();
        self.realized +=
            Money(spec.notional(price_ticks, closed).0 * i128::from(position_sign)) - removed;
        self.cost -= removed;
        self.lots -= position_sign * closed;
        let opened = size_lots - closed;
        if opened > 0 {
            // The fill flipped the position: the rest opens a new one at this price.
            debug_assert_eq!(self.lots, 0);
            self.cost = spec.notional(price_ticks, side.sign() * opened);
            self.lots = side.sign() * opened;
        }
    }

    /// Mark-to-market P&L of the open position at twice the mid price (in ticks).
    pub fn unrealized(&self, spec: &InstrumentSpec, mid_ticks_x2: i64) -> Money {
        let value_x2 = spec.notional(mid_ticks_x2, self.lots);
        Money(value_x2.0 / 2) - self.cost
    }

    /// Average entry price in ticks ×2^0, rounded toward zero; for reports only.
    pub fn average_price_ticks(&self, spec: &InstrumentSpec) -> Option<i64> {
        if self.lots == 0 {
            return None;
        }
        let per_lot = self.cost.0 / i128::from(self.lots);
        Some((per_lot / spec.money_per_tick_lot) as i64)
    }
}

impl Position {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.i64(self.lots);
        h.i128(self.cost.0);
        h.i128(self.realized.0);
        h.i128(self.fees.0);
        h.u64(self.fills);
        h.i64(self.traded_lots);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::tests::btc_usd;
    use proptest::prelude::*;

    // Proves average cost, realized P&L, flips and unrealized P&L are exact.
    #[test]
    fn average_cost_accounting() {
        let spec = btc_usd();
        let mut position = Position::default();
        // Buy 0.01 @ 100.00, buy 0.01 @ 101.00 → avg 100.50
        position.apply_fill(&spec, Side::Buy, 10_000, 1_000_000, Money::ZERO);
        position.apply_fill(&spec, Side::Buy, 10_100, 1_000_000, Money::ZERO);
        assert_eq!(position.average_price_ticks(&spec), Some(10_050));
        // Sell 0.03 @ 102.00: closes 0.02 for +0.03 and opens a 0.01 short at 102.
        position.apply_fill(
            &spec,
            Side::Sell,
            10_200,
            3_000_000,
            Money::parse("0.01").unwrap(),
        );
        assert_eq!(position.realized.display().to_string(), "0.03");
        assert_eq!(position.lots, -1_000_000);
        assert_eq!(position.cost, spec.notional(10_200, -1_000_000));
        // Marked at mid 101.005 the short earns 0.00995.
        assert_eq!(
            position
                .unrealized(&spec, 10_200 + 10_001)
                .display()
                .to_string(),
            "0.00995"
        );
        assert_eq!(position.fees.display().to_string(), "0.01");
    }

    proptest! {
        // Proves conservation: realized + unrealized equals the cash flow plus the mark value
        // for any sequence of fills (no money created or lost by rounding).
        #[test]
        fn pnl_is_conserved(fills in prop::collection::vec((any::<bool>(), 1_i64..5000, 1_i64..10_000), 1..200), mark in 1_i64..5000) {
            let spec = btc_usd();
            let mut position = Position::default();
            let mut cash = 0_i128;
            for (buy, price, size) in fills {
                let side = if buy { Side::Buy } else { Side::Sell };
                position.apply_fill(&spec, side, price, size, Money::ZERO);
                cash -= spec.notional(price, side.sign() * size).0;
            }
            let mark_value = spec.notional(mark, position.lots).0;
            let total = position.realized.0 + position.unrealized(&spec, 2 * mark).0;
            prop_assert_eq!(total, cash + mark_value);
        }
    }
}
