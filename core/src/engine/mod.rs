//! The engine: books, strategy, risk, orders, portfolio and the simulated venue, composed.
//!
//! Runs on the hot thread only. Each input goes through stages the pipeline times
//! separately: [`Engine::begin_input`] (advance event time; simulated-venue arrivals),
//! [`Engine::apply_batch`] (books and trades), [`Engine::decide`] (strategy),
//! [`Engine::check_risk`] and [`Engine::emit_orders`]. Every decision is pushed to
//! [`Engine::decisions`] for the journal, every order command to [`Engine::commands`] for the
//! output ring; the pipeline drains both after each input.
//!
//! Determinism: time is the inputs' sequencer stamp, clamped so it never runs backwards;
//! instruments are visited in index order; nothing reads a clock, an RNG or a hash map.
//!
//! This file holds the engine's state, its construction, its accessors and stage 0. The
//! other stages are `impl Engine` blocks, one file each: `market_data` (stage 2 and feed
//! health), `risk_stage` (stages 3 to 5: strategy, risk, order commands), `venue` (venue
//! reports and the trading gate), `operator` (admin commands, kill switch, loss limits) and
//! `digest` (the state digest).

mod digest;
mod market_data;
mod operator;
mod risk_stage;
mod status;
mod venue;

use crate::book::OrderBook;
use crate::config::{ConfigError, EngineSettings, StrategyKind, StrategySettings};
use crate::control::Control;
use crate::decision::Decision;
use crate::event::TickerTop;
use crate::instrument::{InstrumentId, InstrumentSpec, Symbol};
use crate::order::{ClientOrderId, OrderManager};
use crate::portfolio::Position;
use crate::risk::{InstrumentLimits, LimitOverrides, RiskApproved, RiskEngine};
use crate::sim::{SimVenue, VenueReport};
use crate::strategy::{Intent, MarketMaker, Reason, SizingParams, Strategy, Taker};
use crate::venue::{FillKeys, GateCause};

pub use crate::command::OrderCommand;
pub use crate::stats::{Counters, EngineSummary, InstrumentStatus, StatusSnapshot};

/// Per-instrument state, in parallel vectors indexed by [`InstrumentId`].
pub(crate) struct Instruments {
    pub symbols: Vec<Symbol>,
    pub specs: Vec<Option<InstrumentSpec>>,
    pub limits: Vec<Option<(InstrumentLimits, SizingParams)>>,
    pub refusals: Vec<Option<ConfigError>>,
    pub books: Vec<OrderBook>,
    pub positions: Vec<Position>,
    pub tickers: Vec<Option<TickerTop>>,
    /// Last live trade price, for the collar of a thin book.
    pub last_trades: Vec<Option<i64>>,
    /// Limits an operator changed at runtime (kept across a new products input).
    pub overrides: Vec<LimitOverrides>,
    /// Event time of the last flattening order per instrument (kill switch).
    pub flattened_ns: Vec<u64>,
}

impl Instruments {
    /// A slot per configured instrument, without rules until the venue's product definitions
    /// arrive; every book sized for `book_levels_max` levels up front.
    fn new(settings: &EngineSettings) -> Result<Self, ConfigError> {
        let count = settings.instruments.len();
        let levels_max = settings.limits.book_levels_max;
        let symbols = settings
            .instruments
            .iter()
            .map(|i| {
                Symbol::new(&i.product_id)
                    .ok_or_else(|| ConfigError::new("instruments", "bad product_id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            symbols,
            specs: vec![None; count],
            limits: vec![None; count],
            refusals: vec![None; count],
            books: (0..count)
                .map(|_| OrderBook::with_capacity(levels_max))
                .collect(),
            positions: vec![Position::default(); count],
            tickers: vec![None; count],
            last_trades: vec![None; count],
            overrides: vec![LimitOverrides::default(); count],
            flattened_ns: vec![0; count],
        })
    }
}

/// Market-data connection state: one `sequence_num` counter per connection.
struct Feed {
    conn_id: u32,
    expected_seq: Option<u64>,
}

pub struct Engine {
    settings: EngineSettings,
    pub(crate) instruments: Instruments,
    risk: RiskEngine,
    oms: OrderManager,
    strategy: Box<dyn Strategy>,
    sim: Option<SimVenue>,
    /// `None`: new orders may go out. Live trading starts closed ([`GateCause::Startup`]).
    gate: Option<GateCause>,
    /// Trading state (kill switch, loss limits), strategy switch, execution throttle.
    control: Control,
    /// After a kill with flattening: positions are closed with reduce-only orders until
    /// flat or resumed.
    flattening: bool,
    /// Kill-switch orders waiting for risk (purpose [`crate::risk::Purpose::Flatten`]).
    flattens: Vec<(crate::order::OrderRequest, Reason)>,
    /// Outcomes of the latest admin commands, for the endpoint that sent them.
    admin_recent: [Option<crate::admin::AdminRecord>; crate::admin::ADMIN_RECENT],
    /// Live fills already applied (deduplication of venue reports).
    fill_keys: FillKeys,
    feed: Feed,
    pub(crate) counters: Counters,
    now_ns: u64,
    /// Instruments whose book or trades changed in this input (bit per index).
    touched: u32,
    intents: Vec<Intent>,
    approved: Vec<(RiskApproved, Reason)>,
    cancels: Vec<(ClientOrderId, Reason)>,
    /// Live venue: reprices that passed risk, as edits (order id, terms with the new price).
    edits: Vec<(ClientOrderId, crate::order::OrderRequest, Reason)>,
    reports: Vec<VenueReport>,
    decisions: Vec<Decision>,
    commands: Vec<OrderCommand>,
}

const _: () = assert!(crate::config::INSTRUMENTS_MAX <= u32::BITS as usize);

/// The `touched` mask of every instrument: the low `count` bits set. Shifted in `u64`, as a
/// `u32` shift by 32 (the count the assert above allows) overflows.
fn all_instruments_mask(count: usize) -> u32 {
    assert!(count <= u32::BITS as usize);
    ((1_u64 << count) - 1) as u32
}

/// Live fills remembered for deduplication (by order and trade).
const FILL_KEYS_KEPT: usize = 4096;

/// The strategy `settings.kind` names, with its parameters, for `count` instruments.
fn new_strategy(
    settings: &StrategySettings,
    count: usize,
) -> Result<Box<dyn Strategy>, ConfigError> {
    let strategy: Box<dyn Strategy> = match settings.kind {
        StrategyKind::MarketMaker => {
            let params = settings
                .market_maker
                .ok_or_else(|| ConfigError::new("strategy.market_maker", "missing"))?;
            Box::new(MarketMaker::new(params, count))
        }
        StrategyKind::Taker => {
            let params = settings
                .taker
                .ok_or_else(|| ConfigError::new("strategy.taker", "missing"))?;
            Box::new(Taker::new(params, count))
        }
    };
    Ok(strategy)
}

impl Engine {
    /// Builds an engine; `simulated` selects the in-core simulated venue (paper, replay).
    pub fn new(settings: EngineSettings, simulated: bool) -> Result<Self, ConfigError> {
        settings.validate()?;
        let count = settings.instruments.len();
        let orders_max = settings.limits.orders_open_max;
        let instruments = Instruments::new(&settings)?;
        let strategy = new_strategy(&settings.strategy, count)?;
        let sim = if simulated {
            Some(SimVenue::new(settings.sim_params()?, orders_max))
        } else {
            None
        };
        Ok(Self {
            instruments,
            risk: RiskEngine::new(settings.global_limits()),
            oms: OrderManager::new(settings.client_order_namespace, orders_max),
            strategy,
            sim,
            gate: (!simulated).then_some(GateCause::Startup),
            control: Control::default(),
            flattening: false,
            flattens: Vec::with_capacity(count),
            admin_recent: [None; crate::admin::ADMIN_RECENT],
            fill_keys: FillKeys::new(FILL_KEYS_KEPT),
            feed: Feed {
                conn_id: 0,
                expected_seq: None,
            },
            counters: Counters::default(),
            now_ns: 0,
            touched: 0,
            intents: Vec::with_capacity(4 * orders_max + 16),
            approved: Vec::with_capacity(4 * orders_max + 16),
            cancels: Vec::with_capacity(4 * orders_max + 16),
            edits: Vec::with_capacity(4 * orders_max + 16),
            reports: Vec::with_capacity(4 * orders_max + 64),
            decisions: Vec::with_capacity(8 * orders_max + 64),
            commands: Vec::with_capacity(4 * orders_max + 16),
            settings,
        })
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    pub fn orders(&self) -> &OrderManager {
        &self.oms
    }

    pub fn book(&self, instrument: InstrumentId) -> &OrderBook {
        &self.instruments.books[instrument.index()]
    }

    pub fn position(&self, instrument: InstrumentId) -> &Position {
        &self.instruments.positions[instrument.index()]
    }

    pub fn spec(&self, instrument: InstrumentId) -> Option<&InstrumentSpec> {
        self.instruments.specs[instrument.index()].as_ref()
    }

    pub fn strategy_name(&self) -> &'static str {
        self.strategy.name()
    }

    /// Decisions made since the last [`Engine::clear_outputs`].
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Order commands made since the last [`Engine::clear_outputs`].
    pub fn commands(&self) -> &[OrderCommand] {
        &self.commands
    }

    pub fn clear_outputs(&mut self) {
        self.decisions.clear();
        self.commands.clear();
    }

    /// Stage 0: time moves to the input's stamp; simulated-venue arrivals happen.
    pub fn begin_input(&mut self, ts_recv_ns: u64) {
        if ts_recv_ns < self.now_ns {
            self.counters.time_regressions += 1;
        }
        self.now_ns = self.now_ns.max(ts_recv_ns);
        self.touched = 0;
        self.intents.clear();
        self.approved.clear();
        self.cancels.clear();
        self.edits.clear();
        self.flattens.clear();
        if let Some(sim) = self.sim.as_mut() {
            self.reports.clear();
            sim.advance(
                self.now_ns,
                &self.instruments.books,
                &self.instruments.specs,
                &mut self.reports,
            );
            self.apply_reports();
        }
    }

    pub fn on_timer(&mut self) {
        self.counters.timers += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::all_instruments_mask;

    // Proves the all-instruments mask sets exactly the low `count` bits for every count the
    // layout assert allows, 32 included (where a `u32` shift overflows).
    #[test]
    fn all_instruments_mask_sets_one_bit_per_instrument() {
        assert_eq!(all_instruments_mask(0), 0);
        assert_eq!(all_instruments_mask(1), 0b1);
        assert_eq!(all_instruments_mask(16), 0xFFFF);
        assert_eq!(all_instruments_mask(31), 0x7FFF_FFFF);
        assert_eq!(all_instruments_mask(32), u32::MAX);
        for count in 0..=32 {
            assert_eq!(all_instruments_mask(count).count_ones() as usize, count);
        }
    }

    // Proves a count beyond the mask's width is a bug that crashes, not a wrapped mask.
    #[test]
    #[should_panic(expected = "count <= u32::BITS")]
    fn all_instruments_mask_refuses_more_than_32() {
        all_instruments_mask(33);
    }
}
