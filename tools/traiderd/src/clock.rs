//! Wall-clock time for the cold path: the sequencer's receive stamps, session names and
//! times as people read them. (The core never reads a clock; this is where input times come
//! from in live modes.)

use std::time::SystemTime;

pub use traider_gateways::clock::unix_now_ns;

/// A file-name-safe UTC stamp, e.g. `2026-12-01T19-01-45Z`.
pub fn session_stamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "-")
}

/// An event time (UNIX nanoseconds) as RFC 3339 UTC with nanoseconds.
pub fn format_ts(ts_ns: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ts_ns);
    humantime::format_rfc3339_nanos(time).to_string()
}
