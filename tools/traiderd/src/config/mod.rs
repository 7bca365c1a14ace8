//! `traiderd`'s configuration file (TOML), read once at start-up on the main thread.
//!
//! Unknown keys are errors, and every error names the field it is about
//! (`risk.price_collar_bps: invalid type: string "x", expected u32`). The venue URLs can be
//! overridden by the environment (`TRAIDER_REST_URL`, `TRAIDER_WS_URL`, and for live trading
//! `TRAIDER_USER_WS_URL` and `TRAIDER_KEY_FILE`), so one config runs against Coinbase or a
//! local stand-in.

pub mod admin;

use serde::Deserialize;
use std::path::{Path, PathBuf};
use traider_core::config::{
    CapacitySettings, ConfigError, EngineSettings, InstrumentSettings, RiskSettings, SimSettings,
    StrategySettings,
};
use traider_core::pipeline::ring::WaitStrategy;
use traider_gateways::coinbase::execution::UnknownOrders;

/// Environment variables that override the config's venue URLs.
pub const ENV_REST_URL: &str = "TRAIDER_REST_URL";
pub const ENV_WS_URL: &str = "TRAIDER_WS_URL";
/// Overrides `[live] user_ws_url`.
pub const ENV_USER_WS_URL: &str = "TRAIDER_USER_WS_URL";
/// Overrides `[live] key_file`.
pub const ENV_KEY_FILE: &str = "TRAIDER_KEY_FILE";
/// Overrides `[admin] listen`.
pub const ENV_ADMIN_LISTEN: &str = "TRAIDER_ADMIN_LISTEN";

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Live market data, simulated fills.
    Paper,
    /// Recorded market data, simulated fills.
    Replay,
    /// Live market data, real orders at the venue (`[live]` is required).
    Live,
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
    /// Live trading (`mode = "live"`): the API key, the user channel, sending and
    /// reconciliation.
    #[serde(default)]
    pub live: Option<LiveConfig>,
    /// The metrics and admin endpoint (`[admin]`); absent = not served.
    #[serde(default)]
    pub admin: Option<admin::AdminConfig>,
    pub instruments: Vec<InstrumentSettings>,
}

/// What the dead-man switch does.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeadmanAction {
    #[default]
    Pause,
    Kill,
}

/// Live trading (`[live]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// The CDP API key file (JSON with `name` and `privateKey`; mode 600).
    pub key_file: PathBuf,
    /// The user-channel WebSocket URL (`wss://advanced-trade-ws-user.coinbase.com`).
    pub user_ws_url: String,
    /// Private REST requests per second the client allows itself (Coinbase: 30).
    #[serde(default = "default_private_rate")]
    pub private_rate_per_s: u32,
    /// A REST request with no answer after this long counts as unanswered.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Re-sends of a create (same client order id) or cancel after a retryable failure.
    #[serde(default = "default_send_retries")]
    pub send_retries: u32,
    /// First back-off between re-sends (doubles each time).
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// An order whose create stayed unanswered is looked up by client order id after this.
    #[serde(default = "default_unknown_resolve_ms")]
    pub unknown_resolve_ms: u64,
    /// Open orders at the venue that the journal does not know, found at startup.
    #[serde(default = "default_unknown_orders")]
    pub unknown_orders: UnknownOrders,
    /// Dead-man switch: trading stops and open orders are cancelled when the user channel
    /// (its heartbeats included) is silent this long, or market data is down this long.
    #[serde(default = "default_deadman_ms")]
    pub deadman_ms: u64,
    /// What the dead-man switch does besides closing the gate: "pause" (trading resumes by
    /// itself once the feeds are healthy) or "kill" (the kill switch too: HALTED until an
    /// operator resumes; positions flattened when `[risk] kill_flatten`).
    #[serde(default)]
    pub deadman_action: DeadmanAction,
    /// How often the REST fills of live orders are read (the authoritative record).
    #[serde(default = "default_fills_poll_ms")]
    pub fills_poll_ms: u64,
}

fn default_private_rate() -> u32 {
    30
}
fn default_request_timeout_ms() -> u64 {
    5_000
}
fn default_send_retries() -> u32 {
    3
}
fn default_retry_backoff_ms() -> u64 {
    200
}
fn default_unknown_resolve_ms() -> u64 {
    5_000
}
fn default_unknown_orders() -> UnknownOrders {
    UnknownOrders::Cancel
}
fn default_deadman_ms() -> u64 {
    10_000
}
fn default_fills_poll_ms() -> u64 {
    1_000
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
    /// Reads, parses and validates the config at `path`, with the environment's overrides;
    /// every error names the file once, then the field.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(path.display().to_string(), format!("cannot read: {e}"))
        })?;
        Self::from_text(&text)
            .map_err(|e| ConfigError::new(format!("{}: {}", path.display(), e.field), e.message))
    }

    /// The config in `text`, with the environment's overrides, validated.
    fn from_text(text: &str) -> Result<Self, ConfigError> {
        let mut config = Self::parse(text)?;
        if let Ok(url) = std::env::var(ENV_REST_URL) {
            config.venue.rest_url = url;
        }
        if let Ok(url) = std::env::var(ENV_WS_URL) {
            config.venue.ws_url = url;
        }
        if let Some(live) = config.live.as_mut() {
            if let Ok(url) = std::env::var(ENV_USER_WS_URL) {
                live.user_ws_url = url;
            }
            if let Ok(path) = std::env::var(ENV_KEY_FILE) {
                live.key_file = PathBuf::from(path);
            }
        }
        if let (Some(admin), Ok(listen)) = (config.admin.as_mut(), std::env::var(ENV_ADMIN_LISTEN))
        {
            admin.listen = listen.parse().map_err(|e| {
                ConfigError::new(
                    ENV_ADMIN_LISTEN,
                    format!("{listen:?} is not an address: {e}"),
                )
            })?;
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

    /// Checks every section, in the order the sections are written; the first failure is
    /// the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.engine_settings().validate()?;
        if let Some(admin) = &self.admin {
            admin.validate()?;
        }
        self.hot_path.validate()?;
        self.journal.validate()?;
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
        match (&self.live, self.mode) {
            (None, Mode::Live) => {
                return Err(ConfigError::new(
                    "live",
                    "mode = \"live\" needs a [live] section (key_file, user_ws_url)",
                ));
            }
            (Some(live), _) => live.validate()?,
            (None, _) => {}
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

    /// Whether the engine simulates fills itself (paper, replay) or a venue reports them.
    pub fn simulated(&self) -> bool {
        self.mode != Mode::Live
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

impl HotPathConfig {
    /// `[hot_path]`: ring sizes, the frame size bound, the timer, the pinned core.
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.ring_slots.is_power_of_two() || self.ring_slots < 8 {
            return Err(ConfigError::new(
                "hot_path.ring_slots",
                "must be a power of two, at least 8",
            ));
        }
        if !self.output_ring_slots.is_power_of_two() || self.output_ring_slots < 8 {
            return Err(ConfigError::new(
                "hot_path.output_ring_slots",
                "must be a power of two, at least 8",
            ));
        }
        if self.frame_bytes_max < FRAME_BYTES_MIN {
            return Err(ConfigError::new(
                "hot_path.frame_bytes_max",
                format!("must be at least {FRAME_BYTES_MIN} (16 MiB)"),
            ));
        }
        if self.timer_interval_ms == 0 {
            return Err(ConfigError::new(
                "hot_path.timer_interval_ms",
                "must be positive",
            ));
        }
        if let Some(core) = self.pin_core {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            if core >= cores {
                return Err(ConfigError::new(
                    "hot_path.pin_core",
                    format!("core {core} does not exist (this machine has {cores})"),
                ));
            }
        }
        Ok(())
    }
}

impl JournalConfig {
    /// `[journal]`: the flush interval, prefaulting and the segment size.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.flush == FlushSetting::Interval && self.flush_interval_ms == 0 {
            return Err(ConfigError::new(
                "journal.flush_interval_ms",
                "must be positive with flush = \"interval\"",
            ));
        }
        if self.prefault_kib > 1 << 20 {
            return Err(ConfigError::new(
                "journal.prefault_kib",
                "must be at most 1048576 (1 GiB)",
            ));
        }
        if self.segment_mb == 0 || self.segment_mb > 16 * 1024 {
            return Err(ConfigError::new(
                "journal.segment_mb",
                "must be between 1 and 16384",
            ));
        }
        Ok(())
    }
}

impl LiveConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !["ws://", "wss://"]
            .iter()
            .any(|s| self.user_ws_url.starts_with(s))
        {
            return Err(ConfigError::new(
                "live.user_ws_url",
                format!("{:?} must start with ws:// or wss://", self.user_ws_url),
            ));
        }
        if self.private_rate_per_s == 0 {
            return Err(ConfigError::new(
                "live.private_rate_per_s",
                "must be positive",
            ));
        }
        for (field, value) in [
            ("live.request_timeout_ms", self.request_timeout_ms),
            ("live.retry_backoff_ms", self.retry_backoff_ms),
            ("live.unknown_resolve_ms", self.unknown_resolve_ms),
            ("live.deadman_ms", self.deadman_ms),
            ("live.fills_poll_ms", self.fills_poll_ms),
        ] {
            if value == 0 {
                return Err(ConfigError::new(field, "must be positive"));
            }
        }
        if self.key_file.as_os_str().is_empty() {
            return Err(ConfigError::new("live.key_file", "must name the key file"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_toml() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/paper.toml"
        ))
        .unwrap()
    }

    // Proves the shipped configs parse and validate.
    #[test]
    fn shipped_configs_are_valid() {
        for name in ["paper.toml", "replay.toml", "live.toml"] {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../config")
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
