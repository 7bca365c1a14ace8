// Proves: no market-data frame or products body, however malformed, makes the Coinbase
// decoder panic; a refused frame is a `DecodeError` value; an accepted one has every event
// range inside the batch and within the configured limits; and the `l2_data` fast path and
// the general simd-json path give the same result for every frame.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use traider_core::event::{DecodeError, DecodedBatch, FrameDecoder, FrameKind, MarketEvent};
use traider_fuzz::{load_products, loaded_decoder, paper_config};
use traider_fuzz_kit::layout::md_frame;
use traider_gateways::coinbase::parse::CoinbaseDecoder;

struct State {
    /// Fast path on, as the daemon runs.
    fast: CoinbaseDecoder,
    /// General path only: the reference the fast path must agree with.
    general: CoinbaseDecoder,
    /// Decodes products bodies (its rules are reset after each input).
    products: CoinbaseDecoder,
    a: DecodedBatch,
    b: DecodedBatch,
    levels_max: usize,
    trades_max: usize,
}

impl State {
    fn new() -> Self {
        let config = paper_config();
        let levels_max = config.levels_per_frame_max();
        let trades_max = config.limits.trades_per_frame_max;
        Self {
            fast: loaded_decoder(&config, true),
            general: loaded_decoder(&config, false),
            products: loaded_decoder(&config, false),
            a: DecodedBatch::with_capacity(levels_max, trades_max),
            b: DecodedBatch::with_capacity(levels_max, trades_max),
            levels_max,
            trades_max,
        }
    }

    fn market_data(&mut self, frame: &[u8]) {
        self.a.clear();
        self.b.clear();
        let fast = self.fast.decode(FrameKind::MarketData, frame, &mut self.a);
        let general = self
            .general
            .decode(FrameKind::MarketData, frame, &mut self.b);
        assert_eq!(
            fast, general,
            "fast and general paths disagree on the result"
        );
        if fast.is_ok() {
            check_batch(&self.a, self.levels_max, self.trades_max);
            assert_eq!(
                self.a.sequence_num, self.b.sequence_num,
                "sequence_num differs"
            );
            assert_eq!(self.a.events, self.b.events, "events differ");
            assert_eq!(self.a.levels, self.b.levels, "levels differ");
            assert_eq!(self.a.trades, self.b.trades, "trades differ");
            assert_eq!(self.a.ignored, self.b.ignored, "ignored counts differ");
        }
    }

    fn products(&mut self, body: &[u8]) {
        self.a.clear();
        let result: Result<(), DecodeError> =
            self.products.decode(FrameKind::Products, body, &mut self.a);
        if result.is_ok() {
            check_batch(&self.a, self.levels_max, self.trades_max);
        }
        // Back to the fixture's rules, so every input starts from the same state.
        load_products(&mut self.products);
    }
}

/// Every range an event names lies inside the batch, and the limits hold.
fn check_batch(batch: &DecodedBatch, levels_max: usize, trades_max: usize) {
    assert!(
        batch.levels.len() <= levels_max,
        "more levels than the limit"
    );
    assert!(
        batch.trades.len() <= trades_max,
        "more trades than the limit"
    );
    for event in &batch.events {
        let (range, len) = match event {
            MarketEvent::BookSnapshot { levels, .. } | MarketEvent::BookUpdate { levels, .. } => {
                (levels, batch.levels.len())
            }
            MarketEvent::Trades { trades, .. } => (trades, batch.trades.len()),
            MarketEvent::Instruments { specs } => (specs, batch.specs.len()),
            _ => continue,
        };
        assert!(
            range.start <= range.end && range.end <= len,
            "{event:?} out of the batch"
        );
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::new());
}

fuzz_target!(|data: &[u8]| {
    let Some((kind, frame)) = md_frame::split(data) else {
        return;
    };
    STATE.with_borrow_mut(|state| match kind {
        md_frame::PRODUCTS => state.products(frame),
        _ => state.market_data(frame),
    });
});
