//! The single writer, run by the hot thread: appends are a bounds check, a copy into the
//! map, an xxh3 and two release stores (publishing progress to the [`Syncer`]), with no
//! system call and no allocation. Only rolling to a new segment (rare) and
//! [`JournalWriter::flush`] talk to the kernel.

use std::fmt;
use std::fs::{self, File};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checksum::Scratch;
use crate::dir;
use crate::error::JournalError;
use crate::format::{
    FILE_HEADER_SIZE, KIND_RESERVED, OFFSET_KIND, OFFSET_SEQ, PAYLOAD_BYTES_MAX,
    RECORD_ALIGN_BYTES, RECORD_HEADER_SIZE, SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX,
    SEGMENT_BYTES_MIN, SEQ_MAX, record_bytes,
};
use crate::header::FileHeader;
use crate::recovery::{Recovery, recover};
use crate::segment::SegmentWriter;
use crate::sync::{Shared, Syncer};

/// When appended records are made durable (on disk, surviving power loss). The writer
/// itself never syncs on append whatever the policy; the policy says which cold-side
/// [`Syncer`] duty the daemon runs. See [`Syncer`] for what each survives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlushPolicy {
    /// No sync: records survive a crash of the process (they are in the page cache at
    /// once), not a kernel crash or power loss.
    #[default]
    None,
    /// A cold thread syncs every this many milliseconds ([`Syncer::run_interval`]): a power
    /// loss loses at most about one interval of records.
    IntervalMs(u64),
    /// Group commit: the order sender calls [`Syncer::sync_to`] with a decision's sequence
    /// number before releasing its orders to the venue.
    Durable,
}

/// How the writer lays out new segments and which flush policy the journal runs. Build it
/// with `..Default::default()` so that fields added later keep callers compiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// Size of each new segment file, a multiple of 8 in
    /// `SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX`. A record too large for it gets a segment of
    /// its own, sized to fit. Existing segments keep the size they were created with.
    pub segment_bytes: u64,
    /// Carried for the daemon's wiring (which syncer duty to run); the writer only checks
    /// it and reports it back.
    pub flush: FlushPolicy,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            flush: FlushPolicy::None,
        }
    }
}

impl WriterOptions {
    fn validate(&self) -> Result<(), JournalError> {
        let reason = if self.segment_bytes < SEGMENT_BYTES_MIN {
            "segment_bytes is below SEGMENT_BYTES_MIN"
        } else if self.segment_bytes > SEGMENT_BYTES_MAX {
            "segment_bytes is above SEGMENT_BYTES_MAX"
        } else if !self.segment_bytes.is_multiple_of(RECORD_ALIGN_BYTES as u64) {
            "segment_bytes is not a multiple of 8"
        } else if self.flush == FlushPolicy::IntervalMs(0) {
            "flush interval_ms must be at least 1"
        } else {
            return Ok(());
        };
        Err(JournalError::InvalidOptions { reason })
    }
}

/// The one writer of a journal directory. Holds the directory's exclusive lock until
/// dropped. `Send` (move it to the hot thread) but not `Sync`.
///
/// Invariant: in the current segment, every byte from `offset` to the end is zero, so the
/// header at `offset` reads as the end of data.
pub struct JournalWriter {
    dir: PathBuf,
    segment_bytes: u64,
    flush: FlushPolicy,
    segment: SegmentWriter,
    segment_index: u32,
    /// Where the next record starts in the current segment.
    offset: usize,
    seq_next: u64,
    /// Checksum of the last record: the chain value the next record continues from.
    chain: u64,
    scratch: Scratch,
    rolls_into_spare: u64,
    shared: Arc<Shared>,
    /// Declared last: dropped after the map, so the lock outlives every write.
    _lock: File,
}

impl JournalWriter {
    /// Opens the journal in `dir` for appending, creating the directory and segment 0 if
    /// needed. Verifies every existing record and the hash chain, cuts a torn tail off the
    /// last segment, and continues after the last good record.
    pub fn open(dir: &Path, options: WriterOptions) -> Result<(Self, Recovery), JournalError> {
        options.validate()?;
        fs::create_dir_all(dir).map_err(|e| JournalError::io(dir, e))?;
        let lock = dir::lock(dir)?;
        let recovered = recover(dir, options.segment_bytes)?;
        let shared = Shared::new(
            dir,
            options.segment_bytes,
            recovered.segment.handle(),
            recovered.offset,
            recovered.seq_next - 1,
            recovered.older,
        );
        let writer = Self {
            dir: dir.to_path_buf(),
            segment_bytes: options.segment_bytes,
            flush: options.flush,
            segment: recovered.segment,
            segment_index: recovered.segment_index,
            offset: recovered.offset,
            seq_next: recovered.seq_next,
            chain: recovered.chain,
            scratch: Scratch::new(),
            rolls_into_spare: 0,
            shared: Arc::new(shared),
            _lock: lock,
        };
        Ok((writer, recovered.report))
    }

    /// Appends one record and returns its sequence number.
    pub fn append(&mut self, kind: u16, ts_ns: u64, payload: &[u8]) -> Result<u64, JournalError> {
        self.append_with(kind, ts_ns, payload.len(), |dst| {
            dst.copy_from_slice(payload)
        })
    }

    /// Appends one record whose payload is the concatenation of `parts`, copied straight
    /// into the map (no intermediate buffer).
    pub fn append_parts(
        &mut self,
        kind: u16,
        ts_ns: u64,
        parts: &[&[u8]],
    ) -> Result<u64, JournalError> {
        let len = parts
            .iter()
            .try_fold(0usize, |sum, part| sum.checked_add(part.len()));
        let len = len.ok_or(JournalError::RecordTooLarge {
            len: usize::MAX,
            max: PAYLOAD_BYTES_MAX,
        })?;
        self.append_with(kind, ts_ns, len, |dst| {
            let mut start = 0;
            for part in parts {
                dst[start..start + part.len()].copy_from_slice(part);
                start += part.len();
            }
        })
    }

    /// Appends one record of `len` payload bytes that `fill` writes in place, into the map.
    /// `fill` gets exactly `len` bytes, all zero. If it panics, nothing is appended.
    pub fn append_with<F>(
        &mut self,
        kind: u16,
        ts_ns: u64,
        len: usize,
        fill: F,
    ) -> Result<u64, JournalError>
    where
        F: FnOnce(&mut [u8]),
    {
        let offset = self.reserve(kind, len)?;
        let end = offset + record_bytes(len);
        let guard = ZeroOnUnwind {
            bytes: self.segment.bytes_mut(offset..end),
        };
        fill(&mut guard.bytes[RECORD_HEADER_SIZE..RECORD_HEADER_SIZE + len]);
        mem::forget(guard);
        Ok(self.commit(offset, kind, ts_ns, len))
    }

    /// Checks an append and makes room for it; returns the offset the record goes to.
    fn reserve(&mut self, kind: u16, len: usize) -> Result<usize, JournalError> {
        if kind == KIND_RESERVED {
            return Err(JournalError::ReservedKind);
        }
        if self.seq_next > SEQ_MAX {
            return Err(JournalError::SequenceExhausted);
        }
        if len > PAYLOAD_BYTES_MAX {
            return Err(JournalError::RecordTooLarge {
                len,
                max: PAYLOAD_BYTES_MAX,
            });
        }
        let needed = record_bytes(len);
        if self.offset + needed > self.segment.len() {
            self.roll(needed)?;
        }
        Ok(self.offset)
    }

    /// Writes the header of the record whose payload is in place at `offset`: everything
    /// but the commit word first, then the commit word (length, kind) in one release store,
    /// then publishes the new end for the syncer.
    #[inline]
    fn commit(&mut self, offset: usize, kind: u16, ts_ns: u64, len: usize) -> u64 {
        let seq = self.seq_next;
        // Length, kind and flags 0: the little-endian u64 of header bytes 0..8.
        let commit_word = len as u64 | u64::from(kind) << (8 * OFFSET_KIND);
        let payload_start = offset + RECORD_HEADER_SIZE;
        let payload = &self.segment.bytes()[payload_start..payload_start + len];
        let checksum = self
            .scratch
            .checksum(commit_word, seq, ts_ns, payload, self.chain);
        let rest = self.segment.bytes_mut(offset + OFFSET_SEQ..payload_start);
        rest[..8].copy_from_slice(&seq.to_le_bytes());
        rest[8..16].copy_from_slice(&ts_ns.to_le_bytes());
        rest[16..].copy_from_slice(&checksum.to_le_bytes());
        self.segment
            .store_commit_word(offset, commit_word.to_le_bytes());
        self.offset = offset + record_bytes(len);
        self.seq_next = seq + 1;
        self.chain = checksum;
        self.shared.publish(self.segment_index, self.offset, seq);
        seq
    }

    /// Moves to a new segment big enough for a record of `record_bytes` bytes. With a spare
    /// prepared by a cold thread ([`Syncer::prepare_spare`]) this is memory stores only:
    /// the spare gets its header and becomes the current segment, and the old segment is
    /// left for a cold thread to unmap. Without one (no cold thread, or a record too big for
    /// a regular segment) the segment is created here, with system calls (create, size,
    /// reserve, write the header, sync, rename, map), once per segment.
    #[cold]
    fn roll(&mut self, record_bytes: usize) -> Result<(), JournalError> {
        let index = self
            .segment_index
            .checked_add(1)
            .ok_or(JournalError::SegmentIndexExhausted)?;
        let needed = self
            .segment_bytes
            .max((FILE_HEADER_SIZE + record_bytes) as u64);
        let shared = Arc::clone(&self.shared);
        // Held for the whole roll: no cold thread names a segment file meanwhile.
        let mut slot = shared.spare_slot();
        let spare = slot.segment.take();
        let next = match spare {
            Some(mut spare) if spare.index() == index && spare.len() as u64 >= needed => {
                spare.activate_spare(&FileHeader {
                    segment_index: index,
                    first_seq: self.seq_next,
                    segment_bytes: spare.len() as u64,
                    chain_start: self.chain,
                });
                self.rolls_into_spare += 1;
                spare
            }
            unusable => {
                if let Some(spare) = unusable {
                    let path = spare.path().to_path_buf();
                    drop(spare);
                    fs::remove_file(&path).map_err(|e| JournalError::io(&path, e))?;
                }
                SegmentWriter::create(
                    &self.dir,
                    &FileHeader {
                        segment_index: index,
                        first_seq: self.seq_next,
                        segment_bytes: needed,
                        chain_start: self.chain,
                    },
                )?
            }
        };
        let previous = mem::replace(&mut self.segment, next);
        shared.rolled(self.segment_index, previous.path(), self.segment.handle());
        drop(slot);
        shared.retire(previous);
        self.segment_index = index;
        self.offset = FILE_HEADER_SIZE;
        Ok(())
    }

    /// Rolls so far that went into a spare prepared by a cold thread (no system call).
    pub fn rolls_into_spare(&self) -> u64 {
        self.rolls_into_spare
    }

    /// Blocks until every record appended so far is on disk: the directory (new segment
    /// names), segments rolled away from and not yet synced, and the current segment. The
    /// same as [`Syncer::sync_all`], from the writer's thread.
    pub fn flush(&self) -> Result<(), JournalError> {
        self.syncer().sync_all().map(drop)
    }

    /// A handle for cold threads: sync behind the writer, prefault ahead of it.
    pub fn syncer(&self) -> Syncer {
        Syncer::new(Arc::clone(&self.shared))
    }

    /// The flush policy the writer was opened with.
    pub fn flush_policy(&self) -> FlushPolicy {
        self.flush
    }

    /// Checksum of the last record appended (or of the chain start if none): the chain head
    /// an auditor can record elsewhere.
    pub fn chain_head(&self) -> u64 {
        self.chain
    }

    /// The sequence number the next append will return.
    pub fn next_seq(&self) -> u64 {
        self.seq_next
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Index of the segment appends currently go to.
    pub fn current_segment(&self) -> u32 {
        self.segment_index
    }

    /// Byte offset in the current segment where the next record will start.
    pub fn current_offset(&self) -> u64 {
        self.offset as u64
    }
}

impl fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalWriter")
            .field("dir", &self.dir)
            .field("segment_bytes", &self.segment_bytes)
            .field("flush", &self.flush)
            .field("segment", &self.segment.path())
            .field("offset", &self.offset)
            .field("seq_next", &self.seq_next)
            .finish_non_exhaustive()
    }
}

/// Zeroes a record's bytes unless forgotten: if the caller's `fill` panics, the segment
/// keeps its invariant that everything after the last record is zero.
struct ZeroOnUnwind<'a> {
    bytes: &'a mut [u8],
}

impl Drop for ZeroOnUnwind<'_> {
    fn drop(&mut self) {
        self.bytes.fill(0);
    }
}

impl Drop for JournalWriter {
    /// A clean close leaves no spare segment behind (a crash may; the next open removes it).
    fn drop(&mut self) {
        self.shared.close_spares();
    }
}

// The hot thread owns the writer: it must be movable there.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<JournalWriter>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{CHAIN_SEED, segment_file_name};
    use crate::header::FileHeader;

    // Proves a journal recovered at the last sequence number refuses the next append with
    // SequenceExhausted instead of overflowing it (found by the journal_segment fuzz
    // target: a segment header with first_seq u64::MAX).
    #[test]
    fn append_past_the_last_sequence_number_is_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let segment_bytes = 512_u64;
        let header = FileHeader {
            segment_index: 0,
            first_seq: u64::MAX,
            segment_bytes,
            chain_start: CHAIN_SEED,
        };
        let mut file = vec![0_u8; segment_bytes as usize];
        file[..FILE_HEADER_SIZE].copy_from_slice(&header.encode());
        std::fs::write(temp.path().join(segment_file_name(0)), &file).expect("write");
        let options = WriterOptions {
            segment_bytes,
            ..Default::default()
        };
        let (mut writer, recovery) = JournalWriter::open(temp.path(), options).expect("open");
        assert_eq!(recovery.last_seq, Some(u64::MAX - 1));
        assert!(matches!(
            writer.append(7, 1, b"x"),
            Err(JournalError::SequenceExhausted)
        ));
    }
}
