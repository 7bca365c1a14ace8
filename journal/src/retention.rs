//! Retention: deleting whole old segments, oldest first, by count or by age. Runs on a cold
//! thread (or from a tool) while the writer appends; takes no lock.
//!
//! - The newest segment (the one a live writer appends to) is never deleted, and segments
//!   go strictly oldest first, so the directory stays a contiguous run of segments at every
//!   instant, even if the process dies midway.
//! - A reader or tailer that has a segment mapped keeps reading it after it is deleted (on
//!   Linux the file lives on until its last mapping goes); one that opens it afterwards
//!   finds the journal starting later.
//! - After retention the journal starts at a sequence number above 1 and its first segment's
//!   header holds the chain value to start verifying from ([`crate::verify()`] reports both).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::dir;
use crate::error::JournalError;
use crate::header::FileHeader;
use crate::segment::SegmentMap;

/// Which old segments to delete. With both limits, a segment goes if either says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep at most this many segments (at least 1 is always kept).
    pub max_segments: Option<usize>,
    /// Delete segments last written longer ago than this. A segment's age is that of its
    /// file's modification time, which the kernel updates when the writer first dirties a
    /// page after writeback, so it trails the last append by at most the writeback interval
    /// (seconds). Record timestamps are not used: a replayed journal holds old ones.
    pub max_age: Option<Duration>,
}

/// A segment [`apply_retention`] deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedSegment {
    pub index: u32,
    pub path: PathBuf,
    /// Sequence number of its first record, from its header.
    pub first_seq: u64,
    pub segment_bytes: u64,
}

/// What [`apply_retention`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Deleted segments, oldest first.
    pub removed: Vec<RemovedSegment>,
    /// Segments left.
    pub segments_kept: usize,
    /// First sequence number of the oldest segment left.
    pub first_seq_kept: Option<u64>,
}

/// Deletes the old segments of `dir` that `policy` no longer keeps, measuring ages against
/// the system clock. See the module doc for what is never deleted.
pub fn apply_retention(
    dir: &Path,
    policy: RetentionPolicy,
) -> Result<RetentionReport, JournalError> {
    apply_retention_at(dir, policy, SystemTime::now())
}

/// [`apply_retention`] with ages measured against `now` (for tests and dry runs).
pub fn apply_retention_at(
    dir: &Path,
    policy: RetentionPolicy,
    now: SystemTime,
) -> Result<RetentionReport, JournalError> {
    let files = dir::list_segments(dir)?;
    let mut report = RetentionReport::default();
    let mut remaining = files.len();
    for file in &files {
        if remaining <= 1 {
            break;
        }
        let over_count = policy
            .max_segments
            .is_some_and(|max| remaining > max.max(1));
        let too_old = match policy.max_age {
            Some(max_age) => age(&file.path, now)? > max_age,
            None => false,
        };
        if !over_count && !too_old {
            break;
        }
        let map = SegmentMap::open(&file.path)?;
        let header = FileHeader::decode(map.bytes(), &file.path, file.index)?;
        drop(map);
        match fs::remove_file(&file.path) {
            Ok(()) => {}
            // Another retention run got there first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(JournalError::io(&file.path, e)),
        }
        report.removed.push(RemovedSegment {
            index: file.index,
            path: file.path.clone(),
            first_seq: header.first_seq,
            segment_bytes: header.segment_bytes,
        });
        remaining -= 1;
    }
    if !report.removed.is_empty() {
        dir::sync(dir)?;
    }
    report.segments_kept = remaining;
    if let Some(oldest) = files.get(files.len() - remaining) {
        let map = SegmentMap::open(&oldest.path)?;
        let header = FileHeader::decode(map.bytes(), &oldest.path, oldest.index)?;
        report.first_seq_kept = Some(header.first_seq);
    }
    Ok(report)
}

/// How long ago the file was last modified (zero if its time is in the future).
fn age(path: &Path, now: SystemTime) -> Result<Duration, JournalError> {
    let modified = fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| JournalError::io(path, e))?;
    Ok(now.duration_since(modified).unwrap_or(Duration::ZERO))
}
