//! `traiderd journal dump DIR`: every record of a journal, as text lines or JSON lines.

use crate::clock::format_ts;
use anyhow::Context;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use traider_core::admin::AdminInput;
use traider_core::input::InputKind;
use traider_core::record::{InputRecord, Record as JournalRecord, RecordKind};
use traider_core::venue::VenueEvent;
use traider_journal::{JournalReader, Record};

pub struct DumpArgs<'a> {
    pub dir: &'a Path,
    pub json: bool,
    /// Only records of this kind name (`md_frame`, `fill`, ...).
    pub kind: Option<&'a str>,
    pub from_seq: Option<u64>,
    pub to_seq: Option<u64>,
    /// Bytes of each input frame to show (text mode).
    pub frame_bytes: usize,
}

/// Writes the dump to `out`; returns the number of records written.
pub fn dump(args: &DumpArgs<'_>, out: &mut impl Write) -> anyhow::Result<u64> {
    let reader = JournalReader::open(args.dir)
        .with_context(|| format!("cannot open journal {}", args.dir.display()))?;
    let mut written = 0;
    for record in reader.records() {
        let record =
            record.with_context(|| format!("journal {} is damaged", args.dir.display()))?;
        if args.from_seq.is_some_and(|from| record.seq < from)
            || args.to_seq.is_some_and(|to| record.seq > to)
        {
            continue;
        }
        let (name, detail) = describe(&record);
        if args.kind.is_some_and(|kind| kind != name) {
            continue;
        }
        if args.json {
            let line = json!({"seq": record.seq, "ts_ns": record.ts_ns, "kind": name, "bytes": record.payload.len(), "detail": detail});
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{:>8} {} {:<16} {}",
                record.seq,
                format_ts(record.ts_ns),
                name,
                text_detail(&detail, args.frame_bytes)
            )?;
        }
        written += 1;
    }
    if let Some(torn) = reader.torn_tail() {
        writeln!(
            out,
            "# torn tail in segment {} at offset {} (an append in progress or cut by a crash)",
            torn.segment, torn.offset
        )?;
    }
    Ok(written)
}

/// A record's kind name (`md_frame`, `fill`, …; `unknown` for a kind this build does not
/// know).
pub fn kind_name(kind: u16) -> &'static str {
    RecordKind::from_u16(kind).map_or("unknown", RecordKind::as_str)
}

/// A record's kind name and its decoded content.
pub fn describe(record: &Record<'_>) -> (&'static str, Value) {
    let name = kind_name(record.kind);
    match JournalRecord::decode(record.kind, record.payload) {
        Ok(JournalRecord::Input(input)) => (name, input_json(&input)),
        Ok(JournalRecord::Decision(decision)) => (name, to_json(&decision)),
        Err(error) => (
            name,
            json!({"error": error.to_string(), "kind": record.kind, "bytes": record.payload.len()}),
        ),
    }
}

/// A value's JSON form (`serde` derives it from the record's definition).
fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

fn input_json(input: &InputRecord<'_>) -> Value {
    match input.kind {
        InputKind::MdFrame => json!({
            "conn_id": input.conn_id, "frame": String::from_utf8_lossy(input.data),
        }),
        InputKind::Products => json!({"body_bytes": input.data.len()}),
        InputKind::Feed(control) => json!({"conn_id": input.conn_id, "control": control}),
        InputKind::Venue => match VenueEvent::decode(input.data) {
            Some(event) => with_fields(to_json(&event), [("event", json!(event.name()))]),
            None => json!({"error": "unreadable venue event", "bytes": input.data.len()}),
        },
        InputKind::Admin => match AdminInput::decode(input.data) {
            Some(admin) => with_fields(
                to_json(&admin.command),
                [
                    ("command", json!(admin.command.name())),
                    ("request_id", json!(admin.request_id)),
                    ("actor", to_json(&admin.actor)),
                ],
            ),
            None => json!({"error": "unreadable admin input", "bytes": input.data.len()}),
        },
        InputKind::Timer | InputKind::Shutdown => json!({}),
    }
}

/// `object` (or `{}` for a variant without fields) with `fields` added.
fn with_fields<const N: usize>(object: Value, fields: [(&str, Value); N]) -> Value {
    let mut object = match object {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    for (key, value) in fields {
        object.insert(key.to_owned(), value);
    }
    Value::Object(object)
}

fn text_detail(detail: &Value, frame_bytes: usize) -> String {
    match detail.get("frame").and_then(Value::as_str) {
        Some(frame) => {
            let conn = detail.get("conn_id").and_then(Value::as_u64).unwrap_or(0);
            let shown: String = frame.chars().take(frame_bytes).collect();
            let more = if frame.len() > shown.len() {
                format!(" … ({} bytes)", frame.len())
            } else {
                String::new()
            };
            format!("conn {conn} {shown}{more}")
        }
        None => detail.to_string(),
    }
}
