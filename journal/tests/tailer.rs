//! The live tailer: follows a writer appending on another thread, across segment rolls,
//! reading every record exactly once and in order; treats a torn tail as "not yet"; and
//! survives retention removing the segment it is reading.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Rng, edit_segment, inputs, layout, options, write};
use traider_journal::{
    CorruptReason, JournalError, JournalTailer, JournalWriter, RetentionPolicy, apply_retention,
};

fn payload_of(seq: u64) -> Vec<u8> {
    let mut rng = Rng::new(seq);
    let len = rng.below(700) as usize;
    rng.bytes(len)
}

/// Polls until `count` records came (or `deadline`), checking each against `payload_of`.
fn tail(tailer: &mut JournalTailer, from_seq: u64, count: u64, deadline: Instant) -> u64 {
    let mut seq_expected = from_seq;
    while seq_expected < from_seq + count {
        assert!(Instant::now() < deadline, "tailer stuck at {seq_expected}");
        match tailer.poll().expect("tailer") {
            Some(record) => {
                assert_eq!(record.seq, seq_expected, "in order, exactly once");
                assert!(
                    record.payload == payload_of(record.seq),
                    "payload {}",
                    record.seq
                );
                assert_eq!(record.ts_ns, record.seq * 10);
                seq_expected += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    seq_expected
}

#[test]
fn tailer_follows_a_live_writer_across_rolls_exactly_once() {
    // Proves a tailer started on an empty directory, polling on its own thread while a
    // writer thread appends 20 000 records across a dozen segment rolls or more, receives every
    // record exactly once, in order, with its payload, and then reports "caught up".
    const RECORDS: u64 = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tailer = JournalTailer::open(dir.path()).expect("tailer on an empty dir");
    assert!(tailer.poll().expect("poll").is_none(), "nothing yet");
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let (mut writer, _) =
                JournalWriter::open(dir.path(), options(512 << 10)).expect("open");
            for seq in 1..=RECORDS {
                let payload = payload_of(seq);
                assert_eq!(writer.append(3, seq * 10, &payload).expect("append"), seq);
                if seq % 1000 == 0 {
                    std::thread::yield_now();
                }
            }
            done.store(true, Ordering::Release);
            writer.current_segment()
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let next = tail(&mut tailer, 1, RECORDS, deadline);
        assert_eq!(next, RECORDS + 1);
        let segments = writer.join().expect("writer thread");
        assert!(segments >= 12, "expected many rolls, got {segments}");
    });
    assert!(done.load(Ordering::Acquire));
    assert!(tailer.poll().expect("poll").is_none(), "caught up");
    assert_eq!(tailer.next_seq(), Some(RECORDS + 1));
    let report = traider_journal::verify(dir.path()).expect("verify");
    assert_eq!(tailer.chain(), Some(report.chain_head));
}

/// Writes `count` records of `payload_of` (ts = seq * 10) into `dir`, continuing it.
fn append_records(dir: &Path, segment_bytes: u64, from: u64, count: u64) {
    let (mut writer, _) = JournalWriter::open(dir, options(segment_bytes)).expect("open");
    for seq in from..from + count {
        writer
            .append(3, seq * 10, &payload_of(seq))
            .expect("append");
    }
}

#[test]
fn a_torn_tail_is_not_yet_and_the_recovered_writer_continues_it() {
    // Proves a writer that died mid-record (payload bytes written, commit word not) leaves
    // the tailer caught up at the last whole record, not in error; once a new writer has
    // recovered (cutting the torn bytes) and appended, the tailer reads on from there.
    let dir = tempfile::tempdir().expect("tempdir");
    append_records(dir.path(), 1 << 20, 1, 5);
    let end = layout(dir.path())
        .last()
        .map(|p| p.offset + p.bytes)
        .expect("records");
    edit_segment(dir.path(), 0, |bytes| {
        bytes[end as usize + 32..end as usize + 200].fill(0x5A)
    });
    let mut tailer = JournalTailer::open(dir.path()).expect("tailer");
    let deadline = Instant::now() + Duration::from_secs(10);
    tail(&mut tailer, 1, 5, deadline);
    for _ in 0..3 {
        assert!(tailer.poll().expect("torn tail is not an error").is_none());
    }
    append_records(dir.path(), 1 << 20, 6, 3);
    tail(&mut tailer, 6, 3, deadline);
    assert!(tailer.poll().expect("poll").is_none());
}

#[test]
fn a_bad_committed_record_waits_in_the_last_segment_and_fails_before_a_later_one() {
    // Proves a committed record that fails its checksum is "not yet" while it is in the
    // last segment (a power-loss tear a later recovery cuts), but corruption naming the
    // record once the writer has moved on to a later segment.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), 1024, &inputs(40, 30, 100));
    let places = layout(dir.path());
    let last_segment = places.last().expect("records").segment;
    assert!(last_segment >= 2);
    let bad = *places.iter().find(|p| p.segment == 1).expect("segment 1");
    let bad_seq = places.iter().position(|p| *p == bad).expect("index") as u64 + 1;
    edit_segment(dir.path(), 1, |bytes| bytes[bad.offset as usize + 40] ^= 1);
    let mut tailer = JournalTailer::open(dir.path()).expect("tailer");
    let mut read = 0;
    let err = loop {
        match tailer.poll() {
            Ok(Some(_)) => read += 1,
            Ok(None) => panic!("expected corruption after {read} records"),
            Err(err) => break err,
        }
    };
    assert_eq!(read, bad_seq - 1);
    assert!(
        matches!(err, JournalError::Corrupt { segment: 1, offset, seq: Some(s), .. } if offset == bad.offset && s == bad_seq),
        "{err}"
    );
    // The same damage in the last segment: the tailer waits there instead.
    let last = *places.last().expect("records");
    let dir2 = tempfile::tempdir().expect("tempdir");
    write(dir2.path(), 1024, &inputs(40, 30, 100));
    edit_segment(dir2.path(), last.segment, |bytes| {
        bytes[last.offset as usize + 40] ^= 1
    });
    let mut tailer = JournalTailer::open(dir2.path()).expect("tailer");
    let mut read = 0;
    while tailer
        .poll()
        .expect("no error in the last segment")
        .is_some()
    {
        read += 1;
    }
    assert_eq!(read, places.len() - 1);
}

#[test]
fn retention_under_a_tailer() {
    // Proves a tailer keeps reading a segment that retention deletes under it (its map
    // keeps the file alive) and goes on into the next; one that starts after retention
    // begins at the oldest segment left; and one that falls behind retention (the segment
    // it needs next is gone) gets an error, not a silent gap.
    let dir = tempfile::tempdir().expect("tempdir");
    append_records(dir.path(), 4096, 1, 60);
    let segments = layout(dir.path()).last().expect("records").segment as usize + 1;
    assert!(segments >= 4, "{segments}");
    let mut reading = JournalTailer::open(dir.path()).expect("tailer");
    assert_eq!(reading.poll().expect("poll").map(|r| r.seq), Some(1));
    let mut lagging = JournalTailer::open(dir.path()).expect("lagging tailer");
    assert_eq!(lagging.poll().expect("poll").map(|r| r.seq), Some(1));
    let keep = |max| RetentionPolicy {
        max_segments: Some(max),
        max_age: None,
    };
    let report = apply_retention(dir.path(), keep(segments - 1)).expect("retention");
    assert_eq!(report.removed.len(), 1, "{report:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    tail(&mut reading, 2, 59, deadline);

    let report = apply_retention(dir.path(), keep(segments - 2)).expect("retention");
    assert_eq!(report.removed.len(), 1, "{report:?}");
    let first_kept = report.first_seq_kept.expect("segments kept");
    let mut late = JournalTailer::open(dir.path()).expect("late tailer");
    assert_eq!(late.poll().expect("poll").map(|r| r.seq), Some(first_kept));
    let err = loop {
        match lagging.poll() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("expected an error for the removed segment"),
            Err(err) => break err,
        }
    };
    assert!(
        matches!(
            err,
            JournalError::Corrupt {
                reason: CorruptReason::SegmentMissing { expected: 1, .. },
                ..
            }
        ),
        "{err}"
    );
}
