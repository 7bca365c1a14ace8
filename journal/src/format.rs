//! The on-disk format, byte by byte: every offset is a named constant, and the relations
//! between them are pinned at compile time. `journal/FORMAT.md` is the prose version.
//!
//! All integers are little-endian. A segment file is a [`FILE_HEADER_SIZE`]-byte header
//! followed by records, each a [`RECORD_HEADER_SIZE`]-byte header, the payload, and zero
//! padding up to the next multiple of [`RECORD_ALIGN_BYTES`]. Checksums are in
//! [`checksum`](crate::checksum).

/// The first eight bytes of every segment file.
pub const MAGIC: [u8; 8] = *b"TRAIDJNL";
/// The format version this build writes and reads. Version 1 (CRC32C, no chain) is refused.
pub const FORMAT_VERSION: u16 = 2;
/// Records start, and segment sizes are, multiples of this many bytes.
pub const RECORD_ALIGN_BYTES: usize = 8;

/// Size of the file header at the start of every segment.
pub const FILE_HEADER_SIZE: usize = 64;
/// `[u8; 8]`: [`MAGIC`].
pub const FILE_OFFSET_MAGIC: usize = 0;
/// `u16`: [`FORMAT_VERSION`].
pub const FILE_OFFSET_VERSION: usize = 8;
/// `u16`: [`FILE_HEADER_SIZE`]; records start at this offset.
pub const FILE_OFFSET_HEADER_LEN: usize = 10;
/// `u32`: the segment's index, equal to the number in its file name.
pub const FILE_OFFSET_SEGMENT_INDEX: usize = 12;
/// `u64`: sequence number of the segment's first record (even if none is written yet).
pub const FILE_OFFSET_FIRST_SEQ: usize = 16;
/// `u64`: the file's size in bytes, fixed when the segment is created.
pub const FILE_OFFSET_SEGMENT_BYTES: usize = 24;
/// `u64`: the chain value the segment's first record continues from: the checksum of the
/// last record of the previous segment, or [`CHAIN_SEED`] for the journal's first segment.
pub const FILE_OFFSET_CHAIN_START: usize = 32;
/// `u32`: segment flags. Version 2 writes 0 and ignores them.
pub const FILE_OFFSET_FLAGS: usize = 40;
/// `[u8; 12]`: spare. Version 2 writes zeros and ignores them (they are checksummed).
pub const FILE_OFFSET_RESERVED: usize = 44;
/// `u64`: xxh3-64 (seed 0) of header bytes `0..FILE_OFFSET_HEADER_CHECKSUM`.
pub const FILE_OFFSET_HEADER_CHECKSUM: usize = 56;

/// Size of the header in front of every record's payload.
pub const RECORD_HEADER_SIZE: usize = 32;
/// `u32`: payload length in bytes (padding not included).
pub const OFFSET_PAYLOAD_LEN: usize = 0;
/// `u16`: record kind, chosen by the caller; 0 is reserved.
pub const OFFSET_KIND: usize = 4;
/// `u16`: record flags. Version 2 writes 0 and passes them through to readers.
pub const OFFSET_FLAGS: usize = 6;
/// `u64`: sequence number, assigned by the writer; +1 per record across segments.
pub const OFFSET_SEQ: usize = 8;
/// `u64`: timestamp in nanoseconds, given by the caller.
pub const OFFSET_TS_NS: usize = 16;
/// `u64`: the record's chained checksum (see [`crate::checksum::record_checksum`]).
pub const OFFSET_CHECKSUM: usize = 24;
/// Header bytes `0..CHECKSUMMED_HEADER_BYTES` (everything but the checksum) are hashed.
pub const CHECKSUMMED_HEADER_BYTES: usize = OFFSET_CHECKSUM;
/// The writer stores header bytes `0..COMMIT_WORD_SIZE` (length, kind, flags) last, as
/// one aligned 8-byte store: until then the header reads as kind 0, i.e. not a record.
pub const COMMIT_WORD_SIZE: usize = 8;

/// The chain value the first record of a journal continues from (the seed of its checksum):
/// the little-endian `u64` of the ASCII bytes `TRJCHAIN`.
pub const CHAIN_SEED: u64 = u64::from_le_bytes(*b"TRJCHAIN");
/// Kind 0 never names a record: a zero header marks the end of written data.
pub const KIND_RESERVED: u16 = 0;
/// Sequence number of the first record of a new journal.
pub const FIRST_SEQ: u64 = 1;
/// Largest sequence number a record may carry, so the number after it always fits: the
/// writer stops there ([`crate::JournalError::SequenceExhausted`]) and readers refuse a
/// record past it as corrupt.
pub const SEQ_MAX: u64 = u64::MAX - 1;
/// Largest payload the format accepts (1 GiB); far above the 16 MiB frames we expect.
pub const PAYLOAD_BYTES_MAX: usize = 1 << 30;
/// Default size of a new segment file (256 MiB).
pub const SEGMENT_BYTES_DEFAULT: u64 = 256 << 20;
/// Smallest segment size the writer accepts.
pub const SEGMENT_BYTES_MIN: u64 = 256;
/// Largest segment size the writer accepts (1 TiB).
pub const SEGMENT_BYTES_MAX: u64 = 1 << 40;

/// Segment file names are `seg-` + the index in at least six decimal digits + `.tj`.
pub const SEGMENT_FILE_PREFIX: &str = "seg-";
/// See [`SEGMENT_FILE_PREFIX`].
pub const SEGMENT_FILE_SUFFIX: &str = ".tj";
/// The writer creates `seg-NNNNNN.tj.tmp`, writes its header, then renames it into place.
pub const TEMP_FILE_SUFFIX: &str = ".tmp";
/// The file a writer locks exclusively for as long as it is open.
pub const LOCK_FILE_NAME: &str = "LOCK";

// The file header: fields follow each other without gaps, the checksum is last.
const _: () = assert!(FILE_OFFSET_VERSION == FILE_OFFSET_MAGIC + MAGIC.len());
const _: () = assert!(FILE_OFFSET_HEADER_LEN == FILE_OFFSET_VERSION + 2);
const _: () = assert!(FILE_OFFSET_SEGMENT_INDEX == FILE_OFFSET_HEADER_LEN + 2);
const _: () = assert!(FILE_OFFSET_FIRST_SEQ == FILE_OFFSET_SEGMENT_INDEX + 4);
const _: () = assert!(FILE_OFFSET_SEGMENT_BYTES == FILE_OFFSET_FIRST_SEQ + 8);
const _: () = assert!(FILE_OFFSET_CHAIN_START == FILE_OFFSET_SEGMENT_BYTES + 8);
const _: () = assert!(FILE_OFFSET_FLAGS == FILE_OFFSET_CHAIN_START + 8);
const _: () = assert!(FILE_OFFSET_RESERVED == FILE_OFFSET_FLAGS + 4);
const _: () = assert!(FILE_OFFSET_HEADER_CHECKSUM == FILE_OFFSET_RESERVED + 12);
const _: () = assert!(FILE_HEADER_SIZE == FILE_OFFSET_HEADER_CHECKSUM + 8);
const _: () = assert!(FILE_HEADER_SIZE <= u16::MAX as usize);
const _: () = assert!(FILE_HEADER_SIZE.is_multiple_of(RECORD_ALIGN_BYTES));
// The version field sits where version 1 had it, so a version-1 file is told apart (and
// refused) before anything else of its header is interpreted.
const _: () = assert!(FILE_OFFSET_VERSION == 8);
// The record header: fields follow each other; the commit word is the first 8 bytes and
// holds length and kind, so a header whose commit word is unwritten has kind 0.
const _: () = assert!(OFFSET_PAYLOAD_LEN == 0);
const _: () = assert!(OFFSET_KIND == OFFSET_PAYLOAD_LEN + 4);
const _: () = assert!(OFFSET_FLAGS == OFFSET_KIND + 2);
const _: () = assert!(COMMIT_WORD_SIZE == OFFSET_FLAGS + 2 && COMMIT_WORD_SIZE == 8);
const _: () = assert!(OFFSET_SEQ == COMMIT_WORD_SIZE);
const _: () = assert!(OFFSET_TS_NS == OFFSET_SEQ + 8);
const _: () = assert!(OFFSET_CHECKSUM == OFFSET_TS_NS + 8);
const _: () = assert!(RECORD_HEADER_SIZE == OFFSET_CHECKSUM + 8);
const _: () = assert!(RECORD_HEADER_SIZE.is_multiple_of(RECORD_ALIGN_BYTES));
// Alignment makes every commit word an aligned 8-byte location in a page-aligned map.
const _: () = assert!(RECORD_ALIGN_BYTES == COMMIT_WORD_SIZE);
// Sizes: a minimal segment holds a header and an empty record; the largest record fits
// in the largest segment; the length field can hold the largest payload.
const _: () = assert!(SEGMENT_BYTES_MIN >= (FILE_HEADER_SIZE + RECORD_HEADER_SIZE) as u64);
const _: () = assert!(SEGMENT_BYTES_MIN.is_multiple_of(RECORD_ALIGN_BYTES as u64));
const _: () = assert!(SEGMENT_BYTES_DEFAULT.is_multiple_of(RECORD_ALIGN_BYTES as u64));
const _: () = assert!(SEGMENT_BYTES_MIN <= SEGMENT_BYTES_DEFAULT);
const _: () = assert!(SEGMENT_BYTES_DEFAULT <= SEGMENT_BYTES_MAX);
const _: () = assert!(PAYLOAD_BYTES_MAX <= u32::MAX as usize);
const _: () =
    assert!((FILE_HEADER_SIZE + record_bytes(PAYLOAD_BYTES_MAX)) as u64 <= SEGMENT_BYTES_MAX);
// Writer and syncer pack (segment index, offset) into one u64 with 40 bits of offset.
const _: () = assert!(SEGMENT_BYTES_MAX <= 1 << 40);
// File offsets are u64 on disk and usize in memory: only 64-bit targets are supported.
const _: () = assert!(usize::BITS >= 64);

/// Bytes a record with `payload_len` bytes of payload occupies: header, payload, padding.
pub const fn record_bytes(payload_len: usize) -> usize {
    let unaligned = RECORD_HEADER_SIZE + payload_len;
    unaligned.div_ceil(RECORD_ALIGN_BYTES) * RECORD_ALIGN_BYTES
}

/// The file name of segment `index`, e.g. `seg-000042.tj`.
pub fn segment_file_name(index: u32) -> String {
    format!("{SEGMENT_FILE_PREFIX}{index:06}{SEGMENT_FILE_SUFFIX}")
}

/// The segment index named by `name`, if it is the canonical name of a segment file.
pub fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name
        .strip_prefix(SEGMENT_FILE_PREFIX)?
        .strip_suffix(SEGMENT_FILE_SUFFIX)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index: u32 = digits.parse().ok()?;
    // Exactly one spelling per index: `seg-1.tj` or `seg-0000001.tj` are not segments.
    (segment_file_name(index) == name).then_some(index)
}

/// Header bytes `0..OFFSET_CHECKSUM` of a record with flags 0: what the checksum covers
/// besides the payload. (The writer stores the same fields as whole words.)
#[cfg(test)]
pub(crate) fn encode_record_head(
    kind: u16,
    seq: u64,
    ts_ns: u64,
    payload_len: usize,
) -> [u8; CHECKSUMMED_HEADER_BYTES] {
    let mut head = [0u8; CHECKSUMMED_HEADER_BYTES];
    put_u32(&mut head, OFFSET_PAYLOAD_LEN, payload_len as u32);
    put_u16(&mut head, OFFSET_KIND, kind);
    put_u64(&mut head, OFFSET_SEQ, seq);
    put_u64(&mut head, OFFSET_TS_NS, ts_ns);
    head
}

pub(crate) fn put_u16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// Reads a little-endian u16 at `offset`; the caller has checked the bounds.
pub(crate) fn get_u16(bytes: &[u8], offset: usize) -> u16 {
    let mut raw = [0u8; 2];
    raw.copy_from_slice(&bytes[offset..offset + 2]);
    u16::from_le_bytes(raw)
}

/// Reads a little-endian u32 at `offset`; the caller has checked the bounds.
pub(crate) fn get_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(raw)
}

/// Reads a little-endian u64 at `offset`; the caller has checked the bounds.
pub(crate) fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the record size rounding: header + payload, up to a multiple of eight.
    #[test]
    fn record_bytes_rounds_up_to_alignment() {
        assert_eq!(record_bytes(0), 32);
        assert_eq!(record_bytes(1), 40);
        assert_eq!(record_bytes(8), 40);
        assert_eq!(record_bytes(9), 48);
    }

    // Proves that only canonical segment names parse, so no two files claim one index.
    #[test]
    fn segment_names() {
        assert_eq!(segment_file_name(0), "seg-000000.tj");
        assert_eq!(segment_file_name(1_234_567), "seg-1234567.tj");
        assert_eq!(parse_segment_file_name("seg-000012.tj"), Some(12));
        assert_eq!(parse_segment_file_name("seg-1234567.tj"), Some(1_234_567));
        for bad in [
            "seg-12.tj",
            "seg-0000012.tj",
            "seg-00001a.tj",
            "seg-000012.tj.tmp",
            "LOCK",
        ] {
            assert_eq!(parse_segment_file_name(bad), None, "{bad}");
        }
    }

    // Proves the record head lays out length, kind, flags, seq and ts where the table says.
    #[test]
    fn record_head_layout() {
        let head = encode_record_head(0xBEEF, 7, 9, 5);
        assert_eq!(&head[0..4], &5u32.to_le_bytes());
        assert_eq!(&head[4..6], &0xBEEFu16.to_le_bytes());
        assert_eq!(&head[6..8], &[0, 0]);
        assert_eq!(&head[8..16], &7u64.to_le_bytes());
        assert_eq!(&head[16..24], &9u64.to_le_bytes());
        assert_eq!(CHAIN_SEED.to_le_bytes(), *b"TRJCHAIN");
    }
}
