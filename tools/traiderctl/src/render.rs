//! Human output for the daemon's answers: aligned `name value` lines and tables.
//!
//! Every renderer takes the JSON as the daemon sent it and renders what is there: a missing
//! field is left out (or shown as `-` in a table cell), a field of an unexpected type is
//! shown as its JSON text; nothing here panics on any input. Text from the daemon loses its
//! control characters, so an answer cannot drive the terminal.

use super::call::Call;
use super::client::Answer;
use serde_json::{Map, Value};

/// The human text for a 2xx answer to `call`.
pub fn render_answer(call: &Call, answer: &Answer) -> String {
    match call {
        Call::Status => render_status(&answer.body),
        Call::Positions => render_positions(&answer.body),
        Call::Orders => render_orders(&answer.body),
        Call::LimitsShow => render_limits(&answer.body),
        Call::LimitsSet { .. }
        | Call::Kill { .. }
        | Call::Resume
        | Call::CancelAll
        | Call::Strategy { .. } => render_outcome(call.name(), answer.status, &answer.body),
    }
}

/// `kill: applied (trading halted)`, `kill: no change (trading halted)`, or for a 202 (or
/// `"outcome": "pending"`) `kill: published, not yet confirmed`.
pub fn render_outcome(command: &str, status: u16, body: &Value) -> String {
    let outcome = body.get("outcome").and_then(Value::as_str);
    if status == 202 || outcome == Some("pending") {
        return format!("{command}: published, not yet confirmed");
    }
    let outcome = match outcome {
        Some("applied") => "applied".to_string(),
        Some("no_change") => "no change".to_string(),
        Some(other) => clean(other),
        None => "done (no outcome in the answer)".to_string(),
    };
    match body.get("trading_state") {
        Some(state) => format!("{command}: {outcome} (trading {})", text(state)),
        None => format!("{command}: {outcome}"),
    }
}

/// The status as labelled lines, then one table row per instrument.
pub fn render_status(body: &Value) -> String {
    let mut lines: Vec<(&str, String)> = Vec::new();
    let mut push = |label, value: Option<String>| {
        if let Some(value) = value {
            lines.push((label, value));
        }
    };
    push("mode", body.get("mode").map(text));
    push("trading", trading_line(body));
    push("strategy", strategy_line(body));
    push("flattening", body.get("flattening").map(text));
    push("gate", body.get("gate").map(text));
    push("event time", body.get("event_time").map(text));
    push("orders open", body.get("orders_open").map(text));
    push("pnl", body.get("pnl").map(pnl_line));
    push("counters", body.get("counters").map(pairs_line));
    push("rejects", body.get("rejects").map(pairs_line));
    let mut out = labelled(&lines);
    if let Some(instruments) = body.get("instruments").and_then(Value::as_object) {
        let header = ["INSTRUMENT", "BID", "ASK", "POSITION", "ORDERS", "FLAGS"];
        let rows = (instruments.iter())
            .map(|(id, book)| {
                let flags = flags(
                    book,
                    &[("stale", true, "stale"), ("tradable", false, "halted")],
                );
                let cells = ["best_bid", "best_ask", "position", "orders_open"];
                let mut row = vec![clean(id)];
                row.extend(cells.iter().map(|key| cell(book, key)));
                row.push(flags);
                row
            })
            .collect::<Vec<_>>();
        if !rows.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&table(&header, &rows));
        }
    }
    if out.is_empty() {
        out.push_str("(the status is empty)");
    }
    out
}

/// One table row per instrument.
pub fn render_positions(body: &Value) -> String {
    let Some(positions) = body.as_object().filter(|p| !p.is_empty()) else {
        return "no positions".to_string();
    };
    let header = [
        "INSTRUMENT",
        "POSITION",
        "REALIZED",
        "UNREALIZED",
        "COST_BASIS",
        "FEES",
        "FILLS",
    ];
    let keys = [
        "position",
        "realized_pnl",
        "unrealized_pnl",
        "cost_basis",
        "fees",
        "fills",
    ];
    let rows = (positions.iter())
        .map(|(id, position)| {
            let mut row = vec![clean(id)];
            row.extend(keys.iter().map(|key| cell(position, key)));
            row
        })
        .collect::<Vec<_>>();
    table(&header, &rows)
}

/// A count line, then one table row per live order, oldest first.
pub fn render_orders(body: &Value) -> String {
    let orders = body.get("orders").and_then(Value::as_array);
    let orders = orders.map(Vec::as_slice).unwrap_or_default();
    let count = body.get("count").and_then(Value::as_u64);
    let count = count.unwrap_or(orders.len() as u64);
    if count == 0 && orders.is_empty() {
        return "no live orders".to_string();
    }
    let header = [
        "CLIENT_ORDER_ID",
        "INSTRUMENT",
        "SIDE",
        "PRICE",
        "SIZE",
        "FILLED",
        "STATE",
        "TIF",
        "FLAGS",
    ];
    let keys = [
        "client_order_id",
        "instrument",
        "side",
        "price",
        "size",
        "filled",
        "state",
        "time_in_force",
    ];
    let order_flags = [
        ("post_only", true, "post-only"),
        ("cancel_pending", true, "cancel-pending"),
        ("adopted", true, "adopted"),
    ];
    let rows = (orders.iter())
        .map(|order| {
            let mut row: Vec<String> = keys.iter().map(|key| cell(order, key)).collect();
            row.push(flags(order, &order_flags));
            row
        })
        .collect::<Vec<_>>();
    let noun = if count == 1 { "order" } else { "orders" };
    format!("{count} live {noun}\n{}", table(&header, &rows))
}

/// `NAME value` lines: the account's limits first, then each instrument's.
pub fn render_limits(body: &Value) -> String {
    let mut sections = Vec::new();
    if let Some(account) = body.get("account").and_then(Value::as_object) {
        sections.push(format!("account\n{}", indented_pairs(account)));
    }
    if let Some(instruments) = body.get("instruments").and_then(Value::as_object) {
        for (id, limits) in instruments {
            let lines = match limits.as_object() {
                Some(limits) => indented_pairs(limits),
                None => format!("  {}", text(limits)),
            };
            sections.push(format!("{}\n{lines}", clean(id)));
        }
    }
    if sections.is_empty() {
        return "no limits in the answer".to_string();
    }
    sections.join("\n")
}

fn trading_line(body: &Value) -> Option<String> {
    let mut line = text(body.get("trading_state")?);
    if let Some(cause) = body.get("state_cause") {
        line.push_str(&format!(", cause {}", text(cause)));
    }
    if let Some(actor) = body.get("state_actor").filter(|a| !a.is_null()) {
        let part = |key| actor.get(key).map(text);
        let name = part("name").unwrap_or_else(|| "?".to_string());
        let details: Vec<String> = [part("role"), part("source").map(|s| format!("via {s}"))]
            .into_iter()
            .flatten()
            .collect();
        line.push_str(&format!(", by {name}"));
        if !details.is_empty() {
            line.push_str(&format!(" ({})", details.join(" ")));
        }
    }
    Some(line)
}

fn strategy_line(body: &Value) -> Option<String> {
    let enabled = body.get("strategy_enabled").map(|enabled| match enabled {
        Value::Bool(true) => "enabled".to_string(),
        Value::Bool(false) => "disabled".to_string(),
        other => text(other),
    });
    let cause = body.get("strategy_cause").map(text);
    match (enabled, cause) {
        (Some(enabled), Some(cause)) => Some(format!("{enabled}, cause {cause}")),
        (Some(enabled), None) => Some(enabled),
        (None, Some(cause)) => Some(format!("cause {cause}")),
        (None, None) => None,
    }
}

fn pnl_line(pnl: &Value) -> String {
    let Some(map) = pnl.as_object() else {
        return text(pnl);
    };
    let labels = [
        ("total", "total"),
        ("day_start", "day start"),
        ("session_high", "session high"),
    ];
    let parts: Vec<String> = (labels.iter())
        .filter_map(|(key, label)| map.get(*key).map(|v| format!("{label} {}", text(v))))
        .collect();
    parts.join(", ")
}

/// `a=1 b=2`, or the JSON text if it is not an object.
fn pairs_line(value: &Value) -> String {
    match value.as_object() {
        Some(map) if map.is_empty() => "-".to_string(),
        Some(map) => (map.iter())
            .map(|(key, value)| format!("{}={}", clean(key), text(value)))
            .collect::<Vec<_>>()
            .join(" "),
        None => text(value),
    }
}

fn indented_pairs(map: &Map<String, Value>) -> String {
    let pairs: Vec<(String, String)> = (map.iter())
        .map(|(key, value)| (clean(key), text(value)))
        .collect();
    let width = pairs.iter().map(|(key, _)| key.chars().count()).max();
    let width = width.unwrap_or_default();
    (pairs.iter())
        .map(|(key, value)| format!("  {key:<width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn labelled(lines: &[(&str, String)]) -> String {
    let width = lines.iter().map(|(label, _)| label.len()).max();
    let width = width.unwrap_or_default();
    (lines.iter())
        .map(|(label, value)| format!("{label:<width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Columns padded to their widest cell, two spaces apart; no trailing spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = (cells.iter().zip(&widths))
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

/// The field as a table cell, `-` when absent.
fn cell(object: &Value, key: &str) -> String {
    object.get(key).map(text).unwrap_or_else(|| "-".to_string())
}

/// Comma-joined names of the flags that hold: (key, the value that raises it, name).
fn flags(object: &Value, spec: &[(&str, bool, &str)]) -> String {
    let raised: Vec<&str> = (spec.iter())
        .filter(|(key, when, _)| object.get(*key).and_then(Value::as_bool) == Some(*when))
        .map(|(_, _, name)| *name)
        .collect();
    if raised.is_empty() {
        "-".to_string()
    } else {
        raised.join(",")
    }
}

/// A JSON value as an operator reads it: strings unquoted, booleans as yes/no, null as `-`.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::Bool(true) => "yes".to_string(),
        Value::Bool(false) => "no".to_string(),
        Value::String(s) => clean(s),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => clean(&value.to_string()),
    }
}

fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests;
