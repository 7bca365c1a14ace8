//! The L2 order book of one instrument: full depth, absolute sizes, integer ticks and lots.
//!
//! A book is *synced* after a snapshot and stays synced while its feed is gap-free. Any
//! gap, disconnect or heartbeat silence on its connection makes it stale until the next
//! snapshot; risk refuses to trade off a stale book.

use crate::event::{LevelChange, Side};
use crate::ladder::{Ladder, LadderFull, SetOutcome};

crate::wire::code_enum! {
    /// Why a book is not fit to trade on.
    pub enum StaleCause {
        /// No snapshot received yet on the current connection.
        AwaitingSnapshot = 1 "awaiting_snapshot",
        /// A `sequence_num` gap on its connection.
        SequenceGap = 2 "sequence_gap",
        /// Its connection closed.
        Disconnected = 3 "disconnected",
        /// Its connection's heartbeats stopped.
        HeartbeatSilence = 4 "heartbeat_silence",
        /// An update could not be applied (capacity or malformed levels).
        BadUpdate = 5 "bad_update",
    }
}

/// Best bid and ask with sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Top {
    pub bid_ticks: i64,
    pub bid_lots: i64,
    pub ask_ticks: i64,
    pub ask_lots: i64,
}

impl Top {
    /// Twice the mid price, in ticks (exact: no half ticks lost).
    pub fn mid_ticks_x2(&self) -> i64 {
        self.bid_ticks + self.ask_ticks
    }
}

pub struct OrderBook {
    bids: Ladder,
    asks: Ladder,
    stale: Option<StaleCause>,
    /// Sequencer time of the last message that changed this book.
    pub updated_ns: u64,
    /// Messages applied since start (snapshots and updates).
    pub messages: u64,
}

impl OrderBook {
    pub fn with_capacity(levels_max_per_side: usize) -> Self {
        Self {
            bids: Ladder::with_capacity(levels_max_per_side),
            asks: Ladder::with_capacity(levels_max_per_side),
            stale: Some(StaleCause::AwaitingSnapshot),
            updated_ns: 0,
            messages: 0,
        }
    }

    /// `None` when synced; otherwise why not.
    pub fn stale(&self) -> Option<StaleCause> {
        self.stale
    }

    pub fn mark_stale(&mut self, cause: StaleCause) {
        if self.stale.is_none() {
            self.stale = Some(cause);
        }
    }

    /// Replaces the book with a snapshot and marks it synced.
    pub fn apply_snapshot(
        &mut self,
        levels: &[LevelChange],
        now_ns: u64,
    ) -> Result<(), LadderFull> {
        let bids = levels
            .iter()
            .filter(|l| l.side == Side::Buy)
            .map(|l| (l.price_ticks, l.size_lots));
        let asks = levels
            .iter()
            .filter(|l| l.side == Side::Sell)
            .map(|l| (-l.price_ticks, l.size_lots));
        let loaded = self
            .bids
            .load_descending(bids)
            .and_then(|bids_sorted| Ok(bids_sorted && self.asks.load_descending(asks)?));
        let result = match loaded {
            Ok(true) => Ok(()),
            // Not in the venue's usual order: build it level by level.
            Ok(false) => {
                self.bids.clear();
                self.asks.clear();
                self.apply_levels(levels)
            }
            Err(full) => Err(full),
        };
        self.messages += 1;
        self.updated_ns = now_ns;
        match result {
            Ok(()) => {
                self.stale = None;
                Ok(())
            }
            Err(full) => {
                self.stale = Some(StaleCause::BadUpdate);
                Err(full)
            }
        }
    }

    /// Applies absolute-size level changes (size 0 deletes).
    pub fn apply_update(&mut self, levels: &[LevelChange], now_ns: u64) -> Result<(), LadderFull> {
        let result = self.apply_levels(levels);
        self.messages += 1;
        self.updated_ns = now_ns;
        if result.is_err() {
            self.stale = Some(StaleCause::BadUpdate);
        }
        result
    }

    fn apply_levels(&mut self, levels: &[LevelChange]) -> Result<(), LadderFull> {
        for level in levels {
            let _: SetOutcome = match level.side {
                Side::Buy => self.bids.set(level.price_ticks, level.size_lots)?,
                Side::Sell => self.asks.set(-level.price_ticks, level.size_lots)?,
            };
        }
        Ok(())
    }

    #[inline]
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.best()
    }

    #[inline]
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.best().map(|(key, size)| (-key, size))
    }

    /// Best bid and ask when both sides have levels.
    #[inline]
    pub fn top(&self) -> Option<Top> {
        let (bid_ticks, bid_lots) = self.best_bid()?;
        let (ask_ticks, ask_lots) = self.best_ask()?;
        Some(Top {
            bid_ticks,
            bid_lots,
            ask_ticks,
            ask_lots,
        })
    }

    pub fn is_crossed(&self) -> bool {
        self.top().is_some_and(|top| top.bid_ticks >= top.ask_ticks)
    }

    pub fn bid_levels(&self) -> usize {
        self.bids.len()
    }

    pub fn ask_levels(&self) -> usize {
        self.asks.len()
    }

    /// Displayed size at a price on one side (0 when the level is empty).
    pub fn size_at(&self, side: Side, price_ticks: i64) -> i64 {
        match side {
            Side::Buy => self.bids.get(price_ticks),
            Side::Sell => self.asks.get(-price_ticks),
        }
        .unwrap_or(0)
    }

    /// Levels of one side from the best outwards, as (price_ticks, size_lots).
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (i64, i64)> + '_ {
        let (ladder, sign) = match side {
            Side::Buy => (&self.bids, 1),
            Side::Sell => (&self.asks, -1),
        };
        ladder
            .iter_from_best()
            .map(move |(key, size)| (key * sign, size))
    }

    /// Total size of the best `depth` levels of one side.
    pub fn depth_lots(&self, side: Side, depth: usize) -> i64 {
        self.levels(side).take(depth).map(|(_, size)| size).sum()
    }
}

impl OrderBook {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.u8(self.stale.map_or(0, |cause| cause as u8));
        h.u64(self.updated_ns);
        h.u64(self.messages);
        self.bids.digest(h);
        self.asks.digest(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(side: Side, price_ticks: i64, size_lots: i64) -> LevelChange {
        LevelChange {
            side,
            price_ticks,
            size_lots,
        }
    }

    // Proves snapshot + absolute updates + "0" deletes give the right top and depth.
    #[test]
    fn snapshot_then_updates() {
        let mut book = OrderBook::with_capacity(1000);
        assert_eq!(book.stale(), Some(StaleCause::AwaitingSnapshot));
        let snapshot = [
            level(Side::Buy, 100, 5),
            level(Side::Buy, 99, 7),
            level(Side::Sell, 101, 3),
            level(Side::Sell, 103, 4),
        ];
        book.apply_snapshot(&snapshot, 10).unwrap();
        assert_eq!(book.stale(), None);
        assert_eq!(
            book.top(),
            Some(Top {
                bid_ticks: 100,
                bid_lots: 5,
                ask_ticks: 101,
                ask_lots: 3
            })
        );
        book.apply_update(&[level(Side::Sell, 101, 0), level(Side::Buy, 100, 9)], 20)
            .unwrap();
        assert_eq!(book.best_ask(), Some((103, 4)));
        assert_eq!(book.best_bid(), Some((100, 9)));
        assert_eq!(book.depth_lots(Side::Buy, 2), 16);
        assert_eq!(book.size_at(Side::Sell, 103), 4);
        assert_eq!(book.updated_ns, 20);
        assert!(!book.is_crossed());
        // An unsorted snapshot still builds the same book.
        let unsorted = [
            level(Side::Sell, 103, 4),
            level(Side::Buy, 99, 7),
            level(Side::Buy, 100, 5),
        ];
        book.apply_snapshot(&unsorted, 30).unwrap();
        assert_eq!(
            book.top(),
            Some(Top {
                bid_ticks: 100,
                bid_lots: 5,
                ask_ticks: 103,
                ask_lots: 4
            })
        );
        assert_eq!(
            book.levels(Side::Buy).collect::<Vec<_>>(),
            vec![(100, 5), (99, 7)]
        );
    }

    // Proves a stale mark keeps its first cause and a snapshot clears it.
    #[test]
    fn stale_until_snapshot() {
        let mut book = OrderBook::with_capacity(10);
        book.apply_snapshot(&[level(Side::Buy, 1, 1)], 1).unwrap();
        book.mark_stale(StaleCause::SequenceGap);
        book.mark_stale(StaleCause::Disconnected);
        assert_eq!(book.stale(), Some(StaleCause::SequenceGap));
        book.apply_update(&[level(Side::Buy, 2, 1)], 2).unwrap();
        assert_eq!(book.stale(), Some(StaleCause::SequenceGap));
        book.apply_snapshot(&[level(Side::Buy, 1, 1)], 3).unwrap();
        assert_eq!(book.stale(), None);
    }
}
