//! The real `traiderctl` binary: exit codes and messages when the daemon is away or no
//! token is given, and what goes over the wire against a one-shot stand-in HTTP server
//! (method, path, headers, body) with the answer it prints.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread::JoinHandle;

const TOKEN: &str = "test-token-0123456789abcdef";

/// `traiderctl` with a clean environment: no address, CA or token unless given.
fn traiderctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_traiderctl"));
    for name in ["TRAIDER_ADMIN_ADDR", "TRAIDER_ADMIN_CA", "TRAIDER_TOKEN"] {
        command.env_remove(name);
    }
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("traiderctl runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An address nothing listens on: a port the OS just handed out, closed again.
fn closed_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

/// One request as the stand-in server read it.
struct Request {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one connection: reads one request, answers `status` with a JSON `body`.
fn serve_once(status: &str, body: &str) -> (String, JoinHandle<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let (status, body) = (status.to_string(), body.to_string());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("a connection");
        let request = read_request(&mut stream);
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).expect("answer written");
        request
    });
    (addr, handle)
}

fn read_request(stream: &mut TcpStream) -> Request {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).expect("request read");
        assert!(n > 0, "the request ended early");
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = (headers.iter())
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().expect("a length"));
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).expect("body read");
        assert!(n > 0, "the body ended early");
        body.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(body).expect("UTF-8 body");
    Request {
        line,
        headers,
        body,
    }
}

#[test]
fn an_unreachable_daemon_exits_3_naming_the_address() {
    // Proves a refused connection is exit 3 with the one-line message naming the address,
    // and the token appears nowhere in the output.
    let addr = closed_addr();
    let output = run(traiderctl()
        .args(["status", "--addr", &addr])
        .env("TRAIDER_TOKEN", TOKEN));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).trim_end(),
        format!("traiderctl: cannot reach the daemon at http://{addr}: connection refused")
    );
    assert!(stdout(&output).is_empty());
    assert!(!stderr(&output).contains(TOKEN));
}

#[test]
fn no_token_exits_4_before_connecting() {
    // Proves `status` without --token-file or TRAIDER_TOKEN is exit 4 and says how to give
    // a token (even though the daemon is also unreachable: the token is checked first).
    let addr = closed_addr();
    let output = run(traiderctl().args(["--addr", &addr, "status"]));
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.starts_with("traiderctl: no token configured"),
        "{text}"
    );
    assert!(
        text.contains("--token-file") && text.contains("TRAIDER_TOKEN"),
        "{text}"
    );
}

#[test]
fn kill_sends_the_token_and_body_and_prints_the_outcome() {
    // Proves a command is POSTed to its path with the bearer token read from --token-file
    // (trimmed), its JSON body and the TOTP code, and the outcome is printed on one line.
    let answer =
        r#"{"command":"kill","request_id":7,"outcome":"applied","trading_state":"halted"}"#;
    let (addr, server) = serve_once("200 OK", answer);
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("  {TOKEN}\n")).expect("written");
    let output = run(traiderctl()
        .args(["kill", "--flatten", "--totp", "123456", "--addr", &addr])
        .arg("--token-file")
        .arg(&token_file)
        .env("TRAIDER_TOKEN", "not-this-one"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "kill: applied (trading halted)\n");
    let request = server.join().expect("server ran");
    assert_eq!(request.line, "POST /api/v1/kill HTTP/1.1");
    let authorization = format!("Bearer {TOKEN}");
    assert_eq!(
        request.header("authorization"),
        Some(authorization.as_str())
    );
    assert_eq!(request.header("x-totp"), Some("123456"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&request.body).expect("JSON body");
    assert_eq!(body, serde_json::json!({"flatten": true}));
}

#[test]
fn a_replayed_totp_code_exits_4_with_the_daemon_code() {
    // Proves a 403 totp_replayed answer is exit 4 with the explained code on stderr.
    let answer = r#"{"error":"totp_replayed","message":"this TOTP code was already used"}"#;
    let (addr, server) = serve_once("403 Forbidden", answer);
    let output = run(traiderctl()
        .args(["resume", "--totp", "654321", "--addr", &addr])
        .env("TRAIDER_TOKEN", TOKEN));
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).trim_end(),
        "traiderctl: authentication failed: totp_replayed \
         (this code was already used; wait for the next one)"
    );
    let request = server.join().expect("server ran");
    assert_eq!(request.line, "POST /api/v1/resume HTTP/1.1");
    assert_eq!(request.header("x-totp"), Some("654321"));
}

#[test]
fn a_pending_limit_change_exits_0_and_json_prints_the_answer() {
    // Proves `limits set` PUTs the value as a JSON string with the instrument, a 202 is
    // success, and --json prints the daemon's answer.
    let answer = r#"{"command":"set_limit","request_id":9,"outcome":"pending"}"#;
    let (addr, server) = serve_once("202 Accepted", answer);
    let output = run(traiderctl()
        .args(["--json", "limits", "set", "max_position", "0.25"])
        .args(["--instrument", "BTC-USD", "--addr", &addr])
        .env("TRAIDER_TOKEN", TOKEN));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(printed["outcome"], "pending");
    assert_eq!(printed["request_id"], 9);
    let request = server.join().expect("server ran");
    assert_eq!(request.line, "PUT /api/v1/limits HTTP/1.1");
    assert_eq!(request.header("x-totp"), None, "no --totp, no header");
    let body: serde_json::Value = serde_json::from_str(&request.body).expect("JSON body");
    let expected = r#"{"limit":"max_position","value":"0.25","instrument":"BTC-USD"}"#;
    let expected: serde_json::Value = serde_json::from_str(expected).expect("JSON");
    assert_eq!(body, expected);
}

#[test]
fn reads_are_gets_without_the_totp_code() {
    // Proves `orders` GETs its path, sends no X-TOTP even when --totp is given, and prints
    // the table.
    let answer = r#"{"count":1,"orders":[{"client_order_id":"c-1","instrument":"BTC-USD"}]}"#;
    let (addr, server) = serve_once("200 OK", answer);
    let output = run(traiderctl()
        .args(["orders", "--totp", "111111", "--addr", &addr])
        .env("TRAIDER_TOKEN", TOKEN));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("1 live order\nCLIENT_ORDER_ID"));
    let request = server.join().expect("server ran");
    assert_eq!(request.line, "GET /api/v1/orders HTTP/1.1");
    assert_eq!(request.header("x-totp"), None);
    assert!(request.body.is_empty());
}

#[test]
fn token_new_json_prints_a_token_the_digest_matches() {
    // Proves `token new --json` works offline and prints a token whose SHA-256 is the
    // printed digest; a bad name is a usage error (exit 2).
    let output =
        run(traiderctl().args(["token", "new", "--name", "ci", "--role", "admin", "--json"]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    let token = printed["token"].as_str().expect("a token");
    assert_eq!(
        printed["sha256"].as_str(),
        Some(traider_tools::admin::auth::token_sha256_hex(token).as_str())
    );
    assert!(
        printed["otpauth_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://"))
    );
    let output = run(traiderctl().args(["token", "new", "--name", "a b", "--role", "viewer"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn help_lists_the_exit_codes() {
    // Proves `--help` documents every exit code.
    let output = run(traiderctl().arg("--help"));
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for code in [
        "0  success",
        "1  anything else",
        "2  usage",
        "3  the daemon is unreachable",
    ] {
        assert!(text.contains(code), "{code}: {text}");
    }
    assert!(text.contains("4  authentication failed") && text.contains("5  the daemon refused"));
}

#[test]
fn a_daemon_that_never_answers_times_out_with_exit_3() {
    // Proves --timeout-ms bounds the wait: a listener that never answers (the kernel accepts
    // the connection, nobody reads it) is exit 3 "no answer within N ms", and for a command
    // the message warns it may have been applied.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let output = run(traiderctl()
        .args(["cancel-all", "--timeout-ms", "300", "--addr", &addr])
        .env("TRAIDER_TOKEN", TOKEN));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "traiderctl: cannot reach the daemon at http://{addr}: no answer within 300 ms; \
             the command may have reached it: check `traiderctl status`"
        )
    );
    drop(listener);
}
