//! What the venue says: a live venue's reports (accepts, rejects, cancels, edits, fills,
//! adopted orders, deduplicated), the trading gate, and the simulated venue's reports. Every
//! fill is booked in one place (`book_fill`).

use super::{Engine, all_instruments_mask};
use crate::decision::Decision;
use crate::order::ClientOrderId;
use crate::sim::{SimVenue, VenueReport};
use crate::strategy::Reason;
use crate::venue::{GateCause, VenueEvent};

impl Engine {
    /// `None` when new orders may go out; otherwise why the trading gate is closed.
    pub fn gate_closed(&self) -> Option<GateCause> {
        self.gate
    }

    /// A venue input whose payload could not be read.
    pub fn on_bad_venue_input(&mut self) {
        self.counters.venue_inputs_bad += 1;
    }

    /// A live venue's report (or a gate change), in the order the cold side received it.
    /// Reports that do not fit an order's state are counted and change nothing.
    pub fn on_venue(&mut self, event: VenueEvent) {
        self.counters.venue_events += 1;
        let result = match event {
            VenueEvent::Gate {
                open,
                cancel_all,
                cause,
            } => {
                self.set_gate(open, cancel_all, cause);
                Ok(())
            }
            VenueEvent::Unknown { id } => {
                if self.oms.get(id).is_some() {
                    self.counters.orders_unknown += 1;
                    self.decisions.push(Decision::OrderUnknown { id });
                } else {
                    self.counters.duplicate_reports += 1;
                }
                Ok(())
            }
            VenueEvent::Accepted { id } => match self.oms.get(id).map(|o| o.state) {
                Some(crate::order::OrderState::Pending) => {
                    self.apply_report(VenueReport::Accepted { id })
                }
                _ => {
                    self.counters.duplicate_reports += 1;
                    Ok(())
                }
            },
            VenueEvent::Rejected { id, reason } => self.if_live(id, |engine| {
                engine.apply_report(VenueReport::Rejected { id, reason })
            }),
            VenueEvent::Cancelled { id } => self.if_live(id, |engine| {
                engine.apply_report(VenueReport::Cancelled { id })
            }),
            VenueEvent::CancelRejected { id } => self.if_live(id, |engine| {
                engine.apply_report(VenueReport::CancelRejected { id })
            }),
            VenueEvent::Edited { id } => self.if_live(id, |engine| engine.edit_answer(id, true)),
            VenueEvent::EditRejected { id } => {
                self.if_live(id, |engine| engine.edit_answer(id, false))
            }
            VenueEvent::Adopted {
                id,
                request,
                venue_ref,
            } => self.adopt(id, request, venue_ref),
            VenueEvent::Fill {
                id,
                trade_key,
                price_ticks,
                size_lots,
                liquidity,
                fee,
            } => {
                if self.fill_keys.insert(id, trade_key) {
                    self.apply_live_fill(id, price_ticks, size_lots, liquidity, fee)
                } else {
                    self.counters.duplicate_reports += 1;
                    Ok(())
                }
            }
        };
        if result.is_err() {
            self.counters.oms_errors += 1;
        }
    }

    /// Takes over an order someone else placed (see [`VenueEvent::Adopted`]); refused
    /// (counted) for an instrument without rules or an id the engine cannot take.
    fn adopt(
        &mut self,
        id: ClientOrderId,
        request: crate::order::OrderRequest,
        venue_ref: u128,
    ) -> Result<(), crate::order::OmsError> {
        let index = request.instrument.index();
        if self
            .instruments
            .specs
            .get(index)
            .is_none_or(Option::is_none)
        {
            return Err(crate::order::OmsError::UnknownOrder);
        }
        self.oms.adopt(id, request, self.now_ns)?;
        self.counters.orders_adopted += 1;
        self.decisions.push(Decision::OrderAdopted {
            id,
            request,
            venue_ref,
        });
        self.touched |= 1 << index;
        Ok(())
    }

    fn edit_answer(
        &mut self,
        id: ClientOrderId,
        applied: bool,
    ) -> Result<(), crate::order::OmsError> {
        let price_ticks = self.oms.on_edit_answer(id, applied)?;
        self.touch_order(id);
        self.decisions.push(Decision::EditDone {
            id,
            applied,
            price_ticks,
        });
        Ok(())
    }

    /// Reports on an order that already finished change nothing (counted as duplicates).
    fn if_live(
        &mut self,
        id: ClientOrderId,
        apply: impl FnOnce(&mut Self) -> Result<(), crate::order::OmsError>,
    ) -> Result<(), crate::order::OmsError> {
        if self.oms.get(id).is_some() {
            apply(self)
        } else if self.oms.retired(id).is_some() {
            self.counters.duplicate_reports += 1;
            Ok(())
        } else {
            Err(crate::order::OmsError::UnknownOrder)
        }
    }

    /// A live fill: on a live order as any fill; on a recently finished one (the fill
    /// arrived after the cancel) it still moves the position.
    fn apply_live_fill(
        &mut self,
        id: ClientOrderId,
        price_ticks: i64,
        size_lots: i64,
        liquidity: crate::sim::Liquidity,
        fee: crate::num::Money,
    ) -> Result<(), crate::order::OmsError> {
        if self.oms.get(id).is_some() {
            return self.apply_report(VenueReport::Fill {
                id,
                price_ticks,
                size_lots,
                liquidity,
                fee,
            });
        }
        let request = self
            .oms
            .retired(id)
            .ok_or(crate::order::OmsError::UnknownOrder)?
            .request;
        self.oms.on_late_fill(id, size_lots)?;
        self.counters.late_fills += 1;
        self.book_fill(id, request, price_ticks, size_lots, liquidity, fee)
    }

    /// A fill the order manager took: the position, the counters, the decision, and the
    /// execution throttle.
    fn book_fill(
        &mut self,
        id: ClientOrderId,
        request: crate::order::OrderRequest,
        price_ticks: i64,
        size_lots: i64,
        liquidity: crate::sim::Liquidity,
        fee: crate::num::Money,
    ) -> Result<(), crate::order::OmsError> {
        let index = request.instrument.index();
        let spec = self.instruments.specs[index].ok_or(crate::order::OmsError::UnknownOrder)?;
        self.instruments.positions[index].apply_fill(
            &spec,
            request.side,
            price_ticks,
            size_lots,
            fee,
        );
        self.counters.fills += 1;
        self.decisions.push(Decision::Fill {
            id,
            instrument: request.instrument,
            side: request.side,
            price_ticks,
            size_lots,
            liquidity,
            fee,
        });
        self.touched |= 1 << index;
        self.after_fill();
        Ok(())
    }

    fn set_gate(&mut self, open: bool, cancel_all: bool, cause: GateCause) {
        let gate = if open { None } else { Some(cause) };
        self.counters.gate_changes += u64::from(gate != self.gate);
        self.gate = gate;
        if open {
            // Every instrument gets a look now, not at its next market event.
            self.touched = all_instruments_mask(self.instruments.symbols.len());
        }
        self.decisions.push(Decision::TradingGate { open, cause });
        if !open && cancel_all {
            for order in self.oms.live() {
                if !order.cancel_pending {
                    self.cancels.push((order.id, Reason::Halt { cause }));
                }
            }
        }
    }

    pub(super) fn apply_reports(&mut self) {
        for index in 0..self.reports.len() {
            let report = self.reports[index];
            if let Err(_error) = self.apply_report(report) {
                self.counters.oms_errors += 1;
            }
        }
    }

    fn apply_report(&mut self, report: VenueReport) -> Result<(), crate::order::OmsError> {
        match report {
            VenueReport::Accepted { id } => {
                self.oms.on_accepted(id)?;
                self.decisions.push(Decision::OrderAccepted { id });
            }
            VenueReport::Rejected { id, reason } => {
                self.touch_order(id);
                self.oms.on_rejected(id)?;
                self.counters.venue_rejects += 1;
                self.decisions.push(Decision::OrderRejected { id, reason });
            }
            VenueReport::Fill {
                id,
                price_ticks,
                size_lots,
                liquidity,
                fee,
            } => {
                let request = self
                    .oms
                    .get(id)
                    .ok_or(crate::order::OmsError::UnknownOrder)?
                    .request;
                self.oms.on_fill(id, size_lots)?;
                self.book_fill(id, request, price_ticks, size_lots, liquidity, fee)?;
            }
            VenueReport::Cancelled { id } => {
                self.touch_order(id);
                self.oms.on_cancelled(id)?;
                self.decisions.push(Decision::OrderCancelled { id });
            }
            VenueReport::CancelRejected { id } => {
                self.counters.cancel_rejects += 1;
                self.decisions.push(Decision::CancelRejected { id });
            }
        }
        Ok(())
    }

    /// The strategy of an order's instrument runs again after this input (a quote left the
    /// book, so it may want to replace it).
    fn touch_order(&mut self, id: ClientOrderId) {
        if let Some(order) = self.oms.get(id) {
            self.touched |= 1 << order.request.instrument.index();
        }
    }

    /// Time of the simulated venue's next pending arrival.
    pub fn next_venue_arrival_ns(&self) -> Option<u64> {
        self.sim.as_ref().and_then(SimVenue::next_arrival_ns)
    }
}
