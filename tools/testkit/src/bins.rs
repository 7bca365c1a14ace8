//! The workspace's binaries, for tests in any crate: `traiderd`, `traiderctl`,
//! `coinbase-replay` and `coinbase-sim`.
//!
//! Cargo hands a test the path of its own package's binaries only (`CARGO_BIN_EXE_*` at
//! compile time), and the daemon, its CLI and the stand-ins are separate packages. `cargo test
//! --workspace` (the README's test command) builds every binary into the target directory
//! before any test runs, so the kit takes them from there. A binary older than a source file
//! of the workspace (a `cargo test -p traiderd` after editing the stand-ins, say) is stale:
//! only then does the kit run `cargo build` for it, in the profile and target directory the
//! test was built in, so a test never runs an old binary and the usual run never builds twice.
//! (A nested `cargo build` of one package resolves dependency features for that package alone,
//! which rebuilds much of the dependency graph: minutes, not seconds.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

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

    /// The binary's path; built by cargo first when it is missing or older than a source of
    /// the workspace (checked once per test process).
    pub fn path(self) -> PathBuf {
        static CHECKED: OnceLock<Mutex<Vec<Bin>>> = OnceLock::new();
        let (target_dir, profile_dir) = build_dirs();
        let path = target_dir.join(profile_dir).join(self.name());
        let mut checked = CHECKED
            .get_or_init(|| Mutex::new(Vec::new()))
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !checked.contains(&self) {
            if !is_fresh(&path) {
                build(self, &target_dir, profile_dir);
            }
            checked.push(self);
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

/// True when `binary` exists and no source a binary is built from (the crates' `src/`, every
/// `Cargo.toml`, `Cargo.lock`) changed after it was written. Tests, benches, the kit and the
/// fuzz targets are not sources of any binary.
fn is_fresh(binary: &Path) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else {
        return false;
    };
    let root = crate::data::workspace();
    let mut newest = SystemTime::UNIX_EPOCH;
    newest = newest.max(modified(&root.join("Cargo.toml")));
    newest = newest.max(modified(&root.join("Cargo.lock")));
    for krate in [
        "core",
        "journal",
        "gateways",
        "tools/admin-api",
        "tools/traiderd",
        "tools/traiderctl",
        "tools/standins",
    ] {
        newest = newest.max(modified(&root.join(krate).join("Cargo.toml")));
        newest = newest.max(newest_in(&root.join(krate).join("src")));
    }
    newest <= built
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The newest modification time of a file under `dir`.
fn newest_in(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return newest;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_in(&path)
        } else {
            modified(&path)
        };
        newest = newest.max(time);
    }
    newest
}

fn build(bin: Bin, target_dir: &Path, profile_dir: &str) {
    // `cargo test` builds with the `test` profile (into target/debug) and `cargo test
    // --release` with `bench` (into target/release): build the binary the same way.
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
