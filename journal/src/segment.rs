//! Segment files and their memory maps: the only module of the crate with unsafe code.
//!
//! A segment is created pre-sized and zero-filled, with its blocks reserved, so appending
//! is a write to memory that needs no system call and cannot hit a full disk (which, with a
//! sparse file, would kill the process with SIGBUS on the hot thread).
//!
//! Who touches a writer's mapping, and how:
//! - [`SegmentWriter`], unique per segment and owned by the writer, is the only code that
//!   forms Rust references into the mapping or stores to it (`&mut self` for every store).
//! - [`SegmentHandle`]s, cloned out to cold threads, share the mapping (an `Arc`, so it is
//!   unmapped only when the last holder drops it: no use after unmap) but only pass its
//!   address range to the kernel: `msync` and `madvise(MADV_POPULATE_WRITE)`. Neither reads
//!   nor writes the bytes in the Rust memory model (the kernel writes pages back, or builds
//!   page-table entries, like a DMA engine), so they race with no Rust access.
//!
//! Readers map files separately, read-only ([`SegmentMap`]).
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use memmap2::{Mmap, MmapRaw};

use crate::error::JournalError;
use crate::format::segment_file_name;
use crate::format::{COMMIT_WORD_SIZE, TEMP_FILE_SUFFIX};
use crate::header::FileHeader;

#[derive(Debug)]
struct Mapping {
    path: PathBuf,
    index: u32,
    map: MmapRaw,
    /// Kept open for the mapping's lifetime (and for `fdatasync`).
    _file: File,
}

/// A segment mapped read-write, owned by the writer: the only handle that accesses the bytes.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    mapping: Arc<Mapping>,
}

impl SegmentWriter {
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
        let result = Self::create_temp(&temp_path, header).and_then(|file| {
            fs::rename(&temp_path, &path).map_err(|e| JournalError::io(&path, e))?;
            Self::map(&path, header.segment_index, file)
        });
        if result.is_err() {
            // Best effort: a leftover temp file is also removed by the next open.
            let _ = fs::remove_file(&temp_path);
        }
        result
    }

    /// A spare segment for index `index`, created ahead of need by a cold thread: sized to
    /// `segment_bytes`, blocks reserved, mapped, and all zero (no header: readers and
    /// recovery ignore a trailing segment file whose first page is zero). It is built as a
    /// `.tmp` file; [`Self::publish_spare`] renames it into place.
    pub fn create_spare(
        dir: &Path,
        index: u32,
        segment_bytes: u64,
    ) -> Result<(Self, PathBuf), JournalError> {
        let path = dir.join(segment_file_name(index));
        let temp_path = dir.join(format!("{}{TEMP_FILE_SUFFIX}", segment_file_name(index)));
        let io_err = |e| JournalError::io(&temp_path, e);
        let result = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp_path)
            .map_err(io_err)
            .and_then(|file| {
                file.set_len(segment_bytes).map_err(io_err)?;
                reserve_blocks(&file, segment_bytes).map_err(io_err)?;
                Self::map(&path, index, file)
            });
        match result {
            Ok(spare) => Ok((spare, temp_path)),
            Err(error) => {
                let _ = fs::remove_file(&temp_path);
                Err(error)
            }
        }
    }

    /// Renames a spare built by [`Self::create_spare`] from `temp_path` to its segment name.
    pub fn publish_spare(&self, temp_path: &Path) -> Result<(), JournalError> {
        fs::rename(temp_path, self.path()).map_err(|e| JournalError::io(self.path(), e))
    }

    /// Turns a spare into the segment `header` describes, with memory stores only (no
    /// system call): header bytes 8.. first, then the magic as one release store, so a
    /// reader that sees the magic sees the whole header.
    pub fn activate_spare(&mut self, header: &FileHeader) {
        let bytes = header.encode();
        self.bytes_mut(COMMIT_WORD_SIZE..bytes.len())
            .copy_from_slice(&bytes[COMMIT_WORD_SIZE..]);
        let mut magic = [0u8; COMMIT_WORD_SIZE];
        magic.copy_from_slice(&bytes[..COMMIT_WORD_SIZE]);
        self.store_commit_word(0, magic);
    }

    fn create_temp(temp_path: &Path, header: &FileHeader) -> Result<File, JournalError> {
        use std::io::Write;
        let io_err = |e| JournalError::io(temp_path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(temp_path)
            .map_err(io_err)?;
        file.set_len(header.segment_bytes).map_err(io_err)?;
        reserve_blocks(&file, header.segment_bytes).map_err(io_err)?;
        file.write_all(&header.encode()).map_err(io_err)?;
        file.sync_data().map_err(io_err)?;
        Ok(file)
    }

    /// Maps an existing segment read-write (the writer's last segment, on reopen).
    pub fn open(path: &Path, index: u32) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| JournalError::io(path, e))?;
        Self::map(path, index, file)
    }

    fn map(path: &Path, index: u32, file: File) -> Result<Self, JournalError> {
        // MmapRaw::map_raw is safe to call; what makes its bytes safe to use is our contract:
        // only the writer, holding the journal's exclusive LOCK, writes segment files, only
        // through this map; no code of ours ever shrinks a segment file (access past a new end
        // would raise SIGBUS). Other programs writing our files is outside the contract, like
        // for any database file.
        let map = MmapRaw::map_raw(&file).map_err(|e| JournalError::io(path, e))?;
        let mapping = Mapping {
            path: path.to_path_buf(),
            index,
            map,
            _file: file,
        };
        Ok(Self {
            mapping: Arc::new(mapping),
        })
    }

    pub fn path(&self) -> &Path {
        &self.mapping.path
    }

    pub fn index(&self) -> u32 {
        self.mapping.index
    }

    pub fn len(&self) -> usize {
        self.mapping.map.len()
    }

    /// The whole file, for recovery's scan and for hashing a payload just written.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the pointer and length describe the live mapping (kept alive by the Arc
        // we hold for the slice's lifetime). Only `SegmentWriter` stores to the mapping, and
        // every store needs `&mut self`, so no store happens while this shared borrow lives;
        // other holders of the mapping only make system calls on it (see the module doc).
        unsafe { std::slice::from_raw_parts(self.mapping.map.as_ptr(), self.len()) }
    }

    /// The bytes of `range` (in bounds: panics otherwise), for writing a record.
    pub fn bytes_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "segment range out of bounds"
        );
        // SAFETY: in bounds of the live mapping (asserted). `&mut self` on the unique
        // `SegmentWriter` means no other Rust reference to these bytes exists while the slice
        // lives; handles on other threads never form references (module doc).
        unsafe {
            let start = self.mapping.map.as_mut_ptr().add(range.start);
            std::slice::from_raw_parts_mut(start, range.end - range.start)
        }
    }

    /// Stores the first [`COMMIT_WORD_SIZE`] bytes of the record header at `offset` as one
    /// aligned atomic store with release ordering: every byte of the record written before
    /// becomes visible no later than the commit word, and a crash leaves it all or nothing.
    #[inline]
    pub fn store_commit_word(&mut self, offset: usize, word: [u8; COMMIT_WORD_SIZE]) {
        assert!(
            offset + COMMIT_WORD_SIZE <= self.len(),
            "commit word out of bounds"
        );
        let ptr = self
            .mapping
            .map
            .as_mut_ptr()
            .wrapping_add(offset)
            .cast::<u64>();
        assert!(ptr.is_aligned(), "commit word not 8-byte aligned");
        // SAFETY: `ptr` is in bounds of the live mapping (asserted), aligned for u64
        // (asserted; the map is page-aligned and records start at multiples of 8), and valid
        // for reads and writes while the mapping lives. `&mut self` guarantees no Rust
        // reference to these bytes exists during the store, so the atomic does not race any
        // non-atomic access from our side.
        let atomic = unsafe { AtomicU64::from_ptr(ptr) };
        atomic.store(u64::from_ne_bytes(word), Ordering::Release);
    }

    /// A handle for cold threads: sync and prefault, never byte access.
    pub fn handle(&self) -> SegmentHandle {
        SegmentHandle {
            mapping: Arc::clone(&self.mapping),
        }
    }
}

/// A shared reference to a writer's segment mapping, for the syncer and the prefaulter.
#[derive(Clone, Debug)]
pub(crate) struct SegmentHandle {
    mapping: Arc<Mapping>,
}

impl SegmentHandle {
    pub fn index(&self) -> u32 {
        self.mapping.index
    }

    pub fn path(&self) -> &Path {
        &self.mapping.path
    }

    pub fn len(&self) -> usize {
        self.mapping.map.len()
    }

    /// msync(MS_SYNC) of the pages covering `range` (clamped to the file): blocks until they
    /// are on disk.
    pub fn sync_range(&self, range: Range<usize>) -> Result<(), JournalError> {
        let end = range.end.min(self.len());
        if range.start >= end {
            return Ok(());
        }
        self.mapping
            .map
            .flush_range(range.start, end - range.start)
            .map_err(|e| JournalError::io(self.path(), e))
    }

    /// madvise(MADV_POPULATE_WRITE) of the pages covering `range` (clamped): makes them
    /// resident with writable page-table entries, so the writer's first store to each does not
    /// fault. Changes no byte. `Ok(false)` where the kernel does not support it (before Linux
    /// 5.14: EINVAL) or on other systems.
    pub fn populate_write(&self, range: Range<usize>) -> Result<bool, JournalError> {
        let end = range.end.min(self.len());
        if range.start >= end {
            return Ok(true);
        }
        populate_write(&self.mapping.map, range.start, end - range.start)
            .map_err(|e| JournalError::io(self.path(), e))
    }
}

#[cfg(target_os = "linux")]
fn populate_write(map: &MmapRaw, offset: usize, len: usize) -> io::Result<bool> {
    match map.advise_range(memmap2::Advice::PopulateWrite, offset, len) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn populate_write(_map: &MmapRaw, _offset: usize, _len: usize) -> io::Result<bool> {
    Ok(false)
}

/// A segment mapped read-only, for readers, the tailer and recovery's pass over old segments.
#[derive(Debug)]
pub(crate) struct SegmentMap {
    map: Mmap,
}

impl SegmentMap {
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = File::open(path).map_err(|e| JournalError::io(path, e))?;
        // SAFETY: as for `SegmentWriter::map`: no code of ours shrinks or rewrites a segment
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

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The bytes of `range` only (in bounds: panics otherwise), without forming a reference
    /// to the rest of the file: the tailer reads a committed record this way while the writer
    /// goes on writing the bytes after it.
    pub fn bytes_in(&self, range: Range<usize>) -> &[u8] {
        assert!(
            range.start <= range.end && range.end <= self.map.len(),
            "segment range out of bounds"
        );
        // SAFETY: in bounds (asserted) of a mapping that lives as long as `self`. The caller
        // asks only for bytes of records whose commit word it loaded with acquire ordering:
        // the writer wrote them before its release store and never writes them again.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(range.start), range.len()) }
    }

    /// The commit word at `offset` (8-aligned, in bounds: panics otherwise), loaded
    /// atomically with acquire semantics: if it is non-zero, every byte the writer stored
    /// before it (its release store) is visible to our later loads.
    pub fn load_commit_word(&self, offset: usize) -> [u8; COMMIT_WORD_SIZE] {
        assert!(
            offset + COMMIT_WORD_SIZE <= self.map.len(),
            "commit word out of bounds"
        );
        let ptr = self
            .map
            .as_ptr()
            .wrapping_add(offset)
            .cast::<u64>()
            .cast_mut();
        assert!(ptr.is_aligned(), "commit word not 8-byte aligned");
        // SAFETY: in bounds and aligned (asserted) in a mapping that lives as long as `self`.
        // The memory is mapped read-only: std guarantees that a Relaxed atomic load of at most
        // the register width works on read-only memory, so the load is Relaxed and the acquire
        // is a fence after it (fence-to-atomic synchronization). The writer stores this word
        // with one aligned 8-byte release store through its own mapping of the same page;
        // hardware coherence makes the two mappings one location, as for any shared memory
        // between processes.
        let word = unsafe { AtomicU64::from_ptr(ptr) }.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        word.to_ne_bytes()
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
