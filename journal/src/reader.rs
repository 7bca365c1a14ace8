//! The reader, for cold threads and tools: maps every segment read-only, takes no lock, and
//! iterates records in sequence order, verifying each one.
//!
//! It works on a journal no writer has open and on one a writer is appending to (it sees
//! the segments that existed when it was opened). It never panics on any file contents.

use std::cell::Cell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::dir;
use crate::error::{CorruptReason, JournalError, RecordFault};
use crate::format::{FILE_HEADER_SIZE, FIRST_SEQ};
use crate::header::FileHeader;
use crate::scan::{Link, check_link, scan_segment, seq_after};
use crate::segment::SegmentMap;
use crate::verify::{RecordView, Step, TornTail, classify_stop, read_record};

/// One segment file, as its header describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub index: u32,
    /// Sequence number of the segment's first record.
    pub first_seq: u64,
    /// The file's size.
    pub segment_bytes: u64,
    /// The chain value the segment's first record continues from.
    pub chain_start: u64,
    pub path: PathBuf,
}

impl SegmentInfo {
    fn header(&self) -> FileHeader {
        FileHeader {
            segment_index: self.index,
            first_seq: self.first_seq,
            segment_bytes: self.segment_bytes,
            chain_start: self.chain_start,
        }
    }
}

/// A record that passed verification. `payload` points into the mapped file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub seq: u64,
    pub ts_ns: u64,
    pub kind: u16,
    pub flags: u16,
    pub payload: &'a [u8],
    /// The record's chained checksum: the chain head, if this is the last record.
    pub checksum: u64,
    /// Index of the segment holding the record.
    pub segment: u32,
    /// Byte offset of the record header in the segment file.
    pub offset: u64,
}

/// A read-only view of a journal directory.
#[derive(Debug)]
pub struct JournalReader {
    dir: PathBuf,
    segments: Vec<SegmentInfo>,
    maps: Vec<SegmentMap>,
    torn_tail: Cell<Option<TornTail>>,
}

impl JournalReader {
    /// Maps every segment of `dir` and checks its file header (magic, version, checksum,
    /// index, size). A directory without segments is an empty journal; a missing
    /// directory is an I/O error.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let files = dir::list_segments(dir)?;
        let mut segments = Vec::with_capacity(files.len());
        let mut maps = Vec::with_capacity(files.len());
        for file in files {
            let map = SegmentMap::open(&file.path)?;
            let header = FileHeader::decode(map.bytes(), &file.path, file.index)?;
            segments.push(SegmentInfo {
                index: header.segment_index,
                first_seq: header.first_seq,
                segment_bytes: header.segment_bytes,
                chain_start: header.chain_start,
                path: file.path,
            });
            maps.push(map);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            segments,
            maps,
            torn_tail: Cell::new(None),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segments, in index order.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// Iterates every record in sequence order, checking checksums, the hash chain,
    /// sequence continuity and the links between segments. Yields `Err` once, then ends, at
    /// the first record that fails verification; ends without an error at the end of data
    /// or at a torn tail (see [`Self::torn_tail`]).
    pub fn records(&self) -> Records<'_> {
        self.torn_tail.set(None);
        Records {
            reader: self,
            position: 0,
            offset: 0,
            link: None,
            done: false,
        }
    }

    /// The torn tail the last iteration ended at, if it ended at one: an incomplete record
    /// at the end of the last segment, left by a crash or by a writer still mid-append.
    pub fn torn_tail(&self) -> Option<TornTail> {
        self.torn_tail.get()
    }

    /// Sequence number of the last record, found by verifying the last segment only;
    /// `None` for a journal without records.
    pub fn last_seq(&self) -> Result<Option<u64>, JournalError> {
        let (Some(info), Some(map)) = (self.segments.last(), self.maps.last()) else {
            return Ok(None);
        };
        let scan = scan_segment(map.bytes(), &info.header(), true, |_, _| {})?;
        Ok((scan.link.seq_next > FIRST_SEQ).then_some(scan.link.seq_next - 1))
    }
}

impl<'a> IntoIterator for &'a JournalReader {
    type Item = Result<Record<'a>, JournalError>;
    type IntoIter = Records<'a>;

    fn into_iter(self) -> Records<'a> {
        self.records()
    }
}

/// Iterator over the records of a [`JournalReader`]; see [`JournalReader::records`].
#[derive(Debug)]
pub struct Records<'a> {
    reader: &'a JournalReader,
    /// Position in `reader.segments` of the segment being read.
    position: usize,
    /// Offset of the next record in that segment; 0 before its header is checked.
    offset: usize,
    /// Where the last record read left the sequence and the chain; `None` before the
    /// first segment's header is checked.
    link: Option<Link>,
    done: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.advance();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

impl<'a> Records<'a> {
    fn advance(&mut self) -> Option<Result<Record<'a>, JournalError>> {
        loop {
            let info = self.reader.segments.get(self.position)?;
            let file = self.reader.maps[self.position].bytes();
            if self.offset == 0
                && let Err(e) = self.enter_segment(info)
            {
                return Some(Err(e));
            }
            let link = self.link?;
            match read_record(file, self.offset, link.chain) {
                Step::Record(view) => return Some(self.take_record(info.index, link, view)),
                Step::Stop(fault) => {
                    if let ControlFlow::Break(end) = self.after_stop(file, info.index, link, fault)
                    {
                        return end;
                    }
                }
            }
        }
    }

    /// Checks the header of the segment `info` against where the segment before left the
    /// sequence and the chain, and starts reading its records.
    fn enter_segment(&mut self, info: &SegmentInfo) -> Result<(), JournalError> {
        check_link(&info.header(), self.link)?;
        self.offset = FILE_HEADER_SIZE;
        self.link = Some(Link {
            seq_next: info.first_seq,
            chain: info.chain_start,
        });
        Ok(())
    }

    /// The record `view`, verified at `self.offset` of segment `index`, when it continues
    /// the sequence `link` expects; reading moves past it.
    fn take_record(
        &mut self,
        index: u32,
        link: Link,
        view: RecordView<'a>,
    ) -> Result<Record<'a>, JournalError> {
        if view.seq != link.seq_next {
            let reason = CorruptReason::SequenceGap {
                expected: link.seq_next,
                found: view.seq,
            };
            return Err(JournalError::corrupt_record(
                index,
                self.offset,
                link.seq_next,
                reason,
            ));
        }
        let seq_next = seq_after(view.seq, index, self.offset)?;
        let record = Record {
            seq: view.seq,
            ts_ns: view.ts_ns,
            kind: view.kind,
            flags: view.flags,
            payload: view.payload,
            checksum: view.checksum,
            segment: index,
            offset: self.offset as u64,
        };
        self.offset = view.end;
        self.link = Some(Link {
            seq_next,
            chain: view.checksum,
        });
        Ok(record)
    }

    /// What a stop at `self.offset` of segment `index` means: a clean end (read on in the
    /// next segment), a torn tail (the journal ends here), a record a live writer committed
    /// meanwhile (read on), or corruption. `Break` carries what the iterator returns.
    fn after_stop(
        &mut self,
        file: &'a [u8],
        index: u32,
        link: Link,
        fault: RecordFault,
    ) -> ControlFlow<Option<Result<Record<'a>, JournalError>>> {
        let is_last = self.position + 1 == self.reader.segments.len();
        let (seq_last, chain) = (link.seq_next - 1, link.chain);
        let stop = classify_stop(file, index, self.offset, fault, seq_last, chain, is_last);
        match stop {
            Ok(None) => {
                self.position += 1;
                self.offset = 0;
            }
            Ok(Some(torn)) => {
                self.reader.torn_tail.set(Some(torn));
                return ControlFlow::Break(None);
            }
            // A live writer may have committed the record while we looked past
            // it: if it verifies now, read on instead of calling it corrupt.
            Err(_) if matches!(read_record(file, self.offset, chain), Step::Record(_)) => {}
            Err(e) => return ControlFlow::Break(Some(Err(e))),
        }
        ControlFlow::Continue(())
    }
}
