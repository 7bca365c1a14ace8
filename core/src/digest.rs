//! The state digest: a hash of the engine's complete state, so two runs can be compared.
//!
//! Every component feeds its state into a [`StateHasher`] in a fixed order (books level by
//! level from the best, orders oldest first, rings oldest first). Two engines that processed
//! the same inputs give the same digest; any difference in a price, a size, an order, a
//! position, a risk window, a strategy timer or a counter changes it. Computed off the hot
//! loop (it walks every book level).

use std::fmt;
use xxhash_rust::xxh3::Xxh3;

/// A 128-bit state digest, printed as 32 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateDigest(pub u128);

impl fmt::Display for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Feeds state into the digest; every value is written with a fixed width, little-endian.
pub struct StateHasher {
    inner: Xxh3,
}

impl Default for StateHasher {
    fn default() -> Self {
        Self { inner: Xxh3::new() }
    }
}

impl StateHasher {
    pub fn u8(&mut self, value: u8) {
        self.inner.update(&[value]);
    }

    pub fn u16(&mut self, value: u16) {
        self.inner.update(&value.to_le_bytes());
    }

    pub fn u32(&mut self, value: u32) {
        self.inner.update(&value.to_le_bytes());
    }

    pub fn u64(&mut self, value: u64) {
        self.inner.update(&value.to_le_bytes());
    }

    pub fn i64(&mut self, value: i64) {
        self.inner.update(&value.to_le_bytes());
    }

    pub fn i128(&mut self, value: i128) {
        self.inner.update(&value.to_le_bytes());
    }

    pub fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    pub fn usize(&mut self, value: usize) {
        self.u64(value as u64);
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, value: &[u8]) {
        self.usize(value.len());
        self.inner.update(value);
    }

    /// `Some(v)` and `None` hash differently from every value.
    pub fn opt_u64(&mut self, value: Option<u64>) {
        match value {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }

    /// A section marker, so adjacent variable-length parts cannot run into each other.
    pub fn tag(&mut self, tag: &str) {
        self.bytes(tag.as_bytes());
    }

    pub fn finish(&self) -> StateDigest {
        StateDigest(self.inner.digest128())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the digest depends on every value and on where one part ends.
    #[test]
    fn digest_separates_values_and_parts() {
        let digest = |f: &dyn Fn(&mut StateHasher)| {
            let mut h = StateHasher::default();
            f(&mut h);
            h.finish()
        };
        let a = digest(&|h| {
            h.bytes(b"ab");
            h.bytes(b"c");
        });
        let b = digest(&|h| {
            h.bytes(b"a");
            h.bytes(b"bc");
        });
        assert_ne!(a, b);
        assert_ne!(
            digest(&|h| h.opt_u64(None)),
            digest(&|h| h.opt_u64(Some(0)))
        );
        assert_eq!(digest(&|h| h.u64(7)), digest(&|h| h.u64(7)));
        assert_eq!(digest(&|h| h.u64(7)).to_string().len(), 32);
    }
}
