//! The `--state-file`: the venue's ledger (orders, client order ids, fills, balances,
//! counters, the clock position) as one JSON document, replaced atomically (write a
//! temporary file beside it, then rename) on every change, so a killed sim restarted with
//! the same file forgets nothing. A file that does not parse is an error, never a panic and
//! never silently a fresh venue.
//!
//! Called under the venue lock, so saves happen in the order of the changes.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::venue::Ledger;

/// Format tag of the state file.
const FORMAT: &str = "traider-coinbase-sim-state/1";

#[derive(serde::Serialize)]
struct FileRef<'a> {
    format: &'a str,
    ledger: &'a Ledger,
}

#[derive(serde::Deserialize)]
struct FileOwned {
    format: String,
    ledger: Ledger,
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `ledger` to `path` atomically.
pub(crate) fn save(path: &Path, ledger: &Ledger) -> std::io::Result<()> {
    let text = serde_json::to_vec(&FileRef {
        format: FORMAT,
        ledger,
    })
    .map_err(std::io::Error::other)?;
    let tmp = temporary(path);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&text)?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// The ledger saved at `path`, or `None` if there is no file.
pub(crate) fn load(path: &Path) -> anyhow::Result<Option<Ledger>> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(anyhow::anyhow!("reading {}: {error}", path.display())),
    };
    let file: FileOwned = serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("state file {} does not parse: {e}", path.display()))?;
    anyhow::ensure!(
        file.format == FORMAT,
        "state file {} has format {:?}, expected {FORMAT:?}",
        path.display(),
        file.format
    );
    Ok(Some(file.ledger))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_ledger_loads_back_and_junk_is_an_error() {
        // Proves save/load round-trips a ledger (i128 balances included), leaves no
        // temporary file, treats a missing file as none and a corrupt one as an error.
        let dir = tempfile_dir();
        let path = dir.join("state.json");
        assert!(load(&path).expect("missing is fine").is_none());
        let mut ledger = Ledger::default();
        ledger
            .balances
            .insert("USD".into(), 100_000 * 10_i128.pow(24));
        ledger.by_client_id.insert("c1".into(), "o1".into());
        ledger.clock_elapsed_ns = 42;
        save(&path, &ledger).expect("saves");
        assert!(!temporary(&path).exists());
        let loaded = load(&path).expect("loads").expect("present");
        assert_eq!(loaded.balances, ledger.balances);
        assert_eq!(
            (loaded.by_client_id, loaded.clock_elapsed_ns),
            (ledger.by_client_id, 42)
        );
        std::fs::write(&path, b"{\"format\":").expect("write");
        assert!(load(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sim-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }
}
