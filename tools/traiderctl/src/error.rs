//! Everything that can go wrong for `traiderctl`, and what the operator sees for it: one
//! exit code ([`Exit`]) and one line of text (the error's `Display`).
//!
//! The mapping from an HTTP answer (status, `error` code, any body) to a [`CtlError`] is the
//! pure function [`http_error`]; a failure before any answer is a [`TransportKind`]. No
//! message here carries the token or a TOTP secret: none of them is ever given one.

use super::call::Call;
use std::path::PathBuf;

/// The process exit codes, as `traiderctl --help` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success, including a command the daemon published but did not confirm yet (202).
    Success = 0,
    /// Anything else: a 5xx, an unreadable answer, a bad local file.
    Unexpected = 1,
    /// A usage error (clap's own).
    Usage = 2,
    /// The daemon is unreachable: connection refused, DNS, timeout, TLS handshake.
    Unreachable = 3,
    /// Authentication failed: no token, an unknown token, a missing or bad TOTP code.
    AuthFailed = 4,
    /// The daemon refused the command: role, bad request or the engine said no.
    Refused = 5,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// How a request failed before the daemon answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Nothing listens at the address.
    ConnectionRefused,
    /// The host name does not resolve.
    Dns,
    /// No answer within the timeout (the request may have been sent).
    Timeout { after_ms: u64 },
    /// The TLS handshake failed (an untrusted certificate, TLS against plain HTTP, ...).
    Tls,
    /// Any other failure to connect.
    Connect,
    /// Connected, but the connection broke before an answer came.
    Lost,
}

/// A `traiderctl` failure; `Display` is the line printed after `traiderctl: `.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error(
        "no token configured: give --token-file PATH (a file holding the token) or set \
         TRAIDER_TOKEN; `traiderctl token new` makes one"
    )]
    TokenMissing,
    #[error("invalid address {addr:?}: {reason}")]
    AddrInvalid { addr: String, reason: String },
    #[error("cannot use the token file {}: {reason}", path.display())]
    TokenFile { path: PathBuf, reason: String },
    #[error("the token cannot travel in an HTTP header: it must be visible ASCII")]
    TokenUnsendable,
    #[error("invalid TOTP code: it must be exactly 6 digits")]
    TotpCode,
    #[error("cannot use the CA certificate {}: {reason}", path.display())]
    CaCert { path: PathBuf, reason: String },
    #[error("cannot use the TOTP secret file {}: {reason}", path.display())]
    SecretFile { path: PathBuf, reason: String },
    #[error("invalid token name {name:?}: it must be 1 to 24 characters of [A-Za-z0-9_.-]")]
    TokenName { name: String },
    #[error("no random bytes from the operating system: {reason}")]
    Random { reason: String },
    #[error("cannot set up the HTTP client: {reason}")]
    Client { reason: String },
    #[error("{}", unreachable_text(addr, *kind, detail, *is_command))]
    Unreachable {
        addr: String,
        kind: TransportKind,
        detail: String,
        /// A command, not a read: after a timeout or a lost connection it may have been
        /// applied.
        is_command: bool,
    },
    #[error("authentication failed: {what}")]
    AuthFailed {
        status: u16,
        code: Option<String>,
        what: String,
    },
    #[error("refused: {what}")]
    Refused {
        status: u16,
        code: Option<String>,
        what: String,
    },
    #[error("the daemon answered HTTP {status}: {what}")]
    Answer {
        status: u16,
        code: Option<String>,
        what: String,
    },
    #[error("unreadable answer from the daemon (HTTP {status}): {reason}")]
    Unreadable { status: u16, reason: String },
}

impl CtlError {
    pub fn exit(&self) -> Exit {
        match self {
            CtlError::TokenMissing | CtlError::AuthFailed { .. } => Exit::AuthFailed,
            CtlError::AddrInvalid { .. } | CtlError::TotpCode | CtlError::TokenName { .. } => {
                Exit::Usage
            }
            CtlError::Unreachable { .. } => Exit::Unreachable,
            CtlError::Refused { .. } => Exit::Refused,
            CtlError::TokenFile { .. }
            | CtlError::TokenUnsendable
            | CtlError::CaCert { .. }
            | CtlError::SecretFile { .. }
            | CtlError::Random { .. }
            | CtlError::Client { .. }
            | CtlError::Answer { .. }
            | CtlError::Unreadable { .. } => Exit::Unexpected,
        }
    }

    /// Whether the same call may succeed later unchanged: the daemon was away or busy, or
    /// the TOTP code was used or locked out (the next code, later, may pass).
    pub fn is_retryable(&self) -> bool {
        match self {
            CtlError::Unreachable { .. } => true,
            CtlError::Answer { status, .. } => *status >= 500,
            CtlError::AuthFailed { code, .. } => {
                matches!(code.as_deref(), Some("totp_replayed" | "totp_locked_out"))
            }
            _ => false,
        }
    }
}

/// The error for a non-2xx answer to `call`: 401, and 403/429 with a `token_*` or `totp_*`
/// code (or a 403 without one) fail authentication; 403 `role_forbidden`, any 400 and any
/// 409 are refusals; everything else (5xx, 404, a 429 without a TOTP code, ...) is
/// unexpected. The body may be the JSON `{"error", "message"}` or any text.
pub fn http_error(call: &Call, status: u16, body: &[u8]) -> CtlError {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = parsed.as_ref().map(|p| p.error.clone());
    let message = match &parsed {
        Some(p) => p.message.as_deref().map(one_line).filter(|m| !m.is_empty()),
        // An HTML page (a proxy's, a web server's) says no more than the status does.
        None => Some(one_line(&String::from_utf8_lossy(body)))
            .filter(|text| !text.is_empty() && !text.starts_with('<')),
    };
    let is_auth_code = |c: &str| c.starts_with("token_") || c.starts_with("totp_");
    match (status, code.as_deref()) {
        (401, _) | (403, None) => {
            let what = auth_text(call, status, code.as_deref(), message);
            CtlError::AuthFailed { status, code, what }
        }
        (403 | 429, Some(c)) if is_auth_code(c) => {
            let what = auth_text(call, status, code.as_deref(), message);
            CtlError::AuthFailed { status, code, what }
        }
        (400 | 403 | 409, _) => {
            let what = refusal_text(call, status, code.as_deref(), message);
            CtlError::Refused { status, code, what }
        }
        _ => {
            let what = coded_text(status, code.as_deref(), message, false);
            CtlError::Answer { status, code, what }
        }
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: Option<String>,
}

fn auth_text(call: &Call, status: u16, code: Option<&str>, message: Option<String>) -> String {
    let hint = match code {
        Some("token_missing") => "the daemon got no token".to_string(),
        Some("token_malformed") => {
            "the daemon cannot read this token; check --token-file or TRAIDER_TOKEN".to_string()
        }
        Some("token_unknown") => {
            "the daemon does not know this token; check the sha256 in its [[admin.tokens]]"
                .to_string()
        }
        Some("totp_required") => {
            format!("{} needs a second factor: give --totp CODE", call.name())
        }
        Some("totp_not_configured") => {
            "this token's identity has no totp_secret in the daemon's config".to_string()
        }
        Some("totp_invalid") => {
            "wrong TOTP code; check the code and this machine's clock".to_string()
        }
        Some("totp_replayed") => "this code was already used; wait for the next one".to_string(),
        Some("totp_locked_out") => message
            .unwrap_or_else(|| "too many wrong TOTP codes; wait before trying again".to_string()),
        _ => return coded_text(status, code, message, true),
    };
    format!("{} ({hint})", code.unwrap_or_default())
}

fn refusal_text(call: &Call, status: u16, code: Option<&str>, message: Option<String>) -> String {
    if code == Some("role_forbidden") {
        let needed = format!(
            "role_forbidden: {} needs the {} role",
            call.name(),
            call.role()
        );
        return match message {
            Some(message) => format!("{needed} ({message})"),
            None => needed,
        };
    }
    coded_text(status, code, message, true)
}

/// `code: message`, or the text (else the reason phrase) when the body had no code;
/// `HTTP status: ` goes before a text without a code when `with_status`.
fn coded_text(
    status: u16,
    code: Option<&str>,
    message: Option<String>,
    with_status: bool,
) -> String {
    let text = match (code, message) {
        (Some(code), Some(message)) => return format!("{code}: {message}"),
        (Some(code), None) => return code.to_string(),
        (None, Some(text)) => text,
        (None, None) => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no explanation")
            .to_string(),
    };
    if with_status {
        format!("HTTP {status}: {text}")
    } else {
        text
    }
}

/// The first line of a text, control characters dropped, cut to 200 characters.
fn one_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    line.chars().filter(|c| !c.is_control()).take(200).collect()
}

fn unreachable_text(addr: &str, kind: TransportKind, detail: &str, is_command: bool) -> String {
    let maybe_applied = if is_command {
        "; the command may have reached it: check `traiderctl status`"
    } else {
        ""
    };
    match kind {
        TransportKind::ConnectionRefused => {
            format!("cannot reach the daemon at {addr}: connection refused")
        }
        TransportKind::Dns => {
            format!("cannot reach the daemon at {addr}: cannot resolve the host ({detail})")
        }
        TransportKind::Timeout { after_ms } => format!(
            "cannot reach the daemon at {addr}: no answer within {after_ms} ms{maybe_applied}"
        ),
        TransportKind::Tls => {
            let hint = if detail.contains("certificate") {
                " (a self-signed certificate? give --ca-cert PATH)"
            } else {
                ""
            };
            format!("cannot reach the daemon at {addr}: TLS handshake failed: {detail}{hint}")
        }
        TransportKind::Connect => format!("cannot reach the daemon at {addr}: {detail}"),
        TransportKind::Lost => format!(
            "lost the connection to the daemon at {addr} before it answered: \
             {detail}{maybe_applied}"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom
mod tests;
