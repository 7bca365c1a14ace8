//! `traiderd run` in live mode: real orders on Coinbase Advanced Trade (or a stand-in).
//!
//! The hot path is the one paper trading runs, without the simulated venue: the engine's
//! order commands leave through the output ring to the order desk ([`traider_gateways::coinbase::execution::desk`]), and the
//! venue's answers come back as journaled inputs, so the journal alone rebuilds every order,
//! fill and position on restart.
//!
//! Start-up, in order, each step fail-closed (any failure stops the daemon before an order):
//! 1. the key file: refused when group or others can read it; the key is zeroized in memory
//!    and never logged (only its name is);
//! 2. the products' rules against the config, as in paper mode;
//! 3. the venue's clock (`GET /time`): JWTs live 120 s, so a clock more than
//!    [`CLOCK_SKEW_MAX`] off is refused;
//! 4. the journal, and restart by replay when it holds records; the trading gate is then
//!    closed ([`GateCause::Startup`]) whatever state the journal left it in;
//! 5. market data and the user channel connect;
//! 6. reconciliation ([`traider_gateways::coinbase::execution::reconcile`]) compares the journal's orders and fills with the
//!    venue's and publishes the differences; only then does the gate open.
//!
//! While running, the dead-man switch ([`traider_gateways::coinbase::execution::watch`]) closes the gate and cancels every open
//! order when the user channel or market data goes silent, and reopens it when they are
//! healthy. On Ctrl-C / SIGTERM the gate closes with cancel-all, the desk sends the cancels
//! and waits for the answers in flight, then the hot path drains as in paper mode.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc;
use traider_core::input::InputKind;
use traider_core::instrument::InstrumentId;
use traider_core::venue::{GateCause, VenueEvent};
use traider_gateways::coinbase::auth::ApiKey;
use traider_gateways::coinbase::trading::TradingClient;
use traider_gateways::coinbase::user::{
    UserConfig, UserError, UserEvent, UserSink, run_user_channel,
};
use traider_gateways::coinbase::ws::{WsError, run_market_data};

use super::{
    FeedResult, RingSink, RunArgs, RunOutcome, close_feed, empty_status, fetch_rules, io_runtime,
    log_feed_result, open_journal, report_until_stopped, spawn_timer, stop_on_signals, ws_config,
};
use crate::admin::daemon::{Observed, kill_on_sigusr1};
use crate::clock::unix_now_ns;
use crate::config::{DaemonConfig, LiveConfig};
use crate::hot::restart::Rebuilt;
use crate::hot::{self, OutputConsumer};
use crate::summary::{hot_summary, sink_json, status_lines};
use traider_gateways::coinbase::execution::convert::Product;
use traider_gateways::coinbase::execution::desk::{
    Desk, DeskMsg, DeskSettings, DeskStats, VenueIn,
};
use traider_gateways::coinbase::execution::reconcile;
use traider_gateways::coinbase::execution::watch::{self, Health, WatchStats};

/// The venue's clock may be this far from ours (its JWTs are valid for 120 s).
pub const CLOCK_SKEW_MAX: Duration = Duration::from_secs(30);

/// How long a stopping daemon waits for the venue to answer what is in flight.
const DRAIN: Duration = Duration::from_secs(5);

/// The user channel: a sign of life per message, and a nudge to the desk per order change.
struct UserChannelSink {
    health: Arc<Health>,
    desk: mpsc::UnboundedSender<DeskMsg>,
}

impl UserSink for UserChannelSink {
    fn on_event(&mut self, conn_id: u32, event: UserEvent) {
        match event {
            UserEvent::Connected => {
                self.health.user_synced.store(false, Ordering::Release);
                tracing::info!(conn_id, "user channel connected");
            }
            UserEvent::Snapshot(orders) => {
                self.health.user_message();
                self.health.user_synced.store(true, Ordering::Release);
                tracing::info!(conn_id, open_orders = orders.len(), "user channel snapshot");
                // What happened while the channel was down is read from REST.
                let _ = self.desk.send(DeskMsg::RefreshAll);
            }
            UserEvent::Update(orders) => {
                self.health.user_message();
                for order in orders {
                    if let Some(client_order_id) = order.client_order_id {
                        let _ = self.desk.send(DeskMsg::Changed { client_order_id });
                    }
                }
            }
            UserEvent::Heartbeat { .. } => self.health.user_message(),
            UserEvent::Malformed { error } => {
                tracing::warn!(conn_id, %error, "unreadable user-channel frame skipped");
            }
            UserEvent::Gap { expected, got } => {
                self.health.user_synced.store(false, Ordering::Release);
                tracing::warn!(
                    conn_id,
                    expected,
                    got,
                    "user channel lost messages; reconnecting"
                );
            }
            UserEvent::Silence => {
                self.health.user_synced.store(false, Ordering::Release);
                tracing::warn!(conn_id, "user channel silent; reconnecting");
            }
            UserEvent::AuthFailed { message } => {
                self.health.user_synced.store(false, Ordering::Release);
                tracing::error!(conn_id, message, "user channel refused the key");
            }
            UserEvent::VenueError { message } => {
                tracing::warn!(conn_id, message, "user channel error");
            }
            UserEvent::Disconnected { reason } => {
                self.health.user_synced.store(false, Ordering::Release);
                tracing::warn!(conn_id, ?reason, "user channel disconnected");
            }
        }
    }
}

/// The configured instruments with the venue's rules.
fn products(config: &DaemonConfig, body: &str) -> anyhow::Result<Vec<Product>> {
    let specs = hot::check_products(config, body)?;
    Ok(config
        .product_ids()
        .into_iter()
        .zip(specs)
        .enumerate()
        .map(|(index, (product_id, spec))| Product {
            instrument: InstrumentId(index as u16),
            product_id: product_id.to_owned(),
            spec,
        })
        .collect())
}

pub fn run(args: &RunArgs, config: DaemonConfig) -> anyhow::Result<RunOutcome> {
    let live = config
        .live
        .clone()
        .context("live: mode = \"live\" needs a [live] section")?;
    let key = load_key(&live)?;
    let runtime = io_runtime()?;
    let body = fetch_rules(&runtime, &config)?;
    let products = Arc::new(products(&config, &body)?);
    let client = trading_client(&config, &live, &key)?;
    check_clock(&runtime, &client)?;

    let (journal, dir) = open_journal(args, &config)?;
    let stop = stop_on_signals()?;

    let (desk_tx, desk_rx) = mpsc::unbounded_channel::<DeskMsg>();
    let consumer = order_consumer(desk_tx.clone());
    let mut observed = Observed::new(&empty_status(&config));
    let running =
        hot::Running::start(&config, journal, &dir, observed.observers(), Some(consumer))?;
    let admin = observed.serve(
        &runtime,
        &config,
        "live",
        running.producer(),
        running.syncer.clone(),
    )?;
    kill_on_sigusr1(running.producer(), config.risk.kill_flatten)?;
    let resumed = resumed_json(&running.rebuilt);
    let venue = VenueIn::new(running.producer());
    // Whatever the journal left: nothing is sent before reconciliation.
    venue.publish(VenueEvent::Gate {
        open: false,
        cancel_all: false,
        cause: GateCause::Startup,
    });
    running
        .producer()
        .publish(InputKind::Products, 0, unix_now_ns(), body.as_bytes());

    let io = Io {
        runtime: &runtime,
        config: &config,
        live: &live,
        client: &client,
        products: &products,
        venue: &venue,
        desk_tx: &desk_tx,
    };
    let tasks = io.start(&key, &running, desk_rx, &stop)?;
    let (reconcile_json, failure) = io.reconcile_then_open(&running.rebuilt, &tasks.health, &stop);

    report_until_stopped(&config, &stop, &tasks.md, &observed);
    tracing::info!("stopping: cancelling open orders, then closing the feeds");
    if let Some(admin) = admin {
        admin.stop(&runtime);
    }
    let stopped = io.stop(tasks, &observed, &stop);
    drop(venue);
    let (hot, sink) = running.stop(unix_now_ns())?;
    log_feed_result(stopped.feed_result);
    for line in status_lines(&hot.engine().status()) {
        tracing::info!("{line}");
    }
    let mut summary = hot_summary("live", &hot, &dir);
    summary["resumed"] = resumed;
    summary["order_sink"] = sink_json(&sink);
    summary["desk"] = serde_json::to_value(stopped.desk_stats).unwrap_or_default();
    summary["dead_man"] = serde_json::to_value(stopped.watch_stats).unwrap_or_default();
    summary["reconciliation"] = reconcile_json;
    summary["gate"] =
        serde_json::json!(hot.engine().gate_closed().map_or("open", GateCause::as_str));
    if let Some(failure) = failure {
        bail!("refused to trade: {failure}");
    }
    Ok(RunOutcome { summary, sink })
}

/// What restart by replay rebuilt from the journal, for the summary.
fn resumed_json(rebuilt: &Rebuilt) -> serde_json::Value {
    serde_json::json!({
        "inputs": rebuilt.inputs,
        "decisions": rebuilt.decisions,
        "appended_decisions": rebuilt.appended,
        "live_orders": rebuilt.live_orders.len(),
    })
}

/// The API key of `[live] key_file` (refused when group or others can read the file).
fn load_key(live: &LiveConfig) -> anyhow::Result<Arc<ApiKey>> {
    let key = Arc::new(ApiKey::load(&live.key_file).with_context(|| {
        format!(
            "live.key_file {}: cannot use the API key",
            live.key_file.display()
        )
    })?);
    tracing::info!(key = key.name(), algorithm = ?key.algorithm(), "API key loaded");
    Ok(key)
}

/// The private REST client, limited to `[live] private_rate_per_s`.
fn trading_client(
    config: &DaemonConfig,
    live: &LiveConfig,
    key: &Arc<ApiKey>,
) -> anyhow::Result<TradingClient> {
    let rate = NonZeroU32::new(live.private_rate_per_s)
        .context("live.private_rate_per_s must be positive")?;
    Ok(TradingClient::new(
        &config.venue.rest_url,
        Arc::clone(key),
        Duration::from_millis(live.request_timeout_ms),
    )
    .context("cannot build the REST client")?
    .with_private_rate(rate))
}

/// Refuses a clock more than [`CLOCK_SKEW_MAX`] off the venue's (`GET /time`).
fn check_clock(runtime: &tokio::runtime::Runtime, client: &TradingClient) -> anyhow::Result<()> {
    let time = runtime
        .block_on(client.server_time())
        .context("cannot read the venue's clock (GET /time)")?;
    let ours = unix_now_ns() / 1_000_000;
    let skew_ms = time.epoch_millis.abs_diff(ours);
    if skew_ms > CLOCK_SKEW_MAX.as_millis() as u64 {
        bail!(
            "this machine's clock is {skew_ms} ms off the venue's: tokens would be refused (allowed: {} ms); fix the clock (NTP) first",
            CLOCK_SKEW_MAX.as_millis()
        );
    }
    tracing::info!(skew_ms, "venue clock checked");
    Ok(())
}

/// The output ring's consumer: every order command goes to the desk.
fn order_consumer(forward: mpsc::UnboundedSender<DeskMsg>) -> OutputConsumer {
    Box::new(move |poller, durable| {
        hot::spawn_order_sink(poller, durable, move |command| {
            let _ = forward.send(DeskMsg::Command(command));
        })
    })
}

/// The user channel's settings: the configured products, the venue's timeouts.
fn user_config(config: &DaemonConfig, live: &LiveConfig) -> UserConfig {
    let mut user_config = UserConfig::new(live.user_ws_url.clone());
    user_config.product_ids = config
        .product_ids()
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    user_config.heartbeat_timeout = Duration::from_millis(config.venue.heartbeat_timeout_ms);
    user_config.backoff_min = Duration::from_millis(config.venue.reconnect_backoff_min_ms);
    user_config.backoff_max = Duration::from_millis(config.venue.reconnect_backoff_max_ms);
    user_config
}

/// What live mode's I/O shares: the runtime, the config, the venue's REST client and
/// rules, the way into the input ring, and the desk's inbox.
struct Io<'a> {
    runtime: &'a tokio::runtime::Runtime,
    config: &'a DaemonConfig,
    live: &'a LiveConfig,
    client: &'a TradingClient,
    products: &'a Arc<Vec<Product>>,
    venue: &'a VenueIn,
    desk_tx: &'a mpsc::UnboundedSender<DeskMsg>,
}

/// The tasks and threads live mode runs beside the hot path.
struct Tasks {
    desk: tokio::task::JoinHandle<DeskStats>,
    timer: std::thread::JoinHandle<()>,
    health: Arc<Health>,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    md: tokio::task::JoinHandle<Result<RingSink, WsError>>,
    user: tokio::task::JoinHandle<Result<UserChannelSink, UserError>>,
    watcher: tokio::task::JoinHandle<WatchStats>,
}

/// How the tasks ended, for the summary and the log.
struct Stopped {
    desk_stats: DeskStats,
    watch_stats: WatchStats,
    feed_result: FeedResult,
}

impl Io<'_> {
    /// Starts the order desk, the timer, market data, the user channel and the dead-man
    /// switch, in that order.
    fn start(
        &self,
        key: &Arc<ApiKey>,
        running: &hot::Running,
        desk_rx: mpsc::UnboundedReceiver<DeskMsg>,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<Tasks> {
        let (config, live) = (self.config, self.live);
        let desk = Desk::new(
            self.client.clone(),
            Arc::clone(self.products),
            self.venue.clone(),
            DeskSettings {
                retries: live.send_retries,
                backoff: Duration::from_millis(live.retry_backoff_ms),
                unknown_resolve: Duration::from_millis(live.unknown_resolve_ms),
                fills_poll: Duration::from_millis(live.fills_poll_ms),
            },
        );
        let desk = self.runtime.spawn(desk.run(desk_rx, DRAIN));
        let timer = spawn_timer(
            running.producer(),
            Duration::from_millis(config.hot_path.timer_interval_ms),
            Arc::clone(stop),
        )?;
        let health = Arc::new(Health::default());
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let md = self.runtime.spawn(run_market_data(
            ws_config(config),
            RingSink {
                producer: running.producer(),
                health: Some(Arc::clone(&health)),
            },
            shutdown_rx.clone(),
        ));
        let user = self.runtime.spawn(run_user_channel(
            user_config(config, live),
            Arc::clone(key),
            UserChannelSink {
                health: Arc::clone(&health),
                desk: self.desk_tx.clone(),
            },
            shutdown_rx.clone(),
        ));
        let watcher = self.runtime.spawn(watch::run(
            Arc::clone(&health),
            self.venue.clone(),
            self.desk_tx.clone(),
            Duration::from_millis(live.deadman_ms),
            (live.deadman_action == crate::config::DeadmanAction::Kill)
                .then_some(config.risk.kill_flatten),
            shutdown_rx.clone(),
        ));
        Ok(Tasks {
            desk,
            timer,
            health,
            shutdown_tx,
            md,
            user,
            watcher,
        })
    }

    /// Reconciles once the user channel delivered its snapshot (so nothing that changes
    /// during reconciliation is missed), then opens the gate; on a refusal keeps it closed
    /// and sets `stop`. Returns the report for the summary, and the refusal.
    fn reconcile_then_open(
        &self,
        rebuilt: &Rebuilt,
        health: &Health,
        stop: &AtomicBool,
    ) -> (serde_json::Value, Option<String>) {
        let reconciled = self.runtime.block_on(self.reconcile(rebuilt, health, stop));
        match reconciled {
            Ok(report) => {
                tracing::info!(?report, "reconciled with the venue: trading starts");
                health.reconciled.store(true, Ordering::Release);
                self.venue.publish(VenueEvent::Gate {
                    open: true,
                    cancel_all: false,
                    cause: GateCause::Reconciled,
                });
                (serde_json::to_value(&report).unwrap_or_default(), None)
            }
            Err(refusal) => {
                tracing::error!(%refusal, "reconciliation failed: refusing to trade");
                self.venue.publish(VenueEvent::Gate {
                    open: false,
                    cancel_all: false,
                    cause: GateCause::ReconcileFailed,
                });
                let failure = Some(refusal.to_string());
                stop.store(true, Ordering::Relaxed);
                (serde_json::json!({"refused": refusal.to_string()}), failure)
            }
        }
    }

    /// Waits up to `deadman_ms` for the user channel's snapshot, then reconciles.
    async fn reconcile(
        &self,
        rebuilt: &Rebuilt,
        health: &Health,
        stop: &AtomicBool,
    ) -> Result<reconcile::Report, reconcile::Refusal> {
        let waited = tokio::time::timeout(Duration::from_millis(self.live.deadman_ms), async {
            while !health.user_synced.load(Ordering::Acquire) && !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        if waited.is_err() {
            return Err(reconcile::Refusal::Venue(
                "the user channel delivered no snapshot within deadman_ms".to_owned(),
            ));
        }
        reconcile::reconcile(reconcile::Context {
            client: self.client,
            products: self.products,
            live_orders: &rebuilt.live_orders,
            namespace: self.config.client_order_namespace,
            next_counter: rebuilt.next_counter,
            policy: self.live.unknown_orders,
            adopted: &rebuilt.adopted,
            orders_open_max: self.config.limits.orders_open_max,
            venue: self.venue,
            desk: self.desk_tx,
        })
        .await
    }

    /// Closes the gate with cancel-all, gives the cancels [`DRAIN`] to be answered, stops
    /// the desk, then the feeds, the dead-man switch and the timer.
    fn stop(&self, tasks: Tasks, observed: &Observed, stop: &AtomicBool) -> Stopped {
        self.venue.publish(VenueEvent::Gate {
            open: false,
            cancel_all: true,
            cause: GateCause::Shutdown,
        });
        // Give the cancels time to leave and be answered (their fills and ends come back as
        // inputs) before the desk stops taking commands.
        std::thread::sleep(Duration::from_millis(200));
        let deadline = std::time::Instant::now() + DRAIN;
        while std::time::Instant::now() < deadline && observed.status.read().orders_open > 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.desk_tx.send(DeskMsg::Stop);
        let desk_stats = self.runtime.block_on(tasks.desk).unwrap_or_default();
        stop.store(true, Ordering::Relaxed);
        let _ = tasks.shutdown_tx.send(true);
        let watch_stats = self.runtime.block_on(tasks.watcher).unwrap_or_default();
        let user = tasks.user;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), user).await });
        let feed_result = close_feed(self.runtime, tasks.md);
        let _ = tasks.timer.join();
        Stopped {
            desk_stats,
            watch_stats,
            feed_result,
        }
    }
}
