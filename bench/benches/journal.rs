//! `cargo bench -p traider-bench --bench journal`: journal append throughput and latency
//! for 64- and 256-byte payloads under each flush policy (`none` warm, cold, cold with the
//! prefaulter, with rolls; `interval_ms`; `durable` with a group commit every 1, 16 and 256
//! appends), next to raw memcpy baselines (a `Vec`, an mmap'd file warm and cold) and the
//! harness's own cost. See `traider_bench::journal_bench` for how each number is taken.
//! The table is printed and written to `target/traider-bench-journal.json`.

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::fmt::Write as _;
use traider_bench::journal_bench::raw::{Raw, pieces, raw_baseline};
use traider_bench::journal_bench::{BATCH, Measure, REGION_BYTES, Setup, bench_parent, journal};
use traider_bench::report::machine;
use traider_bench::{pin, target_dir, thread_cores};
use traider_core::pipeline::latency::Stamp;

const PAYLOADS: [usize; 2] = [64, 256];
const SETUPS: [Setup; 11] = [
    Setup::NoneWarm,
    Setup::NoneCold,
    Setup::NonePrefaulter,
    Setup::NoneRolling,
    Setup::NoneRollingSpares,
    Setup::Paced { prefaulter: false },
    Setup::Paced { prefaulter: true },
    Setup::Interval,
    Setup::Durable(1),
    Setup::Durable(16),
    Setup::Durable(256),
];

fn main() {
    if let Err(error) = run() {
        eprintln!("traider-bench journal failed: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let machine = machine();
    if let Some((_, hot)) = thread_cores() {
        pin(hot);
    }
    let parent = bench_parent()?;
    println!("journal bench: files under {}", parent.display());
    let harness = harness_baseline();
    let mut sections: Vec<(usize, Vec<Measure>)> = Vec::new();
    for payload in PAYLOADS {
        let mut rows = pieces(payload);
        for raw in [
            Raw::Vec,
            Raw::MmapWarm,
            Raw::MmapCacheResident,
            Raw::MmapCold,
        ] {
            rows.push(raw_baseline(&parent, raw, payload)?);
        }
        for setup in SETUPS {
            let measure = journal(&parent, setup, payload)?;
            println!(
                "  {payload:>3} B  {:<42} {:>8.2} M appends/s",
                measure.name,
                measure.appends_per_s / 1e6
            );
            rows.push(measure);
        }
        sections.push((payload, rows));
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    println!("{}", table(&harness, &sections));
    let path = target_dir().join("traider-bench-journal.json");
    let json = json!({
        "machine": machine,
        "files_under": parent.display().to_string(),
        "region_bytes": REGION_BYTES,
        "batch_appends": BATCH,
        "harness_stamp_pair_ns": harness.value_at_quantile(0.5),
        "elapsed_s": elapsed_s,
        "sections": sections.iter().map(|(payload, rows)| json!({
            "payload_bytes": payload,
            "rows": rows.iter().map(|row| row_json(row, baseline(rows))).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
    println!("written to {} ({elapsed_s:.0} s)", path.display());
    Ok(())
}

/// Two back-to-back stamps: what each batch measurement adds (÷ BATCH per append).
fn harness_baseline() -> Histogram<u64> {
    let stamp = Stamp::default();
    let mut hist = traider_bench::histogram();
    for _ in 0..200_000 {
        let start = stamp.raw();
        let end = std::hint::black_box(stamp.raw());
        hist.saturating_record(stamp.delta_ns(start, end).max(1));
    }
    hist
}

/// The raw warm mmap row: what every journal row is compared with.
fn baseline(rows: &[Measure]) -> f64 {
    rows.iter()
        .find(|r| r.name == Raw::MmapWarm.name())
        .map_or(0.0, |r| r.appends_per_s)
}

fn ns(ps: u64) -> String {
    let ns = ps as f64 / 1000.0;
    if ns >= 10_000.0 {
        format!("{:.1}µs", ns / 1000.0)
    } else if ns >= 100.0 {
        format!("{ns:.0}ns")
    } else {
        format!("{ns:.2}ns")
    }
}

fn rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.1} M/s", per_s / 1e6)
    } else {
        format!("{:.1} k/s", per_s / 1e3)
    }
}

fn table(harness: &Histogram<u64>, sections: &[(usize, Vec<Measure>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== journal appends == per-append times are batch-of-{BATCH} averages; \
         stamp pair p50 {} ns (÷{BATCH} per append)",
        harness.value_at_quantile(0.5)
    );
    for (payload, rows) in sections {
        let raw = baseline(rows);
        let _ = writeln!(
            out,
            "\n{payload}-byte payloads        {:<24} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>11}",
            "", "appends/s", "p50", "p99", "p99.9", "max", "faults/op", "raw/this"
        );
        for row in rows {
            let h = &row.per_append_ps;
            let at = |q| ns(h.value_at_quantile(q));
            let ratio = if row.appends_per_s > 0.0 {
                raw / row.appends_per_s
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "  {:<46} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8.4} {:>10.2}x",
                row.name,
                rate(row.appends_per_s),
                at(0.5),
                at(0.99),
                at(0.999),
                ns(h.max()),
                row.faults_per_append,
                ratio
            );
            if let Some(commit) = &row.per_commit_ns {
                let c = |q| ns(commit.value_at_quantile(q) * 1000);
                let _ = writeln!(
                    out,
                    "  {:<46} {:>10} {:>9} {:>9} {:>9} {:>9}",
                    "    └ one group commit (appends + sync_to)",
                    "",
                    c(0.5),
                    c(0.99),
                    c(0.999),
                    ns(commit.max() * 1000)
                );
            }
        }
    }
    out
}

fn row_json(row: &Measure, raw_mmap_warm: f64) -> Value {
    let percentiles = |h: &Histogram<u64>, scale: f64| {
        json!({
            "count": h.len(),
            "p50": h.value_at_quantile(0.5) as f64 / scale,
            "p99": h.value_at_quantile(0.99) as f64 / scale,
            "p999": h.value_at_quantile(0.999) as f64 / scale,
            "max": h.max() as f64 / scale,
        })
    };
    json!({
        "name": row.name,
        "appends_per_s": row.appends_per_s,
        "per_append_ns": percentiles(&row.per_append_ps, 1000.0),
        "per_commit_ns": row.per_commit_ns.as_ref().map(|h| percentiles(h, 1.0)),
        "faults_per_append": row.faults_per_append,
        "raw_mmap_warm_over_this": if row.appends_per_s > 0.0 { raw_mmap_warm / row.appends_per_s } else { 0.0 },
    })
}
