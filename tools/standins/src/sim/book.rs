//! The venue's products in integers: each product's trading rules from the capture's
//! products response, its book in ticks and lots (which follows the replayed `l2_data` and
//! which taking orders consume), and the `market_trades` prints of the capture, parsed once
//! at start so the venue clock can match resting orders against them.
//!
//! Pure data; mutated only under the venue lock.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::Deserialize;
use traider_core::num::Increment;

use crate::replay::ReplayData;
use crate::replay::book::{L2Event, Side};

/// A product's trading rules, in integers.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    pub price_increment: Increment,
    pub base_increment: Increment,
    pub base_min_lots: i64,
    pub base_max_lots: i64,
    pub trading_disabled: bool,
    pub base_currency: String,
    pub quote_currency: String,
}

/// A product's book at the venue, in ticks and lots.
#[derive(Clone, Debug, Default)]
pub(crate) struct SimBook {
    pub bids: BTreeMap<Reverse<i64>, i64>,
    pub asks: BTreeMap<i64, i64>,
}

impl SimBook {
    pub fn best_bid(&self) -> Option<i64> {
        self.bids.keys().next().map(|Reverse(ticks)| *ticks)
    }

    pub fn best_ask(&self) -> Option<i64> {
        self.asks.keys().next().copied()
    }

    /// Applies one replayed `l2_data` event: a snapshot replaces the book, an update sets
    /// absolute sizes (zero removes). Levels off the product's increments are skipped.
    pub fn apply(&mut self, event: &L2Event, rules: &Rules) {
        if event.snapshot {
            self.bids.clear();
            self.asks.clear();
        }
        for update in &event.updates {
            let Ok(ticks) = rules.price_increment.parse_count(update.price.as_bytes()) else {
                continue;
            };
            let Ok(lots) = rules.base_increment.parse_count(update.quantity.as_bytes()) else {
                continue;
            };
            match (update.side, lots == 0) {
                (Side::Bid, true) => drop(self.bids.remove(&Reverse(ticks))),
                (Side::Bid, false) => drop(self.bids.insert(Reverse(ticks), lots)),
                (Side::Offer, true) => drop(self.asks.remove(&ticks)),
                (Side::Offer, false) => drop(self.asks.insert(ticks, lots)),
            }
        }
    }

    /// Lots available to a `buy` (or sell) at `limit` or better (`None`: any price).
    pub fn available(&self, buy: bool, limit: Option<i64>) -> i64 {
        if buy {
            self.asks
                .iter()
                .take_while(|(ticks, _)| limit.is_none_or(|l| **ticks <= l))
                .map(|(_, lots)| lots)
                .sum()
        } else {
            self.bids
                .iter()
                .take_while(|(Reverse(ticks), _)| limit.is_none_or(|l| *ticks >= l))
                .map(|(_, lots)| lots)
                .sum()
        }
    }

    /// What [`Self::take`] would take, without taking it.
    pub fn peek(&self, buy: bool, limit: Option<i64>, lots: i64) -> Vec<(i64, i64)> {
        let levels: Box<dyn Iterator<Item = (i64, i64)> + '_> = if buy {
            Box::new(self.asks.iter().map(|(t, l)| (*t, *l)))
        } else {
            Box::new(self.bids.iter().map(|(Reverse(t), l)| (*t, *l)))
        };
        let mut left = lots;
        let mut taken = Vec::new();
        for (ticks, size) in levels {
            let within = limit.is_none_or(|l| if buy { ticks <= l } else { ticks >= l });
            if left == 0 || !within {
                break;
            }
            let fill = size.min(left);
            left -= fill;
            taken.push((ticks, fill));
        }
        taken
    }

    /// Takes up to `lots` at `limit` or better, best price first; returns `(ticks, lots)`
    /// per level taken, and removes what it took from the book.
    pub fn take(&mut self, buy: bool, limit: Option<i64>, mut lots: i64) -> Vec<(i64, i64)> {
        let mut taken = Vec::new();
        while lots > 0 {
            let next = if buy {
                self.asks
                    .iter()
                    .next()
                    .map(|(t, l)| (*t, *l))
                    .filter(|(t, _)| limit.is_none_or(|l| *t <= l))
            } else {
                self.bids
                    .iter()
                    .next()
                    .map(|(Reverse(t), l)| (*t, *l))
                    .filter(|(t, _)| limit.is_none_or(|l| *t >= l))
            };
            let Some((ticks, size)) = next else { break };
            let fill = size.min(lots);
            lots -= fill;
            taken.push((ticks, fill));
            if buy {
                if fill == size {
                    self.asks.remove(&ticks);
                } else {
                    self.asks.insert(ticks, size - fill);
                }
            } else if fill == size {
                self.bids.remove(&Reverse(ticks));
            } else {
                self.bids.insert(Reverse(ticks), size - fill);
            }
        }
        taken
    }
}

/// One replayed `market_trades` print, in integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Print {
    pub product_id: String,
    pub price_ticks: i64,
    pub size_lots: i64,
}

#[derive(Deserialize)]
struct ProductsBody {
    products: Vec<ProductJson>,
}

#[derive(Deserialize)]
struct ProductJson {
    product_id: String,
    #[serde(default)]
    price_increment: String,
    #[serde(default)]
    quote_increment: String,
    base_increment: String,
    base_min_size: String,
    base_max_size: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    trading_disabled: bool,
    #[serde(default)]
    base_currency_id: String,
    #[serde(default)]
    quote_currency_id: String,
}

/// The product rules of `data` (products whose increments do not parse are left out).
pub(crate) fn rules_of(data: &ReplayData) -> anyhow::Result<BTreeMap<String, Rules>> {
    let body = data
        .products_body
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the capture holds no products response"))?;
    let products: ProductsBody = serde_json::from_str(body)?;
    let mut rules = BTreeMap::new();
    for product in products.products {
        let price_text = if product.price_increment.is_empty() {
            &product.quote_increment
        } else {
            &product.price_increment
        };
        let (Ok(price_increment), Ok(base_increment)) = (
            Increment::parse(price_text),
            Increment::parse(&product.base_increment),
        ) else {
            continue;
        };
        let lots = |text: &str| base_increment.parse_count(text.as_bytes()).ok();
        let (Some(base_min_lots), Some(base_max_lots)) =
            (lots(&product.base_min_size), lots(&product.base_max_size))
        else {
            continue;
        };
        let mut halves = product.product_id.splitn(2, '-');
        let base_guess = halves.next().unwrap_or_default().to_owned();
        let quote_guess = halves.next().unwrap_or_default().to_owned();
        let or = |text: String, guess: String| if text.is_empty() { guess } else { text };
        rules.insert(
            product.product_id.clone(),
            Rules {
                price_increment,
                base_increment,
                base_min_lots,
                base_max_lots,
                trading_disabled: product.trading_disabled
                    || !product.status.eq_ignore_ascii_case("online"),
                base_currency: or(product.base_currency_id, base_guess),
                quote_currency: or(product.quote_currency_id, quote_guess),
            },
        );
    }
    Ok(rules)
}

#[derive(Deserialize)]
struct TradesFrame {
    #[serde(default)]
    events: Vec<TradesEvent>,
}

#[derive(Deserialize)]
struct TradesEvent {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    trades: Vec<TradeJson>,
}

#[derive(Deserialize)]
struct TradeJson {
    product_id: String,
    price: String,
    size: String,
}

/// The prints of every recorded `market_trades` update frame, by frame index, oldest first
/// (the venue lists a message's trades newest first). Snapshots (trades from before the
/// recording) and prints off the product's increments are left out.
pub(crate) fn prints_of(
    data: &ReplayData,
    rules: &BTreeMap<String, Rules>,
) -> BTreeMap<usize, Vec<Print>> {
    let mut prints = BTreeMap::new();
    for (index, frame) in data.frames.iter().enumerate() {
        if frame.channel != "market_trades" {
            continue;
        }
        let Ok(parsed) = serde_json::from_str::<TradesFrame>(&frame.text) else {
            continue;
        };
        let mut list = Vec::new();
        for event in parsed.events.iter().filter(|e| e.kind == "update") {
            for trade in event.trades.iter().rev() {
                let Some(rules) = rules.get(&trade.product_id) else {
                    continue;
                };
                let ticks = rules.price_increment.parse_count(trade.price.as_bytes());
                let lots = rules.base_increment.parse_count(trade.size.as_bytes());
                if let (Ok(price_ticks), Ok(size_lots)) = (ticks, lots) {
                    list.push(Print {
                        product_id: trade.product_id.clone(),
                        price_ticks,
                        size_lots,
                    });
                }
            }
        }
        if !list.is_empty() {
            prints.insert(index, list);
        }
    }
    prints
}
