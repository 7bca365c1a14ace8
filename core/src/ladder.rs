//! One side of an L2 book: price levels sorted by key, best level last.
//!
//! Full-depth Coinbase books are large (the BTC-USD snapshot has 46,000 levels) and most
//! updates touch the top, but some land thousands of levels deep. A flat sorted array makes a
//! deep insert move the whole side; a `BTreeMap` allocates as it churns. The ladder is a
//! two-level sorted structure over a pool of fixed-size chunks allocated once at start-up:
//! a sorted index of chunks, each holding up to [`CHUNK_LEVELS`] sorted levels. An update is two
//! binary searches and a move of at most one chunk; the best level is the last entry of the
//! last chunk. Invariant: any two neighbouring chunks together hold more than half a chunk
//! (enforced by merging), so `levels_max` levels never need more than
//! `4 × levels_max / CHUNK_LEVELS + 2` chunks.
//!
//! Keys ascend towards the best level: the book stores bids with key = price and asks with
//! key = −price.

/// Levels per chunk.
pub const CHUNK_LEVELS: usize = 128;
/// Levels per chunk when a snapshot is bulk-loaded (room left for inserts).
const BULK_FILL_LEVELS: usize = CHUNK_LEVELS * 3 / 4;
/// Two neighbours whose combined length is at most this are merged.
const MERGE_LEVELS_MAX: usize = CHUNK_LEVELS / 2;

const _: () = assert!(CHUNK_LEVELS.is_power_of_two() && CHUNK_LEVELS >= 16);
const _: () = assert!(BULK_FILL_LEVELS > MERGE_LEVELS_MAX / 2 && BULK_FILL_LEVELS < CHUNK_LEVELS);

#[derive(Clone, Copy)]
struct Chunk {
    len: usize,
    keys: [i64; CHUNK_LEVELS],
    sizes: [i64; CHUNK_LEVELS],
}

impl Chunk {
    const EMPTY: Chunk = Chunk {
        len: 0,
        keys: [0; CHUNK_LEVELS],
        sizes: [0; CHUNK_LEVELS],
    };

    fn search(&self, key: i64) -> Result<usize, usize> {
        self.keys[..self.len].binary_search(&key)
    }
}

/// The side is at its configured capacity; the update was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("book side is full ({levels_max} levels)")]
pub struct LadderFull {
    pub levels_max: usize,
}

/// What `set` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    Inserted,
    Updated,
    Removed,
    /// A delete of a level that was not there.
    Absent,
}

pub struct Ladder {
    pool: Vec<Chunk>,
    free: Vec<u32>,
    /// Chunk ids in ascending key order.
    order: Vec<u32>,
    /// First key of each chunk in `order`, for the outer binary search.
    first_keys: Vec<i64>,
    levels: usize,
    levels_max: usize,
}

impl Ladder {
    /// Allocates everything a side of `levels_max` levels can ever need.
    pub fn with_capacity(levels_max: usize) -> Self {
        let chunks_max = 4 * levels_max / CHUNK_LEVELS + 2;
        Self {
            pool: vec![Chunk::EMPTY; chunks_max],
            free: (0..chunks_max as u32).rev().collect(),
            order: Vec::with_capacity(chunks_max),
            first_keys: Vec::with_capacity(chunks_max),
            levels: 0,
            levels_max,
        }
    }

    pub fn len(&self) -> usize {
        self.levels
    }

    pub fn is_empty(&self) -> bool {
        self.levels == 0
    }

    pub fn clear(&mut self) {
        for &id in &self.order {
            self.pool[id as usize].len = 0;
            self.free.push(id);
        }
        self.order.clear();
        self.first_keys.clear();
        self.levels = 0;
    }

    /// The best level (highest key), if any.
    #[inline]
    pub fn best(&self) -> Option<(i64, i64)> {
        let chunk = &self.pool[*self.order.last()? as usize];
        let last = chunk.len - 1;
        Some((chunk.keys[last], chunk.sizes[last]))
    }

    /// Size at `key`, if the level exists.
    pub fn get(&self, key: i64) -> Option<i64> {
        let position = self.chunk_position(key)?;
        let chunk = &self.pool[self.order[position] as usize];
        chunk.search(key).ok().map(|index| chunk.sizes[index])
    }

    /// Levels from the best outwards.
    pub fn iter_from_best(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.order.iter().rev().flat_map(move |&id| {
            let chunk = &self.pool[id as usize];
            (0..chunk.len)
                .rev()
                .map(move |index| (chunk.keys[index], chunk.sizes[index]))
        })
    }

    /// Sets the absolute size at `key`; zero deletes the level.
    pub fn set(&mut self, key: i64, size: i64) -> Result<SetOutcome, LadderFull> {
        let Some(position) = self.chunk_position(key) else {
            if size == 0 {
                return Ok(SetOutcome::Absent);
            }
            let id = self.take_chunk()?;
            let chunk = &mut self.pool[id as usize];
            chunk.keys[0] = key;
            chunk.sizes[0] = size;
            chunk.len = 1;
            self.order.push(id);
            self.first_keys.push(key);
            self.levels = 1;
            return Ok(SetOutcome::Inserted);
        };
        let id = self.order[position] as usize;
        match self.pool[id].search(key) {
            Ok(index) if size != 0 => {
                self.pool[id].sizes[index] = size;
                Ok(SetOutcome::Updated)
            }
            Ok(index) => {
                self.remove_at(position, index);
                Ok(SetOutcome::Removed)
            }
            Err(_) if size == 0 => Ok(SetOutcome::Absent),
            Err(index) => {
                self.insert_at(position, index, key, size)?;
                Ok(SetOutcome::Inserted)
            }
        }
    }

    /// Replaces the side with levels given in strictly descending key order (a snapshot's
    /// natural order, best first). Returns `false`, leaving the side cleared, when the input
    /// is not strictly descending; the caller then falls back to `set`.
    pub fn load_descending(
        &mut self,
        levels: impl DoubleEndedIterator<Item = (i64, i64)>,
    ) -> Result<bool, LadderFull> {
        self.clear();
        let mut previous: Option<i64> = None;
        for (key, size) in levels.rev() {
            if previous.is_some_and(|p| key <= p) || size <= 0 {
                self.clear();
                return Ok(false);
            }
            previous = Some(key);
            if self.levels == self.levels_max {
                self.clear();
                return Err(LadderFull {
                    levels_max: self.levels_max,
                });
            }
            let needs_chunk = match self.order.last() {
                None => true,
                Some(&id) => self.pool[id as usize].len == BULK_FILL_LEVELS,
            };
            if needs_chunk {
                let id = self.take_chunk()?;
                self.order.push(id);
                self.first_keys.push(key);
            }
            let id = *self.order.last().expect("a chunk was just ensured") as usize;
            let chunk = &mut self.pool[id];
            chunk.keys[chunk.len] = key;
            chunk.sizes[chunk.len] = size;
            chunk.len += 1;
            self.levels += 1;
        }
        Ok(true)
    }

    /// Position in `order` of the chunk that holds or would hold `key`.
    #[inline]
    fn chunk_position(&self, key: i64) -> Option<usize> {
        if self.order.is_empty() {
            return None;
        }
        // Fast path: most updates land in the best chunk.
        let last = self.order.len() - 1;
        if self.first_keys[last] <= key {
            return Some(last);
        }
        Some(
            self.first_keys
                .partition_point(|&first| first <= key)
                .saturating_sub(1),
        )
    }

    fn take_chunk(&mut self) -> Result<u32, LadderFull> {
        self.free.pop().ok_or(LadderFull {
            levels_max: self.levels_max,
        })
    }

    fn insert_at(
        &mut self,
        mut position: usize,
        mut index: usize,
        key: i64,
        size: i64,
    ) -> Result<(), LadderFull> {
        if self.levels == self.levels_max {
            return Err(LadderFull {
                levels_max: self.levels_max,
            });
        }
        if self.pool[self.order[position] as usize].len == CHUNK_LEVELS {
            let half = CHUNK_LEVELS / 2;
            let new_id = self.take_chunk()?;
            let old_id = self.order[position] as usize;
            let (old, new) = pair_mut(&mut self.pool, old_id, new_id as usize);
            new.keys[..CHUNK_LEVELS - half].copy_from_slice(&old.keys[half..]);
            new.sizes[..CHUNK_LEVELS - half].copy_from_slice(&old.sizes[half..]);
            new.len = CHUNK_LEVELS - half;
            old.len = half;
            self.order.insert(position + 1, new_id);
            self.first_keys.insert(position + 1, new.keys[0]);
            if index > half {
                position += 1;
                index -= half;
            }
        }
        let chunk = &mut self.pool[self.order[position] as usize];
        chunk.keys.copy_within(index..chunk.len, index + 1);
        chunk.sizes.copy_within(index..chunk.len, index + 1);
        chunk.keys[index] = key;
        chunk.sizes[index] = size;
        chunk.len += 1;
        if index == 0 {
            self.first_keys[position] = key;
        }
        self.levels += 1;
        Ok(())
    }

    fn remove_at(&mut self, position: usize, index: usize) {
        let id = self.order[position] as usize;
        let chunk = &mut self.pool[id];
        chunk.keys.copy_within(index + 1..chunk.len, index);
        chunk.sizes.copy_within(index + 1..chunk.len, index);
        chunk.len -= 1;
        self.levels -= 1;
        if chunk.len == 0 {
            self.free.push(id as u32);
            self.order.remove(position);
            self.first_keys.remove(position);
            return;
        }
        if index == 0 {
            self.first_keys[position] = chunk.keys[0];
        }
        let len = chunk.len;
        if position + 1 < self.order.len() && len + self.chunk_len(position + 1) <= MERGE_LEVELS_MAX
        {
            self.merge(position);
        } else if position > 0 && len + self.chunk_len(position - 1) <= MERGE_LEVELS_MAX {
            self.merge(position - 1);
        }
    }

    fn chunk_len(&self, position: usize) -> usize {
        self.pool[self.order[position] as usize].len
    }

    /// Moves the chunk at `left + 1` into the chunk at `left` and frees it.
    fn merge(&mut self, left: usize) {
        let left_id = self.order[left] as usize;
        let right_id = self.order[left + 1] as usize;
        let (into, from) = pair_mut(&mut self.pool, left_id, right_id);
        let (start, count) = (into.len, from.len);
        into.keys[start..start + count].copy_from_slice(&from.keys[..count]);
        into.sizes[start..start + count].copy_from_slice(&from.sizes[..count]);
        into.len += count;
        from.len = 0;
        self.free.push(right_id as u32);
        self.order.remove(left + 1);
        self.first_keys.remove(left + 1);
    }
}

fn pair_mut(pool: &mut [Chunk], a: usize, b: usize) -> (&mut Chunk, &mut Chunk) {
    assert_ne!(a, b, "a chunk is never paired with itself");
    if a < b {
        let (low, high) = pool.split_at_mut(b);
        (&mut low[a], &mut high[0])
    } else {
        let (low, high) = pool.split_at_mut(a);
        (&mut high[0], &mut low[b])
    }
}

impl Ladder {
    /// Every level from the best, into the state digest.
    pub(crate) fn digest(&self, h: &mut crate::digest::StateHasher) {
        h.usize(self.levels);
        for (key, size) in self.iter_from_best() {
            h.i64(key);
            h.i64(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn assert_same(ladder: &Ladder, model: &BTreeMap<i64, i64>) {
        let got: Vec<_> = ladder.iter_from_best().collect();
        let want: Vec<_> = model.iter().rev().map(|(&k, &s)| (k, s)).collect();
        assert_eq!(got, want);
        assert_eq!(ladder.len(), model.len());
        assert_eq!(
            ladder.best(),
            model.iter().next_back().map(|(&k, &s)| (k, s))
        );
        // The chunk-count bound that sizes the pool holds.
        assert!(ladder.order.len() <= 4 * ladder.len() / CHUNK_LEVELS + 2);
    }

    proptest! {
        // Proves the ladder behaves exactly like a sorted map under random sets and deletes,
        // including splits and merges, and never uses more chunks than its bound.
        #[test]
        fn matches_a_sorted_map(ops in prop::collection::vec((0_i64..3000, 0_i64..4), 1..4000)) {
            let mut ladder = Ladder::with_capacity(4096);
            let mut model = BTreeMap::new();
            for (key, size) in ops {
                let outcome = ladder.set(key, size).unwrap();
                let expected = match (model.contains_key(&key), size) {
                    (false, 0) => SetOutcome::Absent,
                    (true, 0) => SetOutcome::Removed,
                    (false, _) => SetOutcome::Inserted,
                    (true, _) => SetOutcome::Updated,
                };
                prop_assert_eq!(outcome, expected);
                if size == 0 { model.remove(&key); } else { model.insert(key, size); }
            }
            assert_same(&ladder, &model);
            for (&key, &size) in &model {
                prop_assert_eq!(ladder.get(key), Some(size));
            }
        }
    }

    // Proves a bulk load equals level-by-level inserts and refuses unsorted input.
    #[test]
    fn bulk_load_matches_inserts() {
        let levels: Vec<(i64, i64)> = (0..10_000).rev().map(|k| (k * 3, k + 1)).collect();
        let mut ladder = Ladder::with_capacity(20_000);
        assert_eq!(ladder.load_descending(levels.iter().copied()), Ok(true));
        let model: BTreeMap<i64, i64> = levels.iter().copied().collect();
        assert_same(&ladder, &model);
        // Updates after a bulk load still work everywhere in the side.
        ladder.set(1, 7).unwrap();
        ladder.set(0, 0).unwrap();
        let mut model = model;
        model.insert(1, 7);
        model.remove(&0);
        assert_same(&ladder, &model);
        let unsorted = [(5, 1), (9, 1)];
        assert_eq!(ladder.load_descending(unsorted.iter().copied()), Ok(false));
        assert!(ladder.is_empty());
    }

    // Proves the configured capacity is enforced with an error, not a panic.
    #[test]
    fn full_side_is_an_error() {
        let mut ladder = Ladder::with_capacity(200);
        for key in 0..200 {
            ladder.set(key, 1).unwrap();
        }
        assert_eq!(ladder.set(1000, 1), Err(LadderFull { levels_max: 200 }));
        assert_eq!(ladder.set(5, 9), Ok(SetOutcome::Updated));
        assert_eq!(ladder.len(), 200);
    }
}
