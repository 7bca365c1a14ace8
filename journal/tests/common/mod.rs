//! Helpers shared by the integration tests: deterministic data, writing and reading whole
//! journals, and the byte layout of a journal as the reader reports it.
#![allow(dead_code)] // each test file uses a different subset

use std::fs;
use std::path::{Path, PathBuf};

use traider_journal::{JournalReader, JournalWriter, WriterOptions};

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// One record as given to the writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub kind: u16,
    pub ts_ns: u64,
    pub payload: Vec<u8>,
}

/// `count` records with kinds in 1..=9 and payload sizes below `size_max`.
pub fn inputs(seed: u64, count: usize, size_max: u64) -> Vec<Input> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| {
            let len = rng.below(size_max) as usize;
            Input {
                kind: 1 + rng.below(9) as u16,
                ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1_000,
                payload: rng.bytes(len),
            }
        })
        .collect()
}

pub fn options(segment_bytes: u64) -> WriterOptions {
    WriterOptions {
        segment_bytes,
        ..WriterOptions::default()
    }
}

/// Writes `inputs` into a new or existing journal, checking the returned sequence numbers.
pub fn write(dir: &Path, segment_bytes: u64, inputs: &[Input]) {
    let (mut writer, _) = JournalWriter::open(dir, options(segment_bytes)).expect("open writer");
    for input in inputs {
        let expected = writer.next_seq();
        let seq = writer
            .append(input.kind, input.ts_ns, &input.payload)
            .expect("append");
        assert_eq!(seq, expected);
    }
    writer.flush().expect("flush");
}

/// Every record of the journal, failing the test on any error.
pub fn read_all(dir: &Path) -> Vec<(u64, Input)> {
    let reader = JournalReader::open(dir).expect("open reader");
    let records = reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (
                r.seq,
                Input {
                    kind: r.kind,
                    ts_ns: r.ts_ns,
                    payload: r.payload.to_vec(),
                },
            )
        })
        .collect();
    assert_eq!(reader.torn_tail(), None, "unexpected torn tail");
    records
}

/// Where a record lies: segment, offset of its header, bytes it occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub segment: u32,
    pub offset: u64,
    pub bytes: u64,
}

/// Places of all records, in order.
pub fn layout(dir: &Path) -> Vec<Place> {
    let reader = JournalReader::open(dir).expect("open reader");
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            let bytes = traider_journal::record_bytes(r.payload.len()) as u64;
            Place {
                segment: r.segment,
                offset: r.offset,
                bytes,
            }
        })
        .collect()
}

pub fn segment_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(traider_journal::segment_file_name(index))
}

/// Copies every regular file of `from` into `to` (created).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Applies `edit` to the bytes of segment `index`.
pub fn edit_segment(dir: &Path, index: u32, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = segment_path(dir, index);
    let mut bytes = fs::read(&path).expect("read segment");
    edit(&mut bytes);
    fs::write(&path, bytes).expect("write segment");
}

/// Sorted (name, contents) of every file in `dir`.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

/// The appends behind the frozen fixtures in `tests/data/v*/` (segment size 512): an empty
/// payload, padding, a payload of exactly 8 bytes, the largest kind and timestamp, a roll.
pub fn golden_inputs() -> Vec<Input> {
    let mut inputs = vec![
        Input {
            kind: 1,
            ts_ns: 1_000,
            payload: b"hello".to_vec(),
        },
        Input {
            kind: 2,
            ts_ns: 2_000,
            payload: Vec::new(),
        },
        Input {
            kind: 0xBEEF,
            ts_ns: u64::MAX,
            payload: b"8 bytes!".to_vec(),
        },
    ];
    for i in 0..12u64 {
        let payload = format!("{{\"type\":\"l2update\",\"n\":{i}}}").into_bytes();
        inputs.push(Input {
            kind: 3,
            ts_ns: 10_000 + i,
            payload,
        });
    }
    inputs
}

/// Segment size of the frozen fixtures.
pub const GOLDEN_SEGMENT_BYTES: u64 = 512;
