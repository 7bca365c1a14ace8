//! TRAIDER journal: the memory-mapped, append-only, checksummed event log that is the
//! trading engine's system of record. Every input frame and every decision is appended;
//! restart, backtest and audit are replays of it.
//!
//! A record is `(kind: u16, ts_ns: u64, payload bytes)`; the writer gives it the next
//! sequence number. The crate does not know what records mean. The byte layout is in
//! `journal/FORMAT.md` and, as named constants, in [`format`](mod@format).
//!
//! # Threads
//! - [`JournalWriter`] runs on the hot thread, alone. `append*` is a bounds check, a copy
//!   into the mapped segment and a CRC32C: no system call, no allocation. Rolling to a new
//!   segment (once per `segment_bytes`) and [`JournalWriter::flush`] make system calls.
//! - [`JournalReader`] runs on cold threads and in tools: read-only maps, no lock, safe to
//!   use while a writer appends.
//!
//! # Invariants
//! - One writer per directory, enforced by an exclusive lock on `LOCK`.
//! - Sequence numbers start at 1 and grow by exactly 1 per record, across segments.
//! - Every byte after the last record of a segment is zero; a record becomes valid only
//!   when its commit word (length and kind, the first 8 header bytes) is stored, last.
//! - Every record is verified (checksum, padding, sequence) before a reader hands it out;
//!   bad data is a [`JournalError::Corrupt`] naming segment and offset, never a panic and
//!   never skipped. Only an incomplete record at the very end of the last segment is a
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
//! let options = WriterOptions { segment_bytes: 1 << 20 };
//! let (mut writer, recovery) = JournalWriter::open(dir, options)?;
//! assert_eq!(recovery.last_seq, None);
//! let seq = writer.append(1, 1_700_000_000_000_000_000, br#"{"type":"snapshot"}"#)?;
//! assert_eq!(seq, 1);
//! writer.append_parts(2, 1_700_000_000_000_000_001, &[b"header", b"frame"])?;
//! writer.flush()?;
//!
//! let reader = JournalReader::open(dir)?;
//! for record in reader.records() {
//!     let record = record?;
//!     println!("{} kind {} {} bytes", record.seq, record.kind, record.payload.len());
//! }
//! assert_eq!(reader.torn_tail(), None);
//! assert_eq!(reader.last_seq()?, Some(2));
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]

mod dir;
mod error;
pub mod format;
mod header;
mod reader;
mod recovery;
mod segment;
mod verify;
mod writer;

pub use error::{CorruptReason, JournalError, RecordFault};
pub use format::{
    FORMAT_VERSION, KIND_RESERVED, PAYLOAD_BYTES_MAX, SEGMENT_BYTES_DEFAULT, record_bytes,
    segment_file_name,
};
pub use reader::{JournalReader, Record, Records, SegmentInfo};
pub use recovery::Recovery;
pub use verify::TornTail;
pub use writer::{JournalWriter, WriterOptions};
