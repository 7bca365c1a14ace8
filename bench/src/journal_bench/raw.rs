//! The floors the journal is compared with: a raw copy of each payload into consecutive
//! places of a region, with no header, no checksum and no publication; and the cost of
//! the pieces of an append (the chained checksum, the publishing stores) in isolation.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use traider_core::pipeline::latency::Stamp;

use super::{
    BATCH, Measure, REGION_BYTES, RUNS, batched_run, median, scratch, thread_minor_faults,
    timed_run,
};

/// Bytes of the region the cache-resident baseline copies into, over and over.
const CACHE_RESIDENT_BYTES: usize = 1 << 20;

/// What a raw baseline copies into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raw {
    /// A `Vec` written through once before (warm).
    Vec,
    /// A file mapping whose pages were prefaulted (`MADV_POPULATE_WRITE`).
    MmapWarm,
    /// The first 1 MiB of a warm file mapping, written round and round: stays in cache.
    MmapCacheResident,
    /// A fresh (sparse) file mapping: every first store to a page faults.
    MmapCold,
}

impl Raw {
    pub fn name(self) -> &'static str {
        match self {
            Self::Vec => "raw memcpy → Vec (warm)",
            Self::MmapWarm => "raw memcpy → mmap file (warm)",
            Self::MmapCacheResident => "raw memcpy → mmap file (warm, 1 MiB reused)",
            Self::MmapCold => "raw memcpy → mmap file (cold)",
        }
    }
}

/// `payload_bytes` copied per "append", [`REGION_BYTES`] per run.
pub fn raw_baseline(parent: &Path, raw: Raw, payload_bytes: usize) -> anyhow::Result<Measure> {
    let stamp = Stamp::default();
    let payload = vec![0xA5u8; payload_bytes];
    let count = REGION_BYTES / payload_bytes / BATCH * BATCH;
    let wrap = match raw {
        Raw::MmapCacheResident => CACHE_RESIDENT_BYTES / payload_bytes * payload_bytes,
        _ => usize::MAX,
    };
    let mut rates = Vec::new();
    let mut hist = crate::histogram();
    let mut faults = 0;
    for run in 0..2 * RUNS {
        let dir = scratch(parent)?;
        let mut region = Region::new(dir.path(), raw)?;
        let bytes = region.bytes();
        let copy = |i: usize| {
            let at = (i * payload_bytes) % wrap;
            bytes[at..at + payload_bytes].copy_from_slice(black_box(&payload));
        };
        if run < RUNS {
            let ns = timed_run(&stamp, count, copy);
            rates.push(count as f64 * 1e9 / ns.max(1) as f64);
        } else {
            let before = thread_minor_faults();
            batched_run(&stamp, count, &mut hist, copy);
            faults += thread_minor_faults() - before;
        }
        black_box(bytes.last());
    }
    Ok(Measure {
        name: raw.name().to_owned(),
        payload_bytes,
        appends_per_s: median(rates),
        per_append_ps: hist,
        per_commit_ns: None,
        faults_per_append: faults as f64 / (RUNS * count) as f64,
    })
}

enum Region {
    Vec(Vec<u8>),
    Mmap(memmap2::MmapMut),
}

impl Region {
    fn new(dir: &Path, raw: Raw) -> anyhow::Result<Self> {
        if raw == Raw::Vec {
            return Ok(Self::Vec(vec![1u8; REGION_BYTES]));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("raw"))?;
        file.set_len(REGION_BYTES as u64)?;
        let map = map_file(&file)?;
        if raw != Raw::MmapCold {
            map.advise(memmap2::Advice::PopulateWrite)?;
        }
        Ok(Self::Mmap(map))
    }

    fn bytes(&mut self) -> &mut [u8] {
        match self {
            Self::Vec(v) => v,
            Self::Mmap(m) => m,
        }
    }
}

#[allow(unsafe_code)]
fn map_file(file: &std::fs::File) -> anyhow::Result<memmap2::MmapMut> {
    // SAFETY: the file was just created in a private temporary directory, is never
    // truncated while mapped, and nothing else in this process or another touches it.
    Ok(unsafe { memmap2::MmapMut::map_mut(file) }?)
}

/// The pieces of an append in isolation, per operation: the chained checksum as a reader
/// computes it (`record_checksum`, from a zeroed stack copy; the writer's reusable buffer
/// is a little cheaper), and the two release stores that publish progress to the syncer.
pub fn pieces(payload_bytes: usize) -> Vec<Measure> {
    let stamp = Stamp::default();
    let payload = vec![0x33u8; payload_bytes];
    let head = [9u8; 24];
    let published = [AtomicU64::new(0), AtomicU64::new(0)];
    let count = 4_000_000;
    let mut chain = 0u64;
    let mut checksum = |_: usize| {
        chain = traider_journal::checksum::record_checksum(&head, black_box(&payload), chain);
    };
    let name = format!("xxh3 chained checksum of 24+{payload_bytes} bytes");
    let mut out = vec![piece(&stamp, name, payload_bytes, count, &mut checksum)];
    let mut publish = |i: usize| {
        published[0].store(black_box(i as u64), Ordering::Release);
        published[1].store(black_box(i as u64), Ordering::Release);
    };
    let name = "publish: 2 release stores".to_owned();
    out.push(piece(&stamp, name, payload_bytes, count, &mut publish));
    out
}

fn piece(
    stamp: &Stamp,
    name: String,
    payload_bytes: usize,
    count: usize,
    op: &mut impl FnMut(usize),
) -> Measure {
    let ns = timed_run(stamp, count, &mut *op);
    let mut hist = crate::histogram();
    batched_run(stamp, count, &mut hist, &mut *op);
    Measure {
        name,
        payload_bytes,
        appends_per_s: count as f64 * 1e9 / ns.max(1) as f64,
        per_append_ps: hist,
        per_commit_ns: None,
        faults_per_append: 0.0,
    }
}
