//! Coinbase CDP API keys and the JWTs Advanced Trade wants: one fresh token per REST request
//! and per WebSocket subscribe (docs/coinbase-advanced-trade.md §4, traps 13-14).
//!
//! - A key file is JSON with the key's name (`name`, or `id` in newer Ed25519 downloads) and
//!   `privateKey`: a SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`, ES256) or a base64 Ed25519
//!   secret (a 32-byte seed, or 64 bytes: seed then public key). [`ApiKey::load`] refuses a
//!   file that group or others can read, and keeps the secret only inside the signing key
//!   types, which zeroize on drop; `Debug` prints the key name and algorithm, never the key.
//! - Tokens ([`ApiKey::rest_jwt`], [`ApiKey::ws_jwt`]): header `alg` (`ES256`/`EdDSA`),
//!   `kid` = key name, `nonce` = 32 random bytes in hex, `typ` = `JWT`; claims `iss` = `cdp`,
//!   `sub` = key name, `nbf` = now, `exp` = now + 120 s, and for REST only
//!   `uri` = `"METHOD api.coinbase.com/path"` (no scheme, no query string). ES256 signatures
//!   are the fixed 64-byte `R ‖ S` form (RFC 7518), not DER.
//! - [`verify_jwt`] checks a token against a public key (ring's verifiers, an implementation
//!   independent of the signers): what the local venue stand-in does with every request.
//!
//! Time is an input (`now_s`), so tokens are reproducible in tests; the nonce comes from the
//! operating system's RNG. This runs on the gateway's cold thread, never on the hot path.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Seconds a token is valid (`exp - nbf`), as Coinbase requires.
pub const JWT_LIFETIME_S: u64 = 120;
/// The `iss` claim: the literal `cdp` (the key name there is a 401).
pub const JWT_ISSUER: &str = "cdp";
/// The host in a REST token's `uri` claim.
pub const REST_URI_HOST: &str = "api.coinbase.com";

/// Why a key file or a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    // The cause is in the message, not a `source()`: a chain printer would name it twice.
    #[error("cannot read key file {}: {cause}", .path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "key file {} is readable by group or others (mode {mode:03o}); \
         restrict it with `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    LoosePermissions { path: PathBuf, mode: u32 },
    #[error("key file {}: {reason}", .path.display())]
    Format { path: PathBuf, reason: String },
    #[error("JWT refused: {0}")]
    Token(String),
}

/// A key's signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    EdDsa,
}

impl Algorithm {
    /// The JWS `alg` header value.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

enum Signer {
    // Both zeroize their secret on drop (p256's SecretKey, ed25519-dalek's SigningKey).
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A CDP API key loaded for signing.
pub struct ApiKey {
    name: String,
    signer: Signer,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFileJson {
    name: Option<String>,
    id: Option<String>,
    private_key: Zeroizing<String>,
}

/// A public key, for verifying tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub algorithm: Algorithm,
    /// ES256: the uncompressed SEC1 point (65 bytes); EdDSA: the 32-byte key.
    pub bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    nonce: String,
    typ: String,
}

/// The claims of a Coinbase JWT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub nbf: u64,
    pub exp: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uri: Option<String>,
}

/// What [`verify_jwt`] read from a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub kid: String,
    pub nonce: String,
    pub claims: Claims,
}

impl ApiKey {
    /// Loads the key file at `path`. Refuses a file readable by group or others, a file
    /// that is not the JSON Coinbase issues, and a key that does not parse.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        check_permissions(path)?;
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|cause| AuthError::Read {
                    path: path.to_path_buf(),
                    cause,
                })?,
            );
        let format = |reason: String| AuthError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let json: KeyFileJson = serde_json::from_str(&text).map_err(|e| {
            format(format!(
                "not a CDP key file ({e}); it needs \"name\" and \"privateKey\""
            ))
        })?;
        let name = json
            .name
            .or(json.id)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| format("no key name (\"name\" or \"id\")".to_owned()))?;
        Self::from_secret(name, &json.private_key).map_err(format)
    }

    /// A key from its name and secret (SEC1 PEM or base64 Ed25519), e.g. from a key file.
    pub fn from_secret(name: String, secret: &str) -> Result<Self, String> {
        let secret = secret.trim();
        let signer = if secret.starts_with("-----BEGIN EC PRIVATE KEY-----") {
            let key = p256::SecretKey::from_sec1_pem(secret)
                .map_err(|_| "privateKey is not a valid SEC1 P-256 key".to_owned())?;
            Signer::Es256(p256::ecdsa::SigningKey::from(key))
        } else if secret.starts_with("-----BEGIN") {
            return Err("privateKey is a PEM of an unsupported kind (want \
                        -----BEGIN EC PRIVATE KEY-----, P-256)"
                .to_owned());
        } else {
            let raw = Zeroizing::new(
                STANDARD
                    .decode(secret)
                    .map_err(|_| "privateKey is neither a PEM nor base64".to_owned())?,
            );
            let seed: &[u8; 32] = match raw.len() {
                32 | 64 => raw[..32].try_into().map_err(|_| "bad seed".to_owned())?,
                n => return Err(format!("Ed25519 privateKey has {n} bytes, want 32 or 64")),
            };
            let key = ed25519_dalek::SigningKey::from_bytes(seed);
            if raw.len() == 64 && key.verifying_key().as_bytes() != &raw[32..] {
                return Err("Ed25519 privateKey's public half does not match its seed".to_owned());
            }
            Signer::EdDsa(key)
        };
        Ok(Self { name, signer })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.signer {
            Signer::Es256(_) => Algorithm::Es256,
            Signer::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// The public half, for the venue stand-in's configuration and for tests.
    pub fn public_key(&self) -> PublicKey {
        match &self.signer {
            Signer::Es256(key) => PublicKey {
                algorithm: Algorithm::Es256,
                bytes: key
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
            },
            Signer::EdDsa(key) => PublicKey {
                algorithm: Algorithm::EdDsa,
                bytes: key.verifying_key().as_bytes().to_vec(),
            },
        }
    }

    /// A token for one REST request: `method` (`GET`, `POST`, ...) and `path` (`/api/v3/...`;
    /// a query string is cut off, as Coinbase signs the path only).
    pub fn rest_jwt(&self, method: &str, path: &str, now_s: u64) -> Result<String, AuthError> {
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let uri = format!("{} {REST_URI_HOST}{path}", method.to_ascii_uppercase());
        self.jwt(Some(uri), now_s)
    }

    /// A token for one WebSocket subscribe or unsubscribe message (no `uri` claim).
    pub fn ws_jwt(&self, now_s: u64) -> Result<String, AuthError> {
        self.jwt(None, now_s)
    }

    fn jwt(&self, uri: Option<String>, now_s: u64) -> Result<String, AuthError> {
        let mut nonce_bytes = [0u8; 32];
        getrandom::fill(&mut nonce_bytes)
            .map_err(|e| AuthError::Token(format!("no random nonce: {e}")))?;
        let nonce: String = nonce_bytes.iter().map(|b| format!("{b:02x}")).collect();
        let header = Header {
            alg: self.algorithm().jws_name().to_owned(),
            kid: self.name.clone(),
            nonce,
            typ: "JWT".to_owned(),
        };
        let claims = Claims {
            iss: JWT_ISSUER.to_owned(),
            sub: self.name.clone(),
            nbf: now_s,
            exp: now_s + JWT_LIFETIME_S,
            uri,
        };
        let signing_input = format!("{}.{}", base64_json(&header)?, base64_json(&claims)?);
        let signature = match &self.signer {
            Signer::Es256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
                signature.to_bytes().to_vec()
            }
            Signer::EdDsa(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(signing_input.as_bytes()).to_bytes().to_vec()
            }
        };
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

fn base64_json(value: &impl Serialize) -> Result<String, AuthError> {
    let json = serde_json::to_vec(value).map_err(|e| AuthError::Token(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|cause| AuthError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(AuthError::LoosePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), AuthError> {
    Ok(())
}

/// Verifies `token` against `key`, as Coinbase (or the local stand-in) does: the signature
/// (ring's ES256 fixed-signature or Ed25519 verifier), `alg` matching the key, `typ` JWT,
/// `iss` = `cdp`, `nbf <= now_s < exp` with `exp - nbf` at most [`JWT_LIFETIME_S`], and the
/// `uri` claim equal to `expected_uri` (`None`: the token must have none, as on WebSocket).
pub fn verify_jwt(
    token: &str,
    key: &PublicKey,
    now_s: u64,
    expected_uri: Option<&str>,
) -> Result<Verified, AuthError> {
    let refuse = |why: &str| AuthError::Token(why.to_owned());
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse("not three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| AuthError::Token(format!("{what} is not base64url")))
    };
    let signature = decode(signature_b64, "signature")?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    let algorithm: &'static dyn ring::signature::VerificationAlgorithm = match key.algorithm {
        Algorithm::Es256 => &ring::signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::EdDsa => &ring::signature::ED25519,
    };
    ring::signature::UnparsedPublicKey::new(algorithm, &key.bytes)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| refuse("bad signature"))?;
    let header_json = decode(header_b64, "header")?;
    let header: Header =
        serde_json::from_slice(&header_json).map_err(|_| refuse("header is not the JWS header"))?;
    if header.alg != key.algorithm.jws_name() || header.typ != "JWT" {
        return Err(refuse("alg or typ does not match the key"));
    }
    let claims: Claims = serde_json::from_slice(&decode(claims_b64, "claims")?)
        .map_err(|_| refuse("claims are not iss/sub/nbf/exp[/uri]"))?;
    if claims.iss != JWT_ISSUER {
        return Err(refuse("iss is not \"cdp\""));
    }
    if claims.sub != header.kid {
        return Err(refuse("sub is not the key name in kid"));
    }
    if claims.exp <= claims.nbf || claims.exp - claims.nbf > JWT_LIFETIME_S {
        return Err(refuse("lifetime is not within 120 s"));
    }
    if now_s < claims.nbf || now_s >= claims.exp {
        return Err(refuse("expired or not yet valid"));
    }
    if claims.uri.as_deref() != expected_uri {
        return Err(refuse("uri claim does not match the request"));
    }
    Ok(Verified {
        kid: header.kid,
        nonce: header.nonce,
        claims,
    })
}
