//! Assembling the hot path from a config, and the threads around it: the pinned hot thread
//! and the order-sink thread that drains the output ring.

use crate::config::DaemonConfig;
use crate::journal_sink::Journal;
use anyhow::{Context, bail};
use std::thread::JoinHandle;
use traider_core::engine::{Engine, StatusSnapshot};
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind};
use traider_core::input::InputKind;
use traider_core::instrument::InstrumentId;
use traider_core::pipeline::latency::Stamp;
use traider_core::pipeline::ring::{
    Idle, InputPoller, InputProducer, Output, OutputPoller, OutputProducer, WaitStrategy,
    input_ring, output_ring,
};
use traider_core::pipeline::{HotPath, HotPathLimits};
use traider_gateways::coinbase::parse::CoinbaseDecoder;

pub type Hot = HotPath<CoinbaseDecoder, Journal, OutputProducer>;

pub fn decoder(config: &DaemonConfig) -> CoinbaseDecoder {
    CoinbaseDecoder::new(
        &config.product_ids(),
        config.hot_path.frame_bytes_max,
        config.levels_per_frame_max(),
        config.limits.trades_per_frame_max,
    )
}

pub fn limits(config: &DaemonConfig) -> HotPathLimits {
    HotPathLimits {
        frame_bytes_max: config.hot_path.frame_bytes_max,
        levels_per_frame_max: config.levels_per_frame_max(),
        trades_per_frame_max: config.limits.trades_per_frame_max,
        status_interval_ns: config.hot_path.status_interval_ms.saturating_mul(1_000_000),
    }
}

/// Builds the hot path (paper and replay: the simulated venue is inside the engine).
pub fn build(
    config: &DaemonConfig,
    journal: Journal,
    output: OutputProducer,
) -> anyhow::Result<Hot> {
    let engine = Engine::new(config.engine_settings(), true).context("invalid engine settings")?;
    Ok(HotPath::new(
        engine,
        decoder(config),
        journal,
        output,
        limits(config),
    ))
}

/// Checks the config against the venue's products response before anything trades:
/// every configured product must be there and every size must sit on its grid.
pub fn check_products(config: &DaemonConfig, body: &str) -> anyhow::Result<()> {
    let mut decoder = decoder(config);
    let mut batch = DecodedBatch::with_capacity(16, 16);
    decoder
        .decode(FrameKind::Products, body.as_bytes(), &mut batch)
        .map_err(|e| anyhow::anyhow!("the venue's products response cannot be read: {e}"))?;
    let settings = config.engine_settings();
    for (index, product_id) in config.product_ids().into_iter().enumerate() {
        let Some((_, spec)) = batch
            .specs
            .iter()
            .find(|(id, _)| *id == InstrumentId(index as u16))
        else {
            bail!(
                "instruments[{index}].product_id: {product_id} is not in the venue's products response"
            );
        };
        settings.resolve_instrument(index, spec)?;
        if spec.status.trading_disabled || spec.status.cancel_only {
            tracing::warn!(
                product = product_id,
                "the venue does not accept orders for this product now"
            );
        }
    }
    Ok(())
}

/// Runs the hot path on its own thread (pinned when configured) until `Shutdown`.
pub fn spawn_hot_thread(
    mut hot: Hot,
    mut poller: InputPoller,
    pin_core: Option<usize>,
    wait: WaitStrategy,
) -> std::io::Result<JoinHandle<Hot>> {
    std::thread::Builder::new()
        .name("traider-hot".into())
        .spawn(move || {
            if let Some(id) = pin_core {
                if core_affinity::set_for_current(core_affinity::CoreId { id }) {
                    tracing::info!(core = id, "hot thread pinned");
                } else {
                    tracing::warn!(core = id, "could not pin the hot thread");
                }
            }
            hot.run(&mut poller, wait);
            hot
        })
}

/// What the order-sink thread saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct SinkStats {
    pub commands: u64,
    pub new_orders: u64,
    pub cancels: u64,
    /// Emit (hot thread) → received (sink thread), worst case, in ns.
    pub handoff_ns_max: u64,
}

/// Drains the output ring. In paper and replay modes the simulated venue already executed
/// the orders inside the engine, so this logs them; the live order sender replaces it.
pub fn spawn_order_sink(mut poller: OutputPoller) -> std::io::Result<JoinHandle<SinkStats>> {
    std::thread::Builder::new().name("traider-orders".into()).spawn(move || {
        let stamp = Stamp::default();
        let mut stats = SinkStats::default();
        let mut idle = Idle::new(WaitStrategy::Sleep);
        loop {
            let mut stopped = false;
            match poller.poll() {
                Ok(mut events) => {
                    idle.reset();
                    for slot in &mut events {
                        match slot.output {
                            Output::Command { command, ts_emit_raw, .. } => {
                                stats.commands += 1;
                                match command.action() {
                                    traider_core::command::OrderAction::New => stats.new_orders += 1,
                                    traider_core::command::OrderAction::Cancel => stats.cancels += 1,
                                }
                                stats.handoff_ns_max = stats.handoff_ns_max.max(stamp.delta_ns(ts_emit_raw, stamp.raw()));
                                tracing::debug!(id = %command.id(), action = ?command.action(), request = ?command.request(), "order command");
                            }
                            Output::Stopped => stopped = true,
                            Output::None => {}
                        }
                    }
                }
                Err(disruptor::Polling::NoEvents) => idle.wait(),
                Err(disruptor::Polling::Shutdown) => stopped = true,
            }
            if stopped {
                return stats;
            }
        }
    })
}

/// The hot thread and the order sink, running; inputs go in through [`Running::producer`].
pub struct Running {
    producer: InputProducer,
    hot: JoinHandle<Hot>,
    sink: JoinHandle<SinkStats>,
}

impl Running {
    /// Builds the hot path and starts its threads. `status` receives the hot thread's
    /// snapshots (for the status log).
    pub fn start(
        config: &DaemonConfig,
        journal: Journal,
        status: Option<triple_buffer::Input<StatusSnapshot>>,
    ) -> anyhow::Result<Self> {
        let (poller, producer) = input_ring(config.hot_path.ring_slots, config.hot_path.slot_bytes);
        let (output, output_poller) = output_ring(config.hot_path.output_ring_slots);
        let mut hot = build(config, journal, output)?;
        if let Some(status) = status {
            hot = hot.with_status(status);
        }
        let sink = spawn_order_sink(output_poller)?;
        let hot = spawn_hot_thread(hot, poller, config.hot_path.pin_core, config.hot_path.wait)?;
        Ok(Self {
            producer,
            hot,
            sink,
        })
    }

    /// Another handle on the input ring (one per publishing thread).
    pub fn producer(&self) -> InputProducer {
        self.producer.clone()
    }

    /// Publishes `Shutdown` (stamped `ts_ns`) behind everything already published, and
    /// waits for the hot thread to drain, flush the journal and stop.
    pub fn stop(mut self, ts_ns: u64) -> anyhow::Result<(Hot, SinkStats)> {
        self.producer.publish(InputKind::Shutdown, 0, ts_ns, &[]);
        drop(self.producer);
        let hot = self
            .hot
            .join()
            .map_err(|_| anyhow::anyhow!("the hot thread panicked"))?;
        let sink = self
            .sink
            .join()
            .map_err(|_| anyhow::anyhow!("the order-sink thread panicked"))?;
        Ok((hot, sink))
    }
}
