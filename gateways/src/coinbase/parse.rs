//! Coinbase Advanced Trade frames → core events, on the hot thread.
//!
//! [`CoinbaseDecoder`] parses each frame in place with `simd-json` into a reused tape and walks
//! it, writing integer events into the engine's [`DecodedBatch`]. After warm-up it allocates
//! nothing: the tape, the parser buffers and the batch keep their capacity.
//!
//! Wire facts it relies on (see shared/docs/coinbase-advanced-trade.md): `l2_data` sides are
//! `bid`/`offer` and sizes are absolute (`"0"` deletes); `market_trades.side` is the maker's
//! side; `heartbeat_counter` may be a number or a string; `client_id` may be absent; unknown
//! fields, channels and event types are ignored (and counted), never errors.

use super::l2_scan::{Products, scan_l2};
use simd_json::prelude::*;
use simd_json::value::tape::{Array, Object, Value};
use simd_json::{Buffers, Tape};
use traider_core::event::{
    DecodeError, DecodedBatch, FrameDecoder, FrameKind, LevelChange, MarketEvent, Side, TickerTop,
    TradePrint,
};
use traider_core::instrument::{InstrumentId, InstrumentSpec, ProductRules, Symbol, VenueStatus};

/// One configured product, as the decoder knows it.
struct Product {
    symbol: Symbol,
    spec: Option<InstrumentSpec>,
}

pub struct CoinbaseDecoder {
    products: Vec<Product>,
    /// The frame copied for in-place parsing (general path only), with simd-json's padding.
    scratch: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
    levels_max: usize,
    trades_max: usize,
    /// Try the `l2_data` scanner before the general path (on unless a test turns it off).
    fast_l2: bool,
    /// Frames the scanner decoded (the rest took the general path).
    fast_l2_frames: u64,
}

impl CoinbaseDecoder {
    /// A decoder for the configured products (their order gives the [`InstrumentId`]s), sized
    /// for frames up to `frame_bytes_max` with at most `levels_max` levels and `trades_max`
    /// trades each.
    pub fn new(
        product_ids: &[&str],
        frame_bytes_max: usize,
        levels_max: usize,
        trades_max: usize,
    ) -> Self {
        let products = product_ids
            .iter()
            .filter_map(|id| Symbol::new(id))
            .map(|symbol| Product { symbol, spec: None })
            .collect();
        // A level is ~110 bytes of JSON and 9 tape nodes; size the tape for the biggest frame.
        let mut tape = Tape::null().reset();
        tape.0.reserve(frame_bytes_max / 12);
        Self {
            products,
            scratch: Vec::with_capacity(frame_bytes_max + simd_json::INPUT_PADDING),
            buffers: Buffers::new(frame_bytes_max),
            tape: Some(tape),
            levels_max,
            trades_max,
            fast_l2: true,
            fast_l2_frames: 0,
        }
    }

    /// Turns the `l2_data` fast path on or off (both paths decode to the same events; tests
    /// compare them).
    pub fn with_fast_path(mut self, enabled: bool) -> Self {
        self.fast_l2 = enabled;
        self
    }

    /// Frames the `l2_data` scanner decoded so far.
    pub fn fast_path_frames(&self) -> u64 {
        self.fast_l2_frames
    }

    fn instrument(&self, product_id: &str) -> Option<InstrumentId> {
        let bytes = product_id.as_bytes();
        // `as_slice()`: with simd-json's prelude in scope, `Vec::iter` resolves to its
        // `ArrayTrait::iter`, which boxes the iterator: an allocation per call on the hot path.
        self.products
            .as_slice()
            .iter()
            .position(|p| p.symbol.as_bytes() == bytes)
            .map(|index| InstrumentId(index as u16))
    }

    /// The spec for a configured product, or why not: `Ok(None)` = not configured (ignored).
    fn spec_for(
        &self,
        product_id: &str,
    ) -> Result<Option<(InstrumentId, InstrumentSpec)>, DecodeError> {
        match self.instrument(product_id) {
            None => Ok(None),
            Some(id) => match self.products[id.index()].spec {
                Some(spec) => Ok(Some((id, spec))),
                None => Err(DecodeError::NoInstrument),
            },
        }
    }
}

impl Products for CoinbaseDecoder {
    fn defined(&self, product_id: &[u8]) -> Option<(InstrumentId, InstrumentSpec)> {
        let index = self
            .products
            .as_slice() // not the prelude's boxing `ArrayTrait::iter` (see `instrument`)
            .iter()
            .position(|p| p.symbol.as_bytes() == product_id)?;
        Some((InstrumentId(index as u16), self.products[index].spec?))
    }
}

impl FrameDecoder for CoinbaseDecoder {
    fn decode(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError> {
        if self.fast_l2
            && kind == FrameKind::MarketData
            && scan_l2(frame, &*self, self.levels_max, out).is_some()
        {
            self.fast_l2_frames += 1;
            return Ok(());
        }
        // simd-json parses in place and reads past the end: work on a padded copy.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(frame);
        let len = frame.len();
        scratch.resize(len + simd_json::INPUT_PADDING, 0);
        let mut tape = self
            .tape
            .take()
            .unwrap_or_else(|| Tape::null().reset())
            .reset();
        let parsed =
            simd_json::fill_tape_padded(&mut scratch[..], len, &mut self.buffers, &mut tape);
        let result = match parsed {
            Err(_) => Err(DecodeError::Json),
            Ok(()) => {
                let root = tape.as_value();
                match kind {
                    FrameKind::MarketData => self.parse_message(root, out),
                    FrameKind::Products => self.parse_products(root, out),
                }
            }
        };
        self.tape = Some(tape.reset());
        self.scratch = scratch;
        result
    }
}

impl CoinbaseDecoder {
    fn parse_message(
        &mut self,
        root: Value<'_, '_>,
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError> {
        let envelope = root.as_object().ok_or(DecodeError::Shape)?;
        let mut channel = None;
        let mut events = None;
        let mut message_type = None;
        for (key, value) in envelope.iter() {
            match key {
                "channel" => channel = Some(value.into_string().ok_or(DecodeError::Shape)?),
                "sequence_num" => {
                    out.sequence_num = Some(value.as_u64().ok_or(DecodeError::Shape)?)
                }
                "events" => events = Some(value.as_array().ok_or(DecodeError::Shape)?),
                "type" => message_type = value.into_string(),
                _ => {}
            }
        }
        let Some(channel) = channel else {
            if message_type == Some("error") {
                out.events.push(MarketEvent::VenueError);
                return Ok(());
            }
            return Err(DecodeError::Shape);
        };
        let events = events.ok_or(DecodeError::Shape)?;
        match channel {
            "l2_data" => self.parse_l2_events(&events, out),
            "market_trades" => self.parse_trade_events(&events, out),
            "ticker" => self.parse_ticker_events(&events, out),
            "heartbeats" => parse_heartbeat_events(&events, out),
            _ => {
                out.ignored += 1;
                Ok(())
            }
        }
    }

    fn parse_l2_events(
        &mut self,
        events: &Array<'_, '_>,
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError> {
        for event in events.iter() {
            let event = event.as_object().ok_or(DecodeError::Shape)?;
            let (mut event_type, mut product_id, mut updates) = (None, None, None);
            for (key, value) in event.iter() {
                match key {
                    "type" => event_type = value.into_string(),
                    "product_id" => product_id = value.into_string(),
                    "updates" => updates = value.as_array(),
                    _ => {}
                }
            }
            let (Some(event_type), Some(product_id), Some(updates)) =
                (event_type, product_id, updates)
            else {
                return Err(DecodeError::Shape);
            };
            let snapshot = match event_type {
                "snapshot" => true,
                "update" => false,
                _ => {
                    out.ignored += 1;
                    continue;
                }
            };
            let Some((instrument, spec)) = self.spec_for(product_id)? else {
                out.ignored += 1;
                continue;
            };
            let start = out.levels.len();
            for update in updates.iter() {
                if out.levels.len() == self.levels_max {
                    return Err(DecodeError::TooLarge);
                }
                out.levels.push(parse_level(
                    update.as_object().ok_or(DecodeError::Shape)?,
                    &spec,
                )?);
            }
            let levels = start..out.levels.len();
            out.events
                .push(MarketEvent::book(snapshot, instrument, levels));
        }
        Ok(())
    }

    fn parse_trade_events(
        &mut self,
        events: &Array<'_, '_>,
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError> {
        for event in events.iter() {
            let event = event.as_object().ok_or(DecodeError::Shape)?;
            let snapshot = match event.get("type").and_then(ValueIntoString::into_string) {
                Some("snapshot") => true,
                Some("update") => false,
                Some(_) => {
                    out.ignored += 1;
                    continue;
                }
                None => return Err(DecodeError::Shape),
            };
            let trades = event
                .get("trades")
                .and_then(|v| v.as_array())
                .ok_or(DecodeError::Shape)?;
            // One Trades event per run of the same product.
            let mut run: Option<(InstrumentId, usize)> = None;
            for trade in trades.iter() {
                let trade = trade.as_object().ok_or(DecodeError::Shape)?;
                let product_id = trade
                    .get("product_id")
                    .and_then(ValueIntoString::into_string)
                    .ok_or(DecodeError::Shape)?;
                let Some((instrument, spec)) = self.spec_for(product_id)? else {
                    out.ignored += 1;
                    continue;
                };
                if let Some((current, start)) = run
                    && current != instrument
                {
                    out.events.push(MarketEvent::Trades {
                        instrument: current,
                        trades: start..out.trades.len(),
                        snapshot,
                    });
                    run = None;
                }
                if out.trades.len() == self.trades_max {
                    return Err(DecodeError::TooLarge);
                }
                let start = run.map_or(out.trades.len(), |(_, start)| start);
                out.trades.push(parse_trade(&trade, &spec)?);
                run = Some((instrument, start));
            }
            if let Some((instrument, start)) = run {
                out.events.push(MarketEvent::Trades {
                    instrument,
                    trades: start..out.trades.len(),
                    snapshot,
                });
            }
        }
        Ok(())
    }

    fn parse_ticker_events(
        &mut self,
        events: &Array<'_, '_>,
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError> {
        for event in events.iter() {
            let event = event.as_object().ok_or(DecodeError::Shape)?;
            let tickers = event
                .get("tickers")
                .and_then(|v| v.as_array())
                .ok_or(DecodeError::Shape)?;
            for ticker in tickers.iter() {
                let ticker = ticker.as_object().ok_or(DecodeError::Shape)?;
                let product_id = ticker
                    .get("product_id")
                    .and_then(ValueIntoString::into_string)
                    .ok_or(DecodeError::Shape)?;
                let Some((instrument, spec)) = self.spec_for(product_id)? else {
                    out.ignored += 1;
                    continue;
                };
                let price = |key: &str| -> Result<i64, DecodeError> {
                    let text = ticker
                        .get(key)
                        .and_then(ValueIntoString::into_string)
                        .ok_or(DecodeError::Shape)?;
                    spec.parse_price(text.as_bytes())
                        .map_err(|_| DecodeError::Number)
                };
                let top = TickerTop {
                    last_ticks: price("price")?,
                    bid_ticks: price("best_bid")?,
                    ask_ticks: price("best_ask")?,
                };
                out.events.push(MarketEvent::Ticker { instrument, top });
            }
        }
        Ok(())
    }

    fn parse_products(
        &mut self,
        root: Value<'_, '_>,
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError> {
        let root = root.as_object().ok_or(DecodeError::Shape)?;
        let products = root
            .get("products")
            .and_then(|v| v.as_array())
            .ok_or(DecodeError::Shape)?;
        let start = out.specs.len();
        for product in products.iter() {
            let product = product.as_object().ok_or(DecodeError::Shape)?;
            let product_id = product
                .get("product_id")
                .and_then(ValueIntoString::into_string)
                .ok_or(DecodeError::Shape)?;
            let Some(instrument) = self.instrument(product_id) else {
                out.ignored += 1;
                continue;
            };
            let spec = InstrumentSpec::new_checked(&parse_product_rules(&product, product_id)?)
                .map_err(|_| DecodeError::Number)?;
            self.products[instrument.index()].spec = Some(spec);
            out.specs.push((instrument, spec));
        }
        out.events.push(MarketEvent::Instruments {
            specs: start..out.specs.len(),
        });
        Ok(())
    }
}

/// A products-response entry → the decimal rules the core turns into integers.
pub fn parse_product_rules<'a>(
    product: &Object<'_, 'a>,
    product_id: &'a str,
) -> Result<ProductRules<'a>, DecodeError> {
    let text = |key: &str| {
        product
            .get(key)
            .and_then(ValueIntoString::into_string)
            .ok_or(DecodeError::Shape)
    };
    let flag = |key: &str| product.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    let online = product
        .get("status")
        .and_then(ValueIntoString::into_string)
        .is_some_and(|s| s.eq_ignore_ascii_case("online"));
    let price_increment = match product
        .get("price_increment")
        .and_then(ValueIntoString::into_string)
    {
        Some(text) if !text.is_empty() => text,
        _ => text("quote_increment")?,
    };
    Ok(ProductRules {
        product_id,
        price_increment,
        base_increment: text("base_increment")?,
        base_min_size: text("base_min_size")?,
        base_max_size: text("base_max_size")?,
        quote_min_size: text("quote_min_size")?,
        quote_max_size: text("quote_max_size")?,
        status: VenueStatus {
            trading_disabled: !online
                || flag("trading_disabled")
                || flag("is_disabled")
                || flag("view_only"),
            cancel_only: flag("cancel_only"),
            limit_only: flag("limit_only"),
            post_only: flag("post_only"),
        },
    })
}

/// One `l2_data` update entry.
#[inline]
pub fn parse_level(
    update: Object<'_, '_>,
    spec: &InstrumentSpec,
) -> Result<LevelChange, DecodeError> {
    let (mut side, mut price, mut size) = (None, None, None);
    for (key, value) in update.iter() {
        match key {
            "side" => side = value.into_string(),
            "price_level" => price = value.into_string(),
            "new_quantity" => size = value.into_string(),
            _ => {}
        }
    }
    let side = match side.ok_or(DecodeError::Shape)? {
        "bid" => Side::Buy,
        "offer" | "ask" => Side::Sell,
        _ => return Err(DecodeError::Shape),
    };
    let price_ticks = spec
        .parse_price(price.ok_or(DecodeError::Shape)?.as_bytes())
        .map_err(|_| DecodeError::Number)?;
    let size_lots = spec
        .parse_size(size.ok_or(DecodeError::Shape)?.as_bytes())
        .map_err(|_| DecodeError::Number)?;
    Ok(LevelChange {
        side,
        price_ticks,
        size_lots,
    })
}

/// One `market_trades` trade. `side` is the maker's side.
pub fn parse_trade(
    trade: &Object<'_, '_>,
    spec: &InstrumentSpec,
) -> Result<TradePrint, DecodeError> {
    let text = |key: &str| {
        trade
            .get(key)
            .and_then(ValueIntoString::into_string)
            .ok_or(DecodeError::Shape)
    };
    let maker_side = match text("side")? {
        s if s.eq_ignore_ascii_case("buy") => Side::Buy,
        s if s.eq_ignore_ascii_case("sell") => Side::Sell,
        _ => return Err(DecodeError::Shape),
    };
    Ok(TradePrint {
        price_ticks: spec
            .parse_price(text("price")?.as_bytes())
            .map_err(|_| DecodeError::Number)?,
        size_lots: spec
            .parse_size(text("size")?.as_bytes())
            .map_err(|_| DecodeError::Number)?,
        maker_side,
        trade_id: text("trade_id")
            .ok()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0),
    })
}

fn parse_heartbeat_events(
    events: &Array<'_, '_>,
    out: &mut DecodedBatch,
) -> Result<(), DecodeError> {
    for event in events.iter() {
        let event = event.as_object().ok_or(DecodeError::Shape)?;
        let counter = event.get("heartbeat_counter").ok_or(DecodeError::Shape)?;
        // A number on the wire, a string in Coinbase's docs: accept both.
        let counter = counter
            .as_u64()
            .or_else(|| counter.into_string().and_then(|s| s.parse().ok()))
            .ok_or(DecodeError::Shape)?;
        out.events.push(MarketEvent::Heartbeat { counter });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTS: &str = r#"{"products":[
        {"product_id":"BTC-USD","price_increment":"0.01","base_increment":"0.00000001","base_min_size":"0.00000001","base_max_size":"3400","quote_min_size":"1","quote_max_size":"150000000","status":"online","trading_disabled":false,"cancel_only":false,"limit_only":false,"post_only":false},
        {"product_id":"DOGE-USD","price_increment":"0.00001","base_increment":"0.1","base_min_size":"0.1","base_max_size":"100","quote_min_size":"1","quote_max_size":"1","status":"delisted"}
    ],"num_products":2}"#;

    fn decoder() -> (CoinbaseDecoder, DecodedBatch) {
        let mut decoder = CoinbaseDecoder::new(&["BTC-USD", "ETH-USD"], 1 << 16, 64, 16);
        let mut batch = DecodedBatch::with_capacity(64, 16);
        let frame = PRODUCTS.as_bytes();
        decoder
            .decode(FrameKind::Products, frame, &mut batch)
            .unwrap();
        (decoder, batch)
    }

    fn decode(
        decoder: &mut CoinbaseDecoder,
        batch: &mut DecodedBatch,
        text: &str,
    ) -> Result<(), DecodeError> {
        batch.clear();
        let frame = text.as_bytes();
        decoder.decode(FrameKind::MarketData, frame, batch)
    }

    // Proves products are mapped to configured instruments only, with venue flags.
    #[test]
    fn products_define_configured_instruments() {
        let (_, batch) = decoder();
        assert_eq!(
            batch.specs.len(),
            1,
            "DOGE-USD is not configured; ETH-USD is absent"
        );
        assert_eq!(batch.specs[0].0, InstrumentId(0));
        assert_eq!(batch.ignored, 1);
        assert!(!batch.specs[0].1.status.trading_disabled);
    }

    // Proves a real-shaped update decodes to integer levels with bid/offer sides.
    #[test]
    fn l2_update_decodes() {
        let (mut decoder, mut batch) = decoder();
        let frame = r#"{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.507227366Z","sequence_num":16,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"offer","event_time":"2026-08-09T21:05:48.27841Z","price_level":"65083.71","new_quantity":"0.06"},{"side":"bid","event_time":"2026-08-09T21:05:48.27841Z","price_level":"65000","new_quantity":"0"}]}]}"#;
        decode(&mut decoder, &mut batch, frame).unwrap();
        assert_eq!(batch.sequence_num, Some(16));
        assert_eq!(
            batch.events,
            vec![MarketEvent::BookUpdate {
                instrument: InstrumentId(0),
                levels: 0..2
            }]
        );
        assert_eq!(
            batch.levels[0],
            LevelChange {
                side: Side::Sell,
                price_ticks: 6_508_371,
                size_lots: 6_000_000
            }
        );
        assert_eq!(
            batch.levels[1],
            LevelChange {
                side: Side::Buy,
                price_ticks: 6_500_000,
                size_lots: 0
            }
        );
    }

    // Proves malformed and unexpected frames are typed errors or counted ignores, never panics.
    #[test]
    fn bad_frames_are_errors_not_panics() {
        let (mut decoder, mut batch) = decoder();
        let cases: &[(&str, Result<(), DecodeError>)] = &[
            ("{not json", Err(DecodeError::Json)),
            ("", Err(DecodeError::Json)),
            ("[1,2,3]", Err(DecodeError::Shape)),
            (
                r#"{"channel":"l2_data","sequence_num":1}"#,
                Err(DecodeError::Shape),
            ),
            (
                r#"{"channel":"l2_data","sequence_num":"x","events":[]}"#,
                Err(DecodeError::Shape),
            ),
            (
                r#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"up","price_level":"1","new_quantity":"1"}]}]}"#,
                Err(DecodeError::Shape),
            ),
            (
                r#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","price_level":"1.001","new_quantity":"1"}]}]}"#,
                Err(DecodeError::Number),
            ),
            (
                r#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","product_id":"ETH-USD","updates":[]}]}"#,
                Err(DecodeError::NoInstrument),
            ),
            (
                r#"{"channel":"market_trades","sequence_num":1,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"1","price":"1","size":"-1","side":"BUY"}]}]}"#,
                Err(DecodeError::Number),
            ),
            (
                r#"{"channel":"candles","sequence_num":1,"events":[]}"#,
                Ok(()),
            ),
            (
                r#"{"channel":"brand_new_channel","sequence_num":2,"events":[{"x":1}]}"#,
                Ok(()),
            ),
            (
                r#"{"type":"error","message":"authentication failure"}"#,
                Ok(()),
            ),
            (
                r#"{"channel":"heartbeats","sequence_num":3,"events":[{"current_time":"2026-08-09 21:05:48 +0000 UTC","heartbeat_counter":"41691"}]}"#,
                Ok(()),
            ),
        ];
        for (frame, expected) in cases {
            assert_eq!(
                decode(&mut decoder, &mut batch, frame),
                *expected,
                "{frame}"
            );
        }
        // The last three were understood: venue error, heartbeat with a string counter.
        decode(&mut decoder, &mut batch, cases[11].0).unwrap();
        assert_eq!(batch.events, vec![MarketEvent::VenueError]);
        decode(&mut decoder, &mut batch, cases[12].0).unwrap();
        assert_eq!(
            batch.events,
            vec![MarketEvent::Heartbeat { counter: 41_691 }]
        );
        decode(&mut decoder, &mut batch, cases[10].0).unwrap();
        assert_eq!(batch.ignored, 1, "unknown channels are counted");
    }

    // Proves the configured capacity is enforced as an error.
    #[test]
    fn too_many_levels_is_an_error() {
        let (mut decoder, mut batch) = decoder();
        let level = r#"{"side":"bid","event_time":"t","price_level":"1","new_quantity":"1"}"#;
        let levels = vec![level; 65].join(",");
        let frame = format!(
            r#"{{"channel":"l2_data","sequence_num":1,"events":[{{"type":"snapshot","product_id":"BTC-USD","updates":[{levels}]}}]}}"#
        );
        assert_eq!(
            decode(&mut decoder, &mut batch, &frame),
            Err(DecodeError::TooLarge)
        );
    }

    // Proves trades keep the maker side (market_trades.side is the maker's side).
    #[test]
    fn trades_keep_maker_side() {
        let (mut decoder, mut batch) = decoder();
        let frame = r#"{"channel":"market_trades","sequence_num":9,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"1068572091","price":"65083.67","size":"0.01034361","time":"2026-08-09T21:05:48.167634Z","side":"SELL"}]}]}"#;
        decode(&mut decoder, &mut batch, frame).unwrap();
        assert_eq!(
            batch.events,
            vec![MarketEvent::Trades {
                instrument: InstrumentId(0),
                trades: 0..1,
                snapshot: false
            }]
        );
        assert_eq!(
            batch.trades[0],
            TradePrint {
                price_ticks: 6_508_367,
                size_lots: 1_034_361,
                maker_side: Side::Sell,
                trade_id: 1_068_572_091
            }
        );
    }
}
