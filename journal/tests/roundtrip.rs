//! Writing and reading back: payloads, sequence numbers, segment rolls, reopening,
//! the three append flavours, and byte-identical output for identical appends.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{Input, inputs, options, read_all, snapshot, write};
use traider_journal::format::FILE_HEADER_SIZE;
use traider_journal::{JournalError, JournalReader, JournalWriter, Recovery, record_bytes};

const SEGMENT_BYTES: u64 = 64 << 10;

fn expect_records(dir: &std::path::Path, expected: &[Input]) {
    let records = read_all(dir);
    assert_eq!(records.len(), expected.len());
    for (i, ((seq, got), want)) in records.iter().zip(expected).enumerate() {
        assert_eq!(
            *seq,
            i as u64 + 1,
            "sequence numbers start at 1 and step by 1"
        );
        assert_eq!(got, want, "record {seq}");
    }
}

#[test]
fn roundtrip_random_sizes_including_a_16_mib_frame() {
    // Proves every record (random sizes, one of 16 MiB) reads back exactly, in order.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut records = inputs(1, 400, 3000);
    let big = Input {
        kind: 3,
        ts_ns: 5,
        payload: common::Rng::new(9).bytes(16 << 20),
    };
    records.insert(200, big);
    write(dir.path(), SEGMENT_BYTES, &records);
    expect_records(dir.path(), &records);

    // The 16 MiB record got a segment of its own, sized exactly for it.
    let reader = JournalReader::open(dir.path()).expect("reader");
    let big_record = reader
        .records()
        .nth(200)
        .expect("record 201")
        .expect("valid");
    assert_eq!(big_record.payload.len(), 16 << 20);
    assert_eq!(big_record.offset, FILE_HEADER_SIZE as u64);
    let segment = &reader.segments()[big_record.segment as usize];
    let big_bytes = (FILE_HEADER_SIZE + record_bytes(16 << 20)) as u64;
    assert_eq!(segment.segment_bytes, big_bytes);
    assert_eq!(reader.last_seq().expect("last seq"), Some(401));
}

#[test]
fn segment_roll_keeps_sequence_numbers_continuous() {
    // Proves that records spread over many small segments keep seq = previous + 1, and
    // each segment header's first sequence number is its first record's.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(2, 300, 120);
    let (mut writer, _) = JournalWriter::open(dir.path(), options(1024)).expect("open");
    for input in &records {
        writer
            .append(input.kind, input.ts_ns, &input.payload)
            .expect("append");
    }
    writer
        .flush()
        .expect("flush syncs rolled segments and the current one");
    let segment_last = writer.current_segment();
    assert!(
        segment_last >= 10,
        "expected many rolls, got {segment_last}"
    );
    drop(writer);
    expect_records(dir.path(), &records);

    let reader = JournalReader::open(dir.path()).expect("reader");
    assert_eq!(reader.segments().len() as u32, segment_last + 1);
    let mut seen_segment = None;
    for record in reader.records() {
        let record = record.expect("valid");
        if seen_segment != Some(record.segment) {
            let info = &reader.segments()[record.segment as usize];
            assert_eq!(
                info.first_seq, record.seq,
                "segment {} first seq",
                record.segment
            );
            assert_eq!(record.offset, FILE_HEADER_SIZE as u64);
            seen_segment = Some(record.segment);
        }
    }
}

#[test]
fn reopen_continues_after_the_last_record() {
    // Proves a reopened writer reports what it found (the chain head included) and
    // continues with the next seq and the chain.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(3, 120, 400);
    write(dir.path(), 4096, &records[..70]);
    let (mut writer, recovery) = JournalWriter::open(dir.path(), options(4096)).expect("reopen");
    let reader = JournalReader::open(dir.path()).expect("reader");
    let segments_found = reader.segments().len() as u32;
    let chain_head = reader
        .records()
        .last()
        .expect("records")
        .expect("valid")
        .checksum;
    drop(reader);
    let expected = Recovery {
        segments_found,
        records_found: 70,
        last_seq: Some(70),
        torn_tail: None,
        chain_head,
    };
    assert_eq!(recovery, expected);
    assert_eq!(writer.next_seq(), 71);
    assert_eq!(writer.chain_head(), chain_head);
    for input in &records[70..] {
        writer
            .append(input.kind, input.ts_ns, &input.payload)
            .expect("append");
    }
    drop(writer);
    expect_records(dir.path(), &records);
}

#[test]
fn append_parts_and_append_with_write_the_same_bytes_as_append() {
    // Proves the three append flavours produce identical files for identical records.
    let records = inputs(4, 150, 300);
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    for (flavour, dir) in dirs.iter().enumerate() {
        let (mut writer, _) = JournalWriter::open(dir.path(), options(2048)).expect("open");
        for r in &records {
            let (head, tail) = r.payload.split_at(r.payload.len() / 3);
            let seq = match flavour {
                0 => writer.append(r.kind, r.ts_ns, &r.payload),
                1 => writer.append_parts(r.kind, r.ts_ns, &[head, &[], tail]),
                _ => writer.append_with(r.kind, r.ts_ns, r.payload.len(), |dst| {
                    assert!(dst.iter().all(|&b| b == 0), "fill gets zeroed bytes");
                    dst.copy_from_slice(&r.payload);
                }),
            };
            seq.expect("append");
        }
    }
    let first = snapshot(dirs[0].path());
    assert!(first.len() > 3, "expected several segments");
    for dir in &dirs[1..] {
        assert!(
            snapshot(dir.path()) == first,
            "files differ between append flavours"
        );
    }
}

#[test]
fn identical_appends_into_fresh_dirs_give_byte_identical_files() {
    // Proves determinism: no clock, pid or random data reaches the files.
    let mut records = inputs(5, 200, 500);
    records.push(Input {
        kind: 1,
        ts_ns: 9,
        payload: vec![7; 10_000],
    }); // oversized segment
    records.extend(inputs(6, 20, 50));
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    write(a.path(), 4096, &records);
    std::thread::sleep(std::time::Duration::from_millis(5));
    write(b.path(), 4096, &records);
    let files = snapshot(a.path());
    assert!(files.len() > 5);
    assert!(
        files == snapshot(b.path()),
        "same appends gave different bytes"
    );
}

#[test]
fn reader_works_while_a_writer_holds_the_lock() {
    // Proves a reader needs no lock and sees records appended (not yet flushed) by a live
    // writer, in the segments that existed when it opened.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(7, 30, 100);
    let (mut writer, _) = JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("open");
    for input in &records[..20] {
        writer
            .append(input.kind, input.ts_ns, &input.payload)
            .expect("append");
    }
    let reader = JournalReader::open(dir.path()).expect("reader beside a writer");
    assert_eq!(reader.records().count(), 20);
    for input in &records[20..] {
        writer
            .append(input.kind, input.ts_ns, &input.payload)
            .expect("append");
    }
    let records_now: Vec<_> = reader.records().collect::<Result<_, _>>().expect("valid");
    assert_eq!(records_now.len(), 30, "the shared map shows new appends");
    assert_eq!(reader.torn_tail(), None);
    assert_eq!(reader.last_seq().expect("last seq"), Some(30));
}

#[test]
fn bad_appends_are_refused_and_write_nothing() {
    // Proves kind 0 and bad options are errors, and a panicking fill appends nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    for segment_bytes in [0, 100, 1001, 1 << 50] {
        let err = JournalWriter::open(dir.path(), options(segment_bytes)).expect_err("bad size");
        assert!(
            matches!(err, JournalError::InvalidOptions { .. }),
            "{segment_bytes}: {err}"
        );
    }
    let (mut writer, _) = JournalWriter::open(dir.path(), options(4096)).expect("open");
    writer.append(1, 1, b"first").expect("append");
    assert!(matches!(
        writer.append(0, 2, b"x"),
        Err(JournalError::ReservedKind)
    ));
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let _ = writer.append_with(2, 3, 300, |dst| {
            dst.fill(0xEE);
            panic!("fill failed");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(writer.next_seq(), 2);
    writer.append(3, 4, b"second").expect("append after panic");
    drop(writer);
    let got: Vec<_> = read_all(dir.path())
        .into_iter()
        .map(|(_, r)| r.payload)
        .collect();
    assert_eq!(got, [b"first".to_vec(), b"second".to_vec()]);
}

#[test]
fn empty_and_missing_journals() {
    // Proves a new journal has no records, and a missing directory is an I/O error.
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("nested/journal");
    let (writer, recovery) = JournalWriter::open(&journal, options(4096)).expect("create");
    assert_eq!(recovery, Recovery::default());
    assert_eq!((writer.next_seq(), writer.current_segment()), (1, 0));
    assert_eq!(writer.dir(), journal);
    let reader = JournalReader::open(&journal).expect("reader");
    assert_eq!(reader.segments().len(), 1);
    assert_eq!(reader.records().count(), 0);
    assert_eq!(reader.last_seq().expect("last seq"), None);
    let missing = JournalReader::open(&dir.path().join("absent")).expect_err("missing");
    assert!(matches!(missing, JournalError::Io { .. }), "{missing}");
}
