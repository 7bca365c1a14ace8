//! The live tailer: follows a writer (in this process or another) record by record, for
//! persistence, replication and the admin endpoint. Runs on a cold thread and never blocks
//! the writer: it maps segment files read-only by path and shares nothing with the writer
//! but the bytes.
//!
//! A record is read only after its commit word, loaded atomically with acquire ordering, is
//! non-zero; the writer stores it last, with release ordering, so every byte of the record is
//! visible by then and never changes again. A zero commit word is "not yet": a writer that
//! has not got there, or one that died mid-record (the next writer's recovery zeroes the
//! torn bytes and appends at the same place). The tailer never reads bytes past the last
//! committed record.
//!
//! When the current segment has no more records, the tailer looks for the next segment
//! file; once it exists, it reads the commit word once more (the writer committed
//! everything in a segment before creating the next) and then moves on, checking that the
//! new segment continues the sequence numbers and the hash chain.

use std::io;
use std::path::{Path, PathBuf};

use crate::dir;
use crate::error::{CorruptReason, JournalError};
use crate::format::{
    FILE_HEADER_SIZE, KIND_RESERVED, OFFSET_KIND, OFFSET_PAYLOAD_LEN, PAYLOAD_BYTES_MAX,
    RECORD_HEADER_SIZE, get_u16, get_u32, record_bytes, segment_file_name,
};
use crate::header::FileHeader;
use crate::reader::Record;
use crate::scan::{Link, check_link, seq_after};
use crate::segment::SegmentMap;
use crate::verify::{Step, read_record};

/// Follows a journal directory live; see the module doc. Not `Sync`: one thread polls it.
#[derive(Debug)]
pub struct JournalTailer {
    dir: PathBuf,
    /// The segment being read, once its file exists and its header checked.
    map: Option<SegmentMap>,
    index: u32,
    /// Offset of the next record in `map`.
    offset: usize,
    /// Sequence number and chain value the next record continues; `None` before the first
    /// segment's header is read.
    link: Option<Link>,
}

/// A verified record found by [`JournalTailer::advance`], with its payload as a range.
struct Found {
    record: Record<'static>,
    payload_start: usize,
    payload_len: usize,
}

impl JournalTailer {
    /// Starts at the first record of the oldest segment present (segment 0 of a journal not
    /// created yet). Checks nothing else until polled.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let files = dir::list_segments(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            map: None,
            index: files.first().map_or(0, |f| f.index),
            offset: 0,
            link: None,
        })
    }

    /// The next record, if the writer has committed it: `Ok(None)` when caught up (poll
    /// again later). Records come exactly once, in sequence order, across segment rolls,
    /// each verified (checksum, chain, sequence). The returned record borrows the tailer.
    pub fn poll(&mut self) -> Result<Option<Record<'_>>, JournalError> {
        let Some(found) = self.advance()? else {
            return Ok(None);
        };
        let Some(map) = &self.map else {
            return Ok(None); // unreachable: `advance` found the record in `map`
        };
        let payload = map.bytes_in(found.payload_start..found.payload_start + found.payload_len);
        Ok(Some(Record {
            payload,
            ..found.record
        }))
    }

    /// Sequence number of the next record to come (`None` before the first segment exists).
    pub fn next_seq(&self) -> Option<u64> {
        self.link.map(|link| link.seq_next)
    }

    /// Chain value after the last record read: the chain head the tailer has reached.
    pub fn chain(&self) -> Option<u64> {
        self.link.map(|link| link.chain)
    }

    fn advance(&mut self) -> Result<Option<Found>, JournalError> {
        loop {
            if self.map.is_none() && !self.open_segment()? {
                return Ok(None);
            }
            let (Some(map), Some(link)) = (&self.map, self.link) else {
                return Ok(None);
            };
            let offset = self.offset;
            let committed = offset + RECORD_HEADER_SIZE <= map.len()
                && get_u16(&map.load_commit_word(offset), OFFSET_KIND) != KIND_RESERVED;
            if !committed {
                if !self.next_segment_exists() {
                    return self.caught_up();
                }
                // The writer finishes a segment before it creates the next: look once more.
                let still_empty = offset + RECORD_HEADER_SIZE > map.len()
                    || get_u16(&map.load_commit_word(offset), OFFSET_KIND) == KIND_RESERVED;
                if still_empty {
                    self.map = None;
                    self.index += 1;
                }
                continue;
            }
            let payload_len = get_u32(&map.load_commit_word(offset), OFFSET_PAYLOAD_LEN) as usize;
            let end = offset.saturating_add(record_bytes(payload_len.min(PAYLOAD_BYTES_MAX)));
            let step = if payload_len > PAYLOAD_BYTES_MAX || end > map.len() {
                None
            } else {
                Some(read_record(map.bytes_in(offset..end), 0, link.chain))
            };
            let Some(Step::Record(view)) = step else {
                return self.bad_committed_record(offset, link.seq_next, step);
            };
            if view.seq != link.seq_next {
                let reason = CorruptReason::SequenceGap {
                    expected: link.seq_next,
                    found: view.seq,
                };
                let err = JournalError::corrupt_record(self.index, offset, link.seq_next, reason);
                return Err(err);
            }
            let seq_next = seq_after(view.seq, self.index, offset)?;
            let record = Record {
                seq: view.seq,
                ts_ns: view.ts_ns,
                kind: view.kind,
                flags: view.flags,
                payload: &[],
                checksum: view.checksum,
                segment: self.index,
                offset: offset as u64,
            };
            self.offset = end;
            self.link = Some(Link {
                seq_next,
                chain: view.checksum,
            });
            return Ok(Some(Found {
                record,
                payload_start: offset + RECORD_HEADER_SIZE,
                payload_len,
            }));
        }
    }

    /// A committed record that does not verify: corruption if the writer has moved on to a
    /// later segment; otherwise "not yet" (a record torn by a power loss before the page
    /// with its commit word reached disk, which the next writer open cuts and overwrites).
    fn bad_committed_record(
        &self,
        offset: usize,
        seq: u64,
        step: Option<Step<'_>>,
    ) -> Result<Option<Found>, JournalError> {
        if !self.next_segment_exists() {
            return Ok(None);
        }
        let fault = match step {
            Some(Step::Stop(fault)) => fault,
            _ => crate::error::RecordFault::PastEnd {
                payload_len: u32::MAX,
            },
        };
        let reason = CorruptReason::BadRecord(fault);
        Err(JournalError::corrupt_record(
            self.index, offset, seq, reason,
        ))
    }

    /// Maps segment `self.index` and checks its header and its link to the previous one.
    /// `false` if the file does not exist yet.
    fn open_segment(&mut self) -> Result<bool, JournalError> {
        let path = self.dir.join(segment_file_name(self.index));
        if dir::is_spare(&path) {
            return Ok(false); // prepared ahead, not started by the writer yet
        }
        let map = match SegmentMap::open(&path) {
            Ok(map) => map,
            Err(JournalError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {
                return self.segment_missing();
            }
            Err(e) => return Err(e),
        };
        let prefix = map.bytes_in(0..map.len().min(FILE_HEADER_SIZE));
        let header = FileHeader::decode_prefix(prefix, map.len() as u64, &path, self.index)?;
        check_link(&header, self.link)?;
        self.map = Some(map);
        self.offset = FILE_HEADER_SIZE;
        self.link = Some(Link {
            seq_next: header.first_seq,
            chain: header.chain_start,
        });
        Ok(true)
    }

    /// Segment `self.index` is not there. Before the first record: retention removed it
    /// since `open`, so start at the oldest segment present. While following: not created
    /// yet (`false`), unless later segments exist, which means retention removed it before
    /// the tailer got there: records were lost to this tailer, an error.
    fn segment_missing(&mut self) -> Result<bool, JournalError> {
        let files = dir::list_segments(&self.dir)?;
        let Some(later) = files.iter().find(|f| f.index > self.index) else {
            return Ok(false);
        };
        if self.link.is_none() {
            self.index = later.index;
            return self.open_segment();
        }
        let reason = CorruptReason::SegmentMissing {
            expected: self.index,
            found: later.index,
        };
        Err(JournalError::corrupt(self.index, 0, reason))
    }

    /// No record at the current offset and no next segment: caught up, unless the current
    /// segment's file was deleted meanwhile. Retention never deletes the newest segment and
    /// goes oldest first, so then the next one was deleted too: records were lost to us.
    fn caught_up(&mut self) -> Result<Option<Found>, JournalError> {
        let path = self.dir.join(segment_file_name(self.index));
        if path.symlink_metadata().is_ok() {
            return Ok(None);
        }
        self.index += 1;
        self.map = None;
        self.segment_missing().map(|_| None)
    }

    /// Whether the writer has started the next segment (a spare it has not started yet,
    /// prepared ahead by a cold thread, does not count).
    fn next_segment_exists(&self) -> bool {
        self.index
            .checked_add(1)
            .is_some_and(|next| dir::segment_started(&self.dir, next))
    }
}
