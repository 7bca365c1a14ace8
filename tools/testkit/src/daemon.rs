//! Starting the daemon and the replay stand-in as processes, and reading what they leave.
#![allow(clippy::unwrap_used)] // test support: a failed unwrap is a failed test

use crate::bins::Bin;
pub use crate::data::{capture, capture_lines, config, workspace};
use crate::watch::{Exits, LogLines};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write capture");
}

pub fn traiderd() -> Command {
    Bin::Traiderd.command()
}

/// `traiderd replay --json` of `capture` with `config`, journaling into `journal`.
pub fn replay(config: &Path, capture: &Path, journal: &Path) -> Output {
    traiderd()
        .args(["replay", "--json", "--config"])
        .arg(config)
        .arg("--capture")
        .arg(capture)
        .arg("--journal-dir")
        .arg(journal)
        .env("RUST_LOG", "warn")
        .output()
        .expect("traiderd runs")
}

pub fn summary(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "traiderd failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// Every file of a journal directory, by name, for byte comparison.
pub fn journal_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("journal dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tj"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// `traiderd journal dump --json DIR`, parsed.
pub fn dump(dir: &Path) -> Vec<serde_json::Value> {
    let output = traiderd()
        .args(["journal", "dump", "--json"])
        .arg(dir)
        .output()
        .expect("dump runs");
    assert!(
        output.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("dump line is JSON"))
        .collect()
}

impl Exits for Proc {
    fn has_exited(&mut self) -> bool {
        self.0
            .as_mut()
            .is_none_or(|child| child.try_wait().is_ok_and(|status| status.is_some()))
    }
}

/// A process killed when dropped (so a failing test leaves nothing running).
pub struct Proc(Option<std::process::Child>);

impl Proc {
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    /// Whether the process has exited (it is not reaped: its output can still be read).
    pub fn has_exited(&mut self) -> bool {
        Exits::has_exited(self)
    }

    /// Its stderr (piped), read line by line on a thread from now on.
    pub fn log_lines(&mut self) -> LogLines {
        let stderr = self.0.as_mut().and_then(|child| child.stderr.take());
        LogLines::follow(stderr.expect("stderr piped and not taken yet"))
    }

    /// The child, no longer killed on drop.
    pub fn into_child(mut self) -> std::process::Child {
        self.0.take().expect("child present until taken")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `coinbase-replay` on a free loopback port; returns it and the port.
pub fn start_replay_server(capture: &Path, extra: &[&str]) -> (Proc, u16) {
    use std::io::BufRead;
    let mut child = Bin::CoinbaseReplay
        .command()
        .arg("--capture")
        .arg(capture)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("coinbase-replay starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("replay server prints its address");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (Proc(Some(child)), port)
}

/// Starts a `coinbase-sim` process (`sim`: the binary's command, with any environment and
/// stderr set up by the caller; `RUST_LOG=warn` unless set) with the key file `key`,
/// replaying `capture`, with `extra` flags; returns it and the `127.0.0.1:PORT` it printed.
pub fn start_sim(sim: Command, capture: &Path, key: &Path, extra: &[&str]) -> (Proc, String) {
    use std::io::BufRead;
    let mut command = sim;
    if !command.get_envs().any(|(name, _)| name == "RUST_LOG") {
        command.env("RUST_LOG", "warn");
    }
    let mut child = command
        .arg("--capture")
        .arg(capture)
        .arg("--key-file")
        .arg(key)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("coinbase-sim starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the sim prints its address");
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (Proc(Some(child)), addr)
}

/// A paper config for tests: no pinning, yielding wait, the given strategy overrides.
pub fn test_paper_config(dir: &Path, replacements: &[(&str, &str)]) -> PathBuf {
    test_config("paper.toml", dir, replacements)
}

/// One of the shipped configs made fit for tests (no pinning, yielding wait), with
/// `replacements` applied; each must match.
pub fn test_config(name: &str, dir: &Path, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(config(name)).unwrap();
    // No pinning or spinning on a shared test machine, and an admin endpoint on a free port
    // (tests run daemons side by side).
    text = text
        .replace("pin_core = 1", "# pin_core = 1")
        .replace("wait = \"spin\"", "wait = \"yield\"")
        .replace("listen = \"127.0.0.1:9464\"", "listen = \"127.0.0.1:0\"")
        .replace("listen = \"127.0.0.1:9465\"", "listen = \"127.0.0.1:0\"");
    for (from, to) in replacements {
        assert!(text.contains(from), "{name} has {from:?}");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(format!("test-{name}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `traiderd run` against a local venue on `port`, journaling into `journal`.
pub fn start_daemon(config: &Path, port: u16, journal: &Path) -> Proc {
    let child = traiderd()
        .args(["run", "--json", "--config"])
        .arg(config)
        .arg("--journal-dir")
        .arg(journal)
        .env("TRAIDER_WS_URL", format!("ws://127.0.0.1:{port}"))
        .env("TRAIDER_REST_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("traiderd starts");
    Proc(Some(child))
}

/// Sends SIGINT (Ctrl-C) and waits for the process; returns its output.
pub fn interrupt(proc: Proc) -> Output {
    let status = Command::new("kill")
        .args(["-INT", &proc.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    proc.into_child().wait_with_output().expect("daemon exits")
}

/// Wraps a started child so it is killed if the test fails.
pub fn proc_of(child: std::process::Child) -> Proc {
    Proc(Some(child))
}
