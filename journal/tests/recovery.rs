//! Opening a journal after a crash: a torn tail is cut exactly and reported, appending
//! continues; damage anywhere else is refused as corruption; one writer per directory.

mod common;

use std::fs;
use std::path::Path;

use common::{Input, Place, copy_dir, edit_segment, inputs, layout, options, read_all, write};
use traider_journal::{
    CorruptReason, JournalError, JournalReader, JournalWriter, RecordFault, TornTail,
};

const SEGMENT_BYTES: u64 = 4096;

/// How a crash (or a bad disk) left the last record.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Bytes from `cut` on never reached the file (zero).
    KeepPrefix,
    /// Bytes before `cut` never reached the file (the payload is written before the header).
    KeepSuffix,
    /// One byte at `cut` is wrong.
    Garble,
}

fn damage(bytes: &mut [u8], place: Place, how: Damage, cut: usize) {
    let start = place.offset as usize;
    let record = &mut bytes[start..start + place.bytes as usize];
    match how {
        Damage::KeepPrefix => record[cut..].fill(0),
        Damage::KeepSuffix => record[..cut].fill(0),
        Damage::Garble => record[cut] ^= 0xA5,
    }
}

/// The torn tail recovery must report for `bytes` when the last record at `place` is bad:
/// `None` if the damage left only zeros (the record was simply never written).
fn expected_tail(bytes: &[u8], place: Place) -> Option<TornTail> {
    let start = place.offset as usize;
    let last_nonzero = bytes[start..].iter().rposition(|&b| b != 0)?;
    Some(TornTail {
        segment: place.segment,
        offset: place.offset,
        bytes: last_nonzero as u64 + 1,
    })
}

#[test]
fn torn_last_record_is_cut_exactly_at_every_offset() {
    // Proves that for every way of tearing the last record (prefix kept, suffix kept, one
    // byte garbled, at every offset), the reader stops before it, recovery cuts exactly it
    // and reports it, the file is clean afterwards, and appending continues.
    let template = tempfile::tempdir().expect("tempdir");
    let mut records = inputs(10, 8, 60);
    records[7].payload = common::Rng::new(77).bytes(45); // an 80-byte record with padding
    write(template.path(), SEGMENT_BYTES, &records);
    let places = layout(template.path());
    let last = *places.last().expect("records");
    let seg = last.segment;
    let clean = fs::read(common::segment_path(template.path(), seg)).expect("read");
    let mut cases = 0;
    for how in [Damage::KeepPrefix, Damage::KeepSuffix, Damage::Garble] {
        for cut in 0..last.bytes as usize {
            let mut torn = clean.clone();
            damage(&mut torn, last, how, cut);
            if torn == clean {
                continue; // only zero padding was "lost": the record is intact
            }
            let expected = expected_tail(&torn, last);
            let case = tempfile::tempdir().expect("tempdir");
            copy_dir(template.path(), case.path());
            fs::write(common::segment_path(case.path(), seg), &torn).expect("write");
            check_recovery(
                case.path(),
                &records,
                expected,
                &format!("{how:?} at {cut}"),
            );
            cases += 1;
        }
    }
    assert!(cases > 150, "{cases}");
}

fn check_recovery(dir: &Path, records: &[Input], expected: Option<TornTail>, case: &str) {
    let kept = records.len() as u64 - 1;
    let reader = JournalReader::open(dir).expect("reader");
    let read: Vec<_> = reader.records().collect::<Result<_, _>>().expect(case);
    assert_eq!(read.len() as u64, kept, "{case}");
    let torn_at = |t: TornTail| (t.segment, t.offset);
    assert_eq!(
        reader.torn_tail().map(torn_at),
        expected.map(torn_at),
        "{case}"
    );
    drop(read);
    drop(reader);

    let (mut writer, recovery) = JournalWriter::open(dir, options(SEGMENT_BYTES)).expect(case);
    assert_eq!(recovery.torn_tail, expected, "{case}");
    assert_eq!(
        (recovery.records_found, recovery.last_seq),
        (kept, Some(kept)),
        "{case}"
    );
    let seg_bytes = fs::read(common::segment_path(dir, writer.current_segment())).expect("read");
    let cut_at = writer.current_offset() as usize;
    assert!(
        seg_bytes[cut_at..].iter().all(|&b| b == 0),
        "{case}: tail not zeroed"
    );
    let seq = writer
        .append(9, 99, b"after recovery")
        .expect("append after recovery");
    assert_eq!(seq, kept + 1, "{case}");
    drop(writer);

    let got = read_all(dir);
    assert_eq!(got.len(), records.len(), "{case}");
    assert_eq!(
        got[..kept as usize]
            .iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>(),
        records[..kept as usize].iter().collect::<Vec<_>>()
    );
    assert_eq!(
        got.last().map(|(_, r)| r.payload.as_slice()),
        Some(&b"after recovery"[..])
    );
}

#[test]
fn torn_first_record_of_a_new_segment_is_cut() {
    // Proves a crash right after a roll (torn first record of the last segment) is cut,
    // and sequence numbers continue from the previous segment.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(11, 60, 200);
    write(dir.path(), 1024, &records);
    let places = layout(dir.path());
    let last = *places.last().expect("records");
    let first_of_last = places
        .iter()
        .find(|p| p.segment == last.segment)
        .copied()
        .expect("place");
    let kept = places
        .iter()
        .position(|p| *p == first_of_last)
        .expect("index") as u64;
    // Keep the first half of the first record of the last segment, drop everything after.
    let mut expected = None;
    edit_segment(dir.path(), last.segment, |bytes| {
        bytes[(first_of_last.offset + first_of_last.bytes / 2) as usize..].fill(0);
        expected = expected_tail(bytes, first_of_last);
    });
    assert_eq!(expected.map(|t| t.offset), Some(64));
    let (mut writer, recovery) = JournalWriter::open(dir.path(), options(1024)).expect("open");
    assert_eq!(recovery.last_seq, Some(kept));
    assert_eq!(recovery.torn_tail, expected);
    assert_eq!(writer.append(1, 1, b"next").expect("append"), kept + 1);
    drop(writer);
    assert_eq!(read_all(dir.path()).len() as u64, kept + 1);
}

#[test]
fn garbage_after_the_end_of_data_is_cut() {
    // Proves stray bytes after the last record (an uncommitted payload) are a torn tail
    // starting at the end of data, and recovery zeroes all of them.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(12, 5, 50);
    write(dir.path(), SEGMENT_BYTES, &records);
    let end = layout(dir.path())
        .last()
        .map(|p| p.offset + p.bytes)
        .expect("records");
    edit_segment(dir.path(), 0, |bytes| {
        bytes[end as usize + 200..end as usize + 300].fill(0x7B)
    });
    let (_writer, recovery) =
        JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("open");
    assert_eq!(
        recovery.torn_tail,
        Some(TornTail {
            segment: 0,
            offset: end,
            bytes: 300
        })
    );
    assert_eq!(recovery.records_found, 5);
}

#[test]
fn damage_before_a_valid_record_is_corruption_not_a_torn_tail() {
    // Proves a bad record followed by a good one in the last segment is refused, names the
    // bad record, and recovery does not touch the file.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), SEGMENT_BYTES, &inputs(13, 6, 80));
    let places = layout(dir.path());
    edit_segment(dir.path(), 0, |bytes| {
        bytes[places[2].offset as usize + 33] ^= 1
    });
    let before = fs::read(common::segment_path(dir.path(), 0)).expect("read");
    let err = JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect_err("corrupt");
    let JournalError::Corrupt {
        segment: 0,
        offset,
        seq,
        reason,
    } = err
    else {
        panic!("expected corruption, got {err}");
    };
    assert_eq!((offset, seq), (places[2].offset, Some(3)));
    let valid_offset = places[3].offset;
    let CorruptReason::BadRecordBeforeValid {
        fault,
        valid_offset: found,
    } = reason
    else {
        panic!("expected a bad record before a valid one, got {reason}");
    };
    assert!(matches!(fault, RecordFault::Checksum { .. }), "{fault}");
    assert_eq!(found, valid_offset);
    assert_eq!(
        fs::read(common::segment_path(dir.path(), 0)).expect("read"),
        before
    );
}

#[test]
fn damage_at_the_end_of_an_earlier_segment_is_corruption() {
    // Proves only the last segment can have a torn tail: the same damage in an earlier
    // segment is refused by the writer and reported by the reader.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), 1024, &inputs(14, 40, 100));
    let places = layout(dir.path());
    let last_of_first = *places.iter().rfind(|p| p.segment == 0).expect("place");
    edit_segment(dir.path(), 0, |bytes| {
        bytes[last_of_first.offset as usize + 10] ^= 1
    });
    let err = JournalWriter::open(dir.path(), options(1024)).expect_err("corrupt");
    let JournalError::Corrupt {
        segment: 0,
        offset,
        seq,
        reason,
    } = err
    else {
        panic!("expected corruption in segment 0, got {err}");
    };
    let seq_expected = places
        .iter()
        .position(|p| *p == last_of_first)
        .expect("place") as u64
        + 1;
    assert_eq!((offset, seq), (last_of_first.offset, Some(seq_expected)));
    let is_bad = matches!(
        reason,
        CorruptReason::BadRecord(RecordFault::Checksum { .. })
    );
    assert!(is_bad, "{reason}");
    let reader = JournalReader::open(dir.path()).expect("reader");
    let last = reader.records().last().expect("items");
    assert!(
        matches!(last, Err(JournalError::Corrupt { segment: 0, .. })),
        "{last:?}"
    );
}

#[test]
fn a_second_writer_is_locked_out() {
    // Proves one writer per directory: the second gets Locked naming the directory, and
    // can open once the first is dropped.
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, _) = JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("first");
    let err = JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect_err("second");
    assert!(
        matches!(&err, JournalError::Locked { dir: d } if d == dir.path()),
        "{err}"
    );
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
    assert!(err.is_retryable());
    drop(first);
    JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("after the first closed");
}

#[test]
fn leftover_temp_segment_is_removed_and_a_missing_segment_is_refused() {
    // Proves a half-created segment from a crashed roll is discarded, and a gap in the
    // segment files is corruption, not silently skipped.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), 1024, &inputs(15, 30, 100));
    let temp = dir.path().join("seg-000099.tj.tmp");
    fs::write(&temp, b"half a roll").expect("write");
    let (writer, recovery) = JournalWriter::open(dir.path(), options(1024)).expect("open");
    assert!(!temp.exists());
    assert_eq!(recovery.records_found, 30);
    let segments = recovery.segments_found;
    assert!(segments >= 3);
    drop(writer);
    fs::remove_file(common::segment_path(dir.path(), 1)).expect("remove");
    let err = JournalWriter::open(dir.path(), options(1024)).expect_err("gap");
    let reason = CorruptReason::SegmentMissing {
        expected: 1,
        found: 2,
    };
    assert!(
        matches!(err, JournalError::Corrupt { reason: r, .. } if r == reason),
        "{err}"
    );
    let err = JournalReader::open(dir.path()).expect_err("gap");
    assert!(
        matches!(err, JournalError::Corrupt { reason: r, .. } if r == reason),
        "{err}"
    );
}
