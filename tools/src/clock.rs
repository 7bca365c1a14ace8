//! Wall-clock time for the cold path: the sequencer's receive stamps and session names.
//! (The core never reads a clock; this is where input times come from in live modes.)

use std::time::{SystemTime, UNIX_EPOCH};

/// UNIX nanoseconds now.
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A file-name-safe UTC stamp, e.g. `2026-12-01T19-01-45Z`.
pub fn session_stamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "-")
}
