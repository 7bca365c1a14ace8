//! Retention: whole old segments are deleted oldest first, by count or by age, never the
//! newest; the journal left starts later and still reads, verifies (from the chain value
//! in its first header), recovers and tails; readers holding old segments keep them.

mod common;

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Input, inputs, layout, options, read_all, segment_path, write};
use traider_journal::{
    JournalReader, JournalWriter, RetentionPolicy, apply_retention, apply_retention_at, verify,
};

const SEGMENT_BYTES: u64 = 1024;

fn by_count(max: usize) -> RetentionPolicy {
    RetentionPolicy {
        max_segments: Some(max),
        max_age: None,
    }
}

fn template(records: &[Input]) -> (tempfile::TempDir, u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), SEGMENT_BYTES, records);
    let segments = layout(dir.path()).last().expect("records").segment + 1;
    (dir, segments)
}

#[test]
fn by_count_keeps_the_newest_and_the_rest_still_verifies_and_recovers() {
    // Proves max_segments deletes exactly the oldest segments, reports them, and leaves a
    // journal that starts later: verify starts from the chain value of the last deleted
    // record (kept in the first header), the reader yields the kept records, and a writer
    // reopens and continues it.
    let records = inputs(50, 80, 120);
    let (dir, segments) = template(&records);
    assert!(segments >= 6, "{segments}");
    let reader = JournalReader::open(dir.path()).expect("reader");
    let all: Vec<_> = reader
        .records()
        .map(|r| r.expect("valid"))
        .map(|r| (r.seq, r.segment, r.checksum))
        .collect();
    drop(reader);
    let report = apply_retention(dir.path(), by_count(3)).expect("retention");
    let removed: Vec<u32> = report.removed.iter().map(|r| r.index).collect();
    assert_eq!(removed, (0..segments - 3).collect::<Vec<_>>());
    assert_eq!(report.segments_kept, 3);
    assert!(!segment_path(dir.path(), segments - 4).exists());
    let first_kept = all
        .iter()
        .find(|r| r.1 == segments - 3)
        .expect("kept record");
    assert_eq!(report.first_seq_kept, Some(first_kept.0));
    assert_eq!(report.removed[0].first_seq, 1);

    let verified = verify(dir.path()).expect("verify after retention");
    assert_eq!(verified.first_seq, Some(first_kept.0));
    assert_eq!(verified.chain_start, all[first_kept.0 as usize - 2].2);
    assert_eq!(verified.chain_head, all.last().expect("records").2);
    let kept = read_all(dir.path());
    assert_eq!(kept.first().map(|r| r.0), Some(first_kept.0));
    assert_eq!(kept.len(), all.len() - (first_kept.0 as usize - 1));

    let (mut writer, recovery) =
        JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("reopen");
    assert_eq!(recovery.last_seq, Some(80));
    assert_eq!(writer.append(1, 1, b"after retention").expect("append"), 81);
    drop(writer);
    assert!(verify(dir.path()).expect("verify").is_clean());
}

#[test]
fn the_newest_segment_is_never_deleted() {
    // Proves even max_segments 0, or an age limit every file exceeds, keeps the newest
    // segment (the one a live writer appends to), and a one-segment journal loses nothing.
    let (dir, segments) = template(&inputs(51, 40, 120));
    let far_future = SystemTime::now() + Duration::from_secs(10 * 365 * 86_400);
    let policy = RetentionPolicy {
        max_segments: Some(0),
        max_age: Some(Duration::from_secs(1)),
    };
    let report = apply_retention_at(dir.path(), policy, far_future).expect("retention");
    assert_eq!(report.removed.len() as u32, segments - 1);
    assert_eq!(report.segments_kept, 1);
    assert!(segment_path(dir.path(), segments - 1).exists());
    let again = apply_retention_at(dir.path(), policy, far_future).expect("again");
    assert!(again.removed.is_empty());
    verify(dir.path()).expect("verify");
}

fn set_age(path: &Path, now: SystemTime, age: Duration) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_modified(now - age).expect("set mtime");
}

#[test]
fn by_age_deletes_a_run_of_old_segments_oldest_first() {
    // Proves max_age deletes segments last modified longer ago than the limit, from the
    // oldest on, and stops at the first one young enough (so the journal stays contiguous
    // even if an older-looking segment follows).
    let (dir, segments) = template(&inputs(52, 60, 120));
    assert!(segments >= 6);
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    for index in 0..segments {
        let age = match index {
            0..=2 => 3 * hour,
            3 => hour,
            4 => 5 * hour, // old, but after a young one: kept
            _ => Duration::ZERO,
        };
        set_age(&segment_path(dir.path(), index), now, age);
    }
    let policy = RetentionPolicy {
        max_segments: None,
        max_age: Some(2 * hour),
    };
    let report = apply_retention_at(dir.path(), policy, now).expect("retention");
    let removed: Vec<u32> = report.removed.iter().map(|r| r.index).collect();
    assert_eq!(removed, [0, 1, 2]);
    assert!(segment_path(dir.path(), 4).exists());
    assert!(verify(dir.path()).expect("verify").first_seq > Some(1));
}

#[test]
fn retention_runs_beside_a_live_writer_and_under_a_reader() {
    // Proves retention while the writer appends keeps the writer's segment and lets it go on
    // rolling, and a reader opened before keeps reading the deleted segments it mapped.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(53, 120, 120);
    let (mut writer, _) = JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("open");
    for r in &records[..60] {
        writer.append(r.kind, r.ts_ns, &r.payload).expect("append");
    }
    let reader = JournalReader::open(dir.path()).expect("reader before retention");
    let report = apply_retention(dir.path(), by_count(1)).expect("retention");
    assert!(report.removed.len() >= 4);
    assert!(segment_path(dir.path(), writer.current_segment()).exists());
    let read_after_unlink = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("mapped records stay readable")
        .len();
    assert_eq!(read_after_unlink, 60);
    for r in &records[60..] {
        writer
            .append(r.kind, r.ts_ns, &r.payload)
            .expect("append after retention");
    }
    writer.flush().expect("flush skips deleted segments");
    let report = verify(dir.path()).expect("verify");
    assert_eq!(report.last_seq, Some(120));
    drop(writer);
    JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("reopen");
}
