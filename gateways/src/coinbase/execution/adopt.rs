//! Taking over orders someone else placed (`[live] unknown_orders = "adopt"`), and finding
//! them again after a restart.
//!
//! An adopted order gets a client order id of this daemon's namespace, past the journal's
//! counter, assigned by reconciliation while the trading gate is closed (so the engine
//! creates no order that could take the same id). The venue keeps the order's own
//! `client_order_id`; the journal keeps its venue order id (a UUID, as 128 bits) in the
//! `adopted` venue input, which is how a restarted daemon finds it again.
//!
//! Only resting limit orders sized in base can be adopted: the engine's orders are exactly
//! that. Anything else (a quote-sized or market order, an order id that is not a UUID)
//! cannot be represented, and reconciliation refuses to trade rather than guess.

use std::collections::BTreeMap;

use crate::coinbase::reads::RestOrder;
use crate::coinbase::trading::{OrderFilter, TradingClient};
use traider_core::order::{ClientOrderId, OrderRequest, TimeInForce};
use traider_core::venue::VenueEvent;

use super::convert::{OrderRecord, Product, venue_ref};

/// An open order at the venue, ready to be taken over.
#[derive(Clone, Debug)]
pub struct Adoption {
    pub request: OrderRequest,
    pub record: OrderRecord,
    pub venue_ref: u128,
}

impl Adoption {
    /// Reads a venue order as engine terms; `Err` names why it cannot be adopted.
    pub fn of(order: &RestOrder, products: &[Product]) -> Result<Self, String> {
        let order_id = &order.order_id;
        let product = products
            .iter()
            .find(|p| Some(p.product_id.as_str()) == order.product_id.as_deref())
            .ok_or_else(|| format!("order {order_id} is of a product not traded here"))?;
        let venue_ref =
            venue_ref(order_id).ok_or_else(|| format!("order id {order_id:?} is not a UUID"))?;
        let side = order
            .side
            .ok_or_else(|| format!("order {order_id} has no side"))?;
        let price = order
            .limit_price
            .ok_or_else(|| format!("order {order_id} is not a limit order"))?;
        let size = order
            .base_size
            .ok_or_else(|| format!("order {order_id} is not sized in base"))?;
        let request = OrderRequest {
            instrument: product.instrument,
            side,
            price_ticks: product.ticks("limit_price", &price.to_string())?,
            size_lots: product.lots("base_size", &size.to_string())?,
            time_in_force: TimeInForce::GoodTillCancel,
            post_only: order.post_only.unwrap_or(false),
        };
        if request.size_lots <= 0 || request.price_ticks <= 0 {
            return Err(format!("order {order_id} has no size or price"));
        }
        Ok(Self {
            request,
            record: OrderRecord::from_rest(order, product)?,
            venue_ref,
        })
    }

    /// The input that makes the engine take the order over under `id`.
    pub fn event(&self, id: ClientOrderId) -> VenueEvent {
        VenueEvent::Adopted {
            id,
            request: self.request,
            venue_ref: self.venue_ref,
        }
    }
}

/// The venue's record of an order the journal adopted, found by its venue order id among
/// `listed` or, failing that, asked for by id; `None` when the venue does not have it.
pub async fn find_adopted(
    client: &TradingClient,
    listed: &[&RestOrder],
    products: &[Product],
    venue_ref_bits: u128,
) -> Result<Option<OrderRecord>, String> {
    let matches = |o: &&RestOrder| venue_ref(&o.order_id) == Some(venue_ref_bits);
    let asked;
    let found = match listed.iter().copied().find(matches) {
        Some(order) => Some(order),
        None => {
            asked = client
                .list_orders(&OrderFilter {
                    order_ids: vec![traider_core::order::venue_ref_text(venue_ref_bits)],
                    ..OrderFilter::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            asked.iter().find(matches)
        }
    };
    let Some(order) = found else {
        return Ok(None);
    };
    let product = products
        .iter()
        .find(|p| Some(p.product_id.as_str()) == order.product_id.as_deref())
        .ok_or_else(|| format!("order {} is of a product not traded here", order.order_id))?;
    OrderRecord::from_rest(order, product).map(Some)
}

/// The venue order ids of the journal's adopted orders that are still live.
pub fn live_refs(adopted: &BTreeMap<ClientOrderId, u128>, live: &[ClientOrderId]) -> Vec<u128> {
    adopted
        .iter()
        .filter(|(id, _)| live.contains(id))
        .map(|(_, bits)| *bits)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::convert::tests::btc;
    use super::*;
    use crate::coinbase::decimal::Decimal;
    use crate::coinbase::user::OrderStatus;
    use traider_core::event::Side;

    fn resting() -> RestOrder {
        RestOrder {
            order_id: "0b2f66b4-6a5d-4f7e-9a3c-1d2e3f405162".into(),
            client_order_id: Some("placed-by-hand".into()),
            product_id: Some("BTC-USD".into()),
            side: Some(Side::Buy),
            status: OrderStatus::Open,
            limit_price: Some(Decimal::parse("60000.01").expect("decimal")),
            base_size: Some(Decimal::parse("0.0002").expect("decimal")),
            post_only: Some(true),
            ..RestOrder::default()
        }
    }

    // Proves a resting limit order placed by hand becomes exact engine terms (price in
    // ticks, size in lots, its side and post-only flag) with its venue id kept, and that
    // what the engine cannot represent is refused with the reason named.
    #[test]
    fn resting_limit_orders_are_adopted_exactly() {
        let adoption = Adoption::of(&resting(), &[btc()]).expect("adoptable");
        assert_eq!(adoption.request.price_ticks, 6_000_001);
        assert_eq!(adoption.request.size_lots, 20_000);
        assert_eq!(adoption.request.side, Side::Buy);
        assert!(adoption.request.post_only);
        assert_eq!(
            traider_core::order::venue_ref_text(adoption.venue_ref),
            "0b2f66b4-6a5d-4f7e-9a3c-1d2e3f405162"
        );
        assert_eq!(adoption.record.client_order_id, "placed-by-hand");
        let refused = |order: RestOrder, word: &str| {
            let error = Adoption::of(&order, &[btc()]).expect_err(word);
            assert!(error.contains(word), "{error}");
        };
        refused(
            RestOrder {
                limit_price: None,
                ..resting()
            },
            "not a limit order",
        );
        refused(
            RestOrder {
                base_size: None,
                ..resting()
            },
            "not sized in base",
        );
        refused(
            RestOrder {
                order_id: "hand-1".into(),
                ..resting()
            },
            "not a UUID",
        );
        refused(
            RestOrder {
                product_id: Some("SOL-USD".into()),
                ..resting()
            },
            "not traded here",
        );
        refused(
            RestOrder {
                limit_price: Some(Decimal::parse("60000.015").expect("decimal")),
                ..resting()
            },
            "limit_price",
        );
    }
}
