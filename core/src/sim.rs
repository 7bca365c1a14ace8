//! The simulated venue: fills paper and replay orders against the real book, deterministically.
//!
//! - Latency: an order or cancel reaches the venue `latency_ns` after it was sent (in event
//!   time), and is processed against the book as it stands then — before the input that
//!   carried time past its arrival is applied.
//! - Takers (IOC, or limit orders that cross) walk the book level by level up to their
//!   limit; what is left of an IOC is cancelled. The book is not depleted by our fills (the
//!   feed is the venue's truth).
//! - Passive orders join the queue behind the displayed size at their price. A live trade
//!   printed *through* the price (a buy's price above the print, on the maker side of bids)
//!   fills what remains; a print *at* the price first consumes the queue ahead, then fills us.
//!   When the displayed size at the level shrinks below our queue position (cancels ahead of
//!   us), we move up. A book that moves through a resting order without a print does not fill
//!   it (conservative).
//! - Post-only orders that would cross are rejected.
//! - Fees: maker and taker rates in hundredths of a basis point, on the exact notional.

use crate::book::OrderBook;
use crate::event::{Side, TradePrint};
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::num::Money;
use crate::order::{ClientOrderId, OrderRequest, TimeInForce};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimParams {
    pub latency_ns: u64,
    pub maker_fee_centi_bps: u32,
    pub taker_fee_centi_bps: u32,
}

crate::wire::code_enum! {
    /// Whether a fill added liquidity (a resting order) or took it.
    pub enum Liquidity {
        Maker = 0 "maker",
        Taker = 1 "taker",
    }
}

crate::wire::code_enum! {
    /// Why a venue refused an order.
    pub enum VenueReject {
        /// A post-only order would have taken liquidity.
        PostOnlyWouldCross = 1 "post_only_would_cross",
        /// The instrument has no two-sided book at the venue.
        NoMarket = 2 "no_market",
        /// The live venue answered the create with `success: false` (any other reason).
        Refused = 3 "refused",
        /// The order never reached the venue: reconciliation found no trace of it there
        /// after the send was lost (a crash between journal append and send, or every retry
        /// failed).
        NotSent = 4 "not_sent",
    }
}

/// What the venue tells the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueReport {
    Accepted {
        id: ClientOrderId,
    },
    Rejected {
        id: ClientOrderId,
        reason: VenueReject,
    },
    Fill {
        id: ClientOrderId,
        price_ticks: i64,
        size_lots: i64,
        liquidity: Liquidity,
        fee: Money,
    },
    Cancelled {
        id: ClientOrderId,
    },
    /// The cancel arrived after the order was already done.
    CancelRejected {
        id: ClientOrderId,
    },
}

#[derive(Clone, Copy, Debug)]
enum Action {
    New {
        id: ClientOrderId,
        request: OrderRequest,
    },
    Cancel {
        id: ClientOrderId,
    },
}

#[derive(Clone, Copy, Debug)]
struct Resting {
    id: ClientOrderId,
    request: OrderRequest,
    remaining_lots: i64,
    queue_ahead_lots: i64,
}

pub struct SimVenue {
    params: SimParams,
    in_flight: VecDeque<(u64, Action)>,
    resting: Vec<Resting>,
}

impl SimVenue {
    pub fn new(params: SimParams, orders_open_max: usize) -> Self {
        Self {
            params,
            in_flight: VecDeque::with_capacity(2 * orders_open_max),
            resting: Vec::with_capacity(orders_open_max),
        }
    }

    pub fn params(&self) -> &SimParams {
        &self.params
    }

    pub fn submit(&mut self, now_ns: u64, id: ClientOrderId, request: OrderRequest) {
        self.in_flight
            .push_back((now_ns + self.params.latency_ns, Action::New { id, request }));
    }

    pub fn cancel(&mut self, now_ns: u64, id: ClientOrderId) {
        self.in_flight
            .push_back((now_ns + self.params.latency_ns, Action::Cancel { id }));
    }

    /// Time of the next arrival, if any.
    pub fn next_arrival_ns(&self) -> Option<u64> {
        self.in_flight.front().map(|&(at, _)| at)
    }

    /// Processes everything that has arrived by `now_ns`.
    pub fn advance(
        &mut self,
        now_ns: u64,
        books: &[OrderBook],
        specs: &[Option<InstrumentSpec>],
        out: &mut Vec<VenueReport>,
    ) {
        while let Some(&(arrival_ns, action)) = self.in_flight.front() {
            if arrival_ns > now_ns {
                break;
            }
            self.in_flight.pop_front();
            match action {
                Action::New { id, request } => {
                    let index = request.instrument.index();
                    match specs.get(index).copied().flatten() {
                        Some(spec) => self.arrive(id, request, &books[index], &spec, out),
                        None => out.push(VenueReport::Rejected {
                            id,
                            reason: VenueReject::NoMarket,
                        }),
                    }
                }
                Action::Cancel { id } => match self.resting.iter().position(|r| r.id == id) {
                    Some(index) => {
                        self.resting.remove(index);
                        out.push(VenueReport::Cancelled { id });
                    }
                    None => out.push(VenueReport::CancelRejected { id }),
                },
            }
        }
    }

    fn arrive(
        &mut self,
        id: ClientOrderId,
        request: OrderRequest,
        book: &OrderBook,
        spec: &InstrumentSpec,
        out: &mut Vec<VenueReport>,
    ) {
        let opposite = request.side.opposite();
        let crosses = |level_ticks: i64| match request.side {
            Side::Buy => level_ticks <= request.price_ticks,
            Side::Sell => level_ticks >= request.price_ticks,
        };
        let Some(top) = book.top() else {
            out.push(VenueReport::Rejected {
                id,
                reason: VenueReject::NoMarket,
            });
            return;
        };
        let touch = match request.side {
            Side::Buy => top.ask_ticks,
            Side::Sell => top.bid_ticks,
        };
        if request.post_only && crosses(touch) {
            out.push(VenueReport::Rejected {
                id,
                reason: VenueReject::PostOnlyWouldCross,
            });
            return;
        }
        out.push(VenueReport::Accepted { id });
        let mut remaining = request.size_lots;
        for (level_ticks, level_lots) in book.levels(opposite) {
            if remaining == 0 || !crosses(level_ticks) {
                break;
            }
            let size_lots = remaining.min(level_lots);
            remaining -= size_lots;
            let fee = spec
                .notional(level_ticks, size_lots)
                .fee(self.params.taker_fee_centi_bps);
            out.push(VenueReport::Fill {
                id,
                price_ticks: level_ticks,
                size_lots,
                liquidity: Liquidity::Taker,
                fee,
            });
        }
        if remaining == 0 {
            return;
        }
        if request.time_in_force == TimeInForce::ImmediateOrCancel {
            out.push(VenueReport::Cancelled { id });
            return;
        }
        let queue_ahead_lots = book.size_at(request.side, request.price_ticks);
        self.resting.push(Resting {
            id,
            request,
            remaining_lots: remaining,
            queue_ahead_lots,
        });
    }

    /// Live trades may fill resting orders of `instrument`.
    pub fn on_trades(
        &mut self,
        instrument: InstrumentId,
        trades: &[TradePrint],
        spec: &InstrumentSpec,
        out: &mut Vec<VenueReport>,
    ) {
        let maker_rate = self.params.maker_fee_centi_bps;
        // Coinbase lists trades newest first; fill in time order.
        for trade in trades.iter().rev() {
            let mut print_lots = trade.size_lots;
            for order in self.resting.iter_mut() {
                let request = &order.request;
                if request.instrument != instrument || request.side != trade.maker_side {
                    continue;
                }
                let through = match request.side {
                    Side::Buy => trade.price_ticks < request.price_ticks,
                    Side::Sell => trade.price_ticks > request.price_ticks,
                };
                let size_lots = if through {
                    order.remaining_lots
                } else if trade.price_ticks == request.price_ticks {
                    let consumed = print_lots.min(order.queue_ahead_lots);
                    order.queue_ahead_lots -= consumed;
                    print_lots -= consumed;
                    let filled = print_lots.min(order.remaining_lots);
                    print_lots -= filled;
                    filled
                } else {
                    0
                };
                if size_lots > 0 {
                    order.remaining_lots -= size_lots;
                    let fee = spec
                        .notional(request.price_ticks, size_lots)
                        .fee(maker_rate);
                    out.push(VenueReport::Fill {
                        id: order.id,
                        price_ticks: request.price_ticks,
                        size_lots,
                        liquidity: Liquidity::Maker,
                        fee,
                    });
                }
            }
            self.resting.retain(|order| order.remaining_lots > 0);
        }
    }

    /// After a book change: resting orders move up when the displayed size ahead shrinks.
    pub fn on_book(&mut self, instrument: InstrumentId, book: &OrderBook) {
        for order in self
            .resting
            .iter_mut()
            .filter(|o| o.request.instrument == instrument)
        {
            let displayed = book.size_at(order.request.side, order.request.price_ticks);
            order.queue_ahead_lots = order.queue_ahead_lots.min(displayed);
        }
    }

    pub fn resting_count(&self) -> usize {
        self.resting.len()
    }
}

impl SimVenue {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.usize(self.in_flight.len());
        for (arrival_ns, action) in &self.in_flight {
            h.u64(*arrival_ns);
            match action {
                Action::New { id, request } => {
                    h.u8(1);
                    h.u64(id.0);
                    request.digest(h);
                }
                Action::Cancel { id } => {
                    h.u8(2);
                    h.u64(id.0);
                }
            }
        }
        h.usize(self.resting.len());
        for order in &self.resting {
            h.u64(order.id.0);
            order.request.digest(h);
            h.i64(order.remaining_lots);
            h.i64(order.queue_ahead_lots);
        }
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom
mod tests {
    use super::*;
    use crate::event::LevelChange;
    use crate::instrument::tests::btc_usd;

    const LATENCY: u64 = 1_000;

    fn venue() -> SimVenue {
        SimVenue::new(
            SimParams {
                latency_ns: LATENCY,
                maker_fee_centi_bps: 4_000,
                taker_fee_centi_bps: 6_000,
            },
            8,
        )
    }

    fn book() -> OrderBook {
        let mut book = OrderBook::with_capacity(16);
        let level = |side, price_ticks, size_lots| LevelChange {
            side,
            price_ticks,
            size_lots,
        };
        book.apply_snapshot(
            &[
                level(Side::Buy, 10_000, 5),
                level(Side::Buy, 9_999, 5),
                level(Side::Sell, 10_001, 3),
                level(Side::Sell, 10_002, 4),
                level(Side::Sell, 10_005, 100),
            ],
            0,
        )
        .unwrap();
        book
    }

    fn request(
        side: Side,
        price_ticks: i64,
        size_lots: i64,
        tif: TimeInForce,
        post_only: bool,
    ) -> OrderRequest {
        OrderRequest {
            instrument: InstrumentId(0),
            side,
            price_ticks,
            size_lots,
            time_in_force: tif,
            post_only,
        }
    }

    fn step(venue: &mut SimVenue, now_ns: u64, book: &OrderBook) -> Vec<VenueReport> {
        let mut out = Vec::new();
        venue.advance(
            now_ns,
            std::slice::from_ref(book),
            &[Some(btc_usd())],
            &mut out,
        );
        out
    }

    // Proves a taker walks the book up to its limit after the latency, pays the taker fee, and
    // an IOC remainder is cancelled.
    #[test]
    fn taker_walks_the_book() {
        let (mut venue, book) = (venue(), book());
        let id = ClientOrderId(1);
        venue.submit(
            0,
            id,
            request(Side::Buy, 10_002, 10, TimeInForce::ImmediateOrCancel, false),
        );
        assert!(
            step(&mut venue, LATENCY - 1, &book).is_empty(),
            "not arrived yet"
        );
        let reports = step(&mut venue, LATENCY, &book);
        let fee = |ticks, lots| btc_usd().notional(ticks, lots).fee(6_000);
        assert_eq!(
            reports,
            vec![
                VenueReport::Accepted { id },
                VenueReport::Fill {
                    id,
                    price_ticks: 10_001,
                    size_lots: 3,
                    liquidity: Liquidity::Taker,
                    fee: fee(10_001, 3)
                },
                VenueReport::Fill {
                    id,
                    price_ticks: 10_002,
                    size_lots: 4,
                    liquidity: Liquidity::Taker,
                    fee: fee(10_002, 4)
                },
                VenueReport::Cancelled { id },
            ]
        );
    }

    // Proves post-only orders that would cross are rejected and passive ones queue behind the
    // displayed size, fill on prints through or at their price, and move up on cancels ahead.
    #[test]
    fn passive_queue_position() {
        let (mut venue, mut book) = (venue(), book());
        let spec = btc_usd();
        let crossing = ClientOrderId(1);
        venue.submit(
            0,
            crossing,
            request(Side::Buy, 10_001, 1, TimeInForce::GoodTillCancel, true),
        );
        let id = ClientOrderId(2);
        venue.submit(
            0,
            id,
            request(Side::Buy, 10_000, 4, TimeInForce::GoodTillCancel, true),
        );
        let reports = step(&mut venue, LATENCY, &book);
        assert_eq!(
            reports[0],
            VenueReport::Rejected {
                id: crossing,
                reason: VenueReject::PostOnlyWouldCross
            }
        );
        assert_eq!(reports[1], VenueReport::Accepted { id });
        let print = |price_ticks, size_lots, maker_side| TradePrint {
            price_ticks,
            size_lots,
            maker_side,
            trade_id: 0,
        };
        let mut out = Vec::new();
        // 3 of the 5 lots ahead trade: no fill yet; an ask-side print never fills a bid.
        venue.on_trades(
            InstrumentId(0),
            &[print(10_000, 3, Side::Buy), print(10_001, 9, Side::Sell)],
            &spec,
            &mut out,
        );
        assert!(out.is_empty());
        // Cancels ahead: the level shows 1 lot, so only 1 is ahead of us now.
        book.apply_update(
            &[LevelChange {
                side: Side::Buy,
                price_ticks: 10_000,
                size_lots: 1,
            }],
            2,
        )
        .unwrap();
        venue.on_book(InstrumentId(0), &book);
        venue.on_trades(
            InstrumentId(0),
            &[print(10_000, 2, Side::Buy)],
            &spec,
            &mut out,
        );
        let maker_fee = |lots| spec.notional(10_000, lots).fee(4_000);
        assert_eq!(
            out,
            vec![VenueReport::Fill {
                id,
                price_ticks: 10_000,
                size_lots: 1,
                liquidity: Liquidity::Maker,
                fee: maker_fee(1)
            }]
        );
        out.clear();
        // A print through our price fills the rest.
        venue.on_trades(
            InstrumentId(0),
            &[print(9_999, 1, Side::Buy)],
            &spec,
            &mut out,
        );
        assert_eq!(
            out,
            vec![VenueReport::Fill {
                id,
                price_ticks: 10_000,
                size_lots: 3,
                liquidity: Liquidity::Maker,
                fee: maker_fee(3)
            }]
        );
        assert_eq!(venue.resting_count(), 0);
        venue.cancel(10, id);
        assert_eq!(
            step(&mut venue, 10 + LATENCY, &book),
            vec![VenueReport::CancelRejected { id }]
        );
    }
}
