//! The Coinbase market-data subscription protocol as the WebSocket client sees it: the
//! subscribe/unsubscribe messages it sends, the byte-level envelope scan it runs on every
//! received frame, and the per-connection `sequence_num` gap check.
//!
//! Runs on the market-data cold thread (tokio). The scan never parses JSON (the hot thread
//! does that); it looks only at the first [`ENVELOPE_SCAN_BYTES`] bytes of a frame, never
//! allocates and never panics, whatever the input.

use serde::Serialize;

/// How many leading bytes of a frame the envelope scan looks at. Coinbase writes
/// `channel`, `timestamp` and `sequence_num` first, then the first event's `type` and
/// `product_id`, all well inside this prefix (an `l2_data` snapshot reaches `product_id` at
/// byte ~120).
pub const ENVELOPE_SCAN_BYTES: usize = 256;

/// The envelope fields found in a frame's prefix. Every field is optional: a frame from a
/// future protocol version, or garbage, simply yields `None`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `channel` (e.g. `l2_data`, `heartbeats`).
    pub channel: Option<&'a [u8]>,
    /// `sequence_num`, the per-connection counter.
    pub sequence_num: Option<u64>,
    /// The first `type` value: the first event's `snapshot`/`update`, or `error` for an
    /// error frame (which has no channel).
    pub kind: Option<&'a [u8]>,
    /// The first `product_id` value (of the first event for `l2_data`).
    pub product_id: Option<&'a [u8]>,
}

impl Envelope<'_> {
    /// True for `{"type":"error",...}` frames, which carry no channel.
    pub fn is_error(&self) -> bool {
        self.channel.is_none() && self.kind == Some(b"error")
    }

    /// True for an `l2_data` snapshot event.
    pub fn is_l2_snapshot(&self) -> bool {
        self.channel == Some(b"l2_data") && self.kind == Some(b"snapshot")
    }
}

/// Scans the first [`ENVELOPE_SCAN_BYTES`] of `frame` for the envelope fields.
pub fn scan_envelope(frame: &[u8]) -> Envelope<'_> {
    let prefix = &frame[..frame.len().min(ENVELOPE_SCAN_BYTES)];
    Envelope {
        channel: find_value(prefix, b"\"channel\"").and_then(string_value),
        sequence_num: find_value(prefix, b"\"sequence_num\"").and_then(number_value),
        kind: find_value(prefix, b"\"type\"").and_then(string_value),
        product_id: find_value(prefix, b"\"product_id\"").and_then(string_value),
    }
}

/// The bytes after the first `"key"` followed by optional whitespace and a colon.
fn find_value<'a>(haystack: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while from + key.len() <= haystack.len() {
        let index = from + haystack[from..].windows(key.len()).position(|w| w == key)?;
        let rest = skip_whitespace(&haystack[index + key.len()..]);
        if let Some((b':', value)) = rest.split_first() {
            return Some(skip_whitespace(value));
        }
        from = index + 1;
    }
    None
}

fn skip_whitespace(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// A JSON string without escapes, complete within the prefix.
fn string_value(value: &[u8]) -> Option<&[u8]> {
    let (&b'"', body) = value.split_first()? else {
        return None;
    };
    let end = body.iter().position(|&b| b == b'"' || b == b'\\')?;
    (body[end] == b'"').then_some(&body[..end])
}

/// A non-negative JSON integer, complete within the prefix (a number cut off by the end of
/// the prefix is rejected rather than misread).
fn number_value(value: &[u8]) -> Option<u64> {
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits == value.len() {
        return None;
    }
    if matches!(value[digits], b'.' | b'e' | b'E') {
        return None;
    }
    value[..digits].iter().try_fold(0u64, |n, &b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// What one frame's `sequence_num` says about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Exactly the next expected number.
    InOrder,
    /// A forward jump: `expected .. got` were lost.
    Gap { expected: u64, got: u64 },
    /// Lower than expected (late or duplicate): ignored, as Coinbase allows.
    Stale { expected: u64, got: u64 },
}

/// One `sequence_num` counter per connection, across every channel and product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequenceTracker {
    next_expected: u64,
}

impl SequenceTracker {
    /// A tracker for a fresh connection, whose first message carries 0.
    pub fn new() -> Self {
        Self { next_expected: 0 }
    }

    /// Checks `got` and advances past it (a stale number does not move the counter back).
    pub fn check(&mut self, got: u64) -> SequenceCheck {
        let expected = self.next_expected;
        if got < expected {
            return SequenceCheck::Stale { expected, got };
        }
        self.next_expected = got.saturating_add(1);
        if got == expected {
            SequenceCheck::InOrder
        } else {
            SequenceCheck::Gap { expected, got }
        }
    }

    /// The number the next message should carry.
    pub fn next_expected(&self) -> u64 {
        self.next_expected
    }
}

/// Subscribe or unsubscribe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscribeKind {
    Subscribe,
    Unsubscribe,
}

#[derive(Serialize)]
struct SubscribeMessage<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    product_ids: &'a [String],
    channel: &'a str,
}

/// One (un)subscribe message for one channel, in the field order Coinbase's own clients
/// use: `{"type":"subscribe","product_ids":[...],"channel":"level2"}`.
pub fn subscribe_message(kind: SubscribeKind, channel: &str, product_ids: &[String]) -> String {
    let kind = match kind {
        SubscribeKind::Subscribe => "subscribe",
        SubscribeKind::Unsubscribe => "unsubscribe",
    };
    let message = SubscribeMessage {
        kind,
        product_ids,
        channel,
    };
    serde_json::to_string(&message).expect("a struct of strings always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const L2: &[u8] = br#"{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.59377133Z","sequence_num":13,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid""#;

    #[test]
    fn scans_a_real_l2_snapshot_envelope() {
        // Proves the scan finds channel, sequence_num, snapshot type and product in a recorded prefix.
        let envelope = scan_envelope(L2);
        assert_eq!(envelope.channel, Some(&b"l2_data"[..]));
        assert_eq!(envelope.sequence_num, Some(13));
        assert!(envelope.is_l2_snapshot());
        assert_eq!(envelope.product_id, Some(&b"BTC-USD"[..]));
    }

    #[test]
    fn scans_error_frames_and_tolerates_whitespace() {
        // Proves error frames are recognised and spaced JSON still scans.
        let envelope = scan_envelope(br#"{"type" : "error", "message":"authentication failure"}"#);
        assert!(envelope.is_error());
        let spaced = scan_envelope(br#"{ "channel" : "heartbeats", "sequence_num" : 7 , "#);
        assert_eq!(spaced.channel, Some(&b"heartbeats"[..]));
        assert_eq!(spaced.sequence_num, Some(7));
    }

    #[test]
    fn rejects_numbers_cut_by_the_prefix_or_not_integers() {
        // Proves a sequence_num cut by the scan window or not a u64 integer is never misread.
        let mut frame = vec![b' '; ENVELOPE_SCAN_BYTES - 17];
        frame.extend_from_slice(br#""sequence_num":12345,"#);
        assert_eq!(scan_envelope(&frame).sequence_num, None);
        assert_eq!(scan_envelope(br#"{"sequence_num":1.5}"#).sequence_num, None);
        assert_eq!(scan_envelope(br#"{"sequence_num":-1}"#).sequence_num, None);
        assert_eq!(
            scan_envelope(br#"{"sequence_num":99999999999999999999}"#).sequence_num,
            None
        );
    }

    #[test]
    fn tracker_reports_forward_gaps_and_ignores_stale_numbers() {
        // Proves one counter reports forward gaps and ignores lower numbers without moving back.
        let mut tracker = SequenceTracker::new();
        assert_eq!(tracker.check(0), SequenceCheck::InOrder);
        assert_eq!(tracker.check(1), SequenceCheck::InOrder);
        assert_eq!(
            tracker.check(4),
            SequenceCheck::Gap {
                expected: 2,
                got: 4
            }
        );
        assert_eq!(
            tracker.check(3),
            SequenceCheck::Stale {
                expected: 5,
                got: 3
            }
        );
        assert_eq!(tracker.check(5), SequenceCheck::InOrder);
        assert_eq!(
            tracker.check(u64::MAX),
            SequenceCheck::Gap {
                expected: 6,
                got: u64::MAX
            }
        );
    }

    #[test]
    fn subscribe_message_matches_the_recorded_client() {
        // Proves the subscribe text is byte-identical to what the recorded client sent.
        let ids = vec!["BTC-USD".to_string(), "ETH-USD".to_string()];
        assert_eq!(
            subscribe_message(SubscribeKind::Subscribe, "level2", &ids),
            r#"{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}"#
        );
        assert!(
            subscribe_message(SubscribeKind::Unsubscribe, "level2", &ids)
                .starts_with(r#"{"type":"unsubscribe","#)
        );
    }

    proptest! {
        #[test]
        fn scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            // Proves the scan survives arbitrary bytes.
            let _ = scan_envelope(&bytes);
        }

        #[test]
        fn scan_never_panics_on_near_envelopes(
            tail in "[\"a-z_:0-9 ,{}\\\\.-]{0,300}"
        ) {
            // Proves the scan survives envelope-like garbage around sequence_num.
            let frame = format!("{{\"channel\":\"l2_data\",\"sequence_num\":{tail}");
            let _ = scan_envelope(frame.as_bytes());
        }
    }
}
