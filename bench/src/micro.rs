//! Stage fixtures: decode alone and book updates alone, on the recorded `l2_data` updates.
//!
//! Both are used twice: as criterion bodies (mean with confidence interval, one iteration =
//! the whole session's update frames) and for hdr percentiles (one stamp pair per frame).
//! Per-level histograms hold each frame's time divided by its level count, in picoseconds.

use crate::session::{FrameClass, Session};
use hdrhistogram::Histogram;
use std::hint::black_box;
use traider_core::book::OrderBook;
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind, LevelChange, MarketEvent};
use traider_core::pipeline::latency::Stamp;
use traider_gateways::coinbase::parse::CoinbaseDecoder;
use traiderd::config::DaemonConfig;
use traiderd::hot;

/// Records one frame's time, whole and per level (ps).
fn record_frame(
    per_frame: &mut Histogram<u64>,
    per_level_ps: &mut Histogram<u64>,
    ns: u64,
    levels: usize,
) {
    per_frame.saturating_record(ns.max(1));
    if levels > 0 {
        per_level_ps.saturating_record((ns * 1_000 / levels as u64).max(1));
    }
}

/// A primed decoder and the session's update frames.
pub struct DecodeFixture {
    decoder: CoinbaseDecoder,
    batch: DecodedBatch,
    frames: Vec<Vec<u8>>,
    levels: Vec<usize>,
}

impl DecodeFixture {
    pub fn new(session: &Session, config: &DaemonConfig) -> Self {
        let mut decoder = hot::decoder(config);
        let mut batch = DecodedBatch::with_capacity(
            config.levels_per_frame_max(),
            config.limits.trades_per_frame_max,
        );
        let primed = decoder.decode(FrameKind::Products, &session.products, &mut batch);
        assert!(
            primed.is_ok(),
            "the session's products decoded when it was loaded"
        );
        let updates = session.updates();
        let (frames, levels) = updates.map(|f| (f.data.clone(), f.levels)).unzip();
        Self {
            decoder,
            batch,
            frames,
            levels,
        }
    }

    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    pub fn levels(&self) -> usize {
        self.levels.iter().sum()
    }

    pub fn bytes(&self) -> usize {
        self.frames.iter().map(Vec::len).sum()
    }

    /// Decodes frame `index` exactly as `HotPath::process` does (clear the batch, decode
    /// the slot's bytes); returns the level changes decoded.
    #[inline]
    pub fn decode(&mut self, index: usize) -> usize {
        self.batch.clear();
        let ok = self
            .decoder
            .decode(FrameKind::MarketData, &self.frames[index], &mut self.batch)
            .is_ok();
        self.batch.level_count() * usize::from(ok)
    }

    /// One criterion iteration: every update frame once.
    pub fn decode_all(&mut self) -> usize {
        (0..self.frames.len())
            .map(|i| black_box(self.decode(i)))
            .sum()
    }

    /// `passes` passes over the update frames, one sample per frame.
    pub fn record(
        &mut self,
        passes: usize,
        per_frame: &mut Histogram<u64>,
        per_level_ps: &mut Histogram<u64>,
    ) {
        let stamp = Stamp::default();
        for _ in 0..passes {
            for index in 0..self.frames.len() {
                let start = stamp.raw();
                let levels = black_box(self.decode(index));
                let end = stamp.raw();
                record_frame(per_frame, per_level_ps, stamp.delta_ns(start, end), levels);
            }
        }
    }
}

/// Books built from the real snapshots and the decoded update frames to apply to them.
pub struct BookFixture {
    books: Vec<OrderBook>,
    snapshots: Vec<Vec<LevelChange>>,
    /// (instrument index, level changes) per update frame, in order.
    updates: Vec<(usize, Vec<LevelChange>)>,
}

impl BookFixture {
    pub fn new(session: &Session, config: &DaemonConfig) -> Self {
        let mut decoder = hot::decoder(config);
        let mut batch = DecodedBatch::with_capacity(
            config.levels_per_frame_max(),
            config.limits.trades_per_frame_max,
        );
        let primed = decoder.decode(FrameKind::Products, &session.products, &mut batch);
        assert!(
            primed.is_ok(),
            "the session's products decoded when it was loaded"
        );
        let instruments = config.instruments.len();
        let mut snapshots = vec![Vec::new(); instruments];
        let mut updates = Vec::new();
        for frame in session
            .frames
            .iter()
            .filter(|f| f.class != FrameClass::Other)
        {
            batch.clear();
            let decoded = decoder.decode(FrameKind::MarketData, &frame.data, &mut batch);
            assert!(
                decoded.is_ok(),
                "every frame decoded when the session was loaded"
            );
            for event in &batch.events {
                match event {
                    MarketEvent::BookSnapshot { instrument, levels } => {
                        snapshots[instrument.index()] = batch.levels[levels.clone()].to_vec();
                    }
                    MarketEvent::BookUpdate { instrument, levels } => {
                        updates.push((instrument.index(), batch.levels[levels.clone()].to_vec()));
                    }
                    _ => {}
                }
            }
        }
        let books = (0..instruments)
            .map(|_| OrderBook::with_capacity(config.limits.book_levels_max))
            .collect();
        let mut fixture = Self {
            books,
            snapshots,
            updates,
        };
        fixture.reset();
        fixture
    }

    pub fn frames(&self) -> usize {
        self.updates.len()
    }

    pub fn levels(&self) -> usize {
        self.updates.iter().map(|(_, l)| l.len()).sum()
    }

    /// Reloads every book from its snapshot.
    pub fn reset(&mut self) {
        for (book, snapshot) in self.books.iter_mut().zip(&self.snapshots) {
            let loaded = book.apply_snapshot(snapshot, 0);
            assert!(loaded.is_ok(), "a real snapshot fits the configured book");
        }
    }

    /// Applies update frame `index`; returns its level count.
    #[inline]
    pub fn apply(&mut self, index: usize) -> usize {
        let (instrument, levels) = &self.updates[index];
        let ok = self.books[*instrument].apply_update(levels, 1).is_ok();
        levels.len() * usize::from(ok)
    }

    /// One criterion iteration: every update frame once (call [`Self::reset`] before).
    pub fn apply_all(&mut self) -> usize {
        (0..self.updates.len())
            .map(|i| black_box(self.apply(i)))
            .sum()
    }

    /// `passes` passes (each from the snapshots), one sample per update frame.
    pub fn record(
        &mut self,
        passes: usize,
        per_frame: &mut Histogram<u64>,
        per_level_ps: &mut Histogram<u64>,
    ) {
        let stamp = Stamp::default();
        for _ in 0..passes {
            self.reset();
            for index in 0..self.updates.len() {
                let start = stamp.raw();
                let levels = black_box(self.apply(index));
                let end = stamp.raw();
                record_frame(per_frame, per_level_ps, stamp.delta_ns(start, end), levels);
            }
        }
    }

    /// The books (for checks).
    pub fn book(&self, index: usize) -> &OrderBook {
        &self.books[index]
    }
}

/// Journal appends alone: every update frame appended as the hot path journals it
/// (an `md_frame` record: connection id, then the frame), `passes` times, into a fresh journal in a
/// temporary directory under `parent`. One sample per append; also returns the minor page
/// faults the process took per append (the mmap's pages fault in as the journal grows).
pub fn journal_appends(
    session: &Session,
    config: &DaemonConfig,
    parent: &std::path::Path,
    passes: usize,
) -> anyhow::Result<(Histogram<u64>, f64)> {
    use anyhow::Context;
    use traider_core::input::InputKind;
    use traider_core::pipeline::append_input;
    use traider_core::record::InputRecord;
    let dir = tempfile::Builder::new()
        .prefix("traider-bench-journal")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a journal directory in {}", parent.display()))?;
    let (mut journal, _) = traiderd::hot::Journal::open(dir.path(), &config.journal)
        .context("cannot open the bench journal")?;
    let frames: Vec<&[u8]> = session.updates().map(|f| &f.data[..]).collect();
    let stamp = Stamp::default();
    let mut hist = crate::histogram();
    let faults_before = crate::minor_faults();
    let mut appends = 0_u64;
    for pass in 0..passes as u64 {
        for (index, frame) in frames.iter().enumerate() {
            let start = stamp.raw();
            let input = InputRecord {
                kind: InputKind::MdFrame,
                conn_id: crate::session::CONN_ID,
                data: frame,
            };
            let ok = append_input(&mut journal, &input, pass * 1_000_000 + index as u64).is_ok();
            let end = stamp.raw();
            anyhow::ensure!(ok, "the bench journal refused an append");
            hist.saturating_record(stamp.delta_ns(start, end).max(1));
            appends += 1;
        }
    }
    let faults = crate::minor_faults().saturating_sub(faults_before);
    Ok((hist, faults as f64 / appends.max(1) as f64))
}
