//! The cold-side syncer and prefaulter: durable sequence numbers for the `durable` policy
//! (group commit), the `interval_ms` loop, syncing and prefaulting concurrently with a
//! writer that rolls segments (no use after unmap), and page faults taken off the writer.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::options;
use traider_journal::{FlushPolicy, JournalError, JournalWriter, WriterOptions};

#[test]
fn sync_to_makes_records_durable_and_refuses_unwritten_ones() {
    // Proves durable_seq starts at 0 (even for records found on open), sync_to(seq) covers
    // every committed record in one sync, a later sync_to below it returns at once, and a
    // seq not appended yet is a retryable NotYetAppended.
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, _) = JournalWriter::open(dir.path(), options(1024)).expect("open");
    let syncer = writer.syncer();
    assert_eq!((syncer.committed_seq(), syncer.durable_seq()), (0, 0));
    for i in 0..40u64 {
        writer.append(1, i, &[7u8; 100]).expect("append");
    }
    assert!(writer.current_segment() >= 3, "appends rolled segments");
    assert_eq!(syncer.committed_seq(), 40);
    syncer.sync_to(5).expect("sync_to");
    assert_eq!(
        syncer.durable_seq(),
        40,
        "one sync covers all committed records"
    );
    syncer.sync_to(12).expect("already durable");
    let err = syncer.sync_to(41).expect_err("not appended");
    assert!(
        matches!(
            err,
            JournalError::NotYetAppended {
                seq: 41,
                committed_seq: 40
            }
        ),
        "{err}"
    );
    assert!(err.is_retryable());
    drop(writer);
    let options = WriterOptions {
        flush: FlushPolicy::Durable,
        ..options(1024)
    };
    let (writer, recovery) = JournalWriter::open(dir.path(), options).expect("reopen");
    assert_eq!(writer.flush_policy(), FlushPolicy::Durable);
    let syncer = writer.syncer();
    assert_eq!((syncer.committed_seq(), syncer.durable_seq()), (40, 0));
    assert_eq!(syncer.sync_all().expect("sync"), 40);
    assert_eq!(recovery.last_seq, Some(40));
    assert_eq!(
        syncer
            .sync_to(40)
            .map(|()| syncer.durable_seq())
            .expect("ok"),
        40
    );
}

#[test]
fn syncing_and_prefaulting_race_a_rolling_writer_safely() {
    // Proves two syncer threads (sync_to the committed seq, sync_all) and a prefaulter
    // thread can run flat out while the writer appends 30 000 records across many rolls:
    // no error, no crash (each cold thread holds its own reference to a mapping, so the
    // writer's rolls never unmap one in use), and durable_seq ends at the last record.
    const RECORDS: u64 = 30_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, _) = JournalWriter::open(dir.path(), options(256 << 10)).expect("open");
    let syncer = writer.syncer();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let group = scope.spawn(|| {
            let mut syncs = 0u64;
            loop {
                // Checked before the sync, so the last pass runs after the writer is done.
                let stopping = stop.load(Ordering::Acquire);
                let seq = syncer.committed_seq();
                if seq > 0 {
                    syncer.sync_to(seq).expect("sync_to");
                    assert!(syncer.durable_seq() >= seq);
                    syncs += 1;
                }
                if stopping {
                    break syncs;
                }
            }
        });
        let all = scope.spawn(|| {
            while !stop.load(Ordering::Acquire) {
                syncer.sync_all().expect("sync_all");
            }
        });
        let prefaulter = scope.spawn(|| {
            while !stop.load(Ordering::Acquire) {
                syncer.prefault_ahead(64 << 10).expect("prefault");
            }
        });
        for seq in 1..=RECORDS {
            writer
                .append(2, seq, &seq.to_le_bytes().repeat(16))
                .expect("append");
            if seq % 500 == 0 {
                std::thread::yield_now(); // let the cold threads interleave, even on one core
            }
        }
        stop.store(true, Ordering::Release);
        assert!(group.join().expect("group") > 0);
        all.join().expect("sync_all thread");
        prefaulter.join().expect("prefaulter");
    });
    assert!(writer.current_segment() >= 10);
    assert_eq!(syncer.sync_all().expect("final sync"), RECORDS);
    drop(writer);
    assert_eq!(
        syncer.sync_all().expect("after the writer is gone"),
        RECORDS
    );
    let report = traider_journal::verify(dir.path()).expect("verify");
    assert_eq!(report.last_seq, Some(RECORDS));
}

#[test]
fn run_interval_syncs_until_stopped() {
    // Proves the interval loop syncs behind the writer while it appends and, once stopped,
    // makes everything appended durable before returning.
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, _) = JournalWriter::open(dir.path(), options(64 << 10)).expect("open");
    let syncer = writer.syncer();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let cold = scope.spawn(|| syncer.run_interval(Duration::from_millis(2), &stop));
        for seq in 1..=2_000u64 {
            writer.append(1, seq, b"decision").expect("append");
            if seq % 200 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        // The loop syncs while the writer is still open, without being asked.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while syncer.durable_seq() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the interval loop never synced"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::Release);
        cold.join()
            .expect("interval thread")
            .expect("interval loop");
    });
    assert_eq!(syncer.durable_seq(), 2_000);
}

/// Minor page faults taken by the calling thread so far (`/proc/thread-self/stat`).
fn thread_minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// Faults per append of `count` 64-byte records into a fresh 32 MiB segment, after
/// `prefault_window` bytes were prefaulted (0: none).
fn faults_per_append(prefault_window: usize, count: u64) -> Option<(f64, bool)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, _) = JournalWriter::open(dir.path(), options(32 << 20)).expect("open");
    let mut supported = true;
    if prefault_window > 0 {
        let prefault = writer
            .syncer()
            .prefault_ahead(prefault_window)
            .expect("prefault");
        supported = prefault.supported;
        assert_eq!((prefault.segment, prefault.start), (0, 0));
    }
    let before = thread_minor_faults()?;
    for seq in 1..=count {
        writer.append(1, seq, &[0xA5; 64]).expect("append");
    }
    let faults = thread_minor_faults()? - before;
    Some((faults as f64 / count as f64, supported))
}

#[test]
fn prefault_ahead_takes_page_faults_off_the_writer() {
    // Proves (and prints) the point of prefaulting: appending 16 MiB of 64-byte records to
    // a fresh segment costs the writer thread a minor fault every page or two (the kernel
    // may map a few pages per fault); after prefault_ahead over that range, almost none.
    const COUNT: u64 = (16 << 20) / 96;
    let Some((cold, _)) = faults_per_append(0, COUNT) else {
        eprintln!("SKIP: /proc/thread-self/stat is not readable here");
        return;
    };
    let (warm, supported) = faults_per_append(20 << 20, COUNT).expect("faults");
    eprintln!("faults per 64-byte append: fresh segment {cold:.4}, prefaulted {warm:.4}");
    assert!(
        cold > 0.005,
        "a fresh segment faults every few pages: {cold}"
    );
    if !supported {
        eprintln!("SKIP: MADV_POPULATE_WRITE is not supported by this kernel");
        return;
    }
    assert!(warm < cold / 10.0, "prefaulted {warm} vs fresh {cold}");
}
