//! `traiderctl`: the operator's command-line client for the daemon's admin HTTP API
//! (described by `traider_admin_api::OPENAPI`).
//!
//! - Reads: `status`, `positions`, `orders`, `limits show` (viewer).
//! - Commands: `kill [--flatten]`, `cancel-all`, `strategy disable` (operator); `resume`,
//!   `strategy enable`, `limits set NAME VALUE [--instrument ID]` (admin, with `--totp`).
//! - Offline: `token new --name NAME --role ROLE` prints a new token and the
//!   `[[admin.tokens]]` entry for it ([`token`]); `totp --secret-file PATH` prints the
//!   current code.
//!
//! Pieces: [`Call`] says what each request is, [`AdminClient`] sends it (bearer token,
//! `X-TOTP`, optional private CA), [`render`] prints the answer for people (`--json` prints
//! the daemon's JSON instead), and [`CtlError`] says what went wrong.
//!
//! Exit codes ([`Exit`]):
//! - 0: success, including a command published but not yet confirmed (HTTP 202);
//! - 1: anything else unexpected (a 5xx, an unreadable answer, a bad local file);
//! - 2: usage error;
//! - 3: the daemon is unreachable (connection refused, DNS, timeout, TLS handshake);
//! - 4: authentication failed: no token configured, 401, or 403/429 with a `token_*` or
//!   `totp_*` code (missing, invalid or replayed code, locked out, no secret);
//! - 5: the daemon refused the command: 403 `role_forbidden`, 400 `bad_request`, 409
//!   `refused_*`.
//!
//! Runs on the caller's thread (one current-thread tokio runtime in the binary). Invariant:
//! the token is never printed, neither in output, errors nor the `--verbose` trace.

pub mod call;
pub mod client;
pub mod error;
pub mod options;
pub mod render;
pub mod token;

pub use call::Call;
pub use client::{AdminClient, Answer, ClientOptions};
pub use error::{CtlError, Exit, TransportKind, http_error};
pub use options::{ADDR_DEFAULT, Token, normalize_addr, parse_totp_code, resolve_token};
pub use token::{NewToken, check_token_name, totp_from_file};

/// The exit codes as `traiderctl --help` shows them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (a command published but not yet confirmed, HTTP 202, included)
  1  anything else unexpected (a 5xx, an unreadable answer, a bad local file)
  2  usage error
  3  the daemon is unreachable (connection refused, DNS, timeout, TLS handshake)
  4  authentication failed (no token configured, 401, or 403/429 token_*/totp_*)
  5  the daemon refused the command (403 role_forbidden, 400 bad_request, 409 refused_*)";

/// Sends `call` and returns what to print: the answer's JSON, pretty, with `json`; else the
/// human rendering ([`render::render_answer`]).
pub async fn execute(client: &AdminClient, call: &Call, json: bool) -> Result<String, CtlError> {
    let answer = client.call(call).await?;
    if json {
        return Ok(pretty(&answer.body));
    }
    Ok(render::render_answer(call, &answer))
}

/// Pretty JSON text (serializing a `Value` cannot fail; the fallback is compact text).
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
