//! Instruments: the venue's product rules in integer form.
//!
//! Product ids stop at the boundary: inside the core an instrument is a dense
//! [`InstrumentId`] (its index in the configured product list) and a fixed-size [`Symbol`].

use crate::num::{Increment, MONEY_SCALE, MONEY_SPARE_DIGITS, Money, NumError};

/// Dense index of a configured instrument (its position in the config's product list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct InstrumentId(pub u16);

impl InstrumentId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Longest product id the core stores (Coinbase ids are like "BTC-USD", "USDT-USDC").
pub const SYMBOL_BYTES_MAX: usize = 24;

/// A product id in fixed-size storage, so the hot path never allocates for one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol {
    bytes: [u8; SYMBOL_BYTES_MAX],
    len: u8,
}

impl Symbol {
    /// `None` when the id is empty, too long or not ASCII.
    pub fn new(text: &str) -> Option<Self> {
        let raw = text.as_bytes();
        if raw.is_empty() || raw.len() > SYMBOL_BYTES_MAX || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0_u8; SYMBOL_BYTES_MAX];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Self {
            bytes,
            len: raw.len() as u8,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`).
        std::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

impl std::fmt::Debug for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_str())
    }
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Venue trading restrictions on a product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VenueStatus {
    /// Not `online`, `trading_disabled` or `is_disabled`: nothing may be sent.
    pub trading_disabled: bool,
    /// Only cancels are accepted.
    pub cancel_only: bool,
    /// Market orders are refused.
    pub limit_only: bool,
    /// Only post-only (maker) orders are accepted.
    pub post_only: bool,
}

/// The decimal text of a product's rules, as the venue sends it (gateways fill this in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRules<'a> {
    pub product_id: &'a str,
    pub price_increment: &'a str,
    pub base_increment: &'a str,
    pub base_min_size: &'a str,
    pub base_max_size: &'a str,
    pub quote_min_size: &'a str,
    pub quote_max_size: &'a str,
    pub status: VenueStatus,
}

/// Why product rules could not become an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("product id is empty, too long or not ASCII")]
    BadSymbol,
    #[error("{field}: {cause}")]
    Field {
        field: &'static str,
        cause: NumError,
    },
    #[error("increments are too fine for exact money (price scale + base scale > {max})")]
    TooFine { max: u32 },
    #[error("base_min_size is larger than base_max_size")]
    MinAboveMax,
}

/// A tradable product's rules, all integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    pub symbol: Symbol,
    pub price_increment: Increment,
    pub base_increment: Increment,
    pub base_min_lots: i64,
    pub base_max_lots: i64,
    pub quote_min: Money,
    pub quote_max: Money,
    pub status: VenueStatus,
    /// Money of one tick × one lot: the factor from (ticks × lots) to [`Money`].
    pub money_per_tick_lot: i128,
}

impl InstrumentSpec {
    /// Builds the integer rules from the venue's decimal text.
    pub fn new_checked(rules: &ProductRules<'_>) -> Result<Self, InstrumentError> {
        let symbol = Symbol::new(rules.product_id).ok_or(InstrumentError::BadSymbol)?;
        let field = |field: &'static str| move |cause| InstrumentError::Field { field, cause };
        let price_increment =
            Increment::parse(rules.price_increment).map_err(field("price_increment"))?;
        let base_increment =
            Increment::parse(rules.base_increment).map_err(field("base_increment"))?;
        let scale_max = MONEY_SCALE - MONEY_SPARE_DIGITS;
        if price_increment.scale + base_increment.scale > scale_max {
            return Err(InstrumentError::TooFine { max: scale_max });
        }
        let base_min_lots = base_increment
            .parse_count(rules.base_min_size.as_bytes())
            .map_err(field("base_min_size"))?;
        let base_max_lots = base_increment
            .parse_count(rules.base_max_size.as_bytes())
            .map_err(field("base_max_size"))?;
        if base_min_lots > base_max_lots {
            return Err(InstrumentError::MinAboveMax);
        }
        let quote_min = Money::parse(rules.quote_min_size).map_err(field("quote_min_size"))?;
        let quote_max = Money::parse(rules.quote_max_size).map_err(field("quote_max_size"))?;
        let exponent = MONEY_SCALE - price_increment.scale - base_increment.scale;
        let money_per_tick_lot = i128::from(price_increment.step)
            * i128::from(base_increment.step)
            * 10_i128.pow(exponent);
        Ok(Self {
            symbol,
            price_increment,
            base_increment,
            base_min_lots,
            base_max_lots,
            quote_min,
            quote_max,
            status: rules.status,
            money_per_tick_lot,
        })
    }

    /// Exact notional of `size_lots` at `price_ticks`.
    #[inline]
    pub fn notional(&self, price_ticks: i64, size_lots: i64) -> Money {
        Money(i128::from(price_ticks) * i128::from(size_lots) * self.money_per_tick_lot)
    }

    /// Parses a price string into ticks of this instrument.
    #[inline]
    pub fn parse_price(&self, text: &[u8]) -> Result<i64, NumError> {
        self.price_increment.parse_count(text)
    }

    /// Parses a size string into lots of this instrument.
    #[inline]
    pub fn parse_size(&self, text: &[u8]) -> Result<i64, NumError> {
        self.base_increment.parse_count(text)
    }

    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.bytes(self.symbol.as_bytes());
        for increment in [self.price_increment, self.base_increment] {
            h.u64(increment.step);
            h.u32(increment.scale);
        }
        h.i64(self.base_min_lots);
        h.i64(self.base_max_lots);
        h.i128(self.quote_min.0);
        h.i128(self.quote_max.0);
        let status = self.status;
        for flag in [
            status.trading_disabled,
            status.cancel_only,
            status.limit_only,
            status.post_only,
        ] {
            h.bool(flag);
        }
        h.i128(self.money_per_tick_lot);
    }

    pub fn price_text(&self, price_ticks: i64) -> String {
        self.price_increment.display(price_ticks).to_string()
    }

    pub fn size_text(&self, size_lots: i64) -> String {
        self.base_increment.display(size_lots).to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn btc_usd() -> InstrumentSpec {
        InstrumentSpec::new_checked(&ProductRules {
            product_id: "BTC-USD",
            price_increment: "0.01",
            base_increment: "0.00000001",
            base_min_size: "0.00000001",
            base_max_size: "3400",
            quote_min_size: "1",
            quote_max_size: "150000000",
            status: VenueStatus::default(),
        })
        .unwrap()
    }

    // Proves the rules of the real BTC-USD product become exact integers.
    #[test]
    fn btc_usd_rules_are_integers() {
        let spec = btc_usd();
        assert_eq!(spec.base_max_lots, 340_000_000_000);
        assert_eq!(spec.money_per_tick_lot, 10_i128.pow(14));
        let notional = spec.notional(6_508_366, 23_929_087); // 65083.66 × 0.23929087
        assert_eq!(notional.display().to_string(), "15573.9256241842");
        assert_eq!(spec.price_text(6_508_367), "65083.67");
    }

    // Proves a bad field is named in the error.
    #[test]
    fn bad_rules_name_the_field() {
        let mut rules = ProductRules {
            product_id: "X-USD",
            price_increment: "0.01",
            base_increment: "abc",
            base_min_size: "1",
            base_max_size: "2",
            quote_min_size: "1",
            quote_max_size: "2",
            status: VenueStatus::default(),
        };
        let error = InstrumentSpec::new_checked(&rules).unwrap_err();
        assert_eq!(
            error.to_string(),
            "base_increment: invalid character at byte 0"
        );
        rules.base_increment = "0.1";
        rules.base_min_size = "0.15";
        let error = InstrumentSpec::new_checked(&rules).unwrap_err();
        assert_eq!(
            error.to_string(),
            "base_min_size: more decimal places than the increment allows"
        );
    }
}
