//! What the writer shares with cold threads, and the [`Syncer`] they use: msync behind the
//! writer (the `interval_ms` and `durable` flush policies) and prefault ahead of it.
//!
//! The writer publishes, after every append, where its committed data ends and the last
//! committed sequence number: two release stores to atomics on a cache line of their own
//! (plain `mov`s on x86). Everything else here runs on cold threads. The writer takes a lock
//! only when it rolls to a new segment (once per segment, already a slow path).
//!
//! Prefaulting: the first store to each 4 KiB page of a fresh segment takes a page fault
//! (a microsecond or more, on the hot thread). A cold thread calling
//! [`Syncer::prefault_ahead`] every millisecond or so makes the next pages resident and
//! writable first, with `madvise(MADV_POPULATE_WRITE)` on the writer's own mapping. It never
//! stores to the mapping (a store of zeros from another thread into bytes the writer is
//! about to write would be a data race); the kernel only builds page-table entries.
//!
//! No use after unmap: a cold thread clones the current segment's [`SegmentHandle`] (an
//! `Arc` of the mapping) under the lock before using it, so a roll that drops the writer's
//! own reference leaves the mapping alive until the cold thread is done. Rolled-away
//! segments are synced by path (`fdatasync` of the file), not through a mapping.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::dir;
use crate::error::JournalError;
use crate::format::FILE_HEADER_SIZE;
use crate::segment::{SegmentHandle, SegmentWriter};

/// Offsets take the low 40 bits of a published position, the segment index the rest.
const POSITION_OFFSET_BITS: u32 = 40;
const POSITION_OFFSET_MASK: u64 = (1 << POSITION_OFFSET_BITS) - 1;

/// `(index, offset)` packed so that one atomic store publishes both. Only the low 24 bits of
/// the index are kept: enough to tell the current segment from a recent one.
pub(crate) fn pack_position(index: u32, offset: usize) -> u64 {
    (u64::from(index) << POSITION_OFFSET_BITS) | (offset as u64 & POSITION_OFFSET_MASK)
}

fn position_matches(position: u64, index: u32) -> bool {
    position >> POSITION_OFFSET_BITS == u64::from(index) & (u64::MAX >> POSITION_OFFSET_BITS)
}

fn position_offset(position: u64) -> usize {
    (position & POSITION_OFFSET_MASK) as usize
}

/// The writer's hot-path stores, alone on their cache lines so cold readers of other
/// fields do not bounce them.
#[derive(Debug)]
#[repr(align(128))]
struct Published {
    position: AtomicU64,
    seq: AtomicU64,
}

#[derive(Debug)]
#[repr(align(128))]
struct Durable {
    seq: AtomicU64,
}

/// A segment the writer rolled away from, not yet synced.
#[derive(Clone, Debug)]
struct Rolled {
    index: u32,
    path: PathBuf,
}

#[derive(Debug)]
struct Segments {
    current: SegmentHandle,
    rolled: Vec<Rolled>,
    /// Bumped on every roll; the directory is synced up to `SyncState::dir_synced`.
    dir_generation: u64,
}

/// Held for the whole of a sync: syncs run one at a time (group commit).
#[derive(Debug)]
struct SyncState {
    segment: u32,
    synced_end: usize,
    dir_synced: u64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    dir: PathBuf,
    /// Size of a regular segment (the writer's option), for spares.
    segment_bytes: u64,
    published: Published,
    durable: Durable,
    segments: Mutex<Segments>,
    sync: Mutex<SyncState>,
    /// The next segment, created ahead by a cold thread ([`Syncer::prepare_spare`]) so that
    /// a roll makes no system call. Whoever creates or renames a segment file holds this
    /// lock (the writer for its whole roll), so two never race for one name.
    spare: Mutex<Spare>,
    /// The segment the writer rolled away from, left here so that its unmap (the last
    /// reference) happens on a cold thread rather than the hot one.
    retired: Mutex<Option<SegmentWriter>>,
}

/// The spare slot: the segment, and whether a writer still owns the directory (no spare is
/// made for a writer that has gone).
#[derive(Debug)]
pub(crate) struct Spare {
    pub segment: Option<SegmentWriter>,
    pub writer_open: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data in a consistent state
    // (every update is a single assignment or push), so poisoning is ignored.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// State for a writer about to append at `offset` of `current`, after `seq_last`. The
    /// `older` segments (found on open) count as unsynced: a crashed predecessor may not
    /// have synced them.
    pub fn new(
        dir: &Path,
        segment_bytes: u64,
        current: SegmentHandle,
        offset: usize,
        seq_last: u64,
        older: Vec<(u32, PathBuf)>,
    ) -> Self {
        let rolled = older
            .into_iter()
            .map(|(index, path)| Rolled { index, path })
            .collect();
        let sync = SyncState {
            segment: current.index(),
            synced_end: FILE_HEADER_SIZE,
            dir_synced: 0,
        };
        Self {
            dir: dir.to_path_buf(),
            segment_bytes,
            spare: Mutex::new(Spare {
                segment: None,
                writer_open: true,
            }),
            retired: Mutex::new(None),
            published: Published {
                position: AtomicU64::new(pack_position(current.index(), offset)),
                seq: AtomicU64::new(seq_last),
            },
            durable: Durable {
                seq: AtomicU64::new(0),
            },
            segments: Mutex::new(Segments {
                current,
                rolled,
                dir_generation: 1,
            }),
            sync: Mutex::new(sync),
        }
    }

    /// Hot path: the record `seq` is committed and data now ends at `offset` of `index`.
    #[inline]
    pub fn publish(&self, index: u32, offset: usize, seq: u64) {
        let position = pack_position(index, offset);
        self.published.position.store(position, Ordering::Release);
        self.published.seq.store(seq, Ordering::Release);
    }

    /// Cold: the writer moved from segment `old` to `current` (published before its first
    /// append there).
    pub fn rolled(&self, old: u32, old_path: &Path, current: SegmentHandle) {
        let index = current.index();
        let mut segments = lock(&self.segments);
        segments.rolled.push(Rolled {
            index: old,
            path: old_path.to_path_buf(),
        });
        segments.current = current;
        segments.dir_generation += 1;
        drop(segments);
        let position = pack_position(index, FILE_HEADER_SIZE);
        self.published.position.store(position, Ordering::Release);
    }

    fn committed_seq(&self) -> u64 {
        self.published.seq.load(Ordering::Acquire)
    }

    /// The writer's roll: the spare slot, locked for the whole roll. Uncontended (the usual
    /// case) this is one atomic exchange; it waits only while a cold thread is renaming a
    /// spare into place.
    pub fn spare_slot(&self) -> MutexGuard<'_, Spare> {
        match self.spare.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => lock(&self.spare),
        }
    }

    /// Leaves the segment the writer rolled away from for a cold thread to unmap. If the
    /// slot is busy or full, the older one is dropped here (a rare unmap on this thread).
    pub fn retire(&self, segment: SegmentWriter) {
        if let Ok(mut slot) = self.retired.try_lock() {
            let older = slot.replace(segment);
            drop(slot);
            drop(older);
        }
    }

    /// The writer is closing: remove its spare (a clean stop leaves none) and make no more.
    pub fn close_spares(&self) {
        let mut slot = lock(&self.spare);
        slot.writer_open = false;
        if let Some(spare) = slot.segment.take() {
            let path = spare.path().to_path_buf();
            drop(spare);
            let _ = std::fs::remove_file(path);
        }
        drop(slot);
        lock(&self.retired).take();
    }

    fn durable_seq(&self) -> u64 {
        self.durable.seq.load(Ordering::Acquire)
    }

    /// Syncs everything committed so far; returns the new durable sequence number.
    fn sync_all(&self) -> Result<u64, JournalError> {
        let mut state = lock(&self.sync);
        // Sequence first, then position: the writer stores them in the other order, so the
        // position read covers at least the record `seq_now`.
        let seq_now = self.committed_seq();
        let position = self.published.position.load(Ordering::Acquire);
        let (current, rolled, dir_generation) = {
            let segments = lock(&self.segments);
            let rolled = segments.rolled.clone();
            (segments.current.clone(), rolled, segments.dir_generation)
        };
        for segment in &rolled {
            sync_file(&segment.path)?;
        }
        if state.dir_synced < dir_generation {
            dir::sync(&self.dir)?;
            state.dir_synced = dir_generation;
        }
        if let Some(last) = rolled.last() {
            lock(&self.segments).rolled.retain(|r| r.index > last.index);
        }
        // If the writer rolled after `position` was read, the segment it points into was
        // among `rolled` (pushed before the new position was published) and is synced.
        if position_matches(position, current.index()) {
            if state.segment != current.index() {
                // From 0: a segment started from a spare got its header by memory stores.
                state.segment = current.index();
                state.synced_end = 0;
            }
            let end = position_offset(position);
            current.sync_range(state.synced_end..end)?;
            state.synced_end = state.synced_end.max(end);
            // Writeback left the writer's current page clean and write-protected: its next
            // store would fault on the hot thread. Make it writable again from here (best
            // effort: an optimisation, nothing depends on it).
            let page = end - end % PAGE_BYTES;
            let _ = current.populate_write(page..page + PAGE_BYTES);
        }
        self.durable.seq.fetch_max(seq_now, Ordering::AcqRel);
        Ok(self.durable_seq())
    }
}

/// fdatasync of a rolled-away segment. One removed meanwhile (retention) needs no sync.
fn sync_file(path: &Path) -> Result<(), JournalError> {
    match File::open(path).and_then(|file| file.sync_data()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JournalError::io(path, e)),
    }
}

/// A handle for cold threads to make the writer's records durable and to prefault the pages
/// ahead of it, from [`crate::JournalWriter::syncer`]. `Clone + Send + Sync`; it never
/// blocks the writer (the writer never waits for it, except for a lock held for a pointer
/// copy when it rolls to a new segment). It stays usable after the writer is dropped.
///
/// # Flush policies
/// - `none`: nobody calls it. Appends are in the page cache at once: they survive a crash
///   of the process, not of the kernel or the power.
/// - `interval_ms`: a cold thread runs [`Syncer::run_interval`]; a power loss loses at most
///   the records of the last interval (plus the time one sync takes).
/// - `durable`: the order-sender thread calls [`Syncer::sync_to`] with the sequence number
///   of the decision before it releases the order to the venue. One sync covers every
///   record committed when it starts, so a batch of decisions (all the orders the sender
///   drained from its ring: call `sync_to` once, with the highest seq) costs one msync, and
///   concurrent callers wait for the sync in flight and return without one of their own
///   (group commit). A power loss never loses a decision whose order was released. The
///   sender need not carry sequence numbers: [`Syncer::committed_seq`], read after it took
///   an order from the output ring (which the hot thread published after journaling the
///   decision), is at least that decision's seq.
#[derive(Clone, Debug)]
pub struct Syncer {
    shared: Arc<Shared>,
}

impl Syncer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Sequence number of the last record the writer committed (0: none yet).
    pub fn committed_seq(&self) -> u64 {
        self.shared.committed_seq()
    }

    /// The highest sequence number known to be on disk (0: none yet). Records found when
    /// the writer opened count only after this handle's first sync.
    pub fn durable_seq(&self) -> u64 {
        self.shared.durable_seq()
    }

    /// Blocks until record `seq` (and every record before it) is on disk. Returns at once if
    /// it already is. `NotYetAppended` (retryable) if the writer has not committed `seq`.
    pub fn sync_to(&self, seq: u64) -> Result<(), JournalError> {
        if seq <= self.shared.durable_seq() {
            return Ok(());
        }
        let committed_seq = self.shared.committed_seq();
        if seq > committed_seq {
            return Err(JournalError::NotYetAppended { seq, committed_seq });
        }
        self.shared.sync_all().map(drop)
    }

    /// Blocks until every record committed so far is on disk; returns the durable seq.
    pub fn sync_all(&self) -> Result<u64, JournalError> {
        self.shared.sync_all()
    }

    /// The `interval_ms` policy's loop, for a cold thread: sync every `period` until `stop`
    /// is set, then a last time. Returns the first error (the caller decides whether a
    /// journal that cannot be synced stops trading).
    pub fn run_interval(&self, period: Duration, stop: &AtomicBool) -> Result<(), JournalError> {
        while !stop.load(Ordering::Acquire) {
            std::thread::sleep(period);
            self.sync_all()?;
        }
        self.sync_all().map(drop)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Creates the writer's next segment ahead of need (sized, blocks reserved, mapped, its
    /// first `prefault_bytes` made resident), so that the writer's roll to it makes no
    /// system call. Also unmaps the segment the writer last rolled away from. Returns
    /// whether it created a spare; `false` when one is ready already or the writer has
    /// closed. Call it from a cold thread, periodically (`traiderd`'s journal thread does).
    pub fn prepare_spare(&self, prefault_bytes: usize) -> Result<bool, JournalError> {
        let shared = &self.shared;
        lock(&shared.retired).take();
        let next = {
            let slot = lock(&shared.spare);
            let current = lock(&shared.segments).current.index();
            let Some(next) = current.checked_add(1) else {
                return Ok(false);
            };
            if !slot.writer_open || slot.segment.as_ref().is_some_and(|s| s.index() == next) {
                return Ok(false);
            }
            next
        };
        // Built under a temporary name, outside the lock: this is the slow part.
        let (spare, temp_path) =
            SegmentWriter::create_spare(&shared.dir, next, shared.segment_bytes)?;
        let _ = spare
            .handle()
            .populate_write(0..prefault_bytes.min(spare.len()));
        let mut slot = lock(&shared.spare);
        let current = lock(&shared.segments).current.index();
        if !slot.writer_open || current.checked_add(1) != Some(next) || slot.segment.is_some() {
            // The writer rolled (or closed) meanwhile: this spare is no longer next.
            drop(slot);
            let _ = std::fs::remove_file(&temp_path);
            return Ok(false);
        }
        spare.publish_spare(&temp_path)?;
        dir::sync(&shared.dir)?;
        slot.segment = Some(spare);
        Ok(true)
    }
}

impl Shared {
    /// The current segment and the writer's offset in it (the segment's data start if the
    /// writer just rolled and has not published there yet).
    pub fn current_position(&self) -> (SegmentHandle, usize) {
        let position = self.published.position.load(Ordering::Acquire);
        let current = lock(&self.segments).current.clone();
        let offset = if position_matches(position, current.index()) {
            position_offset(position)
        } else {
            FILE_HEADER_SIZE
        };
        (current, offset)
    }
}

/// Pages are assumed to be 4 KiB for rounding; the kernel rounds to the real page size.
const PAGE_BYTES: usize = 4096;

/// What one [`Syncer::prefault_ahead`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefault {
    /// Index of the segment the writer is appending to.
    pub segment: u32,
    /// Byte range of that segment made resident and writable.
    pub start: u64,
    pub end: u64,
    /// False where the kernel lacks `MADV_POPULATE_WRITE` (Linux < 5.14, other systems):
    /// nothing was done, and appends fault as without a prefaulter.
    pub supported: bool,
}

impl Syncer {
    /// Makes the `window_bytes` after the writer's current offset (from the start of the page
    /// it is in, up to the end of the segment) resident and writable. Cheap when they already
    /// are: call it periodically from a cold thread, with a window larger than what the
    /// writer appends between two calls. After a roll, it covers the new segment's start.
    pub fn prefault_ahead(&self, window_bytes: usize) -> Result<Prefault, JournalError> {
        let (segment, offset) = self.shared().current_position();
        let start = offset - offset % PAGE_BYTES;
        let end = offset.saturating_add(window_bytes).min(segment.len());
        let supported = segment.populate_write(start..end)?;
        Ok(Prefault {
            segment: segment.index(),
            start: start as u64,
            end: end as u64,
            supported,
        })
    }

    /// A cold thread's prefault loop: [`Self::prefault_ahead`] and [`Self::prepare_spare`]
    /// every `period` until `stop`. Where prefaulting is unsupported it only prepares spares.
    pub fn run_prefault(
        &self,
        window_bytes: usize,
        period: Duration,
        stop: &AtomicBool,
    ) -> Result<(), JournalError> {
        let mut supported = true;
        while !stop.load(Ordering::Acquire) {
            if supported {
                supported = self.prefault_ahead(window_bytes)?.supported;
            }
            self.prepare_spare(window_bytes)?;
            std::thread::sleep(period);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the position packing keeps the offset exactly and tells segments apart.
    #[test]
    fn position_packing() {
        let position = pack_position(7, (1 << 40) - 8);
        assert!(position_matches(position, 7));
        assert!(!position_matches(position, 8));
        assert_eq!(position_offset(position), (1 << 40) - 8);
        let wrapped = pack_position(u32::MAX, 64);
        assert!(position_matches(wrapped, u32::MAX));
        assert_eq!(position_offset(wrapped), 64);
    }
}
