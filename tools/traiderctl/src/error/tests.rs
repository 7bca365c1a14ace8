//! The mapping of answers and transport failures to exit codes and messages, row by row.

use super::*;

fn answer(call: &Call, status: u16, body: &str) -> (u8, String) {
    let err = http_error(call, status, body.as_bytes());
    (err.exit().code(), err.to_string())
}

fn json_error(code: &str, message: &str) -> String {
    serde_json::json!({"error": code, "message": message}).to_string()
}

#[test]
fn exit_codes_are_the_documented_numbers() {
    // Proves the numbers the help text and the module doc promise.
    let codes = [
        Exit::Success,
        Exit::Unexpected,
        Exit::Usage,
        Exit::Unreachable,
        Exit::AuthFailed,
        Exit::Refused,
    ]
    .map(Exit::code);
    assert_eq!(codes, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn every_401_fails_authentication_whatever_the_body() {
    // Proves 401 is exit 4 with the token_* codes explained, and with a plain-text,
    // an empty or a JSON body without a known code.
    let status = &Call::Status;
    let cases = [
        (
            json_error("token_missing", "no Authorization header"),
            "token_missing (the daemon got no token)",
        ),
        (
            json_error("token_malformed", "x"),
            "token_malformed (the daemon cannot read this token",
        ),
        (
            json_error("token_unknown", "unknown token"),
            "token_unknown (the daemon does not know this token",
        ),
        (
            "Unauthorized\nmore".to_string(),
            "authentication failed: HTTP 401: Unauthorized",
        ),
        (
            String::new(),
            "authentication failed: HTTP 401: Unauthorized",
        ),
        (
            json_error("weird", "who knows"),
            "authentication failed: weird: who knows",
        ),
    ];
    for (body, expected) in cases {
        let (exit, text) = answer(status, 401, &body);
        assert_eq!(exit, 4, "{body}");
        assert!(text.starts_with("authentication failed: "), "{text}");
        assert!(text.contains(expected), "{body}: {text}");
        assert!(!text.contains('\n'), "one line: {text:?}");
    }
}

#[test]
fn totp_codes_on_403_and_429_fail_authentication_with_a_hint() {
    // Proves each totp_* code (403, and 429 for the lockout) is exit 4 with a message
    // that says what to do.
    let resume = &Call::Resume;
    let cases = [
        (
            403,
            "totp_required",
            "this needs a TOTP code",
            "totp_required (resume needs a second factor: give --totp CODE)",
        ),
        (
            403,
            "totp_not_configured",
            "x",
            "totp_not_configured (this token's identity has no totp_secret",
        ),
        (
            403,
            "totp_invalid",
            "wrong TOTP code",
            "totp_invalid (wrong TOTP code; check the code and this machine's clock)",
        ),
        (
            403,
            "totp_replayed",
            "x",
            "totp_replayed (this code was already used; wait for the next one)",
        ),
        (
            429,
            "totp_locked_out",
            "too many wrong TOTP codes; retry in 300 s",
            "totp_locked_out (too many wrong TOTP codes; retry in 300 s)",
        ),
        (
            429,
            "totp_locked_out",
            "",
            "totp_locked_out (too many wrong TOTP codes; wait before trying again)",
        ),
        (403, "token_unknown", "x", "token_unknown ("),
    ];
    for (status, code, message, expected) in cases {
        let (exit, text) = answer(resume, status, &json_error(code, message));
        assert_eq!(exit, 4, "{status} {code}");
        assert_eq!(
            text.strip_prefix("authentication failed: ")
                .map(|t| t.starts_with(expected)),
            Some(true),
            "{status} {code}: {text}"
        );
    }
}

#[test]
fn a_403_without_a_readable_code_fails_authentication() {
    // Proves a plain-text 403 (a proxy, an older daemon) counts as an auth failure.
    let (exit, text) = answer(&Call::Kill { flatten: false }, 403, "Forbidden");
    assert_eq!(
        (exit, text.as_str()),
        (4, "authentication failed: HTTP 403: Forbidden")
    );
}

#[test]
fn role_forbidden_is_a_refusal_naming_the_role_needed() {
    // Proves 403 role_forbidden is exit 5 and names the command and the role it needs.
    let message = "this needs role admin; the caller is operator";
    let (exit, text) = answer(&Call::Resume, 403, &json_error("role_forbidden", message));
    assert_eq!(exit, 5);
    assert_eq!(
        text,
        "refused: role_forbidden: resume needs the admin role \
         (this needs role admin; the caller is operator)"
    );
    let (exit, text) = answer(
        &Call::Kill { flatten: true },
        403,
        r#"{"error":"role_forbidden"}"#,
    );
    assert_eq!(
        (exit, text.as_str()),
        (5, "refused: role_forbidden: kill needs the operator role")
    );
}

#[test]
fn bad_requests_and_engine_refusals_are_refusals() {
    // Proves 400 bad_request and the 409 refused_* codes are exit 5 with the daemon's
    // message, and a 400 or 409 with a plain body is a refusal all the same.
    let set = &Call::LimitsSet {
        limit: "max_position".to_string(),
        value: "x".to_string(),
        instrument: None,
    };
    let cases = [
        (
            400,
            json_error("bad_request", "unknown limit \"nope\""),
            "refused: bad_request: unknown limit \"nope\"",
        ),
        (
            409,
            json_error("refused_value", "0 is not allowed"),
            "refused: refused_value: 0 is not allowed",
        ),
        (
            409,
            json_error("refused_role", "x"),
            "refused: refused_role: x",
        ),
        (
            409,
            json_error("refused_second_factor", ""),
            "refused: refused_second_factor",
        ),
        (
            400,
            "Failed to parse the request body as JSON".to_string(),
            "refused: HTTP 400: Failed to parse the request body as JSON",
        ),
        (409, String::new(), "refused: HTTP 409: Conflict"),
    ];
    for (status, body, expected) in cases {
        let (exit, text) = answer(set, status, &body);
        assert_eq!((exit, text.as_str()), (5, expected), "{status} {body}");
    }
}

#[test]
fn other_statuses_are_unexpected() {
    // Proves 5xx, 404, a 429 without a TOTP code and a 3xx are exit 1 with the status.
    let cases = [
        (
            503,
            json_error("unavailable", "the hot path is not answering"),
            "the daemon answered HTTP 503: unavailable: the hot path is not answering",
        ),
        (
            500,
            "boom".to_string(),
            "the daemon answered HTTP 500: boom",
        ),
        (
            502,
            String::new(),
            "the daemon answered HTTP 502: Bad Gateway",
        ),
        (
            404,
            String::new(),
            "the daemon answered HTTP 404: Not Found",
        ),
        (
            404,
            "<!DOCTYPE HTML>\n<html>".to_string(),
            "the daemon answered HTTP 404: Not Found",
        ),
        (
            429,
            "slow down".to_string(),
            "the daemon answered HTTP 429: slow down",
        ),
        (
            301,
            String::new(),
            "the daemon answered HTTP 301: Moved Permanently",
        ),
    ];
    for (status, body, expected) in cases {
        let (exit, text) = answer(&Call::Status, status, &body);
        assert_eq!((exit, text.as_str()), (1, expected), "{status}");
    }
}

#[test]
fn the_daemon_text_is_cut_to_one_clean_line() {
    // Proves a long, multi-line or control-laden body cannot spill over the one line.
    let body = format!("{}\nsecond line", "x".repeat(500));
    let (_, text) = answer(&Call::Status, 500, &body);
    assert_eq!(
        text,
        format!("the daemon answered HTTP 500: {}", "x".repeat(200))
    );
    let (_, text) = answer(&Call::Status, 500, "evil\u{1b}[2Jtext");
    assert_eq!(text, "the daemon answered HTTP 500: evil[2Jtext");
}

#[test]
fn transport_failures_are_unreachable_with_what_happened() {
    // Proves every transport kind is exit 3 with the address and the cause; a command
    // that timed out or lost its connection warns it may have been applied.
    let addr = "http://127.0.0.1:9464";
    let unreachable = |kind, detail: &str, is_command| CtlError::Unreachable {
        addr: addr.to_string(),
        kind,
        detail: detail.to_string(),
        is_command,
    };
    let timeout = TransportKind::Timeout { after_ms: 5000 };
    let cases = [
        (
            TransportKind::ConnectionRefused,
            "Connection refused (os error 111)",
            false,
            "cannot reach the daemon at http://127.0.0.1:9464: connection refused".to_string(),
        ),
        (
            TransportKind::Dns,
            "failed to lookup address information",
            false,
            format!(
                "cannot reach the daemon at {addr}: cannot resolve the host (failed to lookup address information)"
            ),
        ),
        (
            timeout,
            "operation timed out",
            false,
            format!("cannot reach the daemon at {addr}: no answer within 5000 ms"),
        ),
        (
            timeout,
            "operation timed out",
            true,
            format!(
                "cannot reach the daemon at {addr}: no answer within 5000 ms; the command may have reached it: check `traiderctl status`"
            ),
        ),
        (
            TransportKind::Tls,
            "invalid peer certificate: UnknownIssuer",
            false,
            format!(
                "cannot reach the daemon at {addr}: TLS handshake failed: invalid peer certificate: UnknownIssuer (a self-signed certificate? give --ca-cert PATH)"
            ),
        ),
        (
            TransportKind::Tls,
            "received corrupt message",
            false,
            format!(
                "cannot reach the daemon at {addr}: TLS handshake failed: received corrupt message"
            ),
        ),
        (
            TransportKind::Connect,
            "Network is unreachable",
            false,
            format!("cannot reach the daemon at {addr}: Network is unreachable"),
        ),
        (
            TransportKind::Lost,
            "connection closed before message completed",
            true,
            format!(
                "lost the connection to the daemon at {addr} before it answered: connection closed before message completed; the command may have reached it: check `traiderctl status`"
            ),
        ),
    ];
    for (kind, detail, is_command, expected) in cases {
        let err = unreachable(kind, detail, is_command);
        assert_eq!(err.exit(), Exit::Unreachable, "{kind:?}");
        assert!(err.is_retryable(), "{kind:?}");
        assert_eq!(err.to_string(), expected, "{kind:?}");
    }
}

#[test]
fn local_failures_have_their_own_exit_codes() {
    // Proves no token is exit 4, bad local files exit 1 and bad arguments exit 2.
    let path = PathBuf::from("/etc/traider/token");
    let reason = "x".to_string();
    let cases = [
        (CtlError::TokenMissing, 4),
        (
            CtlError::TokenFile {
                path: path.clone(),
                reason: reason.clone(),
            },
            1,
        ),
        (CtlError::TokenUnsendable, 1),
        (
            CtlError::CaCert {
                path: path.clone(),
                reason: reason.clone(),
            },
            1,
        ),
        (
            CtlError::SecretFile {
                path,
                reason: reason.clone(),
            },
            1,
        ),
        (
            CtlError::Random {
                reason: reason.clone(),
            },
            1,
        ),
        (
            CtlError::Client {
                reason: reason.clone(),
            },
            1,
        ),
        (
            CtlError::Unreadable {
                status: 200,
                reason,
            },
            1,
        ),
        (
            CtlError::AddrInvalid {
                addr: "x".into(),
                reason: "y".into(),
            },
            2,
        ),
        (CtlError::TotpCode, 2),
        (CtlError::TokenName { name: "a b".into() }, 2),
    ];
    for (err, exit) in cases {
        assert_eq!(err.exit().code(), exit, "{err}");
        assert!(!err.is_retryable(), "{err}");
    }
}
