//! `coinbase-sim`: a local stand-in for Coinbase Advanced Trade that a live daemon can trade
//! against end to end, on ONE loopback port: market data and the authenticated user channel
//! over WebSocket (any path that asks for an upgrade), the private REST order endpoints, the
//! public products/time endpoints, and test inspection endpoints.
//!
//! **One venue clock** (module `timeline`): the capture's recorded frames play once, on a single
//! timeline that starts when the sim starts (recorded receive-time deltas divided by
//! `speed`; `loop_playback` starts over after the end, otherwise synthesized heartbeats
//! continue). The venue's book per product follows that timeline. A WebSocket session
//! (module `session`) answers every (un)subscribe with a cumulative `subscriptions` ack, closes
//! a connection without a subscribe within 5 s, and numbers everything it sends with one
//! `sequence_num` counter from 0. `level2` gets a snapshot of the CURRENT book then the live
//! updates; `market_trades`, `ticker`, `candles`, `heartbeats` pass through as recorded
//! (re-sequenced) from the subscribe on.
//!
//! **Orders.** Every REST request needs `Authorization: Bearer <JWT>` verifying against the
//! configured key with `uri` = `"METHOD api.coinbase.com/path"` (else plain-text 401) and
//! passes a private rate limit (429 past it). `client_order_id` is idempotent. Product rules
//! (increments, min/max, trading disabled) come from the capture's products response;
//! post-only orders that would cross the current book are rejected (HTTP 200,
//! `success: false`). Market, IOC and FOK orders and the crossing part of a limit order take
//! the current book (consuming it until the replay rewrites the level) at the taker fee.
//! Resting GTC/GTD limit orders fill as MAKER at their limit price when a replayed
//! `market_trades` print trades through them (a buy at P by a print at or below P, a sell
//! at P by one at or above P; our order is first in the queue; a print's size is shared
//! best price first) or when the replayed book crosses them (best ask at or below our bid).
//! Balances move by every fill and fee; an open buy holds notional + taker fee, a sell its
//! base; a create the available balance cannot pay for is rejected `INSUFFICIENT_FUNDS`
//! (unless `check_balances` is off). GTD orders expire (`EXPIRED`) once their `end_time`
//! passes on the wall clock. Stop-limit orders trigger on a replayed print at or beyond
//! their stop price (in their `stop_direction`), then take the book up to their limit and
//! rest like a GTC order. Order and fill times come from the venue clock (the capture's
//! time + elapsed venue time); `/time`, JWT checks and GTD expiry use the wall clock.
//!
//! **User channel**: `{"type":"subscribe","channel":"user","jwt":...}` (WebSocket JWTs have
//! no `uri`); a bad or missing JWT gets `{"type":"error","message":"authentication
//! failure"}`. Then the open orders in snapshot messages of 50 (the first shorter one ends
//! it; zero orders = one empty snapshot), then one `update` per change of one of our
//! orders (accepted, each fill, cancel, edit, IOC/FOK expiry, GTD expiry, stop trigger,
//! refused create = `FAILED`), with cumulative fields as documented (§2.5 of the protocol
//! reference). `heartbeats` and market channels may share the connection.
//!
//! **REST** (private): `POST /orders`, `POST /orders/batch_cancel`, `POST /orders/edit`,
//! `GET /orders/historical/{id}`, `GET /orders/historical/batch` (`order_status`,
//! `product_ids`, `order_ids`, `limit` ≤ 1000 default 100, `cursor`),
//! `GET /orders/historical/fills` (`order_ids`, `product_ids`, `limit`, `cursor`),
//! `GET /accounts` (`limit`, `cursor`), `GET /best_bid_ask?product_ids=`; public
//! `GET /market/products`, `GET /time`; inspection (no auth, loopback only)
//! `GET /sim/orders`, `GET /sim/fills`, `GET /sim/requests`.
//!
//! **Faults** ([`faults`], `--scenario FILE` and flags): REST status/timeout/drop/lost by endpoint
//! and ordinal; WebSocket drop/skip/malformed/delay/disconnect/stall by sequence number of
//! the chosen market or user connection.
//!
//! **Restart** ([`state`]): with a state file the ledger (orders, fills, balances, client
//! order ids, counters, the clock position) is saved atomically on every change and loaded
//! at start, so a killed sim restarted with the same file forgets nothing.
//!
//! **Not modelled**: queue position (our resting order is always first), our orders in the
//! public book, quote-sized orders, `PENDING`/`CANCEL_QUEUED` intermediate states, market
//! data snapshots other than `level2` for late subscribers, persistence of the request log
//! and of REST fault ordinals across a restart.
//!
//! Runs on tokio: axum's handlers, one task per WebSocket session, one venue clock task;
//! all venue state sits behind one mutex (module `venue`).

mod book;
pub mod faults;
mod listener;
mod lists;
mod orders;
mod rest;
mod session;
pub mod state;
mod timeline;
mod venue;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use traider_core::num::Money;
use traider_gateways::coinbase::auth::PublicKey;
use traider_gateways::coinbase::orders::{BATCH_CANCEL_PATH, CREATE_ORDER_PATH, EDIT_ORDER_PATH};

pub use faults::{RestFaultKind, Scenario, WsFaults};
pub use orders::{SimFill, SimOrder};

use crate::replay::{BookMirror, ReplayData};
use book::{Print, Rules};
use listener::{Peer, SimListener};
use timeline::VenueClock;
use venue::{Ledger, Terms, Venue};

/// `GET /orders/historical/fills`.
pub const FILLS_PATH: &str = "/api/v3/brokerage/orders/historical/fills";
/// `GET /orders/historical/batch` (list orders).
pub const LIST_ORDERS_PATH: &str = "/api/v3/brokerage/orders/historical/batch";
/// Path prefix of `GET /orders/historical/{order_id}`.
pub const GET_ORDER_PREFIX: &str = "/api/v3/brokerage/orders/historical/";
/// `GET /accounts`.
pub const ACCOUNTS_PATH: &str = "/api/v3/brokerage/accounts";
/// `GET /best_bid_ask`.
pub const BEST_BID_ASK_PATH: &str = "/api/v3/brokerage/best_bid_ask";
/// The venue's public time endpoint.
pub const TIME_PATH: &str = "/api/v3/brokerage/time";
/// The venue's public products endpoint.
pub const PRODUCTS_PATH: &str = "/api/v3/brokerage/market/products";

/// Venue events a session may fall behind by before it is closed as a slow consumer.
const EVENT_BUFFER: usize = 1 << 16;
/// Largest client WebSocket message accepted.
const CLIENT_MESSAGE_BYTES_MAX: usize = 1 << 20;

/// Settings of the simulated venue.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Must be loopback; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The API key whose JWTs are accepted.
    pub key: PublicKey,
    /// Private requests allowed per second (Coinbase: 30).
    pub private_rate_per_s: u32,
    /// Fee on taking liquidity, in basis points (Coinbase's entry tier: 60).
    pub taker_fee_bps: u32,
    /// Fee on resting fills, in basis points (Coinbase's entry tier: 40).
    pub maker_fee_bps: u32,
    /// Playback speed of the venue clock (> 0).
    pub speed: f64,
    /// Start the recording over after its end instead of heartbeating.
    pub loop_playback: bool,
    /// Recorded nanoseconds played instantly at start (`u64::MAX`: the whole capture, so
    /// the book is the capture's final one). Ignored when a state file is loaded.
    pub start_offset_ns: u64,
    /// Starting balances, `(currency, decimal amount)`.
    pub balances: Vec<(String, String)>,
    /// Reject creates the balances cannot pay for (`INSUFFICIENT_FUNDS`).
    pub check_balances: bool,
    pub faults: Scenario,
    /// Where the ledger is saved on every change and loaded from at start.
    pub state_file: Option<PathBuf>,
    pub subscribe_timeout: Duration,
    /// Interval of synthesized heartbeats after the recording (wall time).
    pub heartbeat_interval: Duration,
}

/// The default starting balances.
pub const DEFAULT_BALANCES: &str = "USD=100000,BTC=1,ETH=10";

impl SimConfig {
    /// Defaults: 30 requests/s, taker 60 bps, maker 40 bps, speed 1, no loop, the clock
    /// from the capture's start, [`DEFAULT_BALANCES`] (checked), no faults, no state file.
    pub fn new(listen: SocketAddr, key: PublicKey) -> Self {
        Self {
            listen,
            key,
            private_rate_per_s: 30,
            taker_fee_bps: 60,
            maker_fee_bps: 40,
            speed: 1.0,
            loop_playback: false,
            start_offset_ns: 0,
            balances: parse_balances(DEFAULT_BALANCES).unwrap_or_default(),
            check_balances: true,
            faults: Scenario::default(),
            state_file: None,
            subscribe_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(1),
        }
    }
}

/// Parses `"USD=100000,BTC=1"`.
pub fn parse_balances(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (currency, amount) = part
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("balance {part:?} is not CURRENCY=AMOUNT"))?;
            Money::parse(amount.trim()).map_err(|e| anyhow::anyhow!("balance {part:?}: {e}"))?;
            Ok((currency.trim().to_owned(), amount.trim().to_owned()))
        })
        .collect()
}

/// One request the venue received, and what it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// Endpoint class (see [`faults::ENDPOINTS`]; `""` for public ones).
    pub endpoint: String,
    /// HTTP status answered (0: none — a `drop` or `timeout` fault).
    pub status: u16,
    /// The key name of a verified token (`None`: refused before or at authentication).
    pub kid: Option<String>,
    /// The injected fault, if any (`"429"`, `"timeout"`, `"lost"`, ...).
    pub fault: Option<String>,
    /// The `client_order_id` of a create.
    pub client_order_id: Option<String>,
    /// Microseconds since the sim started, when the request arrived.
    pub at_us: u64,
}

/// State shared by every handler, session and the venue clock.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub data: Arc<ReplayData>,
    pub rules: BTreeMap<String, Rules>,
    pub prints: BTreeMap<usize, Vec<Print>>,
    pub venue: Mutex<Venue>,
    pub clock: VenueClock,
    pub market_conns: AtomicU64,
    pub user_conns: AtomicU64,
    pub connections: AtomicU64,
    pub shutdown: watch::Receiver<bool>,
    /// When the sim started (request log times).
    pub started: std::time::Instant,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Venue> {
        self.venue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn terms(&self) -> Terms<'_> {
        Terms {
            rules: &self.rules,
            maker_fee_bps: self.config.maker_fee_bps,
            taker_fee_bps: self.config.taker_fee_bps,
        }
    }

    /// Saves the ledger if it changed and a state file is configured.
    pub fn commit(&self, venue: &mut Venue) {
        if !venue.dirty {
            return;
        }
        venue.dirty = false;
        let Some(path) = &self.config.state_file else {
            return;
        };
        venue.ledger.clock_elapsed_ns = self.clock.elapsed_ns();
        if let Err(error) = state::save(path, &venue.ledger) {
            tracing::error!(%error, path = %path.display(), "cannot save the state file");
        }
    }
}

pub(crate) fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A running simulated venue; dropping it stops it.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl SimHandle {
    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.lock().requests.clone()
    }

    /// Every order the venue holds, in creation order.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.shared.lock().ledger.orders.values().cloned().collect()
    }

    /// Every fill, in order.
    pub fn fills(&self) -> Vec<SimFill> {
        self.shared.lock().ledger.fills.clone()
    }

    /// Orders created (idempotent repeats do not count).
    pub fn orders_created(&self) -> u64 {
        self.shared.lock().ledger.created
    }

    /// Balances by currency, as exact decimals.
    pub fn balances(&self) -> BTreeMap<String, String> {
        let venue = self.shared.lock();
        let money = |units: &i128| orders::money_text(*units);
        venue
            .ledger
            .balances
            .iter()
            .map(|(c, u)| (c.clone(), money(u)))
            .collect()
    }

    /// `(best bid, best ask)` price text of the venue's public book now.
    pub fn best_bid_ask(&self, product_id: &str) -> Option<(String, String)> {
        let venue = self.shared.lock();
        let (bid, ask) = venue.mirror.best(product_id)?;
        Some((bid?.0.to_owned(), ask?.0.to_owned()))
    }

    /// The venue's public book of `product_id` now, as an `l2_data` snapshot text.
    pub fn book_snapshot(&self, product_id: &str) -> Option<String> {
        self.shared.lock().mirror.snapshot_frame(product_id, "", 0)
    }

    /// Venue clock: recorded nanoseconds played since the start.
    pub fn clock_elapsed_ns(&self) -> u64 {
        self.shared.clock.elapsed_ns()
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// The ledger to start from: the state file's if it exists, else fresh balances.
fn initial_ledger(config: &SimConfig) -> anyhow::Result<(Ledger, bool)> {
    if let Some(path) = &config.state_file
        && let Some(ledger) = state::load(path)?
    {
        tracing::info!(path = %path.display(), orders = ledger.orders.len(), "state loaded");
        return Ok((ledger, true));
    }
    let mut ledger = Ledger::default();
    for (currency, amount) in &config.balances {
        let money = Money::parse(amount).map_err(|e| anyhow::anyhow!("balance {amount}: {e}"))?;
        ledger.balances.insert(currency.clone(), money.0);
    }
    Ok((ledger, false))
}

fn validate(config: &SimConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.listen.ip().is_loopback(),
        "refusing to listen on {}: only loopback addresses are allowed",
        config.listen
    );
    anyhow::ensure!(
        config.private_rate_per_s > 0,
        "private_rate_per_s must be positive"
    );
    anyhow::ensure!(
        config.speed.is_finite() && config.speed > 0.0,
        "speed must be > 0"
    );
    anyhow::ensure!(
        !config.heartbeat_interval.is_zero(),
        "heartbeat_interval must be positive"
    );
    Ok(())
}

/// Binds `config.listen` and serves the venue for the products and market of `data`.
pub async fn serve(config: SimConfig, data: Arc<ReplayData>) -> anyhow::Result<SimHandle> {
    validate(&config)?;
    let rules = book::rules_of(&data)?;
    let prints = book::prints_of(&data, &rules);
    let (ledger, loaded) = initial_ledger(&config)?;
    let frame_count = data.frames.len();
    let duration_ns =
        data.frames.last().map_or(0, |f| f.ts_ns) - data.frames.first().map_or(0, |f| f.ts_ns);
    let start_ns = if loaded {
        ledger.clock_elapsed_ns
    } else {
        config.start_offset_ns.min(duration_ns)
    };
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let (stop, shutdown) = watch::channel(false);
    let clock = VenueClock::new(start_ns, config.speed, data.first_timestamp_ns);
    let shared = Arc::new(Shared {
        config,
        data,
        rules,
        prints,
        venue: Mutex::new(Venue {
            ledger,
            books: BTreeMap::new(),
            mirror: BookMirror::new(),
            tick: 0,
            events,
            requests: Vec::new(),
            recent: VecDeque::new(),
            rest_counts: BTreeMap::new(),
            lost_client_ids: std::collections::BTreeSet::new(),
            dirty: false,
        }),
        clock,
        market_conns: AtomicU64::new(0),
        user_conns: AtomicU64::new(0),
        connections: AtomicU64::new(0),
        shutdown,
        started: std::time::Instant::now(),
    });
    let cursor = {
        let mut venue = shared.lock();
        let loop_base = venue.ledger.loop_base_ns;
        let mut cursor = 0;
        while cursor < frame_count
            && loop_base + timeline::frame_offset_ns(&shared, cursor) <= start_ns
        {
            timeline::pass(&shared, &mut venue, cursor, false);
            cursor += 1;
        }
        cursor
    };
    let listener = TcpListener::bind(shared.config.listen).await?;
    let addr = listener.local_addr()?;
    let app = router(Arc::clone(&shared));
    let mut stopped = stop.subscribe();
    tokio::spawn(async move {
        let make = app.into_make_service_with_connect_info::<Peer>();
        let serving = axum::serve(SimListener(listener), make).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        if let Err(error) = serving.await {
            tracing::error!(%error, "coinbase-sim server failed");
        }
    });
    tokio::spawn(timeline::run(Arc::clone(&shared), cursor));
    tracing::info!(%addr, start_ns, cursor, "coinbase-sim bound");
    Ok(SimHandle { addr, shared, stop })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(CREATE_ORDER_PATH, post(rest::create_order))
        .route(BATCH_CANCEL_PATH, post(rest::batch_cancel))
        .route(EDIT_ORDER_PATH, post(rest::edit_order))
        .route(FILLS_PATH, get(lists::list_fills))
        .route(LIST_ORDERS_PATH, get(lists::list_orders))
        .route(
            &format!("{GET_ORDER_PREFIX}{{order_id}}"),
            get(rest::get_order),
        )
        .route(ACCOUNTS_PATH, get(lists::accounts))
        .route(BEST_BID_ASK_PATH, get(lists::best_bid_ask))
        .route(PRODUCTS_PATH, get(lists::products))
        .route(TIME_PATH, get(crate::replay::rest::time))
        .route("/sim/orders", get(lists::sim_orders))
        .route("/sim/fills", get(lists::sim_fills))
        .route("/sim/requests", get(lists::sim_requests))
        .fallback(upgrade)
        .with_state(shared)
}

/// Any path that asks for a WebSocket upgrade gets a session.
async fn upgrade(
    State(shared): State<Arc<Shared>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        let text = "not found: use a WebSocket upgrade or a REST path";
        return (StatusCode::NOT_FOUND, text).into_response();
    };
    let conn_index = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::info!(conn_index, "sim connection accepted");
    upgrade
        .max_message_size(CLIENT_MESSAGE_BYTES_MAX)
        .on_upgrade(move |socket| session::serve(socket, shared, conn_index))
}
