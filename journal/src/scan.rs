//! Verification of whole segments and of the links between them: sequence numbers and the
//! hash chain continue from one segment to the next. Used by writer recovery and by
//! [`crate::verify`] / [`crate::stats`]; the reader and the tailer apply the same checks
//! record by record.

use std::path::Path;

use crate::error::{CorruptReason, JournalError};
use crate::format::{CHAIN_SEED, FILE_HEADER_SIZE, FIRST_SEQ, SEQ_MAX};
use crate::header::FileHeader;
use crate::verify::{RecordView, Step, TornTail, classify_stop, read_record};

/// Where the previous segment left off: the next sequence number and the chain value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub seq_next: u64,
    pub chain: u64,
}

/// Checks that a segment header continues `previous` (the segment before it), or, for the
/// first segment present (`previous` is `None`), that a journal starting at sequence 1
/// starts its chain from [`CHAIN_SEED`]. A first segment starting later (older segments
/// removed by retention) is taken at its word: its header's chain start is the place an
/// auditor compares with a chain head recorded earlier.
pub(crate) fn check_link(header: &FileHeader, previous: Option<Link>) -> Result<(), JournalError> {
    let index = header.segment_index;
    let seq = header.first_seq;
    let (seq_expected, chain_expected) = match previous {
        Some(link) => (link.seq_next, link.chain),
        None if seq == FIRST_SEQ => (FIRST_SEQ, CHAIN_SEED),
        None => return Ok(()),
    };
    if seq != seq_expected {
        let reason = CorruptReason::SequenceGap {
            expected: seq_expected,
            found: seq,
        };
        return Err(JournalError::corrupt_record(index, 0, seq_expected, reason));
    }
    if header.chain_start != chain_expected {
        let reason = CorruptReason::ChainBreak {
            expected: chain_expected,
            found: header.chain_start,
        };
        return Err(JournalError::corrupt_record(index, 0, seq, reason));
    }
    Ok(())
}

/// The sequence number the record after one carrying `seq` (at `offset` of segment
/// `index`) must carry; a record past [`SEQ_MAX`] is corrupt, since nothing could follow it.
pub(crate) fn seq_after(seq: u64, index: u32, offset: usize) -> Result<u64, JournalError> {
    if seq > SEQ_MAX {
        let reason = CorruptReason::SequencePastMax { found: seq };
        return Err(JournalError::corrupt_record(index, offset, seq, reason));
    }
    Ok(seq + 1)
}

/// Decodes the file header of segment `index` and checks its link to the segment before.
pub(crate) fn check_file_header(
    file: &[u8],
    path: &Path,
    index: u32,
    previous: Option<Link>,
) -> Result<FileHeader, JournalError> {
    let header = FileHeader::decode(file, path, index)?;
    check_link(&header, previous)?;
    Ok(header)
}

/// What a full pass over one segment found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentScan {
    pub records: u64,
    /// Offset where the next record would go (the end of the good data).
    pub end: usize,
    /// Sequence number and chain value the next record continues from.
    pub link: Link,
    pub torn_tail: Option<TornTail>,
}

/// Verifies every record of a segment (a whole mapped file whose `header` has been
/// checked), including sequence continuity and the chain inside the segment, and hands each
/// good record to `visit`.
pub(crate) fn scan_segment<'a>(
    file: &'a [u8],
    header: &FileHeader,
    is_last: bool,
    mut visit: impl FnMut(&RecordView<'a>, usize),
) -> Result<SegmentScan, JournalError> {
    let index = header.segment_index;
    let mut offset = FILE_HEADER_SIZE;
    let mut link = Link {
        seq_next: header.first_seq,
        chain: header.chain_start,
    };
    let mut records = 0;
    loop {
        match read_record(file, offset, link.chain) {
            Step::Record(record) => {
                if record.seq != link.seq_next {
                    let reason = CorruptReason::SequenceGap {
                        expected: link.seq_next,
                        found: record.seq,
                    };
                    return Err(JournalError::corrupt_record(
                        index,
                        offset,
                        link.seq_next,
                        reason,
                    ));
                }
                let seq_next = seq_after(record.seq, index, offset)?;
                visit(&record, offset);
                offset = record.end;
                link = Link {
                    seq_next,
                    chain: record.checksum,
                };
                records += 1;
            }
            Step::Stop(fault) => {
                let seq_last = link.seq_next - 1;
                let torn_tail =
                    classify_stop(file, index, offset, fault, seq_last, link.chain, is_last)?;
                return Ok(SegmentScan {
                    records,
                    end: offset,
                    link,
                    torn_tail,
                });
            }
        }
    }
}

/// Unit-test helpers: a segment built in memory, record by record, the way the writer lays
/// records out (chained checksums from [`CHAIN_SEED`]).
#[cfg(test)]
pub(crate) mod test_support {
    use crate::checksum::record_checksum;
    use crate::format::{
        CHAIN_SEED, CHECKSUMMED_HEADER_BYTES, FILE_HEADER_SIZE, RECORD_HEADER_SIZE,
        encode_record_head, record_bytes,
    };
    use crate::header::FileHeader;

    pub(crate) const SEGMENT_BYTES: usize = 512;

    pub(crate) const HEADER: FileHeader = FileHeader {
        segment_index: 0,
        first_seq: 1,
        segment_bytes: SEGMENT_BYTES as u64,
        chain_start: CHAIN_SEED,
    };

    /// A segment holding records of kind 7 with seq 1.., ts 1000.. and the given payloads;
    /// the offsets of those records plus the end of data; and the chain values: `chains[0]` is
    /// the seed, `chains[i]` the checksum of record `i` (1-based).
    pub(crate) fn segment(payloads: &[&[u8]]) -> (Vec<u8>, Vec<usize>, Vec<u64>) {
        segment_from(1, payloads)
    }

    /// [`segment`] with the records numbered from `first_seq` (the file header still says 1).
    pub(crate) fn segment_from(
        first_seq: u64,
        payloads: &[&[u8]],
    ) -> (Vec<u8>, Vec<usize>, Vec<u64>) {
        let mut file = vec![0u8; SEGMENT_BYTES];
        file[..FILE_HEADER_SIZE].copy_from_slice(&HEADER.encode());
        let mut offsets = Vec::new();
        let mut chains = vec![CHAIN_SEED];
        let mut offset = FILE_HEADER_SIZE;
        for (i, payload) in payloads.iter().enumerate() {
            let seq = first_seq + i as u64;
            let head = encode_record_head(7, seq, 1000 + i as u64, payload.len());
            let checksum = record_checksum(&head, payload, chains[i]);
            file[offset..offset + CHECKSUMMED_HEADER_BYTES].copy_from_slice(&head);
            file[offset + CHECKSUMMED_HEADER_BYTES..offset + RECORD_HEADER_SIZE]
                .copy_from_slice(&checksum.to_le_bytes());
            let start = offset + RECORD_HEADER_SIZE;
            file[start..start + payload.len()].copy_from_slice(payload);
            offsets.push(offset);
            chains.push(checksum);
            offset += record_bytes(payload.len());
        }
        offsets.push(offset);
        (file, offsets, chains)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::{HEADER, segment, segment_from};

    // Proves that a record with a good checksum but the wrong sequence number is corrupt,
    // and that a clean scan reports the link the next segment must continue.
    #[test]
    fn scan_checks_sequence_continuity() {
        let (file, offsets, chains) = segment(&[b"one", b"two"]);
        let scan = scan_segment(&file, &HEADER, true, |_, _| {}).expect("scan");
        let link = Link {
            seq_next: 3,
            chain: chains[2],
        };
        let expected = SegmentScan {
            records: 2,
            end: offsets[2],
            link,
            torn_tail: None,
        };
        assert_eq!(scan, expected);
        let shifted = FileHeader {
            first_seq: 5,
            ..HEADER
        };
        let err = scan_segment(&file, &shifted, true, |_, _| {}).expect_err("gap");
        let reason = CorruptReason::SequenceGap {
            expected: 5,
            found: 1,
        };
        assert!(matches!(err, JournalError::Corrupt { offset: 64, reason: r, .. } if r == reason));
    }

    // Proves a record carrying the largest u64 as its sequence number is corrupt (nothing
    // could follow it) instead of overflowing the next expected number; the record before
    // it, at SEQ_MAX, is good (found by the journal_segment fuzz target).
    #[test]
    fn scan_refuses_a_sequence_number_past_the_max() {
        let (file, offsets, _) = segment_from(crate::format::SEQ_MAX, &[b"last", b"past"]);
        let header = FileHeader {
            first_seq: crate::format::SEQ_MAX,
            ..HEADER
        };
        let err = scan_segment(&file, &header, true, |_, _| {}).expect_err("past the max");
        let reason = CorruptReason::SequencePastMax { found: u64::MAX };
        assert!(
            matches!(err, JournalError::Corrupt { offset, reason: r, .. } if r == reason && offset == offsets[1] as u64),
            "{err}"
        );
    }

    // Proves the link rules: a segment must continue the previous one's sequence and chain;
    // a journal's first segment starts from CHAIN_SEED; a later first segment is accepted.
    #[test]
    fn links_between_segments() {
        let next = FileHeader {
            segment_index: 1,
            first_seq: 10,
            chain_start: 77,
            ..HEADER
        };
        let link = Link {
            seq_next: 10,
            chain: 77,
        };
        check_link(&next, Some(link)).expect("continues");
        let err = check_link(&next, Some(Link { chain: 78, ..link })).expect_err("chain");
        let reason = CorruptReason::ChainBreak {
            expected: 78,
            found: 77,
        };
        assert!(
            matches!(err, JournalError::Corrupt { segment: 1, offset: 0, seq: Some(10), reason: r } if r == reason),
            "{err}"
        );
        let err = check_link(
            &next,
            Some(Link {
                seq_next: 9,
                ..link
            }),
        )
        .expect_err("seq");
        assert!(matches!(
            err,
            JournalError::Corrupt {
                reason: CorruptReason::SequenceGap { .. },
                ..
            }
        ));
        check_link(&next, None).expect("a retained journal starts later");
        check_link(&HEADER, None).expect("seq 1 from the seed");
        let forged = FileHeader {
            chain_start: 1,
            ..HEADER
        };
        assert!(
            check_link(&forged, None).is_err(),
            "seq 1 must start from the seed"
        );
    }
}
