//! Fixtures several crates' tests share: the recorded BTC-USD product's format, CDP key
//! files, and exact decimal arithmetic on the venue's decimal strings.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use traider_core::num::Increment;
use traider_gateways::coinbase::orders::ProductFormat;

/// BTC-USD as the recorded products list has it: price increment 0.01, base 0.00000001.
pub fn btc() -> ProductFormat {
    ProductFormat {
        product_id: "BTC-USD".into(),
        price_increment: Increment::parse("0.01").expect("increment"),
        base_increment: Increment::parse("0.00000001").expect("increment"),
    }
}

/// A fresh Ed25519 CDP key's JSON, `{"name", "privateKey"}` (a random seed each call: no
/// key material lives in the repository).
pub fn ed25519_key_json(name: &str) -> serde_json::Value {
    let mut rng = fastrand::Rng::new();
    let seed: Vec<u8> = (0..32).map(|_| rng.u8(..)).collect();
    let secret = base64::engine::general_purpose::STANDARD.encode(seed);
    serde_json::json!({"name": name, "privateKey": secret})
}

/// Writes `json` as `dir/cdp_api_key.json` with file mode `mode`; returns its path.
pub fn write_key_file(dir: &Path, json: &serde_json::Value, mode: u32) -> PathBuf {
    let path = dir.join("cdp_api_key.json");
    std::fs::write(&path, json.to_string()).expect("key file written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// A fresh Ed25519 CDP key file of mode 600 (the only mode the daemon and the sim accept).
pub fn ed25519_key_file(dir: &Path, name: &str) -> PathBuf {
    write_key_file(dir, &ed25519_key_json(name), 0o600)
}

/// A decimal text as (its digits as an integer, digits after the point), exactly as
/// written: `"1.50"` is `(150, 2)`.
pub fn decimal(text: &str) -> (i128, u32) {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{whole}{fraction}");
    let value = digits
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} is not a decimal: {e}"));
    (value, fraction.len() as u32)
}

/// A decimal text as (integer units, scale), trailing zeros ignored: `"1.50"` is `(15, 1)`.
pub fn units(text: &str) -> (i128, u32) {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    decimal(&format!("{whole}.{}", fraction.trim_end_matches('0')))
}

/// A decimal text in units of 10^-`scale`; fails if the text is finer than that.
pub fn at_scale(text: &str, scale: u32) -> i128 {
    let (value, s) = units(text);
    assert!(s <= scale, "{text} is finer than 10^-{scale}");
    value * 10_i128.pow(scale - s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_exactly() {
        // Proves the decimal helpers keep every digit: as written, trailing zeros dropped,
        // and rescaled, negative values included.
        assert_eq!(decimal("1.50"), (150, 2));
        assert_eq!(decimal("7"), (7, 0));
        assert_eq!(units("1.50"), (15, 1));
        assert_eq!(units("-0.00012300"), (-123, 6));
        assert_eq!(units("20"), (20, 0));
        assert_eq!(at_scale("65083.66", 8), 6_508_366_000_000);
        assert_eq!(at_scale("-1.5", 2), -150);
    }
}
