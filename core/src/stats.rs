//! What the engine reports: counters, fixed-size status snapshots for the cold path, and the
//! end-of-run summary.
//!
//! [`StatusSnapshot`] is `Copy` and fixed-size so the hot thread can publish it through the
//! output ring without allocating. [`EngineSummary`] allocates and is built only off the hot
//! loop (end of a replay, shutdown).

use crate::config::INSTRUMENTS_MAX;
use crate::event::DecodeError;
use crate::instrument::Symbol;
use crate::num::{Increment, Money};
use crate::risk::Reject;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Market-data frames and product bodies that decoded.
    pub frames: u64,
    pub decode_errors: [u64; DecodeError::ALL.len()],
    /// Well-formed parts not for us (other channels, unconfigured products).
    pub ignored: u64,
    pub feed_controls: u64,
    pub timers: u64,
    pub heartbeats: u64,
    pub venue_errors: u64,
    pub gaps: u64,
    pub seq_regressions: u64,
    pub time_regressions: u64,
    pub level_updates: u64,
    pub trades: u64,
    pub book_errors: u64,
    pub crossed_books: u64,
    pub instrument_definitions: u64,
    pub orders: u64,
    pub cancels: u64,
    pub fills: u64,
    pub venue_rejects: u64,
    pub cancel_rejects: u64,
    pub oms_errors: u64,
    /// Live venue inputs (reports and gate changes) applied.
    pub venue_events: u64,
    /// Venue inputs whose payload could not be read (counted, ignored).
    pub venue_inputs_bad: u64,
    /// Venue reports that changed nothing: a fill already applied (same trade), an accept
    /// of an order already open, a report on an order already finished.
    pub duplicate_reports: u64,
    /// Fills that arrived after their order finished (still applied to the position).
    pub late_fills: u64,
    /// Creates whose outcome is unknown (no answer after every retry).
    pub orders_unknown: u64,
    /// Trading-gate changes.
    pub gate_changes: u64,
    /// Requotes sent as edits of resting orders (live venue).
    pub edits: u64,
    /// Orders placed by someone else and taken over at reconciliation.
    pub orders_adopted: u64,
    /// Admin commands applied or refused (audits not included), refused among them, and
    /// audited requests (reads, refusals at the endpoint).
    pub admin_commands: u64,
    pub admin_refused: u64,
    pub admin_audits: u64,
    /// Admin inputs whose payload could not be read.
    pub admin_inputs_bad: u64,
    /// Kill-switch triggers, trading-state changes and flattening orders.
    pub kills: u64,
    pub state_changes: u64,
    pub flatten_orders: u64,
}

impl Counters {
    pub fn decode_errors_total(&self) -> u64 {
        self.decode_errors.iter().sum()
    }

    /// Every counter into the state digest. The exhaustive destructure makes a new counter a
    /// compile error here until it is hashed.
    #[allow(
        clippy::too_many_lines,
        reason = "one line per counter: the exhaustive destructure, then the hashing order"
    )]
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        let Counters {
            frames,
            decode_errors,
            ignored,
            feed_controls,
            timers,
            heartbeats,
            venue_errors,
            gaps,
            seq_regressions,
            time_regressions,
            level_updates,
            trades,
            book_errors,
            crossed_books,
            instrument_definitions,
            orders,
            cancels,
            fills,
            venue_rejects,
            cancel_rejects,
            oms_errors,
            venue_events,
            venue_inputs_bad,
            duplicate_reports,
            late_fills,
            orders_unknown,
            gate_changes,
            edits,
            orders_adopted,
            admin_commands,
            admin_refused,
            admin_audits,
            admin_inputs_bad,
            kills,
            state_changes,
            flatten_orders,
        } = *self;
        for value in decode_errors {
            h.u64(value);
        }
        for value in [
            frames,
            ignored,
            feed_controls,
            timers,
            heartbeats,
            venue_errors,
            gaps,
            seq_regressions,
            time_regressions,
            level_updates,
            trades,
            book_errors,
            crossed_books,
            instrument_definitions,
            orders,
            cancels,
            fills,
            venue_rejects,
            cancel_rejects,
            oms_errors,
            venue_events,
            venue_inputs_bad,
            duplicate_reports,
            late_fills,
            orders_unknown,
            gate_changes,
            edits,
            orders_adopted,
            admin_commands,
            admin_refused,
            admin_audits,
            admin_inputs_bad,
            kills,
            state_changes,
            flatten_orders,
        ] {
            h.u64(value);
        }
    }
}

/// One instrument in a status snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentStatus {
    pub symbol: Symbol,
    /// Product rules known and the config resolved against them.
    pub tradable: bool,
    pub stale: bool,
    pub price_increment: Increment,
    pub base_increment: Increment,
    pub bid: Option<(i64, i64)>,
    pub ask: Option<(i64, i64)>,
    pub position_lots: i64,
    pub realized: Money,
    pub unrealized: Money,
    /// Signed cost basis of the open position: realized − cost basis is the cash the
    /// instrument's fills moved (before fees), independent of the order they came in.
    pub cost_basis: Money,
    pub fees: Money,
    pub fills: u64,
    /// The instrument's limits now (runtime changes included), once its rules are known.
    pub limits: Option<crate::risk::InstrumentLimits>,
    /// Open orders of the instrument.
    pub orders_open: usize,
}

/// Live orders listed in a status snapshot (the count is always whole).
pub const ORDERS_SNAPSHOT_MAX: usize = 64;

/// The trading state and the controls behind it, for the cold path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlStatus {
    /// The last change of the trading state (state, cause, actor).
    pub state: crate::control::Transition,
    pub strategy_on: bool,
    pub strategy_last: (crate::control::StateCause, crate::admin::Actor),
    /// The kill switch is closing positions.
    pub flattening: bool,
    /// The account limits now (runtime changes included).
    pub limits: crate::risk::GlobalLimits,
    /// P&L (realized + unrealized − fees) at the start of the UTC day, the session high,
    /// and now, as the loss limits see them.
    pub pnl_day_start: Money,
    pub pnl_session_high: Money,
    pub pnl: Money,
    pub cancels_throttled: u64,
    /// The latest admin commands' outcomes (any order).
    pub admin_recent: [Option<crate::admin::AdminRecord>; crate::admin::ADMIN_RECENT],
}

/// A copy of the engine's state for the cold path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusSnapshot {
    pub now_ns: u64,
    pub counters: Counters,
    pub rejects: [u64; Reject::COUNT],
    pub orders_open: usize,
    /// Trading gate: `None` open, otherwise why it is closed.
    pub gate_closed: Option<crate::venue::GateCause>,
    pub count: usize,
    pub instruments: [Option<InstrumentStatus>; INSTRUMENTS_MAX],
    pub control: ControlStatus,
    /// The first [`ORDERS_SNAPSHOT_MAX`] live orders, oldest first (`orders_open` counts
    /// them all).
    pub orders: [Option<crate::order::Order>; ORDERS_SNAPSHOT_MAX],
}

impl StatusSnapshot {
    /// The snapshot before the engine published one: nothing known, trading active.
    pub fn empty(limits: crate::risk::GlobalLimits) -> Self {
        let nobody = crate::admin::Actor::system();
        Self {
            now_ns: 0,
            counters: Counters::default(),
            rejects: [0; Reject::COUNT],
            orders_open: 0,
            gate_closed: None,
            count: 0,
            instruments: [None; INSTRUMENTS_MAX],
            control: ControlStatus {
                state: crate::control::Transition {
                    state: crate::control::TradingState::Active,
                    cause: crate::control::StateCause::Start,
                    actor: nobody,
                },
                strategy_on: true,
                strategy_last: (crate::control::StateCause::Start, nobody),
                flattening: false,
                limits,
                pnl_day_start: Money::ZERO,
                pnl_session_high: Money::ZERO,
                pnl: Money::ZERO,
                cancels_throttled: 0,
                admin_recent: [None; crate::admin::ADMIN_RECENT],
            },
            orders: [None; ORDERS_SNAPSHOT_MAX],
        }
    }

    /// Live orders listed in the snapshot.
    pub fn live_orders(&self) -> impl Iterator<Item = &crate::order::Order> {
        self.orders.iter().flatten()
    }

    pub fn instruments(&self) -> impl Iterator<Item = &InstrumentStatus> {
        self.instruments[..self.count].iter().flatten()
    }

    /// Realized + unrealized − fees over all instruments (one quote currency assumed).
    pub fn pnl_total(&self) -> Money {
        self.instruments().fold(Money::ZERO, |sum, i| {
            sum + i.realized + i.unrealized - i.fees
        })
    }
}

/// End-of-run summary: owned and allocating, built off the hot loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSummary {
    pub status: StatusSnapshot,
    pub strategy: &'static str,
    /// Config problems found when product rules arrived, by instrument.
    pub refusals: Vec<(Symbol, String)>,
}
