//! Verification of one record, and what a place that is not a record means; shared by
//! writer recovery, the reader, the tailer and [`crate::verify`].
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

use crate::checksum::record_checksum;
use crate::error::{CorruptReason, JournalError, RecordFault};
use crate::format::{
    CHECKSUMMED_HEADER_BYTES, COMMIT_WORD_SIZE, KIND_RESERVED, OFFSET_CHECKSUM, OFFSET_FLAGS,
    OFFSET_KIND, OFFSET_PAYLOAD_LEN, OFFSET_SEQ, OFFSET_TS_NS, PAYLOAD_BYTES_MAX,
    RECORD_ALIGN_BYTES, RECORD_HEADER_SIZE, get_u16, get_u32, get_u64, record_bytes,
};

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
    /// The stored (and verified) checksum: the chain value the next record continues from.
    pub checksum: u64,
    pub payload: &'a [u8],
    /// Offset just past the record's padding: where the next record starts.
    pub end: usize,
}

/// The outcome of reading one record header at an offset.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    Record(RecordView<'a>),
    /// Not a record: a zero header, no room left for one, or a failed check.
    Stop(RecordFault),
}

/// A record's framing (header fields, payload, end), checked for everything but checksum
/// and padding.
struct Frame<'a> {
    head: &'a [u8; CHECKSUMMED_HEADER_BYTES],
    stored: u64,
    payload: &'a [u8],
    end: usize,
}

fn frame(file: &[u8], offset: usize) -> Result<Frame<'_>, RecordFault> {
    let Some(header) = file.get(offset..offset + RECORD_HEADER_SIZE) else {
        // Fewer than a header's bytes left: the end (classify_stop checks they are zero).
        return Err(RecordFault::Zeroed);
    };
    if get_u16(header, OFFSET_KIND) == KIND_RESERVED {
        let zero = header.iter().all(|&b| b == 0);
        return Err(if zero {
            RecordFault::Zeroed
        } else {
            RecordFault::KindZero
        });
    }
    let payload_len = get_u32(header, OFFSET_PAYLOAD_LEN);
    if payload_len as usize > PAYLOAD_BYTES_MAX {
        return Err(RecordFault::TooLarge { payload_len });
    }
    let end = offset + record_bytes(payload_len as usize);
    if end > file.len() {
        return Err(RecordFault::PastEnd { payload_len });
    }
    let payload_start = offset + RECORD_HEADER_SIZE;
    let Some(head) = header[..CHECKSUMMED_HEADER_BYTES].as_array() else {
        return Err(RecordFault::Zeroed); // unreachable: the slice has exactly that length
    };
    Ok(Frame {
        head,
        stored: get_u64(header, OFFSET_CHECKSUM),
        payload: &file[payload_start..payload_start + payload_len as usize],
        end,
    })
}

/// Reads and verifies the record at `offset` of `file` (a whole segment file), which
/// continues the chain from `chain_prev`. Checks the kind, the length against the file, the
/// checksum and the padding; not the sequence.
pub(crate) fn read_record(file: &[u8], offset: usize, chain_prev: u64) -> Step<'_> {
    let frame = match frame(file, offset) {
        Ok(frame) => frame,
        Err(fault) => return Step::Stop(fault),
    };
    let computed = record_checksum(frame.head, frame.payload, chain_prev);
    if frame.stored != computed {
        let fault = RecordFault::Checksum {
            stored: frame.stored,
            computed,
        };
        return Step::Stop(fault);
    }
    let padding_start = offset + RECORD_HEADER_SIZE + frame.payload.len();
    if file[padding_start..frame.end].iter().any(|&b| b != 0) {
        return Step::Stop(RecordFault::PaddingNotZero);
    }
    Step::Record(RecordView {
        kind: get_u16(frame.head, OFFSET_KIND),
        flags: get_u16(frame.head, OFFSET_FLAGS),
        seq: get_u64(frame.head, OFFSET_SEQ),
        ts_ns: get_u64(frame.head, OFFSET_TS_NS),
        checksum: frame.stored,
        payload: frame.payload,
        end: frame.end,
    })
}

/// Decides what the stop at `offset` of segment `index` is (see the module doc).
/// `fault` is why [`read_record`] stopped there; `seq_last` and `chain_prev` are the
/// sequence number and checksum of the last good record before it. Returns `None` for a
/// clean end, `Some` for a torn tail.
pub(crate) fn classify_stop(
    file: &[u8],
    index: u32,
    offset: usize,
    fault: RecordFault,
    seq_last: u64,
    chain_prev: u64,
    is_last: bool,
) -> Result<Option<TornTail>, JournalError> {
    // Forward from the stop: a live writer appends behind this scan, never ahead of it,
    // so a clean end seen here stays a clean end (a backward scan from the end of a large
    // segment would meet records appended meanwhile and chase the writer forever).
    if first_nonzero(&file[offset..]).is_none() {
        return Ok(None);
    }
    let seq = seq_last + 1;
    if let Some(valid_offset) = find_valid_record(file, offset, seq_last, chain_prev) {
        let reason = CorruptReason::BadRecordBeforeValid {
            fault,
            valid_offset: valid_offset as u64,
        };
        return Err(JournalError::corrupt_record(index, offset, seq, reason));
    }
    if !is_last {
        let reason = CorruptReason::BadRecord(fault);
        return Err(JournalError::corrupt_record(index, offset, seq, reason));
    }
    let bytes = file[offset..]
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    Ok(Some(TornTail {
        segment: index,
        offset: offset as u64,
        bytes: bytes as u64,
    }))
}

/// The index of the first non-zero byte, eight bytes at a time.
fn first_nonzero(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(0_u8, |acc, &b| acc | b) != 0 {
            return chunk.iter().position(|&b| b != 0).map(|i| at + i);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b != 0)
        .map(|i| at + i)
}

/// The first aligned offset after `offset` holding a record that verifies and whose
/// sequence number is above `seq_last`. Used to tell damage in the middle from a torn end.
///
/// A record's checksum depends on the one before it, so a candidate is tried against every
/// chain value it may continue from: the bad record's stored checksum (its header or payload
/// was damaged), the checksum its bytes compute to (its checksum field was damaged), and
/// `chain_prev` itself. A candidate whose predecessor is unknown still counts when the
/// record after it verifies against the candidate's stored checksum (a valid pair).
fn find_valid_record(file: &[u8], offset: usize, seq_last: u64, chain_prev: u64) -> Option<usize> {
    let mut seeds = [chain_prev; 3];
    if let Some(header) = file.get(offset..offset + RECORD_HEADER_SIZE) {
        seeds[1] = get_u64(header, OFFSET_CHECKSUM);
    }
    if let Ok(bad) = frame(file, offset) {
        seeds[2] = record_checksum(bad.head, bad.payload, chain_prev);
    }
    let mut candidate = offset + RECORD_ALIGN_BYTES;
    while candidate + RECORD_HEADER_SIZE <= file.len() {
        // Cheap pre-check on the commit word: no record has kind 0.
        let commit = &file[candidate..candidate + COMMIT_WORD_SIZE];
        if get_u16(commit, OFFSET_KIND) != KIND_RESERVED
            && is_valid_candidate(file, candidate, seq_last, &seeds)
        {
            return Some(candidate);
        }
        candidate += RECORD_ALIGN_BYTES;
    }
    None
}

fn is_valid_candidate(file: &[u8], candidate: usize, seq_last: u64, seeds: &[u64]) -> bool {
    let Ok(frame) = frame(file, candidate) else {
        return false;
    };
    let seq = get_u64(frame.head, OFFSET_SEQ);
    if seq <= seq_last {
        return false;
    }
    let chained = |seed| matches!(read_record(file, candidate, seed), Step::Record(_));
    if seeds.iter().any(|&seed| chained(seed)) {
        return true;
    }
    matches!(
        read_record(file, frame.end, frame.stored),
        Step::Record(next) if next.seq == seq.wrapping_add(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{CHAIN_SEED, FILE_HEADER_SIZE};
    use crate::scan::test_support::segment;

    // Proves the chunked scan finds the first non-zero byte wherever it is (inside a chunk,
    // at a chunk edge, in the remainder) and nothing in all-zero bytes.
    #[test]
    fn first_nonzero_anywhere() {
        for len in [0_usize, 1, 7, 8, 9, 64, 67] {
            assert_eq!(first_nonzero(&vec![0; len]), None);
            for at in 0..len {
                let mut bytes = vec![0_u8; len];
                bytes[at] = 1;
                if at + 1 < len {
                    bytes[len - 1] = 2;
                }
                assert_eq!(first_nonzero(&bytes), Some(at), "len {len} at {at}");
            }
        }
    }

    fn fault_at(file: &[u8], offset: usize, chain_prev: u64) -> Option<RecordFault> {
        match read_record(file, offset, chain_prev) {
            Step::Record(_) => None,
            Step::Stop(fault) => Some(fault),
        }
    }

    // Proves that a valid record reads back with all its fields, its checksum and the next
    // offset, and that it verifies only against the chain value it was written after.
    #[test]
    fn reads_a_valid_record_only_on_its_chain() {
        let (file, offsets, chains) = segment(&[b"hello"]);
        let Step::Record(view) = read_record(&file, offsets[0], CHAIN_SEED) else {
            panic!("expected a record");
        };
        assert_eq!(
            (view.kind, view.flags, view.seq, view.ts_ns),
            (7, 0, 1, 1000)
        );
        assert_eq!(view.payload, b"hello");
        assert_eq!(view.end, offsets[1]);
        assert_eq!(view.checksum, chains[1]);
        assert!(matches!(
            fault_at(&file, offsets[0], CHAIN_SEED ^ 1),
            Some(RecordFault::Checksum { .. })
        ));
        assert_eq!(
            fault_at(&file, offsets[1], chains[1]),
            Some(RecordFault::Zeroed)
        );
    }

    // Proves that each record check fires with its own fault.
    #[test]
    fn each_record_check_fires() {
        let (good, offsets, _) = segment(&[b"hello"]);
        let at = offsets[0];
        let fault = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut file = good.clone();
            edit(&mut file);
            fault_at(&file, at, CHAIN_SEED)
        };
        assert_eq!(
            fault(&|f| f[at + OFFSET_KIND..at + 6].fill(0)),
            Some(RecordFault::KindZero)
        );
        let too_large = RecordFault::TooLarge {
            payload_len: u32::MAX,
        };
        let set_len =
            |len: u32| move |f: &mut Vec<u8>| f[at..at + 4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(fault(&set_len(u32::MAX)), Some(too_large));
        let past_end = RecordFault::PastEnd { payload_len: 1000 };
        assert_eq!(fault(&set_len(1000)), Some(past_end));
        assert!(matches!(
            fault(&|f| f[at + RECORD_HEADER_SIZE] ^= 1),
            Some(RecordFault::Checksum { .. })
        ));
        assert_eq!(
            fault(&|f| f[at + RECORD_HEADER_SIZE + 5] = 1),
            Some(RecordFault::PaddingNotZero)
        );
        // A header cut off by the end of the file is the end, not a fault of its own.
        assert_eq!(
            fault_at(&good[..at + 16], at, CHAIN_SEED),
            Some(RecordFault::Zeroed)
        );
    }

    // Proves the three outcomes of a stop: clean end, torn tail (last segment only) and
    // corruption when a valid record follows.
    #[test]
    fn classify_stop_outcomes() {
        let (file, offsets, chains) = segment(&[b"one", b"two", b"three"]);
        let end = offsets[3];
        let classify = |file: &[u8], at, fault, seq_last, is_last| {
            classify_stop(
                file,
                0,
                at,
                fault,
                seq_last,
                chains[seq_last as usize],
                is_last,
            )
        };
        let clean = classify(&file, end, RecordFault::Zeroed, 3, true).expect("clean");
        assert_eq!(clean, None);

        let mut torn = file.clone();
        torn[end + 40] = 9;
        let tail = classify(&torn, end, RecordFault::Zeroed, 3, true).expect("torn");
        let expected = TornTail {
            segment: 0,
            offset: end as u64,
            bytes: 41,
        };
        assert_eq!(tail, Some(expected));
        let err = classify(&torn, end, RecordFault::Zeroed, 3, false).expect_err("not last");
        let JournalError::Corrupt {
            offset,
            seq,
            reason: found,
            ..
        } = err
        else {
            panic!("expected corruption, got {err}");
        };
        let reason = CorruptReason::BadRecord(RecordFault::Zeroed);
        assert_eq!((offset, seq, found), (end as u64, Some(4), reason));
        assert_eq!(FILE_HEADER_SIZE, offsets[0]);
    }

    // Proves a record after a damaged one is found whatever field of the damaged record was
    // hit: its payload (the stored checksum still chains), its checksum field (the computed
    // one chains), or its length (the candidate scan is over every aligned offset).
    #[test]
    fn a_valid_record_after_damage_is_found_whatever_was_hit() {
        let (file, offsets, chains) = segment(&[b"one", b"two", b"three"]);
        let at = offsets[1];
        for hit in [
            at + RECORD_HEADER_SIZE,
            at + OFFSET_CHECKSUM + 3,
            at + 1,
            at + 9,
        ] {
            let mut damaged = file.clone();
            damaged[hit] ^= 0x40;
            let fault = fault_at(&damaged, at, chains[1]).expect("damaged");
            let err = classify_stop(&damaged, 0, at, fault, 1, chains[1], true)
                .expect_err("a valid record follows");
            let reason = CorruptReason::BadRecordBeforeValid {
                fault,
                valid_offset: offsets[2] as u64,
            };
            assert!(
                matches!(err, JournalError::Corrupt { reason: r, seq: Some(2), .. } if r == reason),
                "hit at {hit}: {err}"
            );
        }
    }
}
