//! What the cold side reads of the hot thread, without ever locking it: the status
//! snapshots it publishes into a triple buffer, and copies of its latency histograms that it
//! publishes when asked. The mutexes here are between cold threads only (the status log,
//! the admin endpoint, the metrics scrape).

use crate::hot::LatencyTap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use traider_core::engine::StatusSnapshot;
use traider_core::pipeline::latency::Latency;

/// The hot thread's latest status snapshot, shared by the cold readers.
#[derive(Clone)]
pub struct StatusBoard {
    inner: Arc<Mutex<StatusState>>,
}

struct StatusState {
    output: triple_buffer::Output<StatusSnapshot>,
    /// Wall-clock time the snapshot last changed (liveness of the hot path).
    changed_at: Instant,
    last_now_ns: u64,
}

impl StatusBoard {
    /// A board and the input the hot thread writes (`initial` until it does).
    pub fn new(initial: &StatusSnapshot) -> (Self, triple_buffer::Input<StatusSnapshot>) {
        let (input, output) = triple_buffer::TripleBuffer::new(initial).split();
        let board = Self {
            inner: Arc::new(Mutex::new(StatusState {
                output,
                changed_at: Instant::now(),
                last_now_ns: initial.now_ns,
            })),
        };
        (board, input)
    }

    /// The latest snapshot (a copy).
    pub fn read(&self) -> StatusSnapshot {
        let mut state = self.lock();
        let snapshot = *state.output.read();
        if snapshot.now_ns != state.last_now_ns {
            state.changed_at = Instant::now();
            state.last_now_ns = snapshot.now_ns;
        }
        snapshot
    }

    /// How long ago the hot path last published a changed snapshot.
    pub fn quiet_for(&self) -> Duration {
        self.read();
        self.lock().changed_at.elapsed()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StatusState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Latency histograms, copied by the hot thread at its next status refresh after a
/// request.
#[derive(Clone)]
pub struct LatencyBoard {
    output: Arc<Mutex<triple_buffer::Output<Latency>>>,
    wanted: Arc<AtomicBool>,
}

impl LatencyBoard {
    pub fn new() -> (Self, LatencyTap) {
        let (input, output) = triple_buffer::TripleBuffer::new(&Latency::new()).split();
        let wanted = Arc::new(AtomicBool::new(false));
        let board = Self {
            output: Arc::new(Mutex::new(output)),
            wanted: Arc::clone(&wanted),
        };
        (board, (input, wanted))
    }

    /// Asks the hot thread for fresh copies and waits up to `wait` for them; returns the
    /// newest copy there is (possibly an older one, if the hot path was idle).
    pub async fn fresh(&self, wait: Duration) -> Latency {
        self.wanted.store(true, Ordering::Release);
        let deadline = Instant::now() + wait;
        loop {
            {
                let mut output = self.lock();
                if output.updated() || Instant::now() >= deadline {
                    return output.read().clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, triple_buffer::Output<Latency>> {
        self.output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
