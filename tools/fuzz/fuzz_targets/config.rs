// Proves: no TOML text makes the daemon's config loading panic: `DaemonConfig::parse` and
// `validate` (engine settings, live section, admin section with its tokens and TOTP
// secrets), or an `[admin]` section alone; every fault is a `ConfigError` naming a field,
// and a config that validates yields its derived settings without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traider_fuzz_kit::layout::config::{ADMIN, DAEMON};
use traiderd::config::DaemonConfig;
use traiderd::config::admin::AdminConfig;

fn daemon(text: &str) {
    let config = match DaemonConfig::parse(text) {
        Ok(config) => config,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    match config.validate() {
        Ok(()) => {
            let settings = config.engine_settings();
            assert!(
                settings.validate().is_ok(),
                "validate passed, settings must too"
            );
            let _ = (config.product_ids(), config.levels_per_frame_max());
            let _ = (config.simulated(), settings.global_limits());
            if let Some(admin) = &config.admin {
                assert!(admin.authenticator().is_ok(), "validated tokens build");
            }
        }
        Err(error) => assert!(!error.to_string().is_empty(), "an error names its field"),
    }
}

fn admin(text: &str) {
    let Ok(config) = toml::from_str::<AdminConfig>(text) else {
        return;
    };
    if config.validate().is_ok() {
        let _ = (config.tls(), config.totp_policy());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match kind & 1 {
        DAEMON => daemon(text),
        ADMIN => admin(text),
        _ => {}
    }
});
