//! Assembling the hot path from a config, and the threads around it: the pinned hot thread
//! and the order-sink thread that drains the output ring.

use crate::config::{DaemonConfig, FlushSetting, JournalConfig};
pub mod journal;
pub mod restart;

use anyhow::{Context, bail};
pub use journal::{Journal, journal_error};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use traider_core::command::{OrderAction, OrderCommand};
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
use traider_journal::Syncer;

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

/// Builds the hot path (paper and replay: the simulated venue is inside the engine; live:
/// the venue's reports arrive as inputs).
pub fn build(
    config: &DaemonConfig,
    journal: Journal,
    output: OutputProducer,
) -> anyhow::Result<Hot> {
    let engine = Engine::new(config.engine_settings(), config.simulated())
        .context("invalid engine settings")?;
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
pub fn check_products(
    config: &DaemonConfig,
    body: &str,
) -> anyhow::Result<Vec<traider_core::instrument::InstrumentSpec>> {
    let mut decoder = decoder(config);
    let mut batch = DecodedBatch::with_capacity(16, 16);
    decoder
        .decode(FrameKind::Products, body.as_bytes(), &mut batch)
        .map_err(|e| anyhow::anyhow!("the venue's products response cannot be read: {e}"))?;
    let settings = config.engine_settings();
    let mut specs = Vec::new();
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
        specs.push(*spec);
    }
    Ok(specs)
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
    pub edits: u64,
    /// Emit (hot thread) → received (sink thread), worst case, in ns.
    pub handoff_ns_max: u64,
    /// Group commits made before releasing commands (`flush = "durable"`).
    pub syncs: u64,
    /// Commands held back because the journal could not be synced.
    pub held: u64,
}

/// Drains the output ring and hands each released command to `forward`: in paper and
/// replay modes the simulated venue already executed the orders inside the engine, so
/// [`log_command`] logs them; in live mode `forward` passes them to the order desk.
/// With a `durable` syncer, no command is released before the decisions journaled with it are
/// on disk: one sync covers everything committed, so a batch costs one sync (group commit).
pub fn spawn_order_sink(
    mut poller: OutputPoller,
    durable: Option<Syncer>,
    mut forward: impl FnMut(OrderCommand) + Send + 'static,
) -> std::io::Result<JoinHandle<SinkStats>> {
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
                            Output::Command { command, journal_seq, ts_emit_raw, .. } => {
                                if let Some(syncer) = durable.as_ref()
                                    && journal_seq > syncer.durable_seq()
                                {
                                    stats.syncs += 1;
                                    if let Err(error) = syncer.sync_to(journal_seq) {
                                        tracing::error!(%error, id = %command.id(), "journal sync failed: order held back");
                                        stats.held += 1;
                                        continue;
                                    }
                                }
                                stats.commands += 1;
                                match command.action() {
                                    OrderAction::New => stats.new_orders += 1,
                                    OrderAction::Cancel => stats.cancels += 1,
                                    OrderAction::Edit => stats.edits += 1,
                                }
                                stats.handoff_ns_max = stats.handoff_ns_max.max(stamp.delta_ns(ts_emit_raw, stamp.raw()));
                                forward(command);
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

/// The paper and replay modes' order sink: the command is logged (the engine's simulated
/// venue executes it).
pub fn log_command(command: OrderCommand) {
    tracing::debug!(id = %command.id(), action = ?command.action(), request = ?command.request(), "order command");
}

/// The journal's cold helper thread: keeps the pages ahead of the writer resident and
/// writable (so appends on the hot thread do not page-fault), creates the next segment
/// ahead of the writer (so its roll makes no system call), and with `flush = "interval"`
/// syncs every interval; a last sync when it stops.
pub fn spawn_journal_keeper(
    syncer: Syncer,
    config: &JournalConfig,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let window_bytes = (config.prefault_kib as usize) << 10;
    let interval = (config.flush == FlushSetting::Interval)
        .then(|| Duration::from_millis(config.flush_interval_ms));
    let sync_at_stop = config.flush != FlushSetting::None;
    std::thread::Builder::new().name("traider-journal".into()).spawn(move || {
        let mut last_sync = std::time::Instant::now();
        let mut warned = false;
        while !stop.load(Ordering::Acquire) {
            if window_bytes > 0 {
                match syncer.prefault_ahead(window_bytes) {
                    Ok(prefault) if !prefault.supported && !warned => {
                        warned = true;
                        tracing::warn!("this kernel cannot prefault the journal (MADV_POPULATE_WRITE); appends will page-fault");
                    }
                    Err(error) if !warned => {
                        warned = true;
                        tracing::warn!(%error, "journal prefault failed");
                    }
                    _ => {}
                }
            }
            // The next segment, ready before the writer needs it: its roll makes no
            // system call on the hot thread.
            if let Err(error) = syncer.prepare_spare(window_bytes)
                && !warned
            {
                warned = true;
                tracing::warn!(%error, "cannot prepare the next journal segment; the hot thread will create it");
            }
            if let Some(interval) = interval
                && last_sync.elapsed() >= interval
            {
                last_sync = std::time::Instant::now();
                if let Err(error) = syncer.sync_all() {
                    tracing::error!(%error, "journal sync failed");
                }
            }
            std::thread::sleep(KEEPER_TICK);
        }
        if sync_at_stop && let Err(error) = syncer.sync_all() {
            tracing::error!(%error, "final journal sync failed");
        }
    })
}

/// How often the journal keeper wakes: its prefault window must exceed what the writer
/// appends in this time (4 MiB per 2 ms = 2 GB/s).
const KEEPER_TICK: Duration = Duration::from_millis(2);

/// Starts the thread that drains the output ring (given the durable syncer under
/// `flush = "durable"`): the logging sink in paper and replay, the order sender in live.
pub type OutputConsumer =
    Box<dyn FnOnce(OutputPoller, Option<Syncer>) -> std::io::Result<JoinHandle<SinkStats>> + Send>;

/// The hot thread's side of the latency copies: the buffer it publishes into, and the flag
/// the cold side raises when it wants a fresh copy.
pub type LatencyTap = (
    triple_buffer::Input<traider_core::pipeline::latency::Latency>,
    Arc<AtomicBool>,
);

/// What the cold side reads of the hot thread: its status snapshots and, on request, copies
/// of its latency histograms.
pub struct Observers {
    pub status: triple_buffer::Input<StatusSnapshot>,
    pub latency: Option<LatencyTap>,
}

/// The hot thread and the order sink, running; inputs go in through [`Running::producer`].
pub struct Running {
    producer: InputProducer,
    /// The journal's sync positions (for the metrics endpoint).
    pub syncer: Option<Syncer>,
    hot: JoinHandle<Hot>,
    sink: JoinHandle<SinkStats>,
    keeper: Option<(JoinHandle<()>, Arc<AtomicBool>)>,
    /// What restart by replay rebuilt from an existing journal (empty for a new one).
    pub rebuilt: restart::Rebuilt,
}

impl Running {
    /// Builds the hot path, rebuilds its state from the journal in `journal_dir` when that
    /// already holds records (restart by replay), and starts its threads. `status` receives
    /// the hot thread's snapshots (for the status log); `consumer` drains the output ring
    /// (`None`: the logging order sink of paper and replay).
    pub fn start(
        config: &DaemonConfig,
        journal: Journal,
        journal_dir: &std::path::Path,
        observers: Option<Observers>,
        consumer: Option<OutputConsumer>,
    ) -> anyhow::Result<Self> {
        let (poller, producer) = input_ring(config.hot_path.ring_slots, config.hot_path.slot_bytes);
        let (output, output_poller) = output_ring(config.hot_path.output_ring_slots);
        let has_records = journal.records() > 0;
        let syncer = journal.syncer();
        let mut hot = build(config, journal, output)?;
        let mut rebuilt = if has_records {
            let rebuilt = restart::rebuild(&mut hot, journal_dir)?;
            tracing::info!(
                inputs = rebuilt.inputs,
                decisions = rebuilt.decisions,
                "state rebuilt from the journal"
            );
            rebuilt
        } else {
            restart::Rebuilt::default()
        };
        rebuilt.live_orders = hot.engine().orders().live().to_vec();
        rebuilt.next_counter = hot.engine().orders().next_counter();
        if let Some(observers) = observers {
            hot = hot.with_status(observers.status);
            if let Some((input, wanted)) = observers.latency {
                hot = hot.with_latency_out(input, wanted);
            }
        }
        let durable = syncer
            .clone()
            .filter(|_| config.journal.flush == FlushSetting::Durable);
        let sink = match consumer {
            Some(consumer) => consumer(output_poller, durable)?,
            None => spawn_order_sink(output_poller, durable, log_command)?,
        };
        let syncer_for_metrics = syncer.clone();
        let keeper = match syncer {
            Some(syncer) => {
                let stop = Arc::new(AtomicBool::new(false));
                Some((
                    spawn_journal_keeper(syncer, &config.journal, Arc::clone(&stop))?,
                    stop,
                ))
            }
            None => None,
        };
        let hot = spawn_hot_thread(hot, poller, config.hot_path.pin_core, config.hot_path.wait)?;
        Ok(Self {
            producer,
            syncer: syncer_for_metrics,
            hot,
            sink,
            keeper,
            rebuilt,
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
        if let Some((keeper, stop)) = self.keeper {
            stop.store(true, Ordering::Release);
            keeper
                .join()
                .map_err(|_| anyhow::anyhow!("the journal thread panicked"))?;
        }
        Ok((hot, sink))
    }
}
