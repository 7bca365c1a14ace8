//! The replay server's side of the Coinbase subscription protocol: parsing client
//! (un)subscribe messages, and writing the messages the server makes up itself
//! (`subscriptions` acks, heartbeats, errors) in the venue's shape and field order.
//! Pure functions, called from the connection tasks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a client frame asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `product_ids: None` when the message omitted them.
    Subscribe {
        channel: String,
        product_ids: Option<Vec<String>>,
    },
    Unsubscribe {
        channel: String,
        product_ids: Option<Vec<String>>,
    },
    /// Not a usable request; the reason goes back in an error frame.
    Invalid(String),
}

/// Public channels this replay knows (subscribe names).
const PUBLIC_CHANNELS: [&str; 7] = [
    "heartbeats",
    "candles",
    "market_trades",
    "status",
    "ticker",
    "ticker_batch",
    "level2",
];
/// Channels that need a JWT, which a replay of public data cannot serve.
const PRIVATE_CHANNELS: [&str; 2] = ["user", "futures_balance_summary"];

#[derive(Deserialize)]
struct WireRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    channel: Option<String>,
    product_ids: Option<Vec<String>>,
    channels: Option<serde_json::Value>,
}

/// Parses one client text frame.
pub fn parse_command(text: &str) -> Command {
    let request: WireRequest = match serde_json::from_str(text) {
        Ok(request) => request,
        Err(error) => return Command::Invalid(format!("malformed message: {error}")),
    };
    let Some(channel) = request.channel else {
        let hint = if request.channels.is_some() {
            ": use one \"channel\" per message"
        } else {
            ""
        };
        return Command::Invalid(format!("message without \"channel\"{hint}"));
    };
    let product_ids = request.product_ids;
    match request.kind.as_deref() {
        Some("subscribe") => Command::Subscribe {
            channel,
            product_ids,
        },
        Some("unsubscribe") => Command::Unsubscribe {
            channel,
            product_ids,
        },
        other => Command::Invalid(format!("unknown message type {other:?}")),
    }
}

/// The product list a request applies to: `["heartbeats"]` for heartbeats (as the venue
/// lists it), the requested ids otherwise; an empty list for an unsubscribe without ids
/// (= the whole channel). Errs for unknown or private channels and product-less subscribes.
pub fn products_for(
    channel: &str,
    product_ids: Option<Vec<String>>,
    subscribe: bool,
) -> Result<Vec<String>, String> {
    if PRIVATE_CHANNELS.contains(&channel) {
        return Err("authentication failure".to_string());
    }
    if !PUBLIC_CHANNELS.contains(&channel) {
        return Err(format!("Failed to subscribe: unknown channel {channel:?}"));
    }
    if channel == "heartbeats" {
        return Ok(vec!["heartbeats".to_string()]);
    }
    match product_ids {
        Some(ids) if !ids.is_empty() => Ok(ids),
        _ if !subscribe => Ok(Vec::new()),
        _ => Err(format!(
            "Failed to subscribe: channel {channel:?} needs product_ids"
        )),
    }
}

#[derive(Serialize)]
struct Envelope<'a, E: Serialize> {
    channel: &'a str,
    timestamp: &'a str,
    sequence_num: u64,
    events: [E; 1],
}

#[derive(Serialize)]
struct AckEvent<'a> {
    subscriptions: &'a BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct HeartbeatEvent<'a> {
    current_time: &'a str,
    heartbeat_counter: u64,
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("maps and structs of strings always serialize")
}

/// `{"channel":"subscriptions",...,"events":[{"subscriptions":{channel: [products]}}]}`,
/// channels in name order like the venue.
pub fn ack_frame(
    timestamp: &str,
    sequence_num: u64,
    subscriptions: &BTreeMap<String, Vec<String>>,
) -> String {
    to_json(&Envelope {
        channel: "subscriptions",
        timestamp,
        sequence_num,
        events: [AckEvent { subscriptions }],
    })
}

/// A heartbeat shaped like the recorded ones (counter as a JSON number).
pub fn heartbeat_frame(
    timestamp: &str,
    sequence_num: u64,
    current_time: &str,
    heartbeat_counter: u64,
) -> String {
    to_json(&Envelope {
        channel: "heartbeats",
        timestamp,
        sequence_num,
        events: [HeartbeatEvent {
            current_time,
            heartbeat_counter,
        }],
    })
}

/// `{"type":"error","message":...}`.
pub fn error_frame(message: &str) -> String {
    to_json(&ErrorFrame {
        kind: "error",
        message,
    })
}

#[derive(Serialize)]
struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_recorded_subscribe_and_rejects_legacy_shapes() {
        // Proves the recorded subscribe parses and legacy/garbage requests become errors.
        let text = r#"{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}"#;
        let ids = Some(vec!["BTC-USD".to_string(), "ETH-USD".to_string()]);
        assert_eq!(
            parse_command(text),
            Command::Subscribe {
                channel: "level2".into(),
                product_ids: ids
            }
        );
        let legacy = parse_command(r#"{"type":"subscribe","channels":["level2"]}"#);
        assert!(matches!(legacy, Command::Invalid(reason) if reason.contains("one \"channel\"")));
        assert!(matches!(parse_command("{"), Command::Invalid(_)));
        assert!(matches!(
            parse_command(r#"{"type":"hello","channel":"x"}"#),
            Command::Invalid(_)
        ));
    }

    #[test]
    fn product_lists_follow_the_venue_rules() {
        // Proves heartbeats list "heartbeats", unsubscribe-all works, private/unknown channels fail.
        assert_eq!(
            products_for("heartbeats", None, true),
            Ok(vec!["heartbeats".to_string()])
        );
        assert_eq!(products_for("level2", None, false), Ok(vec![]));
        assert!(products_for("level2", Some(vec![]), true).is_err());
        assert_eq!(
            products_for("user", None, true),
            Err("authentication failure".to_string())
        );
        assert!(products_for("l2_data", Some(vec!["BTC-USD".into()]), true).is_err());
    }

    #[test]
    fn synthesized_messages_match_the_recorded_shapes() {
        // Proves acks, heartbeats and errors use the venue field order.
        let mut subscriptions = BTreeMap::new();
        subscriptions.insert("level2".to_string(), vec!["BTC-USD".to_string()]);
        subscriptions.insert("heartbeats".to_string(), vec!["heartbeats".to_string()]);
        assert_eq!(
            ack_frame("T", 3, &subscriptions),
            r#"{"channel":"subscriptions","timestamp":"T","sequence_num":3,"events":[{"subscriptions":{"heartbeats":["heartbeats"],"level2":["BTC-USD"]}}]}"#
        );
        assert_eq!(
            heartbeat_frame("T", 4, "C", 41716),
            r#"{"channel":"heartbeats","timestamp":"T","sequence_num":4,"events":[{"current_time":"C","heartbeat_counter":41716}]}"#
        );
        assert_eq!(error_frame("x"), r#"{"type":"error","message":"x"}"#);
    }
}
