//! A taker: crosses the spread when book imbalance and trade-flow momentum agree.
//!
//! imbalance = (bid depth − ask depth) / (bid depth + ask depth) over the best `depth_levels`
//! levels; flow = (aggressive buys − aggressive sells) / total traded, over the last
//! `flow_window_ms` of live trades (the aggressor is the side opposite the maker's). Both in
//! bps. When both exceed their thresholds in one direction (and at least `flow_trades_min`
//! trades are in the window) it sends an immediate-or-cancel limit order through the touch,
//! priced `slippage_bps` beyond it, then waits `cooldown_ms` for that instrument.

use super::{Intent, MarketView, Reason, Strategy, div_ceil, div_floor};
use crate::event::{Side, TradePrint};
use crate::instrument::InstrumentId;
use crate::order::{OrderRequest, TimeInForce};
use serde::Deserialize;

/// Taker settings (`[strategy.taker]`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TakerParams {
    pub depth_levels: u32,
    pub imbalance_bps: u32,
    pub flow_window_ms: u64,
    pub flow_bps: u32,
    pub flow_trades_min: u32,
    pub cooldown_ms: u64,
    pub slippage_bps: u32,
}

/// Trades remembered per instrument for the flow window.
const FLOW_TRADES_MAX: usize = 256;

#[derive(Clone, Copy, Default)]
struct FlowTrade {
    ts_ns: u64,
    /// Aggressor-signed size: + for aggressive buys.
    signed_lots: i64,
}

struct FlowWindow {
    trades: [FlowTrade; FLOW_TRADES_MAX],
    next: usize,
    len: usize,
}

impl FlowWindow {
    fn push(&mut self, trade: FlowTrade) {
        self.trades[self.next] = trade;
        self.next = (self.next + 1) % FLOW_TRADES_MAX;
        self.len = (self.len + 1).min(FLOW_TRADES_MAX);
    }

    /// (net, total, count) of trades at or after `since_ns`.
    fn sum_since(&self, since_ns: u64) -> (i64, i64, u32) {
        let mut net = 0;
        let mut total = 0;
        let mut count = 0;
        for index in 0..self.len {
            let trade = self.trades[(self.next + FLOW_TRADES_MAX - 1 - index) % FLOW_TRADES_MAX];
            if trade.ts_ns < since_ns {
                break;
            }
            net += trade.signed_lots;
            total += trade.signed_lots.abs();
            count += 1;
        }
        (net, total, count)
    }
}

pub struct Taker {
    params: TakerParams,
    flow: Vec<FlowWindow>,
    last_order_ns: Vec<Option<u64>>,
}

impl Taker {
    pub fn new(params: TakerParams, instruments_max: usize) -> Self {
        let empty = || FlowWindow {
            trades: [FlowTrade::default(); FLOW_TRADES_MAX],
            next: 0,
            len: 0,
        };
        Self {
            params,
            flow: (0..instruments_max).map(|_| empty()).collect(),
            last_order_ns: vec![None; instruments_max],
        }
    }

    fn signal(&self, view: &MarketView<'_>) -> Option<(Side, i64, i64)> {
        let depth = self.params.depth_levels.max(1) as usize;
        let bid_depth = i128::from(view.book.depth_lots(Side::Buy, depth));
        let ask_depth = i128::from(view.book.depth_lots(Side::Sell, depth));
        if bid_depth + ask_depth == 0 {
            return None;
        }
        let imbalance_bps = ((bid_depth - ask_depth) * 10_000 / (bid_depth + ask_depth)) as i64;
        let since_ns = view
            .now_ns
            .saturating_sub(self.params.flow_window_ms * 1_000_000);
        let (net, total, count) = self.flow[view.instrument.index()].sum_since(since_ns);
        if total == 0 || count < self.params.flow_trades_min {
            return None;
        }
        let flow_bps = (i128::from(net) * 10_000 / i128::from(total)) as i64;
        let (imbalance_min, flow_min) = (
            i64::from(self.params.imbalance_bps),
            i64::from(self.params.flow_bps),
        );
        if imbalance_bps >= imbalance_min && flow_bps >= flow_min {
            Some((Side::Buy, imbalance_bps, flow_bps))
        } else if imbalance_bps <= -imbalance_min && flow_bps <= -flow_min {
            Some((Side::Sell, imbalance_bps, flow_bps))
        } else {
            None
        }
    }
}

impl Strategy for Taker {
    fn name(&self) -> &'static str {
        "taker"
    }

    fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.tag("taker");
        for (window, last) in self.flow.iter().zip(&self.last_order_ns) {
            h.opt_u64(*last);
            h.usize(window.len);
            // Oldest first, only the live entries: the ring's layout is not state.
            for index in (0..window.len).rev() {
                let trade =
                    window.trades[(window.next + FLOW_TRADES_MAX - 1 - index) % FLOW_TRADES_MAX];
                h.u64(trade.ts_ns);
                h.i64(trade.signed_lots);
            }
        }
    }

    fn on_trades(&mut self, now_ns: u64, instrument: InstrumentId, trades: &[TradePrint]) {
        let window = &mut self.flow[instrument.index()];
        for trade in trades {
            // The maker's side is printed; the aggressor took the other side.
            let signed_lots = trade.maker_side.opposite().sign() * trade.size_lots;
            window.push(FlowTrade {
                ts_ns: now_ns,
                signed_lots,
            });
        }
    }

    fn on_book(&mut self, view: &MarketView<'_>, out: &mut Vec<Intent>) {
        let index = view.instrument.index();
        let cooling = self.last_order_ns[index].is_some_and(|last| {
            view.now_ns.saturating_sub(last) < self.params.cooldown_ms * 1_000_000
        });
        let busy = view.own().next().is_some();
        if cooling || busy {
            return;
        }
        let Some((side, imbalance_bps, flow_bps)) = self.signal(view) else {
            return;
        };
        let size = view.sizing.order_size_lots;
        let after = view.position_lots + side.sign() * size;
        if after.abs() > view.sizing.inventory_max_lots {
            return;
        }
        let Some(top) = view.book.top() else {
            return;
        };
        let slip = i128::from(self.params.slippage_bps);
        let price_ticks = match side {
            Side::Buy => div_ceil(i128::from(top.ask_ticks) * (10_000 + slip), 10_000),
            Side::Sell => div_floor(i128::from(top.bid_ticks) * (10_000 - slip), 10_000),
        } as i64;
        self.last_order_ns[index] = Some(view.now_ns);
        let request = OrderRequest {
            instrument: view.instrument,
            side,
            price_ticks,
            size_lots: size,
            time_in_force: TimeInForce::ImmediateOrCancel,
            post_only: false,
        };
        out.push(Intent::Place {
            request,
            reason: Reason::Momentum {
                imbalance_bps,
                flow_bps,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::OrderBook;
    use crate::event::LevelChange;
    use crate::instrument::tests::btc_usd;
    use crate::strategy::SizingParams;

    fn params() -> TakerParams {
        TakerParams {
            depth_levels: 2,
            imbalance_bps: 2000,
            flow_window_ms: 1000,
            flow_bps: 5000,
            flow_trades_min: 2,
            cooldown_ms: 500,
            slippage_bps: 10,
        }
    }

    fn book(bid_lots: i64, ask_lots: i64) -> OrderBook {
        let mut book = OrderBook::with_capacity(8);
        let levels = [
            LevelChange {
                side: Side::Buy,
                price_ticks: 100_000,
                size_lots: bid_lots,
            },
            LevelChange {
                side: Side::Sell,
                price_ticks: 100_010,
                size_lots: ask_lots,
            },
        ];
        book.apply_snapshot(&levels, 0).unwrap();
        book
    }

    fn trade(maker_side: Side, size_lots: i64) -> TradePrint {
        TradePrint {
            price_ticks: 100_010,
            size_lots,
            maker_side,
            trade_id: 1,
        }
    }

    fn decide(taker: &mut Taker, book: &OrderBook, now_ns: u64, position_lots: i64) -> Vec<Intent> {
        let spec = btc_usd();
        let view = MarketView {
            now_ns,
            instrument: InstrumentId(0),
            spec: &spec,
            book,
            position_lots,
            live_orders: &[],
            sizing: SizingParams {
                order_size_lots: 10,
                inventory_max_lots: 15,
            },
        };
        let mut out = Vec::new();
        taker.on_book(&view, &mut out);
        out
    }

    // Proves the taker buys only when imbalance and buy flow agree, prices through the
    // touch, respects its cool-down and its inventory cap.
    #[test]
    fn imbalance_and_flow_must_agree() {
        let mut taker = Taker::new(params(), 1);
        let heavy_bid = book(300, 100); // imbalance +5000 bps
        assert!(
            decide(&mut taker, &heavy_bid, 1_000, 0).is_empty(),
            "no flow yet"
        );
        // Two aggressive buys (maker side SELL) and a small aggressive sell: flow +7142 bps (5 of 7).
        taker.on_trades(
            1_000,
            InstrumentId(0),
            &[trade(Side::Sell, 5), trade(Side::Sell, 1)],
        );
        taker.on_trades(2_000, InstrumentId(0), &[trade(Side::Buy, 1)]);
        let intents = decide(&mut taker, &heavy_bid, 3_000, 0);
        let Some(Intent::Place { request, reason }) = intents.first().copied() else {
            panic!("expected a buy, got {intents:?}");
        };
        assert_eq!(
            (request.side, request.price_ticks, request.size_lots),
            (Side::Buy, 100_111, 10)
        );
        assert_eq!(request.time_in_force, TimeInForce::ImmediateOrCancel);
        assert_eq!(
            reason,
            Reason::Momentum {
                imbalance_bps: 5000,
                flow_bps: 7142
            }
        );
        assert!(
            decide(&mut taker, &heavy_bid, 3_000 + 499_999_999, 0).is_empty(),
            "cooling down"
        );
        // The flow window (1 s) has expired by now.
        assert!(decide(&mut taker, &heavy_bid, 3_000 + 1_500_000_000, 0).is_empty());
        // Imbalance against the flow: nothing.
        let mut taker = Taker::new(params(), 1);
        taker.on_trades(
            0,
            InstrumentId(0),
            &[trade(Side::Sell, 5), trade(Side::Sell, 5)],
        );
        assert!(decide(&mut taker, &book(100, 300), 1, 0).is_empty());
        // Inventory cap: a buy of 10 from +10 would reach 20 > 15.
        assert!(decide(&mut taker, &heavy_bid, 1, 10).is_empty());
        assert_eq!(decide(&mut taker, &heavy_bid, 1, 0).len(), 1);
    }
}
