//! The hot path's journal: `traider-journal`'s memory-mapped writer behind the core's
//! [`JournalSink`] trait. Runs on the hot thread.

use crate::config::{FlushSetting, JournalConfig};
use std::path::{Path, PathBuf};
use traider_core::pipeline::{JournalFailure, JournalSink};
use traider_journal::{FlushPolicy, JournalError, JournalWriter, Recovery, Syncer, WriterOptions};

pub enum Journal {
    Mmap(MmapJournal),
    /// No journal (benchmarks only; the daemon always journals).
    Off,
}

pub struct MmapJournal {
    writer: JournalWriter,
    /// The first error the writer returned, kept for the operator.
    pub first_error: Option<JournalError>,
}

impl Journal {
    /// Opens (creating) the journal in `dir` with the configured segment size and flush policy.
    pub fn open(dir: &Path, config: &JournalConfig) -> Result<(Self, Recovery), JournalError> {
        let flush = match config.flush {
            FlushSetting::None => FlushPolicy::None,
            FlushSetting::Interval => FlushPolicy::IntervalMs(config.flush_interval_ms),
            FlushSetting::Durable => FlushPolicy::Durable,
        };
        let options = WriterOptions {
            segment_bytes: config.segment_mb << 20,
            flush,
        };
        let (writer, recovery) = JournalWriter::open(dir, options)?;
        Ok((
            Journal::Mmap(MmapJournal {
                writer,
                first_error: None,
            }),
            recovery,
        ))
    }

    /// The cold-thread handle that syncs and prefaults behind the writer.
    pub fn syncer(&self) -> Option<Syncer> {
        match self {
            Journal::Mmap(journal) => Some(journal.writer.syncer()),
            Journal::Off => None,
        }
    }

    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            Journal::Mmap(journal) => Some(journal.writer.dir().to_path_buf()),
            Journal::Off => None,
        }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        match self {
            Journal::Mmap(journal) => journal.writer.next_seq() - 1,
            Journal::Off => 0,
        }
    }

    /// (segment rolls, of which into a spare the journal thread had prepared: no system call)
    pub fn rolls(&self) -> (u64, u64) {
        match self {
            Journal::Mmap(journal) => (
                u64::from(journal.writer.current_segment()),
                journal.writer.rolls_into_spare(),
            ),
            Journal::Off => (0, 0),
        }
    }

    pub fn first_error(&self) -> Option<&JournalError> {
        match self {
            Journal::Mmap(journal) => journal.first_error.as_ref(),
            Journal::Off => None,
        }
    }
}

impl JournalSink for Journal {
    #[inline]
    fn append(&mut self, kind: u16, ts_ns: u64, parts: &[&[u8]]) -> Result<u64, JournalFailure> {
        match self {
            Journal::Mmap(journal) => match journal.writer.append_parts(kind, ts_ns, parts) {
                Ok(seq) => Ok(seq),
                Err(error) => {
                    journal.first_error.get_or_insert(error);
                    Err(JournalFailure)
                }
            },
            Journal::Off => Ok(0),
        }
    }

    fn flush(&mut self) -> Result<(), JournalFailure> {
        match self {
            Journal::Mmap(journal) => journal.writer.flush().map_err(|error| {
                journal.first_error.get_or_insert(error);
                JournalFailure
            }),
            Journal::Off => Ok(()),
        }
    }
}

/// A journal error, with `dir` added when the error does not name a path itself.
pub fn journal_error(dir: &Path, error: traider_journal::JournalError) -> anyhow::Error {
    match error.path() {
        Some(_) => anyhow::Error::new(error),
        None => anyhow::Error::new(error).context(format!("journal {}", dir.display())),
    }
}
