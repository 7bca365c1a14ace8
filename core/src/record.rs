//! The journal's records: which kinds there are, and the one encoder and one decoder of each
//! kind's payload. The hot path, restart, `journal dump`, the benches and every later
//! reader of the journal call these; nothing else reads or writes a payload byte.
//!
//! A record's kind is a `u16` (the journal stores it in the record header):
//! - inputs, [`InputRecordKind`] `0x0001..`: appended before the input is processed. Their
//!   payloads (see [`InputRecord`]): `md_frame` connection id u32 then the frame's bytes;
//!   `products` the response body; `feed` connection id u32 and a [`FeedControl`] code u8;
//!   `timer` nothing; `venue` a [`VenueEvent`]; `admin` an [`AdminInput`];
//! - decisions, `DECISION_BASE + `[`DecisionKind`] code: a [`Decision`]'s fields in their
//!   declared order.
//!
//! Fixed layouts are little-endian ([`crate::wire`]); each union's fields are listed, in
//! wire order, where the union is defined ([`Decision`], [`VenueEvent`], [`AdminCommand`]).
//! A venue event is its tag byte then its fields; an admin input is its command's tag, the
//! [`Actor`], the request id u32, then the command's fields. Decoders never panic and refuse
//! any payload that is not exactly one valid value (cut, padded, unknown code), so every
//! payload that decodes encodes back to the same bytes.

use crate::admin::{Actor, AdminCommand, AdminCommandKind, AdminInput, Role, Source};
use crate::decision::{Decision, DecisionKind};
use crate::event::Side;
use crate::input::{FeedControl, InputKind};
use crate::instrument::InstrumentId;
use crate::num::Money;
use crate::order::{ClientOrderId, OrderRequest, TimeInForce};
use crate::strategy::{Reason, ReasonKind};
use crate::venue::{VenueEvent, VenueEventKind};
use crate::wire::{PAYLOAD_BYTES_MAX, Reader, Wire, Writer};

/// Decision record kinds are `DECISION_BASE + code`.
pub const DECISION_BASE: u16 = 0x0100;

crate::wire::code_enum! {
    /// Input record kinds (the journal's `kind` for an input).
    pub enum InputRecordKind {
        MdFrame = 1 "md_frame",
        Products = 2 "products",
        Feed = 3 "feed",
        Timer = 4 "timer",
        Venue = 5 "venue",
        Admin = 6 "admin",
    }
}

/// A journal record's kind, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Input(InputRecordKind),
    Decision(DecisionKind),
}

const _: () = {
    let mut i = 0;
    while i < InputRecordKind::COUNT {
        let mut j = 0;
        while j < DecisionKind::COUNT {
            assert!(
                crate::wire::names_unique(&[
                    InputRecordKind::ALL[i].as_str(),
                    DecisionKind::ALL[j].as_str()
                ]),
                "an input and a decision kind share a name"
            );
            j += 1;
        }
        i += 1;
    }
    assert!(InputRecordKind::ALL[InputRecordKind::COUNT - 1] as u16 <= DECISION_BASE);
};

impl RecordKind {
    /// The kind of a record header's `kind`; `None` for a kind this build does not know.
    pub fn from_u16(kind: u16) -> Option<Self> {
        match kind.checked_sub(DECISION_BASE) {
            None => InputRecordKind::from_u8(u8::try_from(kind).ok()?).map(Self::Input),
            Some(code) => DecisionKind::from_u8(u8::try_from(code).ok()?).map(Self::Decision),
        }
    }

    pub fn to_u16(self) -> u16 {
        match self {
            Self::Input(kind) => u16::from(kind.code()),
            Self::Decision(kind) => DECISION_BASE + u16::from(kind.code()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input(kind) => kind.as_str(),
            Self::Decision(kind) => kind.as_str(),
        }
    }

    /// The kind named `name` (`md_frame`, `fill`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().find(|kind| kind.as_str() == name)
    }

    /// Every kind: inputs, then decisions.
    pub fn all() -> impl Iterator<Item = RecordKind> {
        (InputRecordKind::ALL.into_iter().map(Self::Input))
            .chain(DecisionKind::ALL.into_iter().map(Self::Decision))
    }

    pub fn is_input(self) -> bool {
        matches!(self, Self::Input(_))
    }
}

/// Whether a record header's `kind` is an input's (decisions follow the input they belong to).
pub fn is_input(kind: u16) -> bool {
    kind < DECISION_BASE
}

/// A record that does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("unknown record kind {0:#06x} (written by a newer traiderd, or damaged)")]
    UnknownKind(u16),
    #[error("a {0} record whose payload is not valid")]
    Malformed(&'static str),
}

/// One decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    Input(InputRecord<'a>),
    Decision(Decision),
}

impl<'a> Record<'a> {
    /// Decodes any record from its header's `kind` and its payload.
    pub fn decode(kind: u16, payload: &'a [u8]) -> Result<Self, RecordError> {
        match RecordKind::from_u16(kind).ok_or(RecordError::UnknownKind(kind))? {
            RecordKind::Input(_) => InputRecord::decode(kind, payload).map(Self::Input),
            RecordKind::Decision(decision) => Decision::decode(kind, payload)
                .map(Self::Decision)
                .ok_or(RecordError::Malformed(decision.as_str())),
        }
    }
}

/// An input as it is journaled: what an input slot holds, less its latency stamp. `data` is
/// the frame or body (`md_frame`, `products`) or the encoded venue event or admin input,
/// kept as bytes: the engine decodes those itself, so a replay sees exactly what the hot
/// thread saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputRecord<'a> {
    pub kind: InputKind,
    pub conn_id: u32,
    pub data: &'a [u8],
}

/// An encoded input record: its kind and its payload as two parts (a fixed header, the
/// body), so the journal copies the body straight from the slot without allocating.
pub struct EncodedInput<'a> {
    pub kind: u16,
    header: [u8; 5],
    header_len: usize,
    body: &'a [u8],
}

impl EncodedInput<'_> {
    /// The payload's parts, in order.
    pub fn parts(&self) -> [&[u8]; 2] {
        [&self.header[..self.header_len], self.body]
    }
}

impl<'a> InputRecord<'a> {
    /// The record of an input; `None` for `Shutdown`, which is never journaled.
    pub fn encode(&self) -> Option<EncodedInput<'a>> {
        let conn = self.conn_id.to_le_bytes();
        let mut header = [0; 5];
        header[..4].copy_from_slice(&conn);
        let (kind, header_len, body) = match self.kind {
            InputKind::MdFrame => (InputRecordKind::MdFrame, 4, self.data),
            InputKind::Products => (InputRecordKind::Products, 0, self.data),
            InputKind::Feed(control) => {
                header[4] = control as u8;
                (InputRecordKind::Feed, 5, &[][..])
            }
            InputKind::Timer => (InputRecordKind::Timer, 0, &[][..]),
            InputKind::Venue => (InputRecordKind::Venue, 0, self.data),
            InputKind::Admin => (InputRecordKind::Admin, 0, self.data),
            InputKind::Shutdown => return None,
        };
        Some(EncodedInput {
            kind: u16::from(kind.code()),
            header,
            header_len,
            body,
        })
    }

    /// Reads an input record back.
    pub fn decode(kind: u16, payload: &'a [u8]) -> Result<Self, RecordError> {
        let kind = match RecordKind::from_u16(kind) {
            Some(RecordKind::Input(kind)) => kind,
            _ => return Err(RecordError::UnknownKind(kind)),
        };
        let malformed = RecordError::Malformed(kind.as_str());
        let conn = || -> Result<u32, RecordError> {
            let bytes = payload.get(..4).ok_or(malformed)?;
            Ok(u32::from_le_bytes(bytes.try_into().map_err(|_| malformed)?))
        };
        let record = |kind, conn_id, data| Self {
            kind,
            conn_id,
            data,
        };
        Ok(match kind {
            InputRecordKind::MdFrame => record(InputKind::MdFrame, conn()?, &payload[4..]),
            InputRecordKind::Products => record(InputKind::Products, 0, payload),
            InputRecordKind::Feed => {
                let control = match payload {
                    [_, _, _, _, code] => FeedControl::from_u8(*code).ok_or(malformed)?,
                    _ => return Err(malformed),
                };
                record(InputKind::Feed(control), conn()?, &[])
            }
            InputRecordKind::Timer if payload.is_empty() => record(InputKind::Timer, 0, &[]),
            InputRecordKind::Timer => return Err(malformed),
            InputRecordKind::Venue => record(InputKind::Venue, 0, payload),
            InputRecordKind::Admin => record(InputKind::Admin, 0, payload),
        })
    }
}

impl Decision {
    /// The journal record kind of this decision.
    pub fn record_kind(&self) -> u16 {
        RecordKind::Decision(self.kind()).to_u16()
    }

    /// Writes the payload into `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8; PAYLOAD_BYTES_MAX]) -> usize {
        let mut w = Writer::new(buf);
        self.put_fields(&mut w);
        w.len()
    }

    /// Reads a decision back from its record kind and payload; `None` if they do not fit.
    pub fn decode(kind: u16, payload: &[u8]) -> Option<Decision> {
        let Some(RecordKind::Decision(kind)) = RecordKind::from_u16(kind) else {
            return None;
        };
        let mut r = Reader::new(payload);
        let decision = Self::get_fields(kind, &mut r)?;
        r.finish(decision)
    }
}

impl VenueEvent {
    /// Writes the payload (tag, then fields); returns its length.
    pub fn encode(&self, buf: &mut [u8; PAYLOAD_BYTES_MAX]) -> usize {
        let mut w = Writer::new(buf);
        w.put(&self.kind());
        self.put_fields(&mut w);
        w.len()
    }

    /// The encoded payload as a vector (cold path).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = [0; PAYLOAD_BYTES_MAX];
        let len = self.encode(&mut buf);
        buf[..len].to_vec()
    }

    /// Reads a payload back; `None` when it is not exactly one well-formed event.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let mut r = Reader::new(payload);
        let kind: VenueEventKind = r.get()?;
        let event = Self::get_fields(kind, &mut r)?;
        r.finish(event)
    }
}

impl AdminInput {
    /// Writes the payload (command tag, actor, request id, the command's fields); returns
    /// its length.
    pub fn encode(&self, buf: &mut [u8; PAYLOAD_BYTES_MAX]) -> usize {
        let mut w = Writer::new(buf);
        w.put(&self.command.kind());
        w.put(&self.actor);
        w.put(&self.request_id);
        self.command.put_fields(&mut w);
        w.len()
    }

    /// The encoded payload as a vector (cold path).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = [0; PAYLOAD_BYTES_MAX];
        let len = self.encode(&mut buf);
        buf[..len].to_vec()
    }

    /// Reads a payload back; `None` when it is not exactly one well-formed input.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let mut r = Reader::new(payload);
        let kind: AdminCommandKind = r.get()?;
        let actor = r.get()?;
        let request_id = r.get()?;
        let command = AdminCommand::get_fields(kind, &mut r)?;
        r.finish(Self {
            actor,
            request_id,
            command,
        })
    }
}

// The fixed layouts of the field types records carry. Code tables (sides, causes, reasons
// for refusals, ...) get theirs from `code_enum!`.

impl Wire for ClientOrderId {
    const BYTES: usize = 8;
    fn put(&self, w: &mut Writer<'_>) {
        w.put(&self.0);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.get().map(Self)
    }
}

impl Wire for InstrumentId {
    const BYTES: usize = 2;
    fn put(&self, w: &mut Writer<'_>) {
        w.put(&self.0);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.get().map(Self)
    }
}

impl Wire for Money {
    const BYTES: usize = 16;
    fn put(&self, w: &mut Writer<'_>) {
        w.put(&self.0);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.get().map(Self)
    }
}

/// Instrument u16, side u8, time in force u8, post-only u8, price ticks i64, size lots i64.
impl Wire for OrderRequest {
    const BYTES: usize = 2 + 1 + 1 + 1 + 8 + 8;
    fn put(&self, w: &mut Writer<'_>) {
        w.put(&self.instrument);
        w.put(&self.side);
        w.put(&self.time_in_force);
        w.put(&self.post_only);
        w.put(&self.price_ticks);
        w.put(&self.size_lots);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Self {
            instrument: r.get()?,
            side: r.get::<Side>()?,
            time_in_force: r.get::<TimeInForce>()?,
            post_only: r.get()?,
            price_ticks: r.get()?,
            size_lots: r.get()?,
        })
    }
}

/// A [`ReasonKind`] code u8, then two i64 slots (`a`, `b`); a reason with fewer fields
/// leaves the rest zero, and a cause is its code.
impl Wire for Reason {
    const BYTES: usize = 1 + 8 + 8;
    fn put(&self, w: &mut Writer<'_>) {
        let (a, b) = match *self {
            Self::Quote {
                micro_ticks_e4,
                skew_ticks_e4,
            } => (micro_ticks_e4, skew_ticks_e4),
            Self::Requote { drift_ticks } => (drift_ticks, 0),
            Self::InventoryCap { position_lots } | Self::Flatten { position_lots } => {
                (position_lots, 0)
            }
            Self::Momentum {
                imbalance_bps,
                flow_bps,
            } => (imbalance_bps, flow_bps),
            Self::Halt { cause } => (i64::from(cause.code()), 0),
            Self::Control { cause } => (i64::from(cause.code()), 0),
        };
        w.put(&self.kind());
        w.put(&a);
        w.put(&b);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let kind: ReasonKind = r.get()?;
        let (a, b): (i64, i64) = (r.get()?, r.get()?);
        let code = || u8::try_from(a).ok();
        let reason = match kind {
            ReasonKind::Quote => Self::Quote {
                micro_ticks_e4: a,
                skew_ticks_e4: b,
            },
            ReasonKind::Momentum => Self::Momentum {
                imbalance_bps: a,
                flow_bps: b,
            },
            _ if b != 0 => return None,
            ReasonKind::Requote => Self::Requote { drift_ticks: a },
            ReasonKind::InventoryCap => Self::InventoryCap { position_lots: a },
            ReasonKind::Flatten => Self::Flatten { position_lots: a },
            ReasonKind::Halt => Self::Halt {
                cause: crate::venue::GateCause::from_u8(code()?)?,
            },
            ReasonKind::Control => Self::Control {
                cause: crate::control::StateCause::from_u8(code()?)?,
            },
        };
        Some(reason)
    }
}

/// The name (24 bytes, zero padded: `[A-Za-z0-9_.-]`, no zero inside), role u8, source u8.
impl Wire for Actor {
    const BYTES: usize = crate::admin::ACTOR_NAME_BYTES + 2;
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(self.as_bytes());
        w.put(&self.role);
        w.put(&self.source);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let name = r.take::<{ crate::admin::ACTOR_NAME_BYTES }>()?;
        let role: Role = r.get()?;
        let source: Source = r.get()?;
        Actor::from_bytes(name, role, source)
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)] // tests: a scenario reads top to bottom
mod tests;
