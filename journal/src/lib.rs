//! TRAIDER journal: the memory-mapped, append-only, checksummed and hash-chained event log
//! that is the trading engine's system of record. Every input frame and every decision is
//! appended; restart, backtest and audit are replays of it.
//!
//! A record is `(kind: u16, ts_ns: u64, payload bytes)`; the writer gives it the next
//! sequence number. The crate does not know what records mean. The byte layout is in
//! `journal/FORMAT.md` and, as named constants, in [`format`](mod@format).
//!
//! # Threads
//! - [`JournalWriter`] runs on the hot thread, alone. `append*` is a bounds check, a copy
//!   into the mapped segment, an xxh3 and a few plain/release stores: no system call, no
//!   allocation. Rolling to a new segment (once per `segment_bytes`) is memory stores too
//!   when a cold thread has prepared the next segment ([`Syncer::prepare_spare`]); without
//!   one, the roll creates it with system calls. [`JournalWriter::flush`] makes them.
//! - [`Syncer`] (from [`JournalWriter::syncer`]) runs on cold threads: msync behind the
//!   writer for the `interval_ms` and `durable` [`FlushPolicy`]s, [`Syncer::prefault_ahead`]
//!   to take page faults off the hot thread, and [`Syncer::prepare_spare`] to take segment
//!   creation off it.
//! - [`JournalTailer`] follows a live writer from a cold thread (or another process);
//!   [`JournalReader`], [`verify()`], [`stats()`] and [`apply_retention`] run on cold threads
//!   and in tools. None takes the writer's lock; none can block the writer.
//!
//! # Invariants
//! - One writer per directory, enforced by an exclusive lock on `LOCK`.
//! - Sequence numbers grow by exactly 1 per record, across segments; a journal starts at 1
//!   (later, once retention has removed old segments).
//! - Every record's checksum is chained: it covers the record and the checksum of the
//!   record before it, so the last checksum (the chain head) commits to the whole journal.
//! - Every byte after the last record of a segment is zero; a record becomes valid only
//!   when its commit word (length and kind, the first 8 header bytes) is stored, last, with
//!   release ordering.
//! - Every record is verified (checksum, chain, padding, sequence) before a reader hands it
//!   out; bad data is a [`JournalError::Corrupt`] naming segment and offset, never a panic
//!   and never skipped. Only an incomplete record at the very end of the last segment is a
//!   torn tail, which the writer cuts on open.
//! - Files depend only on the appends: the same appends into a new directory give
//!   byte-identical segments (no clock, pid or random data in the format).
//!
//! # Example
//! ```
//! use traider_journal::{JournalReader, JournalWriter, WriterOptions};
//! # fn main() -> Result<(), traider_journal::JournalError> {
//! # let temp = tempfile::tempdir().expect("tempdir");
//! # let dir = temp.path();
//! let options = WriterOptions { segment_bytes: 1 << 20, ..Default::default() };
//! let (mut writer, recovery) = JournalWriter::open(dir, options)?;
//! assert_eq!(recovery.last_seq, None);
//! let seq = writer.append(1, 1_700_000_000_000_000_000, br#"{"type":"snapshot"}"#)?;
//! assert_eq!(seq, 1);
//! writer.append_parts(2, 1_700_000_000_000_000_001, &[b"header", b"frame"])?;
//! writer.syncer().sync_to(2)?; // what the `durable` policy's order sender does
//!
//! let reader = JournalReader::open(dir)?;
//! for record in reader.records() {
//!     let record = record?;
//!     println!("{} kind {} {} bytes", record.seq, record.kind, record.payload.len());
//! }
//! assert_eq!(reader.torn_tail(), None);
//! let report = traider_journal::verify(dir)?;
//! assert_eq!((report.records, report.chain_head), (2, writer.chain_head()));
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]

mod audit;
pub mod checksum;
mod dir;
mod error;
pub mod format;
mod header;
mod reader;
mod recovery;
mod retention;
mod scan;
mod segment;
mod sync;
mod tailer;
mod verify;
mod writer;

pub use audit::{KindStats, Stats, VerifyReport, stats, verify};
pub use error::{CorruptReason, JournalError, RecordFault};
pub use format::{
    CHAIN_SEED, FORMAT_VERSION, KIND_RESERVED, PAYLOAD_BYTES_MAX, SEGMENT_BYTES_DEFAULT,
    parse_segment_file_name, record_bytes, segment_file_name,
};
pub use reader::{JournalReader, Record, Records, SegmentInfo};
pub use recovery::Recovery;
pub use retention::{
    RemovedSegment, RetentionPolicy, RetentionReport, apply_retention, apply_retention_at,
};
pub use sync::{Prefault, Syncer};
pub use tailer::JournalTailer;
pub use verify::TornTail;
pub use writer::{FlushPolicy, JournalWriter, WriterOptions};
