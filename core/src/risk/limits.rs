//! The risk limits, their identities and their runtime changes.
//!
//! Every limit lives in config and can be changed while the daemon runs (an admin input,
//! journaled like market data, so a replay applies the same change at the same point).
//! A limit is identified by a [`LimitId`]; its value travels as an `i128` in the limit's own
//! integer unit: lots for sizes, [`Money`] units for money, basis points, counts,
//! milliseconds. A change that loosens a limit ([`LimitId::loosens`]) needs the operator's
//! second factor; the cold side checks it and says so in the command, and the engine
//! refuses a loosening the command does not vouch for.

use crate::num::Money;

/// Limits of one instrument, in its integer units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentLimits {
    pub order_size_lots_max: i64,
    pub order_notional_max: Money,
    /// Largest absolute position including every open order on the worse side.
    pub position_lots_max: i64,
    /// Most open orders of this instrument (Coinbase allows 500 per product).
    pub orders_open_max: u32,
}

/// Limits across instruments (the account).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalLimits {
    /// Largest distance of a limit price from the reference price.
    pub price_collar_bps: u32,
    /// A book whose spread is wider than this (or that has one side only) is thin: the
    /// collar then centres on the last trade instead of the mid.
    pub thin_book_spread_bps: u32,
    pub orders_open_max: usize,
    pub orders_per_second_max: u32,
    /// Strategy cancels per second (halt and kill cancels are never held back).
    pub cancels_per_second_max: u32,
    /// Orders, cancels and edits per second together.
    pub messages_per_second_max: u32,
    /// An order equal to one approved this recently (instrument, side, price, size) is a
    /// duplicate. 0: off.
    pub duplicate_window_ns: u64,
    /// Largest gross exposure: Σ over instruments of the worse-side position (open orders
    /// included) at the reference price, in quote units. `Money::ZERO`: off.
    pub gross_exposure_max: Money,
    pub book_age_ns_max: u64,
    /// Execution throttle: this many fills within `fills_window_ns` disable the strategy
    /// until an operator enables it. 0: off.
    pub fills_in_window_max: u32,
    pub fills_window_ns: u64,
    /// Loss since the start of the UTC day (realized + unrealized − fees) that stops
    /// trading. `Money::ZERO`: off.
    pub daily_loss_max: Money,
    /// Fall from the session's P&L high that stops trading. `Money::ZERO`: off.
    pub drawdown_max: Money,
    /// Where each loss limit moves trading: reducing or halted.
    pub daily_loss_halts: bool,
    pub drawdown_halts: bool,
    /// Kill-switch flattening: reduce-only IOC orders cross the book by this much.
    pub flatten_slippage_bps: u32,
}

crate::wire::code_enum! {
    /// Every limit an operator can read and set; its name is its config key and API name.
    #[derive(PartialOrd, Ord)]
    pub enum LimitId {
        PriceCollarBps = 0 "price_collar_bps",
        ThinBookSpreadBps = 1 "thin_book_spread_bps",
        MaxOpenOrders = 2 "max_open_orders",
        OrdersPerSecond = 3 "orders_per_second",
        CancelsPerSecond = 4 "cancels_per_second",
        MessagesPerSecond = 5 "messages_per_second",
        DuplicateWindowMs = 6 "duplicate_window_ms",
        MaxGrossExposure = 7 "max_gross_exposure",
        StaleBookMs = 8 "stale_book_ms",
        FillsInWindowMax = 9 "fills_in_window_max",
        FillsWindowMs = 10 "fills_window_ms",
        DailyLossLimit = 11 "daily_loss_limit",
        MaxDrawdown = 12 "max_drawdown",
        /// Per instrument.
        MaxOrderSize = 13 "max_order_size",
        MaxOrderNotional = 14 "max_order_notional",
        MaxPosition = 15 "max_position",
        MaxOpenOrdersInstrument = 16 "instrument_max_open_orders",
    }
}

/// The unit a limit's value is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitUnit {
    /// Lots of the instrument's base increment (a decimal size on the wire).
    Lots,
    /// [`Money`] units (a decimal amount in quote currency on the wire).
    Money,
    Bps,
    Count,
    Millis,
}

impl LimitId {
    /// Whether the limit is set per instrument (else for the account).
    pub fn per_instrument(self) -> bool {
        matches!(
            self,
            Self::MaxOrderSize
                | Self::MaxOrderNotional
                | Self::MaxPosition
                | Self::MaxOpenOrdersInstrument
        )
    }

    pub fn unit(self) -> LimitUnit {
        match self {
            Self::PriceCollarBps | Self::ThinBookSpreadBps => LimitUnit::Bps,
            Self::MaxOpenOrders
            | Self::OrdersPerSecond
            | Self::CancelsPerSecond
            | Self::MessagesPerSecond
            | Self::FillsInWindowMax
            | Self::MaxOpenOrdersInstrument => LimitUnit::Count,
            Self::DuplicateWindowMs | Self::StaleBookMs | Self::FillsWindowMs => LimitUnit::Millis,
            Self::MaxGrossExposure
            | Self::DailyLossLimit
            | Self::MaxDrawdown
            | Self::MaxOrderNotional => LimitUnit::Money,
            Self::MaxOrderSize | Self::MaxPosition => LimitUnit::Lots,
        }
    }

    /// Limits for which 0 switches the control off.
    fn zero_is_off(self) -> bool {
        matches!(
            self,
            Self::DuplicateWindowMs
                | Self::MaxGrossExposure
                | Self::FillsInWindowMax
                | Self::DailyLossLimit
                | Self::MaxDrawdown
        )
    }

    /// Whether going from `old` to `new` lets more through (needs the second factor).
    /// Most limits loosen upwards; the duplicate window and the fills window loosen
    /// downwards; a control switched off (0) is looser than any setting of it.
    pub fn loosens(self, old: i128, new: i128) -> bool {
        if self.zero_is_off() && (old == 0 || new == 0) {
            return new == 0 && old != 0;
        }
        match self {
            Self::DuplicateWindowMs | Self::FillsWindowMs => new < old,
            _ => new > old,
        }
    }

    /// The largest value accepted (guards the engine's integer arithmetic and the
    /// fixed-size tables behind the counts).
    pub fn value_max(self) -> i128 {
        match self.unit() {
            LimitUnit::Bps => 10_000,
            LimitUnit::Count => 100_000,
            LimitUnit::Millis => 86_400_000,
            LimitUnit::Lots => i128::from(i64::MAX / 4),
            LimitUnit::Money => Money::parse("1000000000000").map_or(0, |m| m.0),
        }
    }
}

impl GlobalLimits {
    /// The account limit's value, in its unit; `None` for a per-instrument limit.
    pub fn get(&self, limit: LimitId) -> Option<i128> {
        Some(match limit {
            LimitId::PriceCollarBps => i128::from(self.price_collar_bps),
            LimitId::ThinBookSpreadBps => i128::from(self.thin_book_spread_bps),
            LimitId::MaxOpenOrders => self.orders_open_max as i128,
            LimitId::OrdersPerSecond => i128::from(self.orders_per_second_max),
            LimitId::CancelsPerSecond => i128::from(self.cancels_per_second_max),
            LimitId::MessagesPerSecond => i128::from(self.messages_per_second_max),
            LimitId::DuplicateWindowMs => i128::from(self.duplicate_window_ns / 1_000_000),
            LimitId::MaxGrossExposure => self.gross_exposure_max.0,
            LimitId::StaleBookMs => i128::from(self.book_age_ns_max / 1_000_000),
            LimitId::FillsInWindowMax => i128::from(self.fills_in_window_max),
            LimitId::FillsWindowMs => i128::from(self.fills_window_ns / 1_000_000),
            LimitId::DailyLossLimit => self.daily_loss_max.0,
            LimitId::MaxDrawdown => self.drawdown_max.0,
            _ => return None,
        })
    }

    /// Sets an account limit (the value already checked against [`LimitId::value_max`]).
    pub(crate) fn set(&mut self, limit: LimitId, value: i128) {
        let small = |v: i128| u32::try_from(v).unwrap_or(u32::MAX);
        let millis = |v: i128| u64::try_from(v).unwrap_or(0).saturating_mul(1_000_000);
        match limit {
            LimitId::PriceCollarBps => self.price_collar_bps = small(value),
            LimitId::ThinBookSpreadBps => self.thin_book_spread_bps = small(value),
            LimitId::MaxOpenOrders => self.orders_open_max = small(value) as usize,
            LimitId::OrdersPerSecond => self.orders_per_second_max = small(value),
            LimitId::CancelsPerSecond => self.cancels_per_second_max = small(value),
            LimitId::MessagesPerSecond => self.messages_per_second_max = small(value),
            LimitId::DuplicateWindowMs => self.duplicate_window_ns = millis(value),
            LimitId::MaxGrossExposure => self.gross_exposure_max = Money(value),
            LimitId::StaleBookMs => self.book_age_ns_max = millis(value),
            LimitId::FillsInWindowMax => self.fills_in_window_max = small(value),
            LimitId::FillsWindowMs => self.fills_window_ns = millis(value),
            LimitId::DailyLossLimit => self.daily_loss_max = Money(value),
            LimitId::MaxDrawdown => self.drawdown_max = Money(value),
            LimitId::MaxOrderSize
            | LimitId::MaxOrderNotional
            | LimitId::MaxPosition
            | LimitId::MaxOpenOrdersInstrument => {}
        }
    }
}

impl InstrumentLimits {
    /// The instrument limit's value, in its unit; `None` for an account limit.
    pub fn get(&self, limit: LimitId) -> Option<i128> {
        Some(match limit {
            LimitId::MaxOrderSize => i128::from(self.order_size_lots_max),
            LimitId::MaxOrderNotional => self.order_notional_max.0,
            LimitId::MaxPosition => i128::from(self.position_lots_max),
            LimitId::MaxOpenOrdersInstrument => i128::from(self.orders_open_max),
            _ => return None,
        })
    }

    pub(crate) fn set(&mut self, limit: LimitId, value: i128) {
        let lots = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
        match limit {
            LimitId::MaxOrderSize => self.order_size_lots_max = lots(value),
            LimitId::MaxOrderNotional => self.order_notional_max = Money(value),
            LimitId::MaxPosition => self.position_lots_max = lots(value),
            LimitId::MaxOpenOrdersInstrument => {
                self.orders_open_max = u32::try_from(value).unwrap_or(u32::MAX);
            }
            _ => {}
        }
    }
}

/// Changes to one instrument's limits made at runtime, kept so that a later products
/// input (which resolves the config's limits afresh) does not undo them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    values: [Option<i128>; 4],
}

impl LimitOverrides {
    fn slot(limit: LimitId) -> Option<usize> {
        match limit {
            LimitId::MaxOrderSize => Some(0),
            LimitId::MaxOrderNotional => Some(1),
            LimitId::MaxPosition => Some(2),
            LimitId::MaxOpenOrdersInstrument => Some(3),
            _ => None,
        }
    }

    pub(crate) fn record(&mut self, limit: LimitId, value: i128) {
        if let Some(slot) = Self::slot(limit) {
            self.values[slot] = Some(value);
        }
    }

    pub(crate) fn apply(&self, limits: &mut InstrumentLimits) {
        for limit in [
            LimitId::MaxOrderSize,
            LimitId::MaxOrderNotional,
            LimitId::MaxPosition,
            LimitId::MaxOpenOrdersInstrument,
        ] {
            if let Some(value) = Self::slot(limit).and_then(|s| self.values[s]) {
                limits.set(limit, value);
            }
        }
    }

    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        for value in self.values {
            match value {
                Some(v) => {
                    h.u8(1);
                    h.i128(v);
                }
                None => h.u8(0),
            }
        }
    }
}

impl GlobalLimits {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        for limit in LimitId::ALL {
            if let Some(value) = self.get(limit) {
                h.i128(value);
            }
        }
        h.bool(self.daily_loss_halts);
        h.bool(self.drawdown_halts);
        h.u32(self.flatten_slippage_bps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every limit's name reads back to it, and that each account limit set through
    // its id reads back the same value (the admin API and the journal rely on both).
    #[test]
    fn names_and_values_roundtrip() {
        let mut global = GlobalLimits {
            price_collar_bps: 1,
            thin_book_spread_bps: 1,
            orders_open_max: 1,
            orders_per_second_max: 1,
            cancels_per_second_max: 1,
            messages_per_second_max: 1,
            duplicate_window_ns: 1_000_000,
            gross_exposure_max: Money(1),
            book_age_ns_max: 1_000_000,
            fills_in_window_max: 1,
            fills_window_ns: 1_000_000,
            daily_loss_max: Money(1),
            drawdown_max: Money(1),
            daily_loss_halts: true,
            drawdown_halts: false,
            flatten_slippage_bps: 10,
        };
        let mut instrument = InstrumentLimits {
            order_size_lots_max: 1,
            order_notional_max: Money(1),
            position_lots_max: 1,
            orders_open_max: 1,
        };
        for (index, limit) in LimitId::ALL.into_iter().enumerate() {
            assert_eq!(limit as usize, index);
            assert_eq!(LimitId::from_u8(limit as u8), Some(limit));
            assert_eq!(LimitId::from_name(limit.as_str()), Some(limit));
            let value = 7 + index as i128;
            if limit.per_instrument() {
                instrument.set(limit, value);
                assert_eq!(instrument.get(limit), Some(value), "{limit:?}");
                assert_eq!(global.get(limit), None);
            } else {
                global.set(limit, value);
                assert_eq!(global.get(limit), Some(value), "{limit:?}");
                assert_eq!(instrument.get(limit), None);
            }
        }
        assert_eq!(LimitId::from_name("nope"), None);
    }

    // Proves which changes count as loosening: up for ceilings, down for the duplicate and
    // fills windows, and switching a control off (0) always.
    #[test]
    fn loosening_follows_each_limits_direction() {
        assert!(LimitId::MaxPosition.loosens(10, 11));
        assert!(!LimitId::MaxPosition.loosens(10, 9));
        assert!(!LimitId::MaxPosition.loosens(10, 10));
        assert!(LimitId::DuplicateWindowMs.loosens(500, 100));
        assert!(!LimitId::DuplicateWindowMs.loosens(100, 500));
        assert!(LimitId::DuplicateWindowMs.loosens(100, 0), "off is looser");
        assert!(
            !LimitId::DuplicateWindowMs.loosens(0, 100),
            "on is stricter"
        );
        assert!(LimitId::DailyLossLimit.loosens(100, 0));
        assert!(!LimitId::DailyLossLimit.loosens(0, 100));
        assert!(LimitId::DailyLossLimit.loosens(100, 200));
        assert!(LimitId::FillsWindowMs.loosens(1000, 999));
        assert!(LimitId::StaleBookMs.loosens(1000, 1001));
    }

    // Proves runtime changes to an instrument's limits survive the limits being resolved
    // again from config (a new products input).
    #[test]
    fn overrides_reapply() {
        let base = InstrumentLimits {
            order_size_lots_max: 100,
            order_notional_max: Money(5),
            position_lots_max: 1_000,
            orders_open_max: 500,
        };
        let mut overrides = LimitOverrides::default();
        overrides.record(LimitId::MaxPosition, 400);
        overrides.record(LimitId::PriceCollarBps, 1); // not per instrument: ignored
        let mut resolved = base;
        overrides.apply(&mut resolved);
        assert_eq!(
            resolved,
            InstrumentLimits {
                position_lots_max: 400,
                ..base
            }
        );
    }
}
