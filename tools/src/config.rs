//! `traiderd`'s configuration file (TOML), read once at start-up on the main thread.
//!
//! Unknown keys are errors, and every error names the field it is about
//! (`risk.price_collar_bps: invalid type: string "x", expected u32`). The venue URLs can be
//! overridden by the environment (`TRAIDER_REST_URL`, `TRAIDER_WS_URL`), so one config runs
//! against Coinbase or a local stand-in.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use traider_core::config::{
    CapacitySettings, ConfigError, EngineSettings, InstrumentSettings, RiskSettings, SimSettings,
    StrategySettings,
};
use traider_core::pipeline::ring::WaitStrategy;

/// Environment variables that override the config's venue URLs.
pub const ENV_REST_URL: &str = "TRAIDER_REST_URL";
pub const ENV_WS_URL: &str = "TRAIDER_WS_URL";

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Live market data, simulated fills.
    Paper,
    /// Recorded market data, simulated fills.
    Replay,
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    #[serde(default = "default_mode")]
    pub mode: Mode,
    #[serde(default = "default_namespace")]
    pub client_order_namespace: u32,
    pub venue: VenueConfig,
    pub hot_path: HotPathConfig,
    pub journal: JournalConfig,
    #[serde(default)]
    pub report: ReportConfig,
    pub limits: CapacitySettings,
    pub risk: RiskSettings,
    pub strategy: StrategySettings,
    pub sim: SimSettings,
    pub instruments: Vec<InstrumentSettings>,
}

fn default_mode() -> Mode {
    Mode::Paper
}

fn default_namespace() -> u32 {
    1
}

/// Where the venue is (`[venue]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// REST base URL, e.g. `https://api.coinbase.com`.
    pub rest_url: String,
    /// Market-data WebSocket URL, e.g. `wss://advanced-trade-ws.coinbase.com`.
    pub ws_url: String,
    /// Reconnect when no heartbeat arrives for this long.
    pub heartbeat_timeout_ms: u64,
    /// After a gap and resubscribe, reconnect if fresh snapshots take longer than this.
    pub resync_timeout_ms: u64,
    pub reconnect_backoff_min_ms: u64,
    pub reconnect_backoff_max_ms: u64,
}

/// The hot thread and its rings (`[hot_path]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotPathConfig {
    /// Input ring slots (a power of two).
    pub ring_slots: usize,
    /// Output ring slots (a power of two).
    pub output_ring_slots: usize,
    /// Initial capacity of each input slot's buffer, in bytes.
    pub slot_bytes: usize,
    /// Largest accepted market-data frame, in bytes (at least 16 MiB).
    pub frame_bytes_max: usize,
    /// Core to pin the hot thread to; absent = no pinning.
    #[serde(default)]
    pub pin_core: Option<usize>,
    /// How the hot thread waits for input: "spin" (pin it), "yield" or "sleep".
    pub wait: WaitStrategy,
    /// Timer inputs let time pass without market data.
    pub timer_interval_ms: u64,
    /// How often the hot thread refreshes its status snapshot (event time).
    pub status_interval_ms: u64,
}

/// The journal (`[journal]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// `traiderd run`: the daemon's journal (a restart continues it). `traiderd replay`: the
    /// root under which a replay without `--journal-dir` gets a new directory.
    pub dir: PathBuf,
    /// Segment file size in MiB.
    pub segment_mb: u64,
    /// When the journal reaches the disk: "none", "interval" or "durable".
    #[serde(default)]
    pub flush: FlushSetting,
    /// With `flush = "interval"`: how often a cold thread syncs.
    #[serde(default = "default_flush_interval_ms")]
    pub flush_interval_ms: u64,
    /// Bytes ahead of the writer that a cold thread keeps resident and writable, so appends
    /// do not page-fault (0 = off).
    #[serde(default = "default_prefault_kib")]
    pub prefault_kib: u64,
}

/// What a flush policy survives: `none` a crash of the process (the records are in the page
/// cache at once); `interval` also a power loss, losing at most about one interval;
/// `durable` a power loss without losing any decision whose order was released (orders wait
/// for a group commit).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FlushSetting {
    #[default]
    None,
    #[serde(alias = "interval_ms")]
    Interval,
    Durable,
}

fn default_flush_interval_ms() -> u64 {
    100
}

fn default_prefault_kib() -> u64 {
    4096
}

/// Operator reports (`[report]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Seconds between status lines in the log (0 = none).
    pub interval_s: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self { interval_s: 5 }
    }
}

/// Frames must be at least this large: the BTC-USD snapshot alone is 5.1 MB.
pub const FRAME_BYTES_MIN: usize = 16 << 20;

impl DaemonConfig {
    /// Reads, parses and checks a config file; applies environment overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(path.display().to_string(), format!("cannot read: {e}"))
        })?;
        let mut config = Self::parse(&text)?;
        if let Ok(url) = std::env::var(ENV_REST_URL) {
            config.venue.rest_url = url;
        }
        if let Ok(url) = std::env::var(ENV_WS_URL) {
            config.venue.ws_url = url;
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text; errors name the field.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|e| ConfigError::new("(toml)", e.message()))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            ConfigError::new(
                if field == "." {
                    "(top level)".to_owned()
                } else {
                    field
                },
                e.inner().message(),
            )
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.engine_settings().validate()?;
        let hot = &self.hot_path;
        if !hot.ring_slots.is_power_of_two() || hot.ring_slots < 8 {
            return Err(ConfigError::new(
                "hot_path.ring_slots",
                "must be a power of two, at least 8",
            ));
        }
        if !hot.output_ring_slots.is_power_of_two() || hot.output_ring_slots < 8 {
            return Err(ConfigError::new(
                "hot_path.output_ring_slots",
                "must be a power of two, at least 8",
            ));
        }
        if hot.frame_bytes_max < FRAME_BYTES_MIN {
            return Err(ConfigError::new(
                "hot_path.frame_bytes_max",
                format!("must be at least {FRAME_BYTES_MIN} (16 MiB)"),
            ));
        }
        if hot.timer_interval_ms == 0 {
            return Err(ConfigError::new(
                "hot_path.timer_interval_ms",
                "must be positive",
            ));
        }
        if let Some(core) = hot.pin_core {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            if core >= cores {
                return Err(ConfigError::new(
                    "hot_path.pin_core",
                    format!("core {core} does not exist (this machine has {cores})"),
                ));
            }
        }
        if self.journal.flush == FlushSetting::Interval && self.journal.flush_interval_ms == 0 {
            return Err(ConfigError::new(
                "journal.flush_interval_ms",
                "must be positive with flush = \"interval\"",
            ));
        }
        if self.journal.prefault_kib > 1 << 20 {
            return Err(ConfigError::new(
                "journal.prefault_kib",
                "must be at most 1048576 (1 GiB)",
            ));
        }
        if self.journal.segment_mb == 0 || self.journal.segment_mb > 16 * 1024 {
            return Err(ConfigError::new(
                "journal.segment_mb",
                "must be between 1 and 16384",
            ));
        }
        for (field, url, schemes) in [
            (
                "venue.rest_url",
                &self.venue.rest_url,
                ["http://", "https://"],
            ),
            ("venue.ws_url", &self.venue.ws_url, ["ws://", "wss://"]),
        ] {
            if !schemes.iter().any(|s| url.starts_with(s)) {
                return Err(ConfigError::new(
                    field,
                    format!("{url:?} must start with {} or {}", schemes[0], schemes[1]),
                ));
            }
        }
        if self.venue.reconnect_backoff_min_ms == 0
            || self.venue.reconnect_backoff_min_ms > self.venue.reconnect_backoff_max_ms
        {
            return Err(ConfigError::new(
                "venue.reconnect_backoff_min_ms",
                "must be positive and at most reconnect_backoff_max_ms",
            ));
        }
        Ok(())
    }

    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            instruments: self.instruments.clone(),
            risk: self.risk.clone(),
            strategy: self.strategy.clone(),
            sim: self.sim.clone(),
            limits: self.limits.clone(),
            client_order_namespace: self.client_order_namespace,
        }
    }

    pub fn product_ids(&self) -> Vec<&str> {
        self.instruments
            .iter()
            .map(|i| i.product_id.as_str())
            .collect()
    }

    /// Most level changes one frame can carry: a full snapshot of both sides.
    pub fn levels_per_frame_max(&self) -> usize {
        2 * self.limits.book_levels_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_toml() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/paper.toml"))
            .unwrap()
    }

    // Proves the shipped configs parse and validate.
    #[test]
    fn shipped_configs_are_valid() {
        for name in ["paper.toml", "replay.toml"] {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../config")
                .join(name);
            let text = std::fs::read_to_string(&path).unwrap();
            let config = DaemonConfig::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    // Proves a bad field fails with a message naming it, for type errors, unknown keys and
    // semantic checks.
    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                "price_collar_bps = 50",
                "price_collar_bps = \"wide\"",
                "risk.price_collar_bps",
            ),
            ("[risk]", "[risk]\nmax_loss = 5", "risk"),
            (
                "ring_slots = 8192",
                "ring_slots = 1000",
                "hot_path.ring_slots",
            ),
            (
                "order_size = \"0.0001\"",
                "order_size = \"0.0x1\"",
                "instruments[0].order_size",
            ),
            (
                "kind = \"market_maker\"",
                "kind = \"arbitrage\"",
                "strategy.kind",
            ),
            (
                "ws_url = \"wss://advanced-trade-ws.coinbase.com\"",
                "ws_url = \"ftp://x\"",
                "venue.ws_url",
            ),
        ];
        let base = paper_toml();
        for (from, to, field) in cases {
            assert!(base.contains(from), "paper.toml has {from:?}");
            let text = base.replacen(from, to, 1);
            let error = DaemonConfig::parse(&text)
                .and_then(|c| c.validate().map(|()| c))
                .unwrap_err();
            assert!(
                error.to_string().starts_with(field),
                "{to:?} → {error} should name {field}"
            );
        }
    }
}
