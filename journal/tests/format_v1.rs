//! The previous format, version 1, is refused: the fixture checked in under `tests/data/v1/`
//! (written by the commit before format version 2, kept byte for byte) is a genuine
//! version-1 journal, and every entry point of this build refuses it with
//! `Version { found: 1, supported: 2 }`, a message that names the file and says the format
//! changed, and without touching the files.

mod common;

use std::path::{Path, PathBuf};

use common::{copy_dir, snapshot};
use traider_journal::{
    JournalError, JournalReader, JournalTailer, JournalWriter, RetentionPolicy, WriterOptions,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1")
}

#[test]
fn the_fixture_is_a_genuine_version_1_journal() {
    // Proves the fixture really is format version 1 (magic, version 1, a valid CRC32C
    // header checksum and record checksum as version 1 computed them), so the refusal tests
    // below test what they claim.
    let seg = std::fs::read(fixture_dir().join("seg-000000.tj")).expect("fixture segment 0");
    assert_eq!(&seg[0..8], b"TRAIDJNL");
    assert_eq!(u16::from_le_bytes([seg[8], seg[9]]), 1, "version");
    assert_eq!(&seg[60..64], &crc32c::crc32c(&seg[..60]).to_le_bytes());
    let record = &seg[64..96];
    let crc = crc32c::crc32c_append(crc32c::crc32c(&record[..24]), &record[28..32]);
    let crc = crc32c::crc32c_append(crc, b"hello");
    assert_eq!(&record[24..28], &crc.to_le_bytes(), "v1 record crc");
    assert!(
        fixture_dir().join("seg-000001.tj").exists(),
        "includes a roll"
    );
}

fn assert_refused(err: &JournalError, who: &str) {
    let JournalError::Version {
        path,
        found: 1,
        supported: 2,
    } = err
    else {
        panic!("{who}: expected a version-1 refusal, got {err}");
    };
    assert!(path.ends_with("seg-000000.tj"), "{who}: {}", path.display());
    let text = err.to_string();
    for needle in [
        "seg-000000.tj",
        "version 1 is not supported",
        "format changed",
    ] {
        assert!(text.contains(needle), "{who}: {text}");
    }
    assert!(!err.is_retryable(), "{who}");
}

#[test]
fn every_entry_point_refuses_version_1_with_a_clear_message() {
    // Proves reader, writer, verify, stats, tailer and retention all refuse the version-1
    // fixture with the same clear error, and that none of them changes a byte of it.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture_dir(), dir.path());
    let before = snapshot(dir.path());
    let options = WriterOptions {
        segment_bytes: common::GOLDEN_SEGMENT_BYTES,
        ..WriterOptions::default()
    };
    let policy = RetentionPolicy {
        max_segments: Some(1),
        max_age: None,
    };
    let mut tailer = JournalTailer::open(dir.path()).expect("tailer opens lazily");
    let errors = [
        (
            "reader",
            JournalReader::open(dir.path()).expect_err("reader"),
        ),
        (
            "writer",
            JournalWriter::open(dir.path(), options).expect_err("writer"),
        ),
        (
            "verify",
            traider_journal::verify(dir.path()).expect_err("verify"),
        ),
        (
            "stats",
            traider_journal::stats(dir.path()).expect_err("stats"),
        ),
        (
            "tailer",
            tailer.poll().map(|r| r.is_some()).expect_err("tailer"),
        ),
        (
            "retention",
            traider_journal::apply_retention(dir.path(), policy).expect_err("retention"),
        ),
    ];
    for (who, err) in &errors {
        assert_refused(err, who);
    }
    assert!(
        snapshot(dir.path()) == before,
        "a refusal changed the files"
    );
    assert!(
        snapshot(&fixture_dir()) == before,
        "the fixture itself is unchanged"
    );
}
