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

use crate::decision::{DECISION_BYTES_MAX, record_kind};
use crate::engine::{Engine, StatusSnapshot};
use crate::event::{DecodedBatch, FrameDecoder, FrameKind};
use crate::input::{InputKind, InputSlot};
use latency::{Latency, Stage, Stamp};
use ring::{Idle, InputPoller, Output, OutputSink, WaitStrategy};

/// The journal as the hot path sees it.
pub trait JournalSink {
    /// Appends one record whose payload is the concatenation of `parts`.
    fn append(&mut self, kind: u16, ts_ns: u64, parts: &[&[u8]]) -> Result<(), JournalFailure>;
    /// Makes what was appended durable (msync); called at shutdown.
    fn flush(&mut self) -> Result<(), JournalFailure>;
}

/// The journal refused a write; the hot path stops sending orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalFailure;

/// A journal that keeps nothing (benchmarks of the engine alone).
pub struct NoJournal;

impl JournalSink for NoJournal {
    fn append(&mut self, _kind: u16, _ts_ns: u64, _parts: &[&[u8]]) -> Result<(), JournalFailure> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), JournalFailure> {
        Ok(())
    }
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
        self.engine.begin_input(slot.ts_recv_ns);
        let mut t2 = t1;
        match slot.kind {
            InputKind::MdFrame | InputKind::Products => {
                let kind = if slot.kind == InputKind::Products {
                    FrameKind::Products
                } else {
                    FrameKind::MarketData
                };
                self.batch.clear();
                let decoded = self.decoder.decode(kind, &slot.data, &mut self.batch);
                t2 = self.stamp.raw();
                match decoded {
                    Ok(()) => self.engine.apply_batch(slot.conn_id, &self.batch),
                    Err(error) => self.engine.on_decode_error(error),
                }
            }
            InputKind::Feed(control) => self.engine.on_feed(slot.conn_id, control),
            InputKind::Timer => self.engine.on_timer(),
            InputKind::Shutdown => {}
        }
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
        self.refresh_status();
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

    fn journal_input(&mut self, slot: &InputSlot) {
        let conn = slot.conn_id.to_le_bytes();
        let result = match slot.kind {
            InputKind::MdFrame => self.journal.append(
                record_kind::INPUT_MD_FRAME,
                slot.ts_recv_ns,
                &[&conn, &slot.data],
            ),
            InputKind::Products => {
                self.journal
                    .append(record_kind::INPUT_PRODUCTS, slot.ts_recv_ns, &[&slot.data])
            }
            InputKind::Feed(control) => self.journal.append(
                record_kind::INPUT_FEED,
                slot.ts_recv_ns,
                &[&conn, &[control as u8]],
            ),
            InputKind::Timer => self
                .journal
                .append(record_kind::INPUT_TIMER, slot.ts_recv_ns, &[]),
            InputKind::Shutdown => Ok(()),
        };
        if result.is_err() {
            self.journal_failures += 1;
        }
    }

    /// Journals the decisions, then releases their commands; returns the raw stamp of the
    /// first command released.
    fn release_outputs(&mut self, ts_input_raw: u64) -> Option<u64> {
        let now_ns = self.engine.now_ns();
        let mut buf = [0_u8; DECISION_BYTES_MAX];
        for decision in self.engine.decisions() {
            let len = decision.encode(&mut buf);
            if self
                .journal
                .append(decision.record_kind(), now_ns, &[&buf[..len]])
                .is_err()
            {
                self.journal_failures += 1;
            }
        }
        let mut first = None;
        if self.journal_failures == 0 {
            for &command in self.engine.commands() {
                let ts_emit_raw = self.stamp.raw();
                first.get_or_insert(ts_emit_raw);
                self.output.publish(Output::Command {
                    command,
                    ts_input_raw,
                    ts_emit_raw,
                });
            }
        }
        self.engine.clear_outputs();
        first
    }

    fn refresh_status(&mut self) {
        let now_ns = self.engine.now_ns();
        if let Some(status) = self.status.as_mut()
            && now_ns.saturating_sub(self.last_status_ns) >= self.limits.status_interval_ns
        {
            self.last_status_ns = now_ns;
            status.write(self.engine.status());
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
