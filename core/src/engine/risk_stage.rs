//! Stages 3 to 5 of an input: the strategy's intents, the pre-trade risk check of each
//! placement and reprice (counting this input's approved orders with the live ones), and the
//! order commands that leave (cancels throttled there).

use super::{Engine, OrderCommand};
use crate::decision::Decision;
use crate::instrument::InstrumentId;
use crate::order::ClientOrderId;
use crate::risk::{Purpose, RiskContext, RiskEngine};
use crate::strategy::{Intent, MarketView, Reason};

impl Engine {
    /// Stage 3 (signal): the strategy looks at every changed, synced, tradable instrument
    /// (none while the trading gate is closed).
    pub fn decide(&mut self) {
        self.update_controls();
        if self.gate.is_some() {
            return;
        }
        self.flatten_positions();
        if self.control.state() == crate::control::TradingState::Halted
            || !self.control.strategy_on()
        {
            return;
        }
        let mut touched = self.touched;
        while touched != 0 {
            let index = touched.trailing_zeros() as usize;
            touched &= touched - 1;
            let (Some(spec), Some((_, sizing))) = (
                &self.instruments.specs[index],
                &self.instruments.limits[index],
            ) else {
                continue;
            };
            let book = &self.instruments.books[index];
            if book.stale().is_some() {
                continue;
            }
            let view = MarketView {
                now_ns: self.now_ns,
                instrument: InstrumentId(index as u16),
                spec,
                book,
                position_lots: self.instruments.positions[index].lots,
                live_orders: self.oms.live(),
                sizing: *sizing,
            };
            self.strategy.on_book(&view, &mut self.intents);
        }
    }

    /// Stage 4 (risk): every placement (and the kill switch's flattening) is checked;
    /// cancels are throttled when they leave ([`Engine::emit_orders`]).
    pub fn check_risk(&mut self) {
        for index in 0..self.intents.len() {
            match self.intents[index] {
                Intent::Cancel { id, reason } => self.cancels.push((id, reason)),
                Intent::Reprice {
                    id,
                    price_ticks,
                    reason,
                } => self.check_reprice(id, price_ticks, reason),
                Intent::Place { request, reason } => {
                    self.check_place(request, reason, Purpose::Strategy, None);
                }
            }
        }
        for index in 0..self.flattens.len() {
            let (request, reason) = self.flattens[index];
            self.check_place(request, reason, Purpose::Flatten, None);
        }
    }

    /// Risk-checks one new order; approved, it joins this input's approved orders, else
    /// the refusal is journaled. `replacing` is an order whose size the request takes over
    /// (a reprice), not counted twice. Returns whether it passed.
    fn check_place(
        &mut self,
        request: crate::order::OrderRequest,
        reason: Reason,
        purpose: Purpose,
        replacing: Option<&crate::order::Order>,
    ) -> bool {
        let index = request.instrument.index();
        let (Some(spec), Some((limits, _))) = (
            &self.instruments.specs[index],
            &self.instruments.limits[index],
        ) else {
            return false;
        };
        let (mut buy, mut sell) = self.open_lots(request.instrument);
        let mut orders_open = self.oms.live_count() + self.approved.len();
        let mut instrument_orders_open = self.instrument_orders(request.instrument);
        if let Some(order) = replacing {
            match order.request.side {
                crate::event::Side::Buy => buy -= order.remaining_lots(),
                crate::event::Side::Sell => sell -= order.remaining_lots(),
            }
            orders_open = orders_open.saturating_sub(1);
            instrument_orders_open = instrument_orders_open.saturating_sub(1);
        }
        let ctx = RiskContext {
            now_ns: self.now_ns,
            state: self.control.state(),
            purpose,
            spec,
            limits,
            book: &self.instruments.books[index],
            last_trade_ticks: self.instruments.last_trades[index],
            position_lots: self.instruments.positions[index].lots,
            open_buy_lots: buy,
            open_sell_lots: sell,
            orders_open,
            instrument_orders_open,
            exposure_others: self.exposure_except(request.instrument),
        };
        match self.risk.check(&request, &ctx) {
            Ok(approved) => {
                if replacing.is_none() {
                    self.approved.push((approved, reason));
                }
                true
            }
            Err(reject) => {
                self.decisions.push(Decision::RiskReject {
                    request,
                    reject,
                    reason,
                });
                false
            }
        }
    }

    /// Remaining lots of live and just-approved orders of `instrument`: (buys, sells).
    fn open_lots(&self, instrument: InstrumentId) -> (i64, i64) {
        use crate::event::Side;
        (
            self.oms.open_lots(instrument, Side::Buy) + self.approved_lots(instrument, Side::Buy),
            self.oms.open_lots(instrument, Side::Sell) + self.approved_lots(instrument, Side::Sell),
        )
    }

    /// Live and just-approved orders of `instrument`.
    fn instrument_orders(&self, instrument: InstrumentId) -> usize {
        let live = self
            .oms
            .live()
            .iter()
            .filter(|o| o.request.instrument == instrument)
            .count();
        let approved = self
            .approved
            .iter()
            .filter(|(a, _)| a.request().instrument == instrument)
            .count();
        live + approved
    }

    /// Gross exposure of every instrument but `instrument`, at each one's reference price
    /// (instruments without one count nothing).
    fn exposure_except(&self, instrument: InstrumentId) -> crate::num::Money {
        let limits = self.risk.limits();
        if limits.gross_exposure_max == crate::num::Money::ZERO {
            return crate::num::Money::ZERO;
        }
        let mut total = crate::num::Money::ZERO;
        for index in 0..self.instruments.symbols.len() {
            let other = InstrumentId(index as u16);
            let Some(spec) = self.instruments.specs[index].as_ref() else {
                continue;
            };
            if other == instrument {
                continue;
            }
            let reference = RiskEngine::reference_x2(
                limits,
                &self.instruments.books[index],
                self.instruments.last_trades[index],
            );
            if let Some(reference_x2) = reference {
                let (buy, sell) = self.open_lots(other);
                let lots = self.instruments.positions[index].lots;
                total += RiskEngine::exposure(spec, reference_x2, lots, buy, sell);
            }
        }
        total
    }

    /// A live venue edits a resting GTC quote in place once the new price passes risk (the
    /// order's own size is not counted twice); otherwise, and always with the simulated
    /// venue, the order is cancelled and the strategy places anew.
    fn check_reprice(&mut self, id: ClientOrderId, price_ticks: i64, reason: Reason) {
        let editable = self.oms.get(id).copied().filter(|o| {
            self.sim.is_none()
                && matches!(
                    o.state,
                    crate::order::OrderState::Open | crate::order::OrderState::PartiallyFilled
                )
                && !o.cancel_pending
                && o.edit_pending.is_none()
                && o.request.time_in_force == crate::order::TimeInForce::GoodTillCancel
        });
        let Some(order) = editable else {
            self.cancels.push((id, reason));
            return;
        };
        let request = crate::order::OrderRequest {
            price_ticks,
            size_lots: order.remaining_lots(),
            ..order.request
        };
        if self.check_place(request, reason, Purpose::Strategy, Some(&order)) {
            // The venue's edit takes the order's total size.
            self.edits.push((
                id,
                crate::order::OrderRequest {
                    price_ticks,
                    ..order.request
                },
                reason,
            ));
        } else {
            self.cancels.push((id, reason));
        }
    }

    fn approved_lots(&self, instrument: InstrumentId, side: crate::event::Side) -> i64 {
        self.approved
            .iter()
            .map(|(a, _)| a.request())
            .filter(|r| r.instrument == instrument && r.side == side)
            .map(|r| r.size_lots)
            .sum()
    }

    /// Stage 5 (order): approved orders and cancels become order commands (live: requotes
    /// become edits).
    pub fn emit_orders(&mut self) {
        for index in 0..self.edits.len() {
            let (id, request, reason) = self.edits[index];
            if self.oms.mark_edit_pending(id, request.price_ticks).is_err() {
                continue;
            }
            self.counters.edits += 1;
            self.decisions.push(Decision::EditRequest {
                id,
                price_ticks: request.price_ticks,
                reason,
            });
            self.commands.push(OrderCommand::edit(id, request));
        }
        for index in 0..self.cancels.len() {
            let (id, reason) = self.cancels[index];
            let Some(order) = self.oms.get(id) else {
                continue;
            };
            if order.cancel_pending {
                continue;
            }
            let instrument = order.request.instrument;
            if matches!(reason, Reason::Halt { .. } | Reason::Control { .. }) {
                self.risk.record_forced_cancel(self.now_ns);
            } else if !self.risk.allow_cancel(self.now_ns) {
                continue;
            }
            if self.oms.mark_cancel_pending(id).is_err() {
                continue;
            }
            self.counters.cancels += 1;
            self.decisions.push(Decision::CancelRequest {
                id,
                instrument,
                reason,
            });
            self.commands.push(OrderCommand::cancel(id, instrument));
            if let Some(sim) = self.sim.as_mut() {
                sim.cancel(self.now_ns, id);
            }
        }
        for index in 0..self.approved.len() {
            let (approved, reason) = self.approved[index];
            let request = *approved.request();
            let Ok(id) = self.oms.create(approved, self.now_ns) else {
                self.counters.oms_errors += 1;
                continue;
            };
            self.counters.orders += 1;
            self.decisions.push(Decision::OrderNew {
                id,
                request,
                reason,
            });
            self.commands.push(OrderCommand::new_order(id, &approved));
            if let Some(sim) = self.sim.as_mut() {
                sim.submit(self.now_ns, id, request);
            }
        }
    }
}
