//! The rings: the input ring (many cold producers → the hot thread) and the output ring (the
//! hot thread → the order sender), both `disruptor` rings with pre-allocated slots, consumed
//! through event pollers so the consuming thread chooses how it waits and where it is pinned.

use crate::engine::OrderCommand;
use crate::input::{InputKind, InputSlot};
use crate::pipeline::latency::Stamp;
use crossbeam_utils::Backoff;
use disruptor::{
    BusySpin, EventPoller, MultiProducer, MultiProducerBarrier, Producer, SingleConsumerBarrier,
    SingleProducer, SingleProducerBarrier,
};

pub type InputPoller = EventPoller<InputSlot, MultiProducerBarrier>;
pub type OutputPoller = EventPoller<OutputSlot, SingleProducerBarrier>;

/// How a consuming thread waits when its ring is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitStrategy {
    /// Busy-spin: lowest latency; needs a core of its own (pin it).
    Spin,
    /// Spin briefly, then yield the core: for tests and small machines.
    Yield,
    /// Spin briefly, then sleep 50 µs: for cold consumers.
    Sleep,
}

/// Idle bookkeeping for a [`WaitStrategy`]: `Spin` only spins; `Yield` and `Sleep` back off
/// with `crossbeam`'s [`Backoff`] (a few exponentially longer spins, then yielding the core),
/// and `Sleep` sleeps once the backoff has run its course.
pub struct Idle {
    strategy: WaitStrategy,
    backoff: Backoff,
}

impl Idle {
    pub fn new(strategy: WaitStrategy) -> Self {
        Self {
            strategy,
            backoff: Backoff::new(),
        }
    }

    /// Called when a poll found nothing.
    #[inline]
    pub fn wait(&mut self) {
        match self.strategy {
            WaitStrategy::Spin => std::hint::spin_loop(),
            WaitStrategy::Sleep if self.backoff.is_completed() => {
                #[allow(clippy::disallowed_methods)] // a cold consumer's idle sleep, no decision
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            WaitStrategy::Yield | WaitStrategy::Sleep => self.backoff.snooze(),
        }
    }

    /// Called when a poll found events.
    #[inline]
    pub fn reset(&mut self) {
        self.backoff.reset();
    }
}

/// One slot of the output ring.
#[derive(Clone, Copy, Debug)]
pub struct OutputSlot {
    pub output: Output,
}

#[derive(Clone, Copy, Debug)]
pub enum Output {
    None,
    /// An order command. `journal_seq` is the sequence number of the last decision journaled
    /// with it (a durable sender syncs the journal up to it before releasing the order); the
    /// stamps are the input's publish and the command's emission (raw `quanta` counters).
    Command {
        command: OrderCommand,
        journal_seq: u64,
        ts_input_raw: u64,
        ts_emit_raw: u64,
    },
    /// The hot thread has stopped; nothing follows.
    Stopped,
}

/// Where the hot path's outputs go.
pub trait OutputSink {
    fn publish(&mut self, output: Output);
}

/// Collects outputs in memory (tests and benches).
impl OutputSink for Vec<Output> {
    fn publish(&mut self, output: Output) {
        self.push(output);
    }
}

/// Builds the input ring: returns the hot thread's poller and the first producer handle.
pub fn input_ring(slots: usize, slot_bytes: usize) -> (InputPoller, InputProducer) {
    let factory = move || InputSlot::with_capacity(slot_bytes);
    let (poller, builder) =
        disruptor::build_multi_producer(slots, factory, BusySpin).new_event_poller();
    (
        poller,
        InputProducer {
            producer: builder.build(),
            stamp: Stamp::default(),
        },
    )
}

/// A cold thread's handle on the input ring: it is the sequencer's stamp point.
#[derive(Clone)]
pub struct InputProducer {
    producer: MultiProducer<InputSlot, SingleConsumerBarrier>,
    stamp: Stamp,
}

impl InputProducer {
    /// Publishes one input, waiting (yielding) while the ring is full. The caller supplies the
    /// sequencer time: wall-clock receive time for live feeds, the recorded time in replays.
    pub fn publish(&mut self, kind: InputKind, conn_id: u32, ts_recv_ns: u64, data: &[u8]) {
        loop {
            let ts_pub_raw = self.stamp.raw();
            let result = self
                .producer
                .try_publish(|slot| slot.fill(kind, conn_id, ts_recv_ns, ts_pub_raw, data));
            if result.is_ok() {
                return;
            }
            std::thread::yield_now();
        }
    }
}

/// Builds the output ring: the hot thread's producer and the sender thread's poller.
pub fn output_ring(slots: usize) -> (OutputProducer, OutputPoller) {
    let factory = || OutputSlot {
        output: Output::None,
    };
    let (poller, builder) =
        disruptor::build_single_producer(slots, factory, BusySpin).new_event_poller();
    (
        OutputProducer {
            producer: builder.build(),
            full_waits: 0,
        },
        poller,
    )
}

pub struct OutputProducer {
    producer: SingleProducer<OutputSlot, SingleConsumerBarrier>,
    /// Times the hot thread found the output ring full and had to wait for the sender.
    pub full_waits: u64,
}

impl OutputSink for OutputProducer {
    fn publish(&mut self, output: Output) {
        let mut pending = Some(output);
        loop {
            let result = self.producer.try_publish(|slot| {
                if let Some(output) = pending.take() {
                    slot.output = output;
                }
            });
            if result.is_ok() {
                return;
            }
            // The sender is behind by a whole ring: orders must not be dropped, so wait.
            self.full_waits += 1;
            std::hint::spin_loop();
        }
    }
}
