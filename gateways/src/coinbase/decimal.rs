//! An exact signed decimal for the venue's amounts that are not on an instrument's grid:
//! cumulative fill quantities, filled values, fees and balances.
//!
//! One [`Decimal`] unit is 10^-24 (the core's [`MONEY_SCALE`]), so every venue string with up
//! to 24 decimal places is held exactly and converts to [`Money`] without loss. Parsing goes
//! through [`Money::parse`]; nothing passes through `f64`. The range is ±1.7 × 10^14, far
//! above any quantity or notional the daemon handles; arithmetic that would leave it is an
//! error (`checked_*`), never a wrap.

use std::fmt;

use traider_core::num::{MONEY_SCALE, Money, NumError};

/// `units × 10^-24`, exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(pub i128);

const ONE_UNITS: i128 = 10_i128.pow(MONEY_SCALE);

impl Decimal {
    pub const ZERO: Decimal = Decimal(0);

    /// Parses `"0.0001"`, `"65083.66"`, `"-1.5"` (at most 24 decimal places).
    pub fn parse(text: &str) -> Result<Self, NumError> {
        Money::parse(text).map(|m| Decimal(m.0))
    }

    /// The same amount as core [`Money`] (same scale).
    pub fn to_money(self) -> Money {
        Money(self.0)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        self.0.checked_add(other.0).map(Decimal)
    }

    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.0.checked_sub(other.0).map(Decimal)
    }

    /// `self - other` if positive, else zero; a difference past the range is the largest
    /// decimal (the operands are in range, their difference need not be).
    pub fn saturating_excess(self, other: Decimal) -> Decimal {
        if self > other {
            Decimal(self.0.saturating_sub(other.0))
        } else {
            Decimal::ZERO
        }
    }

    /// The exact product (a price × a size), or `None` if it has more than 24 decimal
    /// places or leaves the range.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        // Strip the factors of ten both operands carry, multiply the mantissas, rescale.
        let (a, a_scale) = mantissa(self.0);
        let (b, b_scale) = mantissa(other.0);
        let product = a.checked_mul(b)?;
        let scale = a_scale + b_scale;
        if scale > MONEY_SCALE {
            return None;
        }
        product
            .checked_mul(10_i128.pow(MONEY_SCALE - scale))
            .map(Decimal)
    }
}

/// `units × 10^-24` as `(mantissa, scale)` with the fewest decimal places.
fn mantissa(units: i128) -> (i128, u32) {
    let mut value = units;
    let mut scale = MONEY_SCALE;
    while scale > 0 && value % 10 == 0 {
        value /= 10;
        scale -= 1;
    }
    (value, scale)
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Money(self.0).display().fmt(f)
    }
}

impl From<Decimal> for Money {
    fn from(value: Decimal) -> Money {
        Money(value.0)
    }
}

impl Decimal {
    /// A whole number.
    pub fn from_int(value: i64) -> Decimal {
        Decimal(i128::from(value) * ONE_UNITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).expect("decimal")
    }

    #[test]
    fn parses_and_prints_venue_strings_exactly() {
        // Proves venue strings round-trip without loss (no f64): trailing zeros trimmed.
        for (text, shown) in [
            ("65083.66", "65083.66"),
            ("0.00000001", "0.00000001"),
            ("1.50", "1.5"),
            ("-2", "-2"),
            ("0", "0"),
        ] {
            assert_eq!(d(text).to_string(), shown);
        }
        assert!(Decimal::parse("").is_err());
        assert!(Decimal::parse("1e5").is_err());
        assert!(Decimal::parse("0.0000000000000000000000001").is_err());
    }

    #[test]
    fn multiplies_price_by_size_exactly() {
        // Proves price × size is exact where f64 is not (0.1 × 3 and a BTC notional).
        assert_eq!(d("0.1").checked_mul(d("3")), Some(d("0.3")));
        assert_eq!(
            d("65083.66").checked_mul(d("0.00012345")),
            Some(d("8.034577827"))
        );
        assert_eq!(d("-2").checked_mul(d("0.5")), Some(d("-1")));
        let tiny = d("0.000000000001");
        assert_eq!(
            tiny.checked_mul(tiny),
            Some(d("0.000000000000000000000001"))
        );
        assert_eq!(tiny.checked_mul(d("0.1")).map(|_| ()), Some(()));
        assert_eq!(
            d("0.0000000000001").checked_mul(d("0.000000000001")),
            None,
            "25 decimal places cannot be held"
        );
        assert_eq!(Decimal::from_int(3), d("3"));
        assert_eq!(d("2").saturating_excess(d("3")), Decimal::ZERO);
        assert_eq!(d("3").saturating_excess(d("2")), d("1"));
    }
}
