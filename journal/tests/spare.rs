//! Spare segments: the next segment, created ahead of need by a cold thread
//! (`Syncer::prepare_spare`), so that the writer's roll is memory stores only. A spare is
//! not part of the journal: readers, `verify`, `stats`, the tailer and retention ignore it,
//! and a writer's open removes one a crash left behind.

mod common;

use std::fs;

use common::{Input, inputs, options, read_all, segment_path, snapshot};
use traider_journal::{
    JournalReader, JournalTailer, JournalWriter, RetentionPolicy, apply_retention, stats, verify,
};

const SEGMENT_BYTES: u64 = 8192;

fn append_all(writer: &mut JournalWriter, inputs: &[Input], mut each: impl FnMut(&JournalWriter)) {
    for input in inputs {
        each(writer);
        writer
            .append(input.kind, input.ts_ns, &input.payload)
            .expect("append");
    }
}

#[test]
fn rolls_into_prepared_spares_write_the_same_journal() {
    // Proves that a writer whose every roll goes into a spare prepared by the syncer writes
    // byte-identical segments to one that creates each segment itself; that while a spare
    // exists, reader, verify, stats and a live tailer see exactly the journal's records;
    // and that a clean close leaves no spare behind.
    let records = inputs(7, 400, 300);
    let plain = tempfile::tempdir().expect("tempdir");
    let (mut writer, _) = JournalWriter::open(plain.path(), options(SEGMENT_BYTES)).expect("open");
    append_all(&mut writer, &records, |_| {});
    assert_eq!(writer.rolls_into_spare(), 0, "nobody prepared a spare");
    let rolls = writer.current_segment();
    assert!(rolls >= 5, "small segments roll: {rolls}");
    drop(writer);

    let spared = tempfile::tempdir().expect("tempdir");
    let (mut writer, _) = JournalWriter::open(spared.path(), options(SEGMENT_BYTES)).expect("open");
    let syncer = writer.syncer();
    let mut tailer = JournalTailer::open(spared.path()).expect("tailer");
    let mut tailed = Vec::new();
    let mut prepared = 0;
    append_all(&mut writer, &records, |writer| {
        prepared += u32::from(syncer.prepare_spare(4096).expect("prepare spare"));
        assert!(
            segment_path(spared.path(), writer.current_segment() + 1).exists(),
            "a spare waits for the next roll"
        );
        while let Some(record) = tailer.poll().expect("tailer") {
            tailed.push(record.seq);
        }
    });
    while let Some(record) = tailer.poll().expect("tailer") {
        tailed.push(record.seq);
    }
    assert_eq!(
        u64::from(rolls),
        writer.rolls_into_spare(),
        "every roll used a spare"
    );
    assert_eq!(
        prepared,
        rolls + 1,
        "one spare per roll, plus the one waiting now"
    );
    assert_eq!(tailed, (1..=records.len() as u64).collect::<Vec<_>>());

    // The spare is on disk but not in the journal.
    assert!(segment_path(spared.path(), rolls + 1).exists());
    let report = verify(spared.path()).expect("verify");
    assert_eq!(report, verify(plain.path()).expect("verify plain"));
    assert_eq!(
        stats(spared.path()).expect("stats"),
        stats(plain.path()).expect("stats")
    );
    let reader = JournalReader::open(spared.path()).expect("reader");
    assert_eq!(reader.segments().len() as u32, rolls + 1);
    assert_eq!(read_all(spared.path()), read_all(plain.path()));

    drop(writer);
    assert!(
        !segment_path(spared.path(), rolls + 1).exists(),
        "a clean close removes the spare"
    );
    assert!(
        snapshot(spared.path()) == snapshot(plain.path()),
        "byte-identical directories"
    );
}

#[test]
fn a_spare_left_by_a_crash_is_ignored_then_removed() {
    // Proves that a trailing zero-filled segment file (what a crash leaves when a spare was
    // ready), including one whose header the writer had begun to store but whose magic (the
    // last store) is still zero, is not part of the journal for readers, verify, the tailer
    // and retention, and that the next writer removes it and continues the same chain.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(11, 120, 200);
    common::write(dir.path(), SEGMENT_BYTES, &records);
    let before = verify(dir.path()).expect("verify");
    let last = before.segments - 1;
    let spare_path = segment_path(dir.path(), last + 1);
    let mut spare = vec![0u8; SEGMENT_BYTES as usize];
    spare[8..64].fill(0x5A); // header stores under way, magic not stored yet
    fs::write(&spare_path, &spare).expect("write spare");

    assert_eq!(verify(dir.path()).expect("verify with spare"), before);
    assert_eq!(read_all(dir.path()).len(), records.len());
    let mut tailer = JournalTailer::open(dir.path()).expect("tailer");
    let mut seen = 0;
    while tailer.poll().expect("tailer ignores the spare").is_some() {
        seen += 1;
    }
    assert_eq!(seen, records.len());
    let report = apply_retention(
        dir.path(),
        RetentionPolicy {
            max_segments: Some(1),
            max_age: None,
        },
    )
    .expect("retention");
    assert_eq!(report.segments_kept, 1);
    assert!(
        segment_path(dir.path(), last).exists(),
        "the newest real segment is kept"
    );

    let (mut writer, recovery) =
        JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("reopen");
    assert!(!spare_path.exists(), "open removes the spare");
    assert_eq!(recovery.chain_head, before.chain_head);
    append_all(&mut writer, &inputs(12, 100, 200), |_| {});
    let head = writer.chain_head();
    drop(writer);
    let after = verify(dir.path()).expect("verify after");
    assert_eq!(
        (after.records, after.chain_head),
        (before.records + 100 - report_removed(&before, &after), head)
    );
}

/// Records retention removed between two reports (first_seq moved on).
fn report_removed(
    before: &traider_journal::VerifyReport,
    after: &traider_journal::VerifyReport,
) -> u64 {
    after.first_seq.unwrap_or(1) - before.first_seq.unwrap_or(1)
}

#[test]
fn a_damaged_header_with_records_behind_it_is_not_a_spare() {
    // Proves the spare rule cannot hide data: a last segment whose magic was zeroed but
    // which holds records is reported as corrupt, not skipped.
    let dir = tempfile::tempdir().expect("tempdir");
    common::write(dir.path(), SEGMENT_BYTES, &inputs(13, 120, 200));
    let last = verify(dir.path()).expect("verify").segments - 1;
    common::edit_segment(dir.path(), last, |bytes| bytes[..8].fill(0));
    let err = verify(dir.path()).expect_err("a damaged last segment is an error");
    assert!(err.to_string().contains("bad magic"), "{err}");
}
