//! The engine's controls, input by input: admin commands (kill, resume, cancel-all, the
//! strategy switch, limits) with their roles and second factor, the trading states they
//! and the loss limits move, and the execution throttle.
#![allow(clippy::unwrap_used)] // test setup: a failed unwrap is a failed test
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

mod support;

use proptest::prelude::*;
use support::*;

const T0: u64 = 1_000_000_000_000;

fn actor(name: &str, role: Role) -> Actor {
    Actor::with(name, role, Source::Api).unwrap()
}

fn ops() -> Actor {
    actor("ops", Role::Operator)
}

fn root() -> Actor {
    actor("root", Role::Admin)
}

fn book_at(bid: i64, ask: i64) -> Frame {
    Frame::default().book(
        true,
        &[(Side::Buy, bid, 50_000_000), (Side::Sell, ask, 50_000_000)],
    )
}

/// A live engine with its book synced and the gate open: the maker's bid (id 1) and ask
/// (id 2) are out and accepted.
fn trading(settings: EngineSettings) -> Engine {
    trading_at(settings, 10_000, 10_002)
}

fn trading_at(settings: EngineSettings, bid: i64, ask: i64) -> Engine {
    let mut engine = Engine::new(settings, false).unwrap();
    step(&mut engine, T0, Some(Frame::default().instruments()));
    step(&mut engine, T0 + MS, Some(book_at(bid, ask).seq(0)));
    let open = VenueEvent::Gate {
        open: true,
        cancel_all: false,
        cause: GateCause::Reconciled,
    };
    let (_, commands) = step_venue(&mut engine, T0 + 2 * MS, open);
    assert_eq!(
        commands,
        vec![(OrderAction::New, id(1)), (OrderAction::New, id(2))]
    );
    for counter in [1, 2] {
        step_venue(
            &mut engine,
            T0 + 3 * MS,
            VenueEvent::Accepted { id: id(counter) },
        );
    }
    engine
}

/// The venue confirms the cancels of the maker's first bid and ask (ids 1 and 2).
fn confirm_cancels(engine: &mut Engine, ts_ns: u64) {
    for counter in [1, 2] {
        step_venue(engine, ts_ns, VenueEvent::Cancelled { id: id(counter) });
    }
}

fn outcome(decisions: &[Decision]) -> Option<AdminOutcome> {
    decisions.iter().find_map(|d| match d {
        Decision::AdminDone { outcome, .. } => Some(*outcome),
        _ => None,
    })
}

// Proves the kill switch: an operator's kill moves the state to HALTED at once (journaled
// with cause and actor), cancels every open order in the same input as a control (reason
// Control { kill }), and nothing is quoted while halted; a viewer's kill changes nothing.
#[test]
fn kill_halts_and_cancels_everything() {
    let mut engine = trading(settings());
    let (decisions, commands) = step_admin(
        &mut engine,
        T0 + 4 * MS,
        actor("eye", Role::Viewer),
        AdminCommand::Kill { flatten: false },
    );
    assert_eq!(outcome(&decisions), Some(AdminOutcome::RefusedRole));
    assert!(commands.is_empty());
    assert_eq!(engine.control().state(), TradingState::Active);

    let (decisions, commands) = step_admin(
        &mut engine,
        T0 + 5 * MS,
        ops(),
        AdminCommand::Kill { flatten: false },
    );
    assert_eq!(
        decisions[0],
        Decision::TradingState {
            state: TradingState::Halted,
            cause: StateCause::Kill,
            actor: ops()
        }
    );
    assert_eq!(outcome(&decisions), Some(AdminOutcome::Applied));
    let cancelled: Vec<_> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::CancelRequest { id, reason, .. } => Some((*id, *reason)),
            _ => None,
        })
        .collect();
    let control = Reason::Control {
        cause: StateCause::Kill,
    };
    assert_eq!(cancelled, vec![(id(1), control), (id(2), control)]);
    assert_eq!(
        commands,
        vec![(OrderAction::Cancel, id(1)), (OrderAction::Cancel, id(2))]
    );
    confirm_cancels(&mut engine, T0 + 6 * MS);
    let (_, commands) = step(
        &mut engine,
        T0 + 7 * MS,
        Some(book_at(10_004, 10_006).seq(1)),
    );
    assert!(commands.is_empty(), "nothing is quoted while halted");
    assert_eq!(engine.counters().kills, 1);
}

// Proves resume needs an admin with the second factor: an operator is refused for the
// role, an admin without the factor for the factor; an admin with it moves back to ACTIVE
// (journaled with the actor) and the maker quotes again in the same input; resuming an
// active engine changes nothing.
#[test]
fn resume_needs_an_admin_and_the_second_factor() {
    let mut engine = trading(settings());
    step_admin(
        &mut engine,
        T0 + 4 * MS,
        ops(),
        AdminCommand::Kill { flatten: false },
    );
    confirm_cancels(&mut engine, T0 + 5 * MS);
    let resume = |second_factor| AdminCommand::Resume { second_factor };
    let (decisions, _) = step_admin(&mut engine, T0 + 6 * MS, ops(), resume(true));
    assert_eq!(outcome(&decisions), Some(AdminOutcome::RefusedRole));
    let (decisions, _) = step_admin(&mut engine, T0 + 7 * MS, root(), resume(false));
    assert_eq!(outcome(&decisions), Some(AdminOutcome::RefusedSecondFactor));
    assert_eq!(engine.control().state(), TradingState::Halted);
    // Past the duplicate window: the maker's quotes are the ones it sent before the kill.
    let (decisions, commands) = step_admin(&mut engine, T0 + 300 * MS, root(), resume(true));
    assert_eq!(
        decisions[0],
        Decision::TradingState {
            state: TradingState::Active,
            cause: StateCause::Resume,
            actor: root()
        }
    );
    assert_eq!(
        commands,
        vec![(OrderAction::New, id(3)), (OrderAction::New, id(4))]
    );
    let (decisions, _) = step_admin(&mut engine, T0 + 301 * MS, root(), resume(true));
    assert_eq!(outcome(&decisions), Some(AdminOutcome::NoChange));
    assert_eq!(engine.counters().admin_refused, 2);
}

// Proves the strategy switch: an operator switches it off (its orders are cancelled and it
// quotes nothing more), switching it on takes an admin with the second factor, and the
// cancel-all command cancels every order without changing the state.
#[test]
fn strategy_switch_and_cancel_all() {
    let mut engine = trading(settings());
    let (decisions, commands) =
        step_admin(&mut engine, T0 + 4 * MS, ops(), AdminCommand::CancelAll);
    assert_eq!(outcome(&decisions), Some(AdminOutcome::Applied));
    assert!(commands.contains(&(OrderAction::Cancel, id(1))));
    assert!(commands.contains(&(OrderAction::Cancel, id(2))));
    assert_eq!(engine.control().state(), TradingState::Active);

    let off = AdminCommand::Strategy {
        enabled: false,
        second_factor: false,
    };
    let (decisions, _) = step_admin(&mut engine, T0 + 5 * MS, ops(), off);
    assert!(decisions.contains(&Decision::StrategySwitched {
        enabled: false,
        cause: StateCause::Operator,
        actor: ops()
    }));
    confirm_cancels(&mut engine, T0 + 6 * MS);
    let (_, commands) = step(
        &mut engine,
        T0 + 7 * MS,
        Some(book_at(10_004, 10_006).seq(1)),
    );
    assert!(commands.is_empty(), "the strategy is off");
    let on = |second_factor| AdminCommand::Strategy {
        enabled: true,
        second_factor,
    };
    let (decisions, _) = step_admin(&mut engine, T0 + 8 * MS, ops(), on(true));
    assert_eq!(outcome(&decisions), Some(AdminOutcome::RefusedRole));
    let (decisions, _) = step_admin(&mut engine, T0 + 9 * MS, root(), on(false));
    assert_eq!(outcome(&decisions), Some(AdminOutcome::RefusedSecondFactor));
    let (decisions, commands) = step_admin(&mut engine, T0 + 300 * MS, root(), on(true));
    assert_eq!(outcome(&decisions), Some(AdminOutcome::Applied));
    assert_eq!(commands.len(), 2, "quoting again: {commands:?}");
}

// Proves limits change at runtime: an admin lowers one without the second factor
// (journaled old and new), raising it back needs the factor, and a value out of range, an
// unknown instrument or a non-admin is refused; the changed limit binds the next order.
#[test]
fn limits_change_at_runtime() {
    let mut engine = trading(settings());
    let set = |limit, instrument, value, second_factor| AdminCommand::SetLimit {
        limit,
        instrument,
        value,
        second_factor,
    };
    // max_position 0.03 = 3_000_000 lots; lower it to 0.005 (below one order of 0.01).
    let (decisions, _) = step_admin(
        &mut engine,
        T0 + 4 * MS,
        root(),
        set(LimitId::MaxPosition, 0, 500_000, false),
    );
    assert!(decisions.contains(&Decision::LimitChanged {
        limit: LimitId::MaxPosition,
        instrument: 0,
        old: 3_000_000,
        new: 500_000
    }));
    for (who, command, expected) in [
        (
            root(),
            set(LimitId::MaxPosition, 0, 3_000_000, false),
            AdminOutcome::RefusedSecondFactor,
        ),
        (
            ops(),
            set(LimitId::MaxPosition, 0, 100, false),
            AdminOutcome::RefusedRole,
        ),
        (
            root(),
            set(LimitId::MaxPosition, 7, 100, false),
            AdminOutcome::RefusedValue,
        ),
        (
            root(),
            set(LimitId::MaxPosition, u16::MAX, 100, false),
            AdminOutcome::RefusedValue,
        ),
        (
            root(),
            set(LimitId::PriceCollarBps, u16::MAX, 0, false),
            AdminOutcome::RefusedValue,
        ),
        (
            root(),
            set(LimitId::OrdersPerSecond, u16::MAX, 20_000, true),
            AdminOutcome::RefusedValue,
        ),
    ] {
        let (decisions, _) = step_admin(&mut engine, T0 + 5 * MS, who, command);
        assert_eq!(outcome(&decisions), Some(expected), "{command:?}");
    }
    // The maker's next bid breaks the lowered limit.
    step_admin(&mut engine, T0 + 6 * MS, ops(), AdminCommand::CancelAll);
    confirm_cancels(&mut engine, T0 + 7 * MS);
    let (decisions, _) = step(
        &mut engine,
        T0 + 8 * MS,
        Some(book_at(10_010, 10_012).seq(1)),
    );
    assert!(
        decisions.iter().any(|d| matches!(
            d,
            Decision::RiskReject {
                reject: Reject::MaxPosition,
                ..
            }
        )),
        "{decisions:?}"
    );
    let (decisions, _) = step_admin(
        &mut engine,
        T0 + 9 * MS,
        root(),
        set(LimitId::MaxPosition, 0, 3_000_000, true),
    );
    assert_eq!(outcome(&decisions), Some(AdminOutcome::Applied));
    assert_eq!(
        engine.status().instruments[0]
            .unwrap()
            .limits
            .unwrap()
            .position_lots_max,
        3_000_000
    );
}

// Proves the kill switch's flattening: with a long position, a kill with flatten halts,
// cancels, and, once nothing of the instrument is working, sends one reduce-only IOC sell
// of the whole position across the bid; the fill flattens the position and no more orders
// follow.
#[test]
fn kill_with_flatten_closes_the_position() {
    // At 200.00 a flattening sell of 0.01 is worth more than the venue's 1 USD minimum.
    let mut engine = trading_at(settings(), 20_000, 20_002);
    let fill = VenueEvent::Fill {
        id: id(1),
        trade_key: 1,
        price_ticks: 20_000,
        size_lots: 1_000_000,
        liquidity: Liquidity::Maker,
        fee: Money::ZERO,
    };
    step_venue(&mut engine, T0 + 4 * MS, fill);
    assert_eq!(engine.position(BTC).lots, 1_000_000);
    let (_, commands) = step_admin(
        &mut engine,
        T0 + 5 * MS,
        ops(),
        AdminCommand::Kill { flatten: true },
    );
    assert_eq!(
        commands,
        vec![(OrderAction::Cancel, id(2))],
        "the ask; the bid filled"
    );
    let (decisions, commands) = step_venue(
        &mut engine,
        T0 + 6 * MS,
        VenueEvent::Cancelled { id: id(2) },
    );
    assert_eq!(commands, vec![(OrderAction::New, id(3))]);
    let new = decisions
        .iter()
        .find_map(|d| match d {
            Decision::OrderNew {
                request, reason, ..
            } => Some((*request, *reason)),
            _ => None,
        })
        .unwrap();
    assert_eq!(new.0.side, Side::Sell);
    assert_eq!(new.0.size_lots, 1_000_000);
    assert_eq!(new.0.time_in_force, TimeInForce::ImmediateOrCancel);
    assert_eq!(new.0.price_ticks, 19_980, "bid 200.00 less 10 bps");
    assert_eq!(
        new.1,
        Reason::Flatten {
            position_lots: 1_000_000
        }
    );
    step_venue(&mut engine, T0 + 7 * MS, VenueEvent::Accepted { id: id(3) });
    let fill = VenueEvent::Fill {
        id: id(3),
        trade_key: 2,
        price_ticks: 10_000,
        size_lots: 1_000_000,
        liquidity: Liquidity::Taker,
        fee: Money::ZERO,
    };
    step_venue(&mut engine, T0 + 8 * MS, fill);
    assert_eq!(engine.position(BTC).lots, 0);
    let (_, commands) = step(
        &mut engine,
        T0 + 3_000 * MS,
        Some(book_at(20_000, 20_002).seq(1)),
    );
    assert!(commands.is_empty(), "flat and halted: nothing more");
}

// Proves the execution throttle: the Nth fill within the window switches the strategy off
// (journaled with cause execution_throttle and actor risk) and cancels its orders.
#[test]
fn execution_throttle_switches_the_strategy_off() {
    let mut settings = settings();
    settings.risk.fills_in_window_max = 2;
    settings.risk.fills_window_ms = 1_000;
    let mut engine = trading(settings);
    let fill = |trade_key, size_lots| VenueEvent::Fill {
        id: id(1),
        trade_key,
        price_ticks: 10_000,
        size_lots,
        liquidity: Liquidity::Maker,
        fee: Money::ZERO,
    };
    let (decisions, _) = step_venue(&mut engine, T0 + 4 * MS, fill(1, 100));
    assert!(engine.control().strategy_on(), "{decisions:?}");
    let (decisions, commands) = step_venue(&mut engine, T0 + 5 * MS, fill(2, 100));
    assert!(decisions.contains(&Decision::StrategySwitched {
        enabled: false,
        cause: StateCause::ExecutionThrottle,
        actor: Actor::risk()
    }));
    assert!(commands.contains(&(OrderAction::Cancel, id(1))));
    assert!(commands.contains(&(OrderAction::Cancel, id(2))));
}

// Proves REDUCING (a drawdown set to reduce): entering it cancels the orders that could grow
// the position (the bid, when long) and keeps the one that reduces it (the ask).
#[test]
fn reducing_cancels_what_could_grow_the_position() {
    let mut settings = settings();
    settings.risk.max_drawdown = "0.001".into();
    settings.risk.drawdown_action = LossAction::Reducing;
    let mut engine = trading(settings);
    let fill = VenueEvent::Fill {
        id: id(1),
        trade_key: 1,
        price_ticks: 10_000,
        size_lots: 500_000,
        liquidity: Liquidity::Maker,
        fee: Money::ZERO,
    };
    step_venue(&mut engine, T0 + 4 * MS, fill);
    // Long 0.005 from 100.00; a mid of 99.79 loses 0.00105 (> 0.001) from the high of 0.
    let (decisions, commands) = step(&mut engine, T0 + 5 * MS, Some(book_at(9_978, 9_980).seq(1)));
    assert!(
        decisions.contains(&Decision::TradingState {
            state: TradingState::Reducing,
            cause: StateCause::Drawdown,
            actor: Actor::risk()
        }),
        "{decisions:?}"
    );
    let by_control: Vec<ClientOrderId> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::CancelRequest {
                id,
                reason: Reason::Control { cause },
                ..
            } if *cause == StateCause::Drawdown => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(by_control, vec![id(1)], "only the bid: {decisions:?}");
    assert!(
        commands.contains(&(OrderAction::Cancel, id(1))),
        "{commands:?}"
    );
}

fn is_daily_loss_halt(decision: &Decision) -> bool {
    matches!(
        decision,
        Decision::TradingState {
            state: TradingState::Halted,
            cause: StateCause::DailyLoss,
            ..
        }
    )
}

proptest! {
    // Proves the daily loss limit acts at the input that breaches it: along any path of the
    // mid, with a long position, the state stays ACTIVE while the loss (computed here from
    // the fill price and the mid) is below the limit and is HALTED, with no order left
    // working, at the first book update where it reaches it.
    #[test]
    fn daily_loss_acts_at_the_breaching_input(
        moves in proptest::collection::vec(-40_i64..40, 1..40),
        limit_e4 in 50_i64..600,
    ) {
        // Money in 1e-4 USD: a tick (0.01) on 0.01 BTC is one unit.
        let mut settings = settings();
        settings.risk.daily_loss_limit = format!("{}.{:04}", limit_e4 / 10_000, limit_e4 % 10_000);
        settings.risk.price_collar_bps = 5_000;
        settings.risk.stale_book_ms = 3_600_000;
        let mut engine = trading(settings);
        let fill = VenueEvent::Fill {
            id: id(1),
            trade_key: 1,
            price_ticks: 10_001,
            size_lots: 1_000_000, // 0.01 BTC
            liquidity: Liquidity::Maker,
            fee: Money::ZERO,
        };
        step_venue(&mut engine, T0 + 4 * MS, fill);
        prop_assert_eq!(engine.control().state(), TradingState::Active, "flat P&L at the fill");
        let mut bid = 10_000_i64;
        let mut halted_at = None;
        for (n, step_ticks) in moves.iter().enumerate() {
            bid = (bid + step_ticks).max(100);
            let (decisions, _) = step(
                &mut engine,
                T0 + (5 + n as u64) * MS,
                Some(book_at(bid, bid + 2).seq(1 + n as u64)),
            );
            // P&L in 1e-4 USD: 0.01 BTC × (mid − 100.01), where
            // mid − fill in ticks = (bid + 1) − 10_001 = bid − 10_000.
            let pnl_e4 = bid - 10_000;
            let breached = -pnl_e4 >= limit_e4;
            let halt = decisions.iter().any(is_daily_loss_halt);
            if halted_at.is_none() {
                prop_assert_eq!(halt, breached, "input {}: bid {}", n, bid);
                if halt {
                    halted_at = Some(n);
                    let working = engine.orders().live().iter().filter(|o| !o.cancel_pending).count();
                    prop_assert_eq!(working, 0, "the halt leaves no order working");
                }
            } else {
                prop_assert!(!halt, "halted once");
            }
        }
        prop_assert_eq!(engine.control().state() == TradingState::Halted, halted_at.is_some());
    }
}
