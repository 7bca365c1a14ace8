//! The admin endpoint of a real `traiderd` paper-trading against `coinbase-replay`, over
//! real HTTP: `traiderctl` kill and resume, SIGUSR1, the endpoint × role × credential
//! matrix, `/metrics` through `promtool`, and TLS.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use traider_testkit::daemon as common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;
use traider_admin_api::auth::{token_sha256_hex, totp_code};
use traider_core::control::{StateCause, TradingState};
use traider_core::decision::Decision;
use traider_testkit::watch::{JournalWatch, Seen, until_answered};

/// The log line the daemon prints once its admin endpoint accepts connections.
const ADMIN_LISTENING: &str = "admin endpoint listening";

/// The last recorded heartbeat counter: a larger one is synthesized after the recording.
const LAST_RECORDED_HEARTBEAT: u64 = 41_715;

/// How many times the journal's trading state became HALTED for `cause`.
fn halts(records: &[Seen], cause: StateCause) -> usize {
    records
        .iter()
        .filter(|r| {
            matches!(r.decision, Some(Decision::TradingState { state: TradingState::Halted, cause: c, .. }) if c == cause)
        })
        .count()
}

/// One configured identity: its token and (admins) TOTP secret.
struct Ident {
    name: &'static str,
    role: &'static str,
    token: String,
    secret: Option<String>,
}

fn random_hex(bytes: usize) -> String {
    let mut rng = fastrand::Rng::new();
    (0..bytes).map(|_| format!("{:02x}", rng.u8(..))).collect()
}

fn random_base32() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = fastrand::Rng::new();
    // 32 characters of base32 = 20 bytes.
    (0..32).map(|_| ALPHABET[rng.usize(..32)] as char).collect()
}

fn ident(name: &'static str, role: &'static str) -> Ident {
    Ident {
        name,
        role,
        token: random_hex(32),
        secret: (role == "admin").then(random_base32),
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Ident {
    /// The TOTP code `steps` 30-second steps from now.
    fn code(&self, steps: i64) -> String {
        let at = now_s() as i64 + steps * 30;
        totp_code(self.secret.as_deref().unwrap(), at as u64).unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A paper config serving the admin endpoint on `port` with `idents`, plus `extra` lines
/// in `[admin]`.
fn admin_config(dir: &Path, port: u16, idents: &[&Ident], extra: &str) -> PathBuf {
    let path = test_paper_config(
        dir,
        &[
            (
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:{port}\"\n{extra}"),
            ),
            ("metrics_public = true", "metrics_public = false"),
            ("interval_s = 5", "interval_s = 0"),
        ],
    );
    let mut text = std::fs::read_to_string(&path).unwrap();
    for ident in idents {
        text.push_str(&format!(
            "\n[[admin.tokens]]\nname = \"{}\"\nrole = \"{}\"\nsha256 = \"{}\"\n",
            ident.name,
            ident.role,
            token_sha256_hex(&ident.token)
        ));
        if let Some(secret) = &ident.secret {
            text.push_str(&format!("totp_secret = \"{secret}\"\n"));
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `traiderctl` against `addr` as `ident` with `args`.
fn ctl(addr: &str, ident: Option<&Ident>, args: &[&str]) -> Output {
    let mut command = traider_testkit::bins::Bin::Traiderctl.command();
    command
        .args(["--addr", addr])
        .args(args)
        .env_remove("TRAIDER_TOKEN");
    if let Some(ident) = ident {
        command.env("TRAIDER_TOKEN", &ident.token);
    }
    command.output().expect("traiderctl runs")
}

fn ctl_json(addr: &str, ident: &Ident, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = ctl(addr, Some(ident), &all);
    assert!(output.status.success(), "traiderctl {args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn code_of(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// Proves the kill switch and resume as an operator runs them: `traiderctl kill` (an
// operator) halts paper trading and every open order is cancelled; the journal shows the
// command with its actor, the HALTED state with cause and actor, and the cancels it caused.
// `traiderctl resume` is refused for the operator (exit 5), for the admin without a TOTP
// code or with a wrong one (exit 4), works with a valid code (quoting resumes), and the
// same code is never accepted twice (exit 4). An admin tightens a limit without a code (it
// shows and binds), loosening needs the code, an off-grid value or an operator is refused;
// the operator switches the strategy off and cancels everything, the admin switches it on
// with a code. SIGUSR1 then halts again, as actor SIGUSR1, and a restart on the same journal
// comes back HALTED.
#[test]
fn kill_halts_and_only_an_admin_with_totp_resumes() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (_replay, replay_port) = start_replay_server(&capture, &["--pace", "recorded", "--loop"]);
    let (ops, root, eye) = (
        ident("ops", "operator"),
        ident("root", "admin"),
        ident("eye", "viewer"),
    );
    let port = free_port();
    let config = admin_config(dir.path(), port, &[&ops, &root, &eye], "");
    let journal = dir.path().join("journal");
    let mut daemon = start_daemon(&config, replay_port, &journal);
    let mut log = daemon.log_lines();
    log.wait_for(ADMIN_LISTENING);
    let addr = format!("127.0.0.1:{port}");
    let open = |who: &Ident| ctl_json(&addr, who, &["orders"])["count"].as_u64().unwrap();
    until_answered("the daemon quotes", || open(&eye) >= 1);

    let kill = ctl(&addr, Some(&ops), &["kill"]);
    assert_eq!(code_of(&kill), 0, "{kill:?}");
    assert!(
        String::from_utf8_lossy(&kill.stdout).contains("applied"),
        "{kill:?}"
    );
    until_answered("every open order cancelled", || open(&eye) == 0);
    let status = ctl_json(&addr, &eye, &["status"]);
    assert_eq!(status["trading_state"], "halted");
    assert_eq!(status["state_cause"], "kill");
    assert_eq!(status["state_actor"]["name"], "ops");

    let refused = ctl(&addr, Some(&ops), &["resume"]);
    assert_eq!(
        code_of(&refused),
        5,
        "an operator may not resume: {}",
        stderr_of(&refused)
    );
    let bare = ctl(&addr, Some(&root), &["resume"]);
    assert_eq!(code_of(&bare), 4, "no TOTP code: {}", stderr_of(&bare));
    let wrong = ctl(&addr, Some(&root), &["resume", "--totp", &root.code(-4)]);
    assert_eq!(code_of(&wrong), 4, "an expired code: {}", stderr_of(&wrong));
    let code = root.code(0);
    let resumed = ctl(&addr, Some(&root), &["resume", "--totp", &code]);
    assert_eq!(code_of(&resumed), 0, "{resumed:?}");
    assert_eq!(
        ctl_json(&addr, &eye, &["status"])["trading_state"],
        "active"
    );
    let again = ctl(&addr, Some(&root), &["resume", "--totp", &code]);
    assert_eq!(
        code_of(&again),
        4,
        "the code was used: {}",
        stderr_of(&again)
    );
    assert!(
        stderr_of(&again).contains("totp_replayed"),
        "{}",
        stderr_of(&again)
    );
    until_answered("quoting resumed", || open(&eye) >= 1);

    // Limits: an admin tightens one without a code and it binds; loosening needs the code.
    let set = |who: &Ident, value: &str, totp: Option<&str>| {
        let mut args = vec![
            "limits",
            "set",
            "max_position",
            value,
            "--instrument",
            "BTC-USD",
        ];
        if let Some(code) = totp {
            args.extend(["--totp", code]);
        }
        ctl(&addr, Some(who), &args)
    };
    let tighter = set(&root, "0.0002", None);
    assert_eq!(code_of(&tighter), 0, "{tighter:?}");
    let limits = ctl_json(&addr, &eye, &["limits", "show"]);
    assert_eq!(
        limits["instruments"]["BTC-USD"]["max_position"], "0.0002",
        "{limits}"
    );
    let looser = set(&root, "0.001", None);
    assert_eq!(
        code_of(&looser),
        4,
        "loosening needs the code: {}",
        stderr_of(&looser)
    );
    let bad = set(&root, "0.000000001", None);
    assert_eq!(code_of(&bad), 5, "off the size grid: {}", stderr_of(&bad));
    let by_operator = set(&ops, "0.0001", None);
    assert_eq!(code_of(&by_operator), 5, "{}", stderr_of(&by_operator));
    // The reads in human form, and the operator's strategy switch and cancel-all.
    for read in ["status", "positions", "orders", "limits"] {
        let args: &[&str] = if read == "limits" {
            &["limits", "show"]
        } else {
            &[read]
        };
        let output = ctl(&addr, Some(&eye), args);
        assert_eq!(code_of(&output), 0, "{read}: {output:?}");
        assert!(!output.stdout.is_empty(), "{read} printed nothing");
    }
    let off = ctl(&addr, Some(&ops), &["strategy", "disable"]);
    assert_eq!(code_of(&off), 0, "{off:?}");
    assert_eq!(
        ctl_json(&addr, &eye, &["status"])["strategy_enabled"],
        false
    );
    let cancel = ctl(&addr, Some(&ops), &["cancel-all"]);
    assert_eq!(code_of(&cancel), 0, "{cancel:?}");
    until_answered("cancel-all with the strategy off", || open(&eye) == 0);
    let on = ctl(
        &addr,
        Some(&root),
        &["strategy", "enable", "--totp", &root.code(1)],
    );
    assert_eq!(code_of(&on), 0, "{on:?}");
    until_answered("quoting again", || open(&eye) >= 1);

    let status = std::process::Command::new("kill")
        .args(["-USR1", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut watch = JournalWatch::new(&journal);
    assert!(
        watch.wait_for(&mut daemon, |records| halts(records, StateCause::Signal)
            >= 1),
        "SIGUSR1 halts: {}",
        log.text()
    );
    let status = ctl_json(&addr, &eye, &["status"]);
    assert_eq!(
        (
            status["state_cause"].as_str(),
            status["state_actor"]["name"].as_str()
        ),
        (Some("signal"), Some("SIGUSR1"))
    );
    let output = interrupt(daemon);
    assert!(output.status.success(), "{}", log.rest());

    // A restart rebuilds the state from the journal: still HALTED, by the same actor.
    watch.catch_up();
    let first_run = watch.records().len();
    let mut restarted = start_daemon(&config, replay_port, &journal);
    let mut log = restarted.log_lines();
    log.wait_for(ADMIN_LISTENING);
    let status = ctl_json(&addr, &eye, &["status"]);
    assert_eq!(status["trading_state"], "halted", "{status}");
    assert_eq!(status["state_actor"]["name"], "SIGUSR1");
    until_answered("nothing working after the restart", || open(&eye) == 0);
    // Nothing is quoted while halted, however much market data comes: 200 frames of it.
    let mut watch = JournalWatch::new(&journal);
    assert!(
        watch.wait_for(&mut restarted, |records| {
            let after = &records[first_run.min(records.len())..];
            after.iter().filter(|r| r.is("md_frame")).count() >= 200
        }),
        "the restarted daemon gets market data: {}",
        log.text()
    );
    assert_eq!(open(&eye), 0, "and nothing quoted while halted");
    drop(interrupt(restarted));
    watch.catch_up();
    let quoted: Vec<&Seen> = watch.records()[first_run..]
        .iter()
        .filter(|r| r.is("order_new"))
        .collect();
    assert!(quoted.is_empty(), "orders decided while halted: {quoted:?}");

    // The journal: the kill command and its actor, the state it caused, the cancels.
    let records = dump(&journal);
    let kill_at = records
        .iter()
        .position(|r| r["kind"] == "admin" && r["detail"]["command"] == "kill")
        .expect("the kill command is journaled");
    assert_eq!(records[kill_at]["detail"]["actor"]["name"], "ops");
    assert_eq!(records[kill_at]["detail"]["actor"]["role"], "operator");
    let after: Vec<&Value> = records[kill_at + 1..]
        .iter()
        .take_while(|r| r["kind"] != "admin" && r["kind"] != "md_frame")
        .collect();
    assert!(
        after.iter().any(|r| r["kind"] == "trading_state"
            && r["detail"]["state"] == "halted"
            && r["detail"]["actor"]["name"] == "ops"),
        "{after:?}"
    );
    let cancels = after
        .iter()
        .filter(|r| {
            r["kind"] == "cancel_request"
                && r["detail"]["reason"]["kind"] == "control"
                && r["detail"]["reason"]["cause"] == "kill"
        })
        .count();
    assert!(cancels >= 1, "the kill's cancels follow it: {after:?}");
    // Every refused resume is journaled with who tried and why.
    let refused: Vec<(String, String)> = records
        .iter()
        .filter(|r| {
            r["kind"] == "admin"
                && r["detail"]["command"] == "audit"
                && r["detail"]["endpoint"] == "resume"
        })
        .map(|r| {
            (
                r["detail"]["actor"]["name"].as_str().unwrap().to_owned(),
                r["detail"]["refusal"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (who, why) in [
        ("ops", "role_forbidden"),
        ("root", "totp_required"),
        ("root", "totp_invalid"),
        ("root", "totp_replayed"),
    ] {
        assert!(
            refused.iter().any(|(w, r)| w == who && r == why),
            "{who} {why} in {refused:?}"
        );
    }
}

/// What a credential is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cred {
    None,
    Wrong,
    Viewer,
    Operator,
    Admin,
    AdminExpired,
    AdminValid,
    AdminReplayed,
}

/// A limit change whose `{n}` grows with every attempt.
const LOOSEN: &str = r#"{"limit":"orders_per_second","value":"{n}"}"#;

/// One endpoint: method, path, body, the role it needs and whether it needs the TOTP code.
struct Target {
    method: &'static str,
    path: &'static str,
    body: &'static str,
    role: u8,
    totp: bool,
}

fn http(
    runtime: &tokio::runtime::Runtime,
    method: &str,
    url: &str,
    token: Option<&str>,
    totp: Option<&str>,
    body: &str,
) -> (u16, String) {
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = client.request(method.parse().unwrap(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(code) = totp {
            request = request.header("X-TOTP", code);
        }
        if !body.is_empty() {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(error) => (0, error.to_string()),
        }
    })
}

// Proves the access matrix: for every endpoint and every credential (none, a wrong token,
// viewer, operator, admin without a code, admin with an expired code, admin with a valid
// code, that code replayed), every improper request is refused with the right status (401
// without a valid token, 403 for a role too low or a missing, expired or replayed code) and
// every proper one is served (200). Each TOTP endpoint has its own admin, so each valid code
// is that admin's first.
#[test]
fn endpoint_role_credential_matrix() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (_replay, replay_port) = start_replay_server(&capture, &["--pace", "recorded", "--loop"]);
    let (ops, eye) = (ident("ops", "operator"), ident("eye", "viewer"));
    let admins = [
        ident("root", "admin"),
        ident("root2", "admin"),
        ident("root3", "admin"),
        ident("root4", "admin"),
    ];
    let port = free_port();
    let mut all: Vec<&Ident> = vec![&ops, &eye];
    all.extend(admins.iter());
    let config = admin_config(dir.path(), port, &all, "totp_failures_max = 100");
    let mut daemon = start_daemon(&config, replay_port, &dir.path().join("journal"));
    daemon.log_lines().wait_for(ADMIN_LISTENING);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let health = http(&runtime, "GET", &format!("{base}/health"), None, None, "");
    assert_eq!(health.0, 200, "the daemon is up");
    let (viewer, operator, admin) = (1, 2, 3);
    let targets = [
        Target {
            method: "GET",
            path: "/api/v1/status",
            body: "",
            role: viewer,
            totp: false,
        },
        Target {
            method: "GET",
            path: "/api/v1/positions",
            body: "",
            role: viewer,
            totp: false,
        },
        Target {
            method: "GET",
            path: "/api/v1/orders",
            body: "",
            role: viewer,
            totp: false,
        },
        Target {
            method: "GET",
            path: "/api/v1/limits",
            body: "",
            role: viewer,
            totp: false,
        },
        Target {
            method: "GET",
            path: "/metrics",
            body: "",
            role: viewer,
            totp: false,
        },
        Target {
            method: "POST",
            path: "/api/v1/cancel-all",
            body: "",
            role: operator,
            totp: false,
        },
        Target {
            method: "POST",
            path: "/api/v1/strategy",
            body: r#"{"enabled":false}"#,
            role: operator,
            totp: false,
        },
        Target {
            method: "POST",
            path: "/api/v1/kill",
            body: r#"{"flatten":false}"#,
            role: operator,
            totp: false,
        },
        Target {
            method: "PUT",
            path: "/api/v1/limits",
            body: r#"{"limit":"orders_per_second","value":"9"}"#,
            role: admin,
            totp: false,
        },
        // Every attempt asks for more than the last applied value: always a loosening.
        Target {
            method: "PUT",
            path: "/api/v1/limits",
            body: LOOSEN,
            role: admin,
            totp: true,
        },
        Target {
            method: "POST",
            path: "/api/v1/strategy",
            body: r#"{"enabled":true}"#,
            role: admin,
            totp: true,
        },
        Target {
            method: "POST",
            path: "/api/v1/resume",
            body: "",
            role: admin,
            totp: true,
        },
    ];
    let creds = [
        Cred::None,
        Cred::Wrong,
        Cred::Viewer,
        Cred::Operator,
        Cred::Admin,
        Cred::AdminExpired,
        Cred::AdminValid,
        Cred::AdminReplayed,
    ];
    let mut totp_admins = admins.iter();
    let mut attempt = 0;
    let mut failures = Vec::new();
    for target in &targets {
        // Each TOTP endpoint spends its own admin's code; the others use the first admin.
        let admin_ident = if target.totp {
            totp_admins.next().unwrap()
        } else {
            &admins[3]
        };
        let mut used_code = None;
        for cred in creds {
            let (token, role) = match cred {
                Cred::None => (None, 0),
                Cred::Wrong => (Some(random_hex(32)), 0),
                Cred::Viewer => (Some(eye.token.clone()), viewer),
                Cred::Operator => (Some(ops.token.clone()), operator),
                _ => (Some(admin_ident.token.clone()), admin),
            };
            let code = match cred {
                Cred::AdminExpired => Some(admin_ident.code(-3)),
                Cred::AdminValid => {
                    let code = admin_ident.code(0);
                    used_code = Some(code.clone());
                    Some(code)
                }
                Cred::AdminReplayed => used_code.clone(),
                _ => None,
            };
            let expected = match cred {
                Cred::None | Cred::Wrong => 401,
                _ if role < target.role => 403,
                Cred::Admin if target.totp => 403,
                Cred::AdminExpired | Cred::AdminReplayed if target.totp => 403,
                _ => 200,
            };
            let url = format!("{base}{}", target.path);
            attempt += 1;
            let body = target.body.replace("{n}", &(20 + attempt).to_string());
            let (status, body) = http(
                &runtime,
                target.method,
                &url,
                token.as_deref(),
                code.as_deref(),
                &body,
            );
            if status != expected {
                failures.push(format!(
                    "{} {} {} as {cred:?}: {status} (want {expected}) {body}",
                    target.method, target.path, target.body
                ));
            }
        }
    }
    drop(interrupt(daemon));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Proves the TOTP lockout: after the configured number of failed codes an admin is locked
// out (429), and while locked even a valid code is refused.
#[test]
fn repeated_bad_codes_lock_the_admin_out() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let (_replay, replay_port) = start_replay_server(&capture, &["--pace", "recorded", "--loop"]);
    let root = ident("root", "admin");
    let port = free_port();
    let config = admin_config(dir.path(), port, &[&root], "totp_failures_max = 3");
    let mut daemon = start_daemon(&config, replay_port, &dir.path().join("journal"));
    daemon.log_lines().wait_for(ADMIN_LISTENING);
    let addr = format!("127.0.0.1:{port}");
    let status = ctl(&addr, Some(&root), &["status"]);
    assert!(status.status.success(), "{status:?}");
    let wrong = root.code(-5);
    let answers: Vec<i32> = (0..3)
        .map(|_| code_of(&ctl(&addr, Some(&root), &["resume", "--totp", &wrong])))
        .collect();
    assert_eq!(answers, vec![4, 4, 4]);
    let locked = ctl(&addr, Some(&root), &["resume", "--totp", &root.code(0)]);
    assert_eq!(code_of(&locked), 4, "{}", stderr_of(&locked));
    assert!(
        stderr_of(&locked).contains("locked"),
        "{}",
        stderr_of(&locked)
    );
    drop(interrupt(daemon));
}

/// The value of one sample line of an exposition, e.g. `name{labels} 1.5`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

// Proves /metrics is valid Prometheus text (Debian's promtool accepts it) and that its
// latency quantiles are the hdrhistograms' percentiles: after the recorded session has
// played (so no new orders change the histograms), the scraped tick-to-order p50, p99 and
// p99.9 equal, to the nanosecond, what the daemon reports in its summary at stop.
#[test]
fn metrics_pass_promtool_and_match_the_latency_summary() {
    let capture = capture();
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("promtool (Debian's prometheus package) is needed; .ci/run installs it");
    let dir = tempfile::tempdir().unwrap();
    let (_replay, replay_port) = start_replay_server(&capture, &["--pace", "asap"]);
    let eye = ident("eye", "viewer");
    let port = free_port();
    let config = admin_config(dir.path(), port, &[&eye], "");
    let journal = dir.path().join("journal");
    let mut daemon = start_daemon(&config, replay_port, &journal);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let scrape = || http(&runtime, "GET", &url, Some(&eye.token), None, "").1;
    let frames = |text: &str| sample(text, "traider_md_frames_total").unwrap_or(0.0);
    // The capture has played once the daemon journals the first heartbeat the replay
    // server synthesizes after it, and its hot path has decoded every frame before that.
    let synthesized = |r: &Seen| {
        r.frame.as_deref().is_some_and(|frame| {
            let frame: Value = serde_json::from_str(frame).unwrap_or_default();
            frame["channel"] == "heartbeats"
                && frame["events"][0]["heartbeat_counter"]
                    .as_u64()
                    .is_some_and(|counter| counter > LAST_RECORDED_HEARTBEAT)
        })
    };
    let mut watch = JournalWatch::new(&journal);
    let played = watch.wait_for(&mut daemon, |records| records.iter().any(synthesized));
    assert!(played, "the recorded session played");
    let recorded = watch.records().iter().position(synthesized).unwrap();
    let recorded = watch.records()[..recorded]
        .iter()
        .filter(|r| r.is("md_frame"))
        .count();
    assert!(recorded > 500, "{recorded} frames");
    until_answered("the hot path decoded every recorded frame", || {
        frames(&scrape()) >= recorded as f64
    });
    let text = scrape();
    let checked = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let output = interrupt(daemon);
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let reported = &summary["latency_ns"]["tick_to_order"];
    assert!(reported["count"].as_u64().unwrap() > 0, "orders were sent");
    for (quantile, field) in [("0.5", "p50"), ("0.99", "p99"), ("0.999", "p999")] {
        let prefix = format!(
            "traider_stage_latency_quantiles_seconds{{stage=\"tick_to_order\",quantile=\"{quantile}\"}}"
        );
        let scraped_ns = (sample(&text, &prefix).unwrap() * 1e9).round() as u64;
        assert_eq!(
            scraped_ns,
            reported[field].as_u64().unwrap(),
            "{field}: the scrape and the summary read the same histogram"
        );
    }
    let count = sample(
        &text,
        "traider_stage_latency_seconds_count{stage=\"tick_to_order\"}",
    )
    .unwrap();
    assert_eq!(count as u64, reported["count"].as_u64().unwrap());
}

// Proves the endpoint's transport rules: with a certificate it serves HTTPS (rustls), which
// `traiderctl --ca-cert` trusts and reads; without the CA the client refuses the handshake
// (exit 3, naming TLS), and plain HTTP gets no answer. A listen address off loopback
// without TLS is refused at start, naming admin.listen.
#[test]
fn tls_off_loopback_and_plain_http_only_on_loopback() {
    let capture = capture();
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert, key) = (dir.path().join("admin.crt"), dir.path().join("admin.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (_replay, replay_port) = start_replay_server(&capture, &["--pace", "recorded", "--loop"]);
    let eye = ident("eye", "viewer");
    let port = free_port();
    let tls = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"",
        cert.display(),
        key.display()
    );
    let config = admin_config(dir.path(), port, &[&eye], &tls);
    let mut daemon = start_daemon(&config, replay_port, &dir.path().join("journal"));
    daemon.log_lines().wait_for(ADMIN_LISTENING);
    let https = format!("https://127.0.0.1:{port}");
    let ca = cert.to_str().unwrap();
    let trusted = ctl(&https, Some(&eye), &["--ca-cert", ca, "status"]);
    assert!(trusted.status.success(), "HTTPS with the CA: {trusted:?}");
    let status = ctl_json(&https, &eye, &["--ca-cert", ca, "status"]);
    assert_eq!(status["mode"], "paper");
    let untrusted = ctl(&https, Some(&eye), &["status"]);
    assert_eq!(code_of(&untrusted), 3, "{}", stderr_of(&untrusted));
    assert!(
        stderr_of(&untrusted).to_lowercase().contains("tls"),
        "{}",
        stderr_of(&untrusted)
    );
    let plain = ctl(&format!("http://127.0.0.1:{port}"), Some(&eye), &["status"]);
    assert_ne!(
        code_of(&plain),
        0,
        "plain HTTP to the TLS port: {}",
        stderr_of(&plain)
    );
    drop(interrupt(daemon));

    let open = test_paper_config(
        dir.path(),
        &[("listen = \"127.0.0.1:0\"", "listen = \"0.0.0.0:0\"")],
    );
    let refused = traiderd()
        .args(["run", "--config"])
        .arg(&open)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = stderr_of(&refused);
    assert!(
        message.contains("admin.listen") && message.contains("TLS"),
        "{message}"
    );
}
