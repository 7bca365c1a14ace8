//! The engine's state digest: one hash over its complete state, so two runs can be shown to
//! end in the same state (a replay's summary reports it; the scripted tests compare runs).

use super::Engine;

impl Engine {
    /// A hash of the engine's complete state: books, orders, positions, risk, strategy,
    /// simulated venue, feed and counters. Equal for two engines fed the same inputs.
    pub fn digest(&self) -> crate::digest::StateDigest {
        let mut h = crate::digest::StateHasher::default();
        h.tag("engine");
        h.u64(self.now_ns);
        h.u32(self.feed.conn_id);
        h.opt_u64(self.feed.expected_seq);
        let inst = &self.instruments;
        for index in 0..inst.symbols.len() {
            h.tag("instrument");
            h.bytes(inst.symbols[index].as_bytes());
            match &inst.specs[index] {
                Some(spec) => {
                    h.u8(1);
                    spec.digest(&mut h);
                }
                None => h.u8(0),
            }
            match &inst.limits[index] {
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
            h.bool(inst.refusals[index].is_some());
            inst.overrides[index].digest(&mut h);
            h.opt_u64(inst.last_trades[index].map(|p| p as u64));
            h.u64(inst.flattened_ns[index]);
            inst.books[index].digest(&mut h);
            inst.positions[index].digest(&mut h);
            match inst.tickers[index] {
                Some(top) => {
                    h.u8(1);
                    h.i64(top.last_ticks);
                    h.i64(top.bid_ticks);
                    h.i64(top.ask_ticks);
                }
                None => h.u8(0),
            }
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
            h.u8(record.command);
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
