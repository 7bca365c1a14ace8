//! End-to-end tests of the replay server and the market-data WebSocket client, over real
//! TCP/WebSocket on 127.0.0.1, against the real recorded Coinbase session.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use traider_core::input::FeedControl;
use traider_gateways::capture::load_frames;
use traider_gateways::coinbase::ws::{FrameSink, MarketDataClient, WsConfig, WsError, WsStats};
use traider_standins::replay::{
    BookMirror, Pace, ReplayConfig, ReplayData, ReplayHandle, ReplayServer,
};

const LAST_RECORDED_HEARTBEAT: u64 = 41_715;
const FOUR_CHANNELS: [&str; 4] = ["level2", "market_trades", "ticker", "heartbeats"];
const WAIT: Duration = Duration::from_secs(60);

use traider_testkit::data::capture as capture_path;

fn replay_data(path: &PathBuf) -> Arc<ReplayData> {
    static DATA: OnceLock<Arc<ReplayData>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(ReplayData::load(path).expect("load capture")))
        .clone()
}

/// A recorded frame as the test reads it, independently of the server's precompute.
struct Recorded {
    channel: String,
    products: Vec<String>,
    text: String,
}

fn recorded(path: &PathBuf) -> &'static [Recorded] {
    static RECORDED: OnceLock<Vec<Recorded>> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let capture = load_frames(path).expect("load capture");
        capture
            .frames
            .into_iter()
            .map(|(_, text)| {
                let value: Value = serde_json::from_str(&text).expect("frame json");
                let mut products = Vec::new();
                for event in value["events"].as_array().into_iter().flatten() {
                    let nested = ["trades", "tickers", "candles"]
                        .iter()
                        .flat_map(|k| event[*k].as_array().into_iter().flatten());
                    for id in std::iter::once(event)
                        .chain(nested)
                        .filter_map(|v| v["product_id"].as_str())
                    {
                        if !products.iter().any(|p| p == id) {
                            products.push(id.to_string());
                        }
                    }
                }
                Recorded {
                    channel: value["channel"].as_str().unwrap_or("").to_string(),
                    products,
                    text,
                }
            })
            .collect()
    })
}

/// The recorded frames a connection subscribed to `channels` x `products` should receive.
fn expected<'a>(path: &PathBuf, channels: &[&str], products: &[&str]) -> Vec<&'a Recorded> {
    recorded(path)
        .iter()
        .filter(|r| {
            let name = if r.channel == "l2_data" {
                "level2"
            } else {
                r.channel.as_str()
            };
            r.channel != "subscriptions"
                && channels.contains(&name)
                && (r.products.is_empty()
                    || r.products.iter().any(|p| products.contains(&p.as_str())))
        })
        .collect()
}

/// `(sequence_num, text with the sequence_num digits replaced by '#')`.
fn split_sequence(text: &str) -> (Option<u64>, String) {
    const KEY: &str = "\"sequence_num\":";
    let Some(start) = text.find(KEY).map(|i| i + KEY.len()) else {
        return (None, text.to_string());
    };
    let end = start + text[start..].bytes().take_while(u8::is_ascii_digit).count();
    (
        text[start..end].parse().ok(),
        format!("{}#{}", &text[..start], &text[end..]),
    )
}

fn channel_of(frame: &str) -> String {
    let prefix = &frame[..frame.len().min(60)];
    let start = prefix.find("\"channel\":\"").map(|i| i + 11).unwrap_or(0);
    prefix[start..].split('"').next().unwrap_or("").to_string()
}

fn is_synthetic_heartbeat(frame: &str) -> bool {
    channel_of(frame) == "heartbeats"
        && serde_json::from_str::<Value>(frame)
            .ok()
            .and_then(|v| v["events"][0]["heartbeat_counter"].as_u64())
            .is_some_and(|counter| counter > LAST_RECORDED_HEARTBEAT)
}

#[derive(Debug)]
enum Event {
    Frame(u32, String),
    Feed(u32, FeedControl, Instant),
}

struct ChannelSink(mpsc::UnboundedSender<Event>);

impl FrameSink for ChannelSink {
    fn on_frame(&mut self, conn_id: u32, frame: &[u8]) {
        let text = String::from_utf8(frame.to_vec()).expect("text frames are UTF-8");
        let _ = self.0.send(Event::Frame(conn_id, text));
    }
    fn on_feed(&mut self, conn_id: u32, control: FeedControl) {
        let _ = self.0.send(Event::Feed(conn_id, control, Instant::now()));
    }
}

struct Client {
    events: mpsc::UnboundedReceiver<Event>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<ChannelSink, WsError>>,
    stats: Arc<WsStats>,
}

impl Client {
    fn start(
        addr: SocketAddr,
        channels: &[&str],
        products: &[&str],
        tweak: impl FnOnce(&mut WsConfig),
    ) -> Self {
        let mut config = WsConfig::new(
            format!("ws://{addr}/"),
            products.iter().map(|p| p.to_string()).collect(),
        );
        config.channels = channels.iter().map(|c| c.to_string()).collect();
        config.backoff_min = Duration::from_millis(50);
        tweak(&mut config);
        let client = MarketDataClient::new(config).expect("valid config");
        let stats = client.stats();
        let (tx, events) = mpsc::unbounded_channel();
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(client.run(ChannelSink(tx), shutdown));
        Self {
            events,
            stop,
            task,
            stats,
        }
    }

    /// Collects events up to and including the first for which `done` holds.
    async fn until(&mut self, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out; feeds {:?}; last events {:?}",
                        feeds(&events),
                        summary(&events)
                    )
                })
                .expect("client ended early");
            let finished = done(&event);
            events.push(event);
            if finished {
                return events;
            }
        }
    }

    /// Stops the client and returns the events it produced while stopping.
    async fn stop(mut self) -> Vec<Event> {
        self.stop.send_replace(true);
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("client stops")
            .expect("join")
            .expect("clean exit");
        let mut rest = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            rest.push(event);
        }
        rest
    }
}

fn summary(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .rev()
        .take(5)
        .map(|e| match e {
            Event::Frame(conn, text) => {
                format!("frame conn {conn}: {}", &text[..text.len().min(90)])
            }
            Event::Feed(conn, control, _) => format!("feed conn {conn}: {control:?}"),
        })
        .collect()
}

fn frames_of(events: &[Event], conn: u32) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Frame(c, text) if *c == conn => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn feeds(events: &[Event]) -> Vec<(u32, FeedControl)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Feed(conn, control, _) => Some((*conn, *control)),
            Event::Frame(..) => None,
        })
        .collect()
}

fn is_synthetic_frame(event: &Event, conn: u32) -> bool {
    matches!(event, Event::Frame(c, text) if *c == conn && is_synthetic_heartbeat(text))
}

/// Asserts `frames` carry 0, 1, 2, ... and, apart from `sequence_num` and the acks and
/// synthesized heartbeats, are byte-identical to `expected` in order.
fn assert_recorded_stream(frames: &[&str], expected: &[&Recorded]) {
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(
            split_sequence(frame).0,
            Some(index as u64),
            "sequence_num of frame {index}"
        );
    }
    let data: Vec<String> = frames
        .iter()
        .filter(|f| channel_of(f) != "subscriptions" && !is_synthetic_heartbeat(f))
        .map(|f| split_sequence(f).1)
        .collect();
    assert_eq!(
        data.len(),
        expected.len(),
        "number of recorded frames received"
    );
    for (index, (got, want)) in data.iter().zip(expected).enumerate() {
        assert!(
            *got == split_sequence(&want.text).1,
            "frame {index} ({}) differs from the recording",
            want.channel
        );
    }
}

fn count_channel(frames: &[&str], channel: &str) -> usize {
    frames
        .iter()
        .filter(|f| channel_of(f) == channel && !is_synthetic_heartbeat(f))
        .count()
}

async fn start_server(
    path: &PathBuf,
    tweak: impl FnOnce(&mut ReplayConfig),
) -> (SocketAddr, ReplayHandle) {
    let mut config = ReplayConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.pace = Pace::Asap;
    tweak(&mut config);
    ReplayServer::bind(config, replay_data(path))
        .await
        .expect("bind")
}

/// The `coinbase-replay` binary, killed on drop.
struct ReplayProcess(Child);

impl ReplayProcess {
    fn spawn(args: &[&str]) -> (Self, SocketAddr) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_coinbase-replay"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn coinbase-replay");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("coinbase-replay listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("socket address");
        (Self(child), addr)
    }
}

impl Drop for ReplayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Price levels of one product as the test applies them: side -> price key -> (price, size).
type TestBook = BTreeMap<(bool, (u128, u64)), (String, String)>;

fn price_key(text: &str) -> (u128, u64) {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    (
        whole.parse().expect("whole part"),
        format!("{fraction:0<18}").parse().expect("fraction"),
    )
}

/// Applies an `l2_data` frame; returns `(product, was_snapshot)`.
fn apply_l2(books: &mut BTreeMap<String, TestBook>, frame: &str) -> (String, bool) {
    let value: Value = serde_json::from_str(frame).expect("l2 json");
    let event = &value["events"][0];
    let product = event["product_id"].as_str().expect("product").to_string();
    let snapshot = event["type"] == "snapshot";
    let book = books.entry(product.clone()).or_default();
    if snapshot {
        book.clear();
    }
    for update in event["updates"].as_array().expect("updates") {
        let price = update["price_level"].as_str().expect("price");
        let size = update["new_quantity"].as_str().expect("size");
        let key = (update["side"] == "bid", price_key(price));
        if price_key(size) == (0, 0) {
            book.remove(&key);
        } else {
            book.insert(key, (price.into(), size.into()));
        }
    }
    (product, snapshot)
}

/// `(bids, offers, best bid, best offer)` of a test book.
fn top(book: &TestBook) -> (usize, usize, (String, String), (String, String)) {
    let bids = book.iter().filter(|(k, _)| k.0).count();
    let best_bid = book
        .iter()
        .rev()
        .find(|(k, _)| k.0)
        .map(|(_, v)| v.clone())
        .expect("a bid");
    let best_offer = book
        .iter()
        .find(|(k, _)| !k.0)
        .map(|(_, v)| v.clone())
        .expect("an offer");
    (bids, book.len() - bids, best_bid, best_offer)
}

fn assert_oracle(books: &BTreeMap<String, TestBook>) {
    let pair = |p: &str, s: &str| (p.to_string(), s.to_string());
    assert_eq!(
        top(&books["BTC-USD"]),
        (
            18_769,
            27_238,
            pair("65083.66", "0.23929087"),
            pair("65083.67", "0.29040961")
        )
    );
    assert_eq!(
        top(&books["ETH-USD"]),
        (
            6_925,
            16_403,
            pair("1919.28", "0.14476526"),
            pair("1919.38", "0.01194407")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_every_subscribed_frame_in_order_byte_identical() {
    // Proves the real binary + real client deliver the recording filtered to 4 channels, seq 0.. contiguous.
    let path = capture_path();
    let capture = path.to_str().expect("utf-8 path");
    let (_server, addr) = ReplayProcess::spawn(&["--capture", capture, "--pace", "asap"]);
    let mut client = Client::start(addr, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"], |_| {});
    let events = client.until(|e| is_synthetic_frame(e, 1)).await;
    let stats = client.stats.snapshot();
    let stopping = client.stop().await;
    assert_eq!(feeds(&events), vec![(1, FeedControl::Connected)]);
    assert_eq!(feeds(&stopping), vec![(1, FeedControl::Disconnected)]);
    let frames = frames_of(&events, 1);
    assert_recorded_stream(
        &frames,
        &expected(&path, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"]),
    );
    assert_eq!(
        count_channel(&frames, "subscriptions"),
        4,
        "one ack per subscribe"
    );
    assert_eq!(count_channel(&frames, "l2_data"), 775);
    assert_eq!(count_channel(&frames, "ticker"), 160);
    assert_eq!(count_channel(&frames, "market_trades"), 59);
    assert_eq!(count_channel(&frames, "heartbeats"), 25);
    assert_eq!(
        count_channel(&frames, "candles"),
        0,
        "candles were not subscribed"
    );
    let largest = frames.iter().map(|f| f.len()).max().unwrap_or(0);
    assert!(
        (5_079_379..5_079_390).contains(&largest),
        "the 5 MB BTC-USD snapshot, got {largest}"
    );
    assert_eq!((stats.gaps, stats.frames as usize), (0, frames.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_refuses_a_non_loopback_listen_address() {
    // Proves the binary exits with an error instead of listening on 0.0.0.0.
    let path = capture_path();
    let output = Command::new(env!("CARGO_BIN_EXE_coinbase-replay"))
        .args([
            "--capture",
            path.to_str().expect("utf-8"),
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .expect("run coinbase-replay");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing may be printed to stdout");
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connections_get_their_own_filtered_streams() {
    // Proves two simultaneous connections each get seq from 0 and only their channels/products.
    let path = capture_path();
    let (addr, server) = start_server(&path, |_| {}).await;
    let mut a = Client::start(addr, &["heartbeats", "ticker"], &["BTC-USD"], |_| {});
    let mut b = Client::start(addr, &["candles", "heartbeats"], &["ETH-USD"], |_| {});
    let (events_a, events_b) = tokio::join!(
        a.until(|e| is_synthetic_frame(e, 1)),
        b.until(|e| is_synthetic_frame(e, 1))
    );
    let frames_a = frames_of(&events_a, 1);
    assert_recorded_stream(
        &frames_a,
        &expected(&path, &["heartbeats", "ticker"], &["BTC-USD"]),
    );
    assert_eq!(
        count_channel(&frames_a, "ticker"),
        73,
        "1 snapshot + 72 BTC-USD updates"
    );
    let frames_b = frames_of(&events_b, 1);
    assert_recorded_stream(
        &frames_b,
        &expected(&path, &["candles", "heartbeats"], &["ETH-USD"]),
    );
    assert!(
        frames_b.iter().all(|f| !f.contains("\"BTC-USD\"")),
        "no BTC-USD frame for b"
    );
    assert!(count_channel(&frames_b, "candles") >= 1);
    a.stop().await;
    b.stop().await;
    server.shutdown().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_snapshot_after_the_whole_capture_equals_the_sources_oracle() {
    // Proves the server's mirror, applied to every l2_data frame, synthesizes the oracle books.
    let path = capture_path();
    let data = replay_data(&path);
    let mut mirror = BookMirror::new();
    data.frames
        .iter()
        .flat_map(|f| &f.l2)
        .for_each(|event| mirror.apply(event));
    let mut books = BTreeMap::new();
    for product in ["BTC-USD", "ETH-USD"] {
        let frame = mirror
            .snapshot_frame(product, "2026-08-09T21:06:12.892314374Z", 7)
            .expect("known product");
        assert!(frame.starts_with(&format!(r#"{{"channel":"l2_data","timestamp":"2026-08-09T21:06:12.892314374Z","sequence_num":7,"events":[{{"type":"snapshot","product_id":"{product}","updates":[{{"side":"bid","event_time":""#)));
        assert_eq!(apply_l2(&mut books, &frame), (product.to_string(), true));
        let value: Value = serde_json::from_str(&frame).expect("json");
        let sides: Vec<&str> = value["events"][0]["updates"]
            .as_array()
            .expect("updates")
            .iter()
            .map(|u| u["side"].as_str().expect("side"))
            .collect();
        assert!(
            sides.windows(2).all(|w| w != ["offer", "bid"]),
            "bids first, then offers"
        );
        let prices: Vec<(bool, (u128, u64))> = value["events"][0]["updates"]
            .as_array()
            .expect("updates")
            .iter()
            .map(|u| {
                (
                    u["side"] == "bid",
                    price_key(u["price_level"].as_str().expect("price")),
                )
            })
            .collect();
        let bids: Vec<_> = prices.iter().filter(|p| p.0).map(|p| p.1).collect();
        let offers: Vec<_> = prices.iter().filter(|p| !p.0).map(|p| p.1).collect();
        assert!(
            bids.windows(2).all(|w| w[0] > w[1]),
            "bids best (highest) first"
        );
        assert!(
            offers.windows(2).all(|w| w[0] < w[1]),
            "offers best (lowest) first"
        );
    }
    assert_oracle(&books);
}

/// The outgoing sequence_num, on a connection to the four channels (whose 4 acks take
/// 0..=3), of the first BTC-USD l2 update after `after` frames that sets a level no later
/// frame touches: losing it leaves a book wrong forever unless it is rebuilt.
fn lasting_btc_update_seq(path: &PathBuf, after: usize) -> u64 {
    let stream = expected(path, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"]);
    let levels = |r: &Recorded| -> Vec<(String, String)> {
        let value: Value = serde_json::from_str(&r.text).expect("json");
        value["events"][0]["updates"]
            .as_array()
            .expect("updates")
            .iter()
            .map(|u| (u["side"].to_string(), u["price_level"].to_string()))
            .collect()
    };
    let is_btc_update = |r: &Recorded| {
        r.channel == "l2_data"
            && r.products == ["BTC-USD"]
            && r.text.contains("\"type\":\"update\"")
    };
    let mut touched_later = std::collections::BTreeSet::new();
    let mut lasting = None;
    for index in (after..stream.len())
        .rev()
        .filter(|&i| is_btc_update(stream[i]))
    {
        let set = levels(stream[index]);
        if set.iter().any(|level| !touched_later.contains(level)) {
            lasting = Some(index);
        }
        touched_later.extend(set);
    }
    let index = lasting.expect("a lasting BTC-USD update");
    4 + index as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_sequence_triggers_resubscribe_and_fresh_snapshots_rebuild_the_books() {
    // Proves --drop-seq: gap -> Resubscribed, unsubscribe+subscribe on the wire, fresh mirror snapshots, oracle books.
    let path = capture_path();
    let drop_seq = lasting_btc_update_seq(&path, 300);
    let (addr, server) = start_server(&path, |c| {
        c.faults.drop_seqs.insert(drop_seq);
    })
    .await;
    let mut client = Client::start(addr, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"], |_| {});
    let events = client.until(|e| is_synthetic_frame(e, 1)).await;
    let stats = client.stats.snapshot();
    client.stop().await;
    server.shutdown().await.expect("server stops");
    assert_eq!(
        feeds(&events),
        vec![(1, FeedControl::Connected), (1, FeedControl::Resubscribed)]
    );
    assert_eq!((stats.gaps, stats.resubscribes), (1, 1));
    let frames = frames_of(&events, 1);
    let sequence: Vec<u64> = frames
        .iter()
        .map(|f| split_sequence(f).0.expect("seq"))
        .collect();
    let gap_at = sequence
        .iter()
        .position(|&s| s == drop_seq + 1)
        .expect("frame after the dropped one");
    assert_eq!(
        sequence[gap_at - 1],
        drop_seq - 1,
        "exactly {drop_seq} is missing"
    );
    assert!(
        sequence
            .windows(2)
            .all(|w| w[1] == w[0] + 1 || w[1] == drop_seq + 1)
    );
    // After the gap the server saw unsubscribe (ack without level2) then subscribe (with it).
    let acks: Vec<&&str> = frames[gap_at..]
        .iter()
        .filter(|f| channel_of(f) == "subscriptions")
        .collect();
    assert_eq!(acks.len(), 2, "one ack each for unsubscribe and subscribe");
    assert!(
        !acks[0].contains("\"level2\"") && acks[1].contains("\"level2\":[\"BTC-USD\",\"ETH-USD\"]")
    );
    // Replay what the client received into books, as the hot path would.
    let mut books = BTreeMap::new();
    let mut fresh = Vec::new();
    for (index, frame) in frames
        .iter()
        .enumerate()
        .filter(|(_, f)| channel_of(f) == "l2_data")
    {
        let fresh_snapshot =
            index > gap_at && frame[..frame.len().min(200)].contains("\"type\":\"snapshot\"");
        let stale = if fresh_snapshot {
            books.clone()
        } else {
            BTreeMap::new()
        };
        let (product, snapshot) = apply_l2(&mut books, frame);
        assert_eq!(
            snapshot,
            frame[..frame.len().min(200)].contains("\"type\":\"snapshot\"")
        );
        if fresh_snapshot {
            let changed = stale.get(&product) != books.get(&product);
            assert!(
                changed || product != "BTC-USD",
                "the fresh BTC-USD snapshot must repair the book"
            );
            fresh.push(product);
        }
    }
    fresh.sort();
    assert_eq!(
        fresh,
        ["BTC-USD", "ETH-USD"],
        "one fresh snapshot per product"
    );
    assert_oracle(&books);
    // And level by level equal to the whole recording applied without loss.
    let mut truth = BTreeMap::new();
    recorded(&path)
        .iter()
        .filter(|r| r.channel == "l2_data")
        .for_each(|r| drop(apply_l2(&mut truth, &r.text)));
    assert!(
        books == truth,
        "client books differ from the recording's books"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_stream_reports_heartbeat_silence_then_reconnects_cleanly() {
    // Proves --stall-after-seq: HeartbeatSilence, Disconnected, then conn 2 with a full clean stream.
    let path = capture_path();
    let (addr, server) = start_server(&path, |c| {
        c.faults.stall_after_seq = Some(30);
        c.heartbeat_interval = Duration::from_millis(200);
    })
    .await;
    let mut client = Client::start(addr, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"], |c| {
        c.heartbeat_timeout = Duration::from_secs(3);
    });
    let events = client.until(|e| is_synthetic_frame(e, 2)).await;
    let stats = client.stats.snapshot();
    client.stop().await;
    server.shutdown().await.expect("server stops");
    assert_eq!(
        feeds(&events),
        vec![
            (1, FeedControl::Connected),
            (1, FeedControl::HeartbeatSilence),
            (1, FeedControl::Disconnected),
            (2, FeedControl::Connected),
        ]
    );
    let first: Vec<u64> = frames_of(&events, 1)
        .iter()
        .map(|f| split_sequence(f).0.expect("seq"))
        .collect();
    assert_eq!(
        first,
        (0..=30).collect::<Vec<_>>(),
        "conn 1 stops right after seq 30"
    );
    assert_recorded_stream(
        &frames_of(&events, 2),
        &expected(&path, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"]),
    );
    assert_eq!(
        (stats.heartbeat_silences, stats.connects, stats.gaps),
        (1, 2, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_disconnect_is_reported_and_the_client_reconnects_after_backoff() {
    // Proves --disconnect-after-seq: Disconnected, a backoff of at least backoff_min, then conn 2 from seq 0.
    let path = capture_path();
    let (addr, server) = start_server(&path, |c| c.faults.disconnect_after_seq = Some(40)).await;
    let backoff_min = Duration::from_millis(300);
    let mut client = Client::start(addr, &FOUR_CHANNELS, &["BTC-USD", "ETH-USD"], |c| {
        c.backoff_min = backoff_min;
        c.backoff_max = Duration::from_secs(2);
    });
    let events = client
        .until(|e| matches!(e, Event::Frame(2, f) if split_sequence(f).0 == Some(60)))
        .await;
    let stats = client.stats.snapshot();
    let stopping = client.stop().await;
    server.shutdown().await.expect("server stops");
    let feed_events: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Feed(c, f, t) => Some((*c, *f, *t)),
            _ => None,
        })
        .collect();
    let controls: Vec<_> = feed_events.iter().map(|(c, f, _)| (*c, *f)).collect();
    assert_eq!(
        controls,
        vec![
            (1, FeedControl::Connected),
            (1, FeedControl::Disconnected),
            (2, FeedControl::Connected)
        ]
    );
    let waited = feed_events[2].2 - feed_events[1].2;
    assert!(
        waited >= backoff_min,
        "reconnected after {waited:?}, before backoff_min"
    );
    let first: Vec<u64> = frames_of(&events, 1)
        .iter()
        .map(|f| split_sequence(f).0.expect("seq"))
        .collect();
    assert_eq!(
        first,
        (0..=40).collect::<Vec<_>>(),
        "conn 1 ends right after seq 40"
    );
    let second: Vec<u64> = frames_of(&events, 2)
        .iter()
        .map(|f| split_sequence(f).0.expect("seq"))
        .collect();
    assert_eq!(
        second,
        (0..=60).collect::<Vec<_>>(),
        "conn 2 starts again from 0, no fault"
    );
    assert_eq!(feeds(&stopping), vec![(2, FeedControl::Disconnected)]);
    assert_eq!((stats.connects, stats.reconnects), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_without_subscribe_is_closed_after_the_timeout() {
    // Proves the server closes a silent connection after subscribe_timeout and keeps a subscribed one.
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let path = capture_path();
    let timeout = Duration::from_millis(400);
    let (addr, server) = start_server(&path, |c| c.subscribe_timeout = timeout).await;
    let url = format!("ws://{addr}/");
    let (mut silent, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connect");
    let (mut talker, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connect");
    let started = Instant::now();
    let subscribe = r#"{"type":"subscribe","product_ids":["BTC-USD"],"channel":"heartbeats"}"#;
    talker.send(Message::text(subscribe)).await.expect("send");
    let first = tokio::time::timeout(WAIT, silent.next())
        .await
        .expect("server acts");
    let closed_after = started.elapsed();
    match first {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(
        closed_after >= timeout - Duration::from_millis(50),
        "closed too early: {closed_after:?}"
    );
    // The subscribed connection is still served well past the timeout: time has to pass
    // for that (no event marks a close that does not happen), so this waits a lower bound.
    tokio::time::sleep(timeout).await;
    let mut heartbeats = 0;
    while heartbeats < 3 {
        match tokio::time::timeout(WAIT, talker.next())
            .await
            .expect("talker served")
        {
            Some(Ok(Message::Text(text))) => {
                heartbeats += usize::from(channel_of(text.as_str()) == "heartbeats")
            }
            other => panic!("subscribed connection ended: {other:?}"),
        }
    }
    server.shutdown().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_products_and_time_answer_like_coinbase() {
    // Proves the REST endpoints: recorded products (all, and filtered by repeated product_ids) and camelCase time.
    let path = capture_path();
    let (addr, server) = start_server(&path, |_| {}).await;
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(url).send().await.expect("request");
            assert_eq!(response.status(), 200);
            let body = response.text().await.expect("body");
            serde_json::from_str::<Value>(&body).expect("json body")
        }
    };
    let base = format!("http://{addr}/api/v3/brokerage");
    let all = get(format!("{base}/market/products")).await;
    assert_eq!(all["products"].as_array().map(Vec::len), Some(920));
    assert_eq!(all["num_products"], 920);
    let some = get(format!(
        "{base}/market/products?product_ids=ETH-USD&product_ids=BTC-USD&product_ids=NOPE-USD"
    ))
    .await;
    let ids: Vec<&str> = some["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p["product_id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        ["BTC-USD", "ETH-USD"],
        "filtered, in the recording's order"
    );
    assert_eq!(some["num_products"], 2);
    assert_eq!(some["products"][0]["price_increment"], "0.01");
    let time = get(format!("{base}/time")).await;
    let seconds: u64 = time["epochSeconds"]
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    let millis: u64 = time["epochMillis"]
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(seconds.abs_diff(now) <= 5 && millis / 1000 == seconds);
    let iso = time["iso"].as_str().expect("iso");
    assert!(
        iso.len() == 24 && iso.ends_with('Z') && iso.as_bytes()[10] == b'T',
        "{iso}"
    );
    let missing = http
        .get(format!("http://{addr}/nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        missing.status(),
        404,
        "a non-upgrade request to another path is not found"
    );
    server.shutdown().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_pace_follows_the_recorded_timestamps_scaled_by_speed() {
    // Proves --pace recorded: at speed 20 the 24.2 s between the first and last recorded
    // ticker/heartbeat take at least 24.2/20 s (never sent ahead of the scaled timestamps),
    // every recorded frame arrives in order, then one synthesized heartbeat; and the speed
    // scales the pace: a speed-5 server started beside it has not finished its recording
    // when the speed-20 one has (no wall-clock upper bound: an order of events).
    let path = capture_path();
    let speed = 20.0;
    let paced = |speed| {
        move |c: &mut ReplayConfig| {
            c.pace = Pace::Recorded;
            c.speed = speed;
        }
    };
    let (addr, server) = start_server(&path, paced(speed)).await;
    let (slow_addr, slow_server) = start_server(&path, paced(speed / 4.0)).await;
    let channels = ["heartbeats", "ticker"];
    let mut client = Client::start(addr, &channels, &["BTC-USD"], |_| {});
    let mut slow = Client::start(slow_addr, &channels, &["BTC-USD"], |_| {});
    let is_recorded = |event: &Event, conn| {
        matches!(event, Event::Frame(c, text) if *c == conn && channel_of(text) != "subscriptions")
            && !is_synthetic_frame(event, conn)
    };
    // Both streams drained as they arrive, until the fast one's synthesized heartbeat.
    let (mut stamps, mut events, mut slow_recorded) = (Vec::new(), Vec::new(), 0);
    let drained = tokio::time::timeout(WAIT, async {
        loop {
            tokio::select! {
                event = client.events.recv() => {
                    let event = event.expect("client running");
                    if is_recorded(&event, 1) || is_synthetic_frame(&event, 1) {
                        stamps.push(Instant::now());
                    }
                    let done = is_synthetic_frame(&event, 1);
                    events.push(event);
                    if done {
                        return;
                    }
                }
                event = slow.events.recv() => {
                    slow_recorded += usize::from(is_recorded(&event.expect("client running"), 1));
                }
            }
        }
    })
    .await;
    assert!(
        drained.is_ok(),
        "no synthesized heartbeat: {:?}",
        summary(&events)
    );
    client.stop().await;
    slow.stop().await;
    server.shutdown().await.expect("server stops");
    slow_server.shutdown().await.expect("server stops");
    let recorded_frames = expected(&path, &channels, &["BTC-USD"]).len();
    assert_eq!(
        stamps.len(),
        recorded_frames + 1,
        "every recorded frame, then one synthesized heartbeat"
    );
    assert!(
        slow_recorded < recorded_frames,
        "the speed-5 server is still replaying ({slow_recorded} of {recorded_frames} frames) \
         when the speed-20 one has finished"
    );
    let capture = load_frames(&path).expect("capture");
    let first_ts = capture
        .frames
        .iter()
        .find(|(_, t)| t.contains("\"channel\":\"ticker\""))
        .map(|f| f.0)
        .expect("ticker");
    let last_ts = capture
        .frames
        .iter()
        .rev()
        .find(|(_, t)| t.contains("\"channel\":\"heartbeats\""))
        .map(|f| f.0)
        .expect("hb");
    let want = Duration::from_nanos(((last_ts - first_ts) as f64 / speed) as u64);
    let got = stamps[recorded_frames - 1] - stamps[0];
    assert!(
        got >= want.mul_f64(0.9),
        "took {got:?}: sent ahead of the scaled timestamps ({want:?})"
    );
    assert_recorded_stream(
        &frames_of(&events, 1),
        &expected(&path, &channels, &["BTC-USD"]),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_starts_over_with_one_continuing_sequence() {
    // Proves --loop: after the last frame the recording plays again, sequence_num still contiguous.
    let path = capture_path();
    let (addr, server) = start_server(&path, |c| c.loop_playback = true).await;
    let mut client = Client::start(addr, &["heartbeats", "ticker"], &["ETH-USD"], |_| {});
    let first_heartbeat = "\"heartbeat_counter\":41691}";
    let mut seen = 0;
    let events = client
        .until(|e| {
            seen += usize::from(matches!(e, Event::Frame(_, t) if t.contains(first_heartbeat)));
            seen == 2
        })
        .await;
    client.stop().await;
    server.shutdown().await.expect("server stops");
    let frames = frames_of(&events, 1);
    let sequence: Vec<u64> = frames
        .iter()
        .map(|f| split_sequence(f).0.expect("seq"))
        .collect();
    assert_eq!(sequence, (0..frames.len() as u64).collect::<Vec<_>>());
    let one_pass = expected(&path, &["heartbeats", "ticker"], &["ETH-USD"]).len();
    let position = |nth: usize| {
        frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.contains(first_heartbeat))
            .nth(nth)
            .map(|p| p.0)
    };
    let (first, second) = (
        position(0).expect("first pass"),
        position(1).expect("second pass"),
    );
    assert_eq!(
        second - first,
        one_pass,
        "the second pass repeats the whole recording"
    );
    assert!(
        frames.iter().all(|f| !is_synthetic_heartbeat(f)),
        "no synthesized heartbeat when looping"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venue_error_frames_are_forwarded_and_counted() {
    // Proves an {"type":"error"} answer (private channel without JWT) reaches the sink and the error counter.
    let path = capture_path();
    let (addr, server) = start_server(&path, |_| {}).await;
    let mut client = Client::start(addr, &["user", "heartbeats"], &["BTC-USD"], |_| {});
    let events = client
        .until(|e| matches!(e, Event::Frame(_, t) if channel_of(t) == "heartbeats"))
        .await;
    let stats = client.stats.snapshot();
    client.stop().await;
    server.shutdown().await.expect("server stops");
    let errors: Vec<&str> = frames_of(&events, 1)
        .into_iter()
        .filter(|f| f.starts_with("{\"type\":\"error\""))
        .collect();
    assert_eq!(
        errors,
        [r#"{"type":"error","message":"authentication failure"}"#]
    );
    assert_eq!(
        (stats.error_frames, stats.gaps),
        (1, 0),
        "an error frame has no sequence_num: no gap"
    );
}
