//! The engine's controls: admin commands, the kill switch and its flattening, the loss
//! limits and the execution throttle (see [`crate::control`] and [`crate::admin`]).

use super::{Engine, all_instruments_mask};
use crate::admin::{ACCOUNT, Actor, AdminCommand, AdminInput, AdminOutcome, Role, Source};
use crate::control::{StateCause, TradingState, Transition};
use crate::decision::Decision;
use crate::event::Side;
use crate::instrument::InstrumentId;
use crate::num::Money;
use crate::order::{OrderRequest, TimeInForce};
use crate::risk::window::RATE_SLOTS;
use crate::risk::{LimitId, LimitUnit, RiskEngine};
use crate::strategy::Reason;

/// Least event time between two flattening orders of one instrument.
const FLATTEN_RETRY_NS: u64 = 1_000_000_000;

impl Engine {
    /// The trading state, the strategy switch and the P&L marks.
    pub fn control(&self) -> &crate::control::Control {
        &self.control
    }

    /// Whether the kill switch is closing positions.
    pub fn flattening(&self) -> bool {
        self.flattening
    }

    /// An admin input whose payload could not be read (counted, ignored).
    pub fn on_bad_admin_input(&mut self) {
        self.counters.admin_inputs_bad += 1;
    }

    /// An admin input (a command or an audited request), applied between two market events.
    pub fn on_admin(&mut self, input: AdminInput) {
        let AdminInput {
            actor,
            request_id,
            command,
        } = input;
        if let AdminCommand::Audit { .. } = command {
            self.counters.admin_audits += 1;
            return;
        }
        self.counters.admin_commands += 1;
        let outcome = self.admin_outcome(actor, command);
        if outcome != AdminOutcome::Applied && outcome != AdminOutcome::NoChange {
            self.counters.admin_refused += 1;
        }
        self.decisions.push(Decision::AdminDone {
            command: command.kind(),
            outcome,
        });
        let slot = self.counters.admin_commands as usize % crate::admin::ADMIN_RECENT;
        self.admin_recent[slot] = Some(crate::admin::AdminRecord {
            request_id,
            command: command.kind(),
            outcome,
        });
    }

    /// The outcomes of the most recent admin commands (any order).
    pub fn admin_recent(&self) -> &[Option<crate::admin::AdminRecord>; crate::admin::ADMIN_RECENT] {
        &self.admin_recent
    }

    fn admin_outcome(&mut self, actor: Actor, command: AdminCommand) -> AdminOutcome {
        let operator = actor.role >= Role::Operator;
        let admin = actor.role == Role::Admin;
        match command {
            AdminCommand::Kill { .. } | AdminCommand::CancelAll if !operator => {
                AdminOutcome::RefusedRole
            }
            AdminCommand::Kill { flatten } => {
                let cause = match actor.source {
                    Source::Signal => StateCause::Signal,
                    Source::DeadMan => StateCause::DeadMan,
                    _ => StateCause::Kill,
                };
                self.kill(cause, actor, flatten);
                AdminOutcome::Applied
            }
            AdminCommand::CancelAll => {
                self.cancel_live(StateCause::CancelAll, |_, _| true);
                AdminOutcome::Applied
            }
            AdminCommand::Resume { .. } if !admin => AdminOutcome::RefusedRole,
            AdminCommand::Resume {
                second_factor: false,
            } => AdminOutcome::RefusedSecondFactor,
            AdminCommand::Resume { .. } => match self.control.resume(actor) {
                Some(transition) => {
                    self.flattening = false;
                    self.apply_transition(transition);
                    AdminOutcome::Applied
                }
                None => AdminOutcome::NoChange,
            },
            AdminCommand::Strategy { enabled: false, .. } if !operator => AdminOutcome::RefusedRole,
            AdminCommand::Strategy { enabled: true, .. } if !admin => AdminOutcome::RefusedRole,
            AdminCommand::Strategy {
                enabled: true,
                second_factor: false,
            } => AdminOutcome::RefusedSecondFactor,
            AdminCommand::Strategy { enabled, .. } => {
                self.switch_strategy(enabled, StateCause::Operator, actor)
            }
            AdminCommand::SetLimit { .. } if !admin => AdminOutcome::RefusedRole,
            AdminCommand::SetLimit {
                limit,
                instrument,
                value,
                second_factor,
            } => self.set_limit(limit, instrument, value, second_factor),
            AdminCommand::Audit { .. } => AdminOutcome::NoChange,
        }
    }

    /// The kill switch: HALTED (journaled with cause and actor), every live order
    /// cancelled, and with `flatten` every position closed by reduce-only orders.
    pub fn kill(&mut self, cause: StateCause, actor: Actor, flatten: bool) {
        self.counters.kills += 1;
        if let Some(transition) = self.control.tighten(TradingState::Halted, cause, actor) {
            self.apply_transition(transition);
        } else {
            // Already halted: make sure nothing is left working.
            self.cancel_live(cause, |_, _| true);
        }
        if flatten {
            self.flattening = true;
            self.instruments.flattened_ns.fill(0);
        }
        // The kill acts now, whatever the instruments' books did in this input.
        self.touched = all_instruments_mask(self.instruments.symbols.len());
    }

    /// Journals a state change and cancels what the new state forbids: everything when
    /// HALTED, orders that could grow a position when REDUCING.
    fn apply_transition(&mut self, transition: Transition) {
        let Transition {
            state,
            cause,
            actor,
        } = transition;
        self.counters.state_changes += 1;
        self.decisions.push(Decision::TradingState {
            state,
            cause,
            actor,
        });
        match state {
            TradingState::Halted => self.cancel_live(cause, |_, _| true),
            // An order on the side of the position (or any order when flat) could grow it.
            TradingState::Reducing => self.cancel_live(cause, |order, position_lots| {
                position_lots.signum() != -order.request.side.sign()
            }),
            // Quoting resumes now, not at each instrument's next market event.
            TradingState::Active => {
                self.touched = all_instruments_mask(self.instruments.symbols.len());
            }
        }
    }

    /// Cancels the live orders `which` selects (given each order and its instrument's
    /// position), in table order, as a control: never throttled.
    fn cancel_live(
        &mut self,
        cause: StateCause,
        which: impl Fn(&crate::order::Order, i64) -> bool,
    ) {
        for order in self.oms.live() {
            let position_lots = self.instruments.positions[order.request.instrument.index()].lots;
            if which(order, position_lots) && !order.cancel_pending {
                self.cancels.push((order.id, Reason::Control { cause }));
            }
        }
    }

    fn switch_strategy(&mut self, on: bool, cause: StateCause, actor: Actor) -> AdminOutcome {
        if !self.control.set_strategy(on, cause, actor) {
            return AdminOutcome::NoChange;
        }
        self.strategy_switched(on, cause, actor);
        AdminOutcome::Applied
    }

    /// Journals a strategy switch; switched off, the strategy's own orders are cancelled
    /// (adopted orders stay).
    fn strategy_switched(&mut self, on: bool, cause: StateCause, actor: Actor) {
        self.decisions.push(Decision::StrategySwitched {
            enabled: on,
            cause,
            actor,
        });
        if on {
            self.touched = all_instruments_mask(self.instruments.symbols.len());
        } else {
            self.cancel_live(cause, |order, _| !order.adopted);
        }
    }

    fn set_limit(
        &mut self,
        limit: LimitId,
        instrument: u16,
        value: i128,
        second_factor: bool,
    ) -> AdminOutcome {
        let rate = matches!(
            limit,
            LimitId::OrdersPerSecond
                | LimitId::CancelsPerSecond
                | LimitId::MessagesPerSecond
                | LimitId::FillsInWindowMax
        );
        let ceiling = match limit {
            LimitId::MaxOpenOrders => self.settings.limits.orders_open_max as i128,
            _ if rate => RATE_SLOTS as i128,
            _ => limit.value_max(),
        };
        let floor = match limit.unit() {
            LimitUnit::Bps if limit == LimitId::PriceCollarBps => 1,
            _ => 0,
        };
        if value < floor || value > ceiling {
            return AdminOutcome::RefusedValue;
        }
        let old = if limit.per_instrument() {
            let index = usize::from(instrument);
            match self.instruments.limits.get(index).and_then(|l| l.as_ref()) {
                Some((limits, _)) => limits.get(limit),
                None => None,
            }
        } else if instrument == ACCOUNT {
            self.risk.limits().get(limit)
        } else {
            None
        };
        let Some(old) = old else {
            return AdminOutcome::RefusedValue;
        };
        if limit.loosens(old, value) && !second_factor {
            return AdminOutcome::RefusedSecondFactor;
        }
        if limit.per_instrument() {
            let index = usize::from(instrument);
            if let Some((limits, _)) = self.instruments.limits[index].as_mut() {
                limits.set(limit, value);
            }
            self.instruments.overrides[index].record(limit, value);
        } else {
            self.risk.limits_mut().set(limit, value);
        }
        self.decisions.push(Decision::LimitChanged {
            limit,
            instrument,
            old,
            new: value,
        });
        AdminOutcome::Applied
    }

    /// Before the strategy: the loss limits against the P&L now (at the input that moved
    /// it), and the state they call for.
    pub(super) fn update_controls(&mut self) {
        let limits = *self.risk.limits();
        if self.touched == 0
            || (limits.daily_loss_max == Money::ZERO && limits.drawdown_max == Money::ZERO)
        {
            return;
        }
        let pnl = self.pnl_now();
        if let Some(transition) = self.control.on_pnl(self.now_ns, pnl, &limits) {
            self.apply_transition(transition);
        }
    }

    /// A fill happened: the execution throttle may switch the strategy off.
    pub(super) fn after_fill(&mut self) {
        let limits = *self.risk.limits();
        if self.control.on_fill(self.now_ns, &limits) {
            self.strategy_switched(false, StateCause::ExecutionThrottle, Actor::risk());
        }
    }

    /// Realized + unrealized − fees over every instrument, marked at each reference price
    /// (an instrument without one is marked at its cost).
    pub fn pnl_now(&self) -> Money {
        let limits = self.risk.limits();
        let mut total = Money::ZERO;
        for index in 0..self.instruments.symbols.len() {
            let position = &self.instruments.positions[index];
            total += position.realized - position.fees;
            if position.lots == 0 {
                continue;
            }
            let (Some(spec), Some(reference_x2)) = (
                self.instruments.specs[index].as_ref(),
                RiskEngine::reference_x2(
                    limits,
                    &self.instruments.books[index],
                    self.instruments.last_trades[index],
                ),
            ) else {
                continue;
            };
            total += position.unrealized(spec, reference_x2);
        }
        total
    }

    /// While flattening: each instrument with a position and no working order gets one
    /// reduce-only IOC order across the book (at most one per second per instrument).
    pub(super) fn flatten_positions(&mut self) {
        if !self.flattening {
            return;
        }
        let slippage_bps = i128::from(self.risk.limits().flatten_slippage_bps);
        for index in 0..self.instruments.symbols.len() {
            let instrument = InstrumentId(index as u16);
            let lots = self.instruments.positions[index].lots;
            let busy = self
                .oms
                .live()
                .iter()
                .any(|o| o.request.instrument == instrument);
            let recent = self
                .now_ns
                .saturating_sub(self.instruments.flattened_ns[index])
                < FLATTEN_RETRY_NS;
            let (Some((limits, _)), Some(top)) = (
                self.instruments.limits[index].as_ref(),
                self.instruments.books[index].top(),
            ) else {
                continue;
            };
            if lots == 0 || busy || recent {
                continue;
            }
            let (side, price_ticks) = if lots > 0 {
                // Sell at the bid less the slippage, rounded down.
                let price = i128::from(top.bid_ticks) * (10_000 - slippage_bps) / 10_000;
                (Side::Sell, price as i64)
            } else {
                let price = (i128::from(top.ask_ticks) * (10_000 + slippage_bps) + 9_999) / 10_000;
                (Side::Buy, price as i64)
            };
            let request = OrderRequest {
                instrument,
                side,
                price_ticks: price_ticks.max(1),
                size_lots: lots.abs().min(limits.order_size_lots_max),
                time_in_force: TimeInForce::ImmediateOrCancel,
                post_only: false,
            };
            self.instruments.flattened_ns[index] = self.now_ns;
            self.counters.flatten_orders += 1;
            self.flattens.push((
                request,
                Reason::Flatten {
                    position_lots: lots,
                },
            ));
        }
    }
}
