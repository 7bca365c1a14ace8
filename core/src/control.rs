//! The trading state and what moves it: the kill switch, the loss limits, the execution
//! throttle and the strategy switch.
//!
//! ```text
//! ACTIVE ──loss limit (reducing)──► REDUCING ──loss limit (halting), kill──► HALTED
//!    └──────────────kill, loss limit (halting)────────────────────────────────▲
//! REDUCING / HALTED ──resume (admin, second factor)──► ACTIVE
//! ```
//!
//! A loss limit is checked at every input that can move P&L, so the state changes at the
//! very input whose fill or mark breaches it. Daily loss is counted from the P&L at the
//! first input of the UTC day (event time); drawdown from the session's P&L high, which a
//! resume starts afresh. While a limit stays breached, a resume is followed by the same
//! transition at the next input: the operator has to raise the limit (second factor) to
//! trade on. The execution throttle switches the strategy off, not the trading state.
//!
//! Runs on the hot thread; no clock: time comes from the inputs.

use crate::actor::Actor;
use crate::num::Money;
use crate::risk::GlobalLimits;
pub use crate::risk::TradingState;
use crate::risk::window::RateWindow;

crate::wire::code_enum! {
    /// Why the trading state or the strategy switch moved.
    pub enum StateCause {
        /// The daemon started.
        Start = 0 "start",
        /// An operator's kill command.
        Kill = 1 "kill",
        /// SIGUSR1.
        Signal = 2 "signal",
        /// The dead-man switch (when configured to kill).
        DeadMan = 3 "dead_man",
        DailyLoss = 4 "daily_loss",
        Drawdown = 5 "drawdown",
        /// An admin's resume.
        Resume = 6 "resume",
        /// The execution throttle (fills in a window).
        ExecutionThrottle = 7 "execution_throttle",
        /// An operator switched the strategy off, or an admin on.
        Operator = 8 "operator",
        /// An operator's cancel-all.
        CancelAll = 9 "cancel_all",
    }
}

/// A change of the trading state: the state, why, and who.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub state: TradingState,
    pub cause: StateCause,
    pub actor: Actor,
}

const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// The trading state, the strategy switch and the loss and fill counters behind them.
#[derive(Clone, Debug)]
pub struct Control {
    current: Transition,
    strategy_on: bool,
    strategy_last: (StateCause, Actor),
    /// UTC day (event time) of the last P&L check, and the P&L at its start.
    day: Option<u64>,
    day_start_pnl: Money,
    session_high_pnl: Money,
    last_pnl: Money,
    fills: RateWindow,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            current: Transition {
                state: TradingState::Active,
                cause: StateCause::Start,
                actor: Actor::system(),
            },
            strategy_on: true,
            strategy_last: (StateCause::Start, Actor::system()),
            day: None,
            day_start_pnl: Money::ZERO,
            session_high_pnl: Money::ZERO,
            last_pnl: Money::ZERO,
            fills: RateWindow::default(),
        }
    }
}

impl Control {
    pub fn state(&self) -> TradingState {
        self.current.state
    }

    /// The last change of the trading state.
    pub fn last(&self) -> Transition {
        self.current
    }

    pub fn strategy_on(&self) -> bool {
        self.strategy_on
    }

    pub fn strategy_last(&self) -> (StateCause, Actor) {
        self.strategy_last
    }

    /// (P&L at the start of the day, the session high): the loss limits' references.
    pub fn pnl_marks(&self) -> (Money, Money) {
        (self.day_start_pnl, self.session_high_pnl)
    }

    /// Moves to `state` unless the current state is already at least as strict; returns the
    /// transition made.
    pub fn tighten(
        &mut self,
        state: TradingState,
        cause: StateCause,
        actor: Actor,
    ) -> Option<Transition> {
        (state > self.current.state).then(|| self.set(state, cause, actor))
    }

    /// Back to ACTIVE (a fresh session: the drawdown high restarts from here); `None` when
    /// already active.
    pub fn resume(&mut self, actor: Actor) -> Option<Transition> {
        if self.current.state == TradingState::Active {
            return None;
        }
        self.session_high_pnl = self.last_pnl;
        Some(self.set(TradingState::Active, StateCause::Resume, actor))
    }

    fn set(&mut self, state: TradingState, cause: StateCause, actor: Actor) -> Transition {
        self.current = Transition {
            state,
            cause,
            actor,
        };
        self.current
    }

    /// Switches the strategy; `false` when it already was so.
    pub fn set_strategy(&mut self, on: bool, cause: StateCause, actor: Actor) -> bool {
        if self.strategy_on == on {
            return false;
        }
        self.strategy_on = on;
        self.strategy_last = (cause, actor);
        true
    }

    /// The P&L now (realized + unrealized − fees); returns the transition a breached loss
    /// limit makes, if any.
    pub fn on_pnl(&mut self, now_ns: u64, pnl: Money, limits: &GlobalLimits) -> Option<Transition> {
        let day = now_ns / DAY_NS;
        if self.day != Some(day) {
            self.day = Some(day);
            self.day_start_pnl = pnl;
        }
        self.last_pnl = pnl;
        if pnl > self.session_high_pnl {
            self.session_high_pnl = pnl;
        }
        let target = |halts: bool| {
            if halts {
                TradingState::Halted
            } else {
                TradingState::Reducing
            }
        };
        let daily_loss = self.day_start_pnl - pnl;
        if limits.daily_loss_max > Money::ZERO && daily_loss >= limits.daily_loss_max {
            let state = target(limits.daily_loss_halts);
            if let Some(t) = self.tighten(state, StateCause::DailyLoss, Actor::risk()) {
                return Some(t);
            }
        }
        let drawdown = self.session_high_pnl - pnl;
        if limits.drawdown_max > Money::ZERO && drawdown >= limits.drawdown_max {
            let state = target(limits.drawdown_halts);
            return self.tighten(state, StateCause::Drawdown, Actor::risk());
        }
        None
    }

    /// A fill at `now_ns`; `true` when it trips the execution throttle (the strategy is then
    /// switched off).
    pub fn on_fill(&mut self, now_ns: u64, limits: &GlobalLimits) -> bool {
        self.fills.record(now_ns);
        let max = limits.fills_in_window_max;
        max > 0
            && self.strategy_on
            && !self.fills.allows(now_ns, limits.fills_window_ns, max)
            && self.set_strategy(false, StateCause::ExecutionThrottle, Actor::risk())
    }

    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.u8(self.current.state as u8);
        h.u8(self.current.cause as u8);
        h.bytes(self.current.actor.as_bytes());
        h.bool(self.strategy_on);
        h.u8(self.strategy_last.0 as u8);
        h.bytes(self.strategy_last.1.as_bytes());
        h.opt_u64(self.day);
        h.i128(self.day_start_pnl.0);
        h.i128(self.session_high_pnl.0);
        h.i128(self.last_pnl.0);
        self.fills.digest(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(daily: &str, drawdown: &str, daily_halts: bool) -> GlobalLimits {
        GlobalLimits {
            price_collar_bps: 100,
            thin_book_spread_bps: 100,
            orders_open_max: 10,
            orders_per_second_max: 10,
            cancels_per_second_max: 10,
            messages_per_second_max: 10,
            duplicate_window_ns: 0,
            gross_exposure_max: Money::ZERO,
            book_age_ns_max: 1,
            fills_in_window_max: 3,
            fills_window_ns: 1_000,
            daily_loss_max: Money::parse(daily).expect("money"),
            drawdown_max: Money::parse(drawdown).expect("money"),
            daily_loss_halts: daily_halts,
            drawdown_halts: false,
            flatten_slippage_bps: 10,
        }
    }

    fn usd(text: &str) -> Money {
        Money::parse(text).expect("money")
    }

    // Proves the daily loss limit moves the state at the P&L that reaches it (not before),
    // to the configured state, and only ever tightens.
    #[test]
    fn daily_loss_moves_the_state_at_the_breach() {
        let limits = limits("100", "0", true);
        let mut control = Control::default();
        assert_eq!(
            control.on_pnl(1, usd("50"), &limits),
            None,
            "day starts at +50"
        );
        assert_eq!(control.on_pnl(2, usd("-49.99"), &limits), None);
        let t = control.on_pnl(3, usd("-50"), &limits).expect("breach");
        assert_eq!(
            (t.state, t.cause, t.actor),
            (TradingState::Halted, StateCause::DailyLoss, Actor::risk())
        );
        assert_eq!(
            control.on_pnl(4, usd("-80"), &limits),
            None,
            "already halted"
        );
        // A new UTC day starts from the P&L then.
        let mut control = Control::default();
        control.on_pnl(1, usd("0"), &limits);
        assert_eq!(control.on_pnl(DAY_NS + 1, usd("-90"), &limits), None);
        assert!(control.on_pnl(DAY_NS + 2, usd("-190"), &limits).is_some());
    }

    // Proves drawdown counts from the session high, moves to REDUCING as configured, and
    // that a resume restarts the session from the current P&L; while the daily limit stays
    // breached a resume is followed by the same halt.
    #[test]
    fn drawdown_from_the_high_and_resume() {
        let limits = limits("0", "30", false);
        let mut control = Control::default();
        control.on_pnl(1, usd("0"), &limits);
        control.on_pnl(2, usd("40"), &limits);
        assert_eq!(control.on_pnl(3, usd("10.01"), &limits), None);
        let t = control
            .on_pnl(4, usd("10"), &limits)
            .expect("30 below the high");
        assert_eq!(
            (t.state, t.cause),
            (TradingState::Reducing, StateCause::Drawdown)
        );
        let resumed = control
            .resume(Actor::new("alice").expect("name"))
            .expect("resumed");
        assert_eq!(resumed.state, TradingState::Active);
        assert_eq!(
            control.on_pnl(5, usd("-19.99"), &limits),
            None,
            "new high is 10"
        );
        assert!(control.on_pnl(6, usd("-20"), &limits).is_some());
        assert_eq!(
            control.resume(Actor::system()).map(|t| t.state),
            Some(TradingState::Active)
        );
        assert_eq!(control.resume(Actor::system()), None, "already active");

        let halting = self::limits("100", "0", true);
        let mut control = Control::default();
        control.on_pnl(1, usd("0"), &halting);
        assert!(control.on_pnl(2, usd("-100"), &halting).is_some());
        control.resume(Actor::system());
        assert!(
            control.on_pnl(3, usd("-100"), &halting).is_some(),
            "still breached"
        );
    }

    // Proves the execution throttle switches the strategy off at the Nth fill within the
    // window, not before, and not while fills are spread out.
    #[test]
    fn execution_throttle() {
        let limits = limits("0", "0", true);
        let mut control = Control::default();
        assert!(!control.on_fill(0, &limits));
        assert!(!control.on_fill(600, &limits));
        assert!(
            !control.on_fill(1_200, &limits),
            "the first left the window"
        );
        assert!(control.on_fill(1_300, &limits), "three within 1000 ns");
        assert!(!control.strategy_on());
        assert_eq!(control.strategy_last().0, StateCause::ExecutionThrottle);
        assert!(!control.on_fill(1_301, &limits), "already off");
    }

    // Proves the kill only tightens: a kill of a REDUCING state halts, a second kill changes
    // nothing.
    #[test]
    fn kill_tightens() {
        let mut control = Control::default();
        let alice = Actor::new("alice").expect("name");
        assert!(
            control
                .tighten(TradingState::Reducing, StateCause::DailyLoss, Actor::risk())
                .is_some()
        );
        let t = control
            .tighten(TradingState::Halted, StateCause::Kill, alice)
            .expect("halts");
        assert_eq!(t.actor, alice);
        assert_eq!(
            control.tighten(TradingState::Halted, StateCause::Signal, alice),
            None
        );
        assert_eq!(
            control.tighten(TradingState::Reducing, StateCause::Kill, alice),
            None
        );
    }
}
