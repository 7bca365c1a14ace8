//! The `l2_data` fast path: a strict scanner for the one shape Coinbase sends book frames in.
//!
//! Book frames are most of the traffic and all of the snapshot bytes, and the general tape
//! walk costs ~330 ns per level (bench: `decode/l2_updates`). This scanner reads exactly
//!
//! ```text
//! {"channel":"l2_data"[,"client_id":S],"timestamp":S,"sequence_num":N,"events":[
//!   {"type":"snapshot"|"update","product_id":S,"updates":[
//!     {"side":"bid"|"offer","event_time":S,"price_level":S,"new_quantity":S}, ...]}, ...]}
//! ```
//!
//! with no whitespace, keys in that order, strings of printable ASCII without escapes, and a
//! plain unsigned integer. Anything else — another key order, an escape, a number it cannot
//! place on the grid, an unconfigured product, a full batch — is *declined*: the scanner
//! undoes what it wrote and the frame goes through the `simd-json` path, which decides what
//! the frame is (and which error it gets). So this path only ever accepts frames the general
//! path would decode to the same events, which a differential property test checks.

use traider_core::event::{DecodedBatch, LevelChange, MarketEvent, Side};
use traider_core::instrument::{InstrumentId, InstrumentSpec};

/// Looks up a configured, defined product by id.
pub(crate) trait Products {
    fn defined(&self, product_id: &[u8]) -> Option<(InstrumentId, InstrumentSpec)>;
}

/// `Some(())` when the frame was decoded; `None` when it must take the general path (the
/// batch is then exactly as it was).
pub(crate) fn scan_l2(
    frame: &[u8],
    products: &impl Products,
    levels_max: usize,
    out: &mut DecodedBatch,
) -> Option<()> {
    let marks = (out.levels.len(), out.events.len(), out.sequence_num);
    let scanned = Scanner {
        bytes: frame,
        at: 0,
    }
    .frame(products, levels_max, out);
    if scanned.is_none() {
        out.levels.truncate(marks.0);
        out.events.truncate(marks.1);
        out.sequence_num = marks.2;
    }
    scanned
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// A fixed literal; compared as an array so it compiles to a few word compares.
    #[inline]
    fn lit<const N: usize>(&mut self, literal: &[u8; N]) -> Option<()> {
        let end = self.at + N;
        let bytes: &[u8; N] = self.bytes.get(self.at..end)?.try_into().ok()?;
        (bytes == literal).then(|| self.at = end)
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// A string value: `"`, then printable ASCII up to the closing `"` (no escapes).
    #[inline]
    fn string(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = &self.bytes[self.at..];
        let len = quoted_len(rest)?;
        self.at += len + 1;
        Some(&rest[..len])
    }

    /// A JSON unsigned integer without fraction or exponent.
    fn uint(&mut self) -> Option<u64> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        // JSON forbids leading zeros ("007"); a fraction or exponent is declined too.
        let leading_zero = digits > 1 && self.bytes[start] == b'0';
        (digits > 0 && !leading_zero && !matches!(self.peek(), Some(b'.' | b'e' | b'E')))
            .then_some(value)
    }

    fn frame(
        mut self,
        products: &impl Products,
        levels_max: usize,
        out: &mut DecodedBatch,
    ) -> Option<()> {
        self.lit(b"{\"channel\":\"l2_data\",")?;
        if self.lit(b"\"client_id\":").is_some() {
            self.string()?;
            self.lit(b",")?;
        }
        self.lit(b"\"timestamp\":")?;
        self.string()?;
        self.lit(b",\"sequence_num\":")?;
        out.sequence_num = Some(self.uint()?);
        self.lit(b",\"events\":[")?;
        if self.lit(b"]").is_none() {
            loop {
                self.event(products, levels_max, out)?;
                if self.lit(b",").is_none() {
                    self.lit(b"]")?;
                    break;
                }
            }
        }
        self.lit(b"}")?;
        (self.at == self.bytes.len()).then_some(())
    }

    fn event(
        &mut self,
        products: &impl Products,
        levels_max: usize,
        out: &mut DecodedBatch,
    ) -> Option<()> {
        self.lit(b"{\"type\":")?;
        let snapshot = match self.string()? {
            b"snapshot" => true,
            b"update" => false,
            _ => return None,
        };
        self.lit(b",\"product_id\":")?;
        let (instrument, spec) = products.defined(self.string()?)?;
        self.lit(b",\"updates\":[")?;
        let start = out.levels.len();
        if self.lit(b"]").is_none() {
            loop {
                if out.levels.len() == levels_max {
                    return None;
                }
                out.levels.push(self.level(&spec)?);
                if self.lit(b",").is_none() {
                    self.lit(b"]")?;
                    break;
                }
            }
        }
        self.lit(b"}")?;
        let levels = start..out.levels.len();
        out.events
            .push(MarketEvent::book(snapshot, instrument, levels));
        Some(())
    }

    #[inline]
    fn level(&mut self, spec: &InstrumentSpec) -> Option<LevelChange> {
        self.lit(b"{\"side\":")?;
        let side = match self.string()? {
            b"bid" => Side::Buy,
            b"offer" => Side::Sell,
            _ => return None,
        };
        self.lit(b",\"event_time\":")?;
        self.string()?;
        self.lit(b",\"price_level\":")?;
        let price_ticks = spec.parse_price(self.string()?).ok()?;
        self.lit(b",\"new_quantity\":")?;
        let size_lots = spec.parse_size(self.string()?).ok()?;
        self.lit(b"}")?;
        Some(LevelChange {
            side,
            price_ticks,
            size_lots,
        })
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit) every byte of `v` that is zero. The lowest flag is always exact; a flag
/// above a real zero byte may be false, which is harmless here: only the lowest one is used.
#[inline]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Length of a string's body up to its closing quote, or `None` when a byte before the quote
/// is not printable ASCII (control, DEL, non-ASCII) or is a backslash, or there is no quote.
/// Eight bytes at a time (SWAR): the bodies are short and a call per string costs more.
#[inline]
fn quoted_len(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    while offset + 8 <= bytes.len() {
        let chunk: [u8; 8] = bytes[offset..offset + 8]
            .try_into()
            .expect("an 8-byte slice");
        let v = u64::from_le_bytes(chunk);
        let quote = zero_bytes(v ^ (ONES * u64::from(b'"')));
        // Bytes below 0x20 (exact for ASCII; non-ASCII is caught by the high bit), DEL,
        // backslash and anything non-ASCII.
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGHS;
        let bad = control
            | zero_bytes(v ^ (ONES * 0x7F))
            | zero_bytes(v ^ (ONES * u64::from(b'\\')))
            | (v & HIGHS);
        if quote != 0 {
            let at = quote.trailing_zeros() / 8;
            let before = bad & ((1_u64 << (at * 8)) - 1);
            return (before == 0).then_some(offset + at as usize);
        }
        if bad != 0 {
            return None;
        }
        offset += 8;
    }
    for (index, &byte) in bytes[offset..].iter().enumerate() {
        match byte {
            b'"' => return Some(offset + index),
            b'\\' => return None,
            0x20..=0x7E => {}
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The obvious byte-at-a-time rule the SWAR scan must equal.
    fn quoted_len_simple(bytes: &[u8]) -> Option<usize> {
        for (index, &byte) in bytes.iter().enumerate() {
            match byte {
                b'"' => return Some(index),
                b'\\' | 0..=0x1F | 0x7F..=0xFF => return None,
                _ => {}
            }
        }
        None
    }

    proptest! {
        // Proves the eight-at-a-time string scan agrees with the byte-at-a-time rule on any
        // bytes, including quotes, escapes, control and non-ASCII bytes at every position.
        #[test]
        fn swar_scan_equals_simple_scan(bytes in prop::collection::vec(prop::sample::select(
            vec![b'"', b'\\', 0x00, 0x1F, 0x20, 0x21, b'0', b'Z', 0x7E, 0x7F, 0x80, 0xC3, 0xFF]), 0..40)) {
            prop_assert_eq!(quoted_len(&bytes), quoted_len_simple(&bytes));
        }
    }
}
