//! `traiderd journal dump DIR`: every record of a journal, as text lines or JSON lines.
//!
//! Records are decoded by the core's record codec and shown in their `serde` form; where the
//! journal tells which product an instrument index is ([`Instruments`]), a record that
//! names an instrument (or an order of one) also shows its `product_id`, and its prices and
//! sizes as decimals (`price`, `size`) beside the ticks and lots.

use super::instruments::Instruments;
use super::{journal_error, open_journal};
use crate::clock::format_ts;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use traider_core::admin::AdminInput;
use traider_core::input::InputKind;
use traider_core::record::{InputRecord, Record as JournalRecord, RecordKind};
use traider_core::venue::VenueEvent;
use traider_journal::Record;

pub struct DumpArgs<'a> {
    pub dir: &'a Path,
    pub json: bool,
    /// Only records of this kind name (`md_frame`, `fill`, ...).
    pub kind: Option<&'a str>,
    pub from_seq: Option<u64>,
    pub to_seq: Option<u64>,
    /// Bytes of each input frame to show (text mode).
    pub frame_bytes: usize,
    /// The product ids of the config that wrote the journal, in order (names every
    /// instrument index; otherwise the journal's own market data names them).
    pub products: Option<&'a [String]>,
}

/// Writes the dump to `out`; returns the number of records written.
pub fn dump(args: &DumpArgs<'_>, out: &mut impl Write) -> anyhow::Result<u64> {
    let kind = args.kind.map(parse_kind).transpose()?;
    let reader = open_journal(args.dir)?;
    let instruments = Instruments::learn(&reader, args.products);
    let mut orders = BTreeMap::new();
    let mut written = 0;
    for record in reader.records() {
        let record = record.map_err(|error| journal_error(args.dir, error))?;
        if args.from_seq.is_some_and(|from| record.seq < from)
            || args.to_seq.is_some_and(|to| record.seq > to)
            || kind.is_some_and(|kind| kind != kind_name(record.kind))
        {
            continue;
        }
        let (name, mut detail) = describe(&record);
        annotate(&mut detail, &instruments, &mut orders);
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

/// A `--kind` name: a record kind this build knows, or `unknown`.
fn parse_kind(name: &str) -> anyhow::Result<&'static str> {
    if let Some(kind) = RecordKind::from_name(name) {
        return Ok(kind.as_str());
    }
    if name == "unknown" {
        return Ok("unknown");
    }
    let names: Vec<&str> = RecordKind::all().map(RecordKind::as_str).collect();
    let close = names
        .iter()
        .find(|known| name.starts_with(**known) || known.starts_with(name));
    let hint = close.map_or_else(String::new, |known| format!("did you mean {known}? "));
    anyhow::bail!(
        "--kind {name}: no such record kind; {hint}the kinds are {} (and unknown)",
        names.join(", ")
    )
}

/// Adds the product id and decimal price and size to a record's detail where the journal
/// tells them; remembers each order's instrument (`orders`) for records that name only the
/// order.
fn annotate(detail: &mut Value, instruments: &Instruments, orders: &mut BTreeMap<String, u16>) {
    let Value::Object(fields) = detail else {
        return;
    };
    let order = fields
        .get("client_order_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let instrument = match fields.get("instrument").and_then(Value::as_u64) {
        Some(index) => {
            let index = index as u16;
            if let Some(order) = order {
                orders.insert(order, index);
            }
            Some(index)
        }
        None => order.and_then(|order| orders.get(&order).copied()),
    };
    let Some((product_id, spec)) = instrument.and_then(|index| instruments.get(index)) else {
        return;
    };
    fields.insert("product_id".into(), json!(product_id));
    let Some(spec) = spec else {
        return;
    };
    let decimal = |fields: &Map<String, Value>, key: &str| fields.get(key).and_then(Value::as_i64);
    if let Some(ticks) = decimal(fields, "price_ticks") {
        fields.insert(
            "price".into(),
            json!(spec.price_increment.display(ticks).to_string()),
        );
    }
    if let Some(lots) = decimal(fields, "size_lots") {
        fields.insert(
            "size".into(),
            json!(spec.base_increment.display(lots).to_string()),
        );
    }
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
