//! `traiderd journal verify|stats|prune DIR`: check a journal record by record (checksums,
//! the hash chain, sequence continuity, segment headers and links), count it, and apply
//! retention to it.

pub mod dump;
pub mod instruments;

use crate::clock::format_ts;
pub use crate::hot::journal_error;
use anyhow::{Context, bail};
use dump::kind_name;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use traider_journal::{JournalError, JournalReader, TornTail};

/// What `verify` found.
pub enum Verdict {
    /// Every record verified; the journal ends cleanly.
    Clean(Value),
    /// Every record verified up to a torn tail (the last append before a crash), which opening
    /// the journal for writing cuts.
    TornTail(Value),
    /// The first bad record or segment: the message names segment, offset, the record's
    /// sequence number where known, and what is wrong (including a broken hash chain).
    Corrupt(String),
}

impl Verdict {
    /// The exit code `traiderd journal verify` returns: 0 clean, 2 torn tail, 1 corrupt.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Clean(_) => 0,
            Self::TornTail(_) => 2,
            Self::Corrupt(_) => 1,
        }
    }

    /// The report as one line of text, or as JSON.
    pub fn render(&self, dir: &Path, json: bool) -> String {
        match (self, json) {
            (Self::Clean(report) | Self::TornTail(report), true) => report.to_string(),
            (Self::Corrupt(message), true) => json!({"corrupt": message}).to_string(),
            (Self::Corrupt(message), false) => message.clone(),
            (Self::Clean(report), false) => format!(
                "journal {}: {} records (seq {}..{}) in {} segments verified, chain head {}, clean",
                dir.display(),
                report["records"],
                report["first_seq"],
                report["last_seq"],
                report["segments"],
                text(&report["chain_head"]),
            ),
            (Self::TornTail(report), false) => format!(
                "journal {}: {} records verified, chain head {}; torn tail at segment {} \
                 offset {} ({} bytes): the last append before a crash, cut when the journal \
                 is next opened",
                dir.display(),
                report["records"],
                text(&report["chain_head"]),
                report["torn_tail"]["segment"],
                report["torn_tail"]["offset"],
                report["torn_tail"]["bytes"]
            ),
        }
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn torn_json(torn: Option<TornTail>) -> Value {
    torn.map_or(
        Value::Null,
        |t| json!({"segment": t.segment, "offset": t.offset, "bytes": t.bytes}),
    )
}

/// `dir` as a journal to read: an existing directory that holds segment files. Anything
/// else is an error that names `dir` once and says what a journal is.
pub fn open_journal(dir: &Path) -> anyhow::Result<JournalReader> {
    check_journal_dir(dir)?;
    JournalReader::open(dir).map_err(|error| journal_error(dir, error))
}

/// Refuses a path that cannot be a journal: missing, not a directory, or without segments.
pub fn check_journal_dir(dir: &Path) -> anyhow::Result<()> {
    let what =
        "a journal is the directory traiderd run or replay writes ([journal] dir, --journal-dir)";
    match std::fs::metadata(dir) {
        Err(error) => bail!("{}: {error}; {what}", dir.display()),
        Ok(meta) if !meta.is_dir() => bail!("{} is not a directory; {what}", dir.display()),
        Ok(_) => {}
    }
    let has_segment = std::fs::read_dir(dir)
        .map_err(|error| anyhow::anyhow!("{}: {error}", dir.display()))?
        .flatten()
        .any(|entry| {
            (entry.file_name().to_str())
                .is_some_and(|name| traider_journal::parse_segment_file_name(name).is_some())
        });
    if !has_segment {
        bail!(
            "{} is not a journal: it holds no segment files (seg-000000.tj, ...); {what}",
            dir.display()
        );
    }
    Ok(())
}

/// Verifies every segment and record with [`traider_journal::verify`]. Damage of any kind
/// is a [`Verdict::Corrupt`]; only a directory that cannot be read at all is an error.
pub fn verify(dir: &Path) -> anyhow::Result<Verdict> {
    check_journal_dir(dir)?;
    let report = match traider_journal::verify(dir) {
        Ok(report) => report,
        Err(
            error @ (JournalError::Corrupt { .. }
            | JournalError::Version { .. }
            | JournalError::BadMagic { .. }),
        ) => {
            return Ok(Verdict::Corrupt(format!(
                "journal {}: {error}",
                dir.display()
            )));
        }
        Err(error) => return Err(journal_error(dir, error)),
    };
    let value = json!({
        "dir": dir.display().to_string(),
        "records": report.records,
        "segments": report.segments,
        "first_seq": report.first_seq,
        "last_seq": report.last_seq,
        "first_ts_ns": report.first_ts_ns,
        "last_ts_ns": report.last_ts_ns,
        "chain_start": format!("{:#018x}", report.chain_start),
        "chain_head": format!("{:#018x}", report.chain_head),
        "torn_tail": torn_json(report.torn_tail),
    });
    Ok(if report.torn_tail.is_some() {
        Verdict::TornTail(value)
    } else {
        Verdict::Clean(value)
    })
}

/// Counts and bytes by record kind, sequence and time range, segments, chain head. The
/// whole journal is verified on the way (a damaged journal is an error naming the place).
pub fn stats(dir: &Path) -> anyhow::Result<Value> {
    check_journal_dir(dir)?;
    let audit = traider_journal::stats(dir).map_err(|error| journal_error(dir, error))?;
    // Names need the payload (a decision's kind is its code), so count names with a reader.
    let reader = open_journal(dir)?;
    let mut by_kind: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|error| journal_error(dir, error))?;
        let entry = by_kind.entry(kind_name(record.kind)).or_default();
        entry.0 += 1;
        entry.1 += record.payload.len() as u64;
    }
    let kinds: serde_json::Map<String, Value> = by_kind
        .into_iter()
        .map(|(kind, (count, bytes))| {
            (
                kind.to_owned(),
                json!({"records": count, "payload_bytes": bytes}),
            )
        })
        .collect();
    Ok(json!({
        "dir": dir.display().to_string(),
        "records": audit.records,
        "payload_bytes": audit.payload_bytes,
        "record_bytes": audit.record_bytes,
        "segments": audit.segments,
        "segment_file_bytes": audit.file_bytes,
        "first_seq": audit.first_seq,
        "first_ts_ns": audit.first_ts_ns,
        "last_seq": audit.last_seq,
        "last_ts_ns": audit.last_ts_ns,
        "chain_head": format!("{:#018x}", audit.chain_head),
        "kinds": kinds,
        "torn_tail": torn_json(audit.torn_tail),
    }))
}

/// `stats` as an operator reads it: a summary, then one line per record kind.
pub fn render_stats(stats: &Value) -> String {
    let mut out = String::new();
    let ts = |key: &str| {
        stats[key]
            .as_u64()
            .map_or_else(|| "-".to_owned(), format_ts)
    };
    let _ = writeln!(out, "journal   {}", text(&stats["dir"]));
    let _ = writeln!(
        out,
        "segments  {} ({} bytes on disk, pre-sized)",
        stats["segments"], stats["segment_file_bytes"]
    );
    let _ = writeln!(
        out,
        "records   {} ({} payload bytes, {} with headers and padding)",
        stats["records"], stats["payload_bytes"], stats["record_bytes"]
    );
    let _ = writeln!(
        out,
        "first     seq {} at {}",
        stats["first_seq"],
        ts("first_ts_ns")
    );
    let _ = writeln!(
        out,
        "last      seq {} at {}",
        stats["last_seq"],
        ts("last_ts_ns")
    );
    let _ = writeln!(out, "chain     head {}", text(&stats["chain_head"]));
    if !stats["torn_tail"].is_null() {
        let _ = writeln!(
            out,
            "torn tail segment {} offset {} ({} bytes)",
            stats["torn_tail"]["segment"],
            stats["torn_tail"]["offset"],
            stats["torn_tail"]["bytes"]
        );
    }
    let _ = writeln!(
        out,
        "{:<20} {:>12} {:>16}",
        "kind", "records", "payload bytes"
    );
    if let Some(kinds) = stats["kinds"].as_object() {
        for (name, kind) in kinds {
            let _ = writeln!(
                out,
                "{name:<20} {:>12} {:>16}",
                kind["records"], kind["payload_bytes"]
            );
        }
    }
    out
}

/// Applies retention (`traider_journal::apply_retention`) to the journal in `dir`. Refuses
/// without a limit, and refuses a journal another process is writing (its `LOCK` is held):
/// the daemon's own journal must stay whole for restart by replay.
pub fn prune(
    dir: &Path,
    keep_segments: Option<usize>,
    older_than: Option<std::time::Duration>,
) -> anyhow::Result<Value> {
    anyhow::ensure!(
        keep_segments.is_some() || older_than.is_some(),
        "prune needs --keep-segments N or --older-than DURATION"
    );
    anyhow::ensure!(
        keep_segments != Some(0),
        "--keep-segments must be at least 1 (the newest segment is always kept)"
    );
    check_journal_dir(dir)?;
    // Holding the writer's lock for the duration keeps a daemon from starting on it meanwhile.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("LOCK"))
        .with_context(|| format!("{} has no LOCK file: not a journal", dir.display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "journal {} is being written by a running traiderd; prune it after it stops",
            dir.display()
        );
    }
    let policy = traider_journal::RetentionPolicy {
        max_segments: keep_segments,
        max_age: older_than,
    };
    let report =
        traider_journal::apply_retention(dir, policy).map_err(|error| journal_error(dir, error))?;
    drop(lock);
    Ok(json!({
        "dir": dir.display().to_string(),
        "removed": report.removed.iter().map(|r| json!({
            "segment": r.index, "first_seq": r.first_seq, "bytes": r.segment_bytes,
        })).collect::<Vec<_>>(),
        "segments_kept": report.segments_kept,
        "first_seq_kept": report.first_seq_kept,
    }))
}

/// What `prune` did, as one line of text or as JSON.
pub fn render_prune(report: &Value, dir: &Path, json: bool) -> String {
    if json {
        return report.to_string();
    }
    format!(
        "journal {}: removed {} segments, {} left, starting at record {}",
        dir.display(),
        report["removed"].as_array().map_or(0, Vec::len),
        report["segments_kept"],
        report["first_seq_kept"]
    )
}
