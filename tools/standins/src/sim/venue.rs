//! The venue's state behind its one lock: the ledger (orders, fills, balances, the clock
//! position: everything `--state-file` keeps), each product's book in integers and the
//! public book mirror, and the event stream every WebSocket session reads.
//!
//! Every change happens under the lock and is published on the event stream under it too,
//! each event numbered by `tick`; a session that takes a snapshot under the lock knows
//! exactly which later events it still needs. Runs on whichever task holds the lock (the
//! venue clock task or a REST handler).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use super::RequestLog;
use super::book::{Print, Rules, SimBook};
use super::orders::{
    Checked, SimFill, SimOrder, base_units, fee, hold_units, money_text, notional, user_order_json,
};
use crate::replay::BookMirror;
use crate::replay::clock::{format_rfc3339_ns, parse_rfc3339_ns};

/// One thing that happened at the venue, for the sessions.
#[derive(Debug)]
pub(crate) enum VenueEvent {
    /// The recorded frame at this index passed on the venue clock.
    Frame { tick: u64, index: usize },
    /// A synthesized heartbeat after the recording.
    Heartbeat {
        tick: u64,
        timestamp_ns: u64,
        current_time: String,
        counter: u64,
    },
    /// One of our orders changed; `order` is its user-channel object after the change.
    Order {
        tick: u64,
        product_id: String,
        order: Value,
        timestamp_ns: u64,
    },
}

/// Everything `--state-file` keeps.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub orders: BTreeMap<String, SimOrder>,
    pub by_client_id: BTreeMap<String, String>,
    pub fills: Vec<SimFill>,
    /// Currency -> balance in [`traider_core::num::Money`] units.
    pub balances: BTreeMap<String, i128>,
    pub next_order: u64,
    pub next_fill: u64,
    pub created: u64,
    /// Venue clock: recorded nanoseconds played since the start (all loops).
    pub clock_elapsed_ns: u64,
    /// Where on that clock the current pass of the recording started.
    pub loop_base_ns: u64,
    pub heartbeats_sent: u64,
}

/// Fees and rules a fill needs.
pub(crate) struct Terms<'a> {
    pub rules: &'a BTreeMap<String, Rules>,
    pub maker_fee_bps: u32,
    pub taker_fee_bps: u32,
}

/// When a recorded frame trades against our orders: the venue clock now (stamps of the fills
/// and updates it causes) and the frame's own time on that clock (only orders created by
/// then are in the book it shows).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moment {
    pub now_ns: u64,
    pub frame_ns: u64,
}

pub(crate) struct Venue {
    pub ledger: Ledger,
    pub books: BTreeMap<String, SimBook>,
    pub mirror: BookMirror,
    /// Number of the last event published.
    pub tick: u64,
    pub events: broadcast::Sender<Arc<VenueEvent>>,
    pub requests: Vec<RequestLog>,
    pub recent: VecDeque<Instant>,
    /// Requests received per endpoint class (fault ordinals).
    pub rest_counts: BTreeMap<&'static str, u64>,
    /// Client order ids whose creates are lost (a `lost` fault on one of them).
    pub lost_client_ids: std::collections::BTreeSet<String>,
    /// The ledger changed since it was last saved.
    pub dirty: bool,
}

impl Venue {
    pub fn emit(&mut self, make: impl FnOnce(u64) -> VenueEvent) {
        self.tick += 1;
        // No receiver is fine: nobody is connected.
        let _ = self.events.send(Arc::new(make(self.tick)));
    }

    /// Publishes order `order_id` as it is now.
    pub fn publish(&mut self, terms: &Terms<'_>, order_id: &str, now_ns: u64) {
        let Some(order) = self.ledger.orders.get(order_id) else {
            return;
        };
        let Some(rules) = terms.rules.get(&order.product_id) else {
            return;
        };
        let json = user_order_json(order, rules, terms.taker_fee_bps);
        let product_id = order.product_id.clone();
        self.dirty = true;
        self.emit(|tick| VenueEvent::Order {
            tick,
            product_id,
            order: json,
            timestamp_ns: now_ns,
        });
    }

    /// Books one fill of `lots` at `ticks` to order `order_id`: the fill record, the order's
    /// cumulative figures and status, the balances; then publishes the order.
    pub fn fill(
        &mut self,
        terms: &Terms<'_>,
        order_id: &str,
        (ticks, lots): (i64, i64),
        maker: bool,
        now_ns: u64,
    ) {
        let Some(order) = self.ledger.orders.get_mut(order_id) else {
            return;
        };
        let Some(rules) = terms.rules.get(&order.product_id) else {
            return;
        };
        let bps = if maker {
            terms.maker_fee_bps
        } else {
            terms.taker_fee_bps
        };
        let value = notional(rules, ticks, lots);
        let commission = fee(value, bps);
        order.filled_lots += lots;
        order.fills += 1;
        order.filled_value += value;
        order.total_fees += commission;
        if order.filled_lots >= order.size_lots {
            order.status = "FILLED".to_owned();
        }
        let buy = order.is_buy();
        let (side, product_id) = (order.side.clone(), order.product_id.clone());
        let base = base_units(rules, lots);
        let (quote_delta, base_delta) = if buy {
            (-(value + commission), base)
        } else {
            (value - commission, -base)
        };
        *self
            .ledger
            .balances
            .entry(rules.quote_currency.clone())
            .or_default() += quote_delta;
        *self
            .ledger
            .balances
            .entry(rules.base_currency.clone())
            .or_default() += base_delta;
        self.ledger.next_fill += 1;
        let number = self.ledger.next_fill;
        let time = format_rfc3339_ns(now_ns);
        self.ledger.fills.push(SimFill {
            trade_id: format!("7e1d0000-0000-4000-8000-{number:012x}"),
            entry_id: format!("e1e10000-0000-4000-8000-{number:012x}"),
            order_id: order_id.to_owned(),
            product_id,
            side,
            price: rules.price_increment.display(ticks).to_string(),
            size: rules.base_increment.display(lots).to_string(),
            commission: money_text(commission),
            liquidity_indicator: if maker { "MAKER" } else { "TAKER" }.to_owned(),
            trade_time: time.clone(),
            sequence_timestamp: time,
        });
        self.publish(terms, order_id, now_ns);
    }

    /// Executes a new order already in the ledger: market, IOC and FOK orders and the
    /// crossing part of a limit GTC/GTD take liquidity from the book (a FOK all or
    /// nothing); an IOC's or market order's rest is cancelled, a limit order's rest rests.
    pub fn execute(&mut self, terms: &Terms<'_>, order_id: &str, checked: &Checked, now_ns: u64) {
        let Some(product_id) = self
            .ledger
            .orders
            .get(order_id)
            .map(|o| o.product_id.clone())
        else {
            return;
        };
        let takes = checked.kind != "stop_limit_stop_limit_gtc";
        let fill_or_kill = checked.kind == "limit_limit_fok";
        let immediate = matches!(checked.kind.as_str(), "market_market_ioc" | "sor_limit_ioc");
        let taken = match self.books.get_mut(&product_id).filter(|_| takes) {
            None => Vec::new(),
            Some(book)
                if fill_or_kill
                    && book.available(checked.buy, checked.limit_ticks) < checked.lots =>
            {
                Vec::new()
            }
            Some(book) => book.take(checked.buy, checked.limit_ticks, checked.lots),
        };
        for level in taken {
            self.fill(terms, order_id, level, false, now_ns);
        }
        if let Some(order) = self.ledger.orders.get_mut(order_id)
            && order.is_open()
            && (immediate || fill_or_kill)
        {
            order.status = "CANCELLED".to_owned();
            order.cancel_reason = "IOC/FOK order not fully filled".to_owned();
            self.publish(terms, order_id, now_ns);
        }
    }

    /// Open resting limit orders of `product_id` that `matches` accepts, best price first,
    /// then oldest first: `(order_id, buy, limit_ticks, leaves_lots)`.
    fn resting(
        &self,
        product_id: &str,
        created_by_ns: u64,
        matches: impl Fn(bool, i64) -> bool,
    ) -> Vec<(String, bool, i64, i64)> {
        let mut list: Vec<_> = self
            .ledger
            .orders
            .values()
            .filter(|o| o.is_open() && o.product_id == product_id && o.created_ns <= created_by_ns)
            .filter(|o| match o.kind.as_str() {
                "limit_limit_gtc" | "limit_limit_gtd" => true,
                "stop_limit_stop_limit_gtc" => o.triggered,
                _ => false,
            })
            .filter_map(|o| {
                let ticks = o.limit_ticks?;
                matches(o.is_buy(), ticks)
                    .then(|| (o.order_id.clone(), o.is_buy(), ticks, o.leaves_lots()))
            })
            .collect();
        list.sort_by_key(|(id, buy, ticks, _)| (if *buy { -ticks } else { *ticks }, id.clone()));
        list
    }

    /// Triggers stop orders a replayed print reached (stop up: print at or above the stop;
    /// down: at or below); a triggered order takes the book up to its limit as taker, and
    /// what is left rests as a limit GTC order.
    pub fn trigger_stops(&mut self, terms: &Terms<'_>, print: &Print, at: Moment) {
        let now_ns = at.now_ns;
        let reached: Vec<(String, bool, i64, i64)> = self
            .ledger
            .orders
            .values()
            .filter(|o| o.is_open() && !o.triggered && o.product_id == print.product_id)
            .filter(|o| o.created_ns <= at.frame_ns)
            .filter_map(|o| {
                let stop = o.stop_ticks?;
                let hit = if o.stop_up {
                    print.price_ticks >= stop
                } else {
                    print.price_ticks <= stop
                };
                let limit = o.limit_ticks?;
                hit.then(|| (o.order_id.clone(), o.is_buy(), limit, o.leaves_lots()))
            })
            .collect();
        for (order_id, buy, limit, leaves) in reached {
            if let Some(order) = self.ledger.orders.get_mut(&order_id) {
                order.triggered = true;
            }
            self.publish(terms, &order_id, now_ns);
            let taken = self
                .books
                .get_mut(&print.product_id)
                .map(|book| book.take(buy, Some(limit), leaves))
                .unwrap_or_default();
            for level in taken {
                self.fill(terms, &order_id, level, false, now_ns);
            }
        }
    }

    /// Fills resting orders a replayed print traded through (a buy at P by a print at or
    /// below P, a sell at P by one at or above P), at their limit price as maker, sharing
    /// the print's size best price first.
    pub fn match_print(&mut self, terms: &Terms<'_>, print: &Print, at: Moment) {
        let now_ns = at.now_ns;
        let through = |buy: bool, limit: i64| {
            if buy {
                print.price_ticks <= limit
            } else {
                print.price_ticks >= limit
            }
        };
        let mut left = print.size_lots;
        for (order_id, _, ticks, leaves) in self.resting(&print.product_id, at.frame_ns, through) {
            if left == 0 {
                break;
            }
            let lots = leaves.min(left);
            left -= lots;
            self.fill(terms, &order_id, (ticks, lots), true, now_ns);
        }
    }

    /// Fills resting orders the replayed book now crosses (best ask at or below our bid:
    /// we are hit), at their limit price as maker, consuming the crossing levels.
    pub fn match_crossing(&mut self, terms: &Terms<'_>, product_id: &str, at: Moment) {
        let now_ns = at.now_ns;
        let Some(book) = self.books.get(product_id) else {
            return;
        };
        let (bid, ask) = (book.best_bid(), book.best_ask());
        let crossed = |buy: bool, limit: i64| {
            if buy {
                ask.is_some_and(|a| a <= limit)
            } else {
                bid.is_some_and(|b| b >= limit)
            }
        };
        for (order_id, buy, ticks, leaves) in self.resting(product_id, at.frame_ns, crossed) {
            let Some(book) = self.books.get_mut(product_id) else {
                return;
            };
            let lots: i64 = book
                .take(buy, Some(ticks), leaves)
                .iter()
                .map(|(_, l)| l)
                .sum();
            if lots > 0 {
                self.fill(terms, &order_id, (ticks, lots), true, now_ns);
            }
        }
    }

    /// Expires open GTD orders whose `end_time` is at or before `wall_now_ns` (the client
    /// sets it from the wall clock); an `end_time` that does not parse never expires.
    pub fn expire(&mut self, terms: &Terms<'_>, wall_now_ns: u64, now_ns: u64) {
        let due: Vec<String> = self
            .ledger
            .orders
            .values()
            .filter(|o| o.is_open() && o.kind == "limit_limit_gtd")
            .filter(|o| parse_rfc3339_ns(&o.end_time).is_some_and(|end| end <= wall_now_ns))
            .map(|o| o.order_id.clone())
            .collect();
        for order_id in due {
            if let Some(order) = self.ledger.orders.get_mut(&order_id) {
                order.status = "EXPIRED".to_owned();
            }
            self.publish(terms, &order_id, now_ns);
        }
    }

    /// Balance of `currency` minus what open orders hold of it, in Money units.
    pub fn available(&self, terms: &Terms<'_>, currency: &str) -> i128 {
        let held: i128 = self
            .ledger
            .orders
            .values()
            .filter(|o| o.is_open())
            .filter_map(|o| {
                let rules = terms.rules.get(&o.product_id)?;
                let held_currency = if o.is_buy() {
                    &rules.quote_currency
                } else {
                    &rules.base_currency
                };
                (held_currency == currency).then(|| hold_units(o, rules, terms.taker_fee_bps))
            })
            .sum();
        self.ledger.balances.get(currency).copied().unwrap_or(0) - held
    }

    /// Cancels order `order_id` if open; whether it was.
    pub fn cancel(&mut self, terms: &Terms<'_>, order_id: &str, now_ns: u64) -> Option<bool> {
        let order = self.ledger.orders.get_mut(order_id)?;
        if !order.is_open() {
            return Some(false);
        }
        order.status = "CANCELLED".to_owned();
        order.cancel_reason = "User requested cancel".to_owned();
        self.publish(terms, order_id, now_ns);
        Some(true)
    }
}
