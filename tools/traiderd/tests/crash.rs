//! Crash safety of the journal as system of record: a real `traiderd replay` killed with
//! SIGKILL at random points, verified, and resumed.
//!
//! `TRAIDER_CRASH_KILLS` sets the number of kills (default 200); `TRAIDER_CRASH_SEED` the
//! random seed (default fixed, printed).
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use traider_testkit::daemon as common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Kills before a journal is resumed to the end. With [`MAX_RATE`] a whole run of the
/// session's 1,032 inputs takes about a second of wall time on any machine, and a kill comes
/// 20-320 ms after the start, so five kills rarely reach the end of the capture.
const KILLS_PER_JOURNAL: usize = 5;
/// Inputs per second the killed replays are fed at (`--max-rate`).
const MAX_RATE: &str = "1000";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A replay config with small segments, so kills also land around segment rolls.
fn crash_config(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(config("replay.toml"))
        .expect("config/replay.toml is readable")
        .replacen("segment_mb = 256", "segment_mb = 1", 1);
    let path = dir.join("crash.toml");
    std::fs::write(&path, text).expect("crash config is writable");
    path
}

fn verify(dir: &Path) -> (i32, String) {
    let output = traiderd()
        .args(["journal", "verify"])
        .arg(dir)
        .output()
        .expect("traiderd journal verify runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

// Proves the journal survives SIGKILL anywhere: after each kill `journal verify` passes or
// reports only a torn tail; resuming (restart by replay) always ends with the same state
// digest, positions and P&L as an uninterrupted run, byte-identical journal segments, and
// no client order id decided twice.
#[test]
fn sigkill_anywhere_then_resume_matches_an_uninterrupted_run() {
    let capture = capture();
    let kills = env_u64("TRAIDER_CRASH_KILLS", 200) as usize;
    let seed = env_u64("TRAIDER_CRASH_SEED", 0x7ade_2026);
    println!("crash test: {kills} kills, seed {seed:#x}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let config = crash_config(dir.path());

    let reference_dir = dir.path().join("reference");
    let reference = summary(&replay(&config, &capture, &reference_dir));
    let reference_files = journal_files(&reference_dir);
    assert!(
        reference_files.len() > 3,
        "1 MiB segments make the journal roll"
    );

    let (mut killed_mid_stream, mut torn_tails) = (0, 0);
    for journal in 0..kills.div_ceil(KILLS_PER_JOURNAL) {
        let journal_dir = dir.path().join(format!("j{journal}"));
        for _ in 0..KILLS_PER_JOURNAL {
            let mut child = traiderd()
                .args(["replay", "--json", "--max-rate", MAX_RATE, "--config"])
                .arg(&config)
                .arg("--capture")
                .arg(&capture)
                .arg("--journal-dir")
                .arg(&journal_dir)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(rng.u64(20..320)));
            let finished = child.try_wait().unwrap().is_some();
            let _ = child.kill(); // SIGKILL
            child.wait().unwrap();
            killed_mid_stream += usize::from(!finished);
            if !journal_dir.join("seg-000000.tj").exists() {
                continue;
            }
            let (code, text) = verify(&journal_dir);
            assert!(
                code == 0 || code == 2,
                "after a kill, verify must pass or report a torn tail: {text}"
            );
            torn_tails += usize::from(code == 2);
        }
        let resumed = summary(&replay(&config, &capture, &journal_dir));
        for key in [
            "state_digest",
            "positions",
            "pnl",
            "orders",
            "fills",
            "books",
        ] {
            assert_eq!(
                resumed[key], reference[key],
                "journal {journal}: {key} after resuming"
            );
        }
        let files = journal_files(&journal_dir);
        assert_eq!(
            files.len(),
            reference_files.len(),
            "journal {journal}: segment count"
        );
        for ((name, bytes), (_, expected)) in files.iter().zip(&reference_files) {
            assert!(
                bytes == expected,
                "journal {journal}: {name} differs from the uninterrupted run"
            );
        }
        let ids: Vec<Value> = dump(&journal_dir)
            .into_iter()
            .filter(|r| r["kind"] == "order_new")
            .map(|r| r["detail"]["client_order_id"].clone())
            .collect();
        let unique: BTreeSet<String> = ids.iter().map(Value::to_string).collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "journal {journal}: a client order id was decided twice"
        );
    }
    println!(
        "crash test: {killed_mid_stream} of {kills} kills landed mid-run, {torn_tails} left a torn tail"
    );
    assert!(
        killed_mid_stream * 2 >= kills,
        "most kills must land while the replay runs"
    );
}
