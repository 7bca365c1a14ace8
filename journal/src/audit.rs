//! Whole-journal checks for tools and auditors: [`verify()`] walks every segment and every
//! record (checksums, the hash chain, sequence continuity, segment links, padding, zeros
//! after the end of data) and [`stats()`] counts what it walks over. Both are read-only
//! and take no lock: they work on a journal a writer is appending to (seeing the segments
//! present when they start; a writer mid-append reads as a torn tail).

use std::path::Path;

use crate::dir;
use crate::error::JournalError;
use crate::format::{CHAIN_SEED, record_bytes};
use crate::scan::{Link, check_file_header, scan_segment};
use crate::segment::SegmentMap;
use crate::verify::{RecordView, TornTail};

/// What [`verify()`] found: the journal is intact from its first to its last record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: u32,
    pub records: u64,
    /// Sequence numbers and timestamps of the first and last records (`None` without any).
    /// The first is above 1 when retention removed older segments.
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub first_ts_ns: Option<u64>,
    pub last_ts_ns: Option<u64>,
    /// The chain value the first segment present starts from: [`CHAIN_SEED`] for a journal
    /// that still holds its first segment, else the chain head of the removed part.
    pub chain_start: u64,
    /// The checksum of the last record (`chain_start` without records). Every record
    /// before it is committed to by this value: an auditor records it elsewhere, and a later
    /// verify that reaches the same record must report the same value there.
    pub chain_head: u64,
    /// An incomplete record at the end of the last segment: a crash, or a live writer
    /// mid-append. Not corruption; the next writer open cuts it.
    pub torn_tail: Option<TornTail>,
}

impl VerifyReport {
    /// No torn tail: every byte of the journal is accounted for.
    pub fn is_clean(&self) -> bool {
        self.torn_tail.is_none()
    }
}

/// Records and bytes of one record kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindStats {
    pub kind: u16,
    pub records: u64,
    /// Payload bytes only.
    pub payload_bytes: u64,
    /// Bytes on disk: headers, payloads and padding.
    pub record_bytes: u64,
}

/// What [`stats()`] counted, for `traiderd journal stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments: u32,
    /// Sum of the segment files' sizes (pre-sized: mostly zeros in the last one).
    pub file_bytes: u64,
    pub records: u64,
    pub payload_bytes: u64,
    pub record_bytes: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub first_ts_ns: Option<u64>,
    pub last_ts_ns: Option<u64>,
    /// Per kind, in ascending kind order; kinds without records are absent.
    pub by_kind: Vec<KindStats>,
    pub chain_head: u64,
    pub torn_tail: Option<TornTail>,
}

/// Verifies every segment and record of the journal in `dir`. The first problem is the
/// error, a [`JournalError::Corrupt`] naming segment, offset, the record's seq where known
/// and the reason (record checksum, which also catches a record rewritten before it; chain
/// break between segments; sequence gap; padding; bytes after the end of data; segment
/// header or a missing segment). Never panics on any file contents.
pub fn verify(dir: &Path) -> Result<VerifyReport, JournalError> {
    let mut report = VerifyReport {
        segments: 0,
        records: 0,
        first_seq: None,
        last_seq: None,
        first_ts_ns: None,
        last_ts_ns: None,
        chain_start: CHAIN_SEED,
        chain_head: CHAIN_SEED,
        torn_tail: None,
    };
    let walk = walk(dir, |record| {
        report.records += 1;
        report.first_seq.get_or_insert(record.seq);
        report.first_ts_ns.get_or_insert(record.ts_ns);
        report.last_seq = Some(record.seq);
        report.last_ts_ns = Some(record.ts_ns);
    })?;
    report.segments = walk.segments;
    report.chain_start = walk.chain_start;
    report.chain_head = walk.chain_head;
    report.torn_tail = walk.torn_tail;
    Ok(report)
}

/// Counts records and bytes by kind over the whole journal in `dir`, verifying as
/// [`verify()`] does (a corrupt journal is an error, not a partial count).
pub fn stats(dir: &Path) -> Result<Stats, JournalError> {
    let mut stats = Stats::default();
    let walk = walk(dir, |record| {
        let bytes = record_bytes(record.payload.len()) as u64;
        stats.records += 1;
        stats.payload_bytes += record.payload.len() as u64;
        stats.record_bytes += bytes;
        stats.first_seq.get_or_insert(record.seq);
        stats.first_ts_ns.get_or_insert(record.ts_ns);
        stats.last_seq = Some(record.seq);
        stats.last_ts_ns = Some(record.ts_ns);
        let at = match stats.by_kind.binary_search_by_key(&record.kind, |k| k.kind) {
            Ok(at) => at,
            Err(at) => {
                let kind = KindStats {
                    kind: record.kind,
                    ..KindStats::default()
                };
                stats.by_kind.insert(at, kind);
                at
            }
        };
        let kind = &mut stats.by_kind[at];
        kind.records += 1;
        kind.payload_bytes += record.payload.len() as u64;
        kind.record_bytes += bytes;
    })?;
    stats.segments = walk.segments;
    stats.file_bytes = walk.file_bytes;
    stats.chain_head = walk.chain_head;
    stats.torn_tail = walk.torn_tail;
    Ok(stats)
}

struct Walk {
    segments: u32,
    file_bytes: u64,
    chain_start: u64,
    chain_head: u64,
    torn_tail: Option<TornTail>,
}

fn walk(dir: &Path, mut visit: impl FnMut(&RecordView<'_>)) -> Result<Walk, JournalError> {
    let files = dir::list_segments(dir)?;
    let mut walk = Walk {
        segments: files.len() as u32,
        file_bytes: 0,
        chain_start: CHAIN_SEED,
        chain_head: CHAIN_SEED,
        torn_tail: None,
    };
    let mut link: Option<Link> = None;
    for (position, file) in files.iter().enumerate() {
        let map = SegmentMap::open(&file.path)?;
        let header = check_file_header(map.bytes(), &file.path, file.index, link)?;
        if position == 0 {
            walk.chain_start = header.chain_start;
        }
        walk.file_bytes += header.segment_bytes;
        let is_last = position + 1 == files.len();
        let scan = scan_segment(map.bytes(), &header, is_last, |record, _| visit(record))?;
        walk.torn_tail = scan.torn_tail;
        link = Some(scan.link);
    }
    walk.chain_head = link.map_or(walk.chain_start, |link| link.chain);
    Ok(walk)
}
