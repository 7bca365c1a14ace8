//! Damaged files: every flipped byte is found at the right segment, offset and record by the
//! reader, the writer's recovery and `verify`; arbitrary damage never panics; files of
//! another format or version are refused clearly.

mod common;

use std::fs;
use std::path::Path;

use common::{Place, copy_dir, edit_segment, inputs, layout, options, write};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use traider_journal::format::{
    FILE_HEADER_SIZE, FILE_OFFSET_HEADER_CHECKSUM, FILE_OFFSET_VERSION, RECORD_HEADER_SIZE,
};
use traider_journal::{
    CorruptReason, JournalError, JournalReader, JournalWriter, RecordFault, verify,
};

const SEGMENT_BYTES: u64 = 512;

/// A small journal of several segments, and where its records are.
struct Template {
    dir: tempfile::TempDir,
    places: Vec<Place>,
    segments: u32,
}

impl Template {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), SEGMENT_BYTES, &inputs(20, 24, 60));
        let places = layout(dir.path());
        let segments = places.last().expect("records").segment + 1;
        assert!(segments >= 3, "template should span several segments");
        Self {
            dir,
            places,
            segments,
        }
    }

    /// Offset where segment `index`'s data ends.
    fn end_of(&self, index: u32) -> u64 {
        let last = self.places.iter().rfind(|p| p.segment == index);
        last.map_or(FILE_HEADER_SIZE as u64, |p| p.offset + p.bytes)
    }
}

/// What flipping one byte must lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    BadMagic,
    Version,
    /// Refused when opening: the file header of this segment.
    Header {
        segment: u32,
    },
    /// `records` records read, then corruption at (segment, offset).
    Corrupt {
        records: usize,
        segment: u32,
        offset: u64,
    },
    /// `records` records read, then a torn tail at (segment, offset).
    Torn {
        records: usize,
        segment: u32,
        offset: u64,
    },
}

fn expected_outcome(t: &Template, segment: u32, at: u64) -> Outcome {
    let is_last = segment + 1 == t.segments;
    match at {
        0..8 => return Outcome::BadMagic,
        8..10 => return Outcome::Version,
        10..64 => return Outcome::Header { segment },
        _ => {}
    }
    let hit = t
        .places
        .iter()
        .position(|p| p.segment == segment && (p.offset..p.offset + p.bytes).contains(&at));
    let (records, offset) = match hit {
        Some(index) => (index, t.places[index].offset),
        // In the zeros after the end of data: the stop is at the end of data.
        None => (
            t.places.iter().filter(|p| p.segment <= segment).count(),
            t.end_of(segment),
        ),
    };
    if is_last && records + 1 >= t.places.len() {
        // The last record, or the bytes after it: a torn tail.
        Outcome::Torn {
            records,
            segment,
            offset,
        }
    } else {
        Outcome::Corrupt {
            records,
            segment,
            offset,
        }
    }
}

fn open_error_outcome(err: &JournalError) -> Option<Outcome> {
    match *err {
        JournalError::BadMagic { .. } => Some(Outcome::BadMagic),
        JournalError::Version { .. } => Some(Outcome::Version),
        JournalError::Corrupt {
            segment, offset: 0, ..
        } => Some(Outcome::Header { segment }),
        _ => None,
    }
}

/// What the reader makes of `dir`.
fn reader_outcome(dir: &Path) -> Result<Outcome, String> {
    let reader = match JournalReader::open(dir) {
        Ok(reader) => reader,
        Err(err) => return open_error_outcome(&err).ok_or(format!("reader open: {err}")),
    };
    let mut records = 0;
    for record in reader.records() {
        match record {
            Ok(_) => records += 1,
            Err(JournalError::Corrupt {
                segment, offset, ..
            }) => {
                return Ok(Outcome::Corrupt {
                    records,
                    segment,
                    offset,
                });
            }
            Err(err) => return Err(format!("reader: {err}")),
        }
    }
    let torn = reader.torn_tail().ok_or("no error and no torn tail")?;
    Ok(Outcome::Torn {
        records,
        segment: torn.segment,
        offset: torn.offset,
    })
}

/// What the writer's recovery makes of `dir`.
fn writer_outcome(dir: &Path) -> Result<Outcome, String> {
    match JournalWriter::open(dir, options(SEGMENT_BYTES)) {
        Ok((_, recovery)) => {
            let torn = recovery.torn_tail.ok_or("recovery found no torn tail")?;
            let records = recovery.records_found as usize;
            Ok(Outcome::Torn {
                records,
                segment: torn.segment,
                offset: torn.offset,
            })
        }
        Err(JournalError::Corrupt {
            segment, offset, ..
        }) if offset > 0 => Ok(Outcome::Corrupt {
            records: usize::MAX,
            segment,
            offset,
        }),
        Err(err) => open_error_outcome(&err).ok_or(format!("writer open: {err}")),
    }
}

/// What `verify` makes of `dir`: the record count comes from the seq the error names.
fn verify_outcome(dir: &Path) -> Result<Outcome, String> {
    match verify(dir) {
        Ok(report) => {
            let torn = report.torn_tail.ok_or("verify passed a damaged journal")?;
            Ok(Outcome::Torn {
                records: report.records as usize,
                segment: torn.segment,
                offset: torn.offset,
            })
        }
        Err(JournalError::Corrupt {
            segment,
            offset,
            seq: Some(seq),
            ..
        }) if offset > 0 => Ok(Outcome::Corrupt {
            records: seq as usize - 1,
            segment,
            offset,
        }),
        Err(err) => open_error_outcome(&err).ok_or(format!("verify: {err}")),
    }
}

#[test]
fn any_flipped_byte_is_reported_at_its_segment_and_offset() {
    // Proves a single wrong byte anywhere (file header, record header, payload, checksum,
    // padding, unused tail) is found: the reader yields the records before it, then names
    // the damaged record's segment and offset (or a torn tail for the last record);
    // `verify` names the same place and the damaged record's seq, and never passes; the
    // writer's recovery agrees.
    let t = Template::new();
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..t.segments, 0..SEGMENT_BYTES, 1..=255u8);
    let result = runner.run(&strategy, |(segment, at, xor)| {
        let case = tempfile::tempdir().expect("tempdir");
        copy_dir(t.dir.path(), case.path());
        edit_segment(case.path(), segment, |bytes| bytes[at as usize] ^= xor);
        let expected = expected_outcome(&t, segment, at);
        let read = reader_outcome(case.path()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            read,
            expected,
            "reader, flip at segment {} offset {}",
            segment,
            at
        );
        let verified = verify_outcome(case.path()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            verified,
            expected,
            "verify, flip at segment {} offset {}",
            segment,
            at
        );
        let recovered = writer_outcome(case.path()).map_err(TestCaseError::fail)?;
        let expected_by_writer = match expected {
            Outcome::Corrupt {
                segment, offset, ..
            } => Outcome::Corrupt {
                records: usize::MAX,
                segment,
                offset,
            },
            other => other,
        };
        prop_assert_eq!(
            recovered,
            expected_by_writer,
            "writer, flip at segment {} offset {}",
            segment,
            at
        );
        Ok(())
    });
    result.expect("flip property");
}

#[test]
fn every_single_byte_flip_is_found_by_verify_at_its_record() {
    // Proves the property above exhaustively for `verify`: each byte of each segment of the
    // template, flipped in turn, is reported at the right record, header or torn tail.
    let t = Template::new();
    let case = tempfile::tempdir().expect("tempdir");
    copy_dir(t.dir.path(), case.path());
    let mut cases = 0;
    for segment in 0..t.segments {
        let path = common::segment_path(case.path(), segment);
        let clean = fs::read(&path).expect("read");
        for at in 0..SEGMENT_BYTES {
            let mut flipped = clean.clone();
            flipped[at as usize] ^= 0x5A;
            fs::write(&path, &flipped).expect("write");
            let expected = expected_outcome(&t, segment, at);
            let verified = verify_outcome(case.path()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(verified, expected, "flip at segment {segment} offset {at}");
            cases += 1;
        }
        fs::write(&path, &clean).expect("restore");
    }
    assert!(cases >= 3 * SEGMENT_BYTES, "{cases}");
}

#[test]
fn arbitrary_damage_never_panics_and_recovery_leaves_a_clean_journal() {
    // Proves that overwriting any range of any segment with junk or zeros, or truncating a
    // file, never panics the reader, verify, stats or the writer, that the writer either refuses with a
    // format error or recovers, and that after recovery the journal reads cleanly.
    let t = Template::new();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..t.segments,
        0..SEGMENT_BYTES,
        1..200u64,
        any::<u64>(),
        0..4u8,
    );
    let result = runner.run(&strategy, |(segment, start, len, seed, mode)| {
        let case = tempfile::tempdir().expect("tempdir");
        copy_dir(t.dir.path(), case.path());
        edit_segment(case.path(), segment, |bytes| {
            let start = start as usize;
            let end = (start + len as usize).min(bytes.len());
            match mode {
                0 => bytes[start..end].fill(0),
                1 => bytes.truncate(start),
                _ => bytes[start..end].copy_from_slice(&common::Rng::new(seed).bytes(end - start)),
            }
        });
        if let Ok(reader) = JournalReader::open(case.path()) {
            let _ = reader.records().count();
            let _ = reader.last_seq();
        }
        let _ = verify(case.path());
        let _ = traider_journal::stats(case.path());
        match JournalWriter::open(case.path(), options(SEGMENT_BYTES)) {
            Ok((mut writer, recovery)) => {
                writer
                    .append(1, 1, b"after")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                drop(writer);
                let reader = JournalReader::open(case.path()).expect("reader after recovery");
                let count = reader
                    .records()
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .len();
                prop_assert_eq!(count as u64, recovery.records_found + 1);
                prop_assert_eq!(reader.torn_tail(), None);
            }
            Err(
                JournalError::Corrupt { .. }
                | JournalError::BadMagic { .. }
                | JournalError::Version { .. },
            ) => {}
            Err(err) => return Err(TestCaseError::fail(format!("unexpected error: {err}"))),
        }
        Ok(())
    });
    result.expect("damage property");
}

#[test]
fn nonzero_padding_is_corruption() {
    // Proves the padding after a payload, which no checksum covers, must be zero and is
    // checked: setting one padding byte is reported at that record.
    let t = Template::new();
    let reader = JournalReader::open(t.dir.path()).expect("reader");
    let (offset, payload_len) = reader
        .records()
        .map(|r| r.expect("record"))
        .filter(|r| r.segment == 0 && r.payload.len() % 8 != 0)
        .map(|r| (r.offset, r.payload.len()))
        .next()
        .expect("a record with padding in segment 0");
    drop(reader);
    let padding_at = offset as usize + RECORD_HEADER_SIZE + payload_len;
    edit_segment(t.dir.path(), 0, |bytes| bytes[padding_at] = 1);
    let reader = JournalReader::open(t.dir.path()).expect("reader");
    let err = reader.records().find_map(Result::err).expect("an error");
    let JournalError::Corrupt {
        segment: 0,
        offset: found,
        reason,
        ..
    } = err
    else {
        panic!("expected corruption, got {err}");
    };
    assert_eq!(found, offset);
    let fault = match reason {
        CorruptReason::BadRecord(fault) | CorruptReason::BadRecordBeforeValid { fault, .. } => {
            fault
        }
        other => panic!("unexpected reason {other}"),
    };
    assert_eq!(fault, RecordFault::PaddingNotZero);
}

#[test]
fn wrong_magic_and_future_version_are_refused_with_clear_messages() {
    // Proves a file that is not a journal, or one of a newer format version, is refused by
    // reader and writer with an error that says so and names the file.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), SEGMENT_BYTES, &inputs(21, 3, 30));
    let magic = tempfile::tempdir().expect("tempdir");
    copy_dir(dir.path(), magic.path());
    edit_segment(magic.path(), 0, |bytes| {
        bytes[..8].copy_from_slice(b"NOTAJRNL")
    });
    for err in [
        JournalReader::open(magic.path()).expect_err("bad magic"),
        JournalWriter::open(magic.path(), options(SEGMENT_BYTES)).expect_err("bad magic"),
    ] {
        assert!(matches!(err, JournalError::BadMagic { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("seg-000000.tj") && text.contains("not a journal"),
            "{text}"
        );
    }
    // Version 3 with a correct header checksum: refused for the version, nothing else.
    edit_segment(dir.path(), 0, |bytes| {
        bytes[FILE_OFFSET_VERSION..FILE_OFFSET_VERSION + 2].copy_from_slice(&3u16.to_le_bytes());
        let at = FILE_OFFSET_HEADER_CHECKSUM;
        let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..at]);
        bytes[at..at + 8].copy_from_slice(&checksum.to_le_bytes());
    });
    for err in [
        JournalReader::open(dir.path()).expect_err("version 3"),
        JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect_err("version 3"),
        verify(dir.path()).expect_err("version 3"),
    ] {
        assert!(
            matches!(
                err,
                JournalError::Version {
                    found: 3,
                    supported: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("version 3 is not supported"),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
}

#[test]
fn truncated_segment_files_are_refused() {
    // Proves a segment file shorter than its header says (or than a header) is an error
    // naming the sizes, for reader and writer, and never a crash.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), SEGMENT_BYTES, &inputs(22, 3, 30));
    let path = common::segment_path(dir.path(), 0);
    for len in [300, 40, 0] {
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(len))
            .expect("truncate");
        for err in [
            JournalReader::open(dir.path()).expect_err("truncated"),
            JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect_err("truncated"),
        ] {
            let ok = match err {
                JournalError::Corrupt {
                    reason:
                        CorruptReason::FileSize {
                            header_bytes,
                            file_bytes,
                        },
                    ..
                } => header_bytes == SEGMENT_BYTES && file_bytes == len,
                JournalError::Corrupt {
                    reason: CorruptReason::FileTooShort { file_bytes },
                    ..
                } => file_bytes == len,
                _ => false,
            };
            assert!(ok, "length {len}: {err}");
        }
    }
}
