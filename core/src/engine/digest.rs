//! The engine's state digest: one hash over its complete state, so two runs can be shown to
//! end in the same state (a replay's summary reports it; the scripted tests compare runs).

use super::{Engine, Instruments};
use crate::digest::{StateDigest, StateHasher};

impl Engine {
    /// A hash of the engine's complete state: books, orders, positions, risk, strategy,
    /// simulated venue, feed and counters. Equal for two engines fed the same inputs.
    pub fn digest(&self) -> StateDigest {
        let mut h = StateHasher::default();
        h.tag("engine");
        h.u64(self.now_ns);
        h.u32(self.feed.conn_id);
        h.opt_u64(self.feed.expected_seq);
        for index in 0..self.instruments.symbols.len() {
            self.instruments.digest(&mut h, index);
        }
        h.tag("risk");
        self.risk.digest(&mut h);
        h.tag("orders");
        self.oms.digest(&mut h);
        h.tag("strategy");
        self.strategy.digest(&mut h);
        h.tag("control");
        self.control.digest(&mut h);
        h.bool(self.flattening);
        for record in self.admin_recent.iter().flatten() {
            h.u32(record.request_id);
            h.u8(record.command.code());
            h.u8(record.outcome as u8);
        }
        h.tag("live");
        h.u8(self.gate.map_or(0, |cause| cause as u8));
        self.fill_keys.digest(&mut h);
        h.tag("sim");
        match &self.sim {
            Some(sim) => sim.digest(&mut h),
            None => h.u8(0),
        }
        h.tag("counters");
        self.counters.digest(&mut h);
        h.finish()
    }
}

impl Instruments {
    /// One instrument's slot: symbol, rules, limits (with the operator's overrides), last
    /// trade, flattening time, book, position and ticker.
    fn digest(&self, h: &mut StateHasher, index: usize) {
        h.tag("instrument");
        h.bytes(self.symbols[index].as_bytes());
        match &self.specs[index] {
            Some(spec) => {
                h.u8(1);
                spec.digest(h);
            }
            None => h.u8(0),
        }
        match &self.limits[index] {
            Some((limits, sizing)) => {
                h.u8(1);
                for value in [
                    limits.order_size_lots_max,
                    limits.position_lots_max,
                    sizing.order_size_lots,
                    sizing.inventory_max_lots,
                ] {
                    h.i64(value);
                }
                h.i128(limits.order_notional_max.0);
                h.u32(limits.orders_open_max);
            }
            None => h.u8(0),
        }
        h.bool(self.refusals[index].is_some());
        self.overrides[index].digest(h);
        h.opt_u64(self.last_trades[index].map(|p| p as u64));
        h.u64(self.flattened_ns[index]);
        self.books[index].digest(h);
        self.positions[index].digest(h);
        match self.tickers[index] {
            Some(top) => {
                h.u8(1);
                h.i64(top.last_ticks);
                h.i64(top.bid_ticks);
                h.i64(top.ask_ticks);
            }
            None => h.u8(0),
        }
    }
}
