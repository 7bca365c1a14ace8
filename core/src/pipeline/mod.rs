//! The hot path: one thread that takes inputs off the ring and runs
//! journal → decode → book → signal → risk → order, timing each stage.
//!
//! Invariants: an input is journaled before it is processed; decisions are journaled before
//! the commands they contain leave through the output ring; when the journal cannot be
//! written, no new order or cancel leaves at all (the strategy stages are skipped). Nothing
//! here allocates, locks or makes a system call in steady state (the journal's segment roll
//! is the documented exception), and no input can make it panic.

pub mod latency;
pub mod ring;

use crate::decision::Decision;
use crate::engine::{Engine, StatusSnapshot};
use crate::event::{DecodedBatch, FrameDecoder, FrameKind};
use crate::input::{InputKind, InputSlot};
use crate::record::InputRecord;
use crate::wire::PAYLOAD_BYTES_MAX;
use latency::{Latency, Stage, Stamp};
use ring::{Idle, InputPoller, Output, OutputSink, WaitStrategy};

/// The journal as the hot path sees it.
pub trait JournalSink {
    /// Appends one record whose payload is the concatenation of `parts`; returns its
    /// sequence number (0 for a journal that keeps nothing).
    fn append(&mut self, kind: u16, ts_ns: u64, parts: &[&[u8]]) -> Result<u64, JournalFailure>;
    /// Makes what was appended durable (msync); called at shutdown.
    fn flush(&mut self) -> Result<(), JournalFailure>;
}

/// The journal refused a write; the hot path stops sending orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalFailure;

/// A journal that keeps nothing (benchmarks of the engine alone).
pub struct NoJournal;

impl JournalSink for NoJournal {
    fn append(&mut self, _kind: u16, _ts_ns: u64, _parts: &[&[u8]]) -> Result<u64, JournalFailure> {
        Ok(0)
    }
    fn flush(&mut self) -> Result<(), JournalFailure> {
        Ok(())
    }
}

/// Appends the record of an input ([`InputRecord`]'s layout); `Ok(0)` for `Shutdown`, which
/// is never journaled.
pub fn append_input<J: JournalSink>(
    journal: &mut J,
    input: &InputRecord<'_>,
    ts_ns: u64,
) -> Result<u64, JournalFailure> {
    match input.encode() {
        Some(encoded) => journal.append(encoded.kind, ts_ns, &encoded.parts()),
        None => Ok(0),
    }
}

/// Appends one record per decision, in order, stamped `ts_ns`; returns the sequence number
/// of the last one appended (0 if none) and how many appends failed.
pub fn append_decisions<J: JournalSink>(
    journal: &mut J,
    decisions: &[Decision],
    ts_ns: u64,
) -> (u64, u64) {
    let mut buf = [0_u8; PAYLOAD_BYTES_MAX];
    let (mut last_seq, mut failures) = (0, 0);
    for decision in decisions {
        let len = decision.encode(&mut buf);
        match journal.append(decision.record_kind(), ts_ns, &[&buf[..len]]) {
            Ok(seq) => last_seq = seq,
            Err(JournalFailure) => failures += 1,
        }
    }
    (last_seq, failures)
}

/// Checks the decisions the engine `made` for a replayed input against those the journal
/// holds after it; returns the index of the first one the journal lacks (`made.len()` when
/// none), which only the journal's `last` input may have.
fn compare_replayed(
    made: &[Decision],
    journaled: &[(u16, &[u8])],
    last: bool,
) -> Result<usize, RecoveryMismatch> {
    for (index, decision) in made.iter().enumerate() {
        match journaled.get(index) {
            Some(&(kind, payload)) if Decision::decode(kind, payload) == Some(*decision) => {}
            Some(_) => return Err(RecoveryMismatch::Differs { index }),
            None if last => return Ok(index),
            None => return Err(RecoveryMismatch::Missing { index }),
        }
    }
    match journaled.len() > made.len() {
        true => Err(RecoveryMismatch::Extra { index: made.len() }),
        false => Ok(made.len()),
    }
}

/// The engine, replaying the journal, did not make the decisions the journal records for an
/// input: the journal was written by another configuration or build, or it was altered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryMismatch {
    #[error("decision {index} after the input differs from the journal's")]
    Differs { index: usize },
    #[error("the journal has decision {index} after the input, which the engine did not make")]
    Extra { index: usize },
    #[error(
        "the engine made decision {index} after an input that is not the journal's last, but the journal lacks it"
    )]
    Missing { index: usize },
}

/// Where the hot path publishes latency copies for the metrics endpoint.
struct LatencyOut {
    input: triple_buffer::Input<Latency>,
    wanted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Whether the loop goes on after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Sizes the hot path allocates at start-up.
#[derive(Clone, Copy, Debug)]
pub struct HotPathLimits {
    /// Largest frame the decoder can take (bytes).
    pub frame_bytes_max: usize,
    pub levels_per_frame_max: usize,
    pub trades_per_frame_max: usize,
    /// How often (in event time) the status snapshot is refreshed.
    pub status_interval_ns: u64,
}

pub struct HotPath<D, J, O> {
    engine: Engine,
    decoder: D,
    journal: J,
    output: O,
    status: Option<triple_buffer::Input<StatusSnapshot>>,
    latency_out: Option<LatencyOut>,
    batch: DecodedBatch,
    stamp: Stamp,
    latency: Latency,
    limits: HotPathLimits,
    last_status_ns: u64,
    /// Appends the journal refused; after the first, no order leaves.
    pub journal_failures: u64,
    /// Inputs processed.
    pub inputs: u64,
    /// Market-data frames among them (decoded or not).
    pub md_frames: u64,
}

impl<D: FrameDecoder, J: JournalSink, O: OutputSink> HotPath<D, J, O> {
    pub fn new(engine: Engine, decoder: D, journal: J, output: O, limits: HotPathLimits) -> Self {
        Self {
            engine,
            decoder,
            journal,
            output,
            status: None,
            latency_out: None,
            batch: DecodedBatch::with_capacity(
                limits.levels_per_frame_max,
                limits.trades_per_frame_max,
            ),
            stamp: Stamp::default(),
            latency: Latency::new(),
            limits,
            last_status_ns: 0,
            journal_failures: 0,
            inputs: 0,
            md_frames: 0,
        }
    }

    /// Publishes status snapshots into a triple buffer the cold path reads without locks.
    pub fn with_status(mut self, input: triple_buffer::Input<StatusSnapshot>) -> Self {
        self.status = Some(input);
        self
    }

    /// Publishes copies of the latency histograms into a triple buffer, at a status refresh
    /// after the cold side asked (`wanted`): a metrics scrape costs the hot thread one copy.
    pub fn with_latency_out(
        mut self,
        input: triple_buffer::Input<Latency>,
        wanted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        self.latency_out = Some(LatencyOut { input, wanted });
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    pub fn journal(&self) -> &J {
        &self.journal
    }

    pub fn output(&self) -> &O {
        &self.output
    }

    /// The output sink (benches and tests that collect outputs clear it).
    pub fn output_mut(&mut self) -> &mut O {
        &mut self.output
    }

    pub fn into_parts(self) -> (Engine, J, O, Latency) {
        (self.engine, self.journal, self.output, self.latency)
    }

    /// Runs until a `Shutdown` input or until every producer is gone.
    pub fn run(&mut self, poller: &mut InputPoller, wait: WaitStrategy) {
        let mut idle = Idle::new(wait);
        loop {
            match poller.poll() {
                Ok(mut events) => {
                    idle.reset();
                    for slot in &mut events {
                        if self.process(slot) == Flow::Stop {
                            return;
                        }
                    }
                }
                Err(disruptor::Polling::NoEvents) => idle.wait(),
                Err(disruptor::Polling::Shutdown) => {
                    self.finish();
                    return;
                }
            }
        }
    }

    /// Processes one input. Never panics on any input content.
    pub fn process(&mut self, slot: &InputSlot) -> Flow {
        let t0 = self.stamp.raw();
        if slot.kind == InputKind::Shutdown {
            self.finish();
            return Flow::Stop;
        }
        self.inputs += 1;
        self.md_frames += u64::from(slot.kind == InputKind::MdFrame);
        self.journal_input(slot);
        let t1 = self.stamp.raw();
        let t2 = self.apply_input(slot).unwrap_or(t1);
        let t3 = self.stamp.raw();
        let trading = self.journal_failures == 0;
        if trading {
            self.engine.decide();
        }
        let t4 = self.stamp.raw();
        if trading {
            self.engine.check_risk();
        }
        let t5 = self.stamp.raw();
        if trading {
            self.engine.emit_orders();
        }
        let emitted = self.release_outputs(slot.ts_pub_raw);
        // An operator waits for the outcome of a command: publish it at once.
        self.refresh_status(slot.kind == InputKind::Admin);
        let t6 = self.stamp.raw();
        let stages = [
            (Stage::Journal, t0, t1),
            (Stage::Decode, t1, t2),
            (Stage::Book, t2, t3),
            (Stage::Signal, t3, t4),
            (Stage::Risk, t4, t5),
            (Stage::Order, t5, t6),
            (Stage::Input, t0, t6),
        ];
        self.latency
            .record(Stage::Queue, self.stamp.delta_ns(slot.ts_pub_raw, t0));
        for (stage, start, end) in stages {
            self.latency.record(stage, self.stamp.delta_ns(start, end));
        }
        if let Some(first_emit_raw) = emitted {
            self.latency.record(
                Stage::TickToOrder,
                self.stamp.delta_ns(slot.ts_pub_raw, first_emit_raw),
            );
        }
        Flow::Continue
    }

    /// Decode (frames), then event time and simulated-venue arrivals, then books or the
    /// control; returns the stamp at which decoding ended (frames only). The decoder does not
    /// depend on engine state, so decoding first keeps the decode stage's timing pure.
    fn apply_input(&mut self, slot: &InputSlot) -> Option<u64> {
        let frame_kind = match slot.kind {
            InputKind::MdFrame => Some(FrameKind::MarketData),
            InputKind::Products => Some(FrameKind::Products),
            _ => None,
        };
        let decoded = frame_kind.map(|kind| {
            self.batch.clear();
            let result = self.decoder.decode(kind, &slot.data, &mut self.batch);
            (result, self.stamp.raw())
        });
        self.engine.begin_input(slot.ts_recv_ns);
        match (slot.kind, decoded) {
            (_, Some((Ok(()), decoded_at))) => {
                self.engine.apply_batch(slot.conn_id, &self.batch);
                return Some(decoded_at);
            }
            (_, Some((Err(error), decoded_at))) => {
                self.engine.on_decode_error(error);
                return Some(decoded_at);
            }
            (InputKind::Feed(control), None) => self.engine.on_feed(slot.conn_id, control),
            (InputKind::Timer, None) => self.engine.on_timer(),
            (InputKind::Venue, None) => match crate::venue::VenueEvent::decode(&slot.data) {
                Some(event) => self.engine.on_venue(event),
                None => self.engine.on_bad_venue_input(),
            },
            (InputKind::Admin, None) => match crate::admin::AdminInput::decode(&slot.data) {
                Some(input) => self.engine.on_admin(input),
                None => self.engine.on_bad_admin_input(),
            },
            _ => {}
        }
        None
    }

    /// Restart by replay: runs one journaled input through every stage without journaling it
    /// again and without releasing any command. `journaled` are the decision records (kind,
    /// payload) that followed it in the journal; the engine must make exactly those. Only for
    /// the journal's `last` input may the engine make more (the process stopped between the
    /// input's record and its decisions'): those are journaled now, and their commands are
    /// still not released — they were decided before the restart. Returns how many were
    /// appended.
    pub fn recover_input(
        &mut self,
        slot: &InputSlot,
        journaled: &[(u16, &[u8])],
        last: bool,
    ) -> Result<usize, RecoveryMismatch> {
        self.inputs += 1;
        self.md_frames += u64::from(slot.kind == InputKind::MdFrame);
        self.apply_input(slot);
        self.engine.decide();
        self.engine.check_risk();
        self.engine.emit_orders();
        let made = self.engine.decisions();
        let outcome = compare_replayed(made, journaled, last).map(|from| {
            let (_, failures) =
                append_decisions(&mut self.journal, &made[from..], self.engine.now_ns());
            self.journal_failures += failures;
            made.len() - from
        });
        self.engine.clear_outputs();
        outcome
    }

    fn journal_input(&mut self, slot: &InputSlot) {
        let input = InputRecord {
            kind: slot.kind,
            conn_id: slot.conn_id,
            data: &slot.data,
        };
        if append_input(&mut self.journal, &input, slot.ts_recv_ns).is_err() {
            self.journal_failures += 1;
        }
    }

    /// Journals the decisions, then releases their commands; returns the raw stamp of the
    /// first command released.
    fn release_outputs(&mut self, ts_input_raw: u64) -> Option<u64> {
        let now_ns = self.engine.now_ns();
        let (journal_seq, failures) =
            append_decisions(&mut self.journal, self.engine.decisions(), now_ns);
        self.journal_failures += failures;
        let mut first = None;
        if self.journal_failures == 0 {
            for &command in self.engine.commands() {
                let ts_emit_raw = self.stamp.raw();
                first.get_or_insert(ts_emit_raw);
                self.output.publish(Output::Command {
                    command,
                    journal_seq,
                    ts_input_raw,
                    ts_emit_raw,
                });
            }
        }
        self.engine.clear_outputs();
        first
    }

    fn refresh_status(&mut self, now: bool) {
        let now_ns = self.engine.now_ns();
        if let Some(status) = self.status.as_mut()
            && (now || now_ns.saturating_sub(self.last_status_ns) >= self.limits.status_interval_ns)
        {
            self.last_status_ns = now_ns;
            status.write(self.engine.status());
            if let Some(out) = self.latency_out.as_mut()
                && out.wanted.swap(false, std::sync::atomic::Ordering::AcqRel)
            {
                out.input.input_buffer_mut().copy_from(&self.latency);
                out.input.publish();
            }
        }
    }

    /// Last status, journal flush, and the `Stopped` marker.
    fn finish(&mut self) {
        if let Some(status) = self.status.as_mut() {
            status.write(self.engine.status());
        }
        if self.journal.flush().is_err() {
            self.journal_failures += 1;
        }
        self.output.publish(Output::Stopped);
    }
}
