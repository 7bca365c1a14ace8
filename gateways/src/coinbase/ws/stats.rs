//! Market-data client counters, written by the client's task and readable from any thread.

use std::sync::atomic::{AtomicU64, Ordering};

/// Client counters, updated as it runs (relaxed atomics: they are statistics, not signals).
#[derive(Debug, Default)]
pub struct WsStats {
    frames: AtomicU64,
    bytes: AtomicU64,
    binary_frames: AtomicU64,
    error_frames: AtomicU64,
    gaps: AtomicU64,
    resubscribes: AtomicU64,
    connects: AtomicU64,
    reconnects: AtomicU64,
    heartbeat_silences: AtomicU64,
}

/// A copy of [`WsStats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WsStatsSnapshot {
    /// Text frames forwarded to the sink.
    pub frames: u64,
    /// Bytes of those frames.
    pub bytes: u64,
    /// Binary frames received and ignored.
    pub binary_frames: u64,
    /// `{"type":"error"}` frames (also forwarded).
    pub error_frames: u64,
    /// Forward `sequence_num` gaps.
    pub gaps: u64,
    /// `level2` unsubscribe + subscribe rounds after a gap.
    pub resubscribes: u64,
    /// Successful connects.
    pub connects: u64,
    /// Reconnect attempts scheduled (after a failed connect or an ended connection).
    pub reconnects: u64,
    /// Heartbeat timeouts.
    pub heartbeat_silences: u64,
}

impl WsStats {
    pub fn snapshot(&self) -> WsStatsSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WsStatsSnapshot {
            frames: read(&self.frames),
            bytes: read(&self.bytes),
            binary_frames: read(&self.binary_frames),
            error_frames: read(&self.error_frames),
            gaps: read(&self.gaps),
            resubscribes: read(&self.resubscribes),
            connects: read(&self.connects),
            reconnects: read(&self.reconnects),
            heartbeat_silences: read(&self.heartbeat_silences),
        }
    }

    pub(super) fn add_frame(&self, bytes: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(super) fn add_binary_frame(&self) {
        self.binary_frames.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_error_frame(&self) {
        self.error_frames.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_resubscribe(&self) {
        self.resubscribes.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_connect(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_heartbeat_silence(&self) {
        self.heartbeat_silences.fetch_add(1, Ordering::Relaxed);
    }
}
