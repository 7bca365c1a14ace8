//! The venue's decimal text into the engine's integers, for one product: fill prices to
//! ticks, sizes to lots, commissions to [`Money`], trade ids to the keys the engine
//! deduplicates fills by. Anything off the product's grid is an error naming the field:
//! a fill the daemon cannot represent exactly is never rounded into the position.
//! ([`super::desk`] reads the venue; this module only converts.)

use crate::coinbase::orders::ProductFormat;
use crate::coinbase::reads::{RestFill, RestOrder};
use crate::coinbase::user::OrderStatus;
use traider_core::instrument::{InstrumentId, InstrumentSpec};
use traider_core::num::Money;
use traider_core::order::ClientOrderId;
use traider_core::sim::Liquidity;
use traider_core::venue::VenueEvent;

/// One configured instrument as the cold side needs it.
#[derive(Clone, Debug)]
pub struct Product {
    pub instrument: InstrumentId,
    pub product_id: String,
    pub spec: InstrumentSpec,
}

impl Product {
    pub fn format(&self) -> ProductFormat {
        ProductFormat {
            product_id: self.product_id.clone(),
            price_increment: self.spec.price_increment,
            base_increment: self.spec.base_increment,
        }
    }

    /// Price text to ticks on this product's grid.
    pub fn ticks(&self, field: &str, text: &str) -> Result<i64, String> {
        self.spec
            .price_increment
            .parse_count(text.as_bytes())
            .map_err(|e| format!("{field} {text:?} of {}: {e}", self.product_id))
    }

    /// Base size text to lots on this product's grid.
    pub fn lots(&self, field: &str, text: &str) -> Result<i64, String> {
        self.spec
            .base_increment
            .parse_count(text.as_bytes())
            .map_err(|e| format!("{field} {text:?} of {}: {e}", self.product_id))
    }
}

/// A venue order id (a UUID, as Coinbase issues them) as the 128 bits the journal keeps
/// of an adopted order; `None` for any other text.
pub fn venue_ref(order_id: &str) -> Option<u128> {
    let bytes = order_id.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let hex: String = order_id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// One execution as the venue's REST fills endpoint reports it, in integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillRecord {
    pub trade_id: String,
    pub order_id: String,
    pub price_ticks: i64,
    pub size_lots: i64,
    pub fee: Money,
    pub liquidity: Liquidity,
}

impl FillRecord {
    /// Reads one REST fill on this product's grid.
    pub fn from_rest(product: &Product, fill: &RestFill) -> Result<Self, String> {
        if fill.size_in_quote == Some(true) {
            return Err(format!(
                "fill {} of {} is sized in quote; the daemon sizes every order in base",
                fill.trade_id, product.product_id
            ));
        }
        Ok(Self {
            trade_id: fill.trade_id.clone(),
            order_id: fill.order_id.clone(),
            price_ticks: product.ticks("price", &fill.price.to_string())?,
            size_lots: product.lots("size", &fill.size.to_string())?,
            fee: fill.commission.to_money(),
            liquidity: match fill.liquidity_indicator.as_deref() {
                Some(l) if l.eq_ignore_ascii_case("MAKER") => Liquidity::Maker,
                _ => Liquidity::Taker,
            },
        })
    }

    /// The hash the engine deduplicates this fill by.
    pub fn trade_key(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(self.trade_id.as_bytes())
    }

    pub fn event(&self, id: ClientOrderId) -> VenueEvent {
        VenueEvent::Fill {
            id,
            trade_key: self.trade_key(),
            price_ticks: self.price_ticks,
            size_lots: self.size_lots,
            liquidity: self.liquidity,
            fee: self.fee,
        }
    }
}

/// An order's state at the venue, from the REST order object or a list of orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    pub status: VenueStatus,
    /// Base filled so far, in lots (0 when the venue gives none).
    pub filled_lots: i64,
}

/// The venue's order status, as far as the daemon acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueStatus {
    /// Not final: pending, open, queued, cancel or edit queued.
    Working,
    Filled,
    /// Cancelled or expired.
    Cancelled,
    /// Never placed.
    Failed,
    Unknown,
}

impl VenueStatus {
    pub fn of(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending
            | OrderStatus::Queued
            | OrderStatus::Open
            | OrderStatus::CancelQueued
            | OrderStatus::EditQueued => Self::Working,
            OrderStatus::Filled => Self::Filled,
            OrderStatus::Cancelled | OrderStatus::Expired => Self::Cancelled,
            OrderStatus::Failed => Self::Failed,
            OrderStatus::Unknown => Self::Unknown,
        }
    }
}

impl OrderRecord {
    /// Reads a REST order; its filled size must sit on the product's grid.
    pub fn from_rest(order: &RestOrder, product: &Product) -> Result<Self, String> {
        let filled_lots = match order.filled_size {
            Some(size) => product.lots("filled_size", &size.to_string())?,
            None => 0,
        };
        Ok(Self {
            order_id: order.order_id.clone(),
            client_order_id: order.client_order_id.clone().unwrap_or_default(),
            product_id: order.product_id.clone().unwrap_or_default(),
            status: VenueStatus::of(order.status),
            filled_lots,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::coinbase::decimal::Decimal;
    use traider_core::instrument::{ProductRules, VenueStatus as Rules};
    use traider_core::order::venue_ref_text;

    /// BTC-USD with the venue's real increments and limits.
    pub(crate) fn btc() -> Product {
        Product {
            instrument: InstrumentId(0),
            product_id: "BTC-USD".into(),
            spec: InstrumentSpec::new_checked(&ProductRules {
                product_id: "BTC-USD",
                price_increment: "0.01",
                base_increment: "0.00000001",
                base_min_size: "0.00000001",
                base_max_size: "3400",
                quote_min_size: "1",
                quote_max_size: "150000000",
                status: Rules::default(),
            })
            .expect("spec"),
        }
    }

    // Proves a REST fill converts exactly (price to ticks, size to lots, the commission to
    // money) and that a price off the tick grid or a quote-sized fill is refused with the
    // problem named rather than rounded.
    #[test]
    fn fills_convert_exactly_or_not_at_all() {
        let decimal = |text| Decimal::parse(text).expect("decimal");
        let fill = RestFill {
            trade_id: "t-1".into(),
            order_id: "o-1".into(),
            price: decimal("65083.67"),
            size: decimal("0.0001"),
            commission: decimal("0.0390502"),
            liquidity_indicator: Some("TAKER".into()),
            ..RestFill::default()
        };
        let record = FillRecord::from_rest(&btc(), &fill).expect("fill");
        assert_eq!(record.price_ticks, 6_508_367);
        assert_eq!(record.size_lots, 10_000);
        assert_eq!(record.fee, Money::parse("0.0390502").expect("money"));
        assert_eq!(record.liquidity, Liquidity::Taker);
        let off = RestFill {
            price: decimal("65083.675"),
            ..fill.clone()
        };
        let error = FillRecord::from_rest(&btc(), &off).expect_err("off grid");
        assert!(error.contains("price"), "{error}");
        let quote = RestFill {
            size_in_quote: Some(true),
            ..fill
        };
        assert!(FillRecord::from_rest(&btc(), &quote).is_err());
    }

    // Proves a UUID order id survives text → 128 bits → text exactly, and that texts that
    // are not UUIDs (a sim-less id, a cut or padded one, non-hex) are refused.
    #[test]
    fn venue_refs_roundtrip_uuids_only() {
        for id in [
            "5a1e0000-0000-4000-8000-000000000007",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "00000000-0000-0000-0000-000000000000",
        ] {
            let bits = venue_ref(id).expect(id);
            assert_eq!(venue_ref_text(bits), id);
        }
        assert_eq!(
            venue_ref("5A1E0000-0000-4000-8000-00000000000A").map(venue_ref_text),
            Some("5a1e0000-0000-4000-8000-00000000000a".to_owned())
        );
        for bad in [
            "",
            "o-1",
            "5a1e0000-0000-4000-8000-00000000000",
            "5a1e0000-0000-4000-8000-0000000000070",
            "5a1e0000x0000-4000-8000-000000000007",
            "5a1e0000-0000-4000-8000-00000000000g",
        ] {
            assert_eq!(venue_ref(bad), None, "{bad}");
        }
    }
}
