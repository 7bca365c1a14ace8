//! The engine's reports: a fixed-size [`StatusSnapshot`] cheap enough for the hot thread
//! to publish, and the end-of-run [`EngineSummary`] (allocating, off the hot loop).

use super::Engine;
use crate::config::INSTRUMENTS_MAX;
use crate::instrument::InstrumentId;
use crate::num::{Increment, Money};
use crate::stats::{
    ControlStatus, EngineSummary, InstrumentStatus, ORDERS_SNAPSHOT_MAX, StatusSnapshot,
};

impl Engine {
    /// A fixed-size copy of the state, cheap enough for the hot thread.
    pub fn status(&self) -> StatusSnapshot {
        let inst = &self.instruments;
        let mut instruments = [None; INSTRUMENTS_MAX];
        for (index, slot) in instruments.iter_mut().enumerate().take(inst.symbols.len()) {
            let id = InstrumentId(index as u16);
            let book = self.book(id);
            let position = self.position(id);
            let (price_increment, base_increment) = match &inst.specs[index] {
                Some(spec) => (spec.price_increment, spec.base_increment),
                None => (
                    Increment { step: 1, scale: 0 },
                    Increment { step: 1, scale: 0 },
                ),
            };
            let unrealized = match (&inst.specs[index], book.top()) {
                (Some(spec), Some(top)) => position.unrealized(spec, top.mid_ticks_x2()),
                _ => Money::ZERO,
            };
            *slot = Some(InstrumentStatus {
                symbol: inst.symbols[index],
                tradable: inst.limits[index].is_some(),
                stale: book.stale().is_some(),
                price_increment,
                base_increment,
                bid: book.best_bid(),
                ask: book.best_ask(),
                position_lots: position.lots,
                realized: position.realized,
                unrealized,
                cost_basis: position.cost,
                fees: position.fees,
                fills: position.fills,
                limits: inst.limits[index].map(|(limits, _)| limits),
                orders_open: self
                    .orders()
                    .live()
                    .iter()
                    .filter(|o| o.request.instrument == id)
                    .count(),
            });
        }
        let mut orders = [None; ORDERS_SNAPSHOT_MAX];
        for (slot, order) in orders.iter_mut().zip(self.orders().live()) {
            *slot = Some(*order);
        }
        let control = self.control();
        let (pnl_day_start, pnl_session_high) = control.pnl_marks();
        StatusSnapshot {
            now_ns: self.now_ns(),
            counters: self.counters,
            rejects: *self.risk().rejects(),
            orders_open: self.orders().live_count(),
            gate_closed: self.gate_closed(),
            count: inst.symbols.len(),
            instruments,
            control: ControlStatus {
                state: control.last(),
                strategy_on: control.strategy_on(),
                strategy_last: control.strategy_last(),
                flattening: self.flattening(),
                limits: *self.risk().limits(),
                pnl_day_start,
                pnl_session_high,
                pnl: self.pnl_now(),
                cancels_throttled: self.risk().cancels_throttled(),
                admin_recent: *self.admin_recent(),
            },
            orders,
        }
    }

    pub fn summary(&self) -> EngineSummary {
        let refusals = self
            .instruments
            .refusals
            .iter()
            .zip(&self.instruments.symbols)
            .filter_map(|(refusal, symbol)| refusal.as_ref().map(|e| (*symbol, e.to_string())))
            .collect();
        EngineSummary {
            status: self.status(),
            strategy: self.strategy_name(),
            refusals,
        }
    }

    /// Book depth per instrument, for reports: (bid levels, ask levels).
    pub fn level_counts(&self, instrument: InstrumentId) -> (usize, usize) {
        let book = self.book(instrument);
        (book.bid_levels(), book.ask_levels())
    }
}
