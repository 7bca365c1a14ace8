//! Wall-clock time for the cold path: the sequencer's receive stamps and request signing.
//! (The core never reads a clock; this is where the inputs' times come from in live modes.)

use std::time::{SystemTime, UNIX_EPOCH};

/// UNIX nanoseconds now.
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// UNIX seconds now.
pub fn unix_now_s() -> u64 {
    unix_now_ns() / 1_000_000_000
}
