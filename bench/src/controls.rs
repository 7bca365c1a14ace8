//! The controls' costs: pre-trade risk per order, and the kill switch's latency.
//!
//! - [`risk_check`]: `RiskEngine::check` on one thread, every check run (an order that
//!   passes them all, with rate and duplicate windows filling as they would), and a refusal
//!   at the first check (HALTED), each call between two stamps.
//! - [`kill_in_hot_path`]: the recorded session drives the real `HotPath::process` (journal
//!   on, simulated venue) until the market maker has quotes out; then an admin kill input,
//!   stamped as it would be on publish, goes through `process`: the sample is its stamp to
//!   the first cancel command leaving the hot path. A resume follows, the session plays on
//!   until quotes are out again, and so on.
//! - [`kill_over_http`]: the daemon's threads as `traiderd` runs them (hot thread pinned and
//!   spinning, admin endpoint on the I/O runtime) with the session playing into the input
//!   ring; the sample is an HTTP `POST /api/v1/kill` (bearer token, operator) from just
//!   before the request is written to the first cancel leaving the hot path, read off the
//!   output ring.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use traider_admin_api::auth::{Role as TokenRole, TokenConfig, token_sha256_hex};
use traider_core::admin::{Actor, AdminCommand, AdminInput, Role, Source};
use traider_core::book::OrderBook;
use traider_core::command::OrderAction;
use traider_core::control::TradingState;
use traider_core::engine::Engine;
use traider_core::event::{LevelChange, Side};
use traider_core::input::{InputKind, InputSlot};
use traider_core::instrument::{InstrumentId, InstrumentSpec, ProductRules, VenueStatus};
use traider_core::num::Money;
use traider_core::order::{OrderRequest, TimeInForce};
use traider_core::pipeline::HotPath;
use traider_core::pipeline::latency::Stamp;
use traider_core::pipeline::ring::{InputProducer, Output};
use traider_core::risk::{GlobalLimits, InstrumentLimits, Purpose, RiskContext, RiskEngine};
use traiderd::config::DaemonConfig;
use traiderd::config::admin::AdminConfig;
use traiderd::hot;
use traiderd::hot::Journal;

use crate::closed_loop::schedule;
use crate::histogram;
use crate::session::{CONN_ID, Session};

/// What one risk-check run measured (ns per call, stamps included).
pub struct RiskCosts {
    /// Every check passes; orders 100 ms apart, so the duplicate window holds one.
    pub approve: Histogram<u64>,
    /// Every check passes with the duplicate window full (256 recent orders in it).
    pub approve_busy: Histogram<u64>,
    pub refuse_first: Histogram<u64>,
}

fn btc() -> anyhow::Result<InstrumentSpec> {
    InstrumentSpec::new_checked(&ProductRules {
        product_id: "BTC-USD",
        price_increment: "0.01",
        base_increment: "0.00000001",
        base_min_size: "0.00000001",
        base_max_size: "3400",
        quote_min_size: "1",
        quote_max_size: "150000000",
        status: VenueStatus::default(),
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))
}

fn money(text: &str) -> anyhow::Result<Money> {
    Money::parse(text).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Per-instrument limits no bench order comes near.
fn instrument_limits() -> anyhow::Result<InstrumentLimits> {
    Ok(InstrumentLimits {
        order_size_lots_max: 100_000,
        order_notional_max: money("250")?,
        position_lots_max: 1_000_000,
        orders_open_max: 500,
    })
}

/// Global limits every bench order passes.
fn global_limits() -> anyhow::Result<GlobalLimits> {
    Ok(GlobalLimits {
        price_collar_bps: 50,
        thin_book_spread_bps: 100,
        orders_open_max: 64,
        orders_per_second_max: 10_000, // the busy run sends 10 000 a second
        cancels_per_second_max: 10_000,
        messages_per_second_max: 10_000,
        duplicate_window_ns: 100_000_000,
        gross_exposure_max: money("100000")?,
        book_age_ns_max: u64::MAX / 4,
        fills_in_window_max: 0,
        fills_window_ns: 1,
        daily_loss_max: money("100")?,
        drawdown_max: money("100")?,
        daily_loss_halts: true,
        drawdown_halts: false,
        flatten_slippage_bps: 10,
    })
}

/// A one-level book, bid and ask a tick apart.
fn touch_book() -> anyhow::Result<OrderBook> {
    let mut book = OrderBook::with_capacity(1_024);
    let levels = [
        LevelChange {
            side: Side::Buy,
            price_ticks: 6_508_366,
            size_lots: 1_000_000,
        },
        LevelChange {
            side: Side::Sell,
            price_ticks: 6_508_367,
            size_lots: 1_000_000,
        },
    ];
    book.apply_snapshot(&levels, 1)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(book)
}

/// The bench's `i`-th order: sides alternate, prices distinct within the collar.
fn bench_request(i: usize) -> OrderRequest {
    OrderRequest {
        instrument: InstrumentId(0),
        side: if i.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        // Distinct prices (within the collar): never a duplicate.
        price_ticks: 6_508_366 + (i % 2_000) as i64 - 1_000,
        size_lots: 10_000,
        time_in_force: TimeInForce::GoodTillCancel,
        post_only: true,
    }
}

/// `samples` calls each way.
pub fn risk_check(samples: usize) -> anyhow::Result<RiskCosts> {
    let spec = btc()?;
    let limits = instrument_limits()?;
    let global = global_limits()?;
    let book = touch_book()?;
    let stamp = Stamp::default();
    let mut costs = RiskCosts {
        approve: histogram(),
        approve_busy: histogram(),
        refuse_first: histogram(),
    };
    let runs = [
        (TradingState::Active, 100_000_000_u64),
        (TradingState::Active, 100_000),
        (TradingState::Halted, 100_000_000),
    ];
    for (run, (state, spacing_ns)) in runs.into_iter().enumerate() {
        let mut risk = RiskEngine::new(global);
        for i in 0..samples {
            let now_ns = 1_000_000_000 + i as u64 * spacing_ns;
            let request = bench_request(i);
            let ctx = RiskContext {
                now_ns,
                state,
                purpose: Purpose::Strategy,
                spec: &spec,
                limits: &limits,
                book: &book,
                last_trade_ticks: Some(6_508_366),
                position_lots: 20_000,
                open_buy_lots: 10_000,
                open_sell_lots: 10_000,
                orders_open: 2,
                instrument_orders_open: 2,
                exposure_others: money("50")?,
            };
            let start = stamp.raw();
            let outcome = black_box(risk.check(black_box(&request), black_box(&ctx)));
            let end = stamp.raw();
            let sample = stamp.delta_ns(start, end).max(1);
            match (run, outcome.is_ok()) {
                (0, true) => costs.approve.saturating_record(sample),
                (1, true) => costs.approve_busy.saturating_record(sample),
                (2, false) => costs.refuse_first.saturating_record(sample),
                _ => anyhow::bail!("risk check gave an unexpected outcome ({state:?})"),
            }
        }
    }
    Ok(costs)
}

/// The kill switch through `HotPath::process`, `kills` times.
pub fn kill_in_hot_path(
    session: &Session,
    config: &DaemonConfig,
    journal: Journal,
    kills: usize,
) -> anyhow::Result<Histogram<u64>> {
    let engine = Engine::new(config.engine_settings(), true).context("engine")?;
    let mut hot = HotPath::new(
        engine,
        hot::decoder(config),
        journal,
        Vec::<Output>::new(),
        hot::limits(config),
    );
    let stamp = Stamp::default();
    let steps = schedule(session, 50);
    let mut slot = InputSlot::with_capacity(config.hot_path.slot_bytes);
    let mut latency = histogram();
    let mut now_ns = 0;
    let mut steps = steps.iter().cycle();
    while (latency.len() as usize) < kills {
        // Play the session until quotes are out.
        while hot.engine().orders().live_count() == 0 {
            let step = steps.next().context("empty schedule")?;
            let data: &[u8] = match (step.kind, step.frame) {
                (InputKind::Products, _) => &session.products,
                (_, Some(index)) => &session.frames[index].data,
                _ => &[],
            };
            now_ns = now_ns.max(step.ts_ns);
            slot.fill(step.kind, CONN_ID, now_ns, stamp.raw(), data);
            hot.process(&slot);
        }
        hot.output_mut().clear();
        let kill = admin_input(AdminCommand::Kill { flatten: false }, Role::Operator);
        slot.fill(InputKind::Admin, 0, now_ns, stamp.raw(), &kill);
        hot.process(&slot);
        let first_cancel = hot.output().iter().find_map(|output| match output {
            Output::Command {
                command,
                ts_input_raw,
                ts_emit_raw,
                ..
            } if command.action() == OrderAction::Cancel => {
                Some(stamp.delta_ns(*ts_input_raw, *ts_emit_raw))
            }
            _ => None,
        });
        latency.saturating_record(first_cancel.context("the kill cancelled nothing")?.max(1));
        let resume = admin_input(
            AdminCommand::Resume {
                second_factor: true,
            },
            Role::Admin,
        );
        slot.fill(InputKind::Admin, 0, now_ns, stamp.raw(), &resume);
        hot.process(&slot);
        hot.output_mut().clear();
    }
    Ok(latency)
}

fn admin_input(command: AdminCommand, role: Role) -> Vec<u8> {
    let name = if role == Role::Admin { "root" } else { "ops" };
    let actor = Actor::with(name, role, Source::Api).unwrap_or_else(Actor::system);
    AdminInput {
        actor,
        request_id: 0,
        command,
    }
    .to_bytes()
}

/// The operator token the HTTP bench uses (generated per run, never stored).
fn bench_token() -> String {
    format!("bench-{:x}", Instant::now().elapsed().as_nanos() ^ 0x5eed)
}

/// The kill switch over HTTP, `kills` times, through the daemon's own threads.
pub fn kill_over_http(
    session: &Session,
    config: &DaemonConfig,
    journal: Journal,
    journal_dir: &std::path::Path,
    kills: usize,
) -> anyhow::Result<Histogram<u64>> {
    let token = bench_token();
    let config = with_operator_token(config, &token)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let first_cancel = Arc::new(AtomicU64::new(0));
    let consumer = first_cancel_stamper(Arc::clone(&first_cancel));
    let mut observed = traiderd::admin::daemon::Observed::new(
        &traider_core::engine::StatusSnapshot::empty(config.engine_settings().global_limits()),
    );
    let running = hot::Running::start(
        &config,
        journal,
        journal_dir,
        observed.observers(),
        Some(consumer),
    )?;
    let server = observed
        .serve(&runtime, &config, "paper", running.producer(), None)?
        .context("the admin endpoint did not start")?;
    let kill = HttpKill {
        runtime: &runtime,
        client: reqwest::Client::new(),
        url: format!("http://{}/api/v1/kill", server.addr),
        token: &token,
        first_cancel: &first_cancel,
        stamp: Stamp::default(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = spawn_feeder(session, running.producer(), Arc::clone(&stop));
    let mut latency = histogram();
    let mut admin = running.producer();
    let deadline = Instant::now() + Duration::from_secs(300);
    while (latency.len() as usize) < kills && Instant::now() < deadline {
        // A kill samples only when an order is working (not already being cancelled): the
        // maker requotes on every tick, so quotes come and go.
        if !order_working(&observed) {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        if let Some(sample_ns) = kill.once()? {
            latency.saturating_record(sample_ns);
        }
        publish_resume(&mut admin);
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    server.stop(&runtime);
    drop(admin);
    running
        .stop(0)
        .map_err(|e| anyhow::anyhow!("stopping the hot path: {e}"))?;
    anyhow::ensure!(
        latency.len() as usize >= kills,
        "only {} kills cancelled something",
        latency.len()
    );
    Ok(latency)
}

/// Whether the status board shows an order working (not already being cancelled).
fn order_working(observed: &traiderd::admin::daemon::Observed) -> bool {
    observed
        .status
        .read()
        .live_orders()
        .any(|o| !o.cancel_pending)
}

/// An admin's resume (second factor given), stamped with the wall clock like the kill.
fn publish_resume(admin: &mut InputProducer) {
    let resume = admin_input(
        AdminCommand::Resume {
            second_factor: true,
        },
        Role::Admin,
    );
    admin.publish(InputKind::Admin, 0, traiderd::clock::unix_now_ns(), &resume);
}

/// `config` with an admin endpoint on a free loopback port that knows one operator token.
fn with_operator_token(config: &DaemonConfig, token: &str) -> anyhow::Result<DaemonConfig> {
    let mut config = config.clone();
    config.admin = Some(AdminConfig {
        listen: "127.0.0.1:0".parse()?,
        tls_cert: None,
        tls_key: None,
        tokens: vec![TokenConfig {
            name: "ops".into(),
            role: TokenRole::Operator,
            sha256: token_sha256_hex(token),
            totp_secret: None,
        }],
        totp_failures_max: 5,
        totp_lockout_s: 300,
        metrics_public: true,
        command_wait_ms: 0,
    });
    Ok(config)
}

/// The order sink: stores the emit stamp of the first cancel it reads into `seen` (while
/// `seen` is 0).
fn first_cancel_stamper(seen: Arc<AtomicU64>) -> hot::OutputConsumer {
    Box::new(move |mut poller, _durable| {
        std::thread::Builder::new()
            .name("bench-orders".into())
            .spawn(move || {
                loop {
                    match poller.poll() {
                        Ok(mut events) => {
                            for slot in &mut events {
                                match slot.output {
                                    Output::Command {
                                        command,
                                        ts_emit_raw,
                                        ..
                                    } if command.action() == OrderAction::Cancel => {
                                        let _ = seen.compare_exchange(
                                            0,
                                            ts_emit_raw,
                                            Ordering::AcqRel,
                                            Ordering::Acquire,
                                        );
                                    }
                                    Output::Stopped => return hot::SinkStats::default(),
                                    _ => {}
                                }
                            }
                        }
                        Err(disruptor::Polling::NoEvents) => std::thread::yield_now(),
                        Err(disruptor::Polling::Shutdown) => return hot::SinkStats::default(),
                    }
                }
            })
    })
}

/// Plays the session (1 000 passes) into the input ring, an input every 200 µs, until
/// `stop`.
fn spawn_feeder(
    session: &Session,
    mut producer: InputProducer,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let steps = schedule(session, 1_000);
    let session = session.clone();
    std::thread::spawn(move || {
        for step in steps.iter() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let data: &[u8] = match (step.kind, step.frame) {
                (InputKind::Products, _) => &session.products,
                (_, Some(index)) => &session.frames[index].data,
                _ => &[],
            };
            // Stamped on receipt like every input of the daemon (the endpoint's commands
            // carry the wall clock too, and event time never runs backwards).
            producer.publish(step.kind, CONN_ID, traiderd::clock::unix_now_ns(), data);
            std::thread::sleep(Duration::from_micros(200));
        }
    })
}

/// One sample's way: `POST /api/v1/kill`, then the first cancel's emit stamp.
struct HttpKill<'a> {
    runtime: &'a tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
    token: &'a str,
    first_cancel: &'a AtomicU64,
    stamp: Stamp,
}

impl HttpKill<'_> {
    /// Kills over HTTP; the sample (ns) runs from just before the request to the first
    /// cancel leaving the hot path, `None` when no cancel left within 100 ms.
    fn once(&self) -> anyhow::Result<Option<u64>> {
        self.first_cancel.store(0, Ordering::Release);
        let start = self.stamp.raw();
        let answer = self
            .runtime
            .block_on(self.client.post(&self.url).bearer_auth(self.token).send())?;
        anyhow::ensure!(
            answer.status().is_success(),
            "kill answered {}",
            answer.status()
        );
        // The sample's end is stamped by the hot thread as the cancel leaves it; waiting
        // here must not take the core the order and I/O threads need, so it sleeps.
        let wait = Instant::now();
        let emitted = loop {
            let emitted = self.first_cancel.load(Ordering::Acquire);
            if emitted != 0 || wait.elapsed() > Duration::from_millis(100) {
                break emitted;
            }
            std::thread::sleep(Duration::from_micros(50));
        };
        Ok((emitted != 0).then(|| self.stamp.delta_ns(start, emitted).max(1)))
    }
}
