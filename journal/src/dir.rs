//! The journal directory: which segment files it holds, the writer's lock, stale temp files.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{CorruptReason, JournalError};
use crate::format::{
    COMMIT_WORD_SIZE, FILE_HEADER_SIZE, parse_segment_file_name, segment_file_name,
};
use crate::format::{LOCK_FILE_NAME, SEGMENT_FILE_SUFFIX, TEMP_FILE_SUFFIX};

/// A segment file found in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentFile {
    pub index: u32,
    pub path: PathBuf,
}

/// The segment files of `dir`, in index order. Other files are ignored. Indices must be
/// contiguous (the first may be above 0, to leave room for retention later).
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>, JournalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io(dir, e))? {
        let entry = entry.map_err(|e| JournalError::io(dir, e))?;
        let name = entry.file_name();
        let Some(index) = name.to_str().and_then(parse_segment_file_name) else {
            continue;
        };
        segments.push(SegmentFile {
            index,
            path: entry.path(),
        });
    }
    segments.sort_by_key(|segment| segment.index);
    if segments.last().is_some_and(|last| is_spare(&last.path)) {
        segments.pop();
    }
    for pair in segments.windows(2) {
        let expected = pair[0].index + 1;
        if pair[1].index != expected {
            let reason = CorruptReason::SegmentMissing {
                expected,
                found: pair[1].index,
            };
            return Err(JournalError::corrupt(expected, 0, reason));
        }
    }
    Ok(segments)
}

/// Bytes at the start of a file that must all be zero for it to be a spare.
const SPARE_ZERO_PREFIX_BYTES: usize = 4096;

/// Whether the segment file at `path` is a *spare*: created ahead of need by a cold thread,
/// not yet started by the writer (its magic, stored last, is zero, and so is every byte
/// after the header in its first page). Only the last
/// segment file can be one; a spare is not part of the journal. A file that cannot be read
/// is not called a spare (opening it will report why).
pub(crate) fn is_spare(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = File::open(path) else {
        return false;
    };
    let Ok(meta) = file.metadata() else {
        return false;
    };
    if meta.len() < FILE_HEADER_SIZE as u64 {
        return false;
    }
    let want = SPARE_ZERO_PREFIX_BYTES.min(meta.len() as usize);
    let mut prefix = vec![0u8; want];
    let mut reader = file;
    // The magic is stored last when the writer starts a spare, so a header being written
    // (bytes 8..64) still reads as a spare; records (from byte 64) never do.
    reader.read_exact(&mut prefix).is_ok()
        && prefix[..COMMIT_WORD_SIZE].iter().all(|&b| b == 0)
        && prefix[FILE_HEADER_SIZE..].iter().all(|&b| b == 0)
}

/// Whether segment `index`'s file exists and has been started by the writer (not a spare).
pub(crate) fn segment_started(dir: &Path, index: u32) -> bool {
    let path = dir.join(segment_file_name(index));
    path.symlink_metadata().is_ok() && !is_spare(&path)
}

/// Removes a spare segment a previous writer left (the next one prepares its own). Call
/// with the lock held.
pub(crate) fn remove_spare(dir: &Path) -> Result<(), JournalError> {
    let mut last: Option<(u32, PathBuf)> = None;
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io(dir, e))? {
        let entry = entry.map_err(|e| JournalError::io(dir, e))?;
        let name = entry.file_name();
        if let Some(index) = name.to_str().and_then(parse_segment_file_name)
            && last.as_ref().is_none_or(|(i, _)| index > *i)
        {
            last = Some((index, entry.path()));
        }
    }
    if let Some((_, path)) = last.filter(|(_, path)| is_spare(path)) {
        fs::remove_file(&path).map_err(|e| JournalError::io(&path, e))?;
    }
    Ok(())
}

/// Takes the writer's exclusive lock on `dir/LOCK`; it is held until the file is dropped.
pub(crate) fn lock(dir: &Path) -> Result<File, JournalError> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| JournalError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(JournalError::io(&path, e)),
    }
}

/// Removes `seg-*.tj.tmp` files a crashed writer left mid-roll. Call with the lock held.
pub(crate) fn remove_temp_files(dir: &Path) -> Result<(), JournalError> {
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io(dir, e))? {
        let entry = entry.map_err(|e| JournalError::io(dir, e))?;
        let name = entry.file_name();
        let is_temp = name
            .to_str()
            .and_then(|n| n.strip_suffix(TEMP_FILE_SUFFIX))
            .is_some_and(|n| {
                n.ends_with(SEGMENT_FILE_SUFFIX) && parse_segment_file_name(n).is_some()
            });
        if is_temp {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| JournalError::io(&path, e))?;
        }
    }
    Ok(())
}

/// fsync of the directory, so new file names survive a power loss.
pub(crate) fn sync(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves that listing keeps only canonical segment names, sorted, and refuses a gap.
    #[test]
    fn list_sorts_filters_and_refuses_gaps() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "seg-000002.tj",
            "seg-000001.tj",
            "LOCK",
            "seg-3.tj",
            "notes.txt",
        ] {
            fs::write(dir.path().join(name), b"").expect("write");
        }
        let indices: Vec<u32> = list_segments(dir.path())
            .expect("list")
            .iter()
            .map(|s| s.index)
            .collect();
        assert_eq!(indices, [1, 2]);
        fs::write(dir.path().join("seg-000004.tj"), b"").expect("write");
        let err = list_segments(dir.path()).expect_err("gap");
        let reason = CorruptReason::SegmentMissing {
            expected: 3,
            found: 4,
        };
        assert!(matches!(err, JournalError::Corrupt { segment: 3, reason: r, .. } if r == reason));
    }

    // Proves that only segment temp files are removed, nothing else.
    #[test]
    fn remove_temp_files_removes_only_segment_temps() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["seg-000001.tj.tmp", "seg-000001.tj", "other.tmp"] {
            fs::write(dir.path().join(name), b"").expect("write");
        }
        remove_temp_files(dir.path()).expect("remove");
        assert!(!dir.path().join("seg-000001.tj.tmp").exists());
        assert!(dir.path().join("seg-000001.tj").exists());
        assert!(dir.path().join("other.tmp").exists());
    }
}
