//! A passive market maker: post-only quotes around the micro-price, skewed by inventory,
//! withdrawn on the side that would push inventory past its cap.
//!
//! micro = (bid × ask_size + ask × bid_size) / (bid_size + ask_size), in 1e-4 ticks.
//! bid = ⌊micro − half_spread − skew⌋, ask = ⌈micro + half_spread − skew⌉, where
//! half_spread = micro × spread_bps / 2 and skew = micro × skew_bps × position / inventory_max.
//! Quotes never cross the book (a bid stays below the best ask, an ask above the best bid)
//! and never each other (the ask is at least one tick above the bid).

use super::{Intent, MarketView, Reason, Strategy, div_ceil, div_floor};
use crate::event::Side;
use crate::instrument::InstrumentId;
use crate::order::{OrderRequest, TimeInForce};
use serde::Deserialize;

/// Market-maker settings (`[strategy.market_maker]`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MarketMakerParams {
    /// Full quoted spread around the micro-price, in basis points.
    pub spread_bps: u32,
    /// How far both quotes shift (bps of price) at full inventory, against the position.
    pub skew_bps: u32,
    /// Requote a resting order when it is this many ticks from the wanted price.
    pub requote_ticks: u32,
    /// Minimum time between two cancels, and between two placements, of one side, in
    /// milliseconds (keeps a refused or churning quote from retrying on every update).
    pub requote_interval_ms: u64,
}

const E4: i128 = 10_000;

pub struct MarketMaker {
    params: MarketMakerParams,
    /// Last cancel and last placement time per (instrument, side).
    last_cancel_ns: Vec<[Option<u64>; 2]>,
    last_place_ns: Vec<[Option<u64>; 2]>,
}

impl MarketMaker {
    pub fn new(params: MarketMakerParams, instruments_max: usize) -> Self {
        Self {
            params,
            last_cancel_ns: vec![[None; 2]; instruments_max],
            last_place_ns: vec![[None; 2]; instruments_max],
        }
    }

    /// The wanted (bid, ask) in ticks and the reason's inputs.
    fn quotes(&self, view: &MarketView<'_>) -> Option<(i64, i64, i64, i64)> {
        let top = view.book.top()?;
        let (bid, ask) = (i128::from(top.bid_ticks), i128::from(top.ask_ticks));
        let (bid_size, ask_size) = (i128::from(top.bid_lots), i128::from(top.ask_lots));
        if bid_size + ask_size <= 0 {
            return None;
        }
        let micro_e4 = (bid * ask_size + ask * bid_size) * E4 / (bid_size + ask_size);
        let half_spread_e4 = micro_e4 * i128::from(self.params.spread_bps) / (2 * E4);
        let inventory_max = i128::from(view.sizing.inventory_max_lots.max(1));
        let skew_e4 = micro_e4 * i128::from(self.params.skew_bps) * i128::from(view.position_lots)
            / (E4 * inventory_max);
        let bid_quote = div_floor(micro_e4 - half_spread_e4 - skew_e4, E4).min(ask - 1);
        // Above the best bid, and above our own bid: never quote against ourselves.
        let ask_quote = div_ceil(micro_e4 + half_spread_e4 - skew_e4, E4)
            .max(bid + 1)
            .max(bid_quote + 1);
        Some((
            bid_quote as i64,
            ask_quote as i64,
            micro_e4 as i64,
            skew_e4 as i64,
        ))
    }

    fn side_intent(
        &mut self,
        view: &MarketView<'_>,
        side: Side,
        wanted_ticks: Option<i64>,
        reason: Reason,
        out: &mut Vec<Intent>,
    ) {
        let interval_ns = self.params.requote_interval_ms.saturating_mul(1_000_000);
        let due =
            |last: Option<u64>| last.is_none_or(|t| view.now_ns.saturating_sub(t) >= interval_ns);
        let (instrument, side_index) = (view.instrument.index(), side as usize);
        let mut working = view.working(side);
        if let Some(order) = working.next() {
            if order.cancel_pending {
                return;
            }
            let intent = match wanted_ticks {
                None => Some(Intent::Cancel {
                    id: order.id,
                    reason: Reason::InventoryCap {
                        position_lots: view.position_lots,
                    },
                }),
                Some(wanted) => {
                    let drift = order.request.price_ticks - wanted;
                    let drifted =
                        drift.unsigned_abs() >= u64::from(self.params.requote_ticks.max(1));
                    (drifted && due(self.last_cancel_ns[instrument][side_index])).then_some(
                        Intent::Reprice {
                            id: order.id,
                            price_ticks: wanted,
                            reason: Reason::Requote { drift_ticks: drift },
                        },
                    )
                }
            };
            if let Some(intent) = intent {
                self.last_cancel_ns[instrument][side_index] = Some(view.now_ns);
                out.push(intent);
            }
            // Extra orders on this side (should not happen) are cancelled too.
            for extra in working.filter(|o| !o.cancel_pending) {
                out.push(Intent::Cancel {
                    id: extra.id,
                    reason: Reason::Requote { drift_ticks: 0 },
                });
            }
            return;
        }
        if let Some(price_ticks) = wanted_ticks
            && due(self.last_place_ns[instrument][side_index])
        {
            self.last_place_ns[instrument][side_index] = Some(view.now_ns);
            out.push(Intent::Place {
                request: quote(
                    view.instrument,
                    side,
                    price_ticks,
                    view.sizing.order_size_lots,
                ),
                reason,
            });
        }
    }
}

fn quote(instrument: InstrumentId, side: Side, price_ticks: i64, size_lots: i64) -> OrderRequest {
    OrderRequest {
        instrument,
        side,
        price_ticks,
        size_lots,
        time_in_force: TimeInForce::GoodTillCancel,
        post_only: true,
    }
}

impl Strategy for MarketMaker {
    fn name(&self) -> &'static str {
        "market_maker"
    }

    fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.tag("market_maker");
        for (cancels, places) in self.last_cancel_ns.iter().zip(&self.last_place_ns) {
            for value in cancels.iter().chain(places) {
                h.opt_u64(*value);
            }
        }
    }

    fn on_book(&mut self, view: &MarketView<'_>, out: &mut Vec<Intent>) {
        let Some((bid, ask, micro_e4, skew_e4)) = self.quotes(view) else {
            return;
        };
        let size = view.sizing.order_size_lots;
        let cap = view.sizing.inventory_max_lots;
        let reason = Reason::Quote {
            micro_ticks_e4: micro_e4,
            skew_ticks_e4: skew_e4,
        };
        let bid_wanted = (view.position_lots + size <= cap).then_some(bid);
        let ask_wanted = (view.position_lots - size >= -cap).then_some(ask);
        self.side_intent(view, Side::Buy, bid_wanted, reason, out);
        self.side_intent(view, Side::Sell, ask_wanted, reason, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::OrderBook;
    use crate::event::LevelChange;
    use crate::instrument::tests::btc_usd;
    use crate::order::{ClientOrderId, Order, OrderState};
    use crate::strategy::SizingParams;

    fn params() -> MarketMakerParams {
        MarketMakerParams {
            spread_bps: 10,
            skew_bps: 5,
            requote_ticks: 2,
            requote_interval_ms: 0,
        }
    }

    fn book(bid: i64, bid_lots: i64, ask: i64, ask_lots: i64) -> OrderBook {
        let mut book = OrderBook::with_capacity(8);
        book.apply_snapshot(
            &[
                LevelChange {
                    side: Side::Buy,
                    price_ticks: bid,
                    size_lots: bid_lots,
                },
                LevelChange {
                    side: Side::Sell,
                    price_ticks: ask,
                    size_lots: ask_lots,
                },
            ],
            0,
        )
        .unwrap();
        book
    }

    fn run(
        mm: &mut MarketMaker,
        book: &OrderBook,
        position_lots: i64,
        live: &[Order],
    ) -> Vec<Intent> {
        let spec = btc_usd();
        let view = MarketView {
            now_ns: 1,
            instrument: InstrumentId(0),
            spec: &spec,
            book,
            position_lots,
            live_orders: live,
            sizing: SizingParams {
                order_size_lots: 100,
                inventory_max_lots: 300,
            },
        };
        let mut out = Vec::new();
        mm.on_book(&view, &mut out);
        out
    }

    fn placed(intents: &[Intent]) -> Vec<(Side, i64)> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::Place { request, .. } => Some((request.side, request.price_ticks)),
                Intent::Cancel { .. } | Intent::Reprice { .. } => None,
            })
            .collect()
    }

    // Proves quotes straddle the micro-price by the spread and shift against inventory.
    #[test]
    fn quotes_around_micro_price_with_skew() {
        let mut mm = MarketMaker::new(params(), 1);
        // Balanced book 1,000,000/1,000,002: micro 1,000,001; half spread 5 bps = 500 ticks.
        let flat = book(1_000_000, 50, 1_000_002, 50);
        assert_eq!(
            placed(&run(&mut mm, &flat, 0, &[])),
            vec![(Side::Buy, 999_500), (Side::Sell, 1_000_502)]
        );
        // Heavy bid side pulls the micro-price up towards the ask (1,000,001.5).
        let heavy_bid = book(1_000_000, 300, 1_000_002, 100);
        assert_eq!(
            placed(&run(&mut mm, &heavy_bid, 0, &[])),
            vec![(Side::Buy, 999_501), (Side::Sell, 1_000_502)]
        );
        // Long 200 of a 300 cap: skew 5 bps × 2/3 ≈ 333.3 ticks lower on both sides.
        let long = run(&mut mm, &flat, 200, &[]);
        assert_eq!(
            placed(&long),
            vec![(Side::Buy, 999_167), (Side::Sell, 1_000_168)]
        );
        // At 250 another buy of 100 would pass the 300 cap: only the ask is quoted.
        assert!(
            placed(&run(&mut mm, &flat, 250, &[]))
                .iter()
                .all(|(side, _)| *side == Side::Sell)
        );
    }

    // Proves the inventory cap withdraws a resting quote and requotes follow drift.
    #[test]
    fn cap_and_requote() {
        let mut mm = MarketMaker::new(params(), 1);
        let flat = book(1_000_000, 50, 1_000_002, 50);
        let resting = |side: Side, price_ticks: i64| Order {
            id: ClientOrderId(price_ticks as u64),
            request: quote(InstrumentId(0), side, price_ticks, 100),
            state: OrderState::Open,
            filled_lots: 0,
            cancel_pending: false,
            edit_pending: None,
            created_ns: 0,
            adopted: false,
        };
        let live = [resting(Side::Buy, 999_500), resting(Side::Sell, 1_000_502)];
        assert!(
            run(&mut mm, &flat, 0, &live).is_empty(),
            "quotes in place: nothing to do"
        );
        // The bid drifted 2 ticks (the threshold), the ask 1 tick (kept).
        let drifted = [resting(Side::Buy, 999_498), resting(Side::Sell, 1_000_503)];
        let intents = run(&mut mm, &flat, 0, &drifted);
        assert_eq!(
            intents,
            vec![Intent::Reprice {
                id: ClientOrderId(999_498),
                price_ticks: 999_500,
                reason: Reason::Requote { drift_ticks: -2 }
            }]
        );
        let intents = run(&mut mm, &flat, 300, &live);
        assert!(intents.contains(&Intent::Cancel {
            id: ClientOrderId(999_500),
            reason: Reason::InventoryCap { position_lots: 300 }
        }));
    }

    // Proves an adopted order (placed by someone else) is not the market maker's to manage:
    // though far from where it would quote, it is neither repriced nor cancelled, and the
    // maker places its own quotes beside it.
    #[test]
    fn adopted_orders_are_left_alone() {
        let mut mm = MarketMaker::new(params(), 1);
        let flat = book(1_000_000, 50, 1_000_002, 50);
        let adopted = Order {
            id: ClientOrderId(7),
            request: quote(InstrumentId(0), Side::Buy, 900_000, 100),
            state: OrderState::Open,
            filled_lots: 0,
            cancel_pending: false,
            edit_pending: None,
            created_ns: 0,
            adopted: true,
        };
        let intents = run(&mut mm, &flat, 0, &[adopted]);
        assert_eq!(
            placed(&intents),
            vec![(Side::Buy, 999_500), (Side::Sell, 1_000_502)]
        );
        assert_eq!(intents.len(), 2, "nothing else: {intents:?}");
    }

    // Proves a side whose quote vanished (refused, filled) is not re-placed on every update:
    // placements wait for the requote interval.
    #[test]
    fn placements_respect_the_interval() {
        let mut mm = MarketMaker::new(
            MarketMakerParams {
                requote_interval_ms: 1_000,
                ..params()
            },
            1,
        );
        let flat = book(1_000_000, 50, 1_000_002, 50);
        let spec = btc_usd();
        let mut decide = |now_ns: u64| {
            let view = MarketView {
                now_ns,
                instrument: InstrumentId(0),
                spec: &spec,
                book: &flat,
                position_lots: 0,
                live_orders: &[],
                sizing: SizingParams {
                    order_size_lots: 100,
                    inventory_max_lots: 300,
                },
            };
            let mut out = Vec::new();
            mm.on_book(&view, &mut out);
            out.len()
        };
        assert_eq!(decide(1), 2);
        assert_eq!(decide(2), 0, "within the interval nothing is re-placed");
        assert_eq!(decide(1 + 999_999_999), 0);
        assert_eq!(decide(1 + 1_000_000_000), 2);
    }
}
