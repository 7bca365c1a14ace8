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

mod operator;

use crate::book::{OrderBook, StaleCause};
use crate::config::{ConfigError, EngineSettings, StrategyKind};
use crate::control::Control;
use crate::decision::Decision;
use crate::event::{DecodeError, DecodedBatch, MarketEvent, TickerTop};
use crate::input::FeedControl;
use crate::instrument::{InstrumentId, InstrumentSpec, Symbol};
use crate::order::{ClientOrderId, OrderManager};
use crate::portfolio::Position;
use crate::risk::{
    InstrumentLimits, LimitOverrides, Purpose, RiskApproved, RiskContext, RiskEngine,
};
use crate::sim::{SimVenue, VenueReport};
use crate::strategy::{Intent, MarketMaker, MarketView, Reason, SizingParams, Strategy, Taker};
use crate::venue::{FillKeys, GateCause, VenueEvent};

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
    /// Kill-switch orders waiting for risk (purpose [`Purpose::Flatten`]).
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

/// Live fills remembered for deduplication (by order and trade).
const FILL_KEYS_KEPT: usize = 4096;

impl Engine {
    /// Builds an engine; `simulated` selects the in-core simulated venue (paper, replay).
    pub fn new(settings: EngineSettings, simulated: bool) -> Result<Self, ConfigError> {
        settings.validate()?;
        let count = settings.instruments.len();
        let levels_max = settings.limits.book_levels_max;
        let orders_max = settings.limits.orders_open_max;
        let symbols = settings
            .instruments
            .iter()
            .map(|i| {
                Symbol::new(&i.product_id)
                    .ok_or_else(|| ConfigError::new("instruments", "bad product_id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let strategy: Box<dyn Strategy> = match settings.strategy.kind {
            StrategyKind::MarketMaker => {
                let params = settings
                    .strategy
                    .market_maker
                    .ok_or_else(|| ConfigError::new("strategy.market_maker", "missing"))?;
                Box::new(MarketMaker::new(params, count))
            }
            StrategyKind::Taker => {
                let params = settings
                    .strategy
                    .taker
                    .ok_or_else(|| ConfigError::new("strategy.taker", "missing"))?;
                Box::new(Taker::new(params, count))
            }
        };
        let sim = if simulated {
            Some(SimVenue::new(settings.sim_params()?, orders_max))
        } else {
            None
        };
        Ok(Self {
            instruments: Instruments {
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
            },
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
            self.touched = (1_u32 << self.instruments.symbols.len()) - 1;
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

    pub fn on_timer(&mut self) {
        self.counters.timers += 1;
    }

    pub fn on_decode_error(&mut self, error: DecodeError) {
        self.counters.decode_errors[error.index()] += 1;
        self.decisions.push(Decision::DecodeFailed { error });
    }

    /// A gateway reported a connection health change.
    pub fn on_feed(&mut self, conn_id: u32, control: FeedControl) {
        self.counters.feed_controls += 1;
        let cause = match control {
            FeedControl::Connected => {
                self.feed = Feed {
                    conn_id,
                    expected_seq: None,
                };
                StaleCause::AwaitingSnapshot
            }
            FeedControl::Disconnected => StaleCause::Disconnected,
            FeedControl::HeartbeatSilence => StaleCause::HeartbeatSilence,
            FeedControl::Resubscribed => StaleCause::SequenceGap,
        };
        self.mark_all_stale(cause);
    }

    fn mark_all_stale(&mut self, cause: StaleCause) {
        for (index, book) in self.instruments.books.iter_mut().enumerate() {
            if book.stale().is_none() {
                book.mark_stale(cause);
                self.decisions.push(Decision::BookStale {
                    instrument: InstrumentId(index as u16),
                    cause,
                });
            }
        }
    }

    /// Stage 2 (book): applies one decoded frame from connection `conn_id`.
    pub fn apply_batch(&mut self, conn_id: u32, batch: &DecodedBatch) {
        self.counters.frames += 1;
        self.counters.ignored += u64::from(batch.ignored);
        if let Some(seq) = batch.sequence_num
            && !self.check_sequence(conn_id, seq)
        {
            return;
        }
        for event in &batch.events {
            self.apply_event(event, batch);
        }
    }

    /// `false` when the frame is older than what the connection already delivered.
    fn check_sequence(&mut self, conn_id: u32, seq: u64) -> bool {
        if conn_id != self.feed.conn_id {
            // Frames from a connection we were not told about (e.g. a capture without
            // connect records): adopt it.
            self.feed = Feed {
                conn_id,
                expected_seq: None,
            };
        }
        match self.feed.expected_seq {
            Some(expected) if seq < expected => {
                self.counters.seq_regressions += 1;
                return false;
            }
            Some(expected) if seq > expected => {
                self.counters.gaps += 1;
                self.decisions.push(Decision::FeedGap {
                    conn_id,
                    expected,
                    got: seq,
                });
                self.mark_all_stale(StaleCause::SequenceGap);
            }
            _ => {}
        }
        self.feed.expected_seq = Some(seq + 1);
        true
    }

    fn apply_event(&mut self, event: &MarketEvent, batch: &DecodedBatch) {
        match event {
            MarketEvent::BookSnapshot { instrument, levels } => {
                let index = instrument.index();
                let book = &mut self.instruments.books[index];
                let was_stale = book.stale().is_some();
                let result = book.apply_snapshot(&batch.levels[levels.clone()], self.now_ns);
                self.counters.level_updates += levels.len() as u64;
                self.after_book_change(*instrument, result.is_ok(), was_stale);
            }
            MarketEvent::BookUpdate { instrument, levels } => {
                let index = instrument.index();
                let result = self.instruments.books[index]
                    .apply_update(&batch.levels[levels.clone()], self.now_ns);
                self.counters.level_updates += levels.len() as u64;
                self.after_book_change(*instrument, result.is_ok(), false);
            }
            MarketEvent::Trades {
                instrument,
                trades,
                snapshot,
            } => {
                let trades = &batch.trades[trades.clone()];
                self.counters.trades += trades.len() as u64;
                if !*snapshot {
                    self.on_live_trades(*instrument, trades);
                }
            }
            MarketEvent::Ticker { instrument, top } => {
                self.instruments.tickers[instrument.index()] = Some(*top);
                if top.last_ticks > 0 {
                    self.instruments.last_trades[instrument.index()] = Some(top.last_ticks);
                }
            }
            MarketEvent::Heartbeat { .. } => self.counters.heartbeats += 1,
            MarketEvent::Instruments { specs } => {
                for (instrument, spec) in &batch.specs[specs.clone()] {
                    self.define_instrument(*instrument, *spec);
                }
            }
            MarketEvent::VenueError => self.counters.venue_errors += 1,
        }
    }

    fn after_book_change(&mut self, instrument: InstrumentId, applied: bool, was_stale: bool) {
        let book = &self.instruments.books[instrument.index()];
        if !applied {
            self.counters.book_errors += 1;
            self.decisions.push(Decision::BookStale {
                instrument,
                cause: StaleCause::BadUpdate,
            });
            return;
        }
        if book.is_crossed() {
            self.counters.crossed_books += 1;
        }
        if was_stale && book.stale().is_none() {
            self.decisions.push(Decision::BookSynced { instrument });
        }
        if let Some(sim) = self.sim.as_mut() {
            sim.on_book(instrument, book);
        }
        self.touched |= 1 << instrument.index();
    }

    fn on_live_trades(&mut self, instrument: InstrumentId, trades: &[crate::event::TradePrint]) {
        // Trades in a message are newest first.
        if let Some(newest) = trades.first() {
            self.instruments.last_trades[instrument.index()] = Some(newest.price_ticks);
        }
        self.strategy.on_trades(self.now_ns, instrument, trades);
        if let (Some(sim), Some(spec)) = (
            self.sim.as_mut(),
            self.instruments.specs[instrument.index()].as_ref(),
        ) {
            self.reports.clear();
            sim.on_trades(instrument, trades, spec, &mut self.reports);
            self.apply_reports();
        }
        self.touched |= 1 << instrument.index();
    }

    fn define_instrument(&mut self, instrument: InstrumentId, spec: InstrumentSpec) {
        let index = instrument.index();
        if index >= self.instruments.specs.len() {
            return;
        }
        self.counters.instrument_definitions += 1;
        match self.settings.resolve_instrument(index, &spec) {
            Ok((mut limits, sizing)) => {
                self.instruments.overrides[index].apply(&mut limits);
                self.instruments.specs[index] = Some(spec);
                self.instruments.limits[index] = Some((limits, sizing));
                self.instruments.refusals[index] = None;
                self.decisions
                    .push(Decision::InstrumentReady { instrument });
            }
            Err(error) => {
                self.instruments.refusals[index] = Some(error);
                self.decisions
                    .push(Decision::InstrumentRefused { instrument });
            }
        }
    }

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

    fn apply_reports(&mut self) {
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

    /// Time of the simulated venue's next pending arrival.
    pub fn next_venue_arrival_ns(&self) -> Option<u64> {
        self.sim.as_ref().and_then(SimVenue::next_arrival_ns)
    }
}
