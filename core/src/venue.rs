//! What a live venue tells the engine, as journaled inputs.
//!
//! In live mode the engine has no simulated venue: the order sender and the user-channel
//! client (cold threads) turn the venue's answers into [`VenueEvent`]s and publish them into
//! the input ring like market data. They are journaled as `venue` inputs
//! ([`crate::record`]), so a replay of the journal rebuilds the orders, fills and positions
//! exactly, without the venue.
//!
//! The same input carries trading-gate changes: live trading starts closed (no new orders)
//! until startup reconciliation opens it, and the dead-man switch closes it (cancelling
//! every open order) when the venue's feeds go silent.

use crate::num::Money;
use crate::order::{ClientOrderId, OrderRequest};
use crate::sim::{Liquidity, VenueReject};

crate::wire::code_enum! {
    /// Why the trading gate moved.
    pub enum GateCause {
        /// Live trading starts closed: nothing is sent before startup reconciliation.
        Startup = 1 "startup",
        /// Startup reconciliation explained every difference with the venue.
        Reconciled = 2 "reconciled",
        /// Startup reconciliation found a difference it cannot explain: trading stays closed.
        ReconcileFailed = 3 "reconcile_failed",
        /// Dead-man switch: the user channel (or its heartbeats) went silent past the limit.
        UserChannelSilent = 4 "user_channel_silent",
        /// Dead-man switch: the user channel lost messages (a sequence gap) and the order
        /// state could not be re-established.
        UserChannelGap = 5 "user_channel_gap",
        /// Dead-man switch: market data is down or stale.
        MarketDataDown = 6 "market_data_down",
        /// The feeds are healthy again.
        FeedsHealthy = 7 "feeds_healthy",
        /// The venue refuses our requests (authentication, or persistent errors).
        VenueUnavailable = 8 "venue_unavailable",
        /// The daemon is stopping: open orders are cancelled before it exits.
        Shutdown = 9 "shutdown",
    }
}

crate::wire::wire_union! {
    /// One report from the live venue (or a gate change), as the hot path receives it.
    /// Journaled as a `venue` input: its tag, then its fields in the order listed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(untagged)]
    pub enum VenueEvent, kinds VenueEventKind, reserved 1 {
        /// The venue has the order and it rests (create answered `success: true`, or the
        /// user channel or a query shows it open).
        Accepted = 1 "accepted" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// The venue refused the order, or reconciliation found it never arrived.
        Rejected = 2 "rejected" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            reason: VenueReject,
        },
        /// One execution. `trade_key` identifies it (a hash of the venue's trade id): the
        /// engine applies each key once, however often the venue or a reconnect reports it.
        Fill = 3 "fill" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            #[serde(serialize_with = "serialize_trade_key")]
            trade_key: u64,
            price_ticks: i64,
            size_lots: i64,
            liquidity: Liquidity,
            fee: Money,
        },
        /// The order is done without (further) fills: cancelled or expired at the venue.
        Cancelled = 4 "cancelled" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// A cancel failed because the order was already done.
        CancelRejected = 5 "cancel_rejected" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// A create got no answer after every retry: the order may or may not exist. It
        /// stays live (its size counts against the limits) until reconciliation resolves it.
        Unknown = 6 "unknown" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// Opens or closes the trading gate; closing with `cancel_all` cancels every open
        /// order.
        Gate = 7 "gate" { open: bool, cancel_all: bool, cause: GateCause },
        /// The venue applied the order's pending edit (its new price).
        Edited = 8 "edited" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// The venue refused the pending edit (the order keeps its price), or its answer
        /// was lost.
        EditRejected = 9 "edit_rejected" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
        },
        /// Reconciliation takes over an open order someone else placed at the venue
        /// (`unknown_orders = "adopt"`), under an id the cold side assigns past the
        /// journal's counter while the gate is closed. The order is taken whole: its fills,
        /// those before the adoption included, then arrive as [`VenueEvent::Fill`]s like
        /// any order's, so the position stays the sum of the fills of every order the engine
        /// holds. `venue_ref` is the venue's order id (a UUID as 128 bits), kept so a
        /// restart finds the order again.
        Adopted = 10 "adopted" {
            #[serde(rename = "client_order_id")]
            id: ClientOrderId,
            #[serde(flatten)]
            request: OrderRequest,
            #[serde(rename = "order_id", serialize_with = "crate::order::serialize_venue_ref")]
            venue_ref: u128,
        },
    }
}

/// The JSON form of a trade key: 16 hex digits.
fn serialize_trade_key<S: serde::Serializer>(key: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{key:016x}"))
}

/// The fills already applied, by (order, trade key): a fixed ring of the most recent
/// `capacity`, so a fill the venue reports twice (a reconnect's snapshot, the REST record
/// after the user channel's) moves the position once. Deterministic and allocation-free
/// after start-up; an entry leaves only after `capacity` newer fills.
#[derive(Clone, Debug)]
pub(crate) struct FillKeys {
    keys: Vec<(u64, u64)>,
    next: usize,
    capacity: usize,
}

impl FillKeys {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            keys: Vec::with_capacity(capacity),
            next: 0,
            capacity: capacity.max(1),
        }
    }

    /// Records `(id, key)`; `false` when it was already there.
    pub(crate) fn insert(&mut self, id: ClientOrderId, key: u64) -> bool {
        if self.keys.contains(&(id.0, key)) {
            return false;
        }
        if self.keys.len() < self.capacity {
            self.keys.push((id.0, key));
        } else {
            self.keys[self.next] = (id.0, key);
        }
        self.next = (self.next + 1) % self.capacity;
        true
    }

    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.usize(self.keys.len());
        h.usize(self.next);
        for &(id, key) in &self.keys {
            h.u64(id);
            h.u64(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a key is applied once while it is among the last `capacity`, and a full ring
    // forgets the oldest first.
    #[test]
    fn fill_keys_dedup_in_a_ring() {
        let a = ClientOrderId(1);
        let mut keys = FillKeys::new(2);
        assert!(keys.insert(a, 10));
        assert!(!keys.insert(a, 10));
        assert!(keys.insert(ClientOrderId(2), 10), "same key, other order");
        assert!(keys.insert(a, 11));
        assert!(keys.insert(a, 10), "the oldest entry was evicted");
        assert!(!keys.insert(a, 11));
    }
}
