//! Fills from cumulative order state (pure, no I/O): the user channel reports each order's
//! running totals, never individual fills; [`FillTracker`] turns them into per-order fill
//! deltas, exactly once, however often the same state is replayed.
//!
//! Per order it keeps three sets of [`FillTotals`] (quantity, value, fees, fill count):
//! - `channel`: the highest totals the user channel has shown;
//! - `rest`: the sum of the REST fills added (each `trade_id` counted once);
//! - `accounted`: what has been handed out as deltas, per field the maximum of the two.
//!
//! A delta is the rise of `accounted`, so the sum of all deltas of an order is always, per
//! field, `max(channel, rest)`: a replayed update, a stale one (lower cumulative quantity)
//! or the snapshot after a reconnect yields nothing, and a fill seen first on one source and
//! then on the other is counted once. [`FillTracker::unexplained`] lists what the channel
//! has shown beyond the REST fills, so the daemon can fetch those fills and treat their
//! prices and commissions as the record.
//!
//! Orders are remembered until [`FillTracker::forget`]: reconnects of any length are safe.

use std::collections::{HashMap, HashSet};

use super::decimal::Decimal;
use super::reads::RestFill;
use super::user::UserOrder;

/// Running totals of one order's fills (base quantity, quote value, quote fees).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillTotals {
    pub quantity: Decimal,
    pub value: Decimal,
    pub fees: Decimal,
    pub fills_count: u64,
}

impl FillTotals {
    /// Per field, the larger of the two.
    pub fn max(self, other: FillTotals) -> FillTotals {
        FillTotals {
            quantity: self.quantity.max(other.quantity),
            value: self.value.max(other.value),
            fees: self.fees.max(other.fees),
            fills_count: self.fills_count.max(other.fills_count),
        }
    }

    /// Per field, how much `self` exceeds `base` (zero where it does not).
    pub fn excess_over(self, base: FillTotals) -> FillTotals {
        FillTotals {
            quantity: self.quantity.saturating_excess(base.quantity),
            value: self.value.saturating_excess(base.value),
            fees: self.fees.saturating_excess(base.fees),
            fills_count: self.fills_count.saturating_sub(base.fills_count),
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == FillTotals::default()
    }
}

/// Where a delta was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaSource {
    /// A user-channel snapshot or update.
    Channel,
    /// A REST fill.
    Rest,
}

/// New fill activity of one order. Any field may be zero (e.g. only the fees rose).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillDelta {
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub source: DeltaSource,
    pub delta: FillTotals,
}

/// An order's totals as each source reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderFillTotals {
    pub channel: FillTotals,
    pub rest: FillTotals,
    pub accounted: FillTotals,
}

/// A REST fill that cannot be added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error("fill {trade_id}: price × size has more than 24 decimal places or is too large")]
    Inexact { trade_id: String },
    #[error("order {order_id}: fill totals out of range")]
    Overflow { order_id: String },
}

#[derive(Debug, Default)]
struct OrderState {
    client_order_id: Option<String>,
    totals: OrderFillTotals,
    rest_trade_ids: HashSet<String>,
}

/// Turns cumulative order totals and REST fills into deltas; see the module docs.
#[derive(Debug, Default)]
pub struct FillTracker {
    orders: HashMap<String, OrderState>,
    order_by_client_id: HashMap<String, String>,
}

impl FillTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one order object (snapshot entry or update). Yields a delta if its totals rose
    /// above everything accounted; `None` for a replay, a stale update, or an order object
    /// without `cumulative_quantity`. Absent value/fee/count fields count as unchanged.
    pub fn observe(&mut self, order: &UserOrder) -> Option<FillDelta> {
        let quantity = order.cumulative_quantity?;
        let state = self.state(&order.order_id, order.client_order_id.as_deref());
        let seen = state.totals.channel;
        if quantity < seen.quantity {
            return None;
        }
        let shown = FillTotals {
            quantity,
            value: order.filled_value.unwrap_or(seen.value),
            fees: order.total_fees.unwrap_or(seen.fees),
            fills_count: order.number_of_fills.unwrap_or(seen.fills_count),
        };
        state.totals.channel = seen.max(shown);
        Self::advance(&order.order_id, state, DeltaSource::Channel)
    }

    /// Adds one REST fill (counted once per `trade_id`). Yields a delta for the part of it
    /// the channel has not shown yet.
    pub fn add_rest_fill(&mut self, fill: &RestFill) -> Result<Option<FillDelta>, FillError> {
        let value = fill
            .price
            .checked_mul(fill.size)
            .ok_or_else(|| FillError::Inexact {
                trade_id: fill.trade_id.clone(),
            })?;
        let state = self.state(&fill.order_id, None);
        if state.rest_trade_ids.contains(&fill.trade_id) {
            return Ok(None);
        }
        let rest = state.totals.rest;
        let overflow = || FillError::Overflow {
            order_id: fill.order_id.clone(),
        };
        let summed = FillTotals {
            quantity: rest.quantity.checked_add(fill.size).ok_or_else(overflow)?,
            value: rest.value.checked_add(value).ok_or_else(overflow)?,
            fees: rest
                .fees
                .checked_add(fill.commission)
                .ok_or_else(overflow)?,
            fills_count: rest.fills_count.saturating_add(1),
        };
        state.rest_trade_ids.insert(fill.trade_id.clone());
        state.totals.rest = summed;
        Ok(Self::advance(&fill.order_id, state, DeltaSource::Rest))
    }

    /// Adds REST fills already accounted for elsewhere (e.g. journaled before a restart),
    /// discarding their deltas.
    pub fn seed(&mut self, fills: &[RestFill]) -> Result<(), FillError> {
        for fill in fills {
            self.add_rest_fill(fill)?;
        }
        Ok(())
    }

    /// Per order, what has been accounted beyond the REST fills added (non-zero only),
    /// sorted by order id: fills the daemon should still fetch over REST.
    pub fn unexplained(&self) -> Vec<(String, FillTotals)> {
        let mut out: Vec<(String, FillTotals)> = self
            .orders
            .iter()
            .map(|(id, s)| (id.clone(), s.totals.accounted.excess_over(s.totals.rest)))
            .filter(|(_, excess)| !excess.is_zero())
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The totals of `order_id` as each source reports them.
    pub fn totals(&self, order_id: &str) -> Option<OrderFillTotals> {
        self.orders.get(order_id).map(|s| s.totals)
    }

    /// The venue's order id for a client order id the channel has shown.
    pub fn order_id_for(&self, client_order_id: &str) -> Option<&str> {
        self.order_by_client_id
            .get(client_order_id)
            .map(String::as_str)
    }

    /// Drops an order that is terminal and reconciled (its replays would then count again).
    pub fn forget(&mut self, order_id: &str) {
        if let Some(state) = self.orders.remove(order_id)
            && let Some(client_id) = state.client_order_id
        {
            self.order_by_client_id.remove(&client_id);
        }
    }

    /// Orders remembered.
    pub fn orders_count(&self) -> usize {
        self.orders.len()
    }

    fn state(&mut self, order_id: &str, client_order_id: Option<&str>) -> &mut OrderState {
        let state = self.orders.entry(order_id.to_owned()).or_default();
        if let (None, Some(client_id)) = (&state.client_order_id, client_order_id) {
            state.client_order_id = Some(client_id.to_owned());
            self.order_by_client_id
                .insert(client_id.to_owned(), order_id.to_owned());
        }
        state
    }

    fn advance(order_id: &str, state: &mut OrderState, source: DeltaSource) -> Option<FillDelta> {
        let totals = &mut state.totals;
        let accounted = totals.accounted.max(totals.channel).max(totals.rest);
        let delta = accounted.excess_over(totals.accounted);
        totals.accounted = accounted;
        (!delta.is_zero()).then(|| FillDelta {
            order_id: order_id.to_owned(),
            client_order_id: state.client_order_id.clone(),
            source,
            delta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `count × 10^-scale`, exact.
    fn units(count: u64, scale: u32) -> Decimal {
        Decimal(i128::from(count) * 10_i128.pow(24 - scale))
    }

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).expect("decimal")
    }

    fn order(id: &str, totals: FillTotals) -> UserOrder {
        UserOrder {
            order_id: id.to_owned(),
            client_order_id: Some(format!("c-{id}")),
            cumulative_quantity: Some(totals.quantity),
            filled_value: Some(totals.value),
            total_fees: Some(totals.fees),
            number_of_fills: Some(totals.fills_count),
            ..UserOrder::default()
        }
    }

    fn totals(q: &str, v: &str, f: &str, n: u64) -> FillTotals {
        FillTotals {
            quantity: d(q),
            value: d(v),
            fees: d(f),
            fills_count: n,
        }
    }

    fn fill(trade: &str, order: &str, price: &str, size: &str, fee: &str) -> RestFill {
        RestFill {
            trade_id: trade.into(),
            order_id: order.into(),
            price: d(price),
            size: d(size),
            commission: d(fee),
            ..RestFill::default()
        }
    }

    #[test]
    fn rises_yield_deltas_and_replays_yield_nothing() {
        // Proves a rise yields exactly the difference, and a replay, a stale update and a
        // reconnect snapshot restating the same totals yield nothing.
        let mut tracker = FillTracker::new();
        assert_eq!(tracker.observe(&order("A", FillTotals::default())), None);
        let first = tracker.observe(&order("A", totals("0.5", "50", "0.1", 1)));
        assert_eq!(first.expect("delta").delta, totals("0.5", "50", "0.1", 1));
        let second = tracker.observe(&order("A", totals("1.25", "126.5", "0.25", 3)));
        assert_eq!(
            second.expect("delta").delta,
            totals("0.75", "76.5", "0.15", 2)
        );
        assert_eq!(
            tracker.observe(&order("A", totals("1.25", "126.5", "0.25", 3))),
            None
        );
        assert_eq!(
            tracker.observe(&order("A", totals("0.5", "50", "0.1", 1))),
            None
        );
        assert_eq!(tracker.order_id_for("c-A"), Some("A"));
        tracker.forget("A");
        assert_eq!(tracker.order_id_for("c-A"), None);
        assert_eq!(tracker.orders_count(), 0);
    }

    #[test]
    fn unexplained_does_not_overflow_on_totals_far_apart() {
        // Proves unexplained() saturates instead of overflowing when the channel's fees and
        // a REST fill's (negative) commission are further apart than a decimal can hold
        // (found with the user_channel fuzz target's input layout: an update, then a fills
        // page).
        let mut tracker = FillTracker::new();
        let big = "100000000000000";
        let shown = tracker.observe(&order("A", totals("1", "0", big, 1)));
        assert!(shown.is_some());
        let negative = format!("-{big}");
        tracker
            .add_rest_fill(&fill("t1", "A", "1", "1", &negative))
            .expect("fill");
        let unexplained = tracker.unexplained();
        assert_eq!(unexplained.len(), 1);
        assert_eq!(unexplained[0].1.fees, Decimal(i128::MAX));
    }

    #[test]
    fn rest_fills_and_channel_totals_are_counted_once() {
        // Proves a fill seen on REST first and then in the channel (and the reverse) is
        // counted once, duplicates of a trade_id are ignored, and unexplained() lists what
        // the channel showed beyond REST, exactly.
        let mut tracker = FillTracker::new();
        let f1 = fill("t1", "A", "100.5", "0.2", "0.01");
        let rest_first = tracker.add_rest_fill(&f1).expect("fill").expect("delta");
        assert_eq!(rest_first.source, DeltaSource::Rest);
        assert_eq!(rest_first.delta, totals("0.2", "20.1", "0.01", 1));
        assert_eq!(tracker.add_rest_fill(&f1).expect("fill"), None);
        assert_eq!(
            tracker.observe(&order("A", totals("0.2", "20.1", "0.01", 1))),
            None
        );
        let more = tracker.observe(&order("A", totals("0.5", "50.25", "0.03", 2)));
        assert_eq!(
            more.expect("delta").delta,
            totals("0.3", "30.15", "0.02", 1)
        );
        assert_eq!(
            tracker.unexplained(),
            vec![("A".to_owned(), totals("0.3", "30.15", "0.02", 1))]
        );
        let f2 = fill("t2", "A", "100.5", "0.3", "0.02");
        assert_eq!(tracker.add_rest_fill(&f2).expect("fill"), None);
        assert!(tracker.unexplained().is_empty());
        let t = tracker.totals("A").expect("known");
        assert_eq!(t.rest, t.channel);
    }

    #[test]
    fn seeded_fills_suppress_the_snapshot_after_a_restart() {
        // Proves fills journaled before a restart (seeded) make the new snapshot yield nothing.
        let mut tracker = FillTracker::new();
        tracker
            .seed(&[fill("t1", "A", "10", "1", "0.1")])
            .expect("seed");
        assert_eq!(
            tracker.observe(&order("A", totals("1", "10", "0.1", 1))),
            None
        );
        let inexact = fill("t9", "B", "0.0000000000001", "0.000000000001", "0");
        assert!(matches!(
            tracker.add_rest_fill(&inexact),
            Err(FillError::Inexact { .. })
        ));
        assert_eq!(units(5, 2), d("0.05"));
    }

    /// One true fill: size in 10^-8, price in 10^-2, fee in 10^-6.
    fn fill_strategy() -> impl Strategy<Value = (u64, u64, u64)> {
        (1u64..100_000_000, 1u64..10_000_000, 0u64..5_000_000)
    }

    proptest! {
        #[test]
        fn deltas_sum_to_the_final_totals_whatever_the_replays(
            fills in proptest::collection::vec(fill_strategy(), 1..12),
            noise in proptest::collection::vec(proptest::collection::vec(0usize..64, 0..4), 12),
            dropped in proptest::collection::vec(any::<bool>(), 12),
            rest_at in proptest::collection::vec(proptest::option::of(0usize..80), 12),
            rest_twice in proptest::collection::vec(any::<bool>(), 12),
        ) {
            // Proves: any sequence of cumulative states (some true updates lost, earlier
            // states replayed anywhere, reconnect snapshots restating the current state)
            // mixed with REST fills in any order and duplicated sums, per field, to exactly
            // the final totals; every delta is non-zero and never negative; unexplained()
            // is exactly the REST fills not added.
            let fills: Vec<RestFill> = fills.iter().enumerate().map(|(i, &(s, p, f))| RestFill {
                trade_id: format!("t{i}"),
                order_id: "A".into(),
                price: units(p, 2),
                size: units(s, 8),
                commission: units(f, 6),
                ..RestFill::default()
            }).collect();
            // states[k] = totals after k fills.
            let mut states = vec![FillTotals::default()];
            for f in &fills {
                let last = *states.last().expect("non-empty");
                states.push(FillTotals {
                    quantity: last.quantity.checked_add(f.size).expect("range"),
                    value: last.value.checked_add(f.price.checked_mul(f.size).expect("exact")).expect("range"),
                    fees: last.fees.checked_add(f.commission).expect("range"),
                    fills_count: last.fills_count + 1,
                });
            }
            let n = fills.len();
            // Channel observations: true states in order (some dropped, never the last),
            // each followed by replays of any state up to the current one.
            let mut ops: Vec<usize> = Vec::new();
            for k in 1..=n {
                if !(dropped[k - 1] && k < n) {
                    ops.push(k);
                }
                ops.extend(noise[k - 1].iter().map(|raw| raw % (k + 1)));
            }
            let mut tracker = FillTracker::new();
            let mut sum = FillTotals::default();
            let add = |delta: Option<FillDelta>, sum: &mut FillTotals| -> Result<(), TestCaseError> {
                if let Some(delta) = delta {
                    prop_assert!(!delta.delta.is_zero());
                    prop_assert!(delta.delta.quantity >= Decimal::ZERO);
                    prop_assert!(delta.delta.value >= Decimal::ZERO);
                    prop_assert!(delta.delta.fees >= Decimal::ZERO);
                    sum.quantity = sum.quantity.checked_add(delta.delta.quantity).expect("range");
                    sum.value = sum.value.checked_add(delta.delta.value).expect("range");
                    sum.fees = sum.fees.checked_add(delta.delta.fees).expect("range");
                    sum.fills_count += delta.delta.fills_count;
                }
                Ok(())
            };
            let mut added = vec![false; n];
            for (index, &k) in ops.iter().enumerate() {
                for (i, at) in rest_at.iter().take(n).enumerate() {
                    if *at == Some(index) {
                        let times = if rest_twice[i] { 2 } else { 1 };
                        for _ in 0..times {
                            add(tracker.add_rest_fill(&fills[i]).expect("exact"), &mut sum)?;
                        }
                        added[i] = true;
                    }
                }
                add(tracker.observe(&order("A", states[k])), &mut sum)?;
                prop_assert!(sum.quantity <= states[n].quantity);
            }
            prop_assert_eq!(sum, states[n]);
            let mut missing = FillTotals::default();
            for (_, f) in fills.iter().enumerate().filter(|(i, _)| !added[*i]) {
                missing.quantity = missing.quantity.checked_add(f.size).expect("range");
                missing.value = missing.value.checked_add(f.price.checked_mul(f.size).expect("exact")).expect("range");
                missing.fees = missing.fees.checked_add(f.commission).expect("range");
                missing.fills_count += 1;
            }
            let unexplained = tracker.unexplained();
            if missing.is_zero() {
                prop_assert!(unexplained.is_empty());
            } else {
                prop_assert_eq!(unexplained, vec![("A".to_owned(), missing)]);
            }
        }
    }
}
