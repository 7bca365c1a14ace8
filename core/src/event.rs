//! Venue-neutral events decoded from input frames, and the decoder interface.
//!
//! A gateway's decoder (running on the hot thread) turns one raw frame into a
//! [`DecodedBatch`]: a handful of [`MarketEvent`]s whose level changes, trades and instrument
//! definitions live in the batch's pre-allocated vectors. The batch is reused frame after
//! frame, so decoding does not allocate in steady state.

use crate::instrument::{InstrumentId, InstrumentSpec};
use std::ops::Range;

crate::wire::code_enum! {
    /// Order and book side. In a book, `Buy` is the bid side and `Sell` the ask (offer) side.
    #[derive(PartialOrd, Ord)]
    pub enum Side {
        Buy = 0 "buy",
        Sell = 1 "sell",
    }
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for buys, −1 for sells.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// One price level's new absolute size (0 = delete).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelChange {
    pub side: Side,
    pub price_ticks: i64,
    pub size_lots: i64,
}

/// A trade printed by the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradePrint {
    pub price_ticks: i64,
    pub size_lots: i64,
    /// The side of the resting (maker) order; the aggressor is the opposite side.
    pub maker_side: Side,
    pub trade_id: u64,
}

/// Venue best bid/ask as reported by a ticker message (a cross-check of the book).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickerTop {
    pub last_ticks: i64,
    pub bid_ticks: i64,
    pub ask_ticks: i64,
}

/// One decoded event. Ranges index into the owning [`DecodedBatch`]'s vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarketEvent {
    /// The whole book of an instrument.
    BookSnapshot {
        instrument: InstrumentId,
        levels: Range<usize>,
    },
    /// Changes to an instrument's book.
    BookUpdate {
        instrument: InstrumentId,
        levels: Range<usize>,
    },
    /// Trades. `snapshot` trades are history sent at subscribe time, not live prints.
    Trades {
        instrument: InstrumentId,
        trades: Range<usize>,
        snapshot: bool,
    },
    Ticker {
        instrument: InstrumentId,
        top: TickerTop,
    },
    Heartbeat {
        counter: u64,
    },
    /// Instrument definitions (a products response).
    Instruments {
        specs: Range<usize>,
    },
    /// A venue error message (`{"type":"error",...}`).
    VenueError,
}

impl MarketEvent {
    /// A book snapshot or update of `instrument` over `levels`.
    pub fn book(snapshot: bool, instrument: InstrumentId, levels: Range<usize>) -> Self {
        if snapshot {
            MarketEvent::BookSnapshot { instrument, levels }
        } else {
            MarketEvent::BookUpdate { instrument, levels }
        }
    }
}

/// What one frame decoded into.
#[derive(Default)]
pub struct DecodedBatch {
    /// The frame's per-connection sequence number, when it has one.
    pub sequence_num: Option<u64>,
    pub events: Vec<MarketEvent>,
    pub levels: Vec<LevelChange>,
    pub trades: Vec<TradePrint>,
    pub specs: Vec<(InstrumentId, InstrumentSpec)>,
    /// Parts of the frame that were well-formed but not for us (unknown channel, product
    /// not configured, unknown event type); counted, never an error.
    pub ignored: u32,
}

impl DecodedBatch {
    /// A batch whose vectors can hold `levels_max` level changes and `trades_max` trades
    /// without reallocating.
    pub fn with_capacity(levels_max: usize, trades_max: usize) -> Self {
        Self {
            sequence_num: None,
            events: Vec::with_capacity(16),
            levels: Vec::with_capacity(levels_max),
            trades: Vec::with_capacity(trades_max),
            specs: Vec::with_capacity(16),
            ignored: 0,
        }
    }

    pub fn clear(&mut self) {
        self.sequence_num = None;
        self.events.clear();
        self.levels.clear();
        self.trades.clear();
        self.specs.clear();
        self.ignored = 0;
    }

    /// Level changes counted across the batch (snapshots included).
    pub fn level_count(&self) -> usize {
        self.levels.len()
    }
}

crate::wire::code_enum! {
    /// Why a frame could not be decoded. A small `Copy` enum so the hot thread can count it.
    #[derive(thiserror::Error)]
    pub enum DecodeError {
        #[error("not valid JSON")]
        Json = 1 "json",
        #[error("valid JSON of the wrong shape (missing or mistyped field)")]
        Shape = 2 "shape",
        #[error("a price or size is not a number on the instrument's grid")]
        Number = 3 "number",
        #[error("more levels or trades than the configured limits")]
        TooLarge = 4 "too_large",
        #[error("market data for an instrument whose rules are not known yet")]
        NoInstrument = 5 "no_instrument",
    }
}

impl DecodeError {
    /// Index into per-error counters (codes start at 1).
    pub fn index(self) -> usize {
        self as usize - 1
    }
}

/// Which input a frame is, as far as the decoder cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A market-data WebSocket message.
    MarketData,
    /// A products (instrument rules) response body.
    Products,
}

/// A venue's frame decoder. Implemented in `gateways/`, run on the hot thread.
///
/// `frame` is the input as received (the ring slot's bytes); a decoder that parses in place
/// copies it into a buffer of its own. On error the batch content is unspecified and the
/// engine ignores it: a bad frame changes no state.
pub trait FrameDecoder {
    fn decode(
        &mut self,
        kind: FrameKind,
        frame: &[u8],
        out: &mut DecodedBatch,
    ) -> Result<(), DecodeError>;
}
