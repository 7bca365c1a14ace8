//! The Coinbase decoder against the real recorded Advanced Trade session.

use std::path::PathBuf;
use traider_core::book::OrderBook;
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind, MarketEvent};
use traider_gateways::capture::{load_frames, recorded_session};
use traider_gateways::coinbase::parse::CoinbaseDecoder;

fn capture_path() -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = recorded_session(&workspace);
    if path.is_none() {
        eprintln!("SKIP: the recorded session is not under $TRAIDER_DATA_DIR or ../shared/data");
    }
    path
}

// Proves that decoding every recorded frame and applying the l2_data messages ends at the
// SOURCES.md oracle (exact best bid/ask, sizes and level counts), that the book never crosses,
// that the books agree with the last ticker, and that no real frame fails to decode.
#[test]
fn recorded_session_rebuilds_the_documented_books() {
    let Some(path) = capture_path() else { return };
    let capture = load_frames(&path).expect("capture loads");
    let mut decoder = CoinbaseDecoder::new(&["BTC-USD", "ETH-USD"], 16 << 20, 200_000, 1_000);
    let mut batch = DecodedBatch::with_capacity(200_000, 1_000);
    let mut frame = capture
        .products_body
        .clone()
        .expect("capture has a products body")
        .into_bytes();
    decoder
        .decode(FrameKind::Products, &mut frame, &mut batch)
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
        let mut frame = text.clone().into_bytes();
        batch.clear();
        decoder
            .decode(FrameKind::MarketData, &mut frame, &mut batch)
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
