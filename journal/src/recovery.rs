//! Opening an existing journal for writing: verify every segment, cut a torn tail.
//!
//! Runs once, on the thread that opens the writer, before any append. Every record of every
//! segment is checked (checksum, padding, sequence continuity). Only the very end of the
//! last segment may be torn; anything else that fails is [`JournalError::Corrupt`].

use std::path::Path;

use crate::dir;
use crate::error::JournalError;
use crate::format::{FILE_HEADER_SIZE, FIRST_SEQ};
use crate::header::FileHeader;
use crate::segment::{SegmentMap, SegmentMut};
use crate::verify::{TornTail, check_file_header, scan_segment};

/// What [`crate::JournalWriter::open`] found in the directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files present before the writer opened (0 for a new journal).
    pub segments_found: u32,
    /// Records that verified, over all segments.
    pub records_found: u64,
    /// Sequence number of the last good record; `None` if the journal has none.
    pub last_seq: Option<u64>,
    /// The torn tail that was cut (zeroed) from the last segment, if there was one.
    pub torn_tail: Option<TornTail>,
}

/// Where the writer continues after recovery.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub segment: SegmentMut,
    pub segment_index: u32,
    pub offset: usize,
    pub seq_next: u64,
    pub report: Recovery,
}

/// Verifies the journal in `dir` (locked by the caller) and prepares the segment to append
/// to, creating segment 0 of `segment_bytes` for a new journal.
pub(crate) fn recover(dir: &Path, segment_bytes: u64) -> Result<Recovered, JournalError> {
    dir::remove_temp_files(dir)?;
    let files = dir::list_segments(dir)?;
    let Some((last, older)) = files.split_last() else {
        let header = FileHeader {
            segment_index: 0,
            first_seq: FIRST_SEQ,
            segment_bytes,
        };
        let segment = SegmentMut::create(dir, &header)?;
        dir::sync(dir)?;
        return Ok(Recovered {
            segment,
            segment_index: 0,
            offset: FILE_HEADER_SIZE,
            seq_next: FIRST_SEQ,
            report: Recovery::default(),
        });
    };
    let mut seq_expected = None;
    let mut records_found = 0;
    for file in older {
        let map = SegmentMap::open(&file.path)?;
        let header = check_file_header(map.bytes(), &file.path, file.index, seq_expected)?;
        let scan = scan_segment(map.bytes(), file.index, header.first_seq, false)?;
        records_found += scan.records;
        seq_expected = Some(scan.seq_next);
    }
    let mut segment = SegmentMut::open(&last.path)?;
    let header = check_file_header(segment.bytes(), &last.path, last.index, seq_expected)?;
    let scan = scan_segment(segment.bytes(), last.index, header.first_seq, true)?;
    if let Some(torn) = scan.torn_tail {
        let start = torn.offset as usize;
        segment.bytes_mut()[start..start + torn.bytes as usize].fill(0);
        segment.flush()?;
    }
    records_found += scan.records;
    let report = Recovery {
        segments_found: files.len() as u32,
        records_found,
        last_seq: (scan.seq_next > FIRST_SEQ).then_some(scan.seq_next - 1),
        torn_tail: scan.torn_tail,
    };
    Ok(Recovered {
        segment,
        segment_index: last.index,
        offset: scan.end,
        seq_next: scan.seq_next,
        report,
    })
}
