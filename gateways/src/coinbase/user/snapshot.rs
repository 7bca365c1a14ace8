//! Assembles the user channel's open-order snapshot from its batches and orders the events
//! of one connection (pure; the session feeds it every `user` event in arrival order).
//!
//! The venue lists the open orders in batches of [`SNAPSHOT_BATCH_ORDERS`]; the first batch
//! with fewer ends the listing (0 open orders = one empty batch; 109 = 50, 50, 9). The
//! listing is delivered once, complete, as [`UserEvent::Snapshot`]. Should the listing end
//! on a full batch with no shorter batch after it, the first `update` event ends it instead
//! (the snapshot is delivered before that update), so updates are never held back.

use super::UserEvent;
use super::messages::{UserBatch, UserEventKind, UserOrder};

/// Orders per snapshot batch; a shorter batch is the last one.
pub const SNAPSHOT_BATCH_ORDERS: usize = 50;

/// Snapshot progress on one connection.
#[derive(Debug, Default)]
pub(crate) struct SnapshotAssembler {
    /// Orders of a listing that has started and not ended.
    pending: Option<Vec<UserOrder>>,
}

impl SnapshotAssembler {
    /// Feeds one event; appends what to deliver (in order) to `out`.
    pub(crate) fn push(&mut self, batch: UserBatch, out: &mut Vec<UserEvent>) {
        match batch.kind {
            UserEventKind::Snapshot => {
                let last = batch.orders.len() < SNAPSHOT_BATCH_ORDERS;
                let orders = self.pending.get_or_insert_with(Vec::new);
                orders.extend(batch.orders);
                if last {
                    out.push(UserEvent::Snapshot(self.pending.take().unwrap_or_default()));
                }
            }
            UserEventKind::Update => {
                if let Some(orders) = self.pending.take() {
                    out.push(UserEvent::Snapshot(orders));
                }
                out.push(UserEvent::Update(batch.orders));
            }
            UserEventKind::Unknown(kind) => {
                tracing::warn!(%kind, orders = batch.orders.len(), "unknown user event type ignored");
            }
        }
    }

    /// True while a listing has started and not ended.
    #[cfg(test)]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(n: usize, from: usize) -> Vec<UserOrder> {
        (from..from + n)
            .map(|i| UserOrder {
                order_id: format!("o{i}"),
                ..UserOrder::default()
            })
            .collect()
    }

    fn batch(kind: UserEventKind, orders: Vec<UserOrder>) -> UserBatch {
        UserBatch { kind, orders }
    }

    fn sizes(events: &[UserEvent]) -> Vec<(char, usize)> {
        events
            .iter()
            .map(|e| match e {
                UserEvent::Snapshot(o) => ('S', o.len()),
                UserEvent::Update(o) => ('U', o.len()),
                _ => ('?', 0),
            })
            .collect()
    }

    #[test]
    fn batches_of_fifty_become_one_snapshot() {
        // Proves 109 orders in 50, 50, 9 give one snapshot of 109 in order, only at the end.
        let mut assembler = SnapshotAssembler::default();
        let mut out = Vec::new();
        assembler.push(batch(UserEventKind::Snapshot, orders(50, 0)), &mut out);
        assembler.push(batch(UserEventKind::Snapshot, orders(50, 50)), &mut out);
        assert!(out.is_empty() && assembler.is_pending());
        assembler.push(batch(UserEventKind::Snapshot, orders(9, 100)), &mut out);
        assert_eq!(sizes(&out), [('S', 109)]);
        let UserEvent::Snapshot(all) = &out[0] else {
            panic!("snapshot")
        };
        assert!(
            all.iter()
                .enumerate()
                .all(|(i, o)| o.order_id == format!("o{i}"))
        );
        assert!(!assembler.is_pending());
    }

    #[test]
    fn empty_listing_and_full_last_batch_end_the_snapshot() {
        // Proves 0 open orders is one empty snapshot, and a listing ending on a full batch is
        // delivered before the first update rather than held forever.
        let mut assembler = SnapshotAssembler::default();
        let mut out = Vec::new();
        assembler.push(batch(UserEventKind::Snapshot, vec![]), &mut out);
        assert_eq!(sizes(&out), [('S', 0)]);
        out.clear();
        assembler.push(batch(UserEventKind::Snapshot, orders(50, 0)), &mut out);
        assembler.push(batch(UserEventKind::Update, orders(1, 50)), &mut out);
        assert_eq!(sizes(&out), [('S', 50), ('U', 1)]);
        out.clear();
        assembler.push(
            batch(UserEventKind::Unknown("x".into()), orders(1, 0)),
            &mut out,
        );
        assert!(out.is_empty());
    }
}
