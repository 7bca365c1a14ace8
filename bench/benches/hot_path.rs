//! `cargo bench -p traider-bench`: the hot path on the real recorded Coinbase session.
//!
//! Criterion first (mean with 95 % CI): decode of the `l2_data` update frames, book updates,
//! and whole-session replays with the journal off and on. Then the hdr sections (p50 / p99 /
//! p99.9): the harness baselines (stamp pair, ring round trip), decode and book per frame and
//! per level, closed-loop tick-to-order through the rings (journal on and off), and replay
//! passes. The table is printed and written to `target/traider-bench.json`.
//!
//! Knobs (environment): `TRAIDER_BENCH_PASSES` (closed-loop passes over the session, default
//! 30), `TRAIDER_BENCH_REPLAY_PASSES` (timed warm replays per journal mode, default 10; half
//! as many cold ones), `TRAIDER_BENCH_RING_SLOTS` (input ring of the closed loop, default the
//! config's). `-- --profile-time N [filter]` runs only the criterion bodies, for profilers.

use criterion::{Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};
use traider_bench::closed_loop;
use traider_bench::micro::{BookFixture, DecodeFixture};
use traider_bench::report::{Mean, Report, Row, criterion_mean, machine};
use traider_bench::sections::*;
use traider_bench::session::{FrameClass, Session, replay_config, tick_to_order_config};
use traider_bench::throughput::{JournalMode, Replayer};
use traider_bench::{capture_path, pin, target_dir, thread_cores};
use traiderd::config::DaemonConfig;

fn main() {
    let path = capture_path();
    if let Err(error) = run(&path) {
        eprintln!("traider-bench failed: {error:#}");
        std::process::exit(1);
    }
}

fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let replay = replay_config()?;
    let mut t2o = tick_to_order_config()?;
    t2o.hot_path.ring_slots = env_usize("TRAIDER_BENCH_RING_SLOTS", t2o.hot_path.ring_slots);
    let session = Session::load(path, &replay)?;
    // Before any pinning: both read the process's affinity mask.
    let mut machine = machine();
    machine["load_average_at_start"] = serde_json::json!(load_average());
    let cores = thread_cores();
    if let Some((_, hot_core)) = cores {
        // Single-threaded sections run where the hot thread would.
        pin(hot_core);
    }
    let criterion_dir = target_dir().join("criterion");
    let mut criterion = Criterion::default()
        .output_directory(&criterion_dir)
        .configure_from_args();
    let mut report = Report {
        machine,
        session: session_facts(&session),
        ..Report::default()
    };
    run_criterion(&mut criterion, &session, &replay);
    criterion.final_summary();
    if std::env::args().any(|a| a == "--profile-time") {
        // Profiling the criterion bodies (perf, callgrind): nothing else runs.
        return Ok(());
    }
    report.means = criterion_means(&criterion_dir, &session);

    harness_rows(&mut report);
    micro_rows(&mut report, &session, &replay);
    journal_rows(&mut report, &session, &replay);
    if cores.is_some() {
        let ring = closed_loop::ring_baseline(500_000, 50_000, replay.hot_path.ring_slots)?;
        report.rows.push(Row::new(
            "ring baseline (timer input, closed loop)",
            "round trip",
            &ring.round_trip,
            1.0,
        ));
        report.rows.push(Row::new(
            "ring baseline (timer input, closed loop)",
            "one-way (publish → hot thread polls it)",
            &ring.one_way,
            1.0,
        ));
        let passes = env_usize("TRAIDER_BENCH_PASSES", 30);
        for mode in [JournalMode::On, JournalMode::Off] {
            let (journal, dir) = mode.open(&t2o)?;
            let result = closed_loop::tick_to_order(&session, &t2o, journal, passes)?;
            drop(dir);
            tick_to_order_rows(&mut report, mode, &result);
        }
        attribution_rows(&mut report, &session, &t2o)?;
    } else {
        println!("SKIP: ring and tick-to-order sections need two cores");
    }
    replay_rates(&mut report, &session, &replay)?;

    report.facts.push((
        "load average at end".into(),
        serde_json::json!(load_average()),
    ));
    print!("{}", report.table());
    let json_path = target_dir().join("traider-bench.json");
    report.write_json(&json_path)?;
    println!("wrote {}", json_path.display());
    Ok(())
}

fn run_criterion(c: &mut Criterion, session: &Session, config: &DaemonConfig) {
    let mut decode = DecodeFixture::new(session, config);
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(decode.levels() as u64));
    group.bench_function("l2_updates", |b| b.iter(|| black_box(decode.decode_all())));
    group.finish();

    let mut book = BookFixture::new(session, config);
    let mut group = c.benchmark_group("book");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(book.levels() as u64));
    group.bench_function("l2_updates", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                book.reset();
                let start = Instant::now();
                black_box(book.apply_all());
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();

    let mut group = c.benchmark_group("replay");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(session.json_bytes() as u64));
    for mode in [JournalMode::Off, JournalMode::On] {
        let mut replayer = Replayer::new(session, config, mode).expect("bench replayer builds");
        replayer.pass();
        group.bench_function(format!("warm_{}", mode.name()), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| Duration::from_nanos(replayer.pass().elapsed_ns))
                    .sum()
            })
        });
        drop(replayer);
        group.bench_function(format!("cold_{}", mode.name()), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut replayer =
                        Replayer::new(session, config, mode).expect("bench replayer builds");
                    total += Duration::from_nanos(replayer.pass().elapsed_ns);
                }
                total
            })
        });
    }
    group.finish();
}

fn criterion_means(dir: &std::path::Path, session: &Session) -> Vec<Mean> {
    let (frames, levels) = session.class_totals(FrameClass::L2Update);
    let replay_levels = {
        let (_, updates) = session.class_totals(FrameClass::L2Update);
        let (_, snapshots) = session.class_totals(FrameClass::L2Snapshot);
        updates + snapshots
    };
    [
        ("decode", "l2_updates", "frame", frames),
        ("decode", "l2_updates", "level", levels),
        ("book", "l2_updates", "frame", frames),
        ("book", "l2_updates", "level", levels),
        ("replay", "warm_journal_off", "session", 1),
        ("replay", "warm_journal_off", "level update", replay_levels),
        ("replay", "warm_journal_on", "session", 1),
        ("replay", "warm_journal_on", "level update", replay_levels),
        ("replay", "cold_journal_off", "session", 1),
        ("replay", "cold_journal_on", "session", 1),
    ]
    .into_iter()
    .filter_map(|(group, id, per, n)| criterion_mean(dir, group, id, per, n))
    .collect()
}
