//! The replay server's mirror of every product's level-2 book, and the `l2_data` snapshots
//! it synthesizes from it when a client resubscribes.
//!
//! Runs on each connection's tokio task (one mirror per connection, since each connection is
//! at its own point of the recording). Levels are keyed by an exact integer (the decimal
//! price scaled by 10^18), never by a float; the original price and size strings are kept
//! for output, so a synthesized snapshot prints levels byte-identical to the recording.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

/// Fractional digits a price key keeps; a price with more is rejected at load.
pub const DECIMAL_SCALE_DIGITS: usize = 18;

/// A non-negative decimal string as an integer scaled by 10^[`DECIMAL_SCALE_DIGITS`];
/// `None` for anything else (signs, exponents, too many digits, empty parts).
pub fn parse_decimal_key(text: &str) -> Option<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return None;
    }
    if text.contains('.') && fraction.is_empty() || fraction.len() > DECIMAL_SCALE_DIGITS {
        return None;
    }
    let mut key: i128 = 0;
    for byte in whole.bytes().chain(fraction.bytes()) {
        key = key.checked_mul(10)?.checked_add(i128::from(byte - b'0'))?;
    }
    key.checked_mul(10i128.pow((DECIMAL_SCALE_DIGITS - fraction.len()) as u32))
}

/// Book side, spelled as level2 spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Bid,
    Offer,
}

impl Side {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "bid" => Some(Self::Bid),
            "offer" => Some(Self::Offer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bid => "bid",
            Self::Offer => "offer",
        }
    }
}

/// One level change of an `l2_data` event, parsed at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelUpdate {
    pub side: Side,
    pub price_key: i128,
    pub price: Arc<str>,
    pub quantity: Arc<str>,
    /// The quantity is zero: remove the level.
    pub delete: bool,
}

/// One `l2_data` event (snapshot or update), parsed at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L2Event {
    pub product_id: String,
    pub snapshot: bool,
    /// The first update's `event_time` (a snapshot's levels share one).
    pub event_time: Arc<str>,
    pub updates: Vec<LevelUpdate>,
}

#[derive(Clone, Debug)]
struct Level {
    price: Arc<str>,
    quantity: Arc<str>,
}

#[derive(Clone, Debug, Default)]
struct ProductBook {
    bids: BTreeMap<Reverse<i128>, Level>,
    offers: BTreeMap<i128, Level>,
    event_time: Arc<str>,
}

/// Every product's book as the venue holds it at the replay's current position.
#[derive(Clone, Debug, Default)]
pub struct BookMirror {
    books: BTreeMap<String, ProductBook>,
}

/// `(price, quantity)` strings of one level.
pub type LevelText<'a> = (&'a str, &'a str);

impl BookMirror {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event: a snapshot replaces the product's book, an update sets absolute
    /// sizes and removes zero-size levels.
    pub fn apply(&mut self, event: &L2Event) {
        let book = self.books.entry(event.product_id.clone()).or_default();
        if event.snapshot {
            book.bids.clear();
            book.offers.clear();
        }
        book.event_time = event.event_time.clone();
        for update in &event.updates {
            let level = Level {
                price: update.price.clone(),
                quantity: update.quantity.clone(),
            };
            match (update.side, update.delete) {
                (Side::Bid, true) => drop(book.bids.remove(&Reverse(update.price_key))),
                (Side::Bid, false) => drop(book.bids.insert(Reverse(update.price_key), level)),
                (Side::Offer, true) => drop(book.offers.remove(&update.price_key)),
                (Side::Offer, false) => drop(book.offers.insert(update.price_key, level)),
            }
        }
    }

    /// Whether a snapshot of `product_id` has been applied.
    pub fn contains(&self, product_id: &str) -> bool {
        self.books.contains_key(product_id)
    }

    /// `(bid levels, offer levels)`.
    pub fn depth(&self, product_id: &str) -> Option<(usize, usize)> {
        self.books
            .get(product_id)
            .map(|b| (b.bids.len(), b.offers.len()))
    }

    /// Every level of `product_id`, best first: `(bids, offers)`.
    pub fn levels(&self, product_id: &str) -> Option<(Vec<LevelText<'_>>, Vec<LevelText<'_>>)> {
        let book = self.books.get(product_id)?;
        fn text(level: &Level) -> LevelText<'_> {
            (&level.price, &level.quantity)
        }
        Some((
            book.bids.values().map(text).collect(),
            book.offers.values().map(text).collect(),
        ))
    }

    /// Best bid and best offer.
    pub fn best(&self, product_id: &str) -> Option<(Option<LevelText<'_>>, Option<LevelText<'_>>)> {
        let book = self.books.get(product_id)?;
        fn text(level: &Level) -> LevelText<'_> {
            (&level.price, &level.quantity)
        }
        Some((
            book.bids.values().next().map(text),
            book.offers.values().next().map(text),
        ))
    }

    /// A fresh `l2_data` snapshot frame of `product_id`, shaped like the recorded ones:
    /// bids best-first, then offers best-first, every level stamped with the product's last
    /// `event_time`.
    pub fn snapshot_frame(
        &self,
        product_id: &str,
        timestamp: &str,
        sequence_num: u64,
    ) -> Option<String> {
        let book = self.books.get(product_id)?;
        let event_time = &*book.event_time;
        let bids = book
            .bids
            .values()
            .map(|l| SnapshotLevel::new(Side::Bid, event_time, l));
        let offers = book
            .offers
            .values()
            .map(|l| SnapshotLevel::new(Side::Offer, event_time, l));
        let frame = SnapshotFrame {
            channel: "l2_data",
            timestamp,
            sequence_num,
            events: [SnapshotEvent {
                kind: "snapshot",
                product_id,
                updates: bids.chain(offers).collect(),
            }],
        };
        Some(serde_json::to_string(&frame).expect("a struct of strings always serializes"))
    }
}

#[derive(Serialize)]
struct SnapshotFrame<'a> {
    channel: &'a str,
    timestamp: &'a str,
    sequence_num: u64,
    events: [SnapshotEvent<'a>; 1],
}

#[derive(Serialize)]
struct SnapshotEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    product_id: &'a str,
    updates: Vec<SnapshotLevel<'a>>,
}

#[derive(Serialize)]
struct SnapshotLevel<'a> {
    side: &'a str,
    event_time: &'a str,
    price_level: &'a str,
    new_quantity: &'a str,
}

impl<'a> SnapshotLevel<'a> {
    fn new(side: Side, event_time: &'a str, level: &'a Level) -> Self {
        Self {
            side: side.as_str(),
            event_time,
            price_level: &level.price,
            new_quantity: &level.quantity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(side: Side, price: &str, quantity: &str) -> LevelUpdate {
        LevelUpdate {
            side,
            price_key: parse_decimal_key(price).expect("price"),
            price: price.into(),
            quantity: quantity.into(),
            delete: parse_decimal_key(quantity) == Some(0),
        }
    }

    #[test]
    fn decimal_keys_are_exact_and_order_like_numbers() {
        // Proves price keys are exact, ignore trailing zeros, order numerically, and refuse junk.
        assert_eq!(
            parse_decimal_key("65083.66"),
            Some(65_083_660_000_000_000_000_000)
        );
        assert_eq!(
            parse_decimal_key("65083.660"),
            parse_decimal_key("65083.66")
        );
        assert!(parse_decimal_key("1916.6") > parse_decimal_key("1916.59"));
        assert_eq!(parse_decimal_key("0"), Some(0));
        for bad in ["", ".5", "5.", "-1", "1e3", "1.0000000000000000001", "1,5"] {
            assert_eq!(parse_decimal_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn mirror_applies_snapshot_updates_and_deletes_then_synthesizes_best_first() {
        // Proves the mirror applies sets/deletes and prints bids then offers, best first.
        let mut mirror = BookMirror::new();
        let snapshot = L2Event {
            product_id: "X".into(),
            snapshot: true,
            event_time: "t0".into(),
            updates: vec![
                update(Side::Bid, "9.5", "1"),
                update(Side::Bid, "10", "2"),
                update(Side::Offer, "11", "3"),
            ],
        };
        mirror.apply(&snapshot);
        let changes = L2Event {
            product_id: "X".into(),
            snapshot: false,
            event_time: "t1".into(),
            updates: vec![
                update(Side::Bid, "10.00", "0"),
                update(Side::Offer, "10.5", "4"),
            ],
        };
        mirror.apply(&changes);
        assert_eq!(mirror.depth("X"), Some((1, 2)));
        assert_eq!(
            mirror.best("X"),
            Some((Some(("9.5", "1")), Some(("10.5", "4"))))
        );
        let frame = mirror.snapshot_frame("X", "ts", 7).expect("known product");
        assert_eq!(
            frame,
            r#"{"channel":"l2_data","timestamp":"ts","sequence_num":7,"events":[{"type":"snapshot","product_id":"X","updates":[{"side":"bid","event_time":"t1","price_level":"9.5","new_quantity":"1"},{"side":"offer","event_time":"t1","price_level":"10.5","new_quantity":"4"},{"side":"offer","event_time":"t1","price_level":"11","new_quantity":"3"}]}]}"#
        );
        assert_eq!(mirror.snapshot_frame("Y", "ts", 7), None);
    }
}
