//! Where one input's time goes, per frame class: a single-thread mirror of
//! `HotPath::process` assembled from the engine's public stage API, with a stamp between every
//! call, so the cost of `l2_data` updates that end in an order can be told apart from the
//! rest (the hot path's own stage histograms mix every input).
//!
//! Mirror, not the real thing: it calls the same functions in the same order as
//! `traider_core::pipeline::HotPath::process` (journal the input, `begin_input`, decode,
//! `apply_batch`, `decide`, `check_risk`, `emit_orders`, journal the decisions, release the
//! commands), but splits what the hot path times as one "decode" stage into the simulated
//! venue's `begin_input` and the decode proper. If `process` changes, this must follow.

use crate::closed_loop::schedule;
use crate::histogram;
use crate::session::{CONN_ID, FrameClass, Session};
use crate::throughput::CountSink;
use anyhow::Context;
use hdrhistogram::Histogram;
use traider_core::engine::Engine;
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind};
use traider_core::input::InputKind;
use traider_core::pipeline::latency::Stamp;
use traider_core::pipeline::ring::{Output, OutputSink};
use traider_core::pipeline::{append_decisions, append_input};
use traider_core::record::InputRecord;
use traiderd::config::DaemonConfig;
use traiderd::hot;
use traiderd::hot::Journal;

/// The parts of one input, in the order they run.
pub const PARTS: [&str; 10] = [
    "journal input",
    "begin_input (sim venue)",
    "decode",
    "apply_batch (book)",
    "decide (strategy)",
    "check_risk",
    "emit_orders (oms)",
    "journal decisions",
    "release commands",
    "whole input",
];

/// The classes inputs are split into (measured inputs only).
pub const CLASSES: [&str; 3] = ["l2_update → order", "l2_update, no order", "other frame"];

/// `hists[class][part]`, in nanoseconds.
pub struct Attribution {
    pub hists: Vec<Vec<Histogram<u64>>>,
}

/// Replays the closed-loop schedule (`passes` passes) on the calling thread.
pub fn attribute(
    session: &Session,
    config: &DaemonConfig,
    journal: Journal,
    passes: usize,
) -> anyhow::Result<Attribution> {
    let limits = hot::limits(config);
    let mut mirror = Mirror {
        engine: Engine::new(config.engine_settings(), true).context("invalid engine settings")?,
        decoder: hot::decoder(config),
        batch: DecodedBatch::with_capacity(
            limits.levels_per_frame_max,
            limits.trades_per_frame_max,
        ),
        sink: CountSink::default(),
        journal,
        stamp: Stamp::default(),
        failures: 0,
    };
    let mut hists: Vec<Vec<Histogram<u64>>> = CLASSES
        .iter()
        .map(|_| PARTS.iter().map(|_| histogram()).collect())
        .collect();
    for step in schedule(session, passes) {
        let (data, conn_id) = match (step.kind, step.frame) {
            (_, Some(frame)) => (&session.frames[frame].data[..], CONN_ID),
            (InputKind::Products, None) => (&session.products[..], 0),
            _ => (&[][..], CONN_ID),
        };
        let (stamps, commands) = mirror.process(step.kind, step.ts_ns, conn_id, data);
        let Some(frame) = step.frame.filter(|_| !step.warm) else {
            continue;
        };
        let class = match (session.frames[frame].class, commands) {
            (FrameClass::L2Update, 0) => 1,
            (FrameClass::L2Update, _) => 0,
            _ => 2,
        };
        mirror.record(&mut hists[class], stamps);
    }
    let failures = mirror.failures;
    anyhow::ensure!(
        failures == 0,
        "the attribution journal refused {failures} appends"
    );
    Ok(Attribution { hists })
}

/// The hot path's stages, called one by one with a stamp between every call.
struct Mirror<D> {
    engine: Engine,
    decoder: D,
    batch: DecodedBatch,
    sink: CountSink,
    journal: Journal,
    stamp: Stamp,
    /// Journal appends refused.
    failures: u64,
}

impl<D: FrameDecoder> Mirror<D> {
    /// One input, through the stages in `HotPath::process`'s order. Returns the stamps
    /// around the parts ([`PARTS`] but the last) and the number of commands released.
    fn process(
        &mut self,
        kind: InputKind,
        ts_ns: u64,
        conn_id: u32,
        data: &[u8],
    ) -> ([u64; 10], usize) {
        let (engine, stamp) = (&mut self.engine, &self.stamp);
        let t0 = stamp.raw();
        // Recorded sessions carry no timers, venue reports or admin commands.
        let appended = append_input(
            &mut self.journal,
            &InputRecord {
                kind,
                conn_id,
                data,
            },
            ts_ns,
        );
        self.failures += u64::from(appended.is_err());
        let t1 = stamp.raw();
        engine.begin_input(ts_ns);
        let t2 = stamp.raw();
        let decoded = match kind {
            InputKind::MdFrame | InputKind::Products => {
                let frame_kind = if kind == InputKind::Products {
                    FrameKind::Products
                } else {
                    FrameKind::MarketData
                };
                self.batch.clear();
                Some(self.decoder.decode(frame_kind, data, &mut self.batch))
            }
            _ => None,
        };
        let t3 = stamp.raw();
        match (kind, decoded) {
            (_, Some(Ok(()))) => engine.apply_batch(conn_id, &self.batch),
            (_, Some(Err(error))) => engine.on_decode_error(error),
            (InputKind::Feed(control), None) => engine.on_feed(conn_id, control),
            _ => {}
        }
        let t4 = stamp.raw();
        engine.decide();
        let t5 = stamp.raw();
        engine.check_risk();
        let t6 = stamp.raw();
        engine.emit_orders();
        let t7 = stamp.raw();
        self.failures += append_decisions(&mut self.journal, engine.decisions(), engine.now_ns()).1;
        let t8 = stamp.raw();
        let commands = engine.commands().len();
        for &command in engine.commands() {
            let ts_emit_raw = stamp.raw();
            self.sink.publish(Output::Command {
                command,
                journal_seq: 0,
                ts_input_raw: t0,
                ts_emit_raw,
            });
        }
        engine.clear_outputs();
        let t9 = stamp.raw();
        ([t0, t1, t2, t3, t4, t5, t6, t7, t8, t9], commands)
    }

    /// Records each part's span, then the whole input's, into `hists` (one per [`PARTS`]).
    fn record(&self, hists: &mut [Histogram<u64>], t: [u64; 10]) {
        let spans = [
            (t[0], t[1]),
            (t[1], t[2]),
            (t[2], t[3]),
            (t[3], t[4]),
            (t[4], t[5]),
            (t[5], t[6]),
            (t[6], t[7]),
            (t[7], t[8]),
            (t[8], t[9]),
            (t[0], t[9]),
        ];
        for (hist, (start, end)) in hists.iter_mut().zip(spans) {
            hist.saturating_record(self.stamp.delta_ns(start, end).max(1));
        }
    }
}
