//! Helpers shared by the engine's scripted tests: a one-instrument engine (BTC-USD, a
//! market maker), frames built by hand, and one-input steps that return the decisions and
//! commands it made.
#![allow(dead_code, unused_imports)] // each test binary uses a subset
#![allow(clippy::unwrap_used)] // test support: a failed unwrap is a failed test

pub use traider_core::admin::{Actor, AdminCommand, AdminInput, AdminOutcome, Role, Source};
pub use traider_core::book::StaleCause;
pub use traider_core::command::OrderAction;
pub use traider_core::config::*;
pub use traider_core::control::{StateCause, TradingState};
pub use traider_core::decision::Decision;
pub use traider_core::engine::Engine;
pub use traider_core::event::{DecodedBatch, LevelChange, MarketEvent, Side, TradePrint};
pub use traider_core::input::FeedControl;
pub use traider_core::instrument::{InstrumentId, InstrumentSpec, ProductRules, VenueStatus};
pub use traider_core::num::Money;
pub use traider_core::order::{ClientOrderId, OrderRequest, TimeInForce};
pub use traider_core::risk::LimitId;
pub use traider_core::risk::Reject;
pub use traider_core::sim::Liquidity;
pub use traider_core::sim::VenueReject;
pub use traider_core::strategy::{MarketMakerParams, Reason};
pub use traider_core::venue::{GateCause, VenueEvent};

pub const MS: u64 = 1_000_000;
pub const BTC: InstrumentId = InstrumentId(0);

pub fn settings() -> EngineSettings {
    EngineSettings {
        instruments: vec![InstrumentSettings {
            product_id: "BTC-USD".into(),
            order_size: "0.01".into(),
            inventory_max: "0.05".into(),
            max_order_size: "0.05".into(),
            max_position: "0.03".into(),
            max_order_notional: None,
            max_open_orders: None,
        }],
        risk: RiskSettings {
            max_order_notional: "5000".into(),
            price_collar_bps: 50,
            max_open_orders: 4,
            orders_per_second: 100,
            messages_per_second: 200,
            cancels_per_second: 100,
            stale_book_ms: 1_000,
            ..RiskSettings::default()
        },
        strategy: StrategySettings {
            kind: StrategyKind::MarketMaker,
            market_maker: Some(MarketMakerParams {
                spread_bps: 0,
                skew_bps: 0,
                requote_ticks: 5,
                requote_interval_ms: 0,
            }),
            taker: None,
        },
        sim: SimSettings {
            latency_us: 1_000,
            maker_fee_bps: "10".into(),
            taker_fee_bps: "20".into(),
        },
        limits: CapacitySettings {
            book_levels_max: 1_024,
            orders_open_max: 8,
            trades_per_frame_max: 64,
        },
        client_order_namespace: 9,
    }
}

pub fn spec() -> InstrumentSpec {
    InstrumentSpec::new_checked(&ProductRules {
        product_id: "BTC-USD",
        price_increment: "0.01",
        base_increment: "0.00000001",
        base_min_size: "0.00000001",
        base_max_size: "3400",
        quote_min_size: "1",
        quote_max_size: "150000000",
        status: VenueStatus::default(),
    })
    .unwrap()
}

/// Builds one decoded frame.
#[derive(Default)]
pub struct Frame {
    batch: DecodedBatch,
}

impl Frame {
    pub fn seq(mut self, seq: u64) -> Self {
        self.batch.sequence_num = Some(seq);
        self
    }
    pub fn instruments(mut self) -> Self {
        self.batch.specs.push((BTC, spec()));
        self.batch
            .events
            .push(MarketEvent::Instruments { specs: 0..1 });
        self
    }
    pub fn book(mut self, snapshot: bool, levels: &[(Side, i64, i64)]) -> Self {
        let start = self.batch.levels.len();
        for &(side, price_ticks, size_lots) in levels {
            self.batch.levels.push(LevelChange {
                side,
                price_ticks,
                size_lots,
            });
        }
        let levels = start..self.batch.levels.len();
        self.batch.events.push(if snapshot {
            MarketEvent::BookSnapshot {
                instrument: BTC,
                levels,
            }
        } else {
            MarketEvent::BookUpdate {
                instrument: BTC,
                levels,
            }
        });
        self
    }
    pub fn trade(mut self, price_ticks: i64, size_lots: i64, maker_side: Side) -> Self {
        let start = self.batch.trades.len();
        self.batch.trades.push(TradePrint {
            price_ticks,
            size_lots,
            maker_side,
            trade_id: 1,
        });
        self.batch.events.push(MarketEvent::Trades {
            instrument: BTC,
            trades: start..start + 1,
            snapshot: false,
        });
        self
    }
}

/// Runs one input through every stage; returns its decisions and the command actions.
pub fn step(
    engine: &mut Engine,
    ts_ns: u64,
    frame: Option<Frame>,
) -> (Vec<Decision>, Vec<(OrderAction, ClientOrderId)>) {
    engine.begin_input(ts_ns);
    match frame {
        Some(frame) => engine.apply_batch(1, &frame.batch),
        None => engine.on_timer(),
    }
    run_stages(engine)
}

/// Runs one live venue input (a report or a gate change) through every stage.
pub fn step_venue(
    engine: &mut Engine,
    ts_ns: u64,
    event: VenueEvent,
) -> (Vec<Decision>, Vec<(OrderAction, ClientOrderId)>) {
    engine.begin_input(ts_ns);
    engine.on_venue(event);
    run_stages(engine)
}

pub fn run_stages(engine: &mut Engine) -> (Vec<Decision>, Vec<(OrderAction, ClientOrderId)>) {
    engine.decide();
    engine.check_risk();
    engine.emit_orders();
    let decisions = engine.decisions().to_vec();
    let commands = engine
        .commands()
        .iter()
        .map(|c| (c.action(), c.id()))
        .collect();
    engine.clear_outputs();
    (decisions, commands)
}

pub fn quote(side: Side, price_ticks: i64) -> OrderRequest {
    OrderRequest {
        instrument: BTC,
        side,
        price_ticks,
        size_lots: 1_000_000,
        time_in_force: TimeInForce::GoodTillCancel,
        post_only: true,
    }
}

pub fn id(counter: u64) -> ClientOrderId {
    ClientOrderId::new(9, counter)
}

/// Runs one admin input through every stage.
pub fn step_admin(
    engine: &mut Engine,
    ts_ns: u64,
    actor: Actor,
    command: AdminCommand,
) -> (Vec<Decision>, Vec<(OrderAction, ClientOrderId)>) {
    engine.begin_input(ts_ns);
    engine.on_admin(AdminInput {
        actor,
        request_id: 1,
        command,
    });
    run_stages(engine)
}
