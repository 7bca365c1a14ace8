//! The Coinbase decoder against the real recorded Advanced Trade session.
#![allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom

use traider_core::book::OrderBook;
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind, MarketEvent};
use traider_gateways::capture::load_frames;
use traider_gateways::coinbase::parse::CoinbaseDecoder;

use traider_testkit::data::capture as capture_path;

// Proves that decoding every recorded frame and applying the l2_data messages ends at the
// SOURCES.md oracle (exact best bid/ask, sizes and level counts), that the book never crosses,
// that the books agree with the last ticker, and that no real frame fails to decode.
#[test]
fn recorded_session_rebuilds_the_documented_books() {
    let path = capture_path();
    let capture = load_frames(&path).expect("capture loads");
    let mut decoder = CoinbaseDecoder::new(&["BTC-USD", "ETH-USD"], 16 << 20, 200_000, 1_000);
    let mut batch = DecodedBatch::with_capacity(200_000, 1_000);
    let frame = capture
        .products_body
        .clone()
        .expect("capture has a products body")
        .into_bytes();
    decoder
        .decode(FrameKind::Products, &frame, &mut batch)
        .expect("products decode");
    let specs: Vec<_> = batch.specs.iter().map(|(_, spec)| *spec).collect();
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0].symbol.as_str(), "BTC-USD");

    let mut books = [
        OrderBook::with_capacity(65_536),
        OrderBook::with_capacity(65_536),
    ];
    let mut tickers = [None, None];
    let (mut l2_messages, mut level_changes, mut trades, mut heartbeats) = (0, 0, 0, 0);
    for (expected_seq, (ts_ns, text)) in capture.frames.iter().enumerate() {
        let frame = text.clone().into_bytes();
        batch.clear();
        decoder
            .decode(FrameKind::MarketData, &frame, &mut batch)
            .unwrap_or_else(|e| panic!("frame failed: {e}: {}", &text[..120]));
        assert_eq!(
            batch.sequence_num,
            Some(expected_seq as u64),
            "one counter per connection, no gaps"
        );
        for event in &batch.events {
            match event {
                MarketEvent::BookSnapshot { instrument, levels } => {
                    books[instrument.index()]
                        .apply_snapshot(&batch.levels[levels.clone()], *ts_ns)
                        .unwrap();
                    l2_messages += 1;
                    level_changes += levels.len();
                }
                MarketEvent::BookUpdate { instrument, levels } => {
                    books[instrument.index()]
                        .apply_update(&batch.levels[levels.clone()], *ts_ns)
                        .unwrap();
                    l2_messages += 1;
                    level_changes += levels.len();
                }
                MarketEvent::Trades { trades: range, .. } => trades += range.len(),
                MarketEvent::Ticker { instrument, top } => tickers[instrument.index()] = Some(*top),
                MarketEvent::Heartbeat { .. } => heartbeats += 1,
                _ => {}
            }
        }
        for book in &books {
            assert!(!book.is_crossed(), "the recorded book never crosses");
        }
    }
    assert_eq!(l2_messages, 775);
    assert_eq!(level_changes, 46_000 + 23_334 + 4_859);
    assert_eq!(trades, 200 + 79);
    assert_eq!(heartbeats, 25);

    let btc = &books[0];
    let eth = &books[1];
    let show = |id: usize, (ticks, lots): (i64, i64)| {
        (specs[id].price_text(ticks), specs[id].size_text(lots))
    };
    assert_eq!((btc.bid_levels(), btc.ask_levels()), (18_769, 27_238));
    assert_eq!(
        show(0, btc.best_bid().unwrap()),
        ("65083.66".into(), "0.23929087".into())
    );
    assert_eq!(
        show(0, btc.best_ask().unwrap()),
        ("65083.67".into(), "0.29040961".into())
    );
    assert_eq!((eth.bid_levels(), eth.ask_levels()), (6_925, 16_403));
    assert_eq!(
        show(1, eth.best_bid().unwrap()),
        ("1919.28".into(), "0.14476526".into())
    );
    assert_eq!(
        show(1, eth.best_ask().unwrap()),
        ("1919.38".into(), "0.01194407".into())
    );
    for (index, book) in books.iter().enumerate() {
        let ticker = tickers[index].expect("tickers seen");
        let top = book.top().unwrap();
        assert_eq!(
            (top.bid_ticks, top.ask_ticks),
            (ticker.bid_ticks, ticker.ask_ticks),
            "book top equals last ticker"
        );
    }
}

/// Everything a decode produced, for comparing the two paths.
fn outcome(decoder: &mut CoinbaseDecoder, text: &[u8], batch: &mut DecodedBatch) -> String {
    batch.clear();
    let frame = text.to_vec();
    let result = decoder.decode(FrameKind::MarketData, &frame, batch);
    format!(
        "{result:?} seq={:?} events={:?} levels={:?} trades={:?} ignored={}",
        batch.sequence_num, batch.events, batch.levels, batch.trades, batch.ignored
    )
}

fn both_paths(capture: &traider_gateways::capture::Capture) -> [CoinbaseDecoder; 2] {
    [true, false].map(|fast| {
        let mut decoder = CoinbaseDecoder::new(&["BTC-USD", "ETH-USD"], 16 << 20, 200_000, 1_000)
            .with_fast_path(fast);
        let mut batch = DecodedBatch::with_capacity(16, 16);
        let frame = capture
            .products_body
            .clone()
            .expect("products")
            .into_bytes();
        decoder
            .decode(FrameKind::Products, &frame, &mut batch)
            .expect("products decode");
        decoder
    })
}

// Proves the l2_data fast path and the general simd-json path decode every recorded frame
// (snapshots included) to exactly the same events, levels, sequence numbers and counters.
#[test]
fn fast_path_equals_general_path_on_every_recorded_frame() {
    let path = capture_path();
    let capture = load_frames(&path).expect("capture loads");
    let [mut fast, mut general] = both_paths(&capture);
    let mut batch = DecodedBatch::with_capacity(200_000, 1_000);
    for (_, text) in &capture.frames {
        let a = outcome(&mut fast, text.as_bytes(), &mut batch);
        let b = outcome(&mut general, text.as_bytes(), &mut batch);
        assert!(a == b, "paths differ on {}", &text[..text.len().min(200)]);
    }
    assert_eq!(
        fast.fast_path_frames(),
        775,
        "every recorded l2_data frame takes the fast path"
    );
    assert_eq!(general.fast_path_frames(), 0);
}

// Proves that for damaged real book frames the fast path never decodes anything the
// general path would not: for the smallest recorded l2_data frames, every single-byte
// replacement (from a set of JSON-significant bytes), every insertion and every truncation
// gives the same result on both paths, error or events.
#[test]
fn damaged_frames_decode_the_same_on_both_paths() {
    let path = capture_path();
    let capture = load_frames(&path).expect("capture loads");
    let [mut fast, mut general] = both_paths(&capture);
    let mut frames: Vec<&str> = capture
        .frames
        .iter()
        .map(|(_, t)| t.as_str())
        .filter(|t| t.contains("\"l2_data\""))
        .collect();
    frames.sort_by_key(|t| t.len());
    let bytes_to_try = b"\"\\,:{}[] 0123456789.-+eEabdfilnoprstuwy\x01\x7f\xc3";
    let mut batch = DecodedBatch::with_capacity(200_000, 1_000);
    let mut compared = 0;
    for frame in frames.iter().take(3) {
        let original = frame.as_bytes();
        let mut variants: Vec<Vec<u8>> = (0..original.len())
            .map(|cut| original[..cut].to_vec())
            .collect();
        for index in 0..original.len() {
            for &byte in bytes_to_try {
                let mut replaced = original.to_vec();
                replaced[index] = byte;
                variants.push(replaced);
                let mut inserted = original.to_vec();
                inserted.insert(index, byte);
                variants.push(inserted);
            }
        }
        for variant in variants {
            let a = outcome(&mut fast, &variant, &mut batch);
            let b = outcome(&mut general, &variant, &mut batch);
            assert!(
                a == b,
                "paths differ on {:?}:\n fast: {a}\n general: {b}",
                String::from_utf8_lossy(&variant)
            );
            compared += 1;
        }
    }
    assert!(
        fast.fast_path_frames() > 0,
        "some damaged frames are still valid and take the fast path"
    );
    assert!(compared > 30_000);
}
