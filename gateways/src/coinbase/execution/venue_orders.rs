//! Looking our orders up at the venue by client order id.
//!
//! The venue's order listing has no client-order-id filter, so a look-up reads the recent
//! orders of the product (newest first, a bounded number of pages) and matches the id the
//! daemon sent ([`ClientOrderId`]'s text).

use crate::coinbase::trading::{OrderFilter, TradingClient};
use traider_core::order::ClientOrderId;

use super::convert::{OrderRecord, Product};

/// Pages of recent orders searched for one client order id.
pub const LOOKUP_PAGES: usize = 10;

/// The venue's record of the order with client order id `id`, or `None` when the venue's
/// recent orders of `product` do not include it.
pub async fn find_by_client_id(
    client: &TradingClient,
    product: &Product,
    id: ClientOrderId,
) -> Result<Option<OrderRecord>, String> {
    let text = id.to_string();
    let orders = client
        .list_orders(&OrderFilter {
            product_ids: vec![product.product_id.clone()],
            pages_max: LOOKUP_PAGES,
            ..OrderFilter::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    orders
        .iter()
        .find(|o| o.client_order_id.as_deref() == Some(text.as_str()))
        .map(|o| OrderRecord::from_rest(o, product))
        .transpose()
}
