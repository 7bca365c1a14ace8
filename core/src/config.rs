//! The engine's settings, as written in TOML, and their checks.
//!
//! Sizes are decimal strings in base units and money in quote units, because the integer
//! grid (lots, ticks) is only known once the venue's product rules arrive;
//! [`EngineSettings::resolve_instrument`] converts them then and refuses values off the grid.
//! Every error names the field it is about, as a path (`instruments[0].order_size`).

use crate::instrument::{InstrumentSpec, SYMBOL_BYTES_MAX};
use crate::num::{Money, parse_units_at_scale};
use crate::risk::{GlobalLimits, InstrumentLimits};
use crate::sim::SimParams;
use crate::strategy::{MarketMakerParams, SizingParams, TakerParams};
use serde::Deserialize;

/// Compile-time ceiling on configured instruments (status snapshots are fixed-size).
pub const INSTRUMENTS_MAX: usize = 16;

/// A setting that is wrong, with the path of the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// One traded product (`[[instruments]]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSettings {
    /// Venue product id, e.g. "BTC-USD".
    pub product_id: String,
    /// Size of each strategy order, in base units.
    pub order_size: String,
    /// The strategy's inventory cap, in base units.
    pub inventory_max: String,
    /// Risk: largest order, in base units.
    pub max_order_size: String,
    /// Risk: largest absolute position (including open orders), in base units.
    pub max_position: String,
    /// Risk: largest order notional in quote units; defaults to `[risk] max_order_notional`.
    #[serde(default)]
    pub max_order_notional: Option<String>,
    /// Risk: most open orders of this product; defaults to
    /// `[risk] instrument_max_open_orders` (Coinbase allows 500 per product).
    #[serde(default)]
    pub max_open_orders: Option<u32>,
}

/// Pre-trade risk limits and controls (`[risk]`). Every limit can also be changed at
/// runtime through the admin API. Money is in quote units as a decimal string; "0" turns
/// a control off where said.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// Largest order notional, in quote units (e.g. "5000").
    pub max_order_notional: String,
    /// Largest distance of a limit price from the reference price (the mid, or the last
    /// trade when the book is thin), in basis points.
    pub price_collar_bps: u32,
    /// A spread wider than this (or a one-sided book) makes the book thin.
    #[serde(default = "default_thin_book_spread_bps")]
    pub thin_book_spread_bps: u32,
    /// Most orders open at once across instruments.
    pub max_open_orders: u32,
    /// Most open orders per instrument unless the instrument says otherwise.
    #[serde(default = "default_instrument_max_open_orders")]
    pub instrument_max_open_orders: u32,
    /// Most new orders per second (sliding window).
    pub orders_per_second: u32,
    /// Most strategy cancels per second (halt and kill cancels are never held back).
    #[serde(default = "default_cancels_per_second")]
    pub cancels_per_second: u32,
    /// Most orders, cancels and edits per second together.
    #[serde(default = "default_messages_per_second")]
    pub messages_per_second: u32,
    /// An order equal to one approved this recently is refused as a duplicate (0: off).
    #[serde(default = "default_duplicate_window_ms")]
    pub duplicate_window_ms: u64,
    /// Largest gross exposure across instruments, open orders included ("0": off).
    #[serde(default = "zero_money")]
    pub max_gross_exposure: String,
    /// No orders when the book's last update is older than this.
    pub stale_book_ms: u64,
    /// Execution throttle: this many fills within `fills_window_ms` switch the strategy
    /// off until an operator switches it on (0: off).
    #[serde(default)]
    pub fills_in_window_max: u32,
    #[serde(default = "default_fills_window_ms")]
    pub fills_window_ms: u64,
    /// Loss since the start of the UTC day that stops trading ("0": off), and the state it
    /// moves to: "halted" (cancel everything) or "reducing" (only reducing orders).
    #[serde(default = "zero_money")]
    pub daily_loss_limit: String,
    #[serde(default = "default_halted")]
    pub daily_loss_action: LossAction,
    /// Fall from the session's P&L high that stops trading ("0": off), and its state.
    #[serde(default = "zero_money")]
    pub max_drawdown: String,
    #[serde(default = "default_reducing")]
    pub drawdown_action: LossAction,
    /// Kill-switch flattening crosses the book by this much (must be below the collar).
    #[serde(default = "default_flatten_slippage_bps")]
    pub flatten_slippage_bps: u32,
    /// Whether a kill by SIGUSR1 or the dead-man switch also flattens positions (an
    /// operator's kill says so itself).
    #[serde(default)]
    pub kill_flatten: bool,
}

impl Default for RiskSettings {
    /// The documented defaults, with `config/paper.toml`'s required values.
    fn default() -> Self {
        Self {
            max_order_notional: "250".to_owned(),
            price_collar_bps: 50,
            thin_book_spread_bps: default_thin_book_spread_bps(),
            max_open_orders: 8,
            instrument_max_open_orders: default_instrument_max_open_orders(),
            orders_per_second: 10,
            cancels_per_second: default_cancels_per_second(),
            messages_per_second: default_messages_per_second(),
            duplicate_window_ms: default_duplicate_window_ms(),
            max_gross_exposure: zero_money(),
            stale_book_ms: 5_000,
            fills_in_window_max: 0,
            fills_window_ms: default_fills_window_ms(),
            daily_loss_limit: zero_money(),
            daily_loss_action: LossAction::Halted,
            max_drawdown: zero_money(),
            drawdown_action: LossAction::Reducing,
            flatten_slippage_bps: default_flatten_slippage_bps(),
            kill_flatten: false,
        }
    }
}

/// Where a loss limit moves trading.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LossAction {
    Reducing,
    Halted,
}

fn default_thin_book_spread_bps() -> u32 {
    100
}
fn default_instrument_max_open_orders() -> u32 {
    500
}
fn default_cancels_per_second() -> u32 {
    20
}
fn default_messages_per_second() -> u32 {
    30
}
fn default_duplicate_window_ms() -> u64 {
    100
}
fn zero_money() -> String {
    "0".to_owned()
}
fn default_fills_window_ms() -> u64 {
    60_000
}
fn default_halted() -> LossAction {
    LossAction::Halted
}
fn default_reducing() -> LossAction {
    LossAction::Reducing
}
fn default_flatten_slippage_bps() -> u32 {
    10
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    MarketMaker,
    Taker,
}

/// Which strategy runs and its parameters (`[strategy]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StrategySettings {
    pub kind: StrategyKind,
    #[serde(default)]
    pub market_maker: Option<MarketMakerParams>,
    #[serde(default)]
    pub taker: Option<TakerParams>,
}

/// The simulated venue (`[sim]`), used in paper and replay modes.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    /// One-way latency from decision to venue, in microseconds.
    pub latency_us: u64,
    /// Maker fee in basis points, up to two decimals ("40" = 0.40 %).
    pub maker_fee_bps: String,
    /// Taker fee in basis points, up to two decimals.
    pub taker_fee_bps: String,
}

/// Start-up allocation sizes (`[limits]`). Nothing on the hot path grows past these.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CapacitySettings {
    /// Price levels per book side.
    pub book_levels_max: usize,
    /// Live orders the order manager can track.
    pub orders_open_max: usize,
    /// Trades one market-data frame may carry.
    pub trades_per_frame_max: usize,
}

/// Everything the engine needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    pub instruments: Vec<InstrumentSettings>,
    pub risk: RiskSettings,
    pub strategy: StrategySettings,
    pub sim: SimSettings,
    pub limits: CapacitySettings,
    /// High bits of every client order id (distinguishes daemons sharing an account).
    pub client_order_namespace: u32,
}

impl EngineSettings {
    /// Checks everything that can be checked before the venue's product rules are known.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_instruments()?;
        self.validate_risk()?;
        self.validate_strategy()?;
        self.sim_params()?;
        self.validate_capacity()
    }

    /// The instrument list: its length, and each product id and decimal field.
    fn validate_instruments(&self) -> Result<(), ConfigError> {
        if self.instruments.is_empty() || self.instruments.len() > INSTRUMENTS_MAX {
            return Err(ConfigError::new(
                "instruments",
                format!("between 1 and {INSTRUMENTS_MAX} instruments are required"),
            ));
        }
        for (index, instrument) in self.instruments.iter().enumerate() {
            let path = |field: &str| format!("instruments[{index}].{field}");
            let id = &instrument.product_id;
            if id.is_empty() || id.len() > SYMBOL_BYTES_MAX || !id.is_ascii() {
                return Err(ConfigError::new(
                    path("product_id"),
                    "must be 1 to 24 ASCII characters",
                ));
            }
            if self.instruments[..index]
                .iter()
                .any(|other| other.product_id == *id)
            {
                return Err(ConfigError::new(
                    path("product_id"),
                    format!("{id} is listed twice"),
                ));
            }
            for (field, text) in instrument.decimals() {
                decimal_syntax(text).map_err(|message| ConfigError::new(path(field), message))?;
            }
            if let Some(notional) = &instrument.max_order_notional {
                Money::parse(notional)
                    .map_err(|e| ConfigError::new(path("max_order_notional"), e))?;
            }
        }
        Ok(())
    }

    /// The `[risk]` table: money amounts, collar and slippage, rate limits that fit their
    /// windows, and an open-order limit within `limits.orders_open_max`.
    fn validate_risk(&self) -> Result<(), ConfigError> {
        for (field, text) in [
            ("max_order_notional", &self.risk.max_order_notional),
            ("max_gross_exposure", &self.risk.max_gross_exposure),
            ("daily_loss_limit", &self.risk.daily_loss_limit),
            ("max_drawdown", &self.risk.max_drawdown),
        ] {
            let money =
                Money::parse(text).map_err(|e| ConfigError::new(format!("risk.{field}"), e))?;
            if money < Money::ZERO {
                return Err(ConfigError::new(
                    format!("risk.{field}"),
                    "must not be negative",
                ));
            }
        }
        if self.risk.flatten_slippage_bps >= self.risk.price_collar_bps {
            return Err(ConfigError::new(
                "risk.flatten_slippage_bps",
                "must be below risk.price_collar_bps (flattening orders pass the collar)",
            ));
        }
        for (field, value) in [
            ("orders_per_second", self.risk.orders_per_second),
            ("cancels_per_second", self.risk.cancels_per_second),
            ("messages_per_second", self.risk.messages_per_second),
            ("fills_in_window_max", self.risk.fills_in_window_max),
        ] {
            if value as usize > crate::risk::window::RATE_SLOTS {
                return Err(ConfigError::new(
                    format!("risk.{field}"),
                    format!("at most {}", crate::risk::window::RATE_SLOTS),
                ));
            }
        }
        if self.risk.price_collar_bps == 0 || self.risk.price_collar_bps > 10_000 {
            return Err(ConfigError::new(
                "risk.price_collar_bps",
                "must be between 1 and 10000",
            ));
        }
        if self.risk.max_open_orders as usize > self.limits.orders_open_max {
            return Err(ConfigError::new(
                "risk.max_open_orders",
                "must not exceed limits.orders_open_max",
            ));
        }
        Ok(())
    }

    /// The `[strategy]` table has the parameters of the strategy its `kind` names.
    fn validate_strategy(&self) -> Result<(), ConfigError> {
        match self.strategy.kind {
            StrategyKind::MarketMaker if self.strategy.market_maker.is_none() => {
                return Err(ConfigError::new(
                    "strategy.market_maker",
                    "missing for kind = \"market_maker\"",
                ));
            }
            StrategyKind::Taker if self.strategy.taker.is_none() => {
                return Err(ConfigError::new(
                    "strategy.taker",
                    "missing for kind = \"taker\"",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// The `[limits]` capacities and the client order id namespace.
    fn validate_capacity(&self) -> Result<(), ConfigError> {
        if self.limits.book_levels_max < 16
            || self.limits.orders_open_max == 0
            || self.limits.trades_per_frame_max == 0
        {
            return Err(ConfigError::new(
                "limits",
                "book_levels_max ≥ 16, orders_open_max ≥ 1 and trades_per_frame_max ≥ 1",
            ));
        }
        if self.client_order_namespace > 0xFF_FFFF {
            return Err(ConfigError::new(
                "client_order_namespace",
                "must fit in 24 bits",
            ));
        }
        Ok(())
    }

    /// The account limits (money fields were checked by [`Self::validate`]).
    pub fn global_limits(&self) -> GlobalLimits {
        let risk = &self.risk;
        let money = |text: &str| Money::parse(text).unwrap_or(Money::ZERO);
        let ms = |v: u64| v.saturating_mul(1_000_000);
        GlobalLimits {
            price_collar_bps: risk.price_collar_bps,
            thin_book_spread_bps: risk.thin_book_spread_bps,
            orders_open_max: risk.max_open_orders as usize,
            orders_per_second_max: risk.orders_per_second,
            cancels_per_second_max: risk.cancels_per_second,
            messages_per_second_max: risk.messages_per_second,
            duplicate_window_ns: ms(risk.duplicate_window_ms),
            gross_exposure_max: money(&risk.max_gross_exposure),
            book_age_ns_max: ms(risk.stale_book_ms),
            fills_in_window_max: risk.fills_in_window_max,
            fills_window_ns: ms(risk.fills_window_ms),
            daily_loss_max: money(&risk.daily_loss_limit),
            drawdown_max: money(&risk.max_drawdown),
            daily_loss_halts: risk.daily_loss_action == LossAction::Halted,
            drawdown_halts: risk.drawdown_action == LossAction::Halted,
            flatten_slippage_bps: risk.flatten_slippage_bps,
        }
    }

    pub fn sim_params(&self) -> Result<SimParams, ConfigError> {
        let fee = |field: &str, text: &str| {
            parse_units_at_scale(text.as_bytes(), 2)
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&v| v <= 100_000)
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("sim.{field}"),
                        "must be basis points from 0 to 1000 with at most two decimals",
                    )
                })
        };
        Ok(SimParams {
            latency_ns: self.sim.latency_us.saturating_mul(1_000),
            maker_fee_centi_bps: fee("maker_fee_bps", &self.sim.maker_fee_bps)?,
            taker_fee_centi_bps: fee("taker_fee_bps", &self.sim.taker_fee_bps)?,
        })
    }

    /// Converts instrument `index`'s sizes onto the product's grid.
    pub fn resolve_instrument(
        &self,
        index: usize,
        spec: &InstrumentSpec,
    ) -> Result<(InstrumentLimits, SizingParams), ConfigError> {
        let settings = &self.instruments[index];
        let lots = |field: &str, text: &str| {
            spec.parse_size(text.as_bytes()).map_err(|e| {
                let increment = spec.base_increment.display(1);
                ConfigError::new(
                    format!("instruments[{index}].{field}"),
                    format!("{e} (base increment of {} is {increment})", spec.symbol),
                )
            })
        };
        let notional_text = settings
            .max_order_notional
            .as_deref()
            .unwrap_or(&self.risk.max_order_notional);
        let order_notional_max = Money::parse(notional_text)
            .map_err(|e| ConfigError::new(format!("instruments[{index}].max_order_notional"), e))?;
        let limits = InstrumentLimits {
            order_size_lots_max: lots("max_order_size", &settings.max_order_size)?,
            order_notional_max,
            position_lots_max: lots("max_position", &settings.max_position)?,
            orders_open_max: settings
                .max_open_orders
                .unwrap_or(self.risk.instrument_max_open_orders),
        };
        let sizing = SizingParams {
            order_size_lots: lots("order_size", &settings.order_size)?,
            inventory_max_lots: lots("inventory_max", &settings.inventory_max)?,
        };
        if sizing.order_size_lots <= 0 {
            return Err(ConfigError::new(
                format!("instruments[{index}].order_size"),
                "must be positive",
            ));
        }
        Ok((limits, sizing))
    }
}

impl InstrumentSettings {
    fn decimals(&self) -> [(&'static str, &str); 4] {
        [
            ("order_size", &self.order_size),
            ("inventory_max", &self.inventory_max),
            ("max_order_size", &self.max_order_size),
            ("max_position", &self.max_position),
        ]
    }
}

/// A plain non-negative decimal ("0.001", "25").
fn decimal_syntax(text: &str) -> Result<(), String> {
    let mut points = 0;
    let ok = !text.is_empty()
        && text.chars().all(|c| {
            points += usize::from(c == '.');
            c.is_ascii_digit() || c == '.'
        })
        && points <= 1
        && text.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!("{text:?} is not a non-negative decimal number"))
    }
}
