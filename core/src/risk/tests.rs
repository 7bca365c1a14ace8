use super::*;
use crate::event::LevelChange;
use crate::instrument::tests::btc_usd;
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::request::TimeInForce;
use proptest::prelude::*;

const NOW: u64 = 10 * SECOND_NS;
const BID: i64 = 10_000; // 100.00
const ASK: i64 = 10_002; // 100.02, mid 100.01
/// A thin book's ask: a 3 % spread.
const THIN_ASK: i64 = 10_300;
const MS: u64 = 1_000_000;

fn book(ask: i64) -> OrderBook {
    let mut book = OrderBook::with_capacity(16);
    let levels = [
        LevelChange {
            side: Side::Buy,
            price_ticks: BID,
            size_lots: 100,
        },
        LevelChange {
            side: Side::Sell,
            price_ticks: ask,
            size_lots: 100,
        },
    ];
    book.apply_snapshot(&levels, NOW - 1).expect("snapshot");
    book
}

fn usd(text: &str) -> Money {
    Money::parse(text).expect("money")
}

fn limits() -> InstrumentLimits {
    InstrumentLimits {
        order_size_lots_max: 10_000_000, // 0.1
        order_notional_max: usd("5"),
        position_lots_max: 20_000_000, // 0.2
        orders_open_max: 2,
    }
}

fn global() -> GlobalLimits {
    GlobalLimits {
        price_collar_bps: 100,
        thin_book_spread_bps: 100,
        orders_open_max: 3,
        orders_per_second_max: 2,
        cancels_per_second_max: 2,
        messages_per_second_max: 3,
        duplicate_window_ns: 500 * MS,
        gross_exposure_max: usd("30"),
        book_age_ns_max: SECOND_NS,
        fills_in_window_max: 0,
        fills_window_ns: SECOND_NS,
        daily_loss_max: Money::ZERO,
        drawdown_max: Money::ZERO,
        daily_loss_halts: true,
        drawdown_halts: false,
        flatten_slippage_bps: 10,
    }
}

fn order(side: Side, price_ticks: i64, size_lots: i64) -> OrderRequest {
    OrderRequest {
        instrument: InstrumentId(0),
        side,
        price_ticks,
        size_lots,
        time_in_force: TimeInForce::GoodTillCancel,
        post_only: true,
    }
}

struct World {
    spec: InstrumentSpec,
    limits: InstrumentLimits,
    book: OrderBook,
    last_trade_ticks: Option<i64>,
    state: TradingState,
    purpose: Purpose,
    position_lots: i64,
    open_buy_lots: i64,
    open_sell_lots: i64,
    orders_open: usize,
    instrument_orders_open: usize,
    exposure_others: Money,
    now_ns: u64,
}

impl World {
    fn new() -> Self {
        Self {
            spec: btc_usd(),
            limits: limits(),
            book: book(ASK),
            last_trade_ticks: None,
            state: TradingState::Active,
            purpose: Purpose::Strategy,
            position_lots: 0,
            open_buy_lots: 0,
            open_sell_lots: 0,
            orders_open: 0,
            instrument_orders_open: 0,
            exposure_others: Money::ZERO,
            now_ns: NOW,
        }
    }

    fn check(&self, risk: &mut RiskEngine, request: &OrderRequest) -> Result<RiskApproved, Reject> {
        let ctx = RiskContext {
            now_ns: self.now_ns,
            state: self.state,
            purpose: self.purpose,
            spec: &self.spec,
            limits: &self.limits,
            book: &self.book,
            last_trade_ticks: self.last_trade_ticks,
            position_lots: self.position_lots,
            open_buy_lots: self.open_buy_lots,
            open_sell_lots: self.open_sell_lots,
            orders_open: self.orders_open,
            instrument_orders_open: self.instrument_orders_open,
            exposure_others: self.exposure_others,
        };
        risk.check(request, &ctx)
    }
}

type Setup = fn(&mut World);

/// `pass` (in its world) must be approved; `fail` (in its world) must be refused for
/// exactly `reason`, and counted.
fn boundary(reason: Reject, pass: (Setup, OrderRequest), fail: (Setup, OrderRequest)) {
    let mut world = World::new();
    (pass.0)(&mut world);
    let mut risk = RiskEngine::new(global());
    assert_eq!(
        world.check(&mut risk, &pass.1).map(|_| ()),
        Ok(()),
        "{reason:?}: within limits must pass"
    );
    let mut world = World::new();
    (fail.0)(&mut world);
    let mut risk = RiskEngine::new(global());
    assert_eq!(world.check(&mut risk, &fail.1).map(|_| ()), Err(reason));
    assert_eq!(risk.rejects()[reason as usize], 1, "{reason:?} is counted");
    assert_eq!(risk.rejects().iter().sum::<u64>(), 1);
}

fn none(_: &mut World) {}

// Proves the journal codes stay what they were and every reason reads back from its code.
#[test]
fn reject_codes_are_stable() {
    assert_eq!(Reject::OrderRate as u8, 10);
    assert_eq!(Reject::BookStale as u8, 3);
    for reject in Reject::ALL {
        assert_eq!(Reject::from_u8(reject as u8), Some(reject));
    }
    assert_eq!(Reject::from_u8(Reject::COUNT as u8), None);
    assert_eq!(
        Reject::ALL[0],
        Reject::TradingHalted,
        "the state is checked first"
    );
}

// Proves each limit refuses the order that breaks it and passes the one that does not.
#[test]
fn each_limit_has_a_boundary() {
    let ok = order(Side::Buy, BID, 1_000_000); // 0.01 @ 100.00 = 1 USD, the venue minimum
    boundary(
        Reject::TradingHalted,
        (|w| w.state = TradingState::Active, ok),
        (|w| w.state = TradingState::Halted, ok),
    );
    let long: Setup = |w| {
        w.position_lots = 19_000_000;
        w.state = TradingState::Reducing;
    };
    boundary(
        Reject::ReduceOnly,
        (long, order(Side::Sell, ASK, 1_000_000)),
        (long, ok),
    );
    boundary(
        Reject::VenueTradingDisabled,
        (none, ok),
        (|w| w.spec.status.trading_disabled = true, ok),
    );
    boundary(
        Reject::VenueCancelOnly,
        (none, ok),
        (|w| w.spec.status.cancel_only = true, ok),
    );
    let taker = OrderRequest {
        post_only: false,
        ..ok
    };
    boundary(
        Reject::VenuePostOnly,
        (|w| w.spec.status.post_only = true, ok),
        (|w| w.spec.status.post_only = true, taker),
    );
    boundary(
        Reject::BookStale,
        (|w| w.now_ns = NOW - 1 + SECOND_NS, ok),
        (|w| w.now_ns = NOW + SECOND_NS, ok),
    );
    boundary(
        Reject::BookStale,
        (none, ok),
        (
            |w| w.book.mark_stale(crate::book::StaleCause::SequenceGap),
            ok,
        ),
    );
    let crossed = |w: &mut World| {
        let level = LevelChange {
            side: Side::Buy,
            price_ticks: ASK,
            size_lots: 1,
        };
        w.book.apply_update(&[level], NOW).expect("update");
    };
    boundary(Reject::BookStale, (none, ok), (crossed, ok));
    boundary(
        Reject::VenueSizeLimits,
        (none, ok),
        (none, order(Side::Buy, BID, 999_999)),
    );
    boundary(
        Reject::VenueSizeLimits,
        (none, ok),
        (none, order(Side::Buy, 0, 1_000_000)),
    );
    let roomy: Setup = |w| w.limits.order_notional_max = usd("1000000");
    boundary(
        Reject::MaxOrderSize,
        (roomy, order(Side::Buy, BID, 10_000_000)),
        (roomy, order(Side::Buy, BID, 10_000_001)),
    );
    boundary(
        Reject::MaxOrderNotional,
        (none, order(Side::Buy, BID, 5_000_000)),
        (none, order(Side::Buy, BID, 5_000_001)),
    );
    boundary(
        Reject::NoReferencePrice,
        (
            |w| {
                w.book = book(THIN_ASK);
                w.last_trade_ticks = Some(BID + 1);
            },
            ok,
        ),
        (
            |w| {
                w.book = book(THIN_ASK);
                w.last_trade_ticks = None;
                w.book
                    .apply_update(
                        &[LevelChange {
                            side: Side::Sell,
                            price_ticks: THIN_ASK,
                            size_lots: 0,
                        }],
                        NOW,
                    )
                    .expect("update");
            },
            ok,
        ),
    );
    // Collar 100 bps of mid 100.01 = 1.0001: 99.01 is inside, 99.00 outside; same above.
    boundary(
        Reject::PriceCollar,
        (none, order(Side::Buy, 9_901, 2_000_000)),
        (none, order(Side::Buy, 9_900, 2_000_000)),
    );
    boundary(
        Reject::PriceCollar,
        (none, order(Side::Sell, 10_101, 2_000_000)),
        (none, order(Side::Sell, 10_102, 2_000_000)),
    );
    let long: Setup = |w| w.position_lots = 19_000_000;
    boundary(
        Reject::MaxPosition,
        (long, ok),
        (long, order(Side::Buy, BID, 1_000_001)),
    );
    let short: Setup = |w| w.position_lots = -19_000_000;
    boundary(
        Reject::MaxPosition,
        (short, order(Side::Sell, ASK, 1_000_000)),
        (short, order(Side::Sell, ASK, 1_000_001)),
    );
    let working: Setup = |w| {
        w.position_lots = 10_000_000;
        w.open_buy_lots = 9_000_000;
    };
    boundary(
        Reject::MaxPosition,
        (working, ok),
        (working, order(Side::Buy, BID, 1_000_001)),
    );
    // Gross: 29 USD elsewhere + 0.01 × 100.01 here = 30.0001 > 30; 28.99 elsewhere passes.
    boundary(
        Reject::MaxGrossExposure,
        (|w| w.exposure_others = usd("28.9999"), ok),
        (|w| w.exposure_others = usd("29"), ok),
    );
    boundary(
        Reject::MaxOpenOrders,
        (|w| w.orders_open = 2, ok),
        (|w| w.orders_open = 3, ok),
    );
    boundary(
        Reject::MaxOpenOrdersInstrument,
        (|w| w.instrument_orders_open = 1, ok),
        (|w| w.instrument_orders_open = 2, ok),
    );
}

// Proves the collar centres on the last trade when the book is thin (one side, or a
// spread past the threshold), and on the mid otherwise.
#[test]
fn thin_books_collar_around_the_last_trade() {
    let mut world = World::new();
    world.book = book(THIN_ASK);
    world.last_trade_ticks = Some(10_200);
    let mut risk = RiskEngine::new(global());
    // 1 % of 102.00 is 1.02: 100.98 passes, 100.97 does not.
    assert!(
        world
            .check(&mut risk, &order(Side::Buy, 10_098, 1_000_000))
            .is_ok()
    );
    assert_eq!(
        world
            .check(&mut risk, &order(Side::Buy, 10_097, 1_000_000))
            .map(|_| ()),
        Err(Reject::PriceCollar)
    );
    assert_eq!(
        RiskEngine::reference_x2(&global(), &book(ASK), Some(10_200)),
        Some(BID + ASK),
        "a thick book uses its mid whatever the last trade"
    );
}

// Proves the duplicate window, the order rate and the message rate each refuse the order
// that breaks them and pass once the window moved on; a flattening order is not held back.
#[test]
fn windows_hold_back_repeats_and_bursts() {
    let mut world = World::new();
    let mut risk = RiskEngine::new(global());
    let a = order(Side::Buy, BID, 1_000_000);
    let b = order(Side::Buy, BID - 1, 1_010_000);
    assert!(world.check(&mut risk, &a).is_ok());
    assert_eq!(
        world.check(&mut risk, &a).map(|_| ()),
        Err(Reject::DuplicateOrder)
    );
    assert_eq!(world.check(&mut risk, &b).map(|_| ()), Ok(()));
    let c = order(Side::Buy, BID - 2, 1_010_000);
    assert_eq!(
        world.check(&mut risk, &c).map(|_| ()),
        Err(Reject::OrderRate)
    );
    world.now_ns += 500 * MS;
    assert_eq!(
        world.check(&mut risk, &c).map(|_| ()),
        Err(Reject::OrderRate),
        "still two orders in the last second"
    );
    world.now_ns = NOW + SECOND_NS;
    world.book.updated_ns = world.now_ns;
    assert!(
        world.check(&mut risk, &a).is_ok(),
        "a second later: not a duplicate"
    );
    // Messages: one order and two cancels fill the 3-per-second budget.
    let mut risk = RiskEngine::new(global());
    let mut world = World::new();
    assert!(risk.allow_cancel(NOW));
    assert!(risk.allow_cancel(NOW));
    assert!(!risk.allow_cancel(NOW), "cancel rate");
    assert_eq!(risk.cancels_throttled(), 1);
    assert!(world.check(&mut risk, &a).is_ok());
    assert_eq!(
        world.check(&mut risk, &b).map(|_| ()),
        Err(Reject::MessageRate)
    );
    // Flattening passes HALTED and the windows, but must reduce.
    world.state = TradingState::Halted;
    world.purpose = Purpose::Flatten;
    world.position_lots = 3_000_000;
    assert!(
        world
            .check(&mut risk, &order(Side::Sell, BID, 3_000_000))
            .is_ok()
    );
    assert_eq!(
        world
            .check(&mut risk, &order(Side::Sell, BID, 3_000_001))
            .map(|_| ()),
        Err(Reject::ReduceOnly)
    );
    assert_eq!(
        world
            .check(&mut risk, &order(Side::Buy, BID, 1_000_000))
            .map(|_| ()),
        Err(Reject::ReduceOnly)
    );
}

/// The first limit an order breaks, stated independently of the engine in plain integer
/// arithmetic (prices in cents, sizes in 1e-8 BTC, money in 1e-10 USD).
#[allow(clippy::too_many_arguments)]
fn oracle(
    state: TradingState,
    flatten: bool,
    side: Side,
    price: i64,
    size: i64,
    position: i64,
    open: (i64, i64),
    counts: (usize, usize),
    others_e10: i128,
    reference_x2: Option<i64>,
    sends: usize,
    duplicate: bool,
) -> Option<Reject> {
    let sign = side.sign();
    let (same, other) = if sign > 0 { open } else { (open.1, open.0) };
    if state == TradingState::Halted && !flatten {
        return Some(Reject::TradingHalted);
    }
    if (state == TradingState::Reducing || flatten)
        && !(position.signum() == -sign && same + size <= position.abs())
    {
        return Some(Reject::ReduceOnly);
    }
    let notional_e10 = i128::from(price) * i128::from(size);
    if notional_e10 < 10_000_000_000 {
        return Some(Reject::VenueSizeLimits); // below 1 USD (sizes are ≥ 1 lot here)
    }
    if size > 10_000_000 {
        return Some(Reject::MaxOrderSize);
    }
    if notional_e10 > 50_000_000_000 {
        return Some(Reject::MaxOrderNotional);
    }
    let Some(reference_x2) = reference_x2 else {
        return Some(Reject::NoReferencePrice);
    };
    let reference_x2 = i128::from(reference_x2);
    if (2 * i128::from(price) - reference_x2).abs() * 10_000 > 100 * reference_x2 {
        return Some(Reject::PriceCollar);
    }
    if (position + sign * (same + size)).abs() > 20_000_000 {
        return Some(Reject::MaxPosition);
    }
    let (buy, sell) = if sign > 0 {
        (same + size, other)
    } else {
        (other, same + size)
    };
    let worse = i128::from((position + buy).abs().max((position - sell).abs()));
    if 2 * others_e10 + worse * reference_x2 > 2 * 300_000_000_000 {
        return Some(Reject::MaxGrossExposure);
    }
    if counts.0 >= 3 {
        return Some(Reject::MaxOpenOrders);
    }
    if counts.1 >= 2 {
        return Some(Reject::MaxOpenOrdersInstrument);
    }
    if flatten {
        return None;
    }
    if duplicate {
        return Some(Reject::DuplicateOrder);
    }
    let sent = sends + usize::from(duplicate);
    if sent >= 2 {
        return Some(Reject::OrderRate);
    }
    if sent >= 3 {
        return Some(Reject::MessageRate);
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]
    // Proves, for orders generated against every control at once, that the risk engine
    // approves exactly the orders within every limit and refuses each other order for the
    // first limit it breaks (in check order): no order breaking a limit gets a
    // `RiskApproved`, and none within limits is refused. Values cluster around each
    // limit's edge, so that every check is reached and tried on both sides.
    #[test]
    fn approval_iff_within_limits(
        state in prop_oneof![
            6 => Just(TradingState::Active),
            2 => Just(TradingState::Reducing),
            1 => Just(TradingState::Halted),
        ],
        flatten in proptest::bool::weighted(0.15),
        buy in any::<bool>(),
        price in prop_oneof![9_890_i64..9_910, 10_090_i64..10_115, 9_800_i64..10_200],
        size in prop_oneof![990_000_i64..1_010_000, 4_990_000_i64..5_010_000, 1_i64..12_000_000],
        position in prop_oneof![
            Just(0_i64),
            14_000_000_i64..16_000_000,
            -16_000_000_i64..-14_000_000,
            -25_000_000_i64..25_000_000,
        ],
        open_buy in prop_oneof![Just(0_i64), 0_i64..6_000_000],
        open_sell in prop_oneof![Just(0_i64), 0_i64..6_000_000],
        orders_open in 0_usize..4,
        instrument_orders_open in 0_usize..3,
        others_cents in prop_oneof![Just(0_i64), 2_400_i64..3_000, 0_i64..3_200],
        thin in proptest::bool::weighted(0.2),
        last in proptest::option::of(9_900_i64..10_100),
        sends in prop_oneof![Just(0_usize), 0_usize..3],
        duplicate in proptest::bool::weighted(0.15),
    ) {
        let side = if buy { Side::Buy } else { Side::Sell };
        let request = order(side, price, size);
        let mut world = World::new();
        world.state = state;
        world.purpose = if flatten { Purpose::Flatten } else { Purpose::Strategy };
        world.position_lots = position;
        world.open_buy_lots = open_buy;
        world.open_sell_lots = open_sell;
        world.orders_open = orders_open;
        world.instrument_orders_open = instrument_orders_open;
        world.exposure_others = Money(i128::from(others_cents) * 10_i128.pow(22));
        if thin {
            world.book = book(THIN_ASK);
        }
        world.last_trade_ticks = last;
        let mut risk = RiskEngine::new(global());
        let earlier = NOW - 100 * MS;
        for n in 0..sends {
            let other = order(side, price, size + 1 + n as i64);
            risk.orders.record(earlier);
            risk.messages.record(earlier);
            risk.recent.record(&other, earlier);
        }
        if duplicate {
            risk.orders.record(earlier);
            risk.messages.record(earlier);
            risk.recent.record(&request, earlier);
        }
        let reference_x2 = match (thin, last) {
            (false, _) => Some(BID + ASK),
            (true, Some(last)) => Some(2 * last),
            (true, None) => None,
        };
        let expected = oracle(
            state,
            flatten,
            side,
            price,
            size,
            position,
            (open_buy, open_sell),
            (orders_open, instrument_orders_open),
            i128::from(others_cents) * 100_000_000,
            reference_x2,
            sends,
            duplicate,
        );
        let got = world.check(&mut risk, &request).err();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(risk.approved(), u64::from(expected.is_none()));
    }
}
