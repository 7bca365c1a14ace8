//! `traiderd replay`: a capture through the same engine, as fast as the machine allows.
//!
//! The main thread reads the capture and is the sequencer: it publishes each record into the
//! input ring stamped with its *recorded* time, so a replay is deterministic and two replays of
//! one capture write byte-identical journals. The hot thread and the order sink run exactly as
//! in `traiderd run`.

use crate::config::DaemonConfig;
use crate::hot::Journal;
use crate::hot::journal_error;
use crate::hot::restart::InputPrint;
use crate::hot::{self, SinkStats};
use crate::summary::hot_summary;
use anyhow::bail;
use std::collections::BTreeMap;
use std::path::PathBuf;
use traider_core::input::{FeedControl, InputKind};
use traider_core::pipeline::ring::InputProducer;
use traider_gateways::capture::{CaptureReader, CaptureRecord};

pub struct ReplayArgs {
    pub config: PathBuf,
    pub capture: PathBuf,
    pub journal_dir: Option<PathBuf>,
    /// At most this many inputs per second (wall clock); `None` = as fast as possible. The
    /// recorded times still stamp every input, so results do not change.
    pub max_rate: Option<u32>,
}

/// What the feeder did with the capture.
#[derive(Clone, Copy, Debug, Default)]
pub struct FeedStats {
    pub records: u64,
    pub md_frames: u64,
    pub bad_lines: u64,
}

pub struct ReplayOutcome {
    pub summary: serde_json::Value,
    pub hot: hot::Hot,
    pub sink: SinkStats,
}

/// Runs a whole replay and returns its summary.
pub fn replay(args: &ReplayArgs) -> anyhow::Result<ReplayOutcome> {
    let mut config = DaemonConfig::load(&args.config)?;
    // A replay always simulates the fills, whatever mode the config was written for (a live
    // config replays as its own backtest).
    config.mode = crate::config::Mode::Replay;
    let dir = match &args.journal_dir {
        Some(dir) => dir.clone(),
        None => config
            .journal
            .dir
            .join(format!("replay-{}", crate::clock::session_stamp())),
    };
    let (journal, _recovery) =
        Journal::open(&dir, &config.journal).map_err(|error| journal_error(&dir, error))?;
    let mut reader = CaptureReader::open(&args.capture)?;
    // An existing journal is rebuilt first; the capture then resumes after its last input.
    let running = hot::Running::start(&config, journal, &dir, None, None)?;
    let resumed_inputs = running.rebuilt.prints.len();
    let mut feeder = Feeder {
        producer: running.producer(),
        journaled: &running.rebuilt.prints,
        index: 0,
        pace: args
            .max_rate
            .map(|rate| (std::time::Instant::now(), rate.max(1), 0)),
    };
    let fed = feed_capture(&config, &mut reader, &mut feeder);
    drop(feeder);
    let rebuilt_appended = running.rebuilt.appended;
    let (hot, sink) = running.stop(0)?;
    let fed = fed?;
    let mut summary = hot_summary("replay", &hot, &dir);
    summary["capture"] = serde_json::json!({"records": fed.records, "bad_lines": fed.bad_lines});
    summary["resumed"] =
        serde_json::json!({"inputs": resumed_inputs, "appended_decisions": rebuilt_appended});
    summary["order_sink"] = crate::summary::sink_json(&sink);
    Ok(ReplayOutcome { summary, hot, sink })
}

/// Publishes the capture's inputs, skipping those an existing journal already holds (after
/// checking that they are the same inputs: the journal must be a prefix of this capture).
struct Feeder<'a> {
    producer: InputProducer,
    journaled: &'a [InputPrint],
    index: usize,
    /// (start, inputs per second, inputs published) when the rate is limited.
    pace: Option<(std::time::Instant, u32, u64)>,
}

/// Where the capture's inputs go: the input ring in a replay; a test may take them one at a
/// time onto its own thread (the allocation test runs the hot path this way).
pub trait InputSink {
    /// Takes one input: its kind, connection, recorded time (UNIX ns) and bytes.
    fn publish(
        &mut self,
        kind: InputKind,
        conn_id: u32,
        ts_ns: u64,
        data: &[u8],
    ) -> anyhow::Result<()>;
}

impl InputSink for Feeder<'_> {
    fn publish(
        &mut self,
        kind: InputKind,
        conn_id: u32,
        ts_ns: u64,
        data: &[u8],
    ) -> anyhow::Result<()> {
        let index = self.index;
        self.index += 1;
        match self.journaled.get(index) {
            Some(print) if *print == InputPrint::of(kind, conn_id, ts_ns, data) => Ok(()),
            Some(_) => bail!(
                "the journal was not written from this capture: its input #{} differs from the capture's",
                index + 1
            ),
            None => {
                if let Some((start, rate, published)) = self.pace.as_mut() {
                    let due =
                        std::time::Duration::from_secs_f64(*published as f64 / f64::from(*rate));
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    *published += 1;
                }
                self.producer.publish(kind, conn_id, ts_ns, data);
                Ok(())
            }
        }
    }
}

/// Publishes the capture's records in file order with their recorded times: the products
/// response (checked against the config), a `Connected` control for each new connection, and
/// every market-data frame.
pub fn feed_capture(
    config: &DaemonConfig,
    reader: &mut CaptureReader,
    producer: &mut impl InputSink,
) -> anyhow::Result<FeedStats> {
    let mut stats = FeedStats::default();
    let mut connections: BTreeMap<String, u32> = BTreeMap::new();
    let mut products_seen = false;
    for record in reader.by_ref() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                // A damaged line is reported and skipped; the rest of the capture still plays.
                tracing::warn!(%error, "capture line skipped");
                stats.bad_lines += 1;
                continue;
            }
        };
        stats.records += 1;
        match record {
            CaptureRecord::Http {
                ts_ns, url, body, ..
            } if url.contains("/products") => {
                hot::check_products(config, &body)?;
                producer.publish(InputKind::Products, 0, ts_ns, body.as_bytes())?;
                products_seen = true;
            }
            CaptureRecord::Http { .. } | CaptureRecord::Send { .. } => {}
            CaptureRecord::Connect { conn, ts_ns, .. } => {
                let next = connections.len() as u32 + 1;
                let conn_id = *connections.entry(conn).or_insert(next);
                producer.publish(InputKind::Feed(FeedControl::Connected), conn_id, ts_ns, &[])?;
            }
            CaptureRecord::Recv { conn, ts_ns, data } => {
                if !products_seen {
                    bail!(
                        "the capture has market data before any products response; it cannot be replayed without instrument rules"
                    );
                }
                let next = connections.len() as u32 + 1;
                let conn_id = *connections.entry(conn).or_insert(next);
                producer.publish(InputKind::MdFrame, conn_id, ts_ns, data.as_bytes())?;
                stats.md_frames += 1;
            }
        }
    }
    if !products_seen {
        bail!(
            "the capture has no products response ({} records read)",
            stats.records
        );
    }
    Ok(stats)
}
