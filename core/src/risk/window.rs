//! Sliding windows over event time: how many things happened recently, and which orders
//! were just sent. Fixed rings allocated at start-up; a limit can change at runtime up to
//! the ring's size without anything growing.

use crate::event::Side;
use crate::instrument::InstrumentId;
use crate::request::OrderRequest;

/// Slots of a rate ring: the largest per-window count any rate limit can be set to.
pub const RATE_SLOTS: usize = 10_000;

/// Orders remembered for duplicate detection.
pub const RECENT_ORDERS: usize = 256;

/// The times of the most recent events (up to [`RATE_SLOTS`]), oldest overwritten first.
#[derive(Clone, Debug)]
pub struct RateWindow {
    times_ns: Vec<u64>,
    next: usize,
    len: usize,
}

impl Default for RateWindow {
    fn default() -> Self {
        Self {
            times_ns: vec![0; RATE_SLOTS],
            next: 0,
            len: 0,
        }
    }
}

impl RateWindow {
    /// Whether one more event at `now_ns` keeps the count within `window_ns` at most
    /// `limit` (a limit of 0 allows nothing; above [`RATE_SLOTS`] counts as that).
    pub fn allows(&self, now_ns: u64, window_ns: u64, limit: u32) -> bool {
        let limit = (limit as usize).min(RATE_SLOTS);
        if limit == 0 {
            return false;
        }
        if self.len < limit {
            return true;
        }
        // The `limit`-th most recent event must have left the window.
        let index = (self.next + RATE_SLOTS - limit) % RATE_SLOTS;
        now_ns.saturating_sub(self.times_ns[index]) >= window_ns
    }

    /// Events within `window_ns` before `now_ns` (counted up to `limit`).
    pub fn count(&self, now_ns: u64, window_ns: u64, limit: u32) -> u32 {
        let mut count = 0;
        let mut index = self.next;
        for _ in 0..self.len.min(limit as usize) {
            index = (index + RATE_SLOTS - 1) % RATE_SLOTS;
            if now_ns.saturating_sub(self.times_ns[index]) >= window_ns {
                break;
            }
            count += 1;
        }
        count
    }

    pub fn record(&mut self, now_ns: u64) {
        self.times_ns[self.next] = now_ns;
        self.next = (self.next + 1) % RATE_SLOTS;
        self.len = (self.len + 1).min(RATE_SLOTS);
    }

    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.usize(self.len);
        let mut index = self.next;
        for _ in 0..self.len {
            index = (index + RATE_SLOTS - 1) % RATE_SLOTS;
            h.u64(self.times_ns[index]);
        }
    }
}

/// The terms of the most recently approved orders, to refuse the same order twice in a
/// short window (a strategy loop, a repeated signal).
#[derive(Clone, Debug)]
pub struct RecentOrders {
    orders: Vec<(u64, InstrumentId, Side, i64, i64)>,
    next: usize,
}

impl Default for RecentOrders {
    fn default() -> Self {
        Self {
            orders: Vec::with_capacity(RECENT_ORDERS),
            next: 0,
        }
    }
}

impl RecentOrders {
    /// Whether an order with `request`'s instrument, side, price and size was approved
    /// less than `window_ns` ago. Walks newest first and stops at the first order out of
    /// the window (they are recorded in time order), so it costs what the window holds.
    pub fn is_duplicate(&self, request: &OrderRequest, now_ns: u64, window_ns: u64) -> bool {
        if window_ns == 0 {
            return false;
        }
        let len = self.orders.len();
        for back in 1..=len {
            let (at, instrument, side, price, size) = self.orders[(self.next + len - back) % len];
            if now_ns.saturating_sub(at) >= window_ns {
                return false;
            }
            if instrument == request.instrument
                && side == request.side
                && price == request.price_ticks
                && size == request.size_lots
            {
                return true;
            }
        }
        false
    }

    pub fn record(&mut self, request: &OrderRequest, now_ns: u64) {
        let entry = (
            now_ns,
            request.instrument,
            request.side,
            request.price_ticks,
            request.size_lots,
        );
        if self.orders.len() < RECENT_ORDERS {
            self.orders.push(entry);
        } else {
            self.orders[self.next] = entry;
        }
        self.next = (self.next + 1) % RECENT_ORDERS;
    }

    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.usize(self.orders.len());
        h.usize(self.next);
        for &(at, instrument, side, price, size) in &self.orders {
            h.u64(at);
            h.u16(instrument.0);
            h.u8(side as u8);
            h.i64(price);
            h.i64(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::TimeInForce;

    const S: u64 = 1_000_000_000;

    // Proves the window counts exactly: `limit` events within the window block the next
    // one until the oldest of them is a full window old; a limit changed at runtime is
    // honoured without resizing; 0 allows nothing.
    #[test]
    fn rate_window_is_exact_at_its_edge() {
        let mut window = RateWindow::default();
        assert!(window.allows(0, S, 2));
        window.record(10);
        window.record(20);
        assert!(!window.allows(10 + S - 1, S, 2));
        assert!(window.allows(10 + S, S, 2), "the oldest left the window");
        assert!(window.allows(10 + S - 1, S, 3), "a higher limit at runtime");
        assert!(!window.allows(30, S, 1));
        assert!(!window.allows(30, S, 0));
        assert_eq!(window.count(25, S, 10), 2);
        assert_eq!(window.count(15 + S, S, 10), 1);
    }

    // Proves the ring keeps the newest RATE_SLOTS events: a limit at the ring's size still
    // sees the right oldest event after the ring wrapped.
    #[test]
    fn rate_window_wraps() {
        let mut window = RateWindow::default();
        for t in 0..(RATE_SLOTS as u64 + 5) {
            window.record(t);
        }
        let limit = RATE_SLOTS as u32;
        // The oldest kept is t = 5.
        assert!(!window.allows(5 + S - 1, S, limit));
        assert!(window.allows(5 + S, S, limit));
    }

    // Proves only an order with the same instrument, side, price and size within the
    // window is a duplicate, and a window of 0 turns the check off.
    #[test]
    fn duplicates_match_all_terms_within_the_window() {
        let request = OrderRequest {
            instrument: InstrumentId(0),
            side: Side::Buy,
            price_ticks: 100,
            size_lots: 5,
            time_in_force: TimeInForce::GoodTillCancel,
            post_only: true,
        };
        let mut recent = RecentOrders::default();
        recent.record(&request, 1_000);
        assert!(recent.is_duplicate(&request, 1_000 + 499, 500));
        assert!(!recent.is_duplicate(&request, 1_000 + 500, 500));
        assert!(!recent.is_duplicate(&request, 1_001, 0));
        // After the ring wrapped, the newest orders are still found and the scan stops at
        // the first one out of the window.
        let mut recent = RecentOrders::default();
        for n in 0..(RECENT_ORDERS as i64 + 10) {
            let order = OrderRequest {
                price_ticks: 1_000 + n,
                ..request
            };
            recent.record(&order, 1_000 + n as u64);
        }
        let newest = OrderRequest {
            price_ticks: 1_000 + RECENT_ORDERS as i64 + 9,
            ..request
        };
        let evicted = OrderRequest {
            price_ticks: 1_000,
            ..request
        };
        assert!(recent.is_duplicate(&newest, 2_000, 10_000));
        assert!(!recent.is_duplicate(&evicted, 2_000, 10_000));
        assert!(
            !recent.is_duplicate(&newest, 1_000_000, 10_000),
            "out of the window"
        );
        let recent = {
            let mut r = RecentOrders::default();
            r.record(&request, 1_000);
            r
        };
        for other in [
            OrderRequest {
                price_ticks: 101,
                ..request
            },
            OrderRequest {
                size_lots: 6,
                ..request
            },
            OrderRequest {
                side: Side::Sell,
                ..request
            },
            OrderRequest {
                instrument: InstrumentId(1),
                ..request
            },
        ] {
            assert!(!recent.is_duplicate(&other, 1_001, 500), "{other:?}");
        }
    }
}
