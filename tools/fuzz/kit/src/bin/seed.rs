//! Writes the starting corpus of every fuzz target, one file per seed, under the directory
//! given as the only argument (`.ci/fuzz` passes `$CARGO_TARGET_DIR/fuzz/corpus`):
//!
//! - `md_frame`: a sample of every channel and event type of the recorded Coinbase session
//!   (`$TRAIDER_DATA_DIR/coinbase/advanced_trade/...`, else `../shared/data`), big arrays
//!   cut to a few entries, and the products body cut to the configured products and a few
//!   others. Missing data is an error naming `TRAIDER_DATA_DIR`: the recorded frames are
//!   the seeds that matter, so seeding without them fails instead of quietly fuzzing less.
//! - The other targets have no recorded data: they are seeded with the shapes the project's
//!   own tests use (JSON literals read out of `gateways/tests/*.rs` at run time, the bodies
//!   of the REST tests, `config/*.toml`, records built with the core's encoders, a journal
//!   written by `JournalWriter`).
//!
//! Nothing here is written into the repository.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use traider_core::admin::{Actor, AdminCommand, AdminInput, Role, Source};
use traider_core::control::{StateCause, TradingState};
use traider_core::decision::Decision;
use traider_core::event::Side;
use traider_core::instrument::InstrumentId;
use traider_core::num::Money;
use traider_core::order::{ClientOrderId, OrderRequest, TimeInForce};
use traider_core::record::InputRecordKind;
use traider_core::risk::LimitId;
use traider_core::sim::Liquidity;
use traider_core::strategy::Reason;
use traider_core::venue::{GateCause, VenueEvent};
use traider_core::wire::PAYLOAD_BYTES_MAX;
use traider_fuzz_kit::layout::{self, rest_answer::Endpoint};
use traider_fuzz_kit::{PRODUCT_IDS, TOTP_SECRET};
use traider_gateways::capture::{DATA_DIR_ENV, RECORDED_SESSION, load_frames, recorded_session};
use traider_journal::{JournalWriter, WriterOptions, segment_file_name};

type Result<T> = std::result::Result<T, String>;

/// Frames kept per (channel, event type) of the recorded session.
const FRAMES_PER_SHAPE: usize = 6;
/// Entries kept of a frame's big arrays (book levels, trades, candles).
const ARRAY_ENTRIES_MAX: usize = 24;
/// Products kept of the products body besides the configured ones.
const OTHER_PRODUCTS: usize = 6;

fn main() {
    if let Err(message) = run() {
        eprintln!("seed: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        return Err("usage: seed <corpus root directory>".to_owned());
    };
    let out = PathBuf::from(out);
    let repo = repo_root();
    let mut corpus = Corpus {
        root: out,
        count: 0,
    };
    md_frame(&mut corpus, &repo)?;
    user_channel(&mut corpus, &repo)?;
    rest_answer(&mut corpus)?;
    journal_record(&mut corpus)?;
    journal_segment(&mut corpus)?;
    admin_body(&mut corpus)?;
    config(&mut corpus, &repo)?;
    println!(
        "seed: wrote {} seeds under {}",
        corpus.count,
        corpus.root.display()
    );
    Ok(())
}

/// The checkout this binary was built from (tools/fuzz/kit → three levels up).
fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    root.canonicalize().unwrap_or(root)
}

struct Corpus {
    root: PathBuf,
    count: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("seed-{name}"));
        fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        self.count += 1;
        Ok(())
    }

    fn put_with(&mut self, target: &str, name: &str, prefix: &[u8], body: &[u8]) -> Result<()> {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(body);
        self.put(target, name, &bytes)
    }
}

// ---- md_frame: the recorded session ----

fn md_frame(corpus: &mut Corpus, repo: &Path) -> Result<()> {
    let Some(path) = recorded_session(repo) else {
        let data_dir = std::env::var_os(DATA_DIR_ENV)
            .map_or_else(|| repo.join("../shared/data"), PathBuf::from);
        return Err(format!(
            "the recorded Coinbase session is not at {}: set {DATA_DIR_ENV} to the shared \
             data directory (the one holding coinbase/)",
            data_dir.join(RECORDED_SESSION).display()
        ));
    };
    let capture = load_frames(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let products = capture
        .products_body
        .as_deref()
        .ok_or("the recorded session has no products body")?;
    let kind = [layout::md_frame::PRODUCTS];
    corpus.put_with(
        "md_frame",
        "products",
        &kind,
        products_sample(products)?.as_bytes(),
    )?;
    let kind = [layout::md_frame::MARKET_DATA];
    let mut kept: Vec<(String, usize)> = Vec::new();
    for (index, (_, frame)) in capture.frames.iter().enumerate() {
        let shape = frame_shape(frame);
        let seen = match kept.iter_mut().find(|(s, _)| *s == shape) {
            Some((_, count)) => count,
            None => {
                kept.push((shape.clone(), 0));
                &mut kept.last_mut().ok_or("unreachable")?.1
            }
        };
        if *seen == FRAMES_PER_SHAPE {
            continue;
        }
        *seen += 1;
        let mut text = frame.clone();
        for key in ["updates", "trades", "candles", "tickers"] {
            text = truncate_arrays(&text, key, ARRAY_ENTRIES_MAX);
        }
        serde_json::from_str::<Value>(&text)
            .map_err(|e| format!("frame {index} no longer parses after cutting: {e}"))?;
        corpus.put_with(
            "md_frame",
            &format!("frame-{index:04}"),
            &kind,
            text.as_bytes(),
        )?;
    }
    let kinds: Vec<&str> = kept.iter().map(|(s, _)| s.as_str()).collect();
    println!("seed: md_frame shapes: {}", kinds.join(", "));
    Ok(())
}

/// `channel/type` of a frame (`type` of its first event).
fn frame_shape(frame: &str) -> String {
    let value: Value = serde_json::from_str(frame).unwrap_or(Value::Null);
    let channel = value["channel"].as_str().unwrap_or("?");
    let kind = value["events"][0]["type"].as_str().unwrap_or("-");
    format!("{channel}/{kind}")
}

/// The products body with the configured products and a few others (same fields).
fn products_sample(body: &str) -> Result<String> {
    let mut value: Value = serde_json::from_str(body).map_err(|e| format!("products body: {e}"))?;
    let products = value["products"]
        .as_array_mut()
        .ok_or("products body has no products array")?;
    let mut others = 0;
    products.retain(|p| {
        let id = p["product_id"].as_str().unwrap_or("");
        if PRODUCT_IDS.contains(&id) {
            return true;
        }
        others += 1;
        others <= OTHER_PRODUCTS
    });
    let count = products.len();
    value["num_products"] = Value::from(count);
    Ok(value.to_string())
}

/// Cuts every array under `"key":[` to its first `keep` elements, leaving the rest of the
/// text byte for byte (key order and spacing matter to the `l2_data` fast path).
fn truncate_arrays(text: &str, key: &str, keep: usize) -> String {
    let needle = format!("\"{key}\":[");
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len().min(1 << 16));
    let mut at = 0;
    while let Some(found) = text[at..].find(&needle) {
        let open = at + found + needle.len();
        let (cut, close) = array_cut(bytes, open, keep);
        out.push_str(&text[at..cut]);
        out.push(']');
        at = close + 1;
    }
    out.push_str(&text[at..]);
    out
}

/// For the array whose first element starts at `open`: the end of its `keep`-th element
/// (or of the last one) and the index of its closing `]`.
fn array_cut(bytes: &[u8], open: usize, keep: usize) -> (usize, usize) {
    let (mut depth, mut in_string, mut escaped) = (0_i32, false, false);
    let (mut elements, mut cut) = (0, None);
    for (index, &byte) in bytes.iter().enumerate().skip(open) {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' if depth == 0 => return (cut.unwrap_or(index), index),
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                elements += 1;
                if elements == keep && cut.is_none() {
                    cut = Some(index);
                }
            }
            _ => {}
        }
    }
    (bytes.len(), bytes.len())
}

// ---- user_channel: the user-channel tests' frames, one per line ----

/// JSON object literals (`r#"..."#`, `br#"..."#`) of a test file, on one line each.
fn json_literals(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("r#\"") {
        let body = &rest[start + 3..];
        let Some(end) = body.find("\"#") else { break };
        let literal = body[..end].replace('\n', " ");
        if serde_json::from_str::<Value>(&literal).is_ok_and(|v| v.is_object()) {
            found.push(literal);
        }
        rest = &body[end + 2..];
    }
    Ok(found)
}

fn user_channel(corpus: &mut Corpus, repo: &Path) -> Result<()> {
    let mut frames = Vec::new();
    for file in ["user_messages.rs", "user_channel.rs"] {
        frames.extend(json_literals(&repo.join("gateways/tests").join(file))?);
    }
    if frames.is_empty() {
        return Err("no user-channel frames found in gateways/tests".to_owned());
    }
    for (index, frame) in frames.iter().enumerate() {
        corpus.put(
            "user_channel",
            &format!("test-{index:02}"),
            frame.as_bytes(),
        )?;
    }
    // A session: snapshot, updates with rising totals, a REST fills page, a heartbeat.
    let session = [
        r#"{"channel":"subscriptions","sequence_num":0,"events":[{"subscriptions":{"user":["BTC-USD"]}}]}"#,
        r#"{"channel":"user","sequence_num":1,"events":[{"type":"snapshot","orders":[{"order_id":"o1","client_order_id":"c-1","product_id":"BTC-USD","order_side":"BUY","status":"OPEN","cumulative_quantity":"0","filled_value":"0","total_fees":"0","number_of_fills":"0","leaves_quantity":"0.001","limit_price":"65000.01"}]}]}"#,
        r#"{"channel":"user","sequence_num":2,"events":[{"type":"update","orders":[{"order_id":"o1","client_order_id":"c-1","status":"OPEN","cumulative_quantity":"0.0004","filled_value":"26.000004","total_fees":"0.156","number_of_fills":"1"}]}]}"#,
        r#"{"fills":[{"trade_id":"t1","order_id":"o1","price":"65000.01","size":"0.0004","commission":"0.156","product_id":"BTC-USD","liquidity_indicator":"MAKER","size_in_quote":false,"side":"BUY"}],"cursor":""}"#,
        r#"{"channel":"user","sequence_num":4,"events":[{"type":"update","orders":[{"order_id":"o1","status":"FILLED","cumulative_quantity":"0.001","filled_value":"65.00001","total_fees":"0.39","number_of_fills":"2"}]}]}"#,
        r#"{"channel":"heartbeats","sequence_num":5,"events":[{"current_time":"2026-08-09 21:05:48.854840045 +0000 UTC","heartbeat_counter":41691}]}"#,
        r#"{"type":"error","message":"authentication failure"}"#,
    ];
    corpus.put("user_channel", "session", session.join("\n").as_bytes())
}

// ---- rest_answer: the REST tests' bodies ----

const REST_ORDER: &str = r#"{"order_id":"o1","client_order_id":"c-o1","product_id":"BTC-USD","user_id":"u","side":"BUY","status":"OPEN","time_in_force":"GOOD_UNTIL_CANCELLED","order_type":"LIMIT","created_time":"2026-08-09T21:05:40.123Z","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"65000.01","post_only":true}},"filled_size":"0.0004","average_filled_price":"65000.01","filled_value":"26.000004","number_of_fills":"1","total_fees":"0.156","fee":"","reject_reason":"REJECT_REASON_UNSPECIFIED","settled":false,"pending_cancel":false,"edit_history":[]}"#;
const REST_FILL: &str = r#"{"entry_id":"e-t1","trade_id":"t1","order_id":"0c7c5e6e-1b3a-4a3c-9f5e-0123456789ab","trade_time":"2026-08-09T21:05:41.5Z","trade_type":"FILL","price":"65000.01","size":"0.0001","commission":"0.039","product_id":"BTC-USD","sequence_timestamp":"2026-08-09T21:05:41.51Z","liquidity_indicator":"MAKER","size_in_quote":false,"user_id":"u","side":"SELL"}"#;

fn rest_answer(corpus: &mut Corpus) -> Result<()> {
    let orders_page =
        format!(r#"{{"orders":[{REST_ORDER}],"has_next":true,"cursor":"c+1/=","sequence":"0"}}"#);
    let fills_page = format!(r#"{{"fills":[{REST_FILL}],"cursor":"f2"}}"#);
    let seeds: Vec<(Endpoint, u16, &str, String)> = vec![
        (Endpoint::Create, 200, "accepted", r#"{"success":true,"success_response":{"order_id":"11111-000000-000000","product_id":"BTC-USD","side":"BUY","client_order_id":"0000-00000-000000"},"order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"10000","post_only":false}}}"#.into()),
        (Endpoint::Create, 200, "post-only", r#"{"success":false,"failure_reason":"UNKNOWN_FAILURE_REASON","order_id":"","error_response":{"error":"INVALID_LIMIT_PRICE_POST_ONLY","message":"Post only limit order would cross the order book","error_details":"","preview_failure_reason":"UNKNOWN_PREVIEW_FAILURE_REASON","new_order_failure_reason":"INVALID_LIMIT_PRICE_POST_ONLY"}}"#.into()),
        (Endpoint::Create, 200, "funds", r#"{"success":false,"failure_reason":"INSUFFICIENT_FUNDS","error_response":{"error":"UNKNOWN_FAILURE_REASON","message":"","error_details":"Insufficient balance in source account","new_order_failure_reason":"INSUFFICIENT_FUND"}}"#.into()),
        (Endpoint::Create, 400, "bad-request", r#"{"error":"INVALID_ARGUMENT","code":3,"message":"product_id is required","details":[]}"#.into()),
        (Endpoint::Create, 401, "unauthorized", "Unauthorized".into()),
        (Endpoint::BatchCancel, 200, "results", r#"{"results":[{"success":true,"failure_reason":"UNKNOWN_CANCEL_FAILURE_REASON","order_id":"a"},{"success":false,"failure_reason":"DUPLICATE_CANCEL_REQUEST","order_id":"b"}]}"#.into()),
        (Endpoint::BatchCancel, 429, "rate-limited", r#"{"error":"rate_limit","code":8,"message":"Too many requests"}"#.into()),
        (Endpoint::Edit, 200, "accepted", r#"{"success":true,"errors":[]}"#.into()),
        (Endpoint::Edit, 200, "rejected", r#"{"success":false,"errors":[{"edit_failure_reason":"ORDER_NOT_FOUND","preview_failure_reason":"UNKNOWN_PREVIEW_FAILURE_REASON"},{"edit_failure_reason":"UNKNOWN_EDIT_ORDER_FAILURE_REASON","preview_failure_reason":"PREVIEW_INVALID_LIMIT_PRICE"}]}"#.into()),
        (Endpoint::Edit, 503, "server", "<html>upstream</html>".into()),
        (Endpoint::ListOrders, 200, "page", orders_page),
        (Endpoint::ListOrders, 200, "last", r#"{"orders":[],"has_next":false,"cursor":""}"#.into()),
        (Endpoint::ListFills, 200, "page", fills_page),
        (Endpoint::Accounts, 200, "page", r#"{"accounts":[{"uuid":"a1","name":"BTC Wallet","currency":"BTC","available_balance":{"value":"0.12345678","currency":"BTC"},"default":true,"active":true,"created_at":"2021-01-01T00:00:00Z","type":"ACCOUNT_TYPE_CRYPTO","ready":true,"hold":{"value":"0.001","currency":"BTC"},"platform":"ACCOUNT_PLATFORM_CONSUMER"}],"has_next":true,"cursor":"a2","size":1}"#.into()),
        (Endpoint::BestBidAsk, 200, "books", r#"{"pricebooks":[{"product_id":"BTC-USD","bids":[{"price":"65083.66","size":"0.5"}],"asks":[{"price":"65083.67","size":"1.25"}],"time":"2026-08-09T21:05:48.5Z"}]}"#.into()),
        (Endpoint::Time, 200, "time", r#"{"iso":"2026-08-09T21:05:48Z","epochSeconds":"1786309548","epochMillis":"1786309548123"}"#.into()),
    ];
    for (endpoint, status, name, body) in seeds {
        let prefix = [endpoint.code(), layout::rest_answer::status_code(status)];
        corpus.put_with(
            "rest_answer",
            &format!("{endpoint:?}-{name}"),
            &prefix,
            body.as_bytes(),
        )?;
    }
    Ok(())
}

// ---- journal_record: records built with the core's own encoders ----

fn actor() -> Result<Actor> {
    Actor::with("root_1", Role::Admin, Source::Api).ok_or_else(|| "actor".to_owned())
}

fn journal_record(corpus: &mut Corpus) -> Result<()> {
    let target = "journal_record";
    let request = OrderRequest {
        instrument: InstrumentId(1),
        side: Side::Sell,
        price_ticks: 6_508_367,
        size_lots: 12_345,
        time_in_force: TimeInForce::ImmediateOrCancel,
        post_only: false,
    };
    let id = ClientOrderId::new(3, 99);
    let decisions = [
        Decision::OrderNew {
            id,
            request,
            reason: Reason::Momentum {
                imbalance_bps: -4000,
                flow_bps: -6000,
            },
        },
        Decision::CancelRequest {
            id,
            instrument: InstrumentId(0),
            reason: Reason::Requote { drift_ticks: 3 },
        },
        Decision::OrderAccepted { id },
        Decision::Fill {
            id,
            instrument: InstrumentId(1),
            side: Side::Buy,
            price_ticks: 1,
            size_lots: 2,
            liquidity: Liquidity::Taker,
            fee: Money(-5),
        },
        Decision::FeedGap {
            conn_id: 2,
            expected: 10,
            got: 12,
        },
        Decision::TradingGate {
            open: false,
            cause: GateCause::UserChannelGap,
        },
        Decision::TradingState {
            state: TradingState::Halted,
            cause: StateCause::Kill,
            actor: actor()?,
        },
        Decision::LimitChanged {
            limit: LimitId::MaxOrderNotional,
            instrument: 0,
            old: 250,
            new: 100,
        },
    ];
    let mut buf = [0_u8; PAYLOAD_BYTES_MAX];
    for decision in decisions {
        let len = decision.encode(&mut buf);
        let mut prefix = vec![layout::journal_record::DECISION];
        prefix.extend_from_slice(&decision.record_kind().to_le_bytes());
        corpus.put_with(
            target,
            &format!("decision-{}", decision.name()),
            &prefix,
            &buf[..len],
        )?;
    }
    let events = [
        VenueEvent::Accepted { id },
        VenueEvent::Fill {
            id,
            trade_key: 7,
            price_ticks: 6_508_366,
            size_lots: 40_000,
            liquidity: Liquidity::Maker,
            fee: Money(156),
        },
        VenueEvent::Gate {
            open: true,
            cancel_all: false,
            cause: GateCause::Reconciled,
        },
        VenueEvent::Adopted {
            id,
            request,
            venue_ref: 0x0c7c_5e6e_1b3a_4a3c_9f5e_0123_4567_89ab,
        },
    ];
    for event in events {
        let prefix = [layout::journal_record::VENUE];
        corpus.put_with(
            target,
            &format!("venue-{}", event.name()),
            &prefix,
            &event.to_bytes(),
        )?;
    }
    let commands = [
        AdminCommand::Kill { flatten: true },
        AdminCommand::Strategy {
            enabled: true,
            second_factor: true,
        },
        AdminCommand::SetLimit {
            limit: LimitId::MaxOrderSize,
            instrument: 1,
            value: 5_000_000,
            second_factor: false,
        },
        AdminCommand::Audit {
            endpoint: traider_core::admin::Endpoint::LimitsSet,
            status: 403,
            refusal: traider_core::admin::Refusal::TotpInvalid,
        },
    ];
    for command in commands {
        let input = AdminInput {
            actor: actor()?,
            request_id: 41,
            command,
        };
        let prefix = [layout::journal_record::ADMIN];
        corpus.put_with(
            target,
            &format!("admin-{}", command.name()),
            &prefix,
            &input.to_bytes(),
        )?;
    }
    Ok(())
}

// ---- journal_segment: a journal written by the writer ----

fn journal_segment(corpus: &mut Corpus) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("traider-fuzz-seed-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let written = write_journal(&dir);
    let segment = written.and_then(|()| {
        let path = dir.join(segment_file_name(0));
        fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    });
    let _ = fs::remove_dir_all(&dir);
    let segment = segment?;
    use layout::journal_segment::{FIX_HEADER, FIX_RECORDS, WRITER};
    for (name, mode) in [
        ("raw", 0),
        ("fixed", FIX_HEADER | FIX_RECORDS),
        ("writer", FIX_HEADER | FIX_RECORDS | WRITER),
    ] {
        corpus.put_with("journal_segment", name, &[mode], &segment)?;
    }
    // A torn tail: the last record's payload cut short by zeros.
    let mut torn = segment.clone();
    let end = torn.iter().rposition(|&b| b != 0).unwrap_or(0);
    torn[end.saturating_sub(4)..=end].fill(0);
    corpus.put_with("journal_segment", "torn", &[WRITER], &torn)
}

fn write_journal(dir: &Path) -> Result<()> {
    let options = WriterOptions {
        segment_bytes: 1024,
        ..Default::default()
    };
    let (mut writer, _) = JournalWriter::open(dir, options).map_err(|e| e.to_string())?;
    let frame =
        br#"{"channel":"heartbeats","sequence_num":3,"events":[{"heartbeat_counter":41691}]}"#;
    let mut md = 1_u32.to_le_bytes().to_vec();
    md.extend_from_slice(frame);
    let venue = VenueEvent::Accepted {
        id: ClientOrderId::new(3, 1),
    }
    .to_bytes();
    let records: [(u16, &[u8]); 4] = [
        (u16::from(InputRecordKind::MdFrame.code()), &md),
        (u16::from(InputRecordKind::Timer.code()), b""),
        (u16::from(InputRecordKind::Venue.code()), &venue),
        (u16::from(InputRecordKind::Feed.code()), &[1, 0, 0, 0, 1]),
    ];
    for (index, (kind, payload)) in records.into_iter().enumerate() {
        writer
            .append(kind, 1_786_309_548_000_000_000 + index as u64, payload)
            .map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())
}

// ---- admin_body ----

fn admin_body(corpus: &mut Corpus) -> Result<()> {
    use layout::admin_body::{HEADERS, KILL, LIMITS, STRATEGY};
    let seeds: [(u8, &str, &str); 12] = [
        (KILL, "kill-flatten", r#"{"flatten":true}"#),
        (KILL, "kill-empty", ""),
        (KILL, "kill-bad", r#"{"flatten":"yes"}"#),
        (STRATEGY, "strategy-off", r#"{"enabled":false}"#),
        (STRATEGY, "strategy-none", "{}"),
        (
            LIMITS,
            "account-money",
            r#"{"limit":"max_gross_exposure","value":"1000.5"}"#,
        ),
        (
            LIMITS,
            "account-count",
            r#"{"limit":"max_open_orders","value":8}"#,
        ),
        (
            LIMITS,
            "instrument-lots",
            r#"{"limit":"max_order_size","instrument":"BTC-USD","value":"0.001"}"#,
        ),
        (
            LIMITS,
            "instrument-notional",
            r#"{"limit":"max_order_notional","instrument":"ETH-USD","value":"250"}"#,
        ),
        (HEADERS, "admin-totp", "Bearer tok-admin\n123456\n000000"),
        (HEADERS, "viewer", "bearer tok-viewer"),
        (HEADERS, "operator", "Bearer tok-operator\n"),
    ];
    for (kind, name, body) in seeds {
        corpus.put_with("admin_body", name, &[kind], body.as_bytes())?;
    }
    Ok(())
}

// ---- config: the shipped configs and the admin section's shapes ----

fn config(corpus: &mut Corpus, repo: &Path) -> Result<()> {
    use layout::config::{ADMIN, DAEMON};
    let tokens = format!(
        "\n[[admin.tokens]]\nname = \"alice\"\nrole = \"admin\"\nsha256 = \"{}\"\ntotp_secret = \"{TOTP_SECRET}\"\n\
         \n[[admin.tokens]]\nname = \"bob.ops\"\nrole = \"operator\"\nsha256 = \"{}\"\n",
        "ab".repeat(32),
        "0123456789abcdef".repeat(4),
    );
    for name in ["paper", "replay", "live"] {
        let path = repo.join("config").join(format!("{name}.toml"));
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        corpus.put_with("config", name, &[DAEMON], text.as_bytes())?;
        if text.contains("[admin]") {
            let with_tokens = format!("{text}{tokens}");
            corpus.put_with(
                "config",
                &format!("{name}-tokens"),
                &[DAEMON],
                with_tokens.as_bytes(),
            )?;
        }
    }
    let admin = [
        ("loopback", "listen = \"127.0.0.1:9464\"\n".to_owned()),
        (
            "tls",
            "listen = \"0.0.0.0:9464\"\ntls_cert = \"a\"\ntls_key = \"b\"\ncommand_wait_ms = 2000\n".to_owned(),
        ),
        (
            "tokens",
            format!(
                "listen = \"127.0.0.1:1\"\ntotp_failures_max = 5\ntotp_lockout_s = 300\n{}",
                tokens.replace("[[admin.tokens]]", "[[tokens]]")
            ),
        ),
    ];
    for (name, text) in admin {
        corpus.put_with(
            "config",
            &format!("admin-{name}"),
            &[ADMIN],
            text.as_bytes(),
        )?;
    }
    Ok(())
}
