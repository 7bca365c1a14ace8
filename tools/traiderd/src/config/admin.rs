//! `[admin]`: where the endpoint listens, its TLS certificate, and who may call it.
//!
//! ```toml
//! [admin]
//! listen = "127.0.0.1:9464"       # plain HTTP is allowed on loopback only
//! # tls_cert = "/etc/traider/admin.crt"   # PEM chain; with tls_key, serves HTTPS
//! # tls_key = "/etc/traider/admin.key"
//! totp_failures_max = 5           # failed TOTP codes before a lockout
//! totp_lockout_s = 300
//! metrics_public = false          # true: /metrics without a token
//! command_wait_ms = 2000          # how long a command waits for the engine's outcome
//!
//! [[admin.tokens]]                # `traiderctl token new` prints these lines
//! name = "alice"
//! role = "admin"                  # viewer | operator | admin
//! sha256 = "<hex digest of the token>"
//! totp_secret = "<base32>"        # admins only (resume, raising limits, enabling)
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use traider_core::config::ConfigError;

use traider_admin_api::auth::{Authenticator, TokenConfig, TotpPolicy};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Overridden by `TRAIDER_ADMIN_LISTEN`.
    pub listen: SocketAddr,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    #[serde(default = "default_totp_failures_max")]
    pub totp_failures_max: u32,
    #[serde(default = "default_totp_lockout_s")]
    pub totp_lockout_s: u64,
    #[serde(default)]
    pub metrics_public: bool,
    #[serde(default = "default_command_wait_ms")]
    pub command_wait_ms: u64,
}

fn default_totp_failures_max() -> u32 {
    5
}
fn default_totp_lockout_s() -> u64 {
    300
}
fn default_command_wait_ms() -> u64 {
    2_000
}

impl AdminConfig {
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
    }

    pub fn totp_policy(&self) -> TotpPolicy {
        TotpPolicy {
            failures_max: self.totp_failures_max,
            lockout: Duration::from_secs(self.totp_lockout_s),
        }
    }

    /// The tokens and policy, checked; the error names the entry.
    pub fn authenticator(&self) -> Result<Authenticator, ConfigError> {
        Authenticator::new(&self.tokens, self.totp_policy()).map_err(|e| {
            let text = e.to_string();
            match text.split_once(": ") {
                Some((field, message)) => ConfigError::new(field, message),
                None => ConfigError::new("admin.tokens", text),
            }
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                return Err(ConfigError::new("admin.tls_key", "needed with tls_cert"));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new("admin.tls_cert", "needed with tls_key"));
            }
            _ => {}
        }
        if !self.tls() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::new(
                "admin.listen",
                format!(
                    "{} is not a loopback address: serve it over TLS (admin.tls_cert and admin.tls_key) or listen on 127.0.0.1",
                    self.listen
                ),
            ));
        }
        if self.command_wait_ms > 60_000 {
            return Err(ConfigError::new("admin.command_wait_ms", "at most 60000"));
        }
        self.authenticator().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AdminConfig, String> {
        let config: AdminConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    // Proves plain HTTP is refused off loopback, TLS needs both files, and a bad token entry
    // is named by its field.
    #[test]
    fn listen_tls_and_tokens_are_checked() {
        assert!(parse("listen = \"127.0.0.1:9464\"").is_ok());
        let open = parse("listen = \"0.0.0.0:9464\"").expect_err("plain off loopback");
        assert!(
            open.contains("admin.listen") && open.contains("TLS"),
            "{open}"
        );
        assert!(parse("listen = \"0.0.0.0:9464\"\ntls_cert = \"a\"\ntls_key = \"b\"").is_ok());
        let half = parse("listen = \"127.0.0.1:1\"\ntls_cert = \"a\"").expect_err("half TLS");
        assert!(half.contains("admin.tls_key"), "{half}");
        let bad = parse(
            "listen = \"127.0.0.1:1\"\n[[tokens]]\nname = \"x\"\nrole = \"viewer\"\nsha256 = \"zz\"",
        )
        .expect_err("bad digest");
        assert!(bad.contains("admin.tokens[0].sha256"), "{bad}");
    }
}
