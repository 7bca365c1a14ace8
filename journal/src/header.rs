//! The file header at the start of every segment: encoding, and the checks a header must
//! pass before any record of the segment is trusted.

use std::path::Path;

use crate::checksum::header_checksum;
use crate::error::{CorruptReason, JournalError};
use crate::format::{
    FILE_HEADER_SIZE, FILE_OFFSET_CHAIN_START, FILE_OFFSET_FIRST_SEQ, FILE_OFFSET_HEADER_CHECKSUM,
    FILE_OFFSET_HEADER_LEN, FILE_OFFSET_MAGIC, FILE_OFFSET_SEGMENT_BYTES,
    FILE_OFFSET_SEGMENT_INDEX, FILE_OFFSET_VERSION, FIRST_SEQ, FORMAT_VERSION, MAGIC, get_u16,
    get_u32, get_u64, put_u16, put_u32, put_u64,
};

/// The decoded file header of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub segment_index: u32,
    pub first_seq: u64,
    pub segment_bytes: u64,
    /// The chain value the segment's first record continues from.
    pub chain_start: u64,
}

impl FileHeader {
    pub fn encode(&self) -> [u8; FILE_HEADER_SIZE] {
        let mut bytes = [0u8; FILE_HEADER_SIZE];
        bytes[FILE_OFFSET_MAGIC..FILE_OFFSET_VERSION].copy_from_slice(&MAGIC);
        put_u16(&mut bytes, FILE_OFFSET_VERSION, FORMAT_VERSION);
        put_u16(&mut bytes, FILE_OFFSET_HEADER_LEN, FILE_HEADER_SIZE as u16);
        put_u32(&mut bytes, FILE_OFFSET_SEGMENT_INDEX, self.segment_index);
        put_u64(&mut bytes, FILE_OFFSET_FIRST_SEQ, self.first_seq);
        put_u64(&mut bytes, FILE_OFFSET_SEGMENT_BYTES, self.segment_bytes);
        put_u64(&mut bytes, FILE_OFFSET_CHAIN_START, self.chain_start);
        let checksum = header_checksum(&bytes);
        put_u64(&mut bytes, FILE_OFFSET_HEADER_CHECKSUM, checksum);
        bytes
    }

    /// Decodes and checks the header of `file` (the whole mapped segment file), which the
    /// directory listing calls segment `index`. Checks run in the order that gives the
    /// clearest message: magic, version, length, checksum, then field values.
    pub fn decode(file: &[u8], path: &Path, index: u32) -> Result<Self, JournalError> {
        let prefix = &file[..file.len().min(FILE_HEADER_SIZE)];
        Self::decode_prefix(prefix, len_u64(file), path, index)
    }

    /// [`Self::decode`] from the file's first bytes (`file`: at most the header) and its
    /// length, for a reader that must not touch the rest of the file.
    pub fn decode_prefix(
        file: &[u8],
        file_bytes: u64,
        path: &Path,
        index: u32,
    ) -> Result<Self, JournalError> {
        let corrupt = |reason| JournalError::corrupt(index, 0, reason);
        let too_short = || corrupt(CorruptReason::FileTooShort { file_bytes });
        if file.len() < MAGIC.len() {
            return Err(too_short());
        }
        if file[FILE_OFFSET_MAGIC..FILE_OFFSET_VERSION] != MAGIC {
            return Err(JournalError::BadMagic {
                path: path.to_path_buf(),
            });
        }
        if file.len() < FILE_OFFSET_HEADER_LEN {
            return Err(too_short());
        }
        let version = get_u16(file, FILE_OFFSET_VERSION);
        if version != FORMAT_VERSION {
            return Err(JournalError::Version {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if file.len() < FILE_HEADER_SIZE {
            return Err(too_short());
        }
        let header_len = get_u16(file, FILE_OFFSET_HEADER_LEN);
        if header_len as usize != FILE_HEADER_SIZE {
            return Err(corrupt(CorruptReason::HeaderLength { found: header_len }));
        }
        let stored = get_u64(file, FILE_OFFSET_HEADER_CHECKSUM);
        let computed = header_checksum(file);
        if stored != computed {
            return Err(corrupt(CorruptReason::HeaderChecksum { stored, computed }));
        }
        let header = Self {
            segment_index: get_u32(file, FILE_OFFSET_SEGMENT_INDEX),
            first_seq: get_u64(file, FILE_OFFSET_FIRST_SEQ),
            segment_bytes: get_u64(file, FILE_OFFSET_SEGMENT_BYTES),
            chain_start: get_u64(file, FILE_OFFSET_CHAIN_START),
        };
        if header.segment_index != index {
            let reason = CorruptReason::SegmentIndex {
                expected: index,
                found: header.segment_index,
            };
            return Err(corrupt(reason));
        }
        if header.segment_bytes != file_bytes {
            let reason = CorruptReason::FileSize {
                header_bytes: header.segment_bytes,
                file_bytes,
            };
            return Err(corrupt(reason));
        }
        if header.first_seq < FIRST_SEQ {
            let reason = CorruptReason::SequenceGap {
                expected: FIRST_SEQ,
                found: header.first_seq,
            };
            return Err(corrupt(reason));
        }
        Ok(header)
    }
}

fn len_u64(bytes: &[u8]) -> u64 {
    bytes.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FILE_OFFSET_RESERVED;

    fn segment_with(header: FileHeader) -> Vec<u8> {
        let mut file = vec![0u8; header.segment_bytes as usize];
        file[..FILE_HEADER_SIZE].copy_from_slice(&header.encode());
        file
    }

    const HEADER: FileHeader = FileHeader {
        segment_index: 7,
        first_seq: 42,
        segment_bytes: 512,
        chain_start: 0x0123_4567_89AB_CDEF,
    };

    // Proves that a header encodes to the documented bytes and decodes back to itself.
    #[test]
    fn file_header_roundtrip_and_layout() {
        let file = segment_with(HEADER);
        assert_eq!(&file[..8], b"TRAIDJNL");
        assert_eq!(&file[8..10], &[2, 0], "version 2, little-endian");
        assert_eq!(&file[10..12], &[64, 0]);
        assert_eq!(&file[12..16], &[7, 0, 0, 0]);
        assert_eq!(&file[16..24], &42u64.to_le_bytes());
        assert_eq!(&file[24..32], &512u64.to_le_bytes());
        assert_eq!(&file[32..40], &0x0123_4567_89AB_CDEFu64.to_le_bytes());
        assert!(
            file[40..56].iter().all(|&b| b == 0),
            "flags and spare bytes are zero"
        );
        let checksum = xxhash_rust::xxh3::xxh3_64(&file[..56]);
        assert_eq!(&file[56..64], &checksum.to_le_bytes());
        let decoded = FileHeader::decode(&file, Path::new("x"), 7).expect("valid header");
        assert_eq!(decoded, HEADER);
    }

    // Proves that each header check fires with its own error.
    #[test]
    fn file_header_checks() {
        let path = Path::new("seg-000007.tj");
        let mut file = segment_with(HEADER);
        file[0] = b'X';
        assert!(matches!(
            FileHeader::decode(&file, path, 7),
            Err(JournalError::BadMagic { .. })
        ));
        let mut file = segment_with(HEADER);
        file[FILE_OFFSET_VERSION] = 1;
        let err = FileHeader::decode(&file, path, 7).expect_err("version 1");
        assert!(
            matches!(
                err,
                JournalError::Version {
                    found: 1,
                    supported: 2,
                    ..
                }
            ),
            "{err}"
        );
        let mut file = segment_with(HEADER);
        file[FILE_OFFSET_RESERVED] = 1;
        let err = FileHeader::decode(&file, path, 7).expect_err("bad checksum");
        let is_crc = |r| matches!(r, CorruptReason::HeaderChecksum { .. });
        assert!(
            matches!(err, JournalError::Corrupt { segment: 7, offset: 0, reason, .. } if is_crc(reason))
        );
        let file = segment_with(HEADER);
        let err = FileHeader::decode(&file, path, 8).expect_err("index mismatch");
        let reason = CorruptReason::SegmentIndex {
            expected: 8,
            found: 7,
        };
        assert!(
            matches!(err, JournalError::Corrupt { reason: r, .. } if r == reason),
            "{err}"
        );
        let err = FileHeader::decode(&file[..500], path, 7).expect_err("size mismatch");
        assert!(matches!(
            err,
            JournalError::Corrupt {
                reason: CorruptReason::FileSize { .. },
                ..
            }
        ));
        let err = FileHeader::decode(&file[..40], path, 7).expect_err("short");
        assert!(matches!(
            err,
            JournalError::Corrupt {
                reason: CorruptReason::FileTooShort { .. },
                ..
            }
        ));
        let err = FileHeader::decode(&[], path, 7).expect_err("empty");
        assert!(matches!(
            err,
            JournalError::Corrupt {
                reason: CorruptReason::FileTooShort { .. },
                ..
            }
        ));
    }
}
