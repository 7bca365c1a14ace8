//! What a live venue tells the engine, as journaled inputs.
//!
//! In live mode the engine has no simulated venue: the order sender and the user-channel
//! client (cold threads) turn the venue's answers into [`VenueEvent`]s and publish them into
//! the input ring like market data. They are journaled as inputs (record kind
//! [`crate::decision::record_kind::INPUT_VENUE`]), so a replay of the journal rebuilds the
//! orders, fills and positions exactly, without the venue.
//!
//! The same input carries trading-gate changes: live trading starts closed (no new orders)
//! until startup reconciliation opens it, and the dead-man switch closes it (cancelling
//! every open order) when the venue's feeds go silent.
//!
//! Payload layout (little-endian): a tag byte, then per tag:
//! - 1 accepted, 4 cancelled, 5 cancel rejected, 6 unknown: client order id u64;
//! - 2 rejected: id u64, [`VenueReject`] u8;
//! - 3 fill: id u64, trade key u64, price ticks i64, size lots i64, liquidity u8, fee i128;
//! - 7 gate: open u8 (0/1), cancel all u8 (0/1), [`GateCause`] u8;
//! - 8 edited, 9 edit rejected: id u64;
//! - 10 adopted: id u64, the order's terms (instrument u16, side u8, time in force u8,
//!   post-only u8, price ticks i64, size lots i64), venue order id u128.

use crate::decision::{DECISION_BYTES_MAX, Reader, Writer};
use crate::num::Money;
use crate::order::{ClientOrderId, OrderRequest};
use crate::sim::{Liquidity, VenueReject};

/// Why the trading gate moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum GateCause {
    /// Live trading starts closed: nothing is sent before startup reconciliation.
    Startup = 1,
    /// Startup reconciliation explained every difference with the venue.
    Reconciled = 2,
    /// Startup reconciliation found a difference it cannot explain: trading stays closed.
    ReconcileFailed = 3,
    /// Dead-man switch: the user channel (or its heartbeats) went silent past the limit.
    UserChannelSilent = 4,
    /// Dead-man switch: the user channel lost messages (a sequence gap) and the order state
    /// could not be re-established.
    UserChannelGap = 5,
    /// Dead-man switch: market data is down or stale.
    MarketDataDown = 6,
    /// The feeds are healthy again.
    FeedsHealthy = 7,
    /// The venue refuses our requests (authentication, or persistent errors).
    VenueUnavailable = 8,
    /// The daemon is stopping: open orders are cancelled before it exits.
    Shutdown = 9,
}

impl GateCause {
    pub fn from_u8(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Startup,
            2 => Self::Reconciled,
            3 => Self::ReconcileFailed,
            4 => Self::UserChannelSilent,
            5 => Self::UserChannelGap,
            6 => Self::MarketDataDown,
            7 => Self::FeedsHealthy,
            8 => Self::VenueUnavailable,
            9 => Self::Shutdown,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::Reconciled => "reconciled",
            Self::ReconcileFailed => "reconcile_failed",
            Self::UserChannelSilent => "user_channel_silent",
            Self::UserChannelGap => "user_channel_gap",
            Self::MarketDataDown => "market_data_down",
            Self::FeedsHealthy => "feeds_healthy",
            Self::VenueUnavailable => "venue_unavailable",
            Self::Shutdown => "shutdown",
        }
    }
}

/// One report from the live venue (or a gate change), as the hot path receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueEvent {
    /// The venue has the order and it rests (create answered `success: true`, or the user
    /// channel or a query shows it open).
    Accepted { id: ClientOrderId },
    /// The venue refused the order, or reconciliation found it never arrived.
    Rejected {
        id: ClientOrderId,
        reason: VenueReject,
    },
    /// One execution. `trade_key` identifies it (a hash of the venue's trade id): the engine
    /// applies each key once, however often the venue or a reconnect reports it.
    Fill {
        id: ClientOrderId,
        trade_key: u64,
        price_ticks: i64,
        size_lots: i64,
        liquidity: Liquidity,
        fee: Money,
    },
    /// The order is done without (further) fills: cancelled or expired at the venue.
    Cancelled { id: ClientOrderId },
    /// A cancel failed because the order was already done.
    CancelRejected { id: ClientOrderId },
    /// The venue applied the order's pending edit (its new price).
    Edited { id: ClientOrderId },
    /// The venue refused the pending edit (the order keeps its price), or its answer was
    /// lost.
    EditRejected { id: ClientOrderId },
    /// A create got no answer after every retry: the order may or may not exist. It stays
    /// live (its size counts against the limits) until reconciliation resolves it.
    Unknown { id: ClientOrderId },
    /// Reconciliation takes over an open order someone else placed at the venue
    /// (`unknown_orders = "adopt"`), under an id the cold side assigns past the journal's
    /// counter while the gate is closed. The order is taken whole: its fills, those before
    /// the adoption included, then arrive as [`VenueEvent::Fill`]s like any order's, so the
    /// position stays the sum of the fills of every order the engine holds. `venue_ref` is
    /// the venue's order id (a UUID as 128 bits), kept so a restart finds the order again.
    Adopted {
        id: ClientOrderId,
        request: OrderRequest,
        venue_ref: u128,
    },
    /// Opens or closes the trading gate; closing with `cancel_all` cancels every open order.
    Gate {
        open: bool,
        cancel_all: bool,
        cause: GateCause,
    },
}

impl VenueEvent {
    /// Writes the payload; returns its length.
    pub fn encode(&self, buf: &mut [u8; DECISION_BYTES_MAX]) -> usize {
        let mut w = Writer { buf, at: 0 };
        match *self {
            Self::Accepted { id } => {
                w.u8(1);
                w.u64(id.0);
            }
            Self::Rejected { id, reason } => {
                w.u8(2);
                w.u64(id.0);
                w.u8(reason as u8);
            }
            Self::Fill {
                id,
                trade_key,
                price_ticks,
                size_lots,
                liquidity,
                fee,
            } => {
                w.u8(3);
                w.u64(id.0);
                w.u64(trade_key);
                w.i64(price_ticks);
                w.i64(size_lots);
                w.u8(liquidity as u8);
                w.i128(fee.0);
            }
            Self::Cancelled { id } => {
                w.u8(4);
                w.u64(id.0);
            }
            Self::CancelRejected { id } => {
                w.u8(5);
                w.u64(id.0);
            }
            Self::Unknown { id } => {
                w.u8(6);
                w.u64(id.0);
            }
            Self::Edited { id } => {
                w.u8(8);
                w.u64(id.0);
            }
            Self::EditRejected { id } => {
                w.u8(9);
                w.u64(id.0);
            }
            Self::Adopted {
                id,
                request,
                venue_ref,
            } => {
                w.u8(10);
                w.u64(id.0);
                w.request(&request);
                w.u128(venue_ref);
            }
            Self::Gate {
                open,
                cancel_all,
                cause,
            } => {
                w.u8(7);
                w.u8(u8::from(open));
                w.u8(u8::from(cancel_all));
                w.u8(cause as u8);
            }
        }
        w.at
    }

    /// The encoded payload as a vector (cold path).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = [0_u8; DECISION_BYTES_MAX];
        let len = self.encode(&mut buf);
        buf[..len].to_vec()
    }

    /// Reads a payload back; `None` when it is not exactly one well-formed event.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let mut r = Reader {
            buf: payload,
            at: 0,
        };
        let event = match r.u8()? {
            1 => Self::Accepted {
                id: ClientOrderId(r.u64()?),
            },
            2 => Self::Rejected {
                id: ClientOrderId(r.u64()?),
                reason: VenueReject::from_u8(r.u8()?)?,
            },
            3 => Self::Fill {
                id: ClientOrderId(r.u64()?),
                trade_key: r.u64()?,
                price_ticks: r.i64()?,
                size_lots: r.i64()?,
                liquidity: match r.u8()? {
                    0 => Liquidity::Maker,
                    1 => Liquidity::Taker,
                    _ => return None,
                },
                fee: Money(r.i128()?),
            },
            4 => Self::Cancelled {
                id: ClientOrderId(r.u64()?),
            },
            5 => Self::CancelRejected {
                id: ClientOrderId(r.u64()?),
            },
            6 => Self::Unknown {
                id: ClientOrderId(r.u64()?),
            },
            7 => Self::Gate {
                open: r.bool()?,
                cancel_all: r.bool()?,
                cause: GateCause::from_u8(r.u8()?)?,
            },
            8 => Self::Edited {
                id: ClientOrderId(r.u64()?),
            },
            9 => Self::EditRejected {
                id: ClientOrderId(r.u64()?),
            },
            10 => Self::Adopted {
                id: ClientOrderId(r.u64()?),
                request: r.request()?,
                venue_ref: r.u128()?,
            },
            _ => return None,
        };
        (r.at == payload.len()).then_some(event)
    }

    /// Short stable name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accepted { .. } => "accepted",
            Self::Rejected { .. } => "rejected",
            Self::Fill { .. } => "fill",
            Self::Cancelled { .. } => "cancelled",
            Self::CancelRejected { .. } => "cancel_rejected",
            Self::Unknown { .. } => "unknown",
            Self::Gate { .. } => "gate",
            Self::Edited { .. } => "edited",
            Self::EditRejected { .. } => "edit_rejected",
            Self::Adopted { .. } => "adopted",
        }
    }
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

    // Proves every event survives encode → decode and that a cut or padded payload, an
    // unknown tag or an out-of-range enum byte is refused instead of misread.
    #[test]
    fn roundtrip_and_refusals() {
        let id = ClientOrderId::new(1, 42);
        let all = [
            VenueEvent::Accepted { id },
            VenueEvent::Rejected {
                id,
                reason: VenueReject::NotSent,
            },
            VenueEvent::Fill {
                id,
                trade_key: 0xDEAD_BEEF,
                price_ticks: 6_508_367,
                size_lots: 10_000,
                liquidity: Liquidity::Maker,
                fee: Money(-3),
            },
            VenueEvent::Cancelled { id },
            VenueEvent::CancelRejected { id },
            VenueEvent::Unknown { id },
            VenueEvent::Edited { id },
            VenueEvent::EditRejected { id },
            VenueEvent::Adopted {
                id,
                request: OrderRequest {
                    instrument: crate::instrument::InstrumentId(1),
                    side: crate::event::Side::Sell,
                    price_ticks: 6_508_367,
                    size_lots: 20_000,
                    time_in_force: crate::order::TimeInForce::GoodTillCancel,
                    post_only: false,
                },
                venue_ref: 0x5a1e_0000_0000_4000_8000_0000_0000_0007,
            },
            VenueEvent::Gate {
                open: false,
                cancel_all: true,
                cause: GateCause::UserChannelSilent,
            },
        ];
        for event in all {
            let bytes = event.to_bytes();
            assert_eq!(VenueEvent::decode(&bytes), Some(event));
            assert_eq!(VenueEvent::decode(&bytes[..bytes.len() - 1]), None);
            let mut padded = bytes.clone();
            padded.push(0);
            assert_eq!(VenueEvent::decode(&padded), None);
        }
        assert_eq!(VenueEvent::decode(&[]), None);
        assert_eq!(VenueEvent::decode(&[99, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(VenueEvent::decode(&[7, 2, 0, 1]), None, "open must be 0/1");
        assert_eq!(VenueEvent::decode(&[7, 1, 0, 99]), None, "unknown cause");
    }

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
