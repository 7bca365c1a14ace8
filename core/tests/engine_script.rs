//! A scripted, event-by-event run of the engine that asserts on every output: decisions,
//! order commands, positions and P&L (in the manner of barter's `test_engine_process_*`).
#![allow(clippy::unwrap_used)] // test setup: a failed unwrap is a failed test
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

mod support;

use support::*;

// Proves the whole decision chain event by event: instrument rules, snapshot → quotes,
// latency → acceptance, a print at the bid consumes the queue and fills us (exact position,
// fee and P&L), a sequence gap makes the book stale and stops quoting, a stale book refuses
// nothing because nothing is attempted, and a new snapshot restores quoting.
#[test]
fn scripted_session() {
    let mut engine = Engine::new(settings(), true).unwrap();
    let t0 = 1_000_000_000_000;

    // 1. Products: the instrument becomes tradable.
    let (decisions, commands) = step(&mut engine, t0, Some(Frame::default().instruments()));
    assert_eq!(
        decisions,
        vec![Decision::InstrumentReady { instrument: BTC }]
    );
    assert!(commands.is_empty());

    // 2. Snapshot 100.00 x 0.5 / 100.02 x 0.5: micro 100.01, zero spread → bid ⌊100.01⌋ =
    //    100.01 and ask ⌈100.01⌉ = 100.01, lifted one tick above our own bid to 100.02.
    let snapshot = Frame::default().seq(0).book(
        true,
        &[
            (Side::Buy, 10_000, 50_000_000),
            (Side::Sell, 10_002, 50_000_000),
        ],
    );
    let (decisions, commands) = step(&mut engine, t0 + MS, Some(snapshot));
    let reason = Reason::Quote {
        micro_ticks_e4: 100_010_000,
        skew_ticks_e4: 0,
    };
    assert_eq!(
        decisions,
        vec![
            Decision::BookSynced { instrument: BTC },
            Decision::OrderNew {
                id: id(1),
                request: quote(Side::Buy, 10_001),
                reason
            },
            Decision::OrderNew {
                id: id(2),
                request: quote(Side::Sell, 10_002),
                reason
            },
        ]
    );
    assert_eq!(
        commands,
        vec![(OrderAction::New, id(1)), (OrderAction::New, id(2))]
    );

    // 3. 1 ms later (the simulated latency) both arrive: the bid improves the book (nothing
    //    ahead of it), the ask joins 0.5 at 100.02.
    let (decisions, commands) = step(&mut engine, t0 + 2 * MS, None);
    assert_eq!(
        decisions,
        vec![
            Decision::OrderAccepted { id: id(1) },
            Decision::OrderAccepted { id: id(2) }
        ]
    );
    assert!(commands.is_empty());
    assert_eq!(engine.orders().live_count(), 2);

    // 4. A sell aggressor prints 0.004 at our bid (maker side BUY): we are first in the queue
    //    at 100.01, so 0.004 of our 0.01 fills at the maker fee (10 bps).
    let (decisions, _) = step(
        &mut engine,
        t0 + 3 * MS,
        Some(Frame::default().seq(1).trade(10_001, 400_000, Side::Buy)),
    );
    let fee = spec().notional(10_001, 400_000).fee(1_000);
    assert_eq!(fee, Money::parse("0.00040004").unwrap());
    assert_eq!(
        decisions,
        vec![Decision::Fill {
            id: id(1),
            instrument: BTC,
            side: Side::Buy,
            price_ticks: 10_001,
            size_lots: 400_000,
            liquidity: Liquidity::Maker,
            fee
        }]
    );
    let position = *engine.position(BTC);
    assert_eq!(position.lots, 400_000);
    assert_eq!(position.fees, fee);
    assert_eq!(position.cost, spec().notional(10_001, 400_000));

    // 5. Frame 3 arrives where 2 was expected: a gap. The book goes stale; no strategy runs.
    let update = Frame::default()
        .seq(3)
        .book(false, &[(Side::Buy, 9_990, 1)]);
    let (decisions, commands) = step(&mut engine, t0 + 4 * MS, Some(update));
    assert_eq!(
        decisions,
        vec![
            Decision::FeedGap {
                conn_id: 1,
                expected: 2,
                got: 3
            },
            Decision::BookStale {
                instrument: BTC,
                cause: StaleCause::SequenceGap
            },
        ]
    );
    assert!(commands.is_empty());
    let (decisions, _) = step(
        &mut engine,
        t0 + 5 * MS,
        Some(Frame::default().seq(4).trade(10_001, 1, Side::Sell)),
    );
    assert!(
        decisions.is_empty(),
        "a stale book makes no decisions: {decisions:?}"
    );

    // 6. The connection drops: nothing new (already stale). A fresh snapshot moves the
    //    market up 0.10; both quotes are 10 ticks off and get cancelled for requotes.
    engine.begin_input(t0 + 6 * MS);
    engine.on_feed(1, FeedControl::Resubscribed);
    assert!(engine.decisions().is_empty());
    engine.clear_outputs();
    let snapshot = Frame::default().seq(5).book(
        true,
        &[
            (Side::Buy, 10_010, 50_000_000),
            (Side::Sell, 10_012, 50_000_000),
        ],
    );
    let (decisions, commands) = step(&mut engine, t0 + 7 * MS, Some(snapshot));
    assert_eq!(
        decisions,
        vec![
            Decision::BookSynced { instrument: BTC },
            Decision::CancelRequest {
                id: id(1),
                instrument: BTC,
                reason: Reason::Requote { drift_ticks: -10 }
            },
            Decision::CancelRequest {
                id: id(2),
                instrument: BTC,
                reason: Reason::Requote { drift_ticks: -10 }
            },
        ]
    );
    assert_eq!(
        commands,
        vec![(OrderAction::Cancel, id(1)), (OrderAction::Cancel, id(2))]
    );

    // 7. Cancels land after the latency; with both sides empty the strategy quotes again,
    //    with the next client order ids.
    let (decisions, commands) = step(&mut engine, t0 + 8 * MS, None);
    let reason = Reason::Quote {
        micro_ticks_e4: 100_110_000,
        skew_ticks_e4: 0,
    };
    assert_eq!(
        decisions,
        vec![
            Decision::OrderCancelled { id: id(1) },
            Decision::OrderCancelled { id: id(2) },
            Decision::OrderNew {
                id: id(3),
                request: quote(Side::Buy, 10_011),
                reason
            },
            Decision::OrderNew {
                id: id(4),
                request: quote(Side::Sell, 10_012),
                reason
            },
        ]
    );
    assert_eq!(commands.len(), 2);

    // 8. 1.5 s without a book update, a sell prints through our bid (maker side BUY at
    //    100.10 < 100.11): the bid fills in full. The strategy wants a new bid (position
    //    0.014 + 0.01 is within the 0.05 cap) but the book is older than stale_book_ms, so
    //    risk refuses it. The ask, resting at the wanted price, is left alone.
    let trade = Frame::default().seq(6).trade(10_010, 1, Side::Buy);
    let (decisions, commands) = step(&mut engine, t0 + 8 * MS + 1_500 * MS, Some(trade));
    let fee = spec().notional(10_011, 1_000_000).fee(1_000);
    assert_eq!(
        decisions,
        vec![
            Decision::OrderAccepted { id: id(3) },
            Decision::OrderAccepted { id: id(4) },
            Decision::Fill {
                id: id(3),
                instrument: BTC,
                side: Side::Buy,
                price_ticks: 10_011,
                size_lots: 1_000_000,
                liquidity: Liquidity::Maker,
                fee
            },
            Decision::RiskReject {
                request: quote(Side::Buy, 10_011),
                reject: Reject::BookStale,
                reason
            },
        ]
    );
    assert!(commands.is_empty(), "nothing leaves for a refused order");
    assert_eq!(engine.position(BTC).lots, 1_400_000);
    assert_eq!(engine.risk().rejects()[Reject::BookStale as usize], 1);
    assert_eq!(engine.counters().gaps, 1);
    assert_eq!(engine.counters().fills, 2);
}

// Proves the state digest is equal for two engines fed the same inputs and changes with any
// difference in state: a book level's size, a timer tick (event time), an order.
#[test]
fn digest_tracks_the_whole_state() {
    let run = |extra: Option<Frame>| {
        let mut engine = Engine::new(settings(), true).unwrap();
        let t0 = 1_000_000_000_000;
        step(&mut engine, t0, Some(Frame::default().instruments()));
        let snapshot = Frame::default().seq(0).book(
            true,
            &[
                (Side::Buy, 10_000, 50_000_000),
                (Side::Sell, 10_002, 50_000_000),
            ],
        );
        step(&mut engine, t0 + MS, Some(snapshot));
        if let Some(frame) = extra {
            step(&mut engine, t0 + 2 * MS, Some(frame));
        }
        engine.digest()
    };
    assert_eq!(run(None), run(None), "same inputs, same digest");
    let deep_level = |size| {
        Frame::default()
            .seq(1)
            .book(false, &[(Side::Buy, 9_000, size)])
    };
    assert_eq!(run(Some(deep_level(5))), run(Some(deep_level(5))));
    assert_ne!(
        run(Some(deep_level(5))),
        run(Some(deep_level(6))),
        "one level's size differs"
    );
    assert_ne!(run(None), run(Some(deep_level(5))));
    let mut a = Engine::new(settings(), true).unwrap();
    let b = Engine::new(settings(), true).unwrap();
    step(&mut a, 5, None);
    assert_ne!(
        a.digest(),
        b.digest(),
        "a timer moves event time and the timer counter"
    );
}

// Proves live mode event by event: nothing is quoted while the startup gate is closed;
// opening it quotes at once; venue reports drive the orders (a repeated accept or a fill
// reported twice with the same trade changes nothing); an unknown create stays live; the
// dead-man gate cancels every open order and stops quoting; a fill that arrives after its
// order's cancel still moves the position; a reconciled "never sent" rejects the unknown
// order; an unreadable venue input is counted.
#[test]
fn scripted_live_session() {
    let mut engine = Engine::new(settings(), false).unwrap();
    let t0 = 1_000_000_000_000;
    step(&mut engine, t0, Some(Frame::default().instruments()));
    assert_eq!(engine.gate_closed(), Some(GateCause::Startup));

    // 1. A snapshot while the gate is closed: the book syncs, nothing is quoted.
    let snapshot = Frame::default().seq(0).book(
        true,
        &[
            (Side::Buy, 10_000, 50_000_000),
            (Side::Sell, 10_002, 50_000_000),
        ],
    );
    let (decisions, commands) = step(&mut engine, t0 + MS, Some(snapshot));
    assert_eq!(decisions, vec![Decision::BookSynced { instrument: BTC }]);
    assert!(commands.is_empty());

    // 2. Reconciliation opens the gate: the strategy quotes in the same input.
    let open = VenueEvent::Gate {
        open: true,
        cancel_all: false,
        cause: GateCause::Reconciled,
    };
    let (decisions, commands) = step_venue(&mut engine, t0 + 2 * MS, open);
    assert_eq!(
        decisions[0],
        Decision::TradingGate {
            open: true,
            cause: GateCause::Reconciled
        }
    );
    assert_eq!(
        commands,
        vec![(OrderAction::New, id(1)), (OrderAction::New, id(2))]
    );
    assert_eq!(engine.gate_closed(), None);

    // 3. The venue accepts the bid; the same accept again (user channel after the REST
    //    answer) is a duplicate. No simulated venue: time alone accepts nothing.
    let (decisions, _) = step_venue(&mut engine, t0 + 3 * MS, VenueEvent::Accepted { id: id(1) });
    assert_eq!(decisions, vec![Decision::OrderAccepted { id: id(1) }]);
    let (decisions, _) = step_venue(&mut engine, t0 + 3 * MS, VenueEvent::Accepted { id: id(1) });
    assert!(decisions.is_empty());
    let (decisions, _) = step(&mut engine, t0 + 10 * MS, None);
    assert!(decisions.is_empty(), "live mode has no simulated fills");

    // 4. A fill, then the same trade again (a reconnect's replay): applied once.
    let fill = VenueEvent::Fill {
        id: id(1),
        trade_key: 7,
        price_ticks: 10_001,
        size_lots: 400_000,
        liquidity: Liquidity::Maker,
        fee: Money::parse("0.0004").unwrap(),
    };
    let (decisions, _) = step_venue(&mut engine, t0 + 11 * MS, fill);
    assert!(matches!(
        decisions[0],
        Decision::Fill {
            size_lots: 400_000,
            ..
        }
    ));
    let (decisions, commands) = step_venue(&mut engine, t0 + 12 * MS, fill);
    assert!(decisions.is_empty() && commands.is_empty());
    assert_eq!(engine.position(BTC).lots, 400_000);
    assert_eq!(engine.counters().duplicate_reports, 2);

    // 5. The ask's create got no answer: it stays live, flagged unknown.
    let (decisions, _) = step_venue(&mut engine, t0 + 13 * MS, VenueEvent::Unknown { id: id(2) });
    assert_eq!(decisions, vec![Decision::OrderUnknown { id: id(2) }]);
    assert!(engine.orders().get(id(2)).is_some());

    // 6. Dead-man switch: the gate closes with cancel-all; both live orders are cancelled.
    let halt = VenueEvent::Gate {
        open: false,
        cancel_all: true,
        cause: GateCause::UserChannelSilent,
    };
    let (decisions, commands) = step_venue(&mut engine, t0 + 14 * MS, halt);
    let cancelled: Vec<_> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::CancelRequest {
                id,
                reason: Reason::Halt { cause },
                ..
            } => Some((*id, *cause)),
            _ => None,
        })
        .collect();
    let silent = GateCause::UserChannelSilent;
    assert_eq!(cancelled, vec![(id(1), silent), (id(2), silent)]);
    assert_eq!(
        commands,
        vec![(OrderAction::Cancel, id(1)), (OrderAction::Cancel, id(2))]
    );

    // 7. While closed, market data quotes nothing.
    let update = Frame::default()
        .seq(1)
        .book(false, &[(Side::Buy, 10_000, 10_000_000)]);
    let (_, commands) = step(&mut engine, t0 + 15 * MS, Some(update));
    assert!(commands.is_empty());

    // 8. The bid's cancel lands, then a fill that happened before it: the position moves.
    step_venue(
        &mut engine,
        t0 + 16 * MS,
        VenueEvent::Cancelled { id: id(1) },
    );
    assert!(engine.orders().get(id(1)).is_none());
    let late = VenueEvent::Fill {
        id: id(1),
        trade_key: 8,
        price_ticks: 10_001,
        size_lots: 100_000,
        liquidity: Liquidity::Maker,
        fee: Money::ZERO,
    };
    let (decisions, _) = step_venue(&mut engine, t0 + 17 * MS, late);
    assert!(matches!(
        decisions[0],
        Decision::Fill {
            size_lots: 100_000,
            ..
        }
    ));
    assert_eq!(engine.position(BTC).lots, 500_000);
    assert_eq!(engine.counters().late_fills, 1);

    // 9. Reconciliation: the unknown ask never reached the venue.
    let never = VenueEvent::Rejected {
        id: id(2),
        reason: VenueReject::NotSent,
    };
    let (decisions, _) = step_venue(&mut engine, t0 + 18 * MS, never);
    assert_eq!(
        decisions,
        vec![Decision::OrderRejected {
            id: id(2),
            reason: VenueReject::NotSent
        }]
    );
    assert_eq!(engine.orders().live_count(), 0);

    // 10. An unreadable venue payload is counted, not applied.
    engine.begin_input(t0 + 19 * MS);
    engine.on_bad_venue_input();
    assert_eq!(engine.counters().venue_inputs_bad, 1);
}

// Proves that with a live venue a requote is one edit, not a cancel and a new order: the
// resting quote keeps its client order id, the new price passes risk, the order's price
// changes only when the venue applies the edit, and a refused edit leaves the old price.
#[test]
fn live_requotes_are_edits() {
    let mut engine = Engine::new(settings(), false).unwrap();
    let t0 = 1_000_000_000_000;
    step(&mut engine, t0, Some(Frame::default().instruments()));
    let snapshot = Frame::default().seq(0).book(
        true,
        &[
            (Side::Buy, 10_000, 50_000_000),
            (Side::Sell, 10_002, 50_000_000),
        ],
    );
    step(&mut engine, t0 + MS, Some(snapshot));
    let open = VenueEvent::Gate {
        open: true,
        cancel_all: false,
        cause: GateCause::Reconciled,
    };
    let (_, commands) = step_venue(&mut engine, t0 + 2 * MS, open);
    assert_eq!(commands.len(), 2);
    for counter in [1, 2] {
        step_venue(
            &mut engine,
            t0 + 3 * MS,
            VenueEvent::Accepted { id: id(counter) },
        );
    }

    // The market moves 10 ticks up: both quotes drift past requote_ticks (5).
    let moved = Frame::default().seq(1).book(
        false,
        &[
            (Side::Buy, 10_000, 0),
            (Side::Sell, 10_002, 0),
            (Side::Buy, 10_010, 50_000_000),
            (Side::Sell, 10_012, 50_000_000),
        ],
    );
    let (decisions, commands) = step(&mut engine, t0 + 4 * MS, Some(moved));
    assert_eq!(
        commands,
        vec![(OrderAction::Edit, id(1)), (OrderAction::Edit, id(2))],
        "{decisions:?}"
    );
    assert!(
        !decisions
            .iter()
            .any(|d| matches!(d, Decision::OrderNew { .. }))
    );
    let edited: Vec<(ClientOrderId, i64)> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::EditRequest {
                id, price_ticks, ..
            } => Some((*id, *price_ticks)),
            _ => None,
        })
        .collect();
    assert_eq!(edited.len(), 2);
    assert!(edited.iter().all(|(_, price)| *price >= 10_010));
    assert_eq!(
        engine.orders().get(id(1)).unwrap().request.price_ticks,
        10_001
    );

    // The venue applies the bid's edit and refuses the ask's.
    let (decisions, _) = step_venue(&mut engine, t0 + 5 * MS, VenueEvent::Edited { id: id(1) });
    assert_eq!(
        decisions[0],
        Decision::EditDone {
            id: id(1),
            applied: true,
            price_ticks: edited[0].1
        }
    );
    assert_eq!(
        engine.orders().get(id(1)).unwrap().request.price_ticks,
        edited[0].1
    );
    let (decisions, _) = step_venue(
        &mut engine,
        t0 + 6 * MS,
        VenueEvent::EditRejected { id: id(2) },
    );
    assert_eq!(
        decisions[0],
        Decision::EditDone {
            id: id(2),
            applied: false,
            price_ticks: 10_002
        }
    );
    assert_eq!(engine.counters().edits, 2);
}

// Proves adoption in the engine: an order someone else placed is taken over (while the gate
// is closed) under the id reconciliation gave it, journaled `OrderAdopted`; the strategy
// quotes beside it without touching it once the gate opens; its fills move the position
// like any order's; a halt cancels it with the daemon's own orders; and an adoption under
// an id the engine already assigned is refused and counted.
#[test]
fn adopted_orders_count_fill_and_are_halted() {
    let mut engine = Engine::new(settings(), false).unwrap();
    let t0 = 1_000_000_000_000;
    step(&mut engine, t0, Some(Frame::default().instruments()));
    let snapshot = Frame::default().seq(0).book(
        true,
        &[
            (Side::Buy, 10_000, 50_000_000),
            (Side::Sell, 10_002, 50_000_000),
        ],
    );
    step(&mut engine, t0 + MS, Some(snapshot));
    let request = OrderRequest {
        instrument: BTC,
        side: Side::Buy,
        price_ticks: 9_000,
        size_lots: 300_000,
        time_in_force: TimeInForce::GoodTillCancel,
        post_only: true,
    };
    let adopt = VenueEvent::Adopted {
        id: id(1),
        request,
        venue_ref: 0xABCD,
    };
    let (decisions, commands) = step_venue(&mut engine, t0 + 2 * MS, adopt);
    assert_eq!(
        decisions,
        vec![Decision::OrderAdopted {
            id: id(1),
            request,
            venue_ref: 0xABCD
        }]
    );
    assert!(commands.is_empty(), "the gate is closed: nothing is sent");
    assert!(engine.orders().get(id(1)).is_some_and(|o| o.adopted));
    assert_eq!(engine.orders().next_counter(), 2);

    // The same id again: refused, counted, nothing changes.
    let errors = engine.counters().oms_errors;
    let (decisions, _) = step_venue(&mut engine, t0 + 3 * MS, adopt);
    assert!(decisions.is_empty());
    assert_eq!(engine.counters().oms_errors, errors + 1);

    // The gate opens: the maker quotes its own bid and ask under the next ids and leaves
    // the adopted bid (far below the market) alone.
    let open = VenueEvent::Gate {
        open: true,
        cancel_all: false,
        cause: GateCause::Reconciled,
    };
    let (_, commands) = step_venue(&mut engine, t0 + 4 * MS, open);
    assert_eq!(
        commands,
        vec![(OrderAction::New, id(2)), (OrderAction::New, id(3))]
    );

    // A fill of the adopted order moves the position.
    let fill = VenueEvent::Fill {
        id: id(1),
        trade_key: 1,
        price_ticks: 9_000,
        size_lots: 100_000,
        liquidity: Liquidity::Maker,
        fee: Money::ZERO,
    };
    step_venue(&mut engine, t0 + 5 * MS, fill);
    assert_eq!(engine.position(BTC).lots, 100_000);

    // A halt cancels every live order, the adopted one included.
    let halt = VenueEvent::Gate {
        open: false,
        cancel_all: true,
        cause: GateCause::Shutdown,
    };
    let (_, commands) = step_venue(&mut engine, t0 + 6 * MS, halt);
    assert_eq!(
        commands,
        vec![
            (OrderAction::Cancel, id(1)),
            (OrderAction::Cancel, id(2)),
            (OrderAction::Cancel, id(3))
        ]
    );
}
