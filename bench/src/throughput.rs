//! Replay throughput on one core: the whole capture, pre-loaded as input slots, through
//! `HotPath::process` on the calling thread, with no ring in between.
//!
//! Each pass starts from a fresh hot path (engine, decoder, journal) built outside the timed
//! region, so every pass replays the same session from the same state, exactly as
//! `traiderd replay` would. Order commands go to a counting sink instead of the output ring.

use crate::session::{FrameClass, Session};
use anyhow::Context;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tempfile::TempDir;
use traider_core::engine::Engine;
use traider_core::input::InputSlot;
use traider_core::pipeline::HotPath;
use traider_core::pipeline::latency::Stamp;
use traider_core::pipeline::ring::{Output, OutputSink};
use traider_gateways::coinbase::parse::CoinbaseDecoder;
use traiderd::config::DaemonConfig;
use traiderd::hot;
use traiderd::hot::Journal;

/// Counts order commands (stands in for the output ring when nothing drains it).
#[derive(Default)]
pub struct CountSink {
    pub commands: u64,
}

impl OutputSink for CountSink {
    #[inline]
    fn publish(&mut self, output: Output) {
        self.commands += u64::from(matches!(output, Output::Command { .. }));
    }
}

pub type ReplayHot = HotPath<CoinbaseDecoder, Journal, CountSink>;

/// Whether a replay journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalMode {
    Off,
    /// An mmap journal in a fresh temporary directory.
    On,
}

impl JournalMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "journal_off",
            Self::On => "journal_on",
        }
    }

    /// A journal of this mode; the directory (if any) and the journal's cold keeper thread
    /// (prefaulting ahead of the writer, as `traiderd` runs it) live as long as the guard.
    pub fn open(self, config: &DaemonConfig) -> anyhow::Result<(Journal, Option<JournalGuard>)> {
        match self {
            Self::Off => Ok((Journal::Off, None)),
            Self::On => {
                let dir = tempfile::Builder::new()
                    .prefix("traider-bench-journal")
                    .tempdir()
                    .context("cannot create a temporary journal directory")?;
                let (journal, _recovery) = Journal::open(dir.path(), &config.journal)
                    .context("cannot open the bench journal")?;
                let stop = Arc::new(AtomicBool::new(false));
                let keeper = match journal.syncer() {
                    Some(syncer) => Some(
                        hot::spawn_journal_keeper(syncer, &config.journal, Arc::clone(&stop))
                            .context("cannot start the journal keeper")?,
                    ),
                    None => None,
                };
                Ok((
                    journal,
                    Some(JournalGuard {
                        _dir: dir,
                        keeper,
                        stop,
                    }),
                ))
            }
        }
    }
}

/// A bench journal's directory and keeper thread; dropping it stops the keeper and removes
/// the directory.
pub struct JournalGuard {
    _dir: TempDir,
    keeper: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Drop for JournalGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

/// A fresh replay hot path (simulated venue inside, as in `traiderd replay`).
pub fn build(config: &DaemonConfig, journal: Journal) -> anyhow::Result<ReplayHot> {
    let engine = Engine::new(config.engine_settings(), true).context("invalid engine settings")?;
    Ok(HotPath::new(
        engine,
        hot::decoder(config),
        journal,
        CountSink::default(),
        hot::limits(config),
    ))
}

/// Where a pass's time went, by input: products body, l2 snapshots, l2 updates, the rest.
pub const TIME_SHARES: [&str; 4] = ["products", "l2_snapshot", "l2_update", "other"];

/// One timed pass over the whole session.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pass {
    pub elapsed_ns: u64,
    /// Time spent on the inputs after the last snapshot (steady state).
    pub steady_ns: u64,
    /// `elapsed_ns` split as [`TIME_SHARES`] (controls count as "other").
    pub share_ns: [u64; 4],
    pub inputs: u64,
    pub level_updates: u64,
    pub steady_level_updates: u64,
    pub commands: u64,
}

/// A hot path and the session's input slots, replayed pass after pass.
///
/// The first pass of a new `Replayer` is *cold*, like a `traiderd replay` process: the
/// decoder's buffers, the scratch frame and the books fault their pages in on the first
/// snapshot. Later passes are *warm*: the same memory, event time moved on by
/// [`Session::pass_offset_ns`], the products body again, then `Connected` and every frame,
/// so the snapshots resync the books exactly as in the first pass.
pub struct Replayer {
    hot: ReplayHot,
    slots: Vec<InputSlot>,
    /// Index into [`TIME_SHARES`] per slot.
    share: Vec<usize>,
    steady_from: usize,
    offset_ns: u64,
    passes: u64,
    _dir: Option<JournalGuard>,
}

impl Replayer {
    pub fn new(
        session: &Session,
        config: &DaemonConfig,
        mode: JournalMode,
    ) -> anyhow::Result<Self> {
        let (journal, dir) = mode.open(config)?;
        let slots = session.input_slots();
        let mut share = vec![0, 3];
        share.extend(session.frames.iter().map(|f| match f.class {
            FrameClass::L2Snapshot => 1,
            FrameClass::L2Update => 2,
            FrameClass::Other => 3,
        }));
        Ok(Self {
            hot: build(config, journal)?,
            slots,
            share,
            steady_from: 2 + session.warm_end(),
            offset_ns: session.pass_offset_ns(),
            passes: 0,
            _dir: dir,
        })
    }

    /// Replays the whole session once more.
    pub fn pass(&mut self) -> Pass {
        if self.passes > 0 {
            for slot in &mut self.slots {
                slot.ts_recv_ns += self.offset_ns;
            }
        }
        self.passes += 1;
        let stamp = Stamp::default();
        let counters =
            |hot: &ReplayHot| (hot.engine().counters().level_updates, hot.output().commands);
        let (levels_start, commands_start) = counters(&self.hot);
        let mut share_ns = [0; 4];
        let mut levels_steady = levels_start;
        let start = stamp.raw();
        let mut last = start;
        let mut steady_start = start;
        for (index, slot) in self.slots.iter().enumerate() {
            if index == self.steady_from {
                steady_start = last;
                levels_steady = self.hot.engine().counters().level_updates;
            }
            black_box(self.hot.process(slot));
            let now = stamp.raw();
            share_ns[self.share[index]] += stamp.delta_ns(last, now);
            last = now;
        }
        let (levels_end, commands_end) = counters(&self.hot);
        Pass {
            elapsed_ns: stamp.delta_ns(start, last),
            steady_ns: stamp.delta_ns(steady_start, last),
            share_ns,
            inputs: self.slots.len() as u64,
            level_updates: levels_end - levels_start,
            steady_level_updates: levels_end - levels_steady,
            commands: commands_end - commands_start,
        }
    }

    /// Fails when an input was not journaled or did not decode (the numbers would lie).
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.hot.journal_failures == 0
                && self.hot.engine().counters().decode_errors_total() == 0,
            "the replay must journal and decode every input"
        );
        Ok(())
    }
}

/// `cold` fresh replays (one pass each) and one replayer's `warm` passes after its first, on
/// the calling thread (pin it first).
pub fn replay_passes(
    session: &Session,
    config: &DaemonConfig,
    mode: JournalMode,
    cold: usize,
    warm: usize,
) -> anyhow::Result<(Vec<Pass>, Vec<Pass>)> {
    let mut cold_passes = Vec::with_capacity(cold);
    for _ in 0..cold {
        let mut replayer = Replayer::new(session, config, mode)?;
        cold_passes.push(replayer.pass());
        replayer.check()?;
    }
    let mut replayer = Replayer::new(session, config, mode)?;
    replayer.pass();
    let warm_passes = (0..warm).map(|_| replayer.pass()).collect();
    replayer.check()?;
    Ok((cold_passes, warm_passes))
}

/// Best and median of a per-pass rate (`value / seconds`).
pub fn best_and_median(passes: &[Pass], rate: impl Fn(&Pass) -> f64) -> (f64, f64) {
    let mut rates: Vec<f64> = passes.iter().map(rate).collect();
    rates.sort_by(f64::total_cmp);
    let best = rates.last().copied().unwrap_or(0.0);
    let half = rates.len() / 2;
    let median = match rates.len() {
        0 => 0.0,
        n if n % 2 == 1 => rates[half],
        _ => (rates[half - 1] + rates[half]) / 2.0,
    };
    (best, median)
}
