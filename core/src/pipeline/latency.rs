//! Latency instrumentation: `quanta` stamps into `hdrhistogram`s, one per hot-path stage.
//!
//! This is the only module of the core allowed to read a clock. Its stamps measure the
//! pipeline and never feed a decision.
#![allow(clippy::disallowed_methods)]

use hdrhistogram::Histogram;

/// Stages of the hot path, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Appending the input to the journal.
    Journal = 0,
    Decode = 1,
    /// Event time, simulated-venue arrivals, books and trades.
    Book = 2,
    /// The strategy.
    Signal = 3,
    Risk = 4,
    /// Order manager, commands, journaling decisions and publishing to the output ring.
    Order = 5,
    /// The whole input, start to end.
    Input = 6,
    /// From the input's publish into the ring to its first order command leaving the hot path.
    TickToOrder = 7,
    /// From the input's publish into the ring to the hot thread taking it (time queued).
    Queue = 8,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Journal,
        Stage::Decode,
        Stage::Book,
        Stage::Signal,
        Stage::Risk,
        Stage::Order,
        Stage::Input,
        Stage::TickToOrder,
        Stage::Queue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Journal => "journal",
            Stage::Decode => "decode",
            Stage::Book => "book",
            Stage::Signal => "signal",
            Stage::Risk => "risk",
            Stage::Order => "order",
            Stage::Input => "input",
            Stage::TickToOrder => "tick_to_order",
            Stage::Queue => "queue",
        }
    }
}

/// A shared view of the machine's TSC, calibrated once.
#[derive(Clone)]
pub struct Stamp {
    clock: quanta::Clock,
}

impl Default for Stamp {
    fn default() -> Self {
        Self {
            clock: quanta::Clock::new(),
        }
    }
}

impl Stamp {
    /// A raw counter reading (cheap: one `rdtsc` where available).
    #[inline]
    pub fn raw(&self) -> u64 {
        self.clock.raw()
    }

    #[inline]
    pub fn delta_ns(&self, start_raw: u64, end_raw: u64) -> u64 {
        self.clock.delta_as_nanos(start_raw, end_raw)
    }
}

/// Percentiles of one histogram, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// One histogram per stage. Recording never allocates (bounds fixed at creation).
#[derive(Clone)]
pub struct Latency {
    histograms: Vec<Histogram<u64>>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        let make = || {
            Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("static histogram bounds are valid")
        };
        Self {
            histograms: Stage::ALL.iter().map(|_| make()).collect(),
        }
    }

    #[inline]
    pub fn record(&mut self, stage: Stage, nanos: u64) {
        self.histograms[stage as usize].saturating_record(nanos.max(1));
    }

    pub fn histogram(&self, stage: Stage) -> &Histogram<u64> {
        &self.histograms[stage as usize]
    }

    pub fn percentiles(&self, stage: Stage) -> Percentiles {
        let h = self.histogram(stage);
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }

    /// Becomes a copy of `other` without allocating (same bounds).
    pub fn copy_from(&mut self, other: &Latency) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            mine.reset();
            // Both have the same bounds, so adding cannot fail.
            let _ = mine.add(theirs);
        }
    }

    pub fn merge(&mut self, other: &Latency) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            // Both have the same bounds, so adding cannot fail.
            let _ = mine.add(theirs);
        }
    }
}
