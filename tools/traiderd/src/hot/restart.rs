//! Restart by replay: rebuild the engine's whole state from an existing journal before the
//! hot thread takes new input.
//!
//! The core is deterministic, so feeding the journaled inputs, in order, through a fresh
//! engine with the same configuration brings back exactly the state it had: books, orders,
//! positions, P&L, risk windows, strategy and simulated-venue state. While it does, every
//! decision the engine makes is checked against the decisions the journal recorded after
//! that input; any difference means the journal was written by another configuration or
//! build (or altered) and the daemon refuses to start. Decisions of the journal's last input
//! that never reached the journal (the process stopped between the two appends) are
//! appended; no command is released for anything decided before the restart.
//!
//! Runs on the main thread before the hot thread starts.

use super::Hot;
use super::journal_error;
use anyhow::{Context, bail};
use std::path::Path;
use traider_core::input::{InputKind, InputSlot};
use traider_core::record::{self, InputRecord};
use traider_journal::JournalReader;

/// What an input was, compactly: enough to check a capture replays the journal's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputPrint {
    pub kind: InputKind,
    pub conn_id: u32,
    pub ts_ns: u64,
    pub data_hash: u64,
}

impl InputPrint {
    pub fn of(kind: InputKind, conn_id: u32, ts_ns: u64, data: &[u8]) -> Self {
        Self {
            kind,
            conn_id,
            ts_ns,
            data_hash: xxhash_rust::xxh3::xxh3_64(data),
        }
    }
}

/// What the rebuild did.
#[derive(Clone, Debug, Default)]
pub struct Rebuilt {
    pub inputs: u64,
    pub decisions: u64,
    /// Decisions of the last input that the journal lacked, appended now.
    pub appended: usize,
    /// One print per journaled input, in order.
    pub prints: Vec<InputPrint>,
    /// The engine's live orders once rebuilt (live mode reconciles them with the venue).
    pub live_orders: Vec<traider_core::order::Order>,
    /// The next client order counter the engine will assign.
    pub next_counter: u64,
    /// Orders someone else placed that the engine was told to adopt, with their venue order
    /// ids (`adopted` venue inputs): a restart finds them at the venue by that id.
    pub adopted: std::collections::BTreeMap<traider_core::order::ClientOrderId, u128>,
}

/// An input record of the journal, back as the slot it was made from.
fn slot_of(kind: u16, ts_ns: u64, payload: &[u8]) -> anyhow::Result<InputSlot> {
    let input = InputRecord::decode(kind, payload)?;
    let mut slot = InputSlot::with_capacity(0);
    slot.fill(input.kind, input.conn_id, ts_ns, 0, input.data);
    Ok(slot)
}

/// An input record (its seq and slot) and the decision records journaled after it.
type Pending = (u64, InputSlot, Vec<(u16, Vec<u8>)>);

/// Replays the journal in `dir` into `hot` (whose writer has already opened and recovered
/// the same directory).
pub fn rebuild(hot: &mut Hot, dir: &Path) -> anyhow::Result<Rebuilt> {
    let reader = JournalReader::open(dir).map_err(|error| journal_error(dir, error))?;
    if let Some(first) = reader.segments().first().filter(|s| s.first_seq != 1) {
        bail!(
            "journal {} starts at record {} (segment {}): older segments were removed by \
             retention, and restart by replay needs the journal from its first record. Start \
             with a new journal directory, or restore the removed segments",
            dir.display(),
            first.first_seq,
            first.index
        );
    }
    let mut rebuilt = Rebuilt::default();
    // One input and the decisions after it, held until the next input shows they are complete.
    let mut pending: Option<Pending> = None;
    for record in reader.records() {
        let record = record.map_err(|error| journal_error(dir, error))?;
        if !record::is_input(record.kind) {
            let Some((_, _, decisions)) = pending.as_mut() else {
                bail!(
                    "journal record {} is a decision with no input before it",
                    record.seq
                );
            };
            decisions.push((record.kind, record.payload.to_vec()));
            rebuilt.decisions += 1;
            continue;
        }
        if let Some((seq, slot, decisions)) = pending.take() {
            replay_one(hot, seq, &slot, &decisions, false, &mut rebuilt)?;
        }
        let slot = slot_of(record.kind, record.ts_ns, record.payload)
            .with_context(|| format!("journal record {}", record.seq))?;
        if slot.kind == InputKind::Venue
            && let Some(traider_core::venue::VenueEvent::Adopted { id, venue_ref, .. }) =
                traider_core::venue::VenueEvent::decode(&slot.data)
        {
            rebuilt.adopted.insert(id, venue_ref);
        }
        rebuilt.prints.push(InputPrint::of(
            slot.kind,
            slot.conn_id,
            slot.ts_recv_ns,
            &slot.data,
        ));
        pending = Some((record.seq, slot, Vec::new()));
    }
    if let Some((seq, slot, decisions)) = pending.take() {
        replay_one(hot, seq, &slot, &decisions, true, &mut rebuilt)?;
    }
    Ok(rebuilt)
}

fn replay_one(
    hot: &mut Hot,
    seq: u64,
    slot: &InputSlot,
    decisions: &[(u16, Vec<u8>)],
    last: bool,
    rebuilt: &mut Rebuilt,
) -> anyhow::Result<()> {
    let journaled: Vec<(u16, &[u8])> = decisions
        .iter()
        .map(|(kind, payload)| (*kind, &payload[..]))
        .collect();
    let appended = hot.recover_input(slot, &journaled, last).map_err(|mismatch| {
        anyhow::anyhow!(
            "the journal does not replay: after input record {seq}, {mismatch}. It was written by \
             another configuration or version of traiderd, or it was altered; start with the \
             configuration that wrote it, or with a new journal directory"
        )
    })?;
    if appended > 0 {
        tracing::warn!(
            appended,
            seq,
            "the journal lacked decisions of its last input (stopped between appends); journaled them now, sent nothing"
        );
    }
    rebuilt.inputs += 1;
    rebuilt.appended += appended;
    Ok(())
}
