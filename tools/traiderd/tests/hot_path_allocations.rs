//! The hot path allocates nothing per input once warm.
//!
//! The recorded Coinbase session goes through the daemon's own hot path — `traiderd::hot::build`
//! with the memory-mapped journal and the output ring, fed by the replay's own capture feeder —
//! on this test's thread, one input at a time. Every call to `HotPath::process` (decode, book,
//! signal, risk, order, journal) is measured with a thread-local counting allocator; filling
//! the input slot and draining the output ring stay outside the measurement, as they run on
//! other threads in the daemon. After the warm-up (the products response, which sizes the
//! decoder's buffers), no input may allocate, book snapshots included: the test names the
//! first one that does. Both built-in strategies run, so both signal paths are covered.
//!
//! This test found the decoder boxing an iterator per event (simd-json's prelude makes
//! `Vec::iter` its `ArrayTrait::iter`); it fails the same way if any allocation is added to a
//! stage of the hot path.

use allocation_counter::AllocationInfo;
use std::path::Path;
use traider_core::config::StrategyKind;
use traider_core::input::{InputKind, InputSlot};
use traider_core::pipeline::ring::{Output, output_ring};
use traider_gateways::capture::CaptureReader;
use traiderd::config::DaemonConfig;
use traiderd::hot::{self, Hot, Journal};
use traiderd::modes::replay::{InputSink, feed_capture};

/// Inputs allowed to allocate while the engine warms up: the products response, the first
/// input, whose body sizes the decoder's buffers. The books' first snapshots come after it and
/// must not allocate either (their ladders are sized at start-up).
const WARM_UP_INPUTS: u64 = 1;

/// Feeds each input straight into the hot path on this thread and measures `process`.
struct Measured {
    hot: Hot,
    poller: traider_core::pipeline::ring::OutputPoller,
    slot: InputSlot,
    inputs: u64,
    commands: u64,
    /// (input number, kind, what it allocated) of every input past the warm-up that did.
    allocating: Vec<(u64, InputKind, AllocationInfo)>,
}

impl InputSink for Measured {
    fn publish(
        &mut self,
        kind: InputKind,
        conn_id: u32,
        ts_ns: u64,
        data: &[u8],
    ) -> anyhow::Result<()> {
        // What the producer does on its own thread: fill the slot.
        self.slot.kind = kind;
        self.slot.conn_id = conn_id;
        self.slot.ts_recv_ns = ts_ns;
        self.slot.data.clear();
        self.slot.data.extend_from_slice(data);
        self.inputs += 1;
        let (hot, slot) = (&mut self.hot, &self.slot);
        let info = allocation_counter::measure(|| {
            hot.process(slot);
        });
        if self.inputs > WARM_UP_INPUTS && info.count_total > 0 {
            self.allocating.push((self.inputs, kind, info));
        }
        // What the order sink does on its own thread: drain the output ring.
        if let Ok(mut events) = self.poller.poll() {
            for slot in &mut events {
                if matches!(slot.output, Output::Command { .. }) {
                    self.commands += 1;
                }
            }
        }
        Ok(())
    }
}

fn run_session(config: &Path, strategy: StrategyKind) -> Measured {
    let mut config = DaemonConfig::load(config).expect("config loads");
    config.mode = traiderd::config::Mode::Replay;
    config.strategy.kind = strategy;
    let dir = tempfile::tempdir().expect("temp dir");
    let (journal, _) = Journal::open(dir.path(), &config.journal).expect("journal opens");
    let (output, poller) = output_ring(config.hot_path.output_ring_slots);
    let hot = hot::build(&config, journal, output).expect("hot path builds");
    let mut measured = Measured {
        hot,
        poller,
        slot: InputSlot::with_capacity(config.hot_path.slot_bytes),
        inputs: 0,
        commands: 0,
        allocating: Vec::new(),
    };
    let mut reader = CaptureReader::open(traider_testkit::data::capture()).expect("capture opens");
    feed_capture(&config, &mut reader, &mut measured).expect("the session feeds");
    measured
}

fn assert_no_allocation_after_warm_up(strategy: StrategyKind) {
    let measured = run_session(&traider_testkit::data::config("replay.toml"), strategy);
    // The run must have done real work, or zero allocations would prove nothing.
    let frames = measured.hot.engine().counters().frames;
    assert!(
        frames > 500,
        "{strategy:?}: only {frames} market-data frames of {} inputs reached the engine",
        measured.inputs
    );
    assert!(
        measured.commands > 0,
        "{strategy:?}: the strategy placed no order, so the order path went unmeasured"
    );
    assert!(
        measured.hot.engine().counters().fills > 0,
        "{strategy:?}: nothing filled, so the fill path went unmeasured"
    );
    if let Some((input, kind, info)) = measured.allocating.first() {
        // Every input after the warm-up is measured; one that allocates fails the test.
        panic!(
            "{strategy:?}: {} of {} inputs after the warm-up allocated; the first is input #{input} \
             ({kind:?}): {} allocations, {} bytes",
            measured.allocating.len(),
            measured.inputs,
            info.count_total,
            info.bytes_total
        );
    }
}

/// The market maker: quotes, requotes and cancels, fills against the simulated venue.
#[test]
fn the_market_maker_allocates_nothing_per_input_after_warm_up() {
    assert_no_allocation_after_warm_up(StrategyKind::MarketMaker);
}

/// The taker: imbalance and flow signals, crossing orders, fills.
#[test]
fn the_taker_allocates_nothing_per_input_after_warm_up() {
    assert_no_allocation_after_warm_up(StrategyKind::Taker);
}
