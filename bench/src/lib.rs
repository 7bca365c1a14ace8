//! TRAIDER benches: latency and throughput of the hot path on the real recorded session.
//!
//! `cargo bench -p traider-bench` runs `benches/hot_path.rs`, which uses this library:
//! - [`session`]: the recorded Coinbase capture loaded into memory once, every frame
//!   classified (l2 snapshot / l2 update / other) by decoding it, plus the bench configs.
//! - [`micro`]: decode-only and book-only fixtures (criterion bodies and hdr runs).
//! - [`closed_loop`]: the ring baseline (a timer input producer → hot thread, nothing else)
//!   and the closed-loop tick-to-order driver (producer thread → input ring → the real
//!   `HotPath::process` on a pinned hot thread → output ring).
//! - [`throughput`]: the whole capture replayed from memory on one thread, no ring.
//! - [`attribution`]: a single-thread mirror of `HotPath::process` with a stamp between every
//!   engine call, split by frame class (diagnostics: where an update's time goes).
//! - [`report`]: percentile rows, the printed table and `target/traider-bench.json`.
//! - [`sections`]: each hdr section of a run, filling a [`report::Report`].
//!
//! Threads: the closed-loop sections use two pinned threads (producer on core 0, hot thread on
//! core 1), both busy-spinning, so they need two cores; everything else is single-threaded.
//! Clocks: all stamps are `quanta` raw counters through the core's [`Stamp`], the same clock
//! the hot path's own histograms use, so the numbers here and in `hot.latency()` compare.
//!
//! [`Stamp`]: traider_core::pipeline::latency::Stamp

pub mod attribution;
pub mod closed_loop;
pub mod controls;
pub mod journal_bench;
pub mod micro;
pub mod report;
pub mod sections;
pub mod session;
pub mod throughput;

use hdrhistogram::Histogram;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The workspace root (`bench/..`).
pub fn workspace_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// The recorded capture (under `$TRAIDER_DATA_DIR`, else `../shared/data` beside the
/// workspace). Panics, naming `TRAIDER_DATA_DIR`, when it is not there: a bench or test
/// without its data stops, it does not pass.
pub fn capture_path() -> PathBuf {
    traider_testkit::data::capture()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// A histogram with the same bounds as the core's stage histograms (1 ns … 60 s, 3 digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static histogram bounds are valid")
}

/// Cores for the two-thread sections: (producer, hot). `None` on a one-core machine, where
/// two busy-spinning threads would share a core and measure the scheduler instead.
///
/// The cores are read once, on the first call: the process's affinity mask shrinks when a
/// thread is pinned, so call this before [`pin`] (the bench's `main` does).
pub fn thread_cores() -> Option<(core_affinity::CoreId, core_affinity::CoreId)> {
    static CORES: OnceLock<Option<(core_affinity::CoreId, core_affinity::CoreId)>> =
        OnceLock::new();
    *CORES.get_or_init(|| match core_affinity::get_core_ids()?.as_slice() {
        [first, second, ..] => Some((*first, *second)),
        _ => None,
    })
}

/// Pins the calling thread; returns whether it worked (benches run unpinned otherwise).
pub fn pin(core: core_affinity::CoreId) -> bool {
    core_affinity::set_for_current(core)
}

/// Minor page faults the process has taken so far (`/proc/self/stat`, field 10); 0 where
/// that file does not exist.
pub fn minor_faults() -> u64 {
    minor_faults_in("/proc/self/stat")
}

/// Minor page faults the calling thread has taken so far (`/proc/thread-self/stat`).
pub fn thread_minor_faults() -> u64 {
    minor_faults_in("/proc/thread-self/stat")
}

fn minor_faults_in(stat_path: &str) -> u64 {
    std::fs::read_to_string(stat_path)
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{FrameClass, Session, tick_to_order_config};
    use traider_core::pipeline::latency::Stage;
    use traiderd::hot::Journal;

    fn session() -> (Session, traiderd::config::DaemonConfig) {
        let path = capture_path();
        let config = tick_to_order_config().unwrap();
        (Session::load(&path, &config).unwrap(), config)
    }

    // Proves the capture loads with the documented frame counts and that one replay through
    // the bench replayer applies every level, warm passes included.
    #[test]
    fn session_classifies_and_replays() {
        let (session, config) = session();
        assert_eq!(session.frames.len(), 1030);
        assert_eq!(session.class_totals(FrameClass::L2Update), (773, 4859));
        assert_eq!(session.class_totals(FrameClass::L2Snapshot).0, 2);
        let mut replayer =
            throughput::Replayer::new(&session, &config, throughput::JournalMode::Off).unwrap();
        let (cold, warm) = (replayer.pass(), replayer.pass());
        replayer.check().unwrap();
        assert_eq!(cold.level_updates, 46_000 + 23_334 + 4859);
        assert_eq!(warm.level_updates, cold.level_updates);
        assert!(warm.share_ns.iter().sum::<u64>() <= warm.elapsed_ns);
    }

    // Proves the closed loop emits orders on update frames, sees no gap across passes, and
    // that its per-frame tick-to-order samples are exactly the hot path's own (warm-up
    // inputs subtracted).
    #[test]
    fn closed_loop_matches_the_hot_path_histogram() {
        let (session, config) = session();
        if thread_cores().is_none() {
            eprintln!("SKIP: the closed loop needs two cores");
            return;
        }
        let result = closed_loop::tick_to_order(&session, &config, Journal::Off, 2).unwrap();
        let sender = &result.sender;
        assert_eq!(result.counters.gaps, 0);
        assert_eq!(result.risk_rejects, 0);
        assert!(
            sender.update_frames_with_commands > 100,
            "{}",
            sender.update_frames_with_commands
        );
        assert_eq!(
            result.stages.get(Stage::TickToOrder).len(),
            sender.update_frames_with_commands + sender.other_frames_with_commands
        );
        let measured = sender.update_frames + sender.other_frames;
        assert_eq!(result.stages.get(Stage::Input).len(), measured);
        assert!(minor_faults() > 0);
    }
}
