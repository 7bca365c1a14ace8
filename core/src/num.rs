//! Exact decimal ↔ integer conversion for prices, sizes and money.
//!
//! Prices are integers in ticks of an instrument's price increment and sizes are integers in
//! lots of its base increment. The venue sends decimal strings; they are parsed straight into
//! integers, and a value that is not a whole number of increments is an error, never rounded.
//! Money (notional, fees, P&L) is [`Money`]: an `i128` count of 10^-24 of the quote currency,
//! fine enough that every product of a tick and a lot on the venue, every fee in hundredths
//! of a basis point and every mid price is exact.

use std::fmt;

/// Decimal digits of [`Money`]: one unit is 10^-24 of the quote currency.
pub const MONEY_SCALE: u32 = 24;
/// Largest scale an [`Increment`] may have (10^-18).
pub const INCREMENT_SCALE_MAX: u32 = 18;
/// Fee rates are configured in hundredths of a basis point: 1 = 0.0001 %.
pub const FEE_RATE_DENOMINATOR: i128 = 1_000_000;
/// Digits a tick × lot product must leave free in [`Money`]: six for the fee rate and one so
/// that halving (a mid price) stays exact.
pub const MONEY_SPARE_DIGITS: u32 = 7;

const _: () = assert!(FEE_RATE_DENOMINATOR == 10_i128.pow(MONEY_SPARE_DIGITS - 1));
const _: () = assert!(2 * INCREMENT_SCALE_MAX <= MONEY_SCALE + 12);

/// Why a decimal string could not become an exact integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumError {
    #[error("empty number")]
    Empty,
    #[error("invalid character at byte {index}")]
    InvalidChar { index: usize },
    #[error("negative value where only non-negative ones are allowed")]
    Negative,
    #[error("more decimal places than the increment allows")]
    TooPrecise,
    #[error("value is not a whole number of increments")]
    OffGrid,
    #[error("value out of range")]
    Overflow,
    #[error("increment must be positive")]
    ZeroIncrement,
}

/// A positive decimal step: `step × 10^-scale` (e.g. "0.01" = 1 × 10^-2, "0.5" = 5 × 10^-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Increment {
    pub step: u64,
    pub scale: u32,
}

impl Increment {
    /// Parses an increment such as `"0.00000001"` or `"1"`; zero is an error.
    pub fn parse(text: &str) -> Result<Self, NumError> {
        let (units, scale) = parse_decimal_natural(text.as_bytes())?;
        if units == 0 {
            return Err(NumError::ZeroIncrement);
        }
        // Normalise "0.010" to step 1, scale 2.
        let (mut step, mut scale) = (units, scale);
        while scale > 0 && step % 10 == 0 {
            step /= 10;
            scale -= 1;
        }
        if scale > INCREMENT_SCALE_MAX {
            return Err(NumError::TooPrecise);
        }
        let step = u64::try_from(step).map_err(|_| NumError::Overflow)?;
        Ok(Self { step, scale })
    }

    /// Parses a non-negative decimal string into a whole number of increments.
    #[inline]
    pub fn parse_count(&self, text: &[u8]) -> Result<i64, NumError> {
        let units = parse_units_at_scale(text, self.scale)?;
        if self.step == 1 {
            // Every increment on Coinbase but a handful: no division needed.
            return i64::try_from(units).map_err(|_| NumError::Overflow);
        }
        if units % self.step != 0 {
            return Err(NumError::OffGrid);
        }
        i64::try_from(units / self.step).map_err(|_| NumError::Overflow)
    }

    /// Writes `count` increments as a decimal string without trailing zeros.
    pub fn display(&self, count: i64) -> DecimalDisplay {
        DecimalDisplay {
            units: i128::from(count) * i128::from(self.step),
            scale: self.scale,
        }
    }
}

/// Powers of ten that fit in a `u64`.
const POW10: [u64; 20] = {
    let mut table = [1_u64; 20];
    let mut index = 1;
    while index < 20 {
        table[index] = table[index - 1] * 10;
        index += 1;
    }
    table
};

/// Parses a non-negative decimal string into an integer count of 10^-`scale`.
///
/// Extra fractional digits are accepted only when they are zeros ("1.50" at scale 1).
#[inline]
pub fn parse_units_at_scale(text: &[u8], scale: u32) -> Result<u64, NumError> {
    parse_units_fast(text, scale).map_or_else(|| parse_units_checked(text, scale), Ok)
}

/// The common case in a few instructions a digit: at most 19 digits (no overflow possible
/// before scaling), one optional point, no more fraction digits than `scale`. `None` sends
/// anything else (and every error) to [`parse_units_checked`], which decides it.
#[inline]
fn parse_units_fast(text: &[u8], scale: u32) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || scale > 19 {
        return None;
    }
    let mut value: u64 = 0;
    let mut fraction_digits: Option<u32> = None;
    for &byte in text {
        let digit = byte.wrapping_sub(b'0');
        if digit < 10 {
            value = value * 10 + u64::from(digit);
            if let Some(count) = fraction_digits.as_mut() {
                *count += 1;
            }
        } else if byte == b'.' && fraction_digits.is_none() {
            fraction_digits = Some(0);
        } else {
            return None;
        }
    }
    let fraction = fraction_digits.unwrap_or(0);
    let digits = text.len() - usize::from(fraction_digits.is_some());
    if digits == 0 || fraction > scale {
        return None;
    }
    value.checked_mul(POW10[(scale - fraction) as usize])
}

/// The careful parser: every error, any length.
fn parse_units_checked(text: &[u8], scale: u32) -> Result<u64, NumError> {
    if text.is_empty() {
        return Err(NumError::Empty);
    }
    let mut value: u64 = 0;
    let mut fraction_digits: u32 = 0;
    let mut seen_point = false;
    let mut seen_digit = false;
    for (index, &byte) in text.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                seen_digit = true;
                let digit = u64::from(byte - b'0');
                if seen_point {
                    if fraction_digits == scale {
                        if digit != 0 {
                            return Err(NumError::TooPrecise);
                        }
                        continue;
                    }
                    fraction_digits += 1;
                }
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or(NumError::Overflow)?;
            }
            b'.' if !seen_point => seen_point = true,
            b'-' if index == 0 => return Err(NumError::Negative),
            _ => return Err(NumError::InvalidChar { index }),
        }
    }
    if !seen_digit {
        return Err(NumError::Empty);
    }
    let missing = scale - fraction_digits;
    value
        .checked_mul(10_u64.pow(missing))
        .ok_or(NumError::Overflow)
}

/// Parses a non-negative decimal into (units, scale) with the scale the text has.
fn parse_decimal_natural(text: &[u8]) -> Result<(u128, u32), NumError> {
    let point = text.iter().position(|&b| b == b'.');
    let scale = match point {
        Some(index) => (text.len() - index - 1) as u32,
        None => 0,
    };
    if scale > 38 {
        return Err(NumError::TooPrecise);
    }
    let mut value: u128 = 0;
    let mut seen_digit = false;
    for (index, &byte) in text.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                seen_digit = true;
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u128::from(byte - b'0')))
                    .ok_or(NumError::Overflow)?;
            }
            b'.' if Some(index) == point => {}
            b'-' if index == 0 => return Err(NumError::Negative),
            _ => return Err(NumError::InvalidChar { index }),
        }
    }
    if !seen_digit {
        return Err(NumError::Empty);
    }
    Ok((value, scale))
}

/// An amount of the quote currency in units of 10^-24: notional, fees and P&L.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i128);

/// The JSON form of money: its exact decimal text (`"-0.0125"`).
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.display())
    }
}

/// The JSON form of an `i128` (a limit's value in its unit): decimal text, as JSON readers
/// lose integers past 2^53.
pub fn serialize_i128_text<S: serde::Serializer>(value: &i128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses a decimal amount of the quote currency, e.g. `"25000"` or `"-1.5"`.
    pub fn parse(text: &str) -> Result<Self, NumError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (units, scale) = parse_decimal_natural(digits.as_bytes())?;
        if scale > MONEY_SCALE {
            return Err(NumError::TooPrecise);
        }
        let factor = 10_u128.pow(MONEY_SCALE - scale);
        let value = units.checked_mul(factor).ok_or(NumError::Overflow)?;
        let value = i128::try_from(value).map_err(|_| NumError::Overflow)?;
        Ok(Money(if negative { -value } else { value }))
    }

    /// A fee at `rate` hundredths of a basis point on this amount (exact for tick×lot notionals).
    pub fn fee(self, rate_centi_bps: u32) -> Money {
        Money(self.0.abs() * i128::from(rate_centi_bps) / FEE_RATE_DENOMINATOR)
    }

    pub fn display(self) -> DecimalDisplay {
        DecimalDisplay {
            units: self.0,
            scale: MONEY_SCALE,
        }
    }

    /// Rounded to `digits` decimal places, for human reports only.
    pub fn display_rounded(self, digits: u32) -> DecimalDisplay {
        let digits = digits.min(MONEY_SCALE);
        let factor = 10_i128.pow(MONEY_SCALE - digits);
        let half = factor / 2;
        let rounded = if self.0 >= 0 {
            (self.0 + half) / factor
        } else {
            (self.0 - half) / factor
        };
        DecimalDisplay {
            units: rounded,
            scale: digits,
        }
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        self.0 -= other.0;
    }
}

/// Formats `units × 10^-scale` as a plain decimal with trailing zeros trimmed ("65083.66").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalDisplay {
    pub units: i128,
    pub scale: u32,
}

impl fmt::Display for DecimalDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.units < 0;
        let magnitude = self.units.unsigned_abs();
        let divisor = 10_u128.pow(self.scale);
        let whole = magnitude / divisor;
        let mut fraction = magnitude % divisor;
        if negative {
            f.write_str("-")?;
        }
        write!(f, "{whole}")?;
        if fraction == 0 {
            return Ok(());
        }
        let mut width = self.scale as usize;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        write!(f, ".{fraction:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Proves exact parsing onto the grid and refusal of values off it.
    #[test]
    fn parse_count_is_exact_and_refuses_off_grid() {
        let tick = Increment::parse("0.01").unwrap();
        assert_eq!(tick, Increment { step: 1, scale: 2 });
        assert_eq!(tick.parse_count(b"65083.66"), Ok(6_508_366));
        assert_eq!(tick.parse_count(b"65062.5"), Ok(6_506_250));
        assert_eq!(tick.parse_count(b"126296"), Ok(12_629_600));
        assert_eq!(tick.parse_count(b"1.230"), Ok(123));
        assert_eq!(tick.parse_count(b"1.234"), Err(NumError::TooPrecise));
        let half = Increment::parse("0.5").unwrap();
        assert_eq!(half.parse_count(b"2.5"), Ok(5));
        assert_eq!(half.parse_count(b"2.3"), Err(NumError::OffGrid));
        let lot = Increment::parse("0.00000001").unwrap();
        assert_eq!(lot.parse_count(b"0.23929087"), Ok(23_929_087));
        assert_eq!(lot.parse_count(b"0"), Ok(0));
    }

    // Proves malformed text is an error value, never a panic or a silent zero.
    #[test]
    fn malformed_numbers_are_errors() {
        let tick = Increment::parse("0.01").unwrap();
        assert_eq!(tick.parse_count(b""), Err(NumError::Empty));
        assert_eq!(tick.parse_count(b"."), Err(NumError::Empty));
        assert_eq!(tick.parse_count(b"-1"), Err(NumError::Negative));
        assert_eq!(
            tick.parse_count(b"1e5"),
            Err(NumError::InvalidChar { index: 1 })
        );
        assert_eq!(
            tick.parse_count(b"1.2.3"),
            Err(NumError::InvalidChar { index: 3 })
        );
        assert_eq!(
            tick.parse_count(b"99999999999999999999999"),
            Err(NumError::Overflow)
        );
        assert_eq!(Increment::parse("0"), Err(NumError::ZeroIncrement));
        assert_eq!(
            Increment::parse("0.0000000000000000001"),
            Err(NumError::TooPrecise)
        );
    }

    // Proves money parsing, fees and display are exact.
    #[test]
    fn money_is_exact() {
        let amount = Money::parse("1000.5").unwrap();
        assert_eq!(amount.display().to_string(), "1000.5");
        assert_eq!(Money::parse("-2").unwrap().display().to_string(), "-2");
        // 60 bps = 6000 centi-bps on 1000.5 = 6.003
        assert_eq!(amount.fee(6000).display().to_string(), "6.003");
        assert_eq!(
            Money::parse("0.000001")
                .unwrap()
                .display_rounded(2)
                .to_string(),
            "0"
        );
        assert_eq!(
            Money::parse("-1.005")
                .unwrap()
                .display_rounded(2)
                .to_string(),
            "-1.01"
        );
    }

    proptest! {
        // Proves the fast parser agrees with the careful one on arbitrary short inputs built
        // from digits, points and junk (it may decline, never disagree).
        #[test]
        fn fast_parse_agrees_with_checked(text in "[0-9.x-]{0,22}", scale in 0_u32..12) {
            if let Some(fast) = parse_units_fast(text.as_bytes(), scale) {
                prop_assert_eq!(Ok(fast), parse_units_checked(text.as_bytes(), scale));
            }
        }

        // Proves display and parse are inverse for every count on the grid.
        #[test]
        fn display_then_parse_roundtrips(count in 0_i64..1_000_000_000_000, scale in 0_u32..10, step in 1_u64..50) {
            let inc = Increment { step, scale };
            let text = inc.display(count).to_string();
            let units = parse_units_at_scale(text.as_bytes(), scale).unwrap();
            prop_assert_eq!(units, count as u64 * step);
            // The increment's own text parses to an equal increment and counts the same.
            let reparsed = Increment::parse(&inc.display(1).to_string()).unwrap();
            prop_assert_eq!(reparsed.parse_count(text.as_bytes()), Ok(count));
        }
    }
}
