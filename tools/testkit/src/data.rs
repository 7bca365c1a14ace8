//! Where the workspace and the recorded Coinbase session are.
//!
//! The session lives outside the repository (`shared/data`, see its SOURCES.md): under
//! `$TRAIDER_DATA_DIR` when set, else `../shared/data` beside the workspace. A test that needs
//! it and does not find it fails, naming `TRAIDER_DATA_DIR`: a missing capture is never a
//! silent pass.

use std::path::PathBuf;
use traider_gateways::capture::{DATA_DIR_ENV, RECORDED_SESSION, recorded_session};

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A config file of the workspace's `config/` directory.
pub fn config(name: &str) -> PathBuf {
    workspace().join("config").join(name)
}

/// The recorded session (a cryptofeed capture, `.jsonl.zst`). Panics, naming
/// `TRAIDER_DATA_DIR`, when it is not there.
pub fn capture() -> PathBuf {
    recorded_session(&workspace()).unwrap_or_else(|| panic!("{}", missing_capture()))
}

/// Why [`capture`] found nothing, naming `TRAIDER_DATA_DIR` and where it looked: the one
/// message every test and bench that needs the session fails with.
pub fn missing_capture() -> String {
    let looked = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => format!("${DATA_DIR_ENV} is {}", PathBuf::from(dir).display()),
        None => format!(
            "${DATA_DIR_ENV} is not set, so it looked in ../shared/data beside the workspace \
             ({})",
            workspace().display()
        ),
    };
    format!(
        "the recorded Coinbase session is missing: this needs {RECORDED_SESSION} under \
         ${DATA_DIR_ENV} (set it to the shared data directory); {looked}"
    )
}

/// The capture's lines, decompressed.
pub fn capture_lines() -> Vec<String> {
    let bytes = std::fs::read(capture()).expect("capture readable");
    let text = zstd::decode_all(&bytes[..]).expect("capture is zstd");
    String::from_utf8(text)
        .expect("capture is UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}
