//! The version-1 format is frozen: a fixed set of appends must give exactly the bytes
//! checked in under `tests/data/v1/`, those bytes match FORMAT.md field by field, and the
//! reader keeps reading them. Regenerate (only for a deliberate format change, with a new
//! version) with `TRAIDER_JOURNAL_BLESS=1 cargo test -p traider-journal --test format_v1`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Input, read_all, snapshot, write};
use traider_journal::JournalReader;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1")
}

/// Records covering an empty payload, padding, a payload of exactly 8 bytes, and a roll.
fn golden_inputs() -> Vec<Input> {
    let mut inputs = vec![
        Input {
            kind: 1,
            ts_ns: 1_000,
            payload: b"hello".to_vec(),
        },
        Input {
            kind: 2,
            ts_ns: 2_000,
            payload: Vec::new(),
        },
        Input {
            kind: 0xBEEF,
            ts_ns: u64::MAX,
            payload: b"8 bytes!".to_vec(),
        },
    ];
    for i in 0..12u64 {
        let payload = format!("{{\"type\":\"l2update\",\"n\":{i}}}").into_bytes();
        inputs.push(Input {
            kind: 3,
            ts_ns: 10_000 + i,
            payload,
        });
    }
    inputs
}

#[test]
fn fixed_appends_give_the_checked_in_bytes() {
    // Proves the writer's output for fixed appends is byte-identical to the version-1
    // files in tests/data/v1 (any format change, intended or not, fails here).
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), 512, &golden_inputs());
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
        assert!(got == want, "{name} differs from the version-1 golden file");
    }
}

#[test]
fn golden_bytes_match_the_documented_layout() {
    // Proves FORMAT.md's tables describe the real bytes: file header and first record.
    let seg = fs::read(golden_dir().join("seg-000000.tj")).expect("golden segment 0");
    assert_eq!(&seg[0..8], b"TRAIDJNL");
    assert_eq!(u16::from_le_bytes([seg[8], seg[9]]), 1, "version");
    assert_eq!(u16::from_le_bytes([seg[10], seg[11]]), 64, "header length");
    assert_eq!(&seg[12..16], &0u32.to_le_bytes(), "segment index");
    assert_eq!(&seg[16..24], &1u64.to_le_bytes(), "first seq");
    assert_eq!(&seg[24..32], &512u64.to_le_bytes(), "segment size");
    assert!(seg[32..60].iter().all(|&b| b == 0), "flags and reserved");
    assert_eq!(
        &seg[60..64],
        &crc32c::crc32c(&seg[..60]).to_le_bytes(),
        "header crc"
    );

    let record = &seg[64..96];
    assert_eq!(&record[0..4], &5u32.to_le_bytes(), "payload length");
    assert_eq!(&record[4..6], &1u16.to_le_bytes(), "kind");
    assert_eq!(&record[6..8], &[0, 0], "flags");
    assert_eq!(&record[8..16], &1u64.to_le_bytes(), "seq");
    assert_eq!(&record[16..24], &1_000u64.to_le_bytes(), "ts_ns");
    assert_eq!(&record[28..32], &[0; 4], "reserved");
    let crc = crc32c::crc32c_append(crc32c::crc32c(&record[..24]), &record[28..32]);
    let crc = crc32c::crc32c_append(crc, b"hello");
    assert_eq!(&record[24..28], &crc.to_le_bytes(), "record crc");
    assert_eq!(&seg[96..101], b"hello");
    assert_eq!(&seg[101..104], &[0, 0, 0], "padding to 8");
    // The second record (empty payload) starts right after the padding.
    assert_eq!(&seg[104..108], &0u32.to_le_bytes());
    assert_eq!(&seg[108..110], &2u16.to_le_bytes());
}

#[test]
fn reader_reads_the_version_1_files() {
    // Proves this build reads files written by format version 1, in place and read-only.
    let records = read_all(&golden_dir());
    let got: Vec<Input> = records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(got, golden_inputs());
    let reader = JournalReader::open(&golden_dir()).expect("reader");
    assert!(reader.segments().len() >= 2, "golden files include a roll");
}
