//! A real crash: a child process appends as fast as it can and is killed with SIGKILL at
//! an arbitrary point; the journal it leaves must recover to an exact prefix of its appends.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Rng, options};
use traider_journal::{JournalReader, JournalWriter};

const CHILD_ENV: &str = "TRAIDER_JOURNAL_CRASH_CHILD_DIR";
const SEGMENT_BYTES: u64 = 1 << 20;
/// The child stops on its own after this many records, in case the parent never kills it.
const CHILD_RECORDS_MAX: u64 = 50_000;
/// The parent kills the child once a reader sees this many records.
const KILL_AFTER_RECORDS: usize = 1_500;

/// The payload of record `seq`: deterministic, 0..6000 bytes, so the parent can check it.
fn payload_of(seq: u64) -> Vec<u8> {
    let mut rng = Rng::new(seq);
    let len = rng.below(6000) as usize;
    rng.bytes(len)
}

fn kind_of(seq: u64) -> u16 {
    1 + (seq % 7) as u16
}

fn run_child(dir: &Path) {
    let (mut writer, recovery) = JournalWriter::open(dir, options(SEGMENT_BYTES)).expect("open");
    assert_eq!(recovery.records_found, 0);
    loop {
        let seq = writer.next_seq();
        if seq > CHILD_RECORDS_MAX {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        // The payload is generated straight into the map (same bytes as `payload_of`), so
        // most of the child's time, and so most kills, fall in the middle of an append.
        let mut rng = Rng::new(seq);
        let len = rng.below(6000) as usize;
        let fill = |dst: &mut [u8]| dst.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
        writer
            .append_with(kind_of(seq), seq * 1_000, len, fill)
            .expect("append");
    }
}

fn records_visible(dir: &Path) -> usize {
    JournalReader::open(dir).map_or(0, |r| r.records().take_while(Result::is_ok).count())
}

#[test]
fn sigkill_mid_append_recovers_an_exact_prefix() {
    // Proves that after SIGKILL at an arbitrary instant, recovery succeeds, every kept
    // record is exactly what was appended with continuous sequence numbers, no appended
    // record that a reader saw is lost, and appending continues.
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "sigkill_mid_append_recovers_an_exact_prefix",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    while seen < KILL_AFTER_RECORDS {
        assert!(Instant::now() < deadline, "child wrote only {seen} records");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "child exited early"
        );
        std::thread::sleep(Duration::from_millis(5));
        seen = records_visible(dir.path());
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");

    let (mut writer, recovery) =
        JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("recover");
    eprintln!("recovery after SIGKILL: {recovery:?}");
    let kept = recovery.last_seq.expect("records");
    assert!(
        kept as usize >= seen,
        "lost records a reader had seen: {kept} < {seen}"
    );
    assert!(kept < CHILD_RECORDS_MAX, "child was not killed mid-run");
    assert_eq!(
        writer.append(1, 0, b"after the crash").expect("append"),
        kept + 1
    );
    drop(writer);

    let reader = JournalReader::open(dir.path()).expect("reader");
    let mut expected_seq = 1;
    for record in reader.records() {
        let record = record.expect("valid record");
        assert_eq!(record.seq, expected_seq);
        if record.seq <= kept {
            assert_eq!(record.kind, kind_of(record.seq));
            assert_eq!(record.ts_ns, record.seq * 1_000);
            assert!(
                record.payload == payload_of(record.seq),
                "payload of {}",
                record.seq
            );
        } else {
            assert_eq!(record.payload, b"after the crash");
        }
        expected_seq += 1;
    }
    assert_eq!(expected_seq, kept + 2);
    assert_eq!(reader.torn_tail(), None);
}
