//! `traiderd journal verify|stats` on a real journal: the one `traiderd replay` writes for
//! the recorded session, intact, damaged and tampered with.

use traider_testkit::daemon as common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use traider_journal::JournalReader;
use traider_journal::checksum::record_checksum;
use traider_journal::format::{OFFSET_CHECKSUM, RECORD_HEADER_SIZE, segment_file_name};

fn journal(args: &[&str], dir: &Path) -> Output {
    traiderd()
        .arg("journal")
        .args(args)
        .arg(dir)
        .output()
        .expect("traiderd journal runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A journal of the whole recorded session, in `dir/j`.
fn replayed(dir: &Path) -> std::path::PathBuf {
    let journal_dir = dir.join("j");
    summary(&replay(&config("replay.toml"), &capture(), &journal_dir));
    journal_dir
}

/// Where record `seq` is: (segment, offset of its header, checksum of the record before).
fn place_of(dir: &Path, seq: u64) -> (u32, u64, u64) {
    let reader = JournalReader::open(dir).expect("journal opens");
    let mut previous = traider_journal::CHAIN_SEED;
    for record in reader.records() {
        let record = record.expect("intact journal");
        if record.seq == seq {
            return (record.segment, record.offset, previous);
        }
        previous = record.checksum;
    }
    panic!("no record {seq}");
}

fn edit_segment(dir: &Path, segment: u32, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = dir.join(segment_file_name(segment));
    let mut bytes = std::fs::read(&path).expect("segment readable");
    edit(&mut bytes);
    std::fs::write(&path, bytes).expect("segment writable");
}

// Proves verify and stats describe the whole journal: verify exits 0 with the record count
// `dump` reads, both report the same chain head, and stats' counts by kind, sequence range
// and times are those of the records themselves.
#[test]
fn verify_and_stats_describe_a_replayed_journal() {
    let temp = tempfile::tempdir().unwrap();
    let dir = replayed(temp.path());
    let records = dump(&dir);
    let verified = journal(&["verify", "--json"], &dir);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    let report: Value = serde_json::from_slice(&verified.stdout).expect("verify --json");
    assert_eq!(report["records"].as_u64(), Some(records.len() as u64));
    assert_eq!(report["first_seq"], 1);
    assert_eq!(report["last_seq"].as_u64(), Some(records.len() as u64));
    assert!(report["torn_tail"].is_null());

    let text = stdout(&journal(&["verify"], &dir));
    assert!(
        text.contains(&format!("{} records", records.len())) && text.contains("clean"),
        "{text}"
    );

    let stats_out = journal(&["stats", "--json"], &dir);
    assert!(stats_out.status.success(), "{}", stdout(&stats_out));
    let stats: Value = serde_json::from_slice(&stats_out.stdout).expect("stats --json");
    assert_eq!(stats["chain_head"], report["chain_head"]);
    assert_eq!(stats["records"], report["records"]);
    assert_eq!(stats["first_ts_ns"], records[0]["ts_ns"]);
    assert_eq!(stats["last_ts_ns"], records[records.len() - 1]["ts_ns"]);
    let mut by_kind: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for record in &records {
        let entry = by_kind
            .entry(record["kind"].as_str().unwrap().to_owned())
            .or_default();
        entry.0 += 1;
        entry.1 += record["bytes"].as_u64().unwrap();
    }
    let kinds = stats["kinds"].as_object().expect("kinds");
    assert_eq!(kinds.len(), by_kind.len());
    for (kind, (count, bytes)) in &by_kind {
        assert_eq!(kinds[kind]["records"].as_u64(), Some(*count), "{kind}");
        assert_eq!(
            kinds[kind]["payload_bytes"].as_u64(),
            Some(*bytes),
            "{kind}"
        );
    }
    let human = stdout(&journal(&["stats"], &dir));
    assert!(
        human.contains("md_frame") && human.contains("chain"),
        "{human}"
    );
}

// Proves verify exits 1 and names the first bad record (segment, offset, seq) for a flipped
// byte, and that a careful forger who rewrites a record and gives it a valid checksum is
// caught at the next record, whose chained checksum no longer matches.
#[test]
fn verify_names_the_first_bad_record_and_the_chain_break() {
    let temp = tempfile::tempdir().unwrap();
    let dir = replayed(temp.path());
    let records = dump(&dir);
    let target = records[records.len() / 2]["seq"].as_u64().unwrap();
    let (segment, offset, chain_prev) = place_of(&dir, target);

    let flipped = temp.path().join("flipped");
    copy_journal(&dir, &flipped);
    edit_segment(&flipped, segment, |bytes| {
        bytes[offset as usize + RECORD_HEADER_SIZE] ^= 0x01;
    });
    let output = journal(&["verify"], &flipped);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("segment {segment}, offset {offset}"))
            && text.contains(&format!("record seq {target}"))
            && text.contains("checksum mismatch"),
        "{text}"
    );

    let forged = temp.path().join("forged");
    copy_journal(&dir, &forged);
    edit_segment(&forged, segment, |bytes| {
        let start = offset as usize;
        bytes[start + RECORD_HEADER_SIZE] ^= 0x01;
        let len = u32::from_le_bytes(bytes[start..start + 4].try_into().unwrap()) as usize;
        let head: [u8; 24] = bytes[start..start + 24].try_into().unwrap();
        let payload = start + RECORD_HEADER_SIZE;
        let checksum = record_checksum(&head, &bytes[payload..payload + len], chain_prev);
        bytes[start + OFFSET_CHECKSUM..start + OFFSET_CHECKSUM + 8]
            .copy_from_slice(&checksum.to_le_bytes());
    });
    let output = journal(&["verify", "--json"], &forged);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("record seq {}", target + 1)) && text.contains("chain"),
        "the chain breaks at the record after the forged one: {text}"
    );
}

// Proves a journal cut at an arbitrary byte reads as a torn tail (exit 2), and that opening
// it again for writing (a resumed replay) cuts the tail and ends at the uninterrupted
// run's state.
#[test]
fn a_cut_journal_is_a_torn_tail_that_resuming_repairs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = replayed(temp.path());
    let capture = capture();
    let reference = summary(&replay(
        &config("replay.toml"),
        &capture,
        &temp.path().join("reference"),
    ));
    let records = dump(&dir);
    let target = records[records.len() / 3]["seq"].as_u64().unwrap();
    let (segment, offset, _) = place_of(&dir, target);
    // Zero everything from the middle of record `target` on, as a crash mid-append leaves it.
    edit_segment(&dir, segment, |bytes| {
        let cut = offset as usize + RECORD_HEADER_SIZE / 2 + 3;
        bytes[cut..].fill(0);
    });
    let output = journal(&["verify", "--json"], &dir);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["last_seq"].as_u64(), Some(target - 1));
    assert_eq!(report["torn_tail"]["offset"].as_u64(), Some(offset));

    let resumed = summary(&replay(&config("replay.toml"), &capture, &dir));
    assert_eq!(resumed["state_digest"], reference["state_digest"]);
    assert_eq!(resumed["positions"], reference["positions"]);
    let output = journal(&["verify"], &dir);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

fn copy_journal(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy target");
    for entry in std::fs::read_dir(from).expect("journal dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "tj") {
            std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy segment");
        }
    }
}

// Proves `journal prune` deletes the oldest segments and leaves a journal that still
// verifies from its new first record, and that restart by replay refuses such a journal
// with a message naming the problem instead of rebuilding a partial state.
#[test]
fn pruned_journals_verify_but_are_not_resumed() {
    let capture = capture();
    let temp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config("replay.toml"))
        .unwrap()
        .replacen("segment_mb = 256", "segment_mb = 1", 1);
    let small = temp.path().join("small.toml");
    std::fs::write(&small, text).unwrap();
    let dir = temp.path().join("j");
    summary(&replay(&small, &capture, &dir));
    let segments = journal_files(&dir).len();
    assert!(segments > 3, "1 MiB segments roll: {segments}");

    let refused = journal(&["prune"], &dir);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--keep-segments"));

    let pruned = journal(&["prune", "--keep-segments", "2", "--json"], &dir);
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    let report: Value = serde_json::from_slice(&pruned.stdout).expect("prune --json");
    assert_eq!(
        report["removed"].as_array().map(Vec::len),
        Some(segments - 2)
    );
    assert_eq!(journal_files(&dir).len(), 2);

    let verified = journal(&["verify", "--json"], &dir);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    let verified: Value = serde_json::from_slice(&verified.stdout).expect("json");
    assert_eq!(verified["first_seq"], report["first_seq_kept"]);
    assert!(verified["first_seq"].as_u64().unwrap() > 1);

    let resumed = replay(&small, &capture, &dir);
    assert!(!resumed.status.success());
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(stderr.contains("older segments were removed"), "{stderr}");
}
