//! Who may call the admin API, and what they may do: bearer tokens map to a named identity
//! with a [`Role`], and the sensitive commands (resume, raise-limit, enable) also need a
//! TOTP code (RFC 6238) from an identity that has a secret.
//!
//! Cold path only: runs on the admin endpoint's tokio thread, never on the hot thread.
//! Invariants: only SHA-256 digests of tokens are kept, and they are compared in constant
//! time against every entry; a TOTP step is accepted at most once per identity; time is
//! passed in (`now_unix_s`), never read here. No `Debug` output or error message carries a
//! token, a digest or a TOTP secret.

mod totp;

pub use totp::{TOTP_SECRET_BYTES_MIN, TotpPolicy, totp_code};

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use totp::TotpGuard;
use totp_rs::Totp;
use traider_core::admin::Refusal;

/// Names are journaled in a fixed 24-byte field.
pub const NAME_LEN_MAX: usize = 24;
/// Longer bearer tokens are malformed (bounds the hashing work per request).
const TOKEN_LEN_MAX: usize = 1024;

/// What an identity may do: the engine's own [`Role`] (viewer < operator < admin). A token
/// cannot carry [`Role::System`], the daemon's own.
pub use traider_core::admin::Role;

/// One `[[admin.tokens]]` entry of the daemon's config.
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the bearer token, 64 hex characters (see [`token_sha256_hex`]).
    pub sha256: String,
    /// Base32 (RFC 4648) TOTP secret; required for admins.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("sha256", &"<redacted>")
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A refused config; each names its entry as `admin.tokens[i].field`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    #[error("admin.tokens[{index}].name: must be 1 to {NAME_LEN_MAX} characters of [A-Za-z0-9_.-]")]
    NameInvalid { index: usize },
    #[error("admin.tokens[{index}].name: {name:?} is already admin.tokens[{index_first}].name")]
    NameDuplicate {
        index: usize,
        index_first: usize,
        name: String,
    },
    #[error("admin.tokens[{index}].sha256: must be exactly 64 hex characters")]
    Sha256Invalid { index: usize },
    #[error("admin.tokens[{index}].sha256: the same token as admin.tokens[{index_first}]")]
    Sha256Duplicate { index: usize, index_first: usize },
    #[error("admin.tokens[{index}].totp_secret: not valid base32 (RFC 4648)")]
    TotpSecretInvalid { index: usize },
    #[error(
        "admin.tokens[{index}].totp_secret: {bytes} bytes, at least {TOTP_SECRET_BYTES_MIN} needed"
    )]
    TotpSecretShort { index: usize, bytes: usize },
    #[error(
        "admin.tokens[{index}].role: \"system\" is the daemon's own role; use viewer, operator or admin"
    )]
    RoleSystem { index: usize },
    #[error("admin.tokens[{index}].totp_secret: required for role admin")]
    TotpSecretMissing { index: usize },
    #[error("TOTP policy: {reason}")]
    PolicyInvalid { reason: &'static str },
}

impl AuthConfigError {
    /// A config error stays until the file is fixed.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The caller behind a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

/// Why a request was refused, with its HTTP status ([`AuthError::status`]) and a stable
/// code for clients ([`AuthError::refusal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not \"Bearer <token>\"")]
    Malformed,
    #[error("unknown token")]
    Unknown,
    #[error("this needs role {needed}; the caller is {have}")]
    Forbidden { needed: Role, have: Role },
    #[error("this needs a TOTP code")]
    TotpRequired,
    #[error("this needs a TOTP code, and the caller has no TOTP secret configured")]
    TotpNotConfigured,
    #[error("wrong TOTP code")]
    TotpInvalid,
    #[error("this TOTP code was already used")]
    TotpReplayed,
    #[error("too many wrong TOTP codes; retry in {retry_after_s} s")]
    LockedOut { retry_after_s: u64 },
}

impl AuthError {
    pub fn status(self) -> u16 {
        match self {
            AuthError::Missing | AuthError::Malformed | AuthError::Unknown => 401,
            AuthError::Forbidden { .. }
            | AuthError::TotpRequired
            | AuthError::TotpNotConfigured
            | AuthError::TotpInvalid
            | AuthError::TotpReplayed => 403,
            AuthError::LockedOut { .. } => 429,
        }
    }

    /// What the journal's audit record and the API's error `code` call this refusal.
    pub fn refusal(self) -> Refusal {
        match self {
            AuthError::Missing => Refusal::TokenMissing,
            AuthError::Malformed => Refusal::TokenMalformed,
            AuthError::Unknown => Refusal::TokenUnknown,
            AuthError::Forbidden { .. } => Refusal::RoleForbidden,
            AuthError::TotpRequired => Refusal::TotpRequired,
            AuthError::TotpNotConfigured => Refusal::TotpNotConfigured,
            AuthError::TotpInvalid => Refusal::TotpInvalid,
            AuthError::TotpReplayed => Refusal::TotpReplayed,
            AuthError::LockedOut { .. } => Refusal::TotpLockedOut,
        }
    }
}

struct Entry {
    name: String,
    role: Role,
    digest: [u8; 32],
    totp: Option<Totp>,
}

/// Checks tokens, roles and TOTP codes against the configured entries. Share it with `Arc`.
pub struct Authenticator {
    entries: Vec<Entry>,
    totp_guard: TotpGuard,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identities: Vec<(&str, Role, bool)> = (self.entries.iter())
            .map(|e| (e.name.as_str(), e.role, e.totp.is_some()))
            .collect();
        f.debug_struct("Authenticator")
            .field("identities (name, role, has_totp)", &identities)
            .field("policy", &self.totp_guard.policy)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(tokens: &[TokenConfig], policy: TotpPolicy) -> Result<Self, AuthConfigError> {
        let totp_guard = TotpGuard::new(policy, tokens.len())?;
        let mut entries = Vec::with_capacity(tokens.len());
        let mut index_by_name: HashMap<&str, usize> = HashMap::new();
        let mut index_by_digest: HashMap<[u8; 32], usize> = HashMap::new();
        for (index, token) in tokens.iter().enumerate() {
            if !name_is_valid(&token.name) {
                return Err(AuthConfigError::NameInvalid { index });
            }
            if token.role == Role::System {
                return Err(AuthConfigError::RoleSystem { index });
            }
            if let Some(&index_first) = index_by_name.get(token.name.as_str()) {
                let name = token.name.clone();
                return Err(AuthConfigError::NameDuplicate {
                    index,
                    index_first,
                    name,
                });
            }
            index_by_name.insert(&token.name, index);
            let digest =
                parse_sha256_hex(&token.sha256).ok_or(AuthConfigError::Sha256Invalid { index })?;
            if let Some(&index_first) = index_by_digest.get(&digest) {
                return Err(AuthConfigError::Sha256Duplicate { index, index_first });
            }
            index_by_digest.insert(digest, index);
            let totp = match &token.totp_secret {
                Some(text) => Some(totp::parse_secret(text, index)?),
                None if token.role == Role::Admin => {
                    return Err(AuthConfigError::TotpSecretMissing { index });
                }
                None => None,
            };
            let (name, role) = (token.name.clone(), token.role);
            entries.push(Entry {
                name,
                role,
                digest,
                totp,
            });
        }
        Ok(Self {
            entries,
            totp_guard,
        })
    }

    /// `Authorization` header value → identity: "Bearer <token>" (scheme case-insensitive,
    /// one space); sha256(token) is compared in constant time against every configured
    /// digest (all of them, no early exit).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Identity, AuthError> {
        let token = parse_bearer(authorization.ok_or(AuthError::Missing)?)?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = Choice::from(0);
        let mut index_found = 0u32;
        for (index, entry) in self.entries.iter().enumerate() {
            let equal = entry.digest.as_slice().ct_eq(digest.as_slice());
            index_found.conditional_assign(&(index as u32), equal);
            found |= equal;
        }
        if !bool::from(found) {
            return Err(AuthError::Unknown);
        }
        let entry = &self.entries[index_found as usize];
        Ok(Identity {
            name: entry.name.clone(),
            role: entry.role,
        })
    }

    /// Whether `identity` may do what needs `needed`. The role checked is the one configured
    /// for `identity.name`; a name this authenticator does not know is `Unknown`.
    pub fn authorize(&self, identity: &Identity, needed: Role) -> Result<(), AuthError> {
        let have = self.entry_index(identity)?.1.role;
        if have < needed {
            return Err(AuthError::Forbidden { needed, have });
        }
        Ok(())
    }

    /// Second factor for the sensitive commands. RFC 6238: SHA1, 6 digits, 30 s step,
    /// T0 = 0; accepts the current step ±1. A code matching a step ≤ the last step this
    /// identity had accepted is `TotpReplayed` (a used code is never accepted twice, even
    /// within its window). Invalid and replayed codes count as failures; the
    /// `failures_max`-th failure in a row returns `LockedOut` and refuses every code (valid
    /// ones too) for `lockout`; a success resets the count. `code` None → `TotpRequired`.
    /// Identity without a secret → `TotpNotConfigured`. Code must be exactly 6 ASCII digits
    /// else `TotpInvalid`.
    pub fn verify_totp(
        &self,
        identity: &Identity,
        code: Option<&str>,
        now_unix_s: u64,
    ) -> Result<(), AuthError> {
        let (index, entry) = self.entry_index(identity)?;
        let totp = entry.totp.as_ref().ok_or(AuthError::TotpNotConfigured)?;
        self.totp_guard.verify(index, totp, code, now_unix_s)
    }

    fn entry_index(&self, identity: &Identity) -> Result<(usize, &Entry), AuthError> {
        (self.entries.iter().enumerate())
            .find(|(_, entry)| entry.name == identity.name)
            .ok_or(AuthError::Unknown)
    }
}

/// SHA-256 of a bearer token in lower-case hex, as `admin.tokens[i].sha256` wants it.
pub fn token_sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

fn name_is_valid(name: &str) -> bool {
    (1..=NAME_LEN_MAX).contains(&name.len())
        && (name.bytes()).all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// "Bearer <token>": scheme in any case, exactly one space, a token of visible ASCII.
fn parse_bearer(header: &str) -> Result<&str, AuthError> {
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Malformed)?;
    let token_is_valid =
        (1..=TOKEN_LEN_MAX).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
    if !scheme.eq_ignore_ascii_case("bearer") || !token_is_valid {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn entry(name: &str, role: Role, token: &str, secret: Option<&str>) -> TokenConfig {
        TokenConfig {
            name: name.to_string(),
            role,
            sha256: token_sha256_hex(token),
            totp_secret: secret.map(str::to_string),
        }
    }

    fn three_roles() -> Vec<TokenConfig> {
        vec![
            entry("watcher", Role::Viewer, "tok-viewer", None),
            entry("desk.ops", Role::Operator, "tok-operator", None),
            entry("root_1", Role::Admin, "tok-admin", Some(SECRET)),
        ]
    }

    fn authenticator() -> Authenticator {
        Authenticator::new(&three_roles(), TotpPolicy::default()).expect("valid config")
    }

    fn refusal(tokens: &[TokenConfig]) -> String {
        let err = Authenticator::new(tokens, TotpPolicy::default()).expect_err("refused");
        assert!(!err.is_retryable());
        err.to_string()
    }

    #[test]
    fn token_sha256_hex_matches_the_known_digest() {
        // Proves the digest is SHA-256 in lower-case hex (FIPS 180-2 "abc" vector).
        assert_eq!(
            token_sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn authenticate_maps_a_valid_token_to_its_identity() {
        // Proves each configured token yields its own name and role.
        let auth = authenticator();
        let cases = [
            ("Bearer tok-viewer", "watcher", Role::Viewer),
            ("Bearer tok-operator", "desk.ops", Role::Operator),
            ("Bearer tok-admin", "root_1", Role::Admin),
        ];
        for (header, name, role) in cases {
            let identity = auth.authenticate(Some(header)).expect(header);
            assert_eq!(
                identity,
                Identity {
                    name: name.to_string(),
                    role
                }
            );
        }
    }

    #[test]
    fn authenticate_refuses_a_wrong_token_as_unknown() {
        // Proves a well-formed token that is not configured (or a near miss) is Unknown.
        let auth = authenticator();
        for header in ["Bearer tok-nobody", "Bearer tok-admin2", "Bearer TOK-ADMIN"] {
            assert_eq!(
                auth.authenticate(Some(header)),
                Err(AuthError::Unknown),
                "{header}"
            );
        }
    }

    #[test]
    fn authenticate_refuses_a_missing_header() {
        // Proves no header is Missing (401), not Malformed.
        let err = authenticator().authenticate(None).expect_err("refused");
        assert_eq!((err, err.status()), (AuthError::Missing, 401));
    }

    #[test]
    fn authenticate_refuses_malformed_headers() {
        // Proves anything but "Bearer <token>" with one space and a visible token is refused.
        let auth = authenticator();
        let headers = [
            "Basic xyz",
            "Bearer",
            "Bearer ",
            "Bearer  tok-admin",
            "Bearer  two spaces",
            "Bearer tok-admin ",
            "Bearer\ttok-admin",
            "Bearer tok\u{e9}",
            "",
        ];
        for header in headers {
            assert_eq!(
                auth.authenticate(Some(header)),
                Err(AuthError::Malformed),
                "{header:?}"
            );
        }
        let long = format!("Bearer {}", "a".repeat(TOKEN_LEN_MAX + 1));
        assert_eq!(auth.authenticate(Some(&long)), Err(AuthError::Malformed));
    }

    #[test]
    fn authenticate_accepts_the_scheme_in_any_case() {
        // Proves the scheme is case-insensitive while the token is not.
        let auth = authenticator();
        for header in ["bearer tok-admin", "BEARER tok-admin", "bEaReR tok-admin"] {
            assert_eq!(
                auth.authenticate(Some(header)).map(|i| i.role),
                Ok(Role::Admin)
            );
        }
    }

    #[test]
    fn authorize_follows_the_role_order() {
        // Proves viewer < operator < admin: each role may do its own and lower things only.
        let auth = authenticator();
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        let roles = [Role::Viewer, Role::Operator, Role::Admin];
        for token in ["tok-viewer", "tok-operator", "tok-admin"] {
            let identity = auth
                .authenticate(Some(&format!("Bearer {token}")))
                .expect(token);
            for needed in roles {
                let expected = if identity.role >= needed {
                    Ok(())
                } else {
                    Err(AuthError::Forbidden {
                        needed,
                        have: identity.role,
                    })
                };
                assert_eq!(
                    auth.authorize(&identity, needed),
                    expected,
                    "{token} {needed}"
                );
            }
        }
        let viewer = Identity {
            name: "watcher".to_string(),
            role: Role::Viewer,
        };
        let err = auth
            .authorize(&viewer, Role::Operator)
            .expect_err("forbidden");
        assert_eq!(
            (err.status(), err.refusal().as_str()),
            (403, "role_forbidden")
        );
    }

    #[test]
    fn authorize_uses_the_configured_role_not_the_claimed_one() {
        // Proves a hand-made Identity cannot raise its role or invent a name.
        let auth = authenticator();
        let forged = Identity {
            name: "watcher".to_string(),
            role: Role::Admin,
        };
        let needed = Role::Operator;
        let have = Role::Viewer;
        assert_eq!(
            auth.authorize(&forged, needed),
            Err(AuthError::Forbidden { needed, have })
        );
        let stranger = Identity {
            name: "nobody".to_string(),
            role: Role::Admin,
        };
        assert_eq!(
            auth.authorize(&stranger, Role::Viewer),
            Err(AuthError::Unknown)
        );
    }

    #[test]
    fn config_accepts_any_hex_case_and_secret_spelling() {
        // Proves upper-case digests and lower-case or padded secrets are accepted.
        let mut tokens = three_roles();
        tokens[0].sha256 = tokens[0].sha256.to_ascii_uppercase();
        tokens[1].totp_secret = Some("gezdgnbvgy3tqojqgezdgnbvgy======".to_string());
        tokens[2].totp_secret = Some(SECRET.to_ascii_lowercase());
        let auth = Authenticator::new(&tokens, TotpPolicy::default()).expect("valid");
        assert_eq!(
            auth.authenticate(Some("Bearer tok-viewer")).map(|i| i.role),
            Ok(Role::Viewer)
        );
        assert!(Authenticator::new(&[], TotpPolicy::default()).is_ok());
    }

    #[test]
    fn config_refusals_name_their_field() {
        // Proves every invalid entry is refused with its `admin.tokens[i].field` path.
        type Mutate = fn(&mut TokenConfig);
        let cases: [(&str, Mutate, &str); 12] = [
            ("bad hex", |t| t.sha256.replace_range(0..1, "g"), "sha256"),
            ("short digest", |t| t.sha256.truncate(63), "sha256"),
            ("long digest", |t| t.sha256.push('0'), "sha256"),
            (
                "duplicate digest",
                |t| t.sha256 = token_sha256_hex("tok-viewer"),
                "sha256",
            ),
            ("duplicate name", |t| t.name = "watcher".to_string(), "name"),
            ("empty name", |t| t.name = String::new(), "name"),
            (
                "long name",
                |t| t.name = "n".repeat(NAME_LEN_MAX + 1),
                "name",
            ),
            ("space in name", |t| t.name = "desk ops".to_string(), "name"),
            ("slash in name", |t| t.name = "desk/ops".to_string(), "name"),
            (
                "bad base32",
                |t| t.totp_secret = Some("GEZDGNBVGY3TQOJ1".into()),
                "totp_secret",
            ),
            (
                "short secret",
                |t| t.totp_secret = Some("GEZDGNBVGY3TQ===".into()),
                "totp_secret",
            ),
            (
                "admin sans secret",
                |t| (t.role, t.totp_secret) = (Role::Admin, None),
                "totp_secret",
            ),
        ];
        for (what, mutate, field) in cases {
            let mut tokens = three_roles();
            mutate(&mut tokens[1]);
            let message = refusal(&tokens);
            let prefix = format!("admin.tokens[1].{field}:");
            assert!(message.starts_with(&prefix), "{what}: {message}");
        }
        let mut tokens = three_roles();
        tokens[1].name = "n".repeat(NAME_LEN_MAX);
        assert!(
            Authenticator::new(&tokens, TotpPolicy::default()).is_ok(),
            "24 chars is fine"
        );
    }

    #[test]
    fn config_refusals_keep_secrets_out() {
        // Proves error messages name the field but never echo a digest or secret.
        let mut tokens = three_roles();
        tokens[1].totp_secret = Some("GEZDGNBVGY3TQ===".to_string());
        assert!(!refusal(&tokens).contains("GEZDGNBVGY3TQ"));
        let mut tokens = three_roles();
        tokens[1].sha256 = token_sha256_hex("tok-viewer");
        assert!(!refusal(&tokens).contains(&tokens[1].sha256[..16]));
    }

    #[test]
    fn config_refuses_a_policy_that_never_locks() {
        // Proves failures_max 0 and a zero lockout are refused.
        let zero_failures = TotpPolicy {
            failures_max: 0,
            ..TotpPolicy::default()
        };
        let zero_lockout = TotpPolicy {
            lockout: std::time::Duration::ZERO,
            ..TotpPolicy::default()
        };
        for policy in [zero_failures, zero_lockout] {
            let err = Authenticator::new(&three_roles(), policy).expect_err("refused");
            assert!(
                matches!(err, AuthConfigError::PolicyInvalid { .. }),
                "{policy:?}"
            );
        }
    }

    #[test]
    fn token_config_reads_from_toml() {
        // Proves the `[[admin.tokens]]` shape: snake_case roles, optional secret, no extras.
        #[derive(serde::Deserialize)]
        struct File {
            tokens: Vec<TokenConfig>,
        }
        let digest = token_sha256_hex("t");
        let text = format!(
            "[[tokens]]\nname = \"a\"\nrole = \"operator\"\nsha256 = \"{digest}\"\n\
             [[tokens]]\nname = \"b\"\nrole = \"admin\"\nsha256 = \"{digest}\"\n\
             totp_secret = \"{SECRET}\"\n"
        );
        let file: File = toml::from_str(&text).expect("parses");
        assert_eq!(
            (file.tokens[0].role, file.tokens[0].totp_secret.as_deref()),
            (Role::Operator, None)
        );
        assert_eq!(file.tokens[1].totp_secret.as_deref(), Some(SECRET));
        let extra =
            format!("[[tokens]]\nname = \"a\"\nrole = \"viewer\"\nsha256 = \"{digest}\"\nx = 1\n");
        assert!(toml::from_str::<File>(&extra).is_err());
        assert_eq!(Role::Operator.as_str(), "operator");
    }

    #[test]
    fn debug_output_hides_digests_and_secrets() {
        // Proves neither the config entry nor the authenticator prints a digest or secret.
        let tokens = three_roles();
        let printed = format!("{:?} {:?}", tokens, authenticator());
        assert!(printed.contains("root_1"), "{printed}");
        assert!(!printed.contains(SECRET), "{printed}");
        for token in &tokens {
            assert!(!printed.contains(&token.sha256[..16]), "{printed}");
        }
    }

    #[test]
    fn errors_map_to_statuses_and_distinct_codes() {
        // Proves the HTTP status of every refusal and that client codes are unique.
        let forbidden = AuthError::Forbidden {
            needed: Role::Admin,
            have: Role::Viewer,
        };
        let cases = [
            (AuthError::Missing, 401, "token_missing"),
            (AuthError::Malformed, 401, "token_malformed"),
            (AuthError::Unknown, 401, "token_unknown"),
            (forbidden, 403, "role_forbidden"),
            (AuthError::TotpRequired, 403, "totp_required"),
            (AuthError::TotpNotConfigured, 403, "totp_not_configured"),
            (AuthError::TotpInvalid, 403, "totp_invalid"),
            (AuthError::TotpReplayed, 403, "totp_replayed"),
            (
                AuthError::LockedOut { retry_after_s: 7 },
                429,
                "totp_locked_out",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(
                (err.status(), err.refusal().as_str()),
                (status, code),
                "{err:?}"
            );
        }
        let codes: std::collections::HashSet<_> =
            cases.iter().map(|c| c.0.refusal().as_str()).collect();
        assert_eq!(codes.len(), cases.len());
    }
}
