//! The venue clock: one task plays the capture's recorded frames once, on one timeline for
//! the whole venue, paced by the recorded receive-time deltas divided by `speed`. Each frame
//! moves the venue's books, matches our resting orders (crossing book, prints trading
//! through, stops a print reached) and is published for the sessions. After the end it loops or synthesizes a
//! heartbeat every `heartbeat_interval`. On every step it also expires GTD orders whose
//! `end_time` has passed on the wall clock.
//!
//! Runs as one tokio task; takes the venue lock once per frame.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Shared;
use super::venue::Moment;
use super::venue::{Venue, VenueEvent};
use crate::replay::clock::{format_go_time, now_unix_ns};

/// How long the clock runs between two saves of its position to the state file.
const CLOCK_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Venue time: recorded nanoseconds played since the start, and UNIX time from it.
#[derive(Debug)]
pub(crate) struct VenueClock {
    start: Instant,
    base_elapsed_ns: u64,
    speed: f64,
    /// UNIX ns of elapsed 0 (the capture's first envelope timestamp).
    origin_ns: u64,
}

impl VenueClock {
    pub fn new(base_elapsed_ns: u64, speed: f64, origin_ns: u64) -> Self {
        Self {
            start: Instant::now(),
            base_elapsed_ns,
            speed,
            origin_ns,
        }
    }

    pub fn elapsed_ns(&self) -> u64 {
        let wall_ns = self.start.elapsed().as_nanos() as f64;
        self.base_elapsed_ns + (wall_ns * self.speed) as u64
    }

    /// The venue's UNIX time now.
    pub fn now_ns(&self) -> u64 {
        self.origin_ns + self.elapsed_ns()
    }

    /// The venue's UNIX time when the clock reads `elapsed_ns`.
    pub fn unix_ns_at(&self, elapsed_ns: u64) -> u64 {
        self.origin_ns + elapsed_ns
    }

    /// When the clock reads `elapsed_ns`.
    fn instant_at(&self, elapsed_ns: u64) -> Instant {
        let ahead_ns = elapsed_ns.saturating_sub(self.base_elapsed_ns) as f64 / self.speed;
        self.start + Duration::from_nanos(ahead_ns as u64)
    }
}

/// Moves the venue past recorded frame `index`: books and mirror always; when `live`, the
/// frame is published and our resting orders are matched against it.
pub(crate) fn pass(shared: &Shared, venue: &mut Venue, index: usize, live: bool) {
    let Some(frame) = shared.data.frames.get(index) else {
        return;
    };
    for event in &frame.l2 {
        venue.mirror.apply(event);
        if let Some(rules) = shared.rules.get(&event.product_id) {
            venue
                .books
                .entry(event.product_id.clone())
                .or_default()
                .apply(event, rules);
        }
    }
    if !live {
        return;
    }
    venue.emit(|tick| VenueEvent::Frame { tick, index });
    let terms = shared.terms();
    let now_ns = shared.clock.now_ns();
    // The frame happened at its recorded time on the venue clock; when this task runs late
    // (a busy machine), orders created after that time must not trade against it.
    let at = Moment {
        now_ns,
        frame_ns: shared
            .clock
            .unix_ns_at(venue.ledger.loop_base_ns + frame_offset_ns(shared, index)),
    };
    for event in &frame.l2 {
        venue.match_crossing(&terms, &event.product_id, at);
    }
    for print in shared.prints.get(&index).into_iter().flatten() {
        venue.match_print(&terms, print, at);
        venue.trigger_stops(&terms, print, at);
    }
}

/// Offset of frame `index` from the first frame on the recorder's clock.
pub(crate) fn frame_offset_ns(shared: &Shared, index: usize) -> u64 {
    let frames = &shared.data.frames;
    let first = frames.first().map_or(0, |f| f.ts_ns);
    frames
        .get(index)
        .map_or(0, |f| f.ts_ns.saturating_sub(first))
}

/// Plays the recording from frame `cursor` until shutdown.
pub(crate) async fn run(shared: Arc<Shared>, mut cursor: usize) {
    let mut shutdown = shared.shutdown.clone();
    let frame_count = shared.data.frames.len();
    let duration_ns = frame_offset_ns(&shared, frame_count.saturating_sub(1));
    let mut next_heartbeat = Instant::now() + shared.config.heartbeat_interval;
    let mut last_save = Instant::now();
    loop {
        let loop_base = shared.lock().ledger.loop_base_ns;
        let due = if cursor < frame_count {
            shared
                .clock
                .instant_at(loop_base + frame_offset_ns(&shared, cursor))
        } else if shared.config.loop_playback && frame_count > 0 {
            let mut venue = shared.lock();
            let elapsed = shared.clock.elapsed_ns();
            venue.ledger.loop_base_ns = elapsed.max(loop_base + duration_ns + 1);
            cursor = 0;
            continue;
        } else {
            next_heartbeat
        };
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep_until(due) => {}
        }
        let mut venue = shared.lock();
        if cursor < frame_count {
            pass(&shared, &mut venue, cursor, true);
            cursor += 1;
        } else {
            heartbeat(&shared, &mut venue);
            next_heartbeat += shared.config.heartbeat_interval;
        }
        venue.expire(&shared.terms(), now_unix_ns(), shared.clock.now_ns());
        venue.ledger.clock_elapsed_ns = shared.clock.elapsed_ns();
        if last_save.elapsed() >= CLOCK_SAVE_INTERVAL {
            venue.dirty = true;
            last_save = Instant::now();
        }
        shared.commit(&mut venue);
    }
}

/// A heartbeat continuing the recorded ones: counter +1 each, times from the venue clock.
fn heartbeat(shared: &Shared, venue: &mut Venue) {
    let last = shared.data.last_heartbeat;
    venue.ledger.heartbeats_sent += 1;
    let counter = last.counter + venue.ledger.heartbeats_sent;
    let timestamp_ns = shared.clock.now_ns().max(last.timestamp_ns);
    let since_ns = timestamp_ns - last.timestamp_ns;
    let current_time = format_go_time(last.wall_ns + since_ns, last.monotonic_ns + since_ns);
    venue.emit(|tick| VenueEvent::Heartbeat {
        tick,
        timestamp_ns,
        current_time,
        counter,
    });
}
