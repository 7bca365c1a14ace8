//! The one error type of the journal, and the reasons a file is called corrupt.
//!
//! Everything read from disk is untrusted: a bad file becomes a [`JournalError`] naming the
//! segment and byte offset, never a panic. The reasons are small `Copy` enums, not strings,
//! so a caller (or a test) can match on exactly what was wrong.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why a record failed verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFault {
    /// The 32-byte record header is all zero (the end-of-data marker), yet non-zero bytes or
    /// a valid record follow it.
    Zeroed,
    /// The header is not all zero but its kind is 0, which no record may have.
    KindZero,
    /// The payload length exceeds [`crate::PAYLOAD_BYTES_MAX`].
    TooLarge { payload_len: u32 },
    /// The record (header, payload, padding) would end past the end of the segment file.
    PastEnd { payload_len: u32 },
    /// The checksum stored in the header does not match header, payload and the chain value
    /// the record continues from (the previous record's checksum): the record's bytes
    /// changed, or the record before it was rewritten.
    Checksum { stored: u64, computed: u64 },
    /// A padding byte after the payload is not zero (padding is outside the checksum, so
    /// it must be zero and is checked separately).
    PaddingNotZero,
}

impl fmt::Display for RecordFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Zeroed => write!(f, "record header is all zero but data follows it"),
            Self::KindZero => write!(f, "record kind is 0 (reserved)"),
            Self::TooLarge { payload_len } => {
                write!(f, "payload length {payload_len} exceeds the format maximum")
            }
            Self::PastEnd { payload_len } => {
                write!(
                    f,
                    "record with payload length {payload_len} runs past the end of the file"
                )
            }
            Self::Checksum { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): \
                     the record, or the chain before it, changed"
                )
            }
            Self::PaddingNotZero => write!(f, "padding after the payload is not zero"),
        }
    }
}

/// What exactly is wrong at the place a [`JournalError::Corrupt`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorruptReason {
    /// A record fails verification where it cannot be a torn tail: in a segment that is not
    /// the last one.
    BadRecord(RecordFault),
    /// A record fails verification and a valid record follows later in the same segment:
    /// data was damaged in the middle, not torn off at the end.
    BadRecordBeforeValid {
        fault: RecordFault,
        valid_offset: u64,
    },
    /// A record (or a segment's first sequence number) breaks sequence continuity.
    SequenceGap { expected: u64, found: u64 },
    /// A segment header's chain start is not the checksum of the previous segment's last
    /// record (or, for a journal's first segment, not [`crate::format::CHAIN_SEED`]): a
    /// segment was replaced or rewritten.
    ChainBreak { expected: u64, found: u64 },
    /// The segment file is shorter than its header.
    FileTooShort { file_bytes: u64 },
    /// The file header's length field is not the one this version writes.
    HeaderLength { found: u16 },
    /// The file header's checksum does not match.
    HeaderChecksum { stored: u64, computed: u64 },
    /// The file header's segment index disagrees with the file name.
    SegmentIndex { expected: u32, found: u32 },
    /// Segment file names are not contiguous: `expected` is missing, `found` comes next.
    SegmentMissing { expected: u32, found: u32 },
    /// The file's length differs from the segment size its header records.
    FileSize { header_bytes: u64, file_bytes: u64 },
    /// A record's sequence number is past [`crate::format::SEQ_MAX`], which no writer
    /// reaches: nothing could follow it.
    SequencePastMax { found: u64 },
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadRecord(fault) => write!(f, "{fault}"),
            Self::BadRecordBeforeValid {
                fault,
                valid_offset,
            } => {
                write!(
                    f,
                    "{fault}; a valid record follows at offset {valid_offset}"
                )
            }
            Self::SequenceGap { expected, found } => {
                write!(f, "sequence gap: expected {expected}, found {found}")
            }
            Self::ChainBreak { expected, found } => write!(
                f,
                "hash chain broken: segment starts from {found:#018x}, \
                 the chain before it ends at {expected:#018x}"
            ),
            Self::FileTooShort { file_bytes } => {
                write!(
                    f,
                    "file is {file_bytes} bytes, shorter than a segment header"
                )
            }
            Self::HeaderLength { found } => write!(f, "segment header length {found} is wrong"),
            Self::HeaderChecksum { stored, computed } => write!(
                f,
                "segment header checksum mismatch \
                 (stored {stored:#018x}, computed {computed:#018x})"
            ),
            Self::SegmentIndex { expected, found } => {
                write!(
                    f,
                    "segment header says index {found}, file name says {expected}"
                )
            }
            Self::SegmentMissing { expected, found } => {
                write!(
                    f,
                    "segment {expected} is missing (next file is segment {found})"
                )
            }
            Self::FileSize {
                header_bytes,
                file_bytes,
            } => {
                write!(
                    f,
                    "file is {file_bytes} bytes, segment header says {header_bytes}"
                )
            }
            Self::SequencePastMax { found } => {
                write!(
                    f,
                    "sequence number {found} is past the largest a record may carry"
                )
            }
        }
    }
}

/// Every error the journal returns.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system call failed on `path`.
    // The cause is in the message, not a `source()`: a chain printer would name it twice.
    #[error("journal I/O error on {}: {cause}", .path.display())]
    Io { path: PathBuf, cause: io::Error },
    /// Another writer holds the journal's `LOCK` file.
    #[error("journal {} is locked by another writer", .dir.display())]
    Locked { dir: PathBuf },
    /// The data on disk fails verification at `segment`, byte `offset` of its file. `seq` is
    /// the sequence number the bad record should have had, where that is known (it is not
    /// for a damaged segment header, or a header whose predecessor is missing).
    #[error(
        "journal corrupt at segment {segment}, offset {offset}{}: {reason}",
        seq_note(*.seq)
    )]
    Corrupt {
        segment: u32,
        offset: u64,
        seq: Option<u64>,
        reason: CorruptReason,
    },
    /// The segment was written by a format version this build cannot read.
    #[error(
        "{}: journal format version {found} is not supported \
         (this build reads version {supported}): {}",
        .path.display(),
        version_hint(*.found, *.supported)
    )]
    Version {
        path: PathBuf,
        found: u16,
        supported: u16,
    },
    /// The file does not start with the journal magic.
    #[error("{} is not a journal segment (bad magic)", .path.display())]
    BadMagic { path: PathBuf },
    /// The payload is larger than the format allows.
    #[error("record payload of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge { len: usize, max: usize },
    /// Kind 0 is reserved: it marks the end of data.
    #[error("record kind 0 is reserved and cannot be appended")]
    ReservedKind,
    /// Segment indices are exhausted (u32::MAX segments written).
    #[error("journal has reached the maximum segment index")]
    SegmentIndexExhausted,
    /// The next record would carry a sequence number past [`crate::format::SEQ_MAX`].
    #[error("journal has reached the largest sequence number")]
    SequenceExhausted,
    /// [`crate::Syncer::sync_to`] was asked for a record the writer has not appended yet.
    #[error("cannot sync up to seq {seq}: the writer has appended only up to {committed_seq}")]
    NotYetAppended { seq: u64, committed_seq: u64 },
    /// The writer options are unusable.
    #[error("invalid journal writer options: {reason}")]
    InvalidOptions { reason: &'static str },
}

impl JournalError {
    /// The file or directory the message names, if it names one: a caller adds the journal's
    /// directory to the others, so that a path is named once.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. } | Self::Version { path, .. } | Self::BadMagic { path } => {
                Some(path)
            }
            Self::Locked { dir } => Some(dir),
            _ => None,
        }
    }

    /// Whether trying the same operation again later can succeed without anyone repairing
    /// the journal: a transient I/O error, or a lock another writer may release.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Io { cause, .. } => matches!(
                cause.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            Self::Locked { .. } | Self::NotYetAppended { .. } => true,
            Self::Corrupt { .. }
            | Self::Version { .. }
            | Self::BadMagic { .. }
            | Self::RecordTooLarge { .. }
            | Self::ReservedKind
            | Self::SegmentIndexExhausted
            | Self::SequenceExhausted
            | Self::InvalidOptions { .. } => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            cause,
        }
    }

    pub(crate) fn corrupt(segment: u32, offset: usize, reason: CorruptReason) -> Self {
        Self::Corrupt {
            segment,
            offset: offset as u64,
            seq: None,
            reason,
        }
    }

    /// Corruption of the record that should have had sequence number `seq`.
    pub(crate) fn corrupt_record(
        segment: u32,
        offset: usize,
        seq: u64,
        reason: CorruptReason,
    ) -> Self {
        Self::Corrupt {
            segment,
            offset: offset as u64,
            seq: Some(seq),
            reason,
        }
    }
}

fn seq_note(seq: Option<u64>) -> String {
    seq.map_or_else(String::new, |seq| format!(" (record seq {seq})"))
}

/// What an operator should do about a segment of another format version.
fn version_hint(found: u16, supported: u16) -> &'static str {
    if found < supported {
        "the on-disk format changed since this journal was written (version 2 chains xxh3 \
         checksums where version 1 had CRC32C); read it with a build of its own version, or \
         start a new journal directory"
    } else {
        "it was written by a newer build; use that build or a later one"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves that only transient I/O errors and lock contention are called retryable.
    #[test]
    fn retryable_only_for_transient_conditions() {
        let transient = JournalError::io("/j", io::Error::from(io::ErrorKind::Interrupted));
        let permanent = JournalError::io("/j", io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(transient.is_retryable());
        assert!(!permanent.is_retryable());
        assert!(JournalError::Locked { dir: "/j".into() }.is_retryable());
        let corrupt = JournalError::corrupt(0, 64, CorruptReason::BadRecord(RecordFault::KindZero));
        assert!(!corrupt.is_retryable());
        assert!(!JournalError::ReservedKind.is_retryable());
    }

    // Proves that messages name the place and the cause, so an operator can act on them.
    #[test]
    fn messages_name_segment_offset_and_cause() {
        let fault = RecordFault::Checksum {
            stored: 1,
            computed: 2,
        };
        let err = JournalError::corrupt(3, 4096, CorruptReason::BadRecord(fault));
        let text = err.to_string();
        assert!(
            text.contains("segment 3") && text.contains("offset 4096"),
            "{text}"
        );
        assert!(text.contains("checksum mismatch"), "{text}");
        let record = JournalError::corrupt_record(3, 4096, 17, CorruptReason::BadRecord(fault));
        assert!(record.to_string().contains("(record seq 17)"), "{record}");
        let version = JournalError::Version {
            path: "/j/seg-000000.tj".into(),
            found: 9,
            supported: 2,
        };
        let text = version.to_string();
        assert!(
            text.contains("version 9") && text.contains("reads version 2"),
            "{text}"
        );
        assert!(
            text.contains("seg-000000.tj") && text.contains("newer build"),
            "{text}"
        );
        let old = JournalError::Version {
            path: "/j/seg-000000.tj".into(),
            found: 1,
            supported: 2,
        };
        assert!(old.to_string().contains("format changed"), "{old}");
    }
}
