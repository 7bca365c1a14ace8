//! Fixtures of the fuzz targets that need the daemon's own crate (`traiderd`): the
//! paper config, a decoder built the way the hot path builds it, a status snapshot with both
//! instruments' limits known, and the admin authenticator. Built once per fuzz process (each
//! target keeps them in a `thread_local!`; libFuzzer runs one input at a time on one thread).
//! Input layouts and the fixtures the seed step shares live in `traider-fuzz-kit`.

#![deny(unsafe_code)]

use std::collections::{HashMap, HashSet};

use traider_admin_api::auth::{Authenticator, Role, TokenConfig, TotpPolicy, token_sha256_hex};
use traider_core::engine::{Engine, StatusSnapshot};
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind};
use traider_fuzz_kit::{ADMIN_TOKENS, PRODUCTS_BODY};
use traider_gateways::coinbase::execution::convert::Product;
use traider_gateways::coinbase::fills::{FillDelta, FillTotals, FillTracker};
use traider_gateways::coinbase::parse::CoinbaseDecoder;
use traider_gateways::coinbase::reads::RestFill;
use traider_gateways::coinbase::user::UserOrder;
use traiderd::config::DaemonConfig;

/// config/paper.toml, the config the decoder limits and the engine come from.
pub const PAPER_TOML: &str = include_str!("../../../config/paper.toml");

/// The paper config. A fixture that does not load is a bug in the fuzz crate: panic.
pub fn paper_config() -> DaemonConfig {
    DaemonConfig::parse(PAPER_TOML).expect("config/paper.toml parses")
}

/// A decoder as `traiderd::hot::decoder` builds it from config/paper.toml (BTC-USD and
/// ETH-USD, paper limits), with the products' rules already loaded; `fast` picks whether the
/// `l2_data` scanner runs before the general path.
pub fn loaded_decoder(config: &DaemonConfig, fast: bool) -> CoinbaseDecoder {
    let mut decoder = traiderd::hot::decoder(config).with_fast_path(fast);
    load_products(&mut decoder);
    decoder
}

/// Decodes the fixed products body: the configured products' rules, as at start-up.
pub fn load_products(decoder: &mut CoinbaseDecoder) -> DecodedBatch {
    let mut batch = DecodedBatch::with_capacity(16, 16);
    decoder
        .decode(FrameKind::Products, PRODUCTS_BODY.as_bytes(), &mut batch)
        .expect("the fixture products body decodes");
    batch
}

/// The engine's status after the products response: both instruments known, with limits,
/// as the admin API reads it when a limit change arrives.
pub fn status_snapshot() -> StatusSnapshot {
    let config = paper_config();
    let mut engine = Engine::new(config.engine_settings(), config.simulated())
        .expect("paper engine settings are valid");
    let mut decoder = traiderd::hot::decoder(&config);
    let batch = load_products(&mut decoder);
    engine.begin_input(1);
    engine.apply_batch(0, &batch);
    let snapshot = engine.status();
    assert!(
        snapshot.instruments().all(|i| i.limits.is_some()),
        "both instruments have limits once their rules are known"
    );
    snapshot
}

/// The admin tokens of [`ADMIN_TOKENS`] (a viewer, an operator, an admin with TOTP).
pub fn token_configs() -> Vec<TokenConfig> {
    ADMIN_TOKENS
        .iter()
        .map(|(name, role, token, secret)| TokenConfig {
            name: (*name).to_owned(),
            role: match *role {
                "viewer" => Role::Viewer,
                "operator" => Role::Operator,
                _ => Role::Admin,
            },
            sha256: token_sha256_hex(token),
            totp_secret: secret.map(str::to_owned),
        })
        .collect()
}

/// A fresh authenticator (fresh TOTP replay and lockout state) over [`token_configs`].
pub fn authenticator(tokens: &[TokenConfig]) -> Authenticator {
    Authenticator::new(tokens, TotpPolicy::default()).expect("the fixture tokens are valid")
}

/// A [`FillTracker`] with the deltas it handed out added up per order, to check the
/// tracker's promise: what it has accounted for an order is exactly the sum of that order's
/// deltas, and never less than either source (user channel, REST fills) has shown.
#[derive(Default)]
pub struct FillLedger {
    pub tracker: FillTracker,
    sums: HashMap<String, FillTotals>,
    /// A sum left the decimal range: the comparison is skipped for that order.
    overflowed: HashSet<String>,
}

impl FillLedger {
    pub fn observe(&mut self, order: &UserOrder) {
        if let Some(delta) = self.tracker.observe(order) {
            self.add(&delta);
        }
    }

    pub fn add_rest_fill(&mut self, fill: &RestFill) {
        // A fill out of range is an error value the daemon reports; nothing to add.
        if let Ok(Some(delta)) = self.tracker.add_rest_fill(fill) {
            self.add(&delta);
        }
    }

    fn add(&mut self, delta: &FillDelta) {
        let sum = self.sums.entry(delta.order_id.clone()).or_default();
        let added = (
            sum.quantity.checked_add(delta.delta.quantity),
            sum.value.checked_add(delta.delta.value),
            sum.fees.checked_add(delta.delta.fees),
        );
        match added {
            (Some(quantity), Some(value), Some(fees)) => {
                *sum = FillTotals {
                    quantity,
                    value,
                    fees,
                    fills_count: sum.fills_count.saturating_add(delta.delta.fills_count),
                };
            }
            _ => {
                self.overflowed.insert(delta.order_id.clone());
            }
        }
    }

    /// Asserts the tracker's promise for every order with a delta; runs `unexplained`.
    pub fn check(&self) {
        let _ = self.tracker.unexplained();
        for (order_id, sum) in &self.sums {
            let totals = self
                .tracker
                .totals(order_id)
                .expect("an order with deltas is remembered");
            let accounted = totals.accounted;
            assert_eq!(
                accounted,
                accounted.max(totals.channel).max(totals.rest),
                "accounted below a source for {order_id}"
            );
            if self.overflowed.contains(order_id) || sum.fills_count == u64::MAX {
                continue;
            }
            assert_eq!(*sum, accounted, "deltas do not add up for {order_id}");
        }
    }
}

/// The configured products as the live daemon's cold side holds them (fixture rules).
pub fn live_products() -> Vec<Product> {
    let config = paper_config();
    let mut decoder = traiderd::hot::decoder(&config);
    let batch = load_products(&mut decoder);
    batch
        .specs
        .iter()
        .map(|(instrument, spec)| Product {
            instrument: *instrument,
            product_id: spec.symbol.as_str().to_owned(),
            spec: *spec,
        })
        .collect()
}
