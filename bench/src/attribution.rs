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
    mut journal: Journal,
    passes: usize,
) -> anyhow::Result<Attribution> {
    let mut engine =
        Engine::new(config.engine_settings(), true).context("invalid engine settings")?;
    let mut decoder = hot::decoder(config);
    let limits = hot::limits(config);
    let mut batch =
        DecodedBatch::with_capacity(limits.levels_per_frame_max, limits.trades_per_frame_max);
    let mut sink = CountSink::default();
    let mut hists: Vec<Vec<Histogram<u64>>> = CLASSES
        .iter()
        .map(|_| PARTS.iter().map(|_| histogram()).collect())
        .collect();
    let stamp = Stamp::default();
    let mut failures = 0_u64;
    for step in schedule(session, passes) {
        let (data, conn_id) = match (step.kind, step.frame) {
            (_, Some(frame)) => (&session.frames[frame].data[..], CONN_ID),
            (InputKind::Products, None) => (&session.products[..], 0),
            _ => (&[][..], CONN_ID),
        };
        let t0 = stamp.raw();
        // Recorded sessions carry no timers, venue reports or admin commands.
        let appended = append_input(
            &mut journal,
            &InputRecord {
                kind: step.kind,
                conn_id,
                data,
            },
            step.ts_ns,
        );
        failures += u64::from(appended.is_err());
        let t1 = stamp.raw();
        engine.begin_input(step.ts_ns);
        let t2 = stamp.raw();
        let decoded = match step.kind {
            InputKind::MdFrame | InputKind::Products => {
                let kind = if step.kind == InputKind::Products {
                    FrameKind::Products
                } else {
                    FrameKind::MarketData
                };
                batch.clear();
                Some(decoder.decode(kind, data, &mut batch))
            }
            _ => None,
        };
        let t3 = stamp.raw();
        match (step.kind, decoded) {
            (_, Some(Ok(()))) => engine.apply_batch(conn_id, &batch),
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
        failures += append_decisions(&mut journal, engine.decisions(), engine.now_ns()).1;
        let t8 = stamp.raw();
        let commands = engine.commands().len();
        for &command in engine.commands() {
            let ts_emit_raw = stamp.raw();
            sink.publish(Output::Command {
                command,
                journal_seq: 0,
                ts_input_raw: t0,
                ts_emit_raw,
            });
        }
        engine.clear_outputs();
        let t9 = stamp.raw();
        let Some(frame) = step.frame.filter(|_| !step.warm) else {
            continue;
        };
        let class = match (session.frames[frame].class, commands) {
            (FrameClass::L2Update, 0) => 1,
            (FrameClass::L2Update, _) => 0,
            _ => 2,
        };
        let spans = [
            (t0, t1),
            (t1, t2),
            (t2, t3),
            (t3, t4),
            (t4, t5),
            (t5, t6),
            (t6, t7),
            (t7, t8),
            (t8, t9),
            (t0, t9),
        ];
        for (hist, (start, end)) in hists[class].iter_mut().zip(spans) {
            hist.saturating_record(stamp.delta_ns(start, end).max(1));
        }
    }
    anyhow::ensure!(
        failures == 0,
        "the attribution journal refused {failures} appends"
    );
    Ok(Attribution { hists })
}
