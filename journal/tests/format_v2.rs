//! The version-2 format is frozen: a fixed set of appends must give exactly the bytes
//! checked in under `tests/data/v2/`, those bytes match FORMAT.md field by field, and the
//! reader, `verify` and the tailer read them. The next format version keeps this fixture as
//! its "previous format" test. Regenerate (only for a deliberate format change, with a new
//! version) with `TRAIDER_JOURNAL_BLESS=1 cargo test -p traider-journal --test format_v2`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{GOLDEN_SEGMENT_BYTES, golden_inputs, read_all, snapshot, write};
use traider_journal::{CHAIN_SEED, JournalReader, JournalTailer};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v2")
}

#[test]
fn fixed_appends_give_the_checked_in_bytes() {
    // Proves the writer's output for fixed appends is byte-identical to the version-2
    // files in tests/data/v2 (any format change, intended or not, fails here).
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), GOLDEN_SEGMENT_BYTES, &golden_inputs());
    let written = snapshot(dir.path());
    if std::env::var_os("TRAIDER_JOURNAL_BLESS").is_some() {
        fs::create_dir_all(golden_dir()).expect("create golden dir");
        for (name, bytes) in &written {
            fs::write(golden_dir().join(name), bytes).expect("write golden file");
        }
    }
    let golden = snapshot(&golden_dir());
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&written), names(&golden));
    for ((name, got), (_, want)) in written.iter().zip(&golden) {
        assert!(got == want, "{name} differs from the version-2 golden file");
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[test]
fn golden_bytes_match_the_documented_layout() {
    // Proves FORMAT.md's tables describe the real bytes: file header, the first two
    // records' fields and chained checksums, and the chain across the roll.
    let seg = fs::read(golden_dir().join("seg-000000.tj")).expect("golden segment 0");
    assert_eq!(&seg[0..8], b"TRAIDJNL");
    assert_eq!(u16::from_le_bytes([seg[8], seg[9]]), 2, "version");
    assert_eq!(u16::from_le_bytes([seg[10], seg[11]]), 64, "header length");
    assert_eq!(&seg[12..16], &0u32.to_le_bytes(), "segment index");
    assert_eq!(u64_at(&seg, 16), 1, "first seq");
    assert_eq!(u64_at(&seg, 24), 512, "segment size");
    assert_eq!(u64_at(&seg, 32), CHAIN_SEED, "chain start");
    assert_eq!(&seg[32..40], b"TRJCHAIN");
    assert!(seg[40..56].iter().all(|&b| b == 0), "flags and reserved");
    assert_eq!(u64_at(&seg, 56), xxh3_64(&seg[..56]), "header checksum");

    let record = &seg[64..96];
    assert_eq!(&record[0..4], &5u32.to_le_bytes(), "payload length");
    assert_eq!(&record[4..6], &1u16.to_le_bytes(), "kind");
    assert_eq!(&record[6..8], &[0, 0], "flags");
    assert_eq!(u64_at(record, 8), 1, "seq");
    assert_eq!(u64_at(record, 16), 1_000, "ts_ns");
    let message = [&record[..24], b"hello"].concat();
    let first = xxh3_64_with_seed(&message, CHAIN_SEED);
    assert_eq!(
        u64_at(record, 24),
        first,
        "record checksum, chained from the seed"
    );
    assert_eq!(&seg[96..101], b"hello");
    assert_eq!(&seg[101..104], &[0, 0, 0], "padding to 8");
    // The second record (empty payload) starts right after the padding, chained from the first.
    let second = &seg[104..136];
    assert_eq!(&second[4..6], &2u16.to_le_bytes());
    assert_eq!(u64_at(second, 24), xxh3_64_with_seed(&second[..24], first));

    // The next segment starts its chain where this one's last record left it.
    let reader = JournalReader::open(&golden_dir()).expect("reader");
    let last_of_first = reader
        .records()
        .map(|r| r.expect("valid"))
        .filter(|r| r.segment == 0)
        .last()
        .expect("records in segment 0");
    let seg1 = fs::read(golden_dir().join("seg-000001.tj")).expect("golden segment 1");
    assert_eq!(
        u64_at(&seg1, 16),
        last_of_first.seq + 1,
        "first seq of segment 1"
    );
    assert_eq!(
        u64_at(&seg1, 32),
        last_of_first.checksum,
        "chain start of segment 1"
    );
}

#[test]
fn reader_verify_and_tailer_read_the_version_2_files() {
    // Proves this build reads files written by format version 2, in place and read-only,
    // through the reader, verify (clean, chain head = last checksum) and the tailer.
    let records = read_all(&golden_dir());
    let got: Vec<_> = records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(got, golden_inputs());
    let report = traider_journal::verify(&golden_dir()).expect("verify");
    assert!(report.is_clean());
    assert_eq!(report.records, golden_inputs().len() as u64);
    assert!(report.segments >= 2, "golden files include a roll");
    let mut tailer = JournalTailer::open(&golden_dir()).expect("tailer");
    let mut count = 0;
    while let Some(record) = tailer.poll().expect("tailer") {
        assert_eq!(record.payload, golden_inputs()[count].payload.as_slice());
        count += 1;
    }
    assert_eq!(count, golden_inputs().len());
    assert_eq!(tailer.chain(), Some(report.chain_head));
}
