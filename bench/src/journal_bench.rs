//! The journal bench's sections (`cargo bench -p traider-bench --bench journal`): append
//! throughput and latency of `traider-journal` for 64- and 256-byte payloads under each
//! flush policy, next to raw baselines (a memcpy into a `Vec`, and into an mmap'd file with
//! no header and no checksum), warm (pages prefaulted) and cold (a fresh file).
//!
//! How: every run writes one region of [`REGION_BYTES`] (a fresh 64 MiB segment for the
//! journal, so no run rolls unless it says so) on one pinned thread. Throughput comes from
//! runs with one stamp pair around the whole region; latency from separate runs that stamp
//! every batch of [`BATCH`] appends and record batch time / [`BATCH`]: a stamp pair costs
//! ~10-20 ns, far more than one append, so per-append stamps would measure the clock. The
//! percentiles are therefore of 64-append averages (a single slow append shows up diluted
//! 64 times); the `durable` rows also report the time per group commit. Cold threads (the
//! syncer, the prefaulter) run on the other core. Files live under the target directory, on
//! the disk the daemon would use (not tmpfs, where msync costs nothing).
//!
//! The "paced" rows append one batch every [`PACE`] (about the daemon's peak rate rather
//! than flat out) into a fresh segment, without and with the prefaulter thread: they show
//! what page faults cost an append and what prefaulting ahead takes off the hot thread.

pub mod raw;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use traider_core::pipeline::latency::Stamp;
use traider_journal::{FlushPolicy, JournalWriter, Syncer, WriterOptions};

/// Bytes each run writes (records or raw copies).
pub const REGION_BYTES: usize = 64 << 20;
/// Appends per latency sample.
pub const BATCH: usize = 64;
/// Runs per measure and kind (throughput, latency); throughput is the median run.
pub const RUNS: usize = 5;
/// Group commits per `durable` run, and runs.
pub const DURABLE_COMMITS: usize = 400;
pub const DURABLE_RUNS: usize = 3;
/// Paced rows: one batch of [`BATCH`] appends per `PACE`, [`PACED_BATCHES`] per run.
pub const PACE: Duration = Duration::from_micros(50);
pub const PACED_BATCHES: usize = 2_000;

/// One measured configuration.
#[derive(Clone, Debug)]
pub struct Measure {
    pub name: String,
    pub payload_bytes: usize,
    /// Appends per second, median of the throughput runs.
    pub appends_per_s: f64,
    /// Per-append time, from batches, in picoseconds.
    pub per_append_ps: Histogram<u64>,
    /// Time of one group commit (`durable` only), in nanoseconds.
    pub per_commit_ns: Option<Histogram<u64>>,
    /// Minor page faults the appending thread took, per append (latency runs).
    pub faults_per_append: f64,
}

pub use crate::thread_minor_faults;

/// Where a run's files go: a fresh directory under `parent`, removed when dropped.
pub(crate) fn scratch(parent: &Path) -> anyhow::Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix("journal-bench-")
        .tempdir_in(parent)?)
}

/// The per-run work, timed: `sink(i)` does append number `i`; returns elapsed ns.
pub(crate) fn timed_run(stamp: &Stamp, count: usize, mut sink: impl FnMut(usize)) -> u64 {
    let start = stamp.raw();
    for i in 0..count {
        sink(i);
    }
    stamp.delta_ns(start, stamp.raw())
}

/// The per-batch work, stamped: records batch ns × 1000 / BATCH into `hist` (ps).
pub(crate) fn batched_run(
    stamp: &Stamp,
    count: usize,
    hist: &mut Histogram<u64>,
    mut sink: impl FnMut(usize),
) {
    let mut i = 0;
    while i + BATCH <= count {
        let start = stamp.raw();
        for j in i..i + BATCH {
            sink(j);
        }
        let ns = stamp.delta_ns(start, stamp.raw());
        hist.saturating_record((ns * 1000 / BATCH as u64).max(1));
        i += BATCH;
    }
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// How a journal run is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// `none` policy; the whole segment prefaulted first.
    NoneWarm,
    /// `none` policy; a fresh segment, each first store to a page faults.
    NoneCold,
    /// `none` policy; a fresh segment with a prefaulter thread running ahead.
    NonePrefaulter,
    /// `none` policy; 16 MiB segments, so the run rolls four times (a roll's cost in the tail).
    NoneRolling,
    /// The same, with the prefaulter thread, which also prepares each next segment (a
    /// spare), so the rolls make no system call on the appending thread.
    NoneRollingSpares,
    /// `none` policy, one batch per [`PACE`], fresh segment; with the prefaulter or not.
    Paced { prefaulter: bool },
    /// `interval_ms` = 10 with the syncer loop on the other core; warm segment.
    Interval,
    /// `durable`: one `sync_to` after every `n` appends, on the appending thread; warm.
    Durable(usize),
}

impl Setup {
    pub fn name(&self) -> String {
        match self {
            Self::NoneWarm => "journal none (warm)".to_owned(),
            Self::NoneCold => "journal none (cold)".to_owned(),
            Self::NonePrefaulter => "journal none (cold + prefaulter)".to_owned(),
            Self::NoneRolling => "journal none (cold, 16 MiB segments)".to_owned(),
            Self::NoneRollingSpares => {
                "journal none (16 MiB segments + prefaulter/spares)".to_owned()
            }
            Self::Paced { prefaulter: false } => "journal none (cold, paced)".to_owned(),
            Self::Paced { prefaulter: true } => {
                "journal none (cold + prefaulter, paced)".to_owned()
            }
            Self::Interval => "journal interval_ms=10 (warm)".to_owned(),
            Self::Durable(n) => format!("journal durable, sync every {n} (warm)"),
        }
    }

    /// Appends per run, and runs (throughput runs first, then latency runs).
    fn counts(&self, record_bytes: usize) -> (usize, usize) {
        match self {
            Self::Durable(n) => {
                let count = (n * DURABLE_COMMITS).min(REGION_BYTES / record_bytes);
                (count / n * n, DURABLE_RUNS)
            }
            Self::Paced { .. } => (PACED_BATCHES * BATCH, DURABLE_RUNS),
            _ => (REGION_BYTES / record_bytes / BATCH * BATCH, 2 * RUNS),
        }
    }

    /// Durable and paced runs are all latency runs; their rate comes from the same runs.
    fn only_latency_runs(&self) -> bool {
        matches!(self, Self::Durable(_) | Self::Paced { .. })
    }
}

/// A writer on a fresh journal in a scratch dir, prepared for `setup`.
fn open_writer(dir: &Path, setup: Setup) -> anyhow::Result<(JournalWriter, Syncer)> {
    let whole = REGION_BYTES as u64 + 4096;
    let (segment_bytes, flush) = match setup {
        Setup::NoneRolling | Setup::NoneRollingSpares => {
            ((REGION_BYTES / 4) as u64, FlushPolicy::None)
        }
        Setup::Interval => (whole, FlushPolicy::IntervalMs(10)),
        Setup::Durable(_) => (whole, FlushPolicy::Durable),
        _ => (whole, FlushPolicy::None),
    };
    let options = WriterOptions {
        segment_bytes,
        flush,
    };
    let (writer, _) = JournalWriter::open(dir, options)?;
    let syncer = writer.syncer();
    if matches!(setup, Setup::NoneWarm | Setup::Interval | Setup::Durable(_)) {
        syncer.prefault_ahead(segment_bytes as usize)?;
    }
    Ok((writer, syncer))
}

/// What the appending loop of one run measured.
struct Run<'a> {
    stamp: &'a Stamp,
    payload: &'a [u8],
    count: usize,
    latency: &'a mut Histogram<u64>,
    commits: &'a mut Histogram<u64>,
}

impl Run<'_> {
    /// Appends `count` records as `setup` says; returns the ns the appends took.
    fn append(
        &mut self,
        writer: &mut JournalWriter,
        syncer: &Syncer,
        setup: Setup,
        latency: bool,
    ) -> anyhow::Result<u64> {
        let mut ns_total = 0;
        let mut seq = 0;
        let per_batch = match setup {
            Setup::Durable(n) => n,
            _ => BATCH,
        };
        let start_all = self.stamp.raw();
        for _ in 0..self.count / per_batch {
            let paced_until = Instant::now() + PACE;
            let start = self.stamp.raw();
            for _ in 0..per_batch {
                seq = writer.append(7, seq, self.payload)?;
            }
            if let Setup::Durable(_) = setup {
                syncer.sync_to(seq)?;
            }
            if latency {
                let ns = self.stamp.delta_ns(start, self.stamp.raw());
                ns_total += ns;
                self.latency
                    .saturating_record((ns * 1000 / per_batch as u64).max(1));
                if let Setup::Durable(_) = setup {
                    self.commits.saturating_record(ns.max(1));
                }
            }
            if let Setup::Paced { .. } = setup {
                while Instant::now() < paced_until {
                    std::hint::spin_loop();
                }
            }
        }
        if setup.only_latency_runs() {
            return Ok(ns_total);
        }
        Ok(self.stamp.delta_ns(start_all, self.stamp.raw()))
    }
}

/// Appends of `payload_bytes` under `setup`: throughput runs, then latency runs. The
/// throughput runs stamp only the whole run (the loop is the same, minus the stamps).
pub fn journal(parent: &Path, setup: Setup, payload_bytes: usize) -> anyhow::Result<Measure> {
    let stamp = Stamp::default();
    let payload = vec![0x5Au8; payload_bytes];
    let (count, runs) = setup.counts(traider_journal::record_bytes(payload_bytes));
    let mut rates = Vec::new();
    let mut latency = crate::histogram();
    let mut commits = crate::histogram();
    let (mut faults, mut latency_runs) = (0, 0);
    let cold_core = crate::thread_cores().map(|(cold, _)| cold);
    for run in 0..runs {
        let dir = scratch(parent)?;
        let (mut writer, syncer) = open_writer(dir.path(), setup)?;
        let stop = AtomicBool::new(false);
        let is_latency = run >= RUNS || setup.only_latency_runs();
        let ns = std::thread::scope(|scope| -> anyhow::Result<u64> {
            let cold = cold_thread(scope, setup, &syncer, &stop, cold_core);
            let before = thread_minor_faults();
            let mut measure = Run {
                stamp: &stamp,
                payload: &payload,
                count,
                latency: &mut latency,
                commits: &mut commits,
            };
            let ns = measure.append(&mut writer, &syncer, setup, is_latency);
            if is_latency {
                faults += thread_minor_faults() - before;
                latency_runs += 1;
            }
            stop.store(true, Ordering::Release);
            if let Some(cold) = cold {
                cold.join()
                    .map_err(|_| anyhow::anyhow!("cold thread panicked"))??;
            }
            ns
        })?;
        if !is_latency || setup.only_latency_runs() {
            rates.push(count as f64 * 1e9 / ns.max(1) as f64);
        }
        anyhow::ensure!(
            writer.next_seq() as usize == count + 1,
            "{}: appends missing",
            setup.name()
        );
    }
    Ok(Measure {
        name: setup.name(),
        payload_bytes,
        appends_per_s: median(rates),
        per_append_ps: latency,
        per_commit_ns: matches!(setup, Setup::Durable(_)).then_some(commits),
        faults_per_append: faults as f64 / (latency_runs * count).max(1) as f64,
    })
}

type ColdThread<'scope> =
    std::thread::ScopedJoinHandle<'scope, Result<(), traider_journal::JournalError>>;

/// The cold-side duty of `setup`, on the other core: the interval syncer or the prefaulter.
fn cold_thread<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    setup: Setup,
    syncer: &'scope Syncer,
    stop: &'scope AtomicBool,
    core: Option<core_affinity::CoreId>,
) -> Option<ColdThread<'scope>> {
    let pin = move || {
        if let Some(core) = core {
            crate::pin(core);
        }
    };
    let (window, period) = match setup {
        Setup::Interval => {
            return Some(scope.spawn(move || {
                pin();
                syncer.run_interval(Duration::from_millis(10), stop)
            }));
        }
        // Flat out, the writer streams GB/s: a big window, refreshed often.
        Setup::NonePrefaulter | Setup::NoneRollingSpares => (8 << 20, Duration::from_micros(50)),
        // At a daemon's pace, a 1 MiB window every millisecond is plenty.
        Setup::Paced { prefaulter: true } => (1 << 20, Duration::from_millis(1)),
        _ => return None,
    };
    Some(scope.spawn(move || {
        pin();
        syncer.run_prefault(window, period, stop)
    }))
}

/// The directory the bench writes under (created): `target/journal-bench`.
pub fn bench_parent() -> anyhow::Result<PathBuf> {
    let parent = crate::target_dir().join("journal-bench");
    std::fs::create_dir_all(&parent)?;
    Ok(parent)
}
