//! What the fuzz targets (`tools/fuzz/fuzz_targets/`) and the seeding step (`seed`) share:
//! how each target reads its input, and the hand-written fixtures both sides need.
//!
//! A target whose input picks one of several decoders takes the choice from its first byte
//! (a selector); the seed step writes the same selector in front of each seed, so the two
//! must agree, and this module is the one place that says how. Runs on no daemon thread:
//! only fuzz binaries and the seed binary link it. Holds no recorded data: the recorded
//! Coinbase session is read at run time by `seed` and never copied into the repository.

#![deny(unsafe_code)]

pub mod layout;

/// The configured products, in the order of config/paper.toml (index = `InstrumentId`).
pub const PRODUCT_IDS: [&str; 2] = ["BTC-USD", "ETH-USD"];

/// A products response for the two configured products, with the venue's increments and
/// limits (hand-written in the documented shape, as core/tests/support does it): the
/// market-data target loads it so frames for BTC-USD and ETH-USD reach the level parsers.
pub const PRODUCTS_BODY: &str = concat!(
    r#"{"products":["#,
    r#"{"product_id":"BTC-USD","price":"65083.66","base_increment":"0.00000001","#,
    r#""quote_increment":"0.01","price_increment":"0.01","base_min_size":"0.00000001","#,
    r#""base_max_size":"3400","quote_min_size":"1","quote_max_size":"150000000","#,
    r#""status":"online","trading_disabled":false,"cancel_only":false,"limit_only":false,"#,
    r#""post_only":false,"is_disabled":false,"view_only":false},"#,
    r#"{"product_id":"ETH-USD","price":"1919.28","base_increment":"0.00000001","#,
    r#""quote_increment":"0.01","price_increment":"0.01","base_min_size":"0.00000001","#,
    r#""base_max_size":"42000","quote_min_size":"1","quote_max_size":"100000000","#,
    r#""status":"online","trading_disabled":false,"cancel_only":false,"limit_only":false,"#,
    r#""post_only":false,"is_disabled":false,"view_only":false}"#,
    r#"],"num_products":2}"#
);

/// Bearer tokens of the admin targets' authenticator (test-shaped, like
/// tools/admin-api/src/auth.rs's tests): `(name, role, token, totp secret)`.
pub const ADMIN_TOKENS: [(&str, &str, &str, Option<&str>); 3] = [
    ("watcher", "viewer", "tok-viewer", None),
    ("desk.ops", "operator", "tok-operator", None),
    ("root_1", "admin", "tok-admin", Some(TOTP_SECRET)),
];

/// RFC 6238 Appendix B's SHA1 seed in base32 (the auth tests' secret).
pub const TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// The admin targets' clock (UNIX seconds): fixed, so a run is reproducible.
pub const ADMIN_NOW_S: u64 = 1_786_309_548;
