//! The offline commands: `token new` makes a bearer token (and, for an admin, a TOTP secret)
//! with the lines that configure it in the daemon; `totp` prints the current code for a
//! secret kept in a file.
//!
//! The digest comes from [`token_sha256_hex`], the codes from [`totp_code`] and the entry
//! is checked by the daemon's own [`Authenticator::new`] before anything is printed, so
//! what `token new` prints is what the daemon accepts. The token and secret are printed
//! once and never kept; `Debug` redacts them.

use super::error::CtlError;
use serde_json::{Value, json};
use std::fmt;
use std::path::Path;
use totp_rs::Secret;
use traider_admin_api::auth::{
    AuthConfigError, Authenticator, Role, TokenConfig, TotpPolicy, token_sha256_hex, totp_code,
};

/// Random bytes in a token (hex-encoded, so 64 characters).
pub const TOKEN_BYTES: usize = 32;
/// Random bytes in an admin's TOTP secret (RFC 4226's recommended 160 bits).
pub const TOTP_SECRET_BYTES: usize = 20;
/// The issuer authenticator apps show.
const ISSUER: &str = "TRAIDER";

/// A freshly made identity: the token to hand out and what the daemon's config needs.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    /// The bearer token itself (64 lower-case hex characters).
    pub token: String,
    /// [`token_sha256_hex`] of `token`.
    pub sha256: String,
    /// RFC 4648 base32 without padding; admins only.
    pub totp_secret: Option<String>,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl NewToken {
    /// A new token (and TOTP secret for an admin) from the operating system's RNG.
    pub fn generate(name: &str, role: Role) -> Result<Self, CtlError> {
        let mut token_bytes = [0u8; TOKEN_BYTES];
        let mut secret_bytes = [0u8; TOTP_SECRET_BYTES];
        for bytes in [&mut token_bytes[..], &mut secret_bytes[..]] {
            getrandom::fill(bytes).map_err(|e| CtlError::Random {
                reason: e.to_string(),
            })?;
        }
        Self::from_random(name, role, &token_bytes, &secret_bytes)
    }

    /// The entry made from given random bytes (`secret_bytes` are used for admins only).
    /// A name the daemon would refuse is [`CtlError::TokenName`].
    pub fn from_random(
        name: &str,
        role: Role,
        token_bytes: &[u8; TOKEN_BYTES],
        secret_bytes: &[u8; TOTP_SECRET_BYTES],
    ) -> Result<Self, CtlError> {
        let token: String = token_bytes.iter().map(|b| format!("{b:02x}")).collect();
        let sha256 = token_sha256_hex(&token);
        let secret = (role == Role::Admin).then(|| Secret::from(&secret_bytes[..]).to_base32());
        let new = Self {
            name: name.to_string(),
            role,
            token,
            sha256,
            totp_secret: secret,
        };
        check_entry(&new.config())?;
        Ok(new)
    }

    /// The entry as the daemon reads it from `[[admin.tokens]]`.
    pub fn config(&self) -> TokenConfig {
        TokenConfig {
            name: self.name.clone(),
            role: self.role,
            sha256: self.sha256.clone(),
            totp_secret: self.totp_secret.clone(),
        }
    }

    /// The lines to paste into the daemon's config.
    pub fn config_toml(&self) -> String {
        let mut lines = vec![
            "[[admin.tokens]]".to_string(),
            format!("name = \"{}\"", self.name),
            format!("role = \"{}\"", self.role),
            format!("sha256 = \"{}\"", self.sha256),
        ];
        if let Some(secret) = &self.totp_secret {
            lines.push(format!("totp_secret = \"{secret}\""));
        }
        lines.join("\n")
    }

    /// The `otpauth://` URI an authenticator app imports (admins only). The name is
    /// [A-Za-z0-9_.-] and the secret base32, so neither needs escaping.
    pub fn otpauth_uri(&self) -> Option<String> {
        let secret = self.totp_secret.as_ref()?;
        Some(format!(
            "otpauth://totp/{ISSUER}:{}?secret={secret}&issuer={ISSUER}\
             &algorithm=SHA1&digits=6&period=30",
            self.name
        ))
    }

    /// `--json`: the token, its digest, the secret and the URI (null for non-admins).
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "role": self.role,
            "token": self.token,
            "sha256": self.sha256,
            "totp_secret": self.totp_secret,
            "otpauth_uri": self.otpauth_uri(),
        })
    }

    /// The human output: the token once with its warning, the config lines, the URI.
    pub fn render(&self) -> String {
        let mut out = format!(
            "New {} token for {}. It is shown only this once and stored nowhere:\n\
             keep it in a file only you can read (chmod 600) and pass --token-file.\n\n\
             {}\n\n\
             Add to the daemon's config:\n\n{}\n",
            self.role,
            self.name,
            self.token,
            self.config_toml()
        );
        if let Some(uri) = self.otpauth_uri() {
            out.push_str(&format!(
                "\nAdd the TOTP secret to an authenticator app (also shown only once):\n\n{uri}\n"
            ));
        }
        out
    }
}

/// Whether the daemon would accept `name` for an identity: 1 to 24 characters of
/// [A-Za-z0-9_.-] (checked by the daemon's own code).
pub fn check_token_name(name: &str) -> Result<(), CtlError> {
    check_entry(&TokenConfig {
        name: name.to_string(),
        role: Role::Viewer,
        sha256: token_sha256_hex(""),
        totp_secret: None,
    })
}

/// The daemon's config check on one entry; only the name can be wrong in an entry made here.
fn check_entry(entry: &TokenConfig) -> Result<(), CtlError> {
    match Authenticator::new(std::slice::from_ref(entry), TotpPolicy::default()) {
        Ok(_) => Ok(()),
        Err(AuthConfigError::NameInvalid { .. }) => Err(CtlError::TokenName {
            name: entry.name.clone(),
        }),
        Err(other) => panic!("a token entry made by traiderctl is refused: {other}"),
    }
}

/// The 6-digit TOTP code at `unix_s` for the base32 secret in `path` (whitespace around it
/// trimmed).
pub fn totp_from_file(path: &Path, unix_s: u64) -> Result<String, CtlError> {
    let secret_error = |reason: &str| CtlError::SecretFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let bytes = std::fs::read(path).map_err(|e| secret_error(&e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| secret_error("not UTF-8 text"))?;
    totp_code(text.trim(), unix_s)
        .ok_or_else(|| secret_error("not a base32 TOTP secret of at least 10 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon's config file shape, to read `config_toml` back.
    #[derive(serde::Deserialize)]
    struct Config {
        admin: AdminSection,
    }

    #[derive(serde::Deserialize)]
    struct AdminSection {
        tokens: Vec<TokenConfig>,
    }

    fn parsed(toml_text: &str) -> TokenConfig {
        let mut config: Config = toml::from_str(toml_text).expect("valid TOML");
        assert_eq!(config.admin.tokens.len(), 1);
        config.admin.tokens.remove(0)
    }

    #[test]
    fn a_new_admin_token_is_accepted_by_the_daemon_and_its_secret_works() {
        // Proves the printed digest is token_sha256_hex of the printed token, the secret is
        // 20 bytes of base32 without padding that totp_code accepts, the TOML reads back as
        // the daemon's entry and the daemon authenticates the token and the TOTP code.
        let new = NewToken::generate("ops.admin-1", Role::Admin).expect("generated");
        assert_eq!(new.token.len(), 2 * TOKEN_BYTES);
        assert!(
            new.token
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(new.sha256, token_sha256_hex(&new.token));
        let secret = new.totp_secret.clone().expect("admins get a secret");
        assert!(!secret.contains('='), "no padding: {secret}");
        let decoded = Secret::try_from_base32(&secret).expect("base32");
        assert_eq!(decoded.as_bytes().len(), TOTP_SECRET_BYTES);
        assert!(totp_code(&secret, 1_700_000_000).is_some());
        let entry = parsed(&new.config_toml());
        assert_eq!(
            (entry.name.as_str(), entry.role, entry.sha256.as_str()),
            ("ops.admin-1", Role::Admin, new.sha256.as_str())
        );
        assert_eq!(entry.totp_secret.as_deref(), Some(secret.as_str()));
        let auth = Authenticator::new(&[entry], TotpPolicy::default()).expect("accepted");
        let identity = (auth.authenticate(Some(&format!("Bearer {}", new.token))))
            .expect("the printed token authenticates");
        assert_eq!(identity.role, Role::Admin);
        let now = 1_700_000_000;
        let code = totp_code(&secret, now).expect("code");
        assert_eq!(auth.verify_totp(&identity, Some(&code), now), Ok(()));
    }

    #[test]
    fn new_tokens_differ_and_only_admins_get_a_secret() {
        // Proves two generated tokens differ (the RNG is used) and viewers and operators get
        // neither a secret nor a URI.
        let a = NewToken::generate("a", Role::Operator).expect("generated");
        let b = NewToken::generate("a", Role::Operator).expect("generated");
        assert_ne!(a.token, b.token);
        for new in [a, NewToken::generate("v", Role::Viewer).expect("generated")] {
            assert_eq!(new.totp_secret, None);
            assert_eq!(new.otpauth_uri(), None);
            assert!(!new.config_toml().contains("totp_secret"));
            assert!(!new.render().contains("otpauth"));
            assert_eq!(parsed(&new.config_toml()).totp_secret, None);
        }
    }

    #[test]
    fn the_output_is_fixed_by_the_random_bytes() {
        // Proves the exact TOML, URI and JSON for known bytes (RFC 4648 base32 of 20 bytes
        // of 0x00 is 32 'A's).
        let new = NewToken::from_random("root", Role::Admin, &[0xab; 32], &[0; 20]).expect("valid");
        let token = "ab".repeat(32);
        let secret = "A".repeat(32);
        assert_eq!(new.token, token);
        assert_eq!(
            new.config_toml(),
            format!(
                "[[admin.tokens]]\nname = \"root\"\nrole = \"admin\"\nsha256 = \"{}\"\n\
                 totp_secret = \"{secret}\"",
                token_sha256_hex(&token)
            )
        );
        let uri = format!(
            "otpauth://totp/TRAIDER:root?secret={secret}&issuer=TRAIDER&algorithm=SHA1\
             &digits=6&period=30"
        );
        assert_eq!(new.otpauth_uri(), Some(uri.clone()));
        let json = new.to_json();
        assert_eq!(json["token"], token.as_str());
        assert_eq!(json["sha256"], token_sha256_hex(&token).as_str());
        assert_eq!(json["totp_secret"], secret.as_str());
        assert_eq!(json["otpauth_uri"], uri.as_str());
        let text = new.render();
        assert_eq!(text.matches(&token).count(), 1, "the token is printed once");
        assert!(text.contains("stored nowhere") && text.contains(&uri));
        assert!(!format!("{new:?}").contains(&token), "Debug is redacted");
    }

    #[test]
    fn names_are_validated_like_the_daemon_does() {
        // Proves 1 to 24 characters of [A-Za-z0-9_.-] pass and anything else is a usage
        // error, both for check_token_name and for making a token.
        for good in ["a", "ops.admin-1", "A_b.C-9", &"x".repeat(24)] {
            assert!(check_token_name(good).is_ok(), "{good}");
        }
        for bad in ["", &"x".repeat(25), "a b", "a\"b", "é", "a/b", "a:b", "a=b"] {
            let err = check_token_name(bad).expect_err(bad);
            assert_eq!(err.exit().code(), 2, "{bad}");
            let err = NewToken::generate(bad, Role::Admin).expect_err(bad);
            assert!(err.to_string().contains("[A-Za-z0-9_.-]"), "{err}");
        }
    }

    #[test]
    fn totp_from_file_matches_totp_code_and_refuses_bad_secrets() {
        // Proves the code printed for a secret file is totp_code's (whitespace trimmed), and
        // a missing file or a bad secret is an error naming the file.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("secret");
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        std::fs::write(&path, format!("{secret}\n")).expect("written");
        // RFC 6238 Appendix B: T = 59 → 94287082.
        assert_eq!(totp_from_file(&path, 59).expect("code"), "287082");
        std::fs::write(&path, "not base32!").expect("written");
        let err = totp_from_file(&path, 59).expect_err("bad secret");
        assert!(
            err.to_string().contains("not a base32 TOTP secret"),
            "{err}"
        );
        let err = totp_from_file(&dir.path().join("missing"), 59).expect_err("missing");
        assert_eq!(err.exit().code(), 1);
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
