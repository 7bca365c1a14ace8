//! `traiderd journal dump DIR`: every record of a journal, as text lines or JSON lines.

use anyhow::Context;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use traider_core::decision::{Decision, record_kind};
use traider_core::input::FeedControl;
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

pub fn format_ts(ts_ns: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ts_ns);
    humantime::format_rfc3339_nanos(time).to_string()
}

/// A record's kind name (`md_frame`, `fill`, …; `unknown` for a kind this build does not
/// know).
pub fn kind_name(kind: u16, payload: &[u8]) -> &'static str {
    match kind {
        record_kind::INPUT_MD_FRAME => "md_frame",
        record_kind::INPUT_PRODUCTS => "products",
        record_kind::INPUT_FEED => "feed",
        record_kind::INPUT_TIMER => "timer",
        record_kind::INPUT_VENUE => "venue",
        record_kind::INPUT_ADMIN => "admin",
        kind => Decision::decode(kind, payload).map_or("unknown", |d| d.name()),
    }
}

/// A record's kind name and its decoded content.
pub fn describe(record: &Record<'_>) -> (&'static str, Value) {
    let conn_and_rest = |payload: &[u8]| -> Option<(u32, Vec<u8>)> {
        let conn = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?);
        Some((conn, payload[4..].to_vec()))
    };
    match record.kind {
        record_kind::INPUT_MD_FRAME => match conn_and_rest(record.payload) {
            Some((conn, frame)) => (
                "md_frame",
                json!({"conn_id": conn, "frame": String::from_utf8_lossy(&frame)}),
            ),
            None => (
                "md_frame",
                json!({"error": "payload shorter than its header"}),
            ),
        },
        record_kind::INPUT_PRODUCTS => ("products", json!({"body_bytes": record.payload.len()})),
        record_kind::INPUT_FEED => match conn_and_rest(record.payload) {
            Some((conn, code)) => {
                let control = code
                    .first()
                    .and_then(|c| FeedControl::from_u8(*c))
                    .map_or("unknown", FeedControl::as_str);
                ("feed", json!({"conn_id": conn, "control": control}))
            }
            None => ("feed", json!({"error": "payload shorter than its header"})),
        },
        record_kind::INPUT_TIMER => ("timer", json!({})),
        record_kind::INPUT_VENUE => ("venue", venue_json(record.payload)),
        record_kind::INPUT_ADMIN => ("admin", admin_json(record.payload)),
        kind => match Decision::decode(kind, record.payload) {
            Some(decision) => (decision.name(), decision_json(&decision)),
            None => (
                "unknown",
                json!({"kind": kind, "bytes": record.payload.len()}),
            ),
        },
    }
}

fn decision_json(decision: &Decision) -> Value {
    match *decision {
        Decision::OrderNew {
            id,
            request,
            reason,
        } => json!({
            "client_order_id": id.to_string(), "instrument": request.instrument.0, "side": request.side.as_str(),
            "price_ticks": request.price_ticks, "size_lots": request.size_lots,
            "time_in_force": format!("{:?}", request.time_in_force), "post_only": request.post_only,
            "reason": format!("{reason:?}"),
        }),
        Decision::CancelRequest {
            id,
            instrument,
            reason,
        } => json!({
            "client_order_id": id.to_string(), "instrument": instrument.0, "reason": format!("{reason:?}"),
        }),
        Decision::RiskReject {
            request,
            reject,
            reason,
        } => json!({
            "reject": reject.as_str(), "instrument": request.instrument.0, "side": request.side.as_str(),
            "price_ticks": request.price_ticks, "size_lots": request.size_lots, "reason": format!("{reason:?}"),
        }),
        Decision::Fill {
            id,
            instrument,
            side,
            price_ticks,
            size_lots,
            liquidity,
            fee,
        } => json!({
            "client_order_id": id.to_string(), "instrument": instrument.0, "side": side.as_str(),
            "price_ticks": price_ticks, "size_lots": size_lots, "liquidity": format!("{liquidity:?}"),
            "fee": fee.display().to_string(),
        }),
        Decision::OrderAccepted { id }
        | Decision::OrderCancelled { id }
        | Decision::CancelRejected { id }
        | Decision::OrderUnknown { id } => {
            json!({"client_order_id": id.to_string()})
        }
        Decision::OrderRejected { id, reason } => {
            json!({"client_order_id": id.to_string(), "reason": reason.as_str()})
        }
        Decision::BookStale { instrument, cause } => {
            json!({"instrument": instrument.0, "cause": cause.as_str()})
        }
        Decision::BookSynced { instrument }
        | Decision::InstrumentReady { instrument }
        | Decision::InstrumentRefused { instrument } => {
            json!({"instrument": instrument.0})
        }
        Decision::FeedGap {
            conn_id,
            expected,
            got,
        } => json!({"conn_id": conn_id, "expected": expected, "got": got}),
        Decision::DecodeFailed { error } => json!({"error": error.as_str()}),
        Decision::TradingGate { open, cause } => {
            json!({"open": open, "cause": cause.as_str()})
        }
        Decision::EditRequest {
            id,
            price_ticks,
            reason,
        } => json!({
            "client_order_id": id.to_string(), "price_ticks": price_ticks, "reason": format!("{reason:?}"),
        }),
        Decision::EditDone {
            id,
            applied,
            price_ticks,
        } => {
            json!({"client_order_id": id.to_string(), "applied": applied, "price_ticks": price_ticks})
        }
        Decision::OrderAdopted {
            id,
            request,
            venue_ref,
        } => adopted_json(id, &request, venue_ref),
        Decision::TradingState {
            state,
            cause,
            actor,
        } => json!({"state": state.as_str(), "cause": cause.as_str(), "actor": actor_json(&actor)}),
        Decision::StrategySwitched {
            enabled,
            cause,
            actor,
        } => json!({"enabled": enabled, "cause": cause.as_str(), "actor": actor_json(&actor)}),
        Decision::LimitChanged {
            limit,
            instrument,
            old,
            new,
        } => json!({
            "limit": limit.as_str(),
            "instrument": (instrument != traider_core::admin::ACCOUNT).then_some(instrument),
            "old": old.to_string(), "new": new.to_string(),
        }),
        Decision::AdminDone { command, outcome } => {
            json!({"command": command, "outcome": outcome.as_str()})
        }
    }
}

fn actor_json(actor: &traider_core::admin::Actor) -> Value {
    json!({"name": actor.name(), "role": actor.role.as_str(), "source": actor.source.as_str()})
}

/// An admin input's content: the command and who gave it.
fn admin_json(payload: &[u8]) -> Value {
    use traider_core::admin::{AdminCommand, AdminInput};
    let Some(AdminInput {
        actor,
        request_id,
        command,
    }) = AdminInput::decode(payload)
    else {
        return json!({"error": "unreadable admin input", "bytes": payload.len()});
    };
    let mut detail = match command {
        AdminCommand::Kill { flatten } => json!({"flatten": flatten}),
        AdminCommand::Resume { second_factor } => json!({"second_factor": second_factor}),
        AdminCommand::CancelAll => json!({}),
        AdminCommand::Strategy {
            enabled,
            second_factor,
        } => json!({"enabled": enabled, "second_factor": second_factor}),
        AdminCommand::SetLimit {
            limit,
            instrument,
            value,
            second_factor,
        } => json!({
            "limit": limit.as_str(),
            "instrument": (instrument != traider_core::admin::ACCOUNT).then_some(instrument),
            "value": value.to_string(), "second_factor": second_factor,
        }),
        AdminCommand::Audit {
            endpoint,
            status,
            refusal,
        } => json!({
            "endpoint": crate::admin::api::endpoint_name(endpoint), "status": status,
            "refusal": crate::admin::api::refusal_name(refusal),
        }),
    };
    detail["command"] = json!(command.name());
    detail["request_id"] = json!(request_id);
    detail["actor"] = actor_json(&actor);
    detail
}

fn adopted_json(
    id: traider_core::order::ClientOrderId,
    request: &traider_core::order::OrderRequest,
    venue_ref: u128,
) -> Value {
    json!({
        "client_order_id": id.to_string(), "order_id": crate::live::convert::venue_ref_text(venue_ref),
        "instrument": request.instrument.0, "side": request.side.as_str(),
        "price_ticks": request.price_ticks, "size_lots": request.size_lots,
    })
}

/// A venue input's content (a live venue's report or a trading-gate change).
fn venue_json(payload: &[u8]) -> Value {
    let Some(event) = VenueEvent::decode(payload) else {
        return json!({"error": "unreadable venue event", "bytes": payload.len()});
    };
    let mut detail = match event {
        VenueEvent::Accepted { id }
        | VenueEvent::Cancelled { id }
        | VenueEvent::CancelRejected { id }
        | VenueEvent::Unknown { id }
        | VenueEvent::Edited { id }
        | VenueEvent::EditRejected { id } => json!({"client_order_id": id.to_string()}),
        VenueEvent::Rejected { id, reason } => {
            json!({"client_order_id": id.to_string(), "reason": reason.as_str()})
        }
        VenueEvent::Fill {
            id,
            trade_key,
            price_ticks,
            size_lots,
            liquidity,
            fee,
        } => json!({
            "client_order_id": id.to_string(), "trade_key": format!("{trade_key:016x}"),
            "price_ticks": price_ticks, "size_lots": size_lots,
            "liquidity": format!("{liquidity:?}"), "fee": fee.display().to_string(),
        }),
        VenueEvent::Gate {
            open,
            cancel_all,
            cause,
        } => json!({"open": open, "cancel_all": cancel_all, "cause": cause.as_str()}),
        VenueEvent::Adopted {
            id,
            request,
            venue_ref,
        } => adopted_json(id, &request, venue_ref),
    };
    detail["event"] = json!(event.name());
    detail
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
