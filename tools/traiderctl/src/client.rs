//! The HTTP side of `traiderctl`: one `reqwest` client (rustls, webpki roots plus an
//! optional private CA) that sends a [`Call`] with its bearer token and TOTP code and turns
//! the answer, or the lack of one, into an [`Answer`] or a [`CtlError`].
//!
//! Straight to the daemon: no redirects followed and no proxy from the environment (the
//! admin API is not meant to be reached through either). The token goes only into a header
//! marked sensitive; the verbose trace prints `<redacted>` in its place and the TOTP code
//! is never printed either.

use super::call::Call;
use super::error::{CtlError, TransportKind, http_error};
use super::options::Token;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Certificate, redirect};
use serde_json::Value;
use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to reach the daemon, besides its address and the token.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// A PEM file with the CA certificate(s) that signed the daemon's TLS certificate.
    pub ca_cert: Option<PathBuf>,
    /// For connecting and for the whole request alike.
    pub timeout_ms: u64,
    /// Sent as `X-TOTP` with every command (not with reads) when given.
    pub totp: Option<String>,
    /// Trace each request and answer on stderr (never the token or the code).
    pub verbose: bool,
}

/// A 2xx answer: its status (200, or 202 for a command not yet confirmed) and JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A client for one daemon, with one identity.
pub struct AdminClient {
    http: reqwest::Client,
    addr: String,
    authorization: HeaderValue,
    totp: Option<HeaderValue>,
    timeout_ms: u64,
    verbose: bool,
}

impl AdminClient {
    /// `addr` as [`super::normalize_addr`] returns it.
    pub fn new(addr: &str, token: &Token, options: &ClientOptions) -> Result<Self, CtlError> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.as_str()))
            .map_err(|_| CtlError::TokenUnsendable)?;
        authorization.set_sensitive(true);
        let totp = match &options.totp {
            Some(code) => Some(HeaderValue::from_str(code).map_err(|_| CtlError::TotpCode)?),
            None => None,
        };
        let timeout = Duration::from_millis(options.timeout_ms);
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("traiderctl/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_cert {
            for certificate in read_ca_certs(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|e| CtlError::Client {
            reason: innermost(&e),
        })?;
        Ok(Self {
            http,
            addr: addr.to_string(),
            authorization,
            totp,
            timeout_ms: options.timeout_ms,
            verbose: options.verbose,
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `call` and reads the answer: 2xx with a JSON body is an [`Answer`]; anything
    /// else is the error [`http_error`] or the transport failure makes of it.
    pub async fn call(&self, call: &Call) -> Result<Answer, CtlError> {
        let url = format!("{}{}", self.addr, call.path());
        let mut request = (self.http.request(call.method(), &url))
            .header(AUTHORIZATION, self.authorization.clone());
        let totp = self.totp.as_ref().filter(|_| call.is_command());
        if let Some(code) = totp {
            request = request.header(traider_admin_api::TOTP_HEADER, code.clone());
        }
        if let Some(body) = call.body() {
            request = (request.header(CONTENT_TYPE, "application/json")).body(body.to_string());
        }
        if self.verbose {
            let code = if totp.is_some() {
                ", X-TOTP: <given>"
            } else {
                ""
            };
            eprintln!(
                "traiderctl: > {} {url} (Authorization: Bearer <redacted>{code})",
                call.method()
            );
        }
        let started = Instant::now();
        let response = (request.send().await).map_err(|e| self.transport_error(call, &e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| CtlError::Unreadable {
            status,
            reason: innermost(&e),
        })?;
        if self.verbose {
            let elapsed_ms = started.elapsed().as_millis();
            eprintln!(
                "traiderctl: < HTTP {status}, {} bytes after {elapsed_ms} ms",
                bytes.len()
            );
        }
        if !(200..300).contains(&status) {
            return Err(http_error(call, status, &bytes));
        }
        let body = serde_json::from_slice(&bytes).map_err(|e| CtlError::Unreadable {
            status,
            reason: format!("not JSON: {e}"),
        })?;
        Ok(Answer { status, body })
    }

    fn transport_error(&self, call: &Call, error: &reqwest::Error) -> CtlError {
        let kind = transport_kind(error, self.timeout_ms);
        CtlError::Unreachable {
            addr: self.addr.clone(),
            kind,
            detail: innermost(error),
            is_command: call.is_command(),
        }
    }
}

/// Every certificate in a PEM file; a file without one is an error.
pub fn read_ca_certs(path: &Path) -> Result<Vec<Certificate>, CtlError> {
    let ca_error = |reason: String| CtlError::CaCert {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
    let certificates = Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(innermost(&e)))?;
    if certificates.is_empty() {
        return Err(ca_error("no PEM certificate in it".to_string()));
    }
    Ok(certificates)
}

/// Which failure it was, from the causes `reqwest`, `hyper-util`, `tokio-rustls` and the OS
/// chain together.
fn transport_kind(error: &reqwest::Error, timeout_ms: u64) -> TransportKind {
    let timeout = TransportKind::Timeout {
        after_ms: timeout_ms,
    };
    if error.is_timeout() {
        return timeout;
    }
    let mut cause = error.source();
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return TransportKind::ConnectionRefused,
                std::io::ErrorKind::TimedOut => return timeout,
                _ => {}
            }
        }
        if error.downcast_ref::<rustls::Error>().is_some() {
            return TransportKind::Tls;
        }
        // hyper-util's connector names a failed lookup "dns error".
        if error.to_string() == "dns error" {
            return TransportKind::Dns;
        }
        cause = next_cause(error);
    }
    if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Lost
    }
}

/// The error `error` wraps. An `io::Error`'s own `source` skips the error it wraps (a
/// `rustls::Error` inside tokio-rustls' `io::Error`, itself inside another): take that one.
fn next_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        Some(inner) => Some(inner),
        None => error.source(),
    }
}

/// The deepest cause's text: the one that says what happened ("Connection refused (os
/// error 111)", "invalid peer certificate: UnknownIssuer").
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = error;
    while let Some(cause) = next_cause(deepest) {
        deepest = cause;
    }
    deepest.to_string()
}
