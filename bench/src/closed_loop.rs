//! Two-thread, closed-loop measurements through the real rings.
//!
//! - [`ring_baseline`]: a producer thread publishes an empty `Timer` input, the hot thread
//!   takes it off the input ring and bumps a counter; nothing else runs. Its round trip and
//!   one-way times are what the harness itself costs (the disruptor `benches/spsc.rs` idea).
//! - [`tick_to_order`]: the producer publishes the recorded session (every frame, with its
//!   recorded time, in file order) and the hot thread runs the real `HotPath::process`
//!   (decode → book → signal → risk → order, journal included) and publishes order commands
//!   into the output ring. The producer also plays the order sender: it drains the output ring.
//!
//! Closed loop: the producer publishes input `n + 1` only after the hot thread has bumped the
//! counter for input `n` (and the producer has drained its commands), so no input ever waits
//! behind another and ring queueing never enters a number. Producer on core 0, hot thread on
//! core 1; both busy-spin, each on its own core.

use crate::report::StageHistograms;
use crate::session::{CONN_ID, FrameClass, Session};
use crate::{histogram, pin, thread_cores};
use anyhow::Context;
use disruptor::Polling;
use hdrhistogram::Histogram;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};
use traider_core::command::OrderAction;
use traider_core::engine::Counters;
use traider_core::input::{FeedControl, InputKind};
use traider_core::pipeline::latency::Stamp;
use traider_core::pipeline::ring::{
    InputPoller, InputProducer, Output, OutputPoller, input_ring, output_ring,
};
use traiderd::config::DaemonConfig;
use traiderd::hot;
use traiderd::hot::Journal;

/// A counter alone on its cache lines (no false sharing with the data around it).
#[repr(align(128))]
struct Padded(AtomicU64);

/// What the ring baseline measured.
pub struct RingBaseline {
    /// Producer: publish → sees the hot thread's acknowledgement.
    pub round_trip: Histogram<u64>,
    /// Hot thread: the input's publish stamp → the poll that returned it.
    pub one_way: Histogram<u64>,
}

/// Runs `warmup + samples` closed-loop round trips of an empty input through a ring of
/// `slots` slots.
pub fn ring_baseline(samples: usize, warmup: usize, slots: usize) -> anyhow::Result<RingBaseline> {
    let (producer_core, hot_core) = thread_cores().context("the ring baseline needs two cores")?;
    let (mut poller, mut producer) = input_ring(slots, 64);
    let processed = Padded(AtomicU64::new(0));
    let total = (warmup + samples) as u64;
    std::thread::scope(|scope| {
        let processed = &processed;
        let hot = scope.spawn(move || {
            pin(hot_core);
            let stamp = Stamp::default();
            let mut one_way = histogram();
            let mut seen = 0_u64;
            loop {
                match poller.poll() {
                    Ok(mut events) => {
                        for slot in &mut events {
                            let now = stamp.raw();
                            if seen >= warmup as u64 {
                                one_way
                                    .saturating_record(stamp.delta_ns(slot.ts_pub_raw, now).max(1));
                            }
                            seen += 1;
                            processed.0.store(seen, Ordering::Release);
                        }
                    }
                    Err(Polling::NoEvents) => spin_loop(),
                    Err(Polling::Shutdown) => return one_way,
                }
            }
        });
        let round_trip = scope
            .spawn(move || {
                pin(producer_core);
                let stamp = Stamp::default();
                let mut round_trip = histogram();
                for index in 0..total {
                    let start = stamp.raw();
                    producer.publish(InputKind::Timer, 0, index, &[]);
                    while processed.0.load(Ordering::Acquire) <= index {
                        spin_loop();
                    }
                    let end = stamp.raw();
                    if index >= warmup as u64 {
                        round_trip.saturating_record(stamp.delta_ns(start, end).max(1));
                    }
                }
                round_trip
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the producer thread panicked"))?;
        let one_way = hot
            .join()
            .map_err(|_| anyhow::anyhow!("the hot thread panicked"))?;
        Ok(RingBaseline {
            round_trip,
            one_way,
        })
    })
}

/// One input of the closed-loop schedule.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub kind: InputKind,
    pub ts_ns: u64,
    /// Index into `session.frames` (market-data frames only).
    pub frame: Option<usize>,
    /// Warm-up inputs (products, each pass's `Connected` and the frames up to the last
    /// snapshot) are processed but left out of every histogram.
    pub warm: bool,
}

/// The products body, then `passes` times: `Connected` and every frame. Event time moves on
/// by [`Session::pass_offset_ns`] per pass; `Connected` resets the connection's sequence
/// check, so each pass's snapshots resync the books exactly as at the first.
pub fn schedule(session: &Session, passes: usize) -> Vec<Step> {
    let warm_end = session.warm_end();
    let offset = session.pass_offset_ns();
    let mut steps = Vec::with_capacity(1 + passes * (session.frames.len() + 1));
    steps.push(Step {
        kind: InputKind::Products,
        ts_ns: session.products_ts_ns,
        frame: None,
        warm: true,
    });
    for pass in 0..passes as u64 {
        steps.push(Step {
            kind: InputKind::Feed(FeedControl::Connected),
            ts_ns: session.products_ts_ns + pass * offset,
            frame: None,
            warm: true,
        });
        for (index, frame) in session.frames.iter().enumerate() {
            steps.push(Step {
                kind: InputKind::MdFrame,
                ts_ns: frame.ts_ns + pass * offset,
                frame: Some(index),
                warm: index < warm_end,
            });
        }
    }
    steps
}

/// What the order-sender side of the closed loop saw (measured inputs only).
#[derive(Clone, Debug)]
pub struct SenderStats {
    /// Publish → first command emitted, for `l2_data` update frames that emitted one: the
    /// same samples `HotPath` records into `Stage::TickToOrder`, restricted to updates.
    pub t2o_updates: Histogram<u64>,
    /// The same for every other frame that emitted a command (trades mostly).
    pub t2o_other: Histogram<u64>,
    /// Publish → the sender thread holds the first command (adds the output-ring hop).
    pub t2s_updates: Histogram<u64>,
    pub update_frames: u64,
    pub update_frames_with_commands: u64,
    pub other_frames: u64,
    pub other_frames_with_commands: u64,
    pub new_orders: u64,
    pub cancels: u64,
}

/// Everything one closed-loop run produced.
pub struct TickToOrder {
    /// `hot.latency()` after the run, warm-up inputs subtracted.
    pub stages: StageHistograms,
    pub sender: SenderStats,
    pub counters: Counters,
    pub journal_records: u64,
    pub journal_failures: u64,
    /// Requests risk refused (the config is meant to make this 0).
    pub risk_rejects: u64,
    pub inputs: usize,
}

/// Runs the session `passes` times through the rings and the real hot path.
pub fn tick_to_order(
    session: &Session,
    config: &DaemonConfig,
    journal: Journal,
    passes: usize,
) -> anyhow::Result<TickToOrder> {
    let (producer_core, hot_core) = thread_cores().context("tick-to-order needs two cores")?;
    let steps = schedule(session, passes);
    let (poller, producer) = input_ring(config.hot_path.ring_slots, config.hot_path.slot_bytes);
    let (output, output_poller) = output_ring(config.hot_path.output_ring_slots);
    let hot = hot::build(config, journal, output)?;
    let processed = Padded(AtomicU64::new(0));
    std::thread::scope(|scope| {
        let (processed, steps) = (&processed, &steps);
        let hot_thread = scope.spawn(move || {
            pin(hot_core);
            run_hot(hot, poller, steps, processed)
        });
        let sender = scope
            .spawn(move || {
                pin(producer_core);
                run_sender(session, steps, producer, output_poller, processed)
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the producer thread panicked"))?;
        let (hot, excluded) = hot_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the hot thread panicked"))?;
        let mut stages = StageHistograms::of(hot.latency());
        stages.subtract(&excluded);
        Ok(TickToOrder {
            stages,
            sender,
            counters: *hot.engine().counters(),
            journal_records: hot.journal().records(),
            journal_failures: hot.journal_failures,
            risk_rejects: hot.engine().risk().rejects().iter().sum(),
            inputs: steps.len(),
        })
    })
}

/// The hot thread: processes every input and acknowledges it in `processed`, until the
/// producer goes. Returns the hot path and what its warm-up inputs added to its stage
/// histograms.
fn run_hot(
    mut hot: hot::Hot,
    mut poller: InputPoller,
    steps: &[Step],
    processed: &Padded,
) -> (hot::Hot, StageHistograms) {
    let mut excluded = StageHistograms::empty();
    let mut before: Option<StageHistograms> = None;
    let mut index = 0;
    loop {
        match poller.poll() {
            Ok(mut events) => {
                for slot in &mut events {
                    let warm = steps[index].warm;
                    if warm && before.is_none() {
                        before = Some(StageHistograms::of(hot.latency()));
                    }
                    hot.process(slot);
                    let warm_ends = !steps.get(index + 1).is_some_and(|s| s.warm);
                    if let Some(start) = before.take_if(|_| warm && warm_ends) {
                        excluded.add_difference(&StageHistograms::of(hot.latency()), &start);
                    }
                    index += 1;
                    processed.0.store(index as u64, Ordering::Release);
                }
            }
            Err(Polling::NoEvents) => spin_loop(),
            Err(Polling::Shutdown) => return (hot, excluded),
        }
    }
}

/// The producer, which also plays the order sender: publishes each input once the one
/// before is processed, then drains the commands it caused.
fn run_sender(
    session: &Session,
    steps: &[Step],
    mut producer: InputProducer,
    mut output_poller: OutputPoller,
    processed: &Padded,
) -> SenderStats {
    let stamp = Stamp::default();
    let mut stats = SenderStats::empty();
    for (index, step) in steps.iter().enumerate() {
        let data = match (step.kind, step.frame) {
            (_, Some(frame)) => &session.frames[frame].data[..],
            (InputKind::Products, None) => &session.products[..],
            _ => &[][..],
        };
        let conn_id = if step.kind == InputKind::Products {
            0
        } else {
            CONN_ID
        };
        producer.publish(step.kind, conn_id, step.ts_ns, data);
        while processed.0.load(Ordering::Acquire) <= index as u64 {
            spin_loop();
        }
        let first = stats.drain_commands(&mut output_poller, &stamp, step.warm);
        let Some(frame) = step.frame.filter(|_| !step.warm) else {
            continue;
        };
        let is_update = session.frames[frame].class == FrameClass::L2Update;
        stats.count_frame(is_update, first, &stamp);
    }
    drop(producer);
    stats
}

impl SenderStats {
    fn empty() -> Self {
        Self {
            t2o_updates: histogram(),
            t2o_other: histogram(),
            t2s_updates: histogram(),
            update_frames: 0,
            update_frames_with_commands: 0,
            other_frames: 0,
            other_frames_with_commands: 0,
            new_orders: 0,
            cancels: 0,
        }
    }

    /// Drains the output ring; counts the commands of a measured input. Returns the first
    /// command's (input publish stamp, emit stamp, sender's stamp).
    fn drain_commands(
        &mut self,
        output_poller: &mut OutputPoller,
        stamp: &Stamp,
        warm: bool,
    ) -> Option<(u64, u64, u64)> {
        let mut first: Option<(u64, u64, u64)> = None;
        while let Ok(mut events) = output_poller.poll() {
            let seen = stamp.raw();
            for slot in &mut events {
                if let Output::Command {
                    command,
                    ts_input_raw,
                    ts_emit_raw,
                    ..
                } = slot.output
                {
                    first.get_or_insert((ts_input_raw, ts_emit_raw, seen));
                    if warm {
                        continue;
                    }
                    match command.action() {
                        OrderAction::New => self.new_orders += 1,
                        OrderAction::Cancel => self.cancels += 1,
                        // Edits exist only with a live venue.
                        OrderAction::Edit => {}
                    }
                }
            }
        }
        first
    }

    /// Counts a measured frame, and its tick-to-order times when it emitted a command.
    fn count_frame(&mut self, is_update: bool, first: Option<(u64, u64, u64)>, stamp: &Stamp) {
        if is_update {
            self.update_frames += 1;
        } else {
            self.other_frames += 1;
        }
        if let Some((input, emit, seen)) = first {
            if is_update {
                self.update_frames_with_commands += 1;
                self.t2o_updates
                    .saturating_record(stamp.delta_ns(input, emit).max(1));
                self.t2s_updates
                    .saturating_record(stamp.delta_ns(input, seen).max(1));
            } else {
                self.other_frames_with_commands += 1;
                self.t2o_other
                    .saturating_record(stamp.delta_ns(input, emit).max(1));
            }
        }
    }
}
