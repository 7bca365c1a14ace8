//! The workspace's binaries, for tests in any crate: `traiderd`, `traiderctl`,
//! `coinbase-replay` and `coinbase-sim`.
//!
//! Cargo hands a test the path of its own package's binaries only (`CARGO_BIN_EXE_*` at
//! compile time), and the daemon, its CLI and the stand-ins are separate packages. So the kit
//! asks cargo itself: the first time a test process wants a binary, it runs `cargo build`
//! for it, in the profile and target directory the test was built in, and uses what cargo
//! built. Under `cargo test --workspace` every binary is already built and this is a no-op
//! (well under a second); under `cargo test -p traiderd` it builds what is missing or stale,
//! so a test never runs an old binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A binary of the workspace and the package that builds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Traiderd,
    Traiderctl,
    CoinbaseReplay,
    CoinbaseSim,
}

impl Bin {
    pub fn name(self) -> &'static str {
        match self {
            Bin::Traiderd => "traiderd",
            Bin::Traiderctl => "traiderctl",
            Bin::CoinbaseReplay => "coinbase-replay",
            Bin::CoinbaseSim => "coinbase-sim",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Bin::Traiderd => "traiderd",
            Bin::Traiderctl => "traiderctl",
            Bin::CoinbaseReplay | Bin::CoinbaseSim => "traider-standins",
        }
    }

    /// The binary's path, built (or checked fresh) by cargo on first use in this process.
    pub fn path(self) -> PathBuf {
        static BUILT: OnceLock<Mutex<Vec<Bin>>> = OnceLock::new();
        let (target_dir, profile_dir) = build_dirs();
        let path = target_dir.join(profile_dir).join(self.name());
        let mut built = BUILT
            .get_or_init(|| Mutex::new(Vec::new()))
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !built.contains(&self) {
            build(self, &target_dir, profile_dir);
            built.push(self);
        }
        assert!(
            path.is_file(),
            "cargo built {} but it is not at {}",
            self.name(),
            path.display()
        );
        path
    }

    /// A command that runs the binary.
    pub fn command(self) -> Command {
        Command::new(self.path())
    }
}

/// The target directory and the profile's directory (`debug` or `release`) this test binary
/// was built into: it runs as `<target>/<profile>/deps/<test>-<hash>`.
fn build_dirs() -> (PathBuf, &'static str) {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary lives in <target>/<profile>/deps");
    let target_dir = profile_dir
        .parent()
        .expect("a profile directory lives in the target directory")
        .to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => "release",
        _ => "debug",
    };
    (target_dir, profile)
}

fn build(bin: Bin, target_dir: &Path, profile_dir: &str) {
    // `cargo test` builds with the `test` profile (into target/debug) and `cargo test
    // --release` with `bench` (into target/release): build the binary the same way, so the
    // artifacts are the ones the test run already has.
    let profile = if profile_dir == "release" {
        "bench"
    } else {
        "test"
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(crate::data::workspace())
        .args([
            "build",
            "--quiet",
            "--profile",
            profile,
            "-p",
            bin.package(),
        ])
        .args(["--bin", bin.name(), "--target-dir"])
        .arg(target_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {}: {e}", bin.name()));
    assert!(
        output.status.success(),
        "cargo build of {} failed:\n{}",
        bin.name(),
        String::from_utf8_lossy(&output.stderr)
    );
}
