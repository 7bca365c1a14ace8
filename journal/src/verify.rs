//! Verification of the records in one segment, shared by writer recovery and the reader.
//!
//! Reading stops at the first place that is not a valid record: the end-of-data marker
//! (a zero header), or a record that fails a check. What that place *is* depends on what
//! follows it ([`classify_stop`]):
//! - only zero bytes: the clean end of data;
//! - a record that verifies, later in the segment: corruption in the middle;
//! - non-zero bytes but no valid record, in the last segment: a torn tail (a crash, or a
//!   writer still mid-append);
//! - the same in any other segment: corruption, because the writer only moves to a new
//!   segment after the previous one ended cleanly.

use std::path::Path;

use crate::error::{CorruptReason, JournalError, RecordFault};
use crate::format::{
    COMMIT_WORD_SIZE, FILE_HEADER_SIZE, KIND_RESERVED, OFFSET_CRC, OFFSET_FLAGS, OFFSET_KIND,
    OFFSET_PAYLOAD_LEN, OFFSET_SEQ, OFFSET_TS_NS, PAYLOAD_BYTES_MAX, RECORD_ALIGN_BYTES,
    RECORD_HEADER_SIZE, get_u16, get_u32, get_u64, record_bytes, record_crc,
};
use crate::header::FileHeader;

/// Where a torn tail starts and how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Index of the segment (always the last one).
    pub segment: u32,
    /// Byte offset in the segment file where the torn record starts.
    pub offset: u64,
    /// Bytes from `offset` through the last non-zero byte of the segment: what recovery
    /// zeroes ("cuts").
    pub bytes: u64,
}

/// A record that passed every check, as found in a segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordView<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u64,
    pub ts_ns: u64,
    pub payload: &'a [u8],
    /// Offset just past the record's padding: where the next record starts.
    pub end: usize,
}

/// The outcome of reading one record header at an offset.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    Record(RecordView<'a>),
    /// Not a record: a zero header, or no room left for one.
    Stop(RecordFault),
}

/// Reads and verifies the record at `offset` of `file` (a whole segment file). Checks the
/// kind, the length against the file, the checksum and the padding; not the sequence.
pub(crate) fn read_record(file: &[u8], offset: usize) -> Step<'_> {
    let Some(header) = file.get(offset..offset + RECORD_HEADER_SIZE) else {
        // Fewer than a header's bytes left: the end (classify_stop checks they are zero).
        return Step::Stop(RecordFault::Zeroed);
    };
    let kind = get_u16(header, OFFSET_KIND);
    if kind == KIND_RESERVED {
        let zero = header.iter().all(|&b| b == 0);
        return Step::Stop(if zero {
            RecordFault::Zeroed
        } else {
            RecordFault::KindZero
        });
    }
    let payload_len = get_u32(header, OFFSET_PAYLOAD_LEN);
    if payload_len as usize > PAYLOAD_BYTES_MAX {
        return Step::Stop(RecordFault::TooLarge { payload_len });
    }
    let end = offset + record_bytes(payload_len as usize);
    if end > file.len() {
        return Step::Stop(RecordFault::PastEnd { payload_len });
    }
    let payload_start = offset + RECORD_HEADER_SIZE;
    let payload = &file[payload_start..payload_start + payload_len as usize];
    let stored = get_u32(header, OFFSET_CRC);
    let computed = record_crc(header, payload);
    if stored != computed {
        return Step::Stop(RecordFault::Checksum { stored, computed });
    }
    if file[payload_start + payload.len()..end]
        .iter()
        .any(|&b| b != 0)
    {
        return Step::Stop(RecordFault::PaddingNotZero);
    }
    Step::Record(RecordView {
        kind,
        flags: get_u16(header, OFFSET_FLAGS),
        seq: get_u64(header, OFFSET_SEQ),
        ts_ns: get_u64(header, OFFSET_TS_NS),
        payload,
        end,
    })
}

/// Decides what the stop at `offset` of segment `index` is (see the module doc).
/// `fault` is why [`read_record`] stopped there, `seq_last` the sequence number of the last
/// good record before it. Returns `None` for a clean end, `Some` for a torn tail.
pub(crate) fn classify_stop(
    file: &[u8],
    index: u32,
    offset: usize,
    fault: RecordFault,
    seq_last: u64,
    is_last: bool,
) -> Result<Option<TornTail>, JournalError> {
    let Some(nonzero_last) = file[offset..].iter().rposition(|&b| b != 0) else {
        return Ok(None);
    };
    if let Some(valid_offset) = find_valid_record(file, offset, seq_last) {
        let reason = CorruptReason::BadRecordBeforeValid {
            fault,
            valid_offset: valid_offset as u64,
        };
        return Err(JournalError::corrupt(index, offset, reason));
    }
    if !is_last {
        return Err(JournalError::corrupt(
            index,
            offset,
            CorruptReason::BadRecord(fault),
        ));
    }
    Ok(Some(TornTail {
        segment: index,
        offset: offset as u64,
        bytes: nonzero_last as u64 + 1,
    }))
}

/// The first aligned offset after `offset` holding a record that verifies and whose
/// sequence number is above `seq_last`. Used to tell damage in the middle from a torn end.
fn find_valid_record(file: &[u8], offset: usize, seq_last: u64) -> Option<usize> {
    let mut candidate = offset + RECORD_ALIGN_BYTES;
    while candidate + RECORD_HEADER_SIZE <= file.len() {
        // Cheap pre-check on the commit word: no record has kind 0.
        let commit = &file[candidate..candidate + COMMIT_WORD_SIZE];
        if get_u16(commit, OFFSET_KIND) != KIND_RESERVED
            && matches!(read_record(file, candidate), Step::Record(r) if r.seq > seq_last)
        {
            return Some(candidate);
        }
        candidate += RECORD_ALIGN_BYTES;
    }
    None
}

/// Decodes the file header of segment `index` and, when the previous segment said which
/// sequence number comes next (`seq_expected`), checks that this segment starts there.
pub(crate) fn check_file_header(
    file: &[u8],
    path: &Path,
    index: u32,
    seq_expected: Option<u64>,
) -> Result<FileHeader, JournalError> {
    let header = FileHeader::decode(file, path, index)?;
    if let Some(expected) = seq_expected
        && header.first_seq != expected
    {
        let reason = CorruptReason::SequenceGap {
            expected,
            found: header.first_seq,
        };
        return Err(JournalError::corrupt(index, 0, reason));
    }
    Ok(header)
}

/// What a full pass over one segment found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentScan {
    pub records: u64,
    /// Offset where the next record would go (the end of the good data).
    pub end: usize,
    /// Sequence number the next record would get.
    pub seq_next: u64,
    pub torn_tail: Option<TornTail>,
}

/// Verifies every record of segment `index` (a whole mapped file whose header has been
/// checked and says `first_seq`), including sequence continuity inside the segment.
pub(crate) fn scan_segment(
    file: &[u8],
    index: u32,
    first_seq: u64,
    is_last: bool,
) -> Result<SegmentScan, JournalError> {
    let mut offset = FILE_HEADER_SIZE;
    let mut seq_next = first_seq;
    let mut records = 0;
    loop {
        match read_record(file, offset) {
            Step::Record(record) => {
                if record.seq != seq_next {
                    let reason = CorruptReason::SequenceGap {
                        expected: seq_next,
                        found: record.seq,
                    };
                    return Err(JournalError::corrupt(index, offset, reason));
                }
                offset = record.end;
                seq_next += 1;
                records += 1;
            }
            Step::Stop(fault) => {
                let torn_tail = classify_stop(file, index, offset, fault, seq_next - 1, is_last)?;
                return Ok(SegmentScan {
                    records,
                    end: offset,
                    seq_next,
                    torn_tail,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::encode_record_header;

    const SEGMENT_BYTES: usize = 512;

    /// A segment holding records with seq 1.. and the given payloads, and the offsets of
    /// those records.
    fn segment(payloads: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let header = FileHeader {
            segment_index: 0,
            first_seq: 1,
            segment_bytes: SEGMENT_BYTES as u64,
        };
        let mut file = vec![0u8; SEGMENT_BYTES];
        file[..FILE_HEADER_SIZE].copy_from_slice(&header.encode());
        let mut offsets = Vec::new();
        let mut offset = FILE_HEADER_SIZE;
        for (i, payload) in payloads.iter().enumerate() {
            let record = encode_record_header(7, i as u64 + 1, 1000 + i as u64, payload);
            file[offset..offset + RECORD_HEADER_SIZE].copy_from_slice(&record);
            let start = offset + RECORD_HEADER_SIZE;
            file[start..start + payload.len()].copy_from_slice(payload);
            offsets.push(offset);
            offset += record_bytes(payload.len());
        }
        offsets.push(offset);
        (file, offsets)
    }

    fn fault_at(file: &[u8], offset: usize) -> Option<RecordFault> {
        match read_record(file, offset) {
            Step::Record(_) => None,
            Step::Stop(fault) => Some(fault),
        }
    }

    // Proves that a valid record reads back with all its fields and the next offset.
    #[test]
    fn reads_a_valid_record() {
        let (file, offsets) = segment(&[b"hello"]);
        let Step::Record(view) = read_record(&file, offsets[0]) else {
            panic!("expected a record");
        };
        assert_eq!(
            (view.kind, view.flags, view.seq, view.ts_ns),
            (7, 0, 1, 1000)
        );
        assert_eq!(view.payload, b"hello");
        assert_eq!(view.end, offsets[1]);
        assert_eq!(fault_at(&file, offsets[1]), Some(RecordFault::Zeroed));
    }

    // Proves that each record check fires with its own fault.
    #[test]
    fn each_record_check_fires() {
        let (good, offsets) = segment(&[b"hello"]);
        let at = offsets[0];
        let mut file = good.clone();
        file[at + OFFSET_KIND] = 0;
        file[at + OFFSET_KIND + 1] = 0;
        assert_eq!(fault_at(&file, at), Some(RecordFault::KindZero));
        let mut file = good.clone();
        file[at + OFFSET_PAYLOAD_LEN..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            fault_at(&file, at),
            Some(RecordFault::TooLarge {
                payload_len: u32::MAX
            })
        );
        let mut file = good.clone();
        file[at + OFFSET_PAYLOAD_LEN..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(
            fault_at(&file, at),
            Some(RecordFault::PastEnd { payload_len: 1000 })
        );
        let mut file = good.clone();
        file[at + RECORD_HEADER_SIZE] ^= 1;
        assert!(matches!(
            fault_at(&file, at),
            Some(RecordFault::Checksum { .. })
        ));
        let mut file = good.clone();
        file[at + RECORD_HEADER_SIZE + 5] = 1;
        assert_eq!(fault_at(&file, at), Some(RecordFault::PaddingNotZero));
        // A header cut off by the end of the file is the end, not a fault of its own.
        assert_eq!(fault_at(&good[..at + 16], at), Some(RecordFault::Zeroed));
    }

    // Proves the three outcomes of a stop: clean end, torn tail (last segment only) and
    // corruption when a valid record follows.
    #[test]
    fn classify_stop_outcomes() {
        let (file, offsets) = segment(&[b"one", b"two", b"three"]);
        let end = offsets[3];
        assert_eq!(
            classify_stop(&file, 0, end, RecordFault::Zeroed, 3, true).expect("clean"),
            None
        );

        let mut torn = file.clone();
        torn[end + 40] = 9;
        let tail = classify_stop(&torn, 0, end, RecordFault::Zeroed, 3, true).expect("torn");
        assert_eq!(
            tail,
            Some(TornTail {
                segment: 0,
                offset: end as u64,
                bytes: 41
            })
        );
        let err =
            classify_stop(&torn, 0, end, RecordFault::Zeroed, 3, false).expect_err("not last");
        let reason = CorruptReason::BadRecord(RecordFault::Zeroed);
        let JournalError::Corrupt {
            offset,
            reason: found,
            ..
        } = err
        else {
            panic!("expected corruption, got {err}");
        };
        assert_eq!((offset, found), (end as u64, reason));

        let mut middle = file.clone();
        middle[offsets[1] + RECORD_HEADER_SIZE] ^= 1;
        let fault = fault_at(&middle, offsets[1]).expect("damaged");
        let err = classify_stop(&middle, 0, offsets[1], fault, 1, true).expect_err("middle");
        let reason = CorruptReason::BadRecordBeforeValid {
            fault,
            valid_offset: offsets[2] as u64,
        };
        assert!(
            matches!(err, JournalError::Corrupt { reason: r, .. } if r == reason),
            "{err}"
        );
    }

    // Proves that a record with a good checksum but the wrong sequence number is corrupt.
    #[test]
    fn scan_checks_sequence_continuity() {
        let (file, offsets) = segment(&[b"one", b"two"]);
        let scan = scan_segment(&file, 0, 1, true).expect("scan");
        assert_eq!(
            scan,
            SegmentScan {
                records: 2,
                end: offsets[2],
                seq_next: 3,
                torn_tail: None
            }
        );
        let err = scan_segment(&file, 0, 5, true).expect_err("gap");
        let reason = CorruptReason::SequenceGap {
            expected: 5,
            found: 1,
        };
        assert!(matches!(err, JournalError::Corrupt { offset: 64, reason: r, .. } if r == reason));
    }
}
