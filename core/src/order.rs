//! Orders and the order manager: state machine and deterministic client order ids.
//!
//! State machine (a venue report that does not fit it is counted, never applied):
//!
//! ```text
//! Pending ──accept──► Open ──fill──► PartiallyFilled ──fill──► Filled
//!    │                 │  └──────────fill (all)──────────────────▲
//!    ├──reject──► Rejected             │
//!    └─fill (taker)─► PartiallyFilled / Filled
//! Open / PartiallyFilled / Pending ──cancelled──► Cancelled
//! ```
//!
//! A client order id is the engine's namespace (from config) and a counter that only the
//! engine advances, so a replay of the same journal assigns the same ids and a re-sent order
//! is recognised by the venue.

use crate::event::Side;
use crate::instrument::InstrumentId;
pub use crate::request::{OrderRequest, TimeInForce};
use crate::risk::RiskApproved;

/// Deterministic client order id: `namespace` (config) in the high 24 bits, counter below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientOrderId(pub u64);

impl ClientOrderId {
    pub const COUNTER_BITS: u32 = 40;

    pub fn new(namespace: u32, counter: u64) -> Self {
        assert!(
            counter < 1 << Self::COUNTER_BITS,
            "client order counter exhausted"
        );
        Self((u64::from(namespace & 0xFF_FFFF) << Self::COUNTER_BITS) | counter)
    }

    pub fn counter(self) -> u64 {
        self.0 & ((1 << Self::COUNTER_BITS) - 1)
    }

    pub fn namespace(self) -> u32 {
        (self.0 >> Self::COUNTER_BITS) as u32
    }

    /// Reads back the text [`std::fmt::Display`] writes (what the venue echoes as
    /// `client_order_id`); `None` for any other text, such as an order placed by hand.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("7a1de000-")?;
        let bytes = rest.as_bytes();
        if bytes.len() != 27 || bytes[4] != b'-' || bytes[9] != b'-' || bytes[14] != b'-' {
            return None;
        }
        let hex = |range: std::ops::Range<usize>| {
            let part = rest.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                .then(|| u64::from_str_radix(part, 16).ok())
                .flatten()
        };
        let high = hex(0..4)?;
        if rest.get(5..6)? != "4" || rest.get(10..14)? != "8000" {
            return None;
        }
        let low = hex(6..9)?;
        let counter = hex(15..27)?;
        let namespace = (high << 12) | low;
        if namespace > 0xFF_FFFF || counter >= 1 << Self::COUNTER_BITS {
            return None;
        }
        Some(Self((namespace << Self::COUNTER_BITS) | counter))
    }
}

impl serde::Serialize for ClientOrderId {
    /// The text [`std::fmt::Display`] writes.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A venue's order id (a UUID, kept as 128 bits) as text: `8-4-4-4-12` lowercase hex.
pub fn venue_ref_text(venue_ref: u128) -> String {
    let hex = format!("{venue_ref:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The JSON form of a venue's order id: [`venue_ref_text`].
pub fn serialize_venue_ref<S: serde::Serializer>(
    venue_ref: &u128,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&venue_ref_text(*venue_ref))
}

impl std::fmt::Display for ClientOrderId {
    /// UUID-shaped text, as Coinbase recommends for `client_order_id`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let namespace = self.0 >> Self::COUNTER_BITS;
        write!(
            f,
            "7a1de000-{:04x}-4{:03x}-8000-{:012x}",
            namespace >> 12,
            namespace & 0xFFF,
            self.counter()
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum OrderState {
    Pending = 0,
    Open = 1,
    PartiallyFilled = 2,
    Filled = 3,
    Cancelled = 4,
    Rejected = 5,
}

impl OrderState {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Cancelled | Self::Rejected)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Open => "open",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: ClientOrderId,
    pub request: OrderRequest,
    pub state: OrderState,
    pub filled_lots: i64,
    /// A cancel was sent and is not yet answered.
    pub cancel_pending: bool,
    /// An edit to this price (ticks) was sent and is not yet answered (live venue only).
    pub edit_pending: Option<i64>,
    pub created_ns: u64,
    /// Placed by someone else and taken over at reconciliation (`unknown_orders = "adopt"`):
    /// it counts against every limit and is cancelled by halts and at stop, but the
    /// strategy never manages it.
    pub adopted: bool,
}

impl Order {
    pub fn remaining_lots(&self) -> i64 {
        self.request.size_lots - self.filled_lots
    }
}

/// A venue report that did not fit the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OmsError {
    #[error("no live order with this client order id")]
    UnknownOrder,
    #[error("report does not fit the order's state")]
    BadTransition,
    #[error("fill exceeds the order's remaining size")]
    Overfill,
    #[error("open-order table is full")]
    Full,
}

/// Live orders, in creation order, in a table sized at start-up; plus a ring of the most
/// recently finished ones, so a live venue's late report (a fill that arrives after the
/// cancel) still finds its order.
pub struct OrderManager {
    namespace: u32,
    next_counter: u64,
    live: Vec<Order>,
    live_max: usize,
    retired: Vec<Order>,
    retired_next: usize,
}

/// Finished orders kept for late venue reports.
const RETIRED_KEPT: usize = 256;

impl OrderManager {
    pub fn new(namespace: u32, live_max: usize) -> Self {
        Self {
            namespace,
            next_counter: 1,
            live: Vec::with_capacity(live_max),
            live_max,
            retired: Vec::with_capacity(RETIRED_KEPT),
            retired_next: 0,
        }
    }

    /// A recently finished order (filled, cancelled or rejected), if still remembered.
    pub fn retired(&self, id: ClientOrderId) -> Option<&Order> {
        self.retired.iter().find(|order| order.id == id)
    }

    /// Counts a late fill on a finished order: it no longer affects open sizes, but its
    /// record keeps growing so a repeat beyond the order's size is caught.
    pub fn on_late_fill(&mut self, id: ClientOrderId, size_lots: i64) -> Result<(), OmsError> {
        let order = self
            .retired
            .iter_mut()
            .find(|order| order.id == id)
            .ok_or(OmsError::UnknownOrder)?;
        if size_lots <= 0 {
            return Err(OmsError::BadTransition);
        }
        if size_lots > order.remaining_lots() {
            return Err(OmsError::Overfill);
        }
        order.filled_lots += size_lots;
        Ok(())
    }

    /// Live (non-terminal) orders, oldest first.
    pub fn live(&self) -> &[Order] {
        &self.live
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn get(&self, id: ClientOrderId) -> Option<&Order> {
        self.live.iter().find(|order| order.id == id)
    }

    /// Creates a pending order with the next client order id. Only risk-approved requests
    /// can become orders.
    pub fn create(
        &mut self,
        approved: RiskApproved,
        now_ns: u64,
    ) -> Result<ClientOrderId, OmsError> {
        let request = *approved.request();
        if self.live.len() == self.live_max {
            return Err(OmsError::Full);
        }
        let id = ClientOrderId::new(self.namespace, self.next_counter);
        self.next_counter += 1;
        self.live.push(Order {
            id,
            request,
            state: OrderState::Pending,
            filled_lots: 0,
            cancel_pending: false,
            edit_pending: None,
            created_ns: now_ns,
            adopted: false,
        });
        Ok(id)
    }

    /// Takes over an open order someone else placed at the venue, under `id` (which the
    /// cold side assigns while no order can be created: the trading gate is closed). The id
    /// must be of this namespace and not below the next counter; the counter moves past it.
    /// Its fills, earlier ones included, follow as fills.
    pub fn adopt(
        &mut self,
        id: ClientOrderId,
        request: OrderRequest,
        now_ns: u64,
    ) -> Result<(), OmsError> {
        if id.namespace() != self.namespace
            || id.counter() < self.next_counter
            || request.size_lots <= 0
        {
            return Err(OmsError::BadTransition);
        }
        if self.live.len() == self.live_max {
            return Err(OmsError::Full);
        }
        self.next_counter = id.counter() + 1;
        self.live.push(Order {
            id,
            request,
            state: OrderState::Open,
            filled_lots: 0,
            cancel_pending: false,
            edit_pending: None,
            created_ns: now_ns,
            adopted: true,
        });
        Ok(())
    }

    pub fn mark_cancel_pending(&mut self, id: ClientOrderId) -> Result<(), OmsError> {
        let order = self.find_mut(id)?;
        order.cancel_pending = true;
        Ok(())
    }

    /// An edit to `price_ticks` is in flight.
    pub fn mark_edit_pending(
        &mut self,
        id: ClientOrderId,
        price_ticks: i64,
    ) -> Result<(), OmsError> {
        let order = self.find_mut(id)?;
        if order.cancel_pending || order.edit_pending.is_some() {
            return Err(OmsError::BadTransition);
        }
        order.edit_pending = Some(price_ticks);
        Ok(())
    }

    /// The venue applied the pending edit (`true`) or refused it; returns the new price.
    pub fn on_edit_answer(&mut self, id: ClientOrderId, applied: bool) -> Result<i64, OmsError> {
        let order = self.find_mut(id)?;
        let price = order.edit_pending.take().ok_or(OmsError::BadTransition)?;
        if applied {
            order.request.price_ticks = price;
        }
        Ok(order.request.price_ticks)
    }

    pub fn on_accepted(&mut self, id: ClientOrderId) -> Result<(), OmsError> {
        let order = self.find_mut(id)?;
        if order.state != OrderState::Pending {
            return Err(OmsError::BadTransition);
        }
        order.state = OrderState::Open;
        Ok(())
    }

    /// Applies a fill; returns the order's new state. Terminal orders leave the table.
    pub fn on_fill(&mut self, id: ClientOrderId, size_lots: i64) -> Result<OrderState, OmsError> {
        let order = self.find_mut(id)?;
        if size_lots <= 0 {
            return Err(OmsError::BadTransition);
        }
        if size_lots > order.remaining_lots() {
            return Err(OmsError::Overfill);
        }
        order.filled_lots += size_lots;
        order.state = if order.remaining_lots() == 0 {
            OrderState::Filled
        } else {
            OrderState::PartiallyFilled
        };
        let state = order.state;
        self.retire_terminal();
        Ok(state)
    }

    pub fn on_cancelled(&mut self, id: ClientOrderId) -> Result<(), OmsError> {
        self.find_mut(id)?.state = OrderState::Cancelled;
        self.retire_terminal();
        Ok(())
    }

    pub fn on_rejected(&mut self, id: ClientOrderId) -> Result<(), OmsError> {
        let order = self.find_mut(id)?;
        if order.state != OrderState::Pending {
            return Err(OmsError::BadTransition);
        }
        order.state = OrderState::Rejected;
        self.retire_terminal();
        Ok(())
    }

    /// Lots that open orders on `side` of `instrument` could still add to the position.
    pub fn open_lots(&self, instrument: InstrumentId, side: Side) -> i64 {
        self.live
            .iter()
            .filter(|o| o.request.instrument == instrument && o.request.side == side)
            .map(Order::remaining_lots)
            .sum()
    }

    fn find_mut(&mut self, id: ClientOrderId) -> Result<&mut Order, OmsError> {
        self.live
            .iter_mut()
            .find(|order| order.id == id)
            .ok_or(OmsError::UnknownOrder)
    }

    fn retire_terminal(&mut self) {
        while let Some(index) = self.live.iter().position(|o| o.state.is_terminal()) {
            let order = self.live.remove(index);
            if self.retired.len() < RETIRED_KEPT {
                self.retired.push(order);
            } else {
                self.retired[self.retired_next] = order;
            }
            self.retired_next = (self.retired_next + 1) % RETIRED_KEPT;
        }
    }

    pub fn next_counter(&self) -> u64 {
        self.next_counter
    }
}

impl OrderRequest {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.u16(self.instrument.0);
        h.u8(self.side as u8);
        h.i64(self.price_ticks);
        h.i64(self.size_lots);
        h.u8(self.time_in_force as u8);
        h.bool(self.post_only);
    }
}

impl OrderManager {
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.u32(self.namespace);
        h.u64(self.next_counter);
        for table in [&self.live, &self.retired] {
            h.usize(table.len());
            for order in table {
                h.u64(order.id.0);
                order.request.digest(h);
                h.u8(order.state as u8);
                h.i64(order.filled_lots);
                h.bool(order.cancel_pending);
                h.opt_u64(order.edit_pending.map(|p| p as u64));
                h.u64(order.created_ns);
                h.bool(order.adopted);
            }
        }
        h.usize(self.retired_next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RiskApproved {
        RiskApproved::for_tests(OrderRequest {
            instrument: InstrumentId(0),
            side: Side::Buy,
            price_ticks: 100,
            size_lots: 10,
            time_in_force: TimeInForce::GoodTillCancel,
            post_only: true,
        })
    }

    // Proves ids are deterministic and the lifecycle pending → open → partial → filled holds.
    #[test]
    fn lifecycle_and_ids() {
        let mut oms = OrderManager::new(7, 4);
        let a = oms.create(request(), 1).unwrap();
        let b = oms.create(request(), 2).unwrap();
        assert_eq!(a, ClientOrderId::new(7, 1));
        assert_eq!(b.counter(), 2);
        assert_eq!(a.to_string(), "7a1de000-0000-4007-8000-000000000001");
        assert_eq!(ClientOrderId::parse(&a.to_string()), Some(a));
        assert_eq!(oms.on_fill(a, 11), Err(OmsError::Overfill));
        oms.on_accepted(a).unwrap();
        assert_eq!(oms.on_accepted(a), Err(OmsError::BadTransition));
        assert_eq!(oms.on_fill(a, 4), Ok(OrderState::PartiallyFilled));
        assert_eq!(oms.open_lots(InstrumentId(0), Side::Buy), 6 + 10);
        assert_eq!(oms.on_fill(a, 6), Ok(OrderState::Filled));
        assert!(oms.get(a).is_none(), "terminal orders leave the live table");
        assert_eq!(oms.on_fill(a, 1), Err(OmsError::UnknownOrder));
        oms.on_rejected(b).unwrap();
        assert_eq!(oms.live_count(), 0);
    }

    // Proves the venue's echo of a client order id reads back to the same id for any
    // namespace and counter, and that other texts (a hand-placed order's id, a cut or
    // upper-cased copy) are not mistaken for ours.
    #[test]
    fn client_order_id_text_roundtrip() {
        for (namespace, counter) in [(0, 1), (1, 42), (0xFF_FFFF, (1 << 40) - 1), (0xABC, 7)] {
            let id = ClientOrderId::new(namespace, counter);
            assert_eq!(ClientOrderId::parse(&id.to_string()), Some(id));
            assert_eq!(id.namespace(), namespace);
        }
        let text = ClientOrderId::new(1, 2).to_string();
        for other in [
            "",
            "b1f1cbb6-2b0a-4f51-9b0e-7b4c3d6f3b8e",
            &text[..text.len() - 1],
            &text.to_uppercase(),
            &format!("{text}0"),
        ] {
            assert_eq!(ClientOrderId::parse(other), None, "{other}");
        }
    }

    // Proves an adopted order joins the live table under the id it was given (of this
    // namespace, not below the counter), counts in open lots, moves the counter past it
    // and fills like any order, and that a clashing or foreign-namespace id is refused.
    #[test]
    fn adoption_takes_the_given_id() {
        let mut oms = OrderManager::new(3, 4);
        let a = oms.create(request(), 0).unwrap();
        let terms = *request().request();
        assert_eq!(
            oms.adopt(a, terms, 1),
            Err(OmsError::BadTransition),
            "clashes with an id already assigned"
        );
        assert_eq!(
            oms.adopt(ClientOrderId::new(4, 9), terms, 1),
            Err(OmsError::BadTransition),
            "another namespace"
        );
        let b = ClientOrderId::new(3, 5);
        oms.adopt(b, terms, 1).unwrap();
        let adopted = oms.get(b).unwrap();
        assert!(adopted.adopted);
        assert_eq!(adopted.state, OrderState::Open);
        assert_eq!(oms.open_lots(InstrumentId(0), Side::Buy), 10 + 10);
        assert_eq!(oms.next_counter(), 6);
        assert_eq!(oms.create(request(), 2).unwrap().counter(), 6);
        assert_eq!(oms.on_fill(b, 4), Ok(OrderState::PartiallyFilled));
        assert_eq!(oms.on_fill(b, 6), Ok(OrderState::Filled));
    }

    // Proves the table refuses orders past its size and cancels free it.
    #[test]
    fn table_is_bounded() {
        let mut oms = OrderManager::new(0, 2);
        let a = oms.create(request(), 0).unwrap();
        oms.create(request(), 0).unwrap();
        assert_eq!(oms.create(request(), 0), Err(OmsError::Full));
        oms.on_cancelled(a).unwrap();
        assert!(oms.create(request(), 0).is_ok());
    }
}
