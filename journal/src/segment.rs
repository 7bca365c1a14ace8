//! Segment files and their memory maps: the only module of the crate with unsafe code.
//!
//! A segment is created pre-sized and zero-filled, with its blocks reserved, so appending
//! is a write to memory that needs no system call and cannot hit a full disk (which, with a
//! sparse file, would kill the process with SIGBUS on the hot thread).
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapMut};

use crate::error::JournalError;
use crate::format::segment_file_name;
use crate::format::{COMMIT_WORD_SIZE, FILE_HEADER_SIZE, TEMP_FILE_SUFFIX};
use crate::header::FileHeader;

/// A segment mapped read-write, owned by the writer.
#[derive(Debug)]
pub(crate) struct SegmentMut {
    path: PathBuf,
    file: File,
    map: MmapMut,
}

impl SegmentMut {
    /// Creates the segment `header` describes in `dir`: a `.tmp` file is sized, its blocks
    /// reserved, mapped, given its header and synced, then renamed into place, so a reader
    /// never sees a segment without a valid header.
    pub fn create(dir: &Path, header: &FileHeader) -> Result<Self, JournalError> {
        let name = segment_file_name(header.segment_index);
        let path = dir.join(&name);
        let temp_path = dir.join(format!("{name}{TEMP_FILE_SUFFIX}"));
        if path.symlink_metadata().is_ok() {
            let exists = io::Error::new(io::ErrorKind::AlreadyExists, "segment already exists");
            return Err(JournalError::io(path, exists));
        }
        let result = Self::create_temp(&temp_path, header).and_then(|segment| {
            fs::rename(&temp_path, &path).map_err(|e| JournalError::io(&path, e))?;
            Ok(Self {
                path: path.clone(),
                ..segment
            })
        });
        if result.is_err() {
            // Best effort: a leftover temp file is also removed by the next open.
            let _ = fs::remove_file(&temp_path);
        }
        result
    }

    fn create_temp(temp_path: &Path, header: &FileHeader) -> Result<Self, JournalError> {
        let io_err = |e| JournalError::io(temp_path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(temp_path)
            .map_err(io_err)?;
        file.set_len(header.segment_bytes).map_err(io_err)?;
        reserve_blocks(&file, header.segment_bytes).map_err(io_err)?;
        let mut segment = Self::map(temp_path, file)?;
        segment.map[..FILE_HEADER_SIZE].copy_from_slice(&header.encode());
        segment.flush()?;
        Ok(segment)
    }

    /// Maps an existing segment read-write (the writer's last segment, on reopen).
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| JournalError::io(path, e))?;
        Self::map(path, file)
    }

    fn map(path: &Path, file: File) -> Result<Self, JournalError> {
        // SAFETY: the mapping aliases file contents that Rust cannot see change. It holds
        // because only the writer, which holds the journal's exclusive LOCK, writes segment
        // files, and it writes them only through this map; readers map them read-only; and
        // no code of ours ever shrinks a segment file (shrinking a mapped file would make
        // access past the new end raise SIGBUS). Other programs writing our files is outside
        // the contract, like for any database file.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| JournalError::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            map,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }

    /// Stores the first [`COMMIT_WORD_SIZE`] bytes of the record header at `offset` as one
    /// aligned atomic store with release ordering: every byte of the record written before
    /// becomes visible no later than the commit word, and a crash leaves it all or nothing.
    pub fn store_commit_word(&mut self, offset: usize, word: [u8; COMMIT_WORD_SIZE]) {
        assert!(
            offset + COMMIT_WORD_SIZE <= self.map.len(),
            "commit word out of bounds"
        );
        let ptr = self.map.as_mut_ptr().wrapping_add(offset).cast::<u64>();
        assert!(ptr.is_aligned(), "commit word not 8-byte aligned");
        // SAFETY: `ptr` is in bounds of the live mapping (asserted above), aligned for u64
        // (asserted; the map is page-aligned and records start at multiples of 8), and valid
        // for reads and writes while `self.map` lives. `&mut self` guarantees no Rust
        // reference to these bytes exists during the store, so the atomic does not race any
        // non-atomic access from our side.
        let atomic = unsafe { AtomicU64::from_ptr(ptr) };
        atomic.store(u64::from_ne_bytes(word), Ordering::Release);
    }

    /// msync: blocks until the mapped bytes are on disk.
    pub fn flush(&self) -> Result<(), JournalError> {
        self.map
            .flush()
            .map_err(|e| JournalError::io(&self.path, e))
    }

    /// Unmaps the segment, keeping its file open so a later flush can still sync it.
    pub fn into_file(self) -> (PathBuf, File) {
        (self.path, self.file)
    }
}

/// A segment mapped read-only, for readers and for recovery's pass over older segments.
#[derive(Debug)]
pub(crate) struct SegmentMap {
    map: Mmap,
}

impl SegmentMap {
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = File::open(path).map_err(|e| JournalError::io(path, e))?;
        // SAFETY: as for `SegmentMut::map`: no code of ours shrinks or rewrites a segment
        // file's verified records. A live writer may append past the last record while we
        // read; those bytes are untrusted like any disk input (every record is checksummed
        // before its payload is handed out, and a half-written record reads as a torn
        // tail). Bytes of a verified record never change again, so payload slices stay valid.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| JournalError::io(path, e))?;
        Ok(Self { map })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

/// Reserves disk blocks for the whole file, so writes through the map never find the disk
/// full. Where the filesystem cannot preallocate, the file stays sparse.
#[cfg(target_os = "linux")]
fn reserve_blocks(file: &File, len_bytes: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment too large"))?;
    // SAFETY: the descriptor is open and owned by `file` for the whole call;
    // posix_fallocate reads and writes no memory of ours.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    match rc {
        0 | libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

#[cfg(not(target_os = "linux"))]
fn reserve_blocks(_file: &File, _len_bytes: u64) -> io::Result<()> {
    Ok(())
}
