//! `verify` and `stats` for tools and auditors: what they report on a good journal, how the
//! hash chain exposes a record rewritten with a valid checksum, and cutting a journal at any
//! byte recovers exactly the whole records before the cut.

mod common;

use std::fs;
use std::path::Path;

use common::{Place, copy_dir, edit_segment, inputs, layout, options, segment_path, write};
use traider_journal::checksum::record_checksum;
use traider_journal::format::{
    FILE_HEADER_SIZE, FILE_OFFSET_CHAIN_START, FILE_OFFSET_HEADER_CHECKSUM, OFFSET_CHECKSUM,
    RECORD_HEADER_SIZE,
};
use traider_journal::{
    CHAIN_SEED, CorruptReason, JournalError, JournalReader, JournalWriter, KindStats, RecordFault,
    record_bytes, stats, verify,
};

const SEGMENT_BYTES: u64 = 1024;

#[test]
fn verify_and_stats_report_the_whole_journal() {
    // Proves verify's counts, seq and ts bounds and chain head (equal to the writer's), and
    // stats' per-kind counts and bytes, match what was appended.
    let dir = tempfile::tempdir().expect("tempdir");
    let records = inputs(30, 200, 150);
    let (mut writer, _) = JournalWriter::open(dir.path(), options(SEGMENT_BYTES)).expect("open");
    for r in &records {
        writer.append(r.kind, r.ts_ns, &r.payload).expect("append");
    }
    let chain_head = writer.chain_head();
    drop(writer);
    let report = verify(dir.path()).expect("verify");
    assert!(report.is_clean());
    assert_eq!(report.records, 200);
    assert_eq!((report.first_seq, report.last_seq), (Some(1), Some(200)));
    let ts = |i: usize| Some(records[i].ts_ns);
    assert_eq!((report.first_ts_ns, report.last_ts_ns), (ts(0), ts(199)));
    assert_eq!(
        (report.chain_start, report.chain_head),
        (CHAIN_SEED, chain_head)
    );
    assert!(report.segments >= 10);

    let stats = stats(dir.path()).expect("stats");
    let mut by_kind: Vec<KindStats> = Vec::new();
    for r in &records {
        let at = match by_kind.iter().position(|k| k.kind == r.kind) {
            Some(at) => at,
            None => {
                by_kind.push(KindStats {
                    kind: r.kind,
                    ..KindStats::default()
                });
                by_kind.len() - 1
            }
        };
        by_kind[at].records += 1;
        by_kind[at].payload_bytes += r.payload.len() as u64;
        by_kind[at].record_bytes += record_bytes(r.payload.len()) as u64;
    }
    by_kind.sort_by_key(|k| k.kind);
    assert_eq!(stats.by_kind, by_kind);
    assert_eq!(stats.records, 200);
    let payload_bytes: u64 = records.iter().map(|r| r.payload.len() as u64).sum();
    assert_eq!(stats.payload_bytes, payload_bytes);
    assert_eq!(
        stats.record_bytes,
        by_kind.iter().map(|k| k.record_bytes).sum::<u64>()
    );
    assert_eq!(stats.file_bytes, u64::from(report.segments) * SEGMENT_BYTES);
    assert_eq!(
        (stats.first_seq, stats.last_seq, stats.chain_head),
        (Some(1), Some(200), chain_head)
    );
}

/// Rewrites the payload byte at `at` of record `place` and gives the record a fresh,
/// valid checksum (chained from the record before it): a careful forger.
fn rewrite_record(dir: &Path, place: Place, chain_prev: u64) {
    edit_segment(dir, place.segment, |bytes| {
        let start = place.offset as usize;
        bytes[start + RECORD_HEADER_SIZE] ^= 0x20;
        rechain_record(bytes, start, chain_prev);
    });
}

/// Recomputes the checksum of the record at `start`; returns it.
fn rechain_record(bytes: &mut [u8], start: usize, chain_prev: u64) -> u64 {
    let len = u32::from_le_bytes(bytes[start..start + 4].try_into().expect("4")) as usize;
    let head: [u8; 24] = bytes[start..start + 24].try_into().expect("24");
    let payload_at = start + RECORD_HEADER_SIZE;
    let checksum = record_checksum(&head, &bytes[payload_at..payload_at + len], chain_prev);
    bytes[start + OFFSET_CHECKSUM..start + OFFSET_CHECKSUM + 8]
        .copy_from_slice(&checksum.to_le_bytes());
    checksum
}

fn checksums(dir: &Path) -> Vec<u64> {
    let reader = JournalReader::open(dir).expect("reader");
    reader
        .records()
        .map(|r| r.expect("valid").checksum)
        .collect()
}

#[test]
fn a_rewritten_record_with_a_valid_checksum_breaks_the_chain_after_it() {
    // Proves tamper evidence: a record whose payload is changed and whose checksum is
    // recomputed verifies on its own, but the chain breaks at the next record (reported
    // there, with its seq), or, for a segment's last record, at the next segment's header.
    let template = tempfile::tempdir().expect("tempdir");
    write(template.path(), SEGMENT_BYTES, &inputs(31, 60, 120));
    let places = layout(template.path());
    let sums = checksums(template.path());
    let last_of_0 = places
        .iter()
        .rposition(|p| p.segment == 0)
        .expect("segment 0");
    for k in [2, last_of_0] {
        let case = tempfile::tempdir().expect("tempdir");
        copy_dir(template.path(), case.path());
        rewrite_record(case.path(), places[k], sums[k - 1]);
        let err = verify(case.path()).expect_err("tampered");
        let JournalError::Corrupt {
            segment,
            offset,
            seq,
            reason,
        } = err
        else {
            panic!("expected corruption, got {err}");
        };
        let next = places[k + 1];
        assert_eq!(
            seq,
            Some(k as u64 + 2),
            "reported at the record after the rewritten one"
        );
        if k == last_of_0 {
            assert_eq!((segment, offset), (1, 0));
            assert!(
                matches!(reason, CorruptReason::ChainBreak { expected, found } if found == sums[k] && expected != found),
                "{reason}"
            );
        } else {
            assert_eq!((segment, offset), (next.segment, next.offset));
            let is_checksum = |f: RecordFault| matches!(f, RecordFault::Checksum { .. });
            assert!(
                matches!(reason, CorruptReason::BadRecord(f) | CorruptReason::BadRecordBeforeValid { fault: f, .. } if is_checksum(f)),
                "{reason}"
            );
        }
    }
}

#[test]
fn a_forger_who_rechains_everything_after_an_edit_changes_the_chain_head() {
    // Proves why an auditor records the chain head elsewhere: rewriting a record and then
    // every checksum and segment link after it yields a journal that verifies, but whose
    // chain head differs from the one recorded before the edit.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), SEGMENT_BYTES, &inputs(32, 60, 120));
    let recorded = verify(dir.path()).expect("verify").chain_head;
    let places = layout(dir.path());
    let mut chain = CHAIN_SEED;
    let mut segment = u32::MAX;
    for (i, place) in places.iter().enumerate() {
        edit_segment(dir.path(), place.segment, |bytes| {
            if place.segment != segment {
                let at = FILE_OFFSET_CHAIN_START;
                bytes[at..at + 8].copy_from_slice(&chain.to_le_bytes());
                let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..FILE_OFFSET_HEADER_CHECKSUM]);
                bytes[FILE_OFFSET_HEADER_CHECKSUM..FILE_HEADER_SIZE]
                    .copy_from_slice(&sum.to_le_bytes());
            }
            if i == 5 {
                bytes[place.offset as usize + RECORD_HEADER_SIZE] ^= 0x20;
            }
            chain = rechain_record(bytes, place.offset as usize, chain);
        });
        segment = place.segment;
    }
    let report = verify(dir.path()).expect("a consistent forgery verifies");
    assert_ne!(
        report.chain_head, recorded,
        "but its chain head is not the recorded one"
    );
}

#[test]
fn cutting_the_journal_at_any_offset_recovers_the_last_whole_record() {
    // Proves that losing everything from any byte on (later segments gone, the rest of the
    // cut segment zero, as a crash or a copy cut short leaves it) is recovered to exactly
    // the records wholly before the cut: verify reports a torn tail at the cut record (or a
    // clean end at a boundary), the writer recovers that many and appends after them.
    let template = tempfile::tempdir().expect("tempdir");
    write(template.path(), 512, &inputs(33, 20, 70));
    let places = layout(template.path());
    let segments = places.last().expect("records").segment + 1;
    assert!(segments >= 3);
    let mut cases = 0;
    for segment in 0..segments {
        let clean = fs::read(segment_path(template.path(), segment)).expect("read");
        let end = places
            .iter()
            .rfind(|p| p.segment == segment)
            .map_or(64, |p| p.offset + p.bytes);
        for cut in FILE_HEADER_SIZE..=end as usize {
            let case = tempfile::tempdir().expect("tempdir");
            copy_dir(template.path(), case.path());
            for later in segment + 1..segments {
                fs::remove_file(segment_path(case.path(), later)).expect("remove");
            }
            edit_segment(case.path(), segment, |bytes| bytes[cut..].fill(0));
            let (expected, torn) = expected_after_cut(&places, &clean, segment, cut);
            let report = verify(case.path()).expect("a cut journal verifies");
            assert_eq!(report.records, expected, "cut at {segment}:{cut}");
            let torn_at = report.torn_tail.map(|t| (t.segment, t.offset));
            assert_eq!(
                torn_at,
                torn.map(|offset| (segment, offset)),
                "cut at {segment}:{cut}"
            );
            let (mut writer, recovery) =
                JournalWriter::open(case.path(), options(512)).expect("recover");
            assert_eq!(recovery.records_found, expected, "cut at {segment}:{cut}");
            assert_eq!(writer.append(1, 1, b"after").expect("append"), expected + 1);
            drop(writer);
            assert!(
                verify(case.path())
                    .expect("verify after recovery")
                    .is_clean()
            );
            cases += 1;
        }
    }
    assert!(cases > 1000, "{cases}");
}

/// Records left whole after zeroing segment `segment` from byte `cut` on (and dropping the
/// segments after it), and where the torn tail starts if bytes of a broken record remain.
/// A record is whole if the bytes zeroed were zero already (padding, trailing zeros).
fn expected_after_cut(
    places: &[Place],
    clean: &[u8],
    segment: u32,
    cut: usize,
) -> (u64, Option<u64>) {
    let intact = |p: &Place| {
        let end = (p.offset + p.bytes) as usize;
        p.segment < segment
            || (p.segment == segment
                && clean[cut.max(p.offset as usize)..end.max(cut)]
                    .iter()
                    .all(|&b| b == 0))
    };
    let whole = places.iter().take_while(|p| intact(p)).count();
    let torn = places
        .get(whole)
        .filter(|p| p.segment == segment)
        .and_then(|p| {
            let start = p.offset as usize;
            clean[start..cut.max(start)]
                .iter()
                .any(|&b| b != 0)
                .then_some(p.offset)
        });
    (whole as u64, torn)
}
