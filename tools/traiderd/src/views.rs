//! The admin API's JSON, read off a status snapshot (never off the hot thread), and the
//! limit values as text: sizes in base units and money in quote units as exact decimals,
//! bps, counts and milliseconds as integers.

use serde_json::{Map, Value, json};
use traider_core::admin::{ACCOUNT, Actor};
use traider_core::engine::{InstrumentStatus, StatusSnapshot};
use traider_core::num::Money;
use traider_core::order::{Order, TimeInForce};
use traider_core::risk::{LimitId, LimitUnit, Reject};
use traider_core::stats::ControlStatus;

use crate::clock::format_ts;

pub fn actor_json(actor: &Actor) -> Value {
    json!({"name": actor.name(), "role": actor.role.as_str(), "source": actor.source.as_str()})
}

/// The trading state and its controls.
pub fn control_json(control: &ControlStatus) -> Value {
    json!({
        "trading_state": control.state.state.as_str(),
        "state_cause": control.state.cause.as_str(),
        "state_actor": actor_json(&control.state.actor),
        "strategy_enabled": control.strategy_on,
        "strategy_cause": control.strategy_last.0.as_str(),
        "strategy_actor": actor_json(&control.strategy_last.1),
        "flattening": control.flattening,
        "pnl": {
            "total": money(control.pnl),
            "day_start": money(control.pnl_day_start),
            "session_high": money(control.pnl_session_high),
        },
        "cancels_throttled": control.cancels_throttled,
    })
}

/// `GET /api/v1/status`.
pub fn status_json(mode: &str, snapshot: &StatusSnapshot) -> Value {
    let mut body = control_json(&snapshot.control);
    let c = &snapshot.counters;
    let mut instruments = Map::new();
    for status in snapshot.instruments() {
        let price = |ticks: i64| status.price_increment.display(ticks).to_string();
        instruments.insert(
            status.symbol.to_string(),
            json!({
                "best_bid": status.bid.map(|(p, _)| price(p)),
                "best_ask": status.ask.map(|(p, _)| price(p)),
                "stale": status.stale,
                "tradable": status.tradable,
                "position": status.base_increment.display(status.position_lots).to_string(),
                "orders_open": status.orders_open,
            }),
        );
    }
    let rejects: Map<String, Value> = Reject::ALL
        .iter()
        .map(|r| (r.as_str().into(), json!(snapshot.rejects[*r as usize])))
        .collect();
    body["mode"] = json!(mode);
    body["gate"] = json!(snapshot.gate_closed.map_or("open", |g| g.as_str()));
    body["event_time"] = json!(format_ts(snapshot.now_ns));
    body["orders_open"] = json!(snapshot.orders_open);
    body["instruments"] = Value::Object(instruments);
    body["rejects"] = Value::Object(rejects);
    body["counters"] = json!({
        "frames": c.frames, "gaps": c.gaps, "orders": c.orders, "cancels": c.cancels,
        "fills": c.fills, "edits": c.edits, "venue_rejects": c.venue_rejects,
        "decode_errors": c.decode_errors_total(), "kills": c.kills,
        "admin_commands": c.admin_commands, "admin_refused": c.admin_refused,
        "admin_audits": c.admin_audits, "flatten_orders": c.flatten_orders,
    });
    body
}

/// `GET /api/v1/positions`.
pub fn positions_json(snapshot: &StatusSnapshot) -> Value {
    let positions: Map<String, Value> = snapshot
        .instruments()
        .map(|status| (status.symbol.to_string(), position_json(status)))
        .collect();
    Value::Object(positions)
}

fn order_json(order: &Order, snapshot: &StatusSnapshot) -> Value {
    let status = snapshot.instruments[order.request.instrument.index()].as_ref();
    let price = |ticks: i64| status.map(|s| s.price_increment.display(ticks).to_string());
    let size = |lots: i64| status.map(|s| s.base_increment.display(lots).to_string());
    json!({
        "client_order_id": order.id.to_string(),
        "instrument": status.map(|s| s.symbol.to_string()),
        "side": order.request.side.as_str(),
        "price": price(order.request.price_ticks),
        "size": size(order.request.size_lots),
        "filled": size(order.filled_lots),
        "state": order.state.as_str(),
        "time_in_force": match order.request.time_in_force {
            TimeInForce::GoodTillCancel => "gtc",
            TimeInForce::ImmediateOrCancel => "ioc",
        },
        "post_only": order.request.post_only,
        "cancel_pending": order.cancel_pending,
        "adopted": order.adopted,
    })
}

/// `GET /api/v1/orders`.
pub fn orders_json(snapshot: &StatusSnapshot) -> Value {
    let orders: Vec<Value> = snapshot
        .live_orders()
        .map(|order| order_json(order, snapshot))
        .collect();
    json!({"count": snapshot.orders_open, "orders": orders})
}

/// A limit's value as the API shows it.
pub fn limit_value_json(limit: LimitId, value: i128, status: Option<&InstrumentStatus>) -> Value {
    match limit.unit() {
        LimitUnit::Money => json!(money(Money(value))),
        LimitUnit::Lots => match status {
            Some(status) => json!(
                status
                    .base_increment
                    .display(i64::try_from(value).unwrap_or(i64::MAX))
                    .to_string()
            ),
            None => json!(value.to_string()),
        },
        LimitUnit::Bps | LimitUnit::Count | LimitUnit::Millis => {
            json!(i64::try_from(value).unwrap_or(i64::MAX))
        }
    }
}

/// `GET /api/v1/limits`.
pub fn limits_json(snapshot: &StatusSnapshot) -> Value {
    let global = &snapshot.control.limits;
    let mut account = Map::new();
    for limit in LimitId::ALL {
        if let Some(value) = global.get(limit) {
            account.insert(limit.as_str().into(), limit_value_json(limit, value, None));
        }
    }
    account.insert(
        "daily_loss_action".into(),
        json!(if global.daily_loss_halts {
            "halted"
        } else {
            "reducing"
        }),
    );
    account.insert(
        "drawdown_action".into(),
        json!(if global.drawdown_halts {
            "halted"
        } else {
            "reducing"
        }),
    );
    let mut instruments = Map::new();
    for status in snapshot.instruments() {
        let Some(limits) = status.limits else {
            continue;
        };
        let values: Map<String, Value> = LimitId::ALL
            .into_iter()
            .filter_map(|limit| {
                let value = limits.get(limit)?;
                Some((
                    limit.as_str().into(),
                    limit_value_json(limit, value, Some(status)),
                ))
            })
            .collect();
        instruments.insert(status.symbol.to_string(), Value::Object(values));
    }
    json!({"account": account, "instruments": instruments})
}

/// A limit change asked for over the API, resolved against the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitChange {
    pub limit: LimitId,
    /// An instrument index, or [`ACCOUNT`].
    pub instrument: u16,
    pub value: i128,
    /// The value now (to tell a loosening, which needs the second factor).
    pub old: i128,
}

/// Reads `{"limit", "instrument"?, "value"}` into engine units; `Err` says what is wrong.
pub fn parse_limit_change(
    snapshot: &StatusSnapshot,
    limit: &str,
    instrument: Option<&str>,
    value: &str,
) -> Result<LimitChange, String> {
    let id = LimitId::from_name(limit).ok_or_else(|| {
        let names: Vec<&str> = LimitId::ALL.iter().map(|l| l.as_str()).collect();
        format!("unknown limit {limit:?} (one of {})", names.join(", "))
    })?;
    let (index, status, old) = match (id.per_instrument(), instrument) {
        (true, None) => {
            return Err(format!(
                "{limit} is set per instrument: give \"instrument\""
            ));
        }
        (false, Some(_)) => return Err(format!("{limit} is an account limit: no \"instrument\"")),
        (false, None) => (ACCOUNT, None, snapshot.control.limits.get(id)),
        (true, Some(product)) => {
            let (index, status) = snapshot
                .instruments
                .iter()
                .take(snapshot.count)
                .enumerate()
                .find_map(|(i, s)| {
                    s.as_ref()
                        .filter(|s| s.symbol.as_str() == product)
                        .map(|s| (i, s))
                })
                .ok_or_else(|| format!("unknown instrument {product:?}"))?;
            let limits = status
                .limits
                .ok_or_else(|| format!("{product} has no limits yet (its rules are not known)"))?;
            (index as u16, Some(status), limits.get(id))
        }
    };
    let old = old.ok_or_else(|| format!("{limit} is not readable"))?;
    let text = value.trim();
    let parsed = match id.unit() {
        LimitUnit::Money => {
            Money::parse(text)
                .map_err(|e| format!("value {text:?}: {e}"))?
                .0
        }
        LimitUnit::Lots => {
            let status = status.ok_or("a size needs an instrument")?;
            i128::from(
                status
                    .base_increment
                    .parse_count(text.as_bytes())
                    .map_err(|e| {
                        format!(
                            "value {text:?}: {e} (base increment {})",
                            status.base_increment.display(1)
                        )
                    })?,
            )
        }
        LimitUnit::Bps | LimitUnit::Count | LimitUnit::Millis => text
            .parse::<u64>()
            .map(i128::from)
            .map_err(|_| format!("value {text:?} is not a whole non-negative number"))?,
    };
    if parsed < 0 || parsed > id.value_max() {
        return Err(format!("value {text:?} is out of range for {limit}"));
    }
    Ok(LimitChange {
        limit: id,
        instrument: index,
        value: parsed,
        old,
    })
}

pub fn money(value: Money) -> String {
    value.display().to_string()
}

pub fn position_json(status: &InstrumentStatus) -> Value {
    json!({
        "position": status.base_increment.display(status.position_lots).to_string(),
        "realized_pnl": money(status.realized),
        "unrealized_pnl": money(status.unrealized),
        "cost_basis": money(status.cost_basis),
        "fees": money(status.fees),
        "fills": status.fills,
    })
}
