//! The format's checksums, all xxh3-64 (the `xxhash-rust` crate, identical to the reference
//! `XXH3_64bits_withSeed`):
//! - a segment's file header: `xxh3_64(header[0..56])`, seed 0;
//! - a record: `xxh3_64_with_seed(header[0..24] ‖ payload, seed = chain_prev)`, where
//!   `chain_prev` is the stored checksum of the record before it (the previous segment's last
//!   record across a roll, [`CHAIN_SEED`](crate::format::CHAIN_SEED) before the journal's
//!   first record). Every record therefore commits to all records before it: the checksum of
//!   the last record is the journal's *chain head*.
//!
//! The message is not contiguous in the file (the checksum field sits between header and
//! payload), so it is hashed either from a copy (small records; xxh3's one-shot form is much
//! faster than its streaming form) or by streaming. Both give the same value, by xxh3's
//! definition; a test pins that.

use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_64_with_seed};

use crate::format::{CHECKSUMMED_HEADER_BYTES, FILE_OFFSET_HEADER_CHECKSUM};

/// Messages up to this size are hashed from a stack copy by [`record_checksum`]: xxh3's
/// "mid-size" limit, above which the one-shot form needs a derived secret anyway.
const STACK_MESSAGE_BYTES: usize = 240;
/// The writer's reusable copy buffer: records up to this size are hashed in one shot.
pub(crate) const SCRATCH_MESSAGE_BYTES: usize = 4096;

/// The chained checksum of a record: `xxh3_64_with_seed(head ‖ payload, chain_prev)`, where
/// `head` is the record header's first 24 bytes (length, kind, flags, seq, ts) and
/// `chain_prev` the checksum of the previous record (or the segment's chain start). Public
/// so that tools outside this crate can verify a journal independently.
pub fn record_checksum(
    head: &[u8; CHECKSUMMED_HEADER_BYTES],
    payload: &[u8],
    chain_prev: u64,
) -> u64 {
    let len = CHECKSUMMED_HEADER_BYTES + payload.len();
    if len <= STACK_MESSAGE_BYTES {
        let mut message = [0u8; STACK_MESSAGE_BYTES];
        message[..CHECKSUMMED_HEADER_BYTES].copy_from_slice(head);
        message[CHECKSUMMED_HEADER_BYTES..len].copy_from_slice(payload);
        xxh3_64_with_seed(&message[..len], chain_prev)
    } else {
        streaming(head, payload, chain_prev)
    }
}

fn streaming(head: &[u8; CHECKSUMMED_HEADER_BYTES], payload: &[u8], chain_prev: u64) -> u64 {
    let mut hasher = Xxh3::with_seed(chain_prev);
    hasher.update(head);
    hasher.update(payload);
    hasher.digest()
}

/// The checksum of a segment's file header (bytes before the checksum field).
pub(crate) fn header_checksum(header: &[u8]) -> u64 {
    xxh3_64(&header[..FILE_OFFSET_HEADER_CHECKSUM])
}

/// The writer's copy buffer, allocated once at open so that appends never allocate and never
/// zero a buffer: [`Self::checksum`] equals [`record_checksum`].
pub(crate) struct Scratch {
    bytes: Box<[u8]>,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            bytes: vec![0u8; SCRATCH_MESSAGE_BYTES].into_boxed_slice(),
        }
    }

    /// The checksum of the record whose header starts with `commit_word` (bytes 0..8 as a
    /// little-endian u64), `seq` and `ts_ns`, and whose payload is `payload`. The header
    /// words go into the buffer as whole 8-byte stores, so the hash's loads of them are
    /// forwarded from the store buffer instead of stalling on a split store.
    #[inline]
    pub fn checksum(
        &mut self,
        commit_word: u64,
        seq: u64,
        ts_ns: u64,
        payload: &[u8],
        chain_prev: u64,
    ) -> u64 {
        let len = CHECKSUMMED_HEADER_BYTES + payload.len();
        let Some(message) = self.bytes.get_mut(..len) else {
            let mut head = [0u8; CHECKSUMMED_HEADER_BYTES];
            head[..8].copy_from_slice(&commit_word.to_le_bytes());
            head[8..16].copy_from_slice(&seq.to_le_bytes());
            head[16..24].copy_from_slice(&ts_ns.to_le_bytes());
            return streaming(&head, payload, chain_prev);
        };
        message[..8].copy_from_slice(&commit_word.to_le_bytes());
        message[8..16].copy_from_slice(&seq.to_le_bytes());
        message[16..24].copy_from_slice(&ts_ns.to_le_bytes());
        message[CHECKSUMMED_HEADER_BYTES..].copy_from_slice(payload);
        xxh3_64_with_seed(message, chain_prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                (state >> 56) as u8
            })
            .collect()
    }

    // Proves the copy, one-shot and streaming paths compute one and the same function of
    // (head, payload, seed) at every size that crosses a path boundary, so the format has a
    // single definition whatever path the writer or a reader takes.
    #[test]
    fn every_path_computes_the_same_checksum() {
        let mut scratch = Scratch::new();
        let mut head = [0u8; CHECKSUMMED_HEADER_BYTES];
        head.copy_from_slice(&bytes(1, CHECKSUMMED_HEADER_BYTES));
        let sizes = (0..300).chain([1000, 4071, 4072, 4073, 5000, 70_000]);
        for (i, len) in sizes.enumerate() {
            let payload = bytes(i as u64, len);
            for seed in [0, 1, crate::format::CHAIN_SEED, u64::MAX] {
                let mut message = head.to_vec();
                message.extend_from_slice(&payload);
                let reference = xxh3_64_with_seed(&message, seed);
                assert_eq!(record_checksum(&head, &payload, seed), reference, "{len}");
                let word = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().expect("8"));
                let scratched = scratch.checksum(word(0), word(8), word(16), &payload, seed);
                assert_eq!(scratched, reference, "{len}");
                assert_eq!(streaming(&head, &payload, seed), reference, "{len}");
            }
        }
    }

    // Proves the chain: the same record under a different previous checksum hashes to a
    // different value, and the reference vector of xxh3 holds (so the crate is the real xxh3).
    #[test]
    fn seed_changes_the_checksum_and_xxh3_matches_its_reference() {
        let head = [7u8; CHECKSUMMED_HEADER_BYTES];
        assert_ne!(
            record_checksum(&head, b"payload", 1),
            record_checksum(&head, b"payload", 2)
        );
        // XXH3_64bits("") from the xxHash reference implementation.
        assert_eq!(xxh3_64(b""), 0x2D06_8005_38D3_94C2);
    }
}
