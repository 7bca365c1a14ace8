//! The real `traiderctl` binary on its own: exit codes and messages when the daemon is away,
//! silent or no token is given, `token new`, and `--help`. Against a real daemon it is
//! tested in `admin.rs`.

use std::net::TcpListener;
use std::process::{Command, Output};

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
        Some(traider_admin_api::auth::token_sha256_hex(token).as_str())
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
