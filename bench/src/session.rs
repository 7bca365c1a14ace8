//! The recorded session in memory, and the configs the benches run with.
//!
//! [`Session::load`] reads the capture once (`load_frames`), then decodes every frame with a
//! real `CoinbaseDecoder` to classify it: an `l2_data` snapshot, an `l2_data` update (the
//! frames the tick-to-order target is about), or anything else (ticker, trades, heartbeats,
//! candles, subscription acks). Frames keep their recorded bytes and timestamps untouched.

use anyhow::{Context, bail};
use std::path::Path;
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind, MarketEvent};
use traider_core::input::{FeedControl, InputKind, InputSlot};
use traiderd::config::DaemonConfig;
use traiderd::hot;

/// The connection id every recorded frame is published with (the capture has one).
pub const CONN_ID: u32 = 1;

/// What a recorded frame is, as far as the benches care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameClass {
    L2Snapshot,
    L2Update,
    Other,
}

impl FrameClass {
    pub fn name(self) -> &'static str {
        match self {
            Self::L2Snapshot => "l2_snapshot",
            Self::L2Update => "l2_update",
            Self::Other => "other",
        }
    }
}

/// One received frame of the capture.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Recorder receive time, UNIX ns.
    pub ts_ns: u64,
    /// The WebSocket text frame, verbatim.
    pub data: Vec<u8>,
    pub class: FrameClass,
    /// Level changes it carries (snapshots: every level).
    pub levels: usize,
}

/// A whole capture, ready to replay from memory.
#[derive(Clone, Debug)]
pub struct Session {
    /// The products response body (instrument rules) and its record time.
    pub products: Vec<u8>,
    pub products_ts_ns: u64,
    pub frames: Vec<Frame>,
}

impl Session {
    /// Loads and classifies a capture for the products of `config`.
    pub fn load(path: &Path, config: &DaemonConfig) -> anyhow::Result<Self> {
        let capture = traider_gateways::capture::load_frames(path)
            .with_context(|| format!("cannot load {}", path.display()))?;
        let products = capture
            .products_body
            .context("the capture has no products response")?
            .into_bytes();
        let products_ts_ns = capture
            .frames
            .first()
            .map_or(0, |(ts, _)| ts.saturating_sub(1));
        let frames = capture
            .frames
            .into_iter()
            .map(|(ts_ns, text)| Frame {
                ts_ns,
                data: text.into_bytes(),
                class: FrameClass::Other,
                levels: 0,
            })
            .collect();
        Self::classified(products, products_ts_ns, frames, config)
    }

    /// Builds a session from frames already in memory, classifying each one.
    pub fn classified(
        products: Vec<u8>,
        products_ts_ns: u64,
        mut frames: Vec<Frame>,
        config: &DaemonConfig,
    ) -> anyhow::Result<Self> {
        let mut decoder = hot::decoder(config);
        let mut batch = DecodedBatch::with_capacity(
            config.levels_per_frame_max(),
            config.limits.trades_per_frame_max,
        );
        if let Err(error) = decoder.decode(FrameKind::Products, &products, &mut batch) {
            bail!("the products response does not decode: {error}");
        }
        for (index, frame) in frames.iter_mut().enumerate() {
            batch.clear();
            if let Err(error) = decoder.decode(FrameKind::MarketData, &frame.data, &mut batch) {
                bail!("frame {index} does not decode: {error}");
            }
            frame.levels = batch.level_count();
            frame.class = if batch
                .events
                .iter()
                .any(|e| matches!(e, MarketEvent::BookSnapshot { .. }))
            {
                FrameClass::L2Snapshot
            } else if batch
                .events
                .iter()
                .any(|e| matches!(e, MarketEvent::BookUpdate { .. }))
            {
                FrameClass::L2Update
            } else {
                FrameClass::Other
            };
        }
        Ok(Self {
            products,
            products_ts_ns,
            frames,
        })
    }

    /// The `l2_data` update frames, in order.
    pub fn updates(&self) -> impl Iterator<Item = &Frame> + '_ {
        self.frames
            .iter()
            .filter(|f| f.class == FrameClass::L2Update)
    }

    /// Index of the first frame after the last snapshot: frames before it warm the books.
    pub fn warm_end(&self) -> usize {
        self.frames
            .iter()
            .rposition(|f| f.class == FrameClass::L2Snapshot)
            .map_or(0, |i| i + 1)
    }

    /// Time from the products record to the last frame, plus a second: the offset between
    /// passes, so event time keeps increasing when the session is replayed again.
    pub fn pass_offset_ns(&self) -> u64 {
        let last = self.frames.last().map_or(self.products_ts_ns, |f| f.ts_ns);
        last.saturating_sub(self.products_ts_ns) + 1_000_000_000
    }

    /// JSON bytes of one replay (products body and every frame).
    pub fn json_bytes(&self) -> usize {
        self.products.len() + self.frames.iter().map(|f| f.data.len()).sum::<usize>()
    }

    /// Count and level changes of the frames of one class.
    pub fn class_totals(&self, class: FrameClass) -> (usize, usize) {
        self.frames
            .iter()
            .filter(|f| f.class == class)
            .fold((0, 0), |(n, l), f| (n + 1, l + f.levels))
    }

    /// Every input of a `traiderd replay` of this capture, as pre-filled ring slots: the
    /// products body, the connection's `Connected`, then each frame with its recorded time.
    pub fn input_slots(&self) -> Vec<InputSlot> {
        let slot = |kind, conn_id, ts_ns, data: &[u8]| {
            let mut slot = InputSlot::with_capacity(data.len());
            slot.fill(kind, conn_id, ts_ns, 0, data);
            slot
        };
        let mut slots = Vec::with_capacity(self.frames.len() + 2);
        slots.push(slot(
            InputKind::Products,
            0,
            self.products_ts_ns,
            &self.products,
        ));
        slots.push(slot(
            InputKind::Feed(FeedControl::Connected),
            CONN_ID,
            self.products_ts_ns,
            &[],
        ));
        for frame in &self.frames {
            slots.push(slot(InputKind::MdFrame, CONN_ID, frame.ts_ns, &frame.data));
        }
        slots
    }
}

/// `config/replay.toml` as shipped: what `traiderd replay` runs.
pub fn replay_config() -> anyhow::Result<DaemonConfig> {
    let path = crate::workspace_root().join("config/replay.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let config = DaemonConfig::parse(&text).map_err(|e| anyhow::anyhow!("replay.toml: {e}"))?;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("replay.toml: {e}"))?;
    Ok(config)
}

/// The tick-to-order config: `replay.toml` with a market maker that requotes on every tick of
/// drift, limits wide enough that risk refuses nothing, and a zero-latency simulated venue, so
/// that as many update frames as possible end in an order command.
pub fn tick_to_order_config() -> anyhow::Result<DaemonConfig> {
    let mut config = replay_config()?;
    let maker = config
        .strategy
        .market_maker
        .as_mut()
        .context("replay.toml has no [strategy.market_maker]")?;
    maker.requote_ticks = 1;
    maker.requote_interval_ms = 0;
    // The rate windows hold up to 10 000 events a second; the recorded session's event
    // time never comes near that.
    config.risk.orders_per_second = 10_000;
    config.risk.cancels_per_second = 10_000;
    config.risk.messages_per_second = 10_000;
    config.risk.duplicate_window_ms = 0;
    config.risk.max_open_orders = config.limits.orders_open_max as u32;
    config.risk.max_order_notional = "1000000000".to_owned();
    config.risk.stale_book_ms = 3_600_000;
    config.sim.latency_us = 0;
    for instrument in &mut config.instruments {
        instrument.inventory_max = "1000".to_owned();
        instrument.max_position = "100000".to_owned();
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("tick-to-order config: {e}"))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the derived config still validates and keeps the shipped capacities.
    #[test]
    fn tick_to_order_config_is_valid() {
        let config = tick_to_order_config().unwrap();
        let maker = config.strategy.market_maker.unwrap();
        assert_eq!((maker.requote_ticks, maker.requote_interval_ms), (1, 0));
        assert_eq!(config.sim.latency_us, 0);
        assert_eq!(
            config.risk.max_open_orders as usize,
            config.limits.orders_open_max
        );
    }
}
