//! `/metrics`: the daemon in Prometheus' text exposition format (the `prometheus` crate's
//! encoder), built at scrape time from the status board, the latency histograms the hot
//! thread copies on request, and the journal's sync positions.
//!
//! Latency per hot-path stage is exported twice from the same hdrhistograms the benches
//! and the run summary read: as a histogram (`traider_stage_latency_seconds`, fixed
//! buckets, for aggregation) and as a summary of exact hdr quantiles
//! (`traider_stage_latency_quantiles_seconds`: p50, p90, p99, p99.9), which are the numbers
//! `Latency::percentiles` reports. Prices, sizes and money become `f64` here, for reports
//! only.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType, Quantile,
    Summary,
};
use prometheus::{Encoder, TextEncoder};
use traider_core::control::TradingState;
use traider_core::engine::StatusSnapshot;
use traider_core::event::DecodeError;
use traider_core::num::Money;
use traider_core::pipeline::latency::{Latency, Stage};
use traider_core::risk::Reject;

/// Histogram bucket bounds, in nanoseconds.
pub const BUCKETS_NS: [u64; 20] = [
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
];

/// Quantiles exported from each stage's hdrhistogram.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// What a scrape sees besides the snapshot.
pub struct Extras<'a> {
    pub mode: &'a str,
    pub latency: &'a Latency,
    /// Seconds since the hot path last published a changed snapshot.
    pub quiet_s: f64,
    /// Journal records appended (committed) and on disk (durable), when known.
    pub journal: Option<(u64, u64)>,
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut pair = LabelPair::default();
    pair.set_name(name.to_owned());
    pair.set_value(value.to_owned());
    pair
}

struct Families(Vec<MetricFamily>);

impl Families {
    fn family(&mut self, name: &str, help: &str, kind: MetricType) -> &mut MetricFamily {
        let mut family = MetricFamily::default();
        family.set_name(name.to_owned());
        family.set_help(help.to_owned());
        family.set_field_type(kind);
        self.0.push(family);
        let last = self.0.len() - 1;
        &mut self.0[last]
    }

    fn gauges(&mut self, name: &str, help: &str, samples: &[(&[(&str, &str)], f64)]) {
        let family = self.family(name, help, MetricType::GAUGE);
        for (labels, value) in samples {
            let mut gauge = Gauge::default();
            gauge.set_value(*value);
            let mut metric = Metric::default();
            metric.set_gauge(gauge);
            metric.set_label(labels.iter().map(|(n, v)| label(n, v)).collect());
            family.mut_metric().push(metric);
        }
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.gauges(name, help, &[(&[], value)]);
    }

    fn counters(&mut self, name: &str, help: &str, samples: &[(&[(&str, &str)], u64)]) {
        let family = self.family(name, help, MetricType::COUNTER);
        for (labels, value) in samples {
            let mut counter = Counter::default();
            counter.set_value(*value as f64);
            let mut metric = Metric::default();
            metric.set_counter(counter);
            metric.set_label(labels.iter().map(|(n, v)| label(n, v)).collect());
            family.mut_metric().push(metric);
        }
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.counters(name, help, &[(&[], value)]);
    }
}

/// Money as a float, for reports.
fn quote(money: Money) -> f64 {
    money.display().to_string().parse().unwrap_or(f64::NAN)
}

/// The exposition text of one scrape.
pub fn render(snapshot: &StatusSnapshot, extras: &Extras<'_>) -> String {
    let mut f = Families(Vec::new());
    engine_families(&mut f, snapshot, extras);
    instrument_families(&mut f, snapshot);
    latency_families(&mut f, extras.latency);
    let mut out = Vec::new();
    // Encoding into a Vec cannot fail for well-formed families.
    let _ = TextEncoder::new().encode(&f.0, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn engine_families(f: &mut Families, snapshot: &StatusSnapshot, extras: &Extras<'_>) {
    control_families(f, snapshot, extras);
    clock_and_pnl_families(f, snapshot, extras);
    flow_counter_families(f, snapshot);
    control_counter_families(f, snapshot);
    breakdown_families(f, snapshot);
    if let Some(journal) = extras.journal {
        journal_families(f, journal);
    }
}

/// The mode, the trading state and the switches that let orders out.
fn control_families(f: &mut Families, snapshot: &StatusSnapshot, extras: &Extras<'_>) {
    let control = &snapshot.control;
    f.gauges(
        "traider_info",
        "The daemon's mode.",
        &[(&[("mode", extras.mode)], 1.0)],
    );
    let states: Vec<(&str, f64)> = [
        TradingState::Active,
        TradingState::Reducing,
        TradingState::Halted,
    ]
    .into_iter()
    .map(|s| (s.as_str(), f64::from(u8::from(control.state.state == s))))
    .collect();
    let samples: Vec<([(&str, &str); 1], f64)> =
        states.iter().map(|(s, v)| ([("state", *s)], *v)).collect();
    let samples: Vec<(&[(&str, &str)], f64)> = samples.iter().map(|(l, v)| (&l[..], *v)).collect();
    f.gauges(
        "traider_trading_state",
        "1 for the trading state the daemon is in.",
        &samples,
    );
    f.gauge(
        "traider_strategy_enabled",
        "1 while the strategy may place orders.",
        f64::from(u8::from(control.strategy_on)),
    );
    f.gauge(
        "traider_flattening",
        "1 while the kill switch closes positions.",
        f64::from(u8::from(control.flattening)),
    );
    f.gauge(
        "traider_venue_gate_open",
        "1 while the live venue gate lets orders out (always 1 in paper).",
        f64::from(u8::from(snapshot.gate_closed.is_none())),
    );
}

/// Event time, the hot path's quiet time, open orders and P&L.
fn clock_and_pnl_families(f: &mut Families, snapshot: &StatusSnapshot, extras: &Extras<'_>) {
    let control = &snapshot.control;
    f.gauge(
        "traider_event_time_seconds",
        "The hot path's event time (UNIX seconds).",
        snapshot.now_ns as f64 / 1e9,
    );
    f.gauge(
        "traider_hot_path_quiet_seconds",
        "Seconds since the hot path last published its state.",
        extras.quiet_s,
    );
    f.gauge(
        "traider_orders_open",
        "Live orders.",
        snapshot.orders_open as f64,
    );
    f.gauge(
        "traider_pnl",
        "Realized + unrealized - fees, quote currency.",
        quote(control.pnl),
    );
    f.gauge(
        "traider_pnl_day_start",
        "P&L at the start of the UTC day, quote currency.",
        quote(control.pnl_day_start),
    );
    f.gauge(
        "traider_pnl_session_high",
        "The session's P&L high (drawdown reference), quote currency.",
        quote(control.pnl_session_high),
    );
}

/// Counters of the market data and the order flow, one family each.
fn flow_counter_families(f: &mut Families, snapshot: &StatusSnapshot) {
    let c = &snapshot.counters;
    let control = &snapshot.control;
    for (name, help, value) in [
        (
            "traider_md_frames_total",
            "Market-data frames decoded.",
            c.frames,
        ),
        (
            "traider_feed_gaps_total",
            "Sequence gaps on the market-data feed.",
            c.gaps,
        ),
        (
            "traider_heartbeats_total",
            "Venue heartbeats.",
            c.heartbeats,
        ),
        (
            "traider_level_updates_total",
            "Order-book level changes applied.",
            c.level_updates,
        ),
        ("traider_trades_total", "Public trades seen.", c.trades),
        ("traider_orders_total", "Orders sent.", c.orders),
        ("traider_cancels_total", "Cancels sent.", c.cancels),
        ("traider_edits_total", "Edits (requotes) sent.", c.edits),
        ("traider_fills_total", "Fills applied.", c.fills),
        (
            "traider_venue_rejects_total",
            "Orders the venue refused.",
            c.venue_rejects,
        ),
        (
            "traider_cancel_rejects_total",
            "Cancels the venue refused.",
            c.cancel_rejects,
        ),
        (
            "traider_cancels_throttled_total",
            "Strategy cancels held back by the cancel or message rate.",
            control.cancels_throttled,
        ),
        (
            "traider_duplicate_reports_total",
            "Venue reports that changed nothing.",
            c.duplicate_reports,
        ),
        (
            "traider_orders_unknown_total",
            "Creates left unanswered (resolved later).",
            c.orders_unknown,
        ),
    ] {
        f.counter(name, help, value);
    }
}

/// Counters of the operator's controls: admin commands, the kill switch, state changes.
fn control_counter_families(f: &mut Families, snapshot: &StatusSnapshot) {
    let c = &snapshot.counters;
    for (name, help, value) in [
        (
            "traider_admin_commands_total",
            "Admin commands applied or refused.",
            c.admin_commands,
        ),
        (
            "traider_admin_refused_total",
            "Admin commands the engine refused.",
            c.admin_refused,
        ),
        (
            "traider_admin_audits_total",
            "Audited admin requests (reads, refusals).",
            c.admin_audits,
        ),
        ("traider_kills_total", "Kill-switch triggers.", c.kills),
        (
            "traider_trading_state_changes_total",
            "Trading-state changes.",
            c.state_changes,
        ),
        (
            "traider_flatten_orders_total",
            "Orders the kill switch sent to close positions.",
            c.flatten_orders,
        ),
    ] {
        f.counter(name, help, value);
    }
}

/// Counters broken down by a label: decode errors by kind, risk rejects by reason.
fn breakdown_families(f: &mut Families, snapshot: &StatusSnapshot) {
    let c = &snapshot.counters;
    let decode: Vec<([(&str, &str); 1], u64)> = DecodeError::ALL
        .iter()
        .map(|e| ([("kind", e.as_str())], c.decode_errors[e.index()]))
        .collect();
    let decode: Vec<(&[(&str, &str)], u64)> = decode.iter().map(|(l, v)| (&l[..], *v)).collect();
    f.counters(
        "traider_decode_errors_total",
        "Frames that did not decode, by kind.",
        &decode,
    );
    let rejects: Vec<([(&str, &str); 1], u64)> = Reject::ALL
        .iter()
        .map(|r| ([("reason", r.as_str())], snapshot.rejects[*r as usize]))
        .collect();
    let rejects: Vec<(&[(&str, &str)], u64)> = rejects.iter().map(|(l, v)| (&l[..], *v)).collect();
    f.counters(
        "traider_risk_rejects_total",
        "Orders pre-trade risk refused, by reason.",
        &rejects,
    );
}

/// The journal's sync positions: records appended (committed) and on disk (durable).
fn journal_families(f: &mut Families, (committed, durable): (u64, u64)) {
    f.gauge(
        "traider_journal_committed_records",
        "Journal records appended.",
        committed as f64,
    );
    f.gauge(
        "traider_journal_durable_records",
        "Journal records on disk (synced).",
        durable as f64,
    );
    f.gauge(
        "traider_journal_lag_records",
        "Journal records appended but not yet on disk.",
        committed.saturating_sub(durable) as f64,
    );
}

/// One sample of an instrument family: the instrument's symbol and the value.
type InstrumentSample = (String, f64);

/// The instrument families: one gauge family per column, one sample per instrument.
fn instrument_families(f: &mut Families, snapshot: &StatusSnapshot) {
    let mut columns = instrument_columns();
    for status in snapshot.instruments() {
        let symbol = status.symbol.to_string();
        for (column, value) in columns.iter_mut().zip(instrument_values(status)) {
            if let Some(value) = value {
                column.2.push((symbol.clone(), value));
            }
        }
    }
    for (name, help, samples) in &columns {
        let labelled: Vec<([(&str, &str); 1], f64)> = samples
            .iter()
            .map(|(symbol, value)| ([("instrument", symbol.as_str())], *value))
            .collect();
        let refs: Vec<(&[(&str, &str)], f64)> =
            labelled.iter().map(|(l, v)| (&l[..], *v)).collect();
        f.gauges(name, help, &refs);
    }
}

/// The instrument families' names and help, empty; [`instrument_values`] fills them in
/// this order.
fn instrument_columns() -> [(&'static str, &'static str, Vec<InstrumentSample>); 9] {
    [
        ("traider_position", "Position, base units.", Vec::new()),
        (
            "traider_realized_pnl",
            "Realized P&L, quote currency.",
            Vec::new(),
        ),
        (
            "traider_unrealized_pnl",
            "Unrealized P&L at the mid, quote currency.",
            Vec::new(),
        ),
        ("traider_fees", "Fees paid, quote currency.", Vec::new()),
        (
            "traider_instrument_orders_open",
            "Live orders of the instrument.",
            Vec::new(),
        ),
        (
            "traider_book_stale",
            "1 while the instrument's book is stale (feed gap, disconnect, no snapshot).",
            Vec::new(),
        ),
        (
            "traider_instrument_tradable",
            "1 once the instrument's rules are known and its config resolved.",
            Vec::new(),
        ),
        ("traider_best_bid", "Best bid, quote currency.", Vec::new()),
        ("traider_best_ask", "Best ask, quote currency.", Vec::new()),
    ]
}

/// One instrument's value per [`instrument_columns`] column (`None`: no sample, e.g. an
/// empty book side).
fn instrument_values(status: &traider_core::engine::InstrumentStatus) -> [Option<f64>; 9] {
    let price = |status: &traider_core::engine::InstrumentStatus, ticks: i64| {
        status
            .price_increment
            .display(ticks)
            .to_string()
            .parse()
            .unwrap_or(f64::NAN)
    };
    let size = status
        .base_increment
        .display(status.position_lots)
        .to_string()
        .parse()
        .unwrap_or(f64::NAN);
    [
        Some(size),
        Some(quote(status.realized)),
        Some(quote(status.unrealized)),
        Some(quote(status.fees)),
        Some(status.orders_open as f64),
        Some(f64::from(u8::from(status.stale))),
        Some(f64::from(u8::from(status.tradable))),
        status.bid.map(|(p, _)| price(status, p)),
        status.ask.map(|(p, _)| price(status, p)),
    ]
}

fn latency_families(f: &mut Families, latency: &Latency) {
    let histogram_family = f.family(
        "traider_stage_latency_seconds",
        "Hot-path latency per stage (from the hdrhistograms).",
        MetricType::HISTOGRAM,
    );
    for stage in Stage::ALL {
        let h = latency.histogram(stage);
        let mut histogram = Histogram::default();
        histogram.set_sample_count(h.len());
        histogram.set_sample_sum(h.mean() * h.len() as f64 / 1e9);
        let buckets = BUCKETS_NS
            .iter()
            .map(|&bound_ns| {
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(bound_ns as f64 / 1e9);
                bucket.set_cumulative_count(h.count_between(0, bound_ns));
                bucket
            })
            .collect();
        histogram.set_bucket(buckets);
        let mut metric = Metric::default();
        metric.set_histogram(histogram);
        metric.set_label(vec![label("stage", stage.name())]);
        histogram_family.mut_metric().push(metric);
    }
    let summary_family = f.family(
        "traider_stage_latency_quantiles_seconds",
        "Hot-path latency quantiles per stage, exact from the hdrhistograms (the benches' percentiles).",
        MetricType::SUMMARY,
    );
    for stage in Stage::ALL {
        let h = latency.histogram(stage);
        let mut summary = Summary::default();
        summary.set_sample_count(h.len());
        summary.set_sample_sum(h.mean() * h.len() as f64 / 1e9);
        let quantiles = QUANTILES
            .iter()
            .map(|&q| {
                let mut quantile = Quantile::default();
                quantile.set_quantile(q);
                let value = if h.is_empty() {
                    0
                } else {
                    h.value_at_quantile(q)
                };
                quantile.set_value(value as f64 / 1e9);
                quantile
            })
            .collect();
        summary.set_quantile(quantiles);
        let mut metric = Metric::default();
        metric.set_summary(summary);
        metric.set_label(vec![label("stage", stage.name())]);
        summary_family.mut_metric().push(metric);
    }
}
