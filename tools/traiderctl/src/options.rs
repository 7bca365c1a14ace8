//! Where the daemon is and who we are: the admin address as the operator types it, and the
//! bearer token from `--token-file` or `TRAIDER_TOKEN`.
//!
//! Invariant: the token's text is reachable only through [`Token::as_str`], which the HTTP
//! client alone calls; `Debug` prints `<redacted>` and no error carries it.

use super::error::CtlError;
use reqwest::Url;
use std::fmt;
use std::path::Path;

/// Where the daemon's admin endpoint listens unless told otherwise.
pub const ADDR_DEFAULT: &str = "http://127.0.0.1:9464";

/// `--addr` as typed → the base URL requests go to: a bare `host:port` means
/// `http://host:port`; `http://` and `https://` are kept; trailing slashes go. Anything
/// else (another scheme, no host, a query or fragment, credentials) is refused.
pub fn normalize_addr(text: &str) -> Result<String, CtlError> {
    let text = text.trim();
    let invalid = |reason: &str| CtlError::AddrInvalid {
        addr: text.to_string(),
        reason: reason.to_string(),
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment has no place in the address"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "give credentials with --token-file, not in the address",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `--totp` as typed → the code to send: exactly 6 ASCII digits (spaces around dropped).
pub fn parse_totp_code(text: &str) -> Result<String, CtlError> {
    let code = text.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CtlError::TotpCode);
    }
    Ok(code.to_string())
}

/// A bearer token. Its text never shows in `Debug` or any message.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token with surrounding whitespace trimmed, or None if nothing is left.
    pub fn new(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Self(trimmed.to_string()))
    }

    /// The secret itself, for the `Authorization` header only.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The token to send: the contents of `token_file` if given (trimmed; an empty or unreadable
/// file is an error), else `token_env` (the value of `TRAIDER_TOKEN`; empty counts as
/// unset), else [`CtlError::TokenMissing`].
pub fn resolve_token(
    token_file: Option<&Path>,
    token_env: Option<&str>,
) -> Result<Token, CtlError> {
    if let Some(path) = token_file {
        let file_error = |reason: String| CtlError::TokenFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| file_error("not UTF-8 text".into()))?;
        return Token::new(&text).ok_or_else(|| file_error("the file is empty".into()));
    }
    token_env.and_then(Token::new).ok_or(CtlError::TokenMissing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exit;

    #[test]
    fn normalize_addr_adds_http_keeps_https_and_drops_trailing_slashes() {
        // Proves a bare host:port becomes http://, a given scheme is kept, trailing slashes
        // and surrounding spaces go, and a path prefix (behind a proxy) stays.
        let cases = [
            ("127.0.0.1:9464", "http://127.0.0.1:9464"),
            ("localhost:9464/", "http://localhost:9464"),
            ("http://10.0.0.5:9464", "http://10.0.0.5:9464"),
            ("http://10.0.0.5:9464/", "http://10.0.0.5:9464"),
            (
                "https://traider.example:8443",
                "https://traider.example:8443",
            ),
            (
                "https://traider.example:8443//",
                "https://traider.example:8443",
            ),
            (
                " HTTPS://Traider.Example:8443/ ",
                "https://traider.example:8443",
            ),
            ("[::1]:9464", "http://[::1]:9464"),
            (
                "https://proxy.example/traider/",
                "https://proxy.example/traider",
            ),
            (ADDR_DEFAULT, ADDR_DEFAULT),
        ];
        for (typed, expected) in cases {
            assert_eq!(normalize_addr(typed).expect(typed), expected, "{typed}");
        }
    }

    #[test]
    fn normalize_addr_refuses_what_is_not_an_http_address() {
        // Proves other schemes, a missing host, queries, credentials and junk are usage
        // errors that name the address.
        for bad in [
            "ftp://host:21",
            "ws://127.0.0.1:9464",
            "http://",
            "",
            "http://host:9464/?x=1",
            "http://host:9464/#top",
            "http://user:pw@host:9464",
            "host:notaport",
        ] {
            let err = normalize_addr(bad).expect_err(bad);
            assert_eq!(err.exit(), Exit::Usage, "{bad}");
            assert!(err.to_string().contains("invalid address"), "{bad}: {err}");
        }
    }

    #[test]
    fn parse_totp_code_takes_six_digits_only() {
        // Proves 6 ASCII digits pass (spaces around trimmed) and anything else is a usage
        // error.
        assert_eq!(parse_totp_code("012345").expect("valid"), "012345");
        assert_eq!(parse_totp_code(" 987654\n").expect("valid"), "987654");
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６", "-12345"] {
            let err = parse_totp_code(bad).expect_err(bad);
            assert_eq!(err.exit(), Exit::Usage, "{bad}");
        }
    }

    #[test]
    fn resolve_token_prefers_the_file_and_trims_it() {
        // Proves --token-file wins over TRAIDER_TOKEN and surrounding whitespace is trimmed
        // from both.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "  from-file\n\n").expect("written");
        let token = resolve_token(Some(&path), Some("from-env")).expect("file read");
        assert_eq!(token.as_str(), "from-file");
        let token = resolve_token(None, Some("\tfrom-env \n")).expect("env read");
        assert_eq!(token.as_str(), "from-env");
    }

    #[test]
    fn resolve_token_refuses_an_empty_or_missing_file_even_with_the_env_set() {
        // Proves a bad --token-file is an error of its own (exit 1) naming the file, never a
        // silent fall-back to TRAIDER_TOKEN.
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n\t\n").expect("written");
        let missing = dir.path().join("missing");
        for (path, reason) in [(&empty, "the file is empty"), (&missing, "No such file")] {
            let err = resolve_token(Some(path), Some("from-env")).expect_err("refused");
            assert_eq!(err.exit(), Exit::Unexpected);
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(reason), "{text}");
        }
    }

    #[test]
    fn resolve_token_without_any_token_says_how_to_give_one() {
        // Proves no file and no (or an empty) TRAIDER_TOKEN is an authentication failure
        // (exit 4) whose message names both ways to give a token.
        for env in [None, Some(""), Some("  \n")] {
            let err = resolve_token(None, env).expect_err("no token");
            assert_eq!(err.exit(), Exit::AuthFailed);
            let text = err.to_string();
            assert!(text.contains("--token-file") && text.contains("TRAIDER_TOKEN"));
        }
    }

    #[test]
    fn token_debug_never_shows_the_token() {
        // Proves Debug output is redacted.
        let token = Token::new("s3cr3t-token").expect("non-empty");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }
}
