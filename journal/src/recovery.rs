//! Opening an existing journal for writing: verify every segment, cut a torn tail.
//!
//! Runs once, on the thread that opens the writer, before any append. Every record of every
//! segment is checked (checksum, padding, sequence continuity). Only the very end of the
//! last segment may be torn; anything else that fails is [`JournalError::Corrupt`].

use std::path::{Path, PathBuf};

use crate::dir;
use crate::error::JournalError;
use crate::format::{CHAIN_SEED, FILE_HEADER_SIZE, FIRST_SEQ};
use crate::header::FileHeader;
use crate::scan::{Link, check_file_header, scan_segment};
use crate::segment::{SegmentMap, SegmentWriter};
use crate::verify::TornTail;

/// What [`crate::JournalWriter::open`] found in the directory. `Default` is a new journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files present before the writer opened (0 for a new journal).
    pub segments_found: u32,
    /// Records that verified, over all segments.
    pub records_found: u64,
    /// Sequence number of the last good record; `None` if the journal has none.
    pub last_seq: Option<u64>,
    /// The torn tail that was cut (zeroed) from the last segment, if there was one.
    pub torn_tail: Option<TornTail>,
    /// The chain head: checksum of the last good record (the first segment's chain start
    /// for a journal without records, [`CHAIN_SEED`] for a new one).
    pub chain_head: u64,
}

impl Default for Recovery {
    fn default() -> Self {
        Self {
            segments_found: 0,
            records_found: 0,
            last_seq: None,
            torn_tail: None,
            chain_head: CHAIN_SEED,
        }
    }
}

/// Where the writer continues after recovery.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub segment: SegmentWriter,
    pub segment_index: u32,
    pub offset: usize,
    pub seq_next: u64,
    pub chain: u64,
    /// The segments before the last one, which a later sync must cover.
    pub older: Vec<(u32, PathBuf)>,
    pub report: Recovery,
}

/// Verifies the journal in `dir` (locked by the caller) and prepares the segment to append
/// to, creating segment 0 of `segment_bytes` for a new journal.
pub(crate) fn recover(dir: &Path, segment_bytes: u64) -> Result<Recovered, JournalError> {
    dir::remove_temp_files(dir)?;
    dir::remove_spare(dir)?;
    let files = dir::list_segments(dir)?;
    let Some((last, older)) = files.split_last() else {
        let header = FileHeader {
            segment_index: 0,
            first_seq: FIRST_SEQ,
            segment_bytes,
            chain_start: CHAIN_SEED,
        };
        let segment = SegmentWriter::create(dir, &header)?;
        dir::sync(dir)?;
        return Ok(Recovered {
            segment,
            segment_index: 0,
            offset: FILE_HEADER_SIZE,
            seq_next: FIRST_SEQ,
            chain: CHAIN_SEED,
            older: Vec::new(),
            report: Recovery::default(),
        });
    };
    let mut link: Option<Link> = None;
    let mut records_found = 0;
    for file in older {
        let map = SegmentMap::open(&file.path)?;
        let header = check_file_header(map.bytes(), &file.path, file.index, link)?;
        let scan = scan_segment(map.bytes(), &header, false, |_, _| {})?;
        records_found += scan.records;
        link = Some(scan.link);
    }
    let mut segment = SegmentWriter::open(&last.path, last.index)?;
    let header = check_file_header(segment.bytes(), &last.path, last.index, link)?;
    let scan = scan_segment(segment.bytes(), &header, true, |_, _| {})?;
    if let Some(torn) = scan.torn_tail {
        let start = torn.offset as usize;
        segment
            .bytes_mut(start..start + torn.bytes as usize)
            .fill(0);
        segment
            .handle()
            .sync_range(start..start + torn.bytes as usize)?;
    }
    records_found += scan.records;
    let report = Recovery {
        segments_found: files.len() as u32,
        records_found,
        last_seq: (scan.link.seq_next > FIRST_SEQ).then_some(scan.link.seq_next - 1),
        torn_tail: scan.torn_tail,
        chain_head: scan.link.chain,
    };
    Ok(Recovered {
        segment,
        segment_index: last.index,
        offset: scan.end,
        seq_next: scan.link.seq_next,
        chain: scan.link.chain,
        older: older.iter().map(|f| (f.index, f.path.clone())).collect(),
        report,
    })
}
