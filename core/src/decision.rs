//! Decisions: everything the engine decides, in the fixed binary form it is journaled in.
//!
//! Journal record kinds: inputs are `0x00xx`, decisions `0x0100 + code`. Payloads are
//! little-endian fixed layouts written by [`Decision::encode`] and read back by
//! [`Decision::decode`] (which never panics on bad bytes).

use crate::admin::{Actor, AdminOutcome};
use crate::book::StaleCause;
use crate::control::{StateCause, TradingState};
use crate::event::{DecodeError, Side};
use crate::instrument::InstrumentId;
use crate::num::Money;
use crate::order::{ClientOrderId, OrderRequest, TimeInForce};
use crate::risk::{LimitId, Reject};
use crate::sim::{Liquidity, VenueReject};
use crate::strategy::Reason;
use crate::venue::GateCause;

/// Journal record kinds.
pub mod record_kind {
    /// Market-data frame: conn_id u32 LE, then the frame bytes.
    pub const INPUT_MD_FRAME: u16 = 0x0001;
    /// Products response body (instrument rules).
    pub const INPUT_PRODUCTS: u16 = 0x0002;
    /// Feed control: conn_id u32 LE, control code u8.
    pub const INPUT_FEED: u16 = 0x0003;
    /// Timer tick (no payload).
    pub const INPUT_TIMER: u16 = 0x0004;
    /// A live venue's report or a trading-gate change: a [`crate::venue::VenueEvent`]
    /// payload.
    pub const INPUT_VENUE: u16 = 0x0005;
    /// An operator's command or an audited request: a [`crate::admin::AdminInput`] payload.
    pub const INPUT_ADMIN: u16 = 0x0006;
    /// Decisions are `DECISION_BASE + code`.
    pub const DECISION_BASE: u16 = 0x0100;

    pub fn is_input(kind: u16) -> bool {
        kind < DECISION_BASE
    }
}

/// Largest encoded decision.
pub const DECISION_BYTES_MAX: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    OrderNew {
        id: ClientOrderId,
        request: OrderRequest,
        reason: Reason,
    },
    CancelRequest {
        id: ClientOrderId,
        instrument: InstrumentId,
        reason: Reason,
    },
    RiskReject {
        request: OrderRequest,
        reject: Reject,
        reason: Reason,
    },
    OrderAccepted {
        id: ClientOrderId,
    },
    OrderRejected {
        id: ClientOrderId,
        reason: VenueReject,
    },
    Fill {
        id: ClientOrderId,
        instrument: InstrumentId,
        side: Side,
        price_ticks: i64,
        size_lots: i64,
        liquidity: Liquidity,
        fee: Money,
    },
    OrderCancelled {
        id: ClientOrderId,
    },
    CancelRejected {
        id: ClientOrderId,
    },
    BookStale {
        instrument: InstrumentId,
        cause: StaleCause,
    },
    BookSynced {
        instrument: InstrumentId,
    },
    FeedGap {
        conn_id: u32,
        expected: u64,
        got: u64,
    },
    DecodeFailed {
        error: DecodeError,
    },
    InstrumentReady {
        instrument: InstrumentId,
    },
    InstrumentRefused {
        instrument: InstrumentId,
    },
    /// A send to the live venue got no answer: the order stays live (it may exist at the
    /// venue) until reconciliation says what became of it.
    OrderUnknown {
        id: ClientOrderId,
    },
    /// A requote sent as an edit of a resting order: its new limit price.
    EditRequest {
        id: ClientOrderId,
        price_ticks: i64,
        reason: Reason,
    },
    /// The venue answered an edit: `applied`, or refused (the order keeps its price).
    EditDone {
        id: ClientOrderId,
        applied: bool,
        price_ticks: i64,
    },
    /// New orders are allowed again (`open`) or stopped; `cause` says why.
    TradingGate {
        open: bool,
        cause: GateCause,
    },
    /// An order someone else placed at the venue, taken over under `id` (its fills follow
    /// as fills); `venue_ref` is the venue's order id (a UUID, as 128 bits).
    OrderAdopted {
        id: ClientOrderId,
        request: OrderRequest,
        venue_ref: u128,
    },
    /// The trading state moved (kill switch, loss limit, resume): why and who.
    TradingState {
        state: TradingState,
        cause: StateCause,
        actor: Actor,
    },
    /// The strategy was switched on or off (execution throttle, operator).
    StrategySwitched {
        enabled: bool,
        cause: StateCause,
        actor: Actor,
    },
    /// A risk limit changed at runtime (`instrument`: index, or `u16::MAX` for the
    /// account), old and new value in the limit's unit.
    LimitChanged {
        limit: LimitId,
        instrument: u16,
        old: i128,
        new: i128,
    },
    /// What became of an admin input (tag of its [`crate::admin::AdminCommand`]).
    AdminDone {
        command: u8,
        outcome: AdminOutcome,
    },
}

impl Decision {
    pub fn code(&self) -> u8 {
        match self {
            Self::OrderNew { .. } => 1,
            Self::CancelRequest { .. } => 2,
            Self::RiskReject { .. } => 3,
            Self::OrderAccepted { .. } => 4,
            Self::OrderRejected { .. } => 5,
            Self::Fill { .. } => 6,
            Self::OrderCancelled { .. } => 7,
            Self::CancelRejected { .. } => 8,
            Self::BookStale { .. } => 9,
            Self::BookSynced { .. } => 10,
            Self::FeedGap { .. } => 11,
            Self::DecodeFailed { .. } => 12,
            Self::InstrumentReady { .. } => 13,
            Self::InstrumentRefused { .. } => 14,
            Self::OrderUnknown { .. } => 15,
            Self::TradingGate { .. } => 16,
            Self::EditRequest { .. } => 17,
            Self::EditDone { .. } => 18,
            Self::OrderAdopted { .. } => 19,
            Self::TradingState { .. } => 20,
            Self::StrategySwitched { .. } => 21,
            Self::LimitChanged { .. } => 22,
            Self::AdminDone { .. } => 23,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::OrderNew { .. } => "order_new",
            Self::CancelRequest { .. } => "cancel_request",
            Self::RiskReject { .. } => "risk_reject",
            Self::OrderAccepted { .. } => "order_accepted",
            Self::OrderRejected { .. } => "order_rejected",
            Self::Fill { .. } => "fill",
            Self::OrderCancelled { .. } => "order_cancelled",
            Self::CancelRejected { .. } => "cancel_rejected",
            Self::BookStale { .. } => "book_stale",
            Self::BookSynced { .. } => "book_synced",
            Self::FeedGap { .. } => "feed_gap",
            Self::DecodeFailed { .. } => "decode_failed",
            Self::InstrumentReady { .. } => "instrument_ready",
            Self::InstrumentRefused { .. } => "instrument_refused",
            Self::OrderUnknown { .. } => "order_unknown",
            Self::TradingGate { .. } => "trading_gate",
            Self::EditRequest { .. } => "edit_request",
            Self::EditDone { .. } => "edit_done",
            Self::OrderAdopted { .. } => "order_adopted",
            Self::TradingState { .. } => "trading_state",
            Self::StrategySwitched { .. } => "strategy_switched",
            Self::LimitChanged { .. } => "limit_changed",
            Self::AdminDone { .. } => "admin_done",
        }
    }

    pub fn record_kind(&self) -> u16 {
        record_kind::DECISION_BASE + u16::from(self.code())
    }

    /// Writes the payload into `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8; DECISION_BYTES_MAX]) -> usize {
        let mut w = Writer { buf, at: 0 };
        match *self {
            Self::OrderNew {
                id,
                request,
                reason,
            } => {
                w.u64(id.0);
                w.request(&request);
                w.reason(reason);
            }
            Self::CancelRequest {
                id,
                instrument,
                reason,
            } => {
                w.u64(id.0);
                w.u16(instrument.0);
                w.reason(reason);
            }
            Self::RiskReject {
                request,
                reject,
                reason,
            } => {
                w.request(&request);
                w.u8(reject as u8);
                w.reason(reason);
            }
            Self::OrderAccepted { id }
            | Self::OrderCancelled { id }
            | Self::CancelRejected { id }
            | Self::OrderUnknown { id } => w.u64(id.0),
            Self::TradingGate { open, cause } => {
                w.u8(u8::from(open));
                w.u8(cause as u8);
            }
            Self::EditRequest {
                id,
                price_ticks,
                reason,
            } => {
                w.u64(id.0);
                w.i64(price_ticks);
                w.reason(reason);
            }
            Self::EditDone {
                id,
                applied,
                price_ticks,
            } => {
                w.u64(id.0);
                w.u8(u8::from(applied));
                w.i64(price_ticks);
            }
            Self::OrderRejected { id, reason } => {
                w.u64(id.0);
                w.u8(reason as u8);
            }
            Self::Fill {
                id,
                instrument,
                side,
                price_ticks,
                size_lots,
                liquidity,
                fee,
            } => {
                w.u64(id.0);
                w.u16(instrument.0);
                w.u8(side as u8);
                w.u8(liquidity as u8);
                w.i64(price_ticks);
                w.i64(size_lots);
                w.i128(fee.0);
            }
            Self::BookStale { instrument, cause } => {
                w.u16(instrument.0);
                w.u8(cause as u8);
            }
            Self::BookSynced { instrument }
            | Self::InstrumentReady { instrument }
            | Self::InstrumentRefused { instrument } => {
                w.u16(instrument.0);
            }
            Self::FeedGap {
                conn_id,
                expected,
                got,
            } => {
                w.u32(conn_id);
                w.u64(expected);
                w.u64(got);
            }
            Self::DecodeFailed { error } => w.u8(error as u8),
            Self::OrderAdopted {
                id,
                request,
                venue_ref,
            } => {
                w.u64(id.0);
                w.request(&request);
                w.u128(venue_ref);
            }
            Self::TradingState {
                state,
                cause,
                actor,
            } => {
                w.u8(state as u8);
                w.u8(cause as u8);
                actor.write(&mut w);
            }
            Self::StrategySwitched {
                enabled,
                cause,
                actor,
            } => {
                w.u8(u8::from(enabled));
                w.u8(cause as u8);
                actor.write(&mut w);
            }
            Self::LimitChanged {
                limit,
                instrument,
                old,
                new,
            } => {
                w.u8(limit as u8);
                w.u16(instrument);
                w.i128(old);
                w.i128(new);
            }
            Self::AdminDone { command, outcome } => {
                w.u8(command);
                w.u8(outcome as u8);
            }
        }
        w.at
    }

    /// Reads a decision back from its record kind and payload; `None` if they do not fit.
    pub fn decode(kind: u16, payload: &[u8]) -> Option<Decision> {
        let code = u8::try_from(kind.checked_sub(record_kind::DECISION_BASE)?).ok()?;
        let mut r = Reader {
            buf: payload,
            at: 0,
        };
        let decision = match code {
            1 => Self::OrderNew {
                id: ClientOrderId(r.u64()?),
                request: r.request()?,
                reason: r.reason()?,
            },
            2 => Self::CancelRequest {
                id: ClientOrderId(r.u64()?),
                instrument: InstrumentId(r.u16()?),
                reason: r.reason()?,
            },
            3 => Self::RiskReject {
                request: r.request()?,
                reject: Reject::from_u8(r.u8()?)?,
                reason: r.reason()?,
            },
            4 => Self::OrderAccepted {
                id: ClientOrderId(r.u64()?),
            },
            5 => Self::OrderRejected {
                id: ClientOrderId(r.u64()?),
                reason: VenueReject::from_u8(r.u8()?)?,
            },
            6 => Self::Fill {
                id: ClientOrderId(r.u64()?),
                instrument: InstrumentId(r.u16()?),
                side: Side::from_u8(r.u8()?)?,
                liquidity: match r.u8()? {
                    0 => Liquidity::Maker,
                    1 => Liquidity::Taker,
                    _ => return None,
                },
                price_ticks: r.i64()?,
                size_lots: r.i64()?,
                fee: Money(r.i128()?),
            },
            7 => Self::OrderCancelled {
                id: ClientOrderId(r.u64()?),
            },
            8 => Self::CancelRejected {
                id: ClientOrderId(r.u64()?),
            },
            9 => Self::BookStale {
                instrument: InstrumentId(r.u16()?),
                cause: StaleCause::from_u8(r.u8()?)?,
            },
            10 => Self::BookSynced {
                instrument: InstrumentId(r.u16()?),
            },
            11 => Self::FeedGap {
                conn_id: r.u32()?,
                expected: r.u64()?,
                got: r.u64()?,
            },
            12 => Self::DecodeFailed {
                error: *DecodeError::ALL.get(usize::from(r.u8()?).checked_sub(1)?)?,
            },
            13 => Self::InstrumentReady {
                instrument: InstrumentId(r.u16()?),
            },
            14 => Self::InstrumentRefused {
                instrument: InstrumentId(r.u16()?),
            },
            15 => Self::OrderUnknown {
                id: ClientOrderId(r.u64()?),
            },
            16 => Self::TradingGate {
                open: r.bool()?,
                cause: GateCause::from_u8(r.u8()?)?,
            },
            17 => Self::EditRequest {
                id: ClientOrderId(r.u64()?),
                price_ticks: r.i64()?,
                reason: r.reason()?,
            },
            18 => Self::EditDone {
                id: ClientOrderId(r.u64()?),
                applied: r.bool()?,
                price_ticks: r.i64()?,
            },
            19 => Self::OrderAdopted {
                id: ClientOrderId(r.u64()?),
                request: r.request()?,
                venue_ref: r.u128()?,
            },
            20 => Self::TradingState {
                state: TradingState::from_u8(r.u8()?)?,
                cause: StateCause::from_u8(r.u8()?)?,
                actor: Actor::read(&mut r)?,
            },
            21 => Self::StrategySwitched {
                enabled: r.bool()?,
                cause: StateCause::from_u8(r.u8()?)?,
                actor: Actor::read(&mut r)?,
            },
            22 => Self::LimitChanged {
                limit: LimitId::from_u8(r.u8()?)?,
                instrument: r.u16()?,
                old: r.i128()?,
                new: r.i128()?,
            },
            23 => Self::AdminDone {
                command: r.u8()?,
                outcome: AdminOutcome::from_u8(r.u8()?)?,
            },
            _ => return None,
        };
        (r.at == payload.len()).then_some(decision)
    }
}

pub(crate) struct Writer<'a> {
    pub(crate) buf: &'a mut [u8; DECISION_BYTES_MAX],
    pub(crate) at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn i128(&mut self, v: i128) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn u128(&mut self, v: u128) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn request(&mut self, r: &OrderRequest) {
        self.u16(r.instrument.0);
        self.u8(r.side as u8);
        self.u8(r.time_in_force as u8);
        self.u8(u8::from(r.post_only));
        self.i64(r.price_ticks);
        self.i64(r.size_lots);
    }
    pub(crate) fn reason(&mut self, reason: Reason) {
        let (code, a, b) = reason.encode();
        self.u8(code);
        self.i64(a);
        self.i64(b);
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.buf.get(self.at..self.at + N)?;
        self.at += N;
        bytes.try_into().ok()
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    pub(crate) fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    pub(crate) fn i128(&mut self) -> Option<i128> {
        self.take().map(i128::from_le_bytes)
    }
    pub(crate) fn u128(&mut self) -> Option<u128> {
        Some(self.i128()? as u128)
    }
    pub(crate) fn request(&mut self) -> Option<OrderRequest> {
        Some(OrderRequest {
            instrument: InstrumentId(self.u16()?),
            side: Side::from_u8(self.u8()?)?,
            time_in_force: match self.u8()? {
                0 => TimeInForce::GoodTillCancel,
                1 => TimeInForce::ImmediateOrCancel,
                _ => return None,
            },
            post_only: match self.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
            price_ticks: self.i64()?,
            size_lots: self.i64()?,
        })
    }
    pub(crate) fn reason(&mut self) -> Option<Reason> {
        let code = self.u8()?;
        Reason::decode(code, self.i64()?, self.i64()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every decision survives encode → decode, and truncated payloads are refused.
    #[test]
    fn roundtrip_every_decision() {
        let request = OrderRequest {
            instrument: InstrumentId(1),
            side: Side::Sell,
            price_ticks: 6_508_367,
            size_lots: 12_345,
            time_in_force: TimeInForce::ImmediateOrCancel,
            post_only: false,
        };
        let reason = Reason::Momentum {
            imbalance_bps: -4000,
            flow_bps: -6000,
        };
        let id = ClientOrderId::new(3, 99);
        let all = [
            Decision::OrderNew {
                id,
                request,
                reason,
            },
            Decision::CancelRequest {
                id,
                instrument: InstrumentId(1),
                reason: Reason::Requote { drift_ticks: 3 },
            },
            Decision::RiskReject {
                request,
                reject: Reject::PriceCollar,
                reason,
            },
            Decision::OrderAccepted { id },
            Decision::OrderRejected {
                id,
                reason: VenueReject::PostOnlyWouldCross,
            },
            Decision::Fill {
                id,
                instrument: InstrumentId(1),
                side: Side::Sell,
                price_ticks: 1,
                size_lots: 2,
                liquidity: Liquidity::Maker,
                fee: Money(-5),
            },
            Decision::OrderCancelled { id },
            Decision::CancelRejected { id },
            Decision::BookStale {
                instrument: InstrumentId(0),
                cause: StaleCause::SequenceGap,
            },
            Decision::BookSynced {
                instrument: InstrumentId(0),
            },
            Decision::FeedGap {
                conn_id: 2,
                expected: 10,
                got: 12,
            },
            Decision::DecodeFailed {
                error: DecodeError::Number,
            },
            Decision::InstrumentReady {
                instrument: InstrumentId(1),
            },
            Decision::InstrumentRefused {
                instrument: InstrumentId(1),
            },
            Decision::OrderUnknown { id },
            Decision::EditRequest {
                id,
                price_ticks: 5,
                reason: Reason::Requote { drift_ticks: 2 },
            },
            Decision::EditDone {
                id,
                applied: true,
                price_ticks: 5,
            },
            Decision::TradingGate {
                open: false,
                cause: GateCause::UserChannelSilent,
            },
            Decision::OrderAdopted {
                id,
                request,
                venue_ref: u128::MAX - 1,
            },
            Decision::TradingState {
                state: TradingState::Halted,
                cause: StateCause::Kill,
                actor: Actor::new("ops.alice").unwrap(),
            },
            Decision::StrategySwitched {
                enabled: false,
                cause: StateCause::ExecutionThrottle,
                actor: Actor::risk(),
            },
            Decision::LimitChanged {
                limit: LimitId::MaxOrderNotional,
                instrument: 0,
                old: 5,
                new: -7,
            },
            Decision::AdminDone {
                command: 5,
                outcome: AdminOutcome::RefusedSecondFactor,
            },
        ];
        for decision in all {
            let mut buf = [0; DECISION_BYTES_MAX];
            let len = decision.encode(&mut buf);
            assert_eq!(
                Decision::decode(decision.record_kind(), &buf[..len]),
                Some(decision)
            );
            if len > 0 {
                assert_eq!(
                    Decision::decode(decision.record_kind(), &buf[..len - 1]),
                    None
                );
            }
            assert_eq!(
                Decision::decode(record_kind::INPUT_MD_FRAME, &buf[..len]),
                None
            );
        }
    }

    // Proves a reason that carries a value in the field its kind does not use is refused, so
    // every payload the decoder accepts encodes back to the same bytes (found by the
    // journal_record fuzz target: a CancelRequest with Requote and a non-zero second field).
    #[test]
    fn unused_reason_field_must_be_zero() {
        let decision = Decision::CancelRequest {
            id: ClientOrderId::new(3, 99),
            instrument: InstrumentId(0),
            reason: Reason::Requote { drift_ticks: 3 },
        };
        let mut buf = [0; DECISION_BYTES_MAX];
        let len = decision.encode(&mut buf);
        let kind = decision.record_kind();
        assert_eq!(Decision::decode(kind, &buf[..len]), Some(decision));
        // The reason is the last 17 bytes: code, a, b; b is the last 8.
        buf[len - 8] = 225;
        assert_eq!(Decision::decode(kind, &buf[..len]), None);
        for code in 1..=7_u8 {
            for b in [0, 1, -1] {
                if let Some(reason) = Reason::decode(code, 5, b) {
                    assert_eq!(reason.encode(), (code, 5, b), "code {code}, b {b}");
                }
            }
        }
    }
}
