//! Stage 2 (book) and feed health: sequence gaps, decoded frames applied to the books,
//! live trades, tickers and instrument definitions (the venue's product rules).

use super::{Engine, Feed};
use crate::book::StaleCause;
use crate::decision::Decision;
use crate::event::{DecodeError, DecodedBatch, MarketEvent};
use crate::input::FeedControl;
use crate::instrument::{InstrumentId, InstrumentSpec};

impl Engine {
    pub fn on_decode_error(&mut self, error: DecodeError) {
        self.counters.decode_errors[error.index()] += 1;
        self.decisions.push(Decision::DecodeFailed { error });
    }

    /// A gateway reported a connection health change.
    pub fn on_feed(&mut self, conn_id: u32, control: FeedControl) {
        self.counters.feed_controls += 1;
        let cause = match control {
            FeedControl::Connected => {
                self.feed = Feed {
                    conn_id,
                    expected_seq: None,
                };
                StaleCause::AwaitingSnapshot
            }
            FeedControl::Disconnected => StaleCause::Disconnected,
            FeedControl::HeartbeatSilence => StaleCause::HeartbeatSilence,
            FeedControl::Resubscribed => StaleCause::SequenceGap,
        };
        self.mark_all_stale(cause);
    }

    fn mark_all_stale(&mut self, cause: StaleCause) {
        for (index, book) in self.instruments.books.iter_mut().enumerate() {
            if book.stale().is_none() {
                book.mark_stale(cause);
                self.decisions.push(Decision::BookStale {
                    instrument: InstrumentId(index as u16),
                    cause,
                });
            }
        }
    }

    /// Stage 2 (book): applies one decoded frame from connection `conn_id`.
    pub fn apply_batch(&mut self, conn_id: u32, batch: &DecodedBatch) {
        self.counters.frames += 1;
        self.counters.ignored += u64::from(batch.ignored);
        if let Some(seq) = batch.sequence_num
            && !self.check_sequence(conn_id, seq)
        {
            return;
        }
        for event in &batch.events {
            self.apply_event(event, batch);
        }
    }

    /// `false` when the frame is older than what the connection already delivered.
    fn check_sequence(&mut self, conn_id: u32, seq: u64) -> bool {
        if conn_id != self.feed.conn_id {
            // Frames from a connection we were not told about (e.g. a capture without
            // connect records): adopt it.
            self.feed = Feed {
                conn_id,
                expected_seq: None,
            };
        }
        match self.feed.expected_seq {
            Some(expected) if seq < expected => {
                self.counters.seq_regressions += 1;
                return false;
            }
            Some(expected) if seq > expected => {
                self.counters.gaps += 1;
                self.decisions.push(Decision::FeedGap {
                    conn_id,
                    expected,
                    got: seq,
                });
                self.mark_all_stale(StaleCause::SequenceGap);
            }
            _ => {}
        }
        self.feed.expected_seq = Some(seq + 1);
        true
    }

    fn apply_event(&mut self, event: &MarketEvent, batch: &DecodedBatch) {
        match event {
            MarketEvent::BookSnapshot { instrument, levels } => {
                let index = instrument.index();
                let book = &mut self.instruments.books[index];
                let was_stale = book.stale().is_some();
                let result = book.apply_snapshot(&batch.levels[levels.clone()], self.now_ns);
                self.counters.level_updates += levels.len() as u64;
                self.after_book_change(*instrument, result.is_ok(), was_stale);
            }
            MarketEvent::BookUpdate { instrument, levels } => {
                let index = instrument.index();
                let result = self.instruments.books[index]
                    .apply_update(&batch.levels[levels.clone()], self.now_ns);
                self.counters.level_updates += levels.len() as u64;
                self.after_book_change(*instrument, result.is_ok(), false);
            }
            MarketEvent::Trades {
                instrument,
                trades,
                snapshot,
            } => {
                let trades = &batch.trades[trades.clone()];
                self.counters.trades += trades.len() as u64;
                if !*snapshot {
                    self.on_live_trades(*instrument, trades);
                }
            }
            MarketEvent::Ticker { instrument, top } => {
                self.instruments.tickers[instrument.index()] = Some(*top);
                if top.last_ticks > 0 {
                    self.instruments.last_trades[instrument.index()] = Some(top.last_ticks);
                }
            }
            MarketEvent::Heartbeat { .. } => self.counters.heartbeats += 1,
            MarketEvent::Instruments { specs } => {
                for (instrument, spec) in &batch.specs[specs.clone()] {
                    self.define_instrument(*instrument, *spec);
                }
            }
            MarketEvent::VenueError => self.counters.venue_errors += 1,
        }
    }

    fn after_book_change(&mut self, instrument: InstrumentId, applied: bool, was_stale: bool) {
        let book = &self.instruments.books[instrument.index()];
        if !applied {
            self.counters.book_errors += 1;
            self.decisions.push(Decision::BookStale {
                instrument,
                cause: StaleCause::BadUpdate,
            });
            return;
        }
        if book.is_crossed() {
            self.counters.crossed_books += 1;
        }
        if was_stale && book.stale().is_none() {
            self.decisions.push(Decision::BookSynced { instrument });
        }
        if let Some(sim) = self.sim.as_mut() {
            sim.on_book(instrument, book);
        }
        self.touched |= 1 << instrument.index();
    }

    fn on_live_trades(&mut self, instrument: InstrumentId, trades: &[crate::event::TradePrint]) {
        // Trades in a message are newest first.
        if let Some(newest) = trades.first() {
            self.instruments.last_trades[instrument.index()] = Some(newest.price_ticks);
        }
        self.strategy.on_trades(self.now_ns, instrument, trades);
        if let (Some(sim), Some(spec)) = (
            self.sim.as_mut(),
            self.instruments.specs[instrument.index()].as_ref(),
        ) {
            self.reports.clear();
            sim.on_trades(instrument, trades, spec, &mut self.reports);
            self.apply_reports();
        }
        self.touched |= 1 << instrument.index();
    }

    fn define_instrument(&mut self, instrument: InstrumentId, spec: InstrumentSpec) {
        let index = instrument.index();
        if index >= self.instruments.specs.len() {
            return;
        }
        self.counters.instrument_definitions += 1;
        match self.settings.resolve_instrument(index, &spec) {
            Ok((mut limits, sizing)) => {
                self.instruments.overrides[index].apply(&mut limits);
                self.instruments.specs[index] = Some(spec);
                self.instruments.limits[index] = Some((limits, sizing));
                self.instruments.refusals[index] = None;
                self.decisions
                    .push(Decision::InstrumentReady { instrument });
            }
            Err(error) => {
                self.instruments.refusals[index] = Some(error);
                self.decisions
                    .push(Decision::InstrumentRefused { instrument });
            }
        }
    }
}
