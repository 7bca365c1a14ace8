//! The file header at the start of every segment: encoding, and the checks a header must
//! pass before any record of the segment is trusted.

use std::path::Path;

use crate::error::{CorruptReason, JournalError};
use crate::format::{
    FILE_HEADER_SIZE, FILE_OFFSET_FIRST_SEQ, FILE_OFFSET_HEADER_CRC, FILE_OFFSET_HEADER_LEN,
    FILE_OFFSET_MAGIC, FILE_OFFSET_SEGMENT_BYTES, FILE_OFFSET_SEGMENT_INDEX, FILE_OFFSET_VERSION,
    FIRST_SEQ, FORMAT_VERSION, MAGIC, get_u16, get_u32, get_u64, put_u16, put_u32, put_u64,
};

/// The decoded file header of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub segment_index: u32,
    pub first_seq: u64,
    pub segment_bytes: u64,
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
        let crc = crc32c::crc32c(&bytes[..FILE_OFFSET_HEADER_CRC]);
        put_u32(&mut bytes, FILE_OFFSET_HEADER_CRC, crc);
        bytes
    }

    /// Decodes and checks the header of `file` (the whole mapped segment file), which the
    /// directory listing calls segment `index`. Checks run in the order that gives the
    /// clearest message: magic, version, length, checksum, then field values.
    pub fn decode(file: &[u8], path: &Path, index: u32) -> Result<Self, JournalError> {
        let corrupt = |reason| JournalError::corrupt(index, 0, reason);
        let too_short = || {
            corrupt(CorruptReason::FileTooShort {
                file_bytes: len_u64(file),
            })
        };
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
        let stored = get_u32(file, FILE_OFFSET_HEADER_CRC);
        let computed = crc32c::crc32c(&file[..FILE_OFFSET_HEADER_CRC]);
        if stored != computed {
            return Err(corrupt(CorruptReason::HeaderChecksum { stored, computed }));
        }
        let header = Self {
            segment_index: get_u32(file, FILE_OFFSET_SEGMENT_INDEX),
            first_seq: get_u64(file, FILE_OFFSET_FIRST_SEQ),
            segment_bytes: get_u64(file, FILE_OFFSET_SEGMENT_BYTES),
        };
        if header.segment_index != index {
            let reason = CorruptReason::SegmentIndex {
                expected: index,
                found: header.segment_index,
            };
            return Err(corrupt(reason));
        }
        if header.segment_bytes != len_u64(file) {
            let reason = CorruptReason::FileSize {
                header_bytes: header.segment_bytes,
                file_bytes: len_u64(file),
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
    };

    // Proves that a header encodes to the documented bytes and decodes back to itself.
    #[test]
    fn file_header_roundtrip_and_layout() {
        let file = segment_with(HEADER);
        assert_eq!(&file[..8], b"TRAIDJNL");
        assert_eq!(&file[8..10], &[1, 0], "version 1, little-endian");
        assert_eq!(&file[10..12], &[64, 0]);
        assert_eq!(&file[12..16], &[7, 0, 0, 0]);
        assert_eq!(&file[16..24], &42u64.to_le_bytes());
        assert_eq!(&file[24..32], &512u64.to_le_bytes());
        assert!(
            file[32..60].iter().all(|&b| b == 0),
            "flags and spare bytes are zero"
        );
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
        file[FILE_OFFSET_VERSION] = 2;
        let err = FileHeader::decode(&file, path, 7).expect_err("version 2");
        assert!(
            matches!(
                err,
                JournalError::Version {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{err}"
        );
        let mut file = segment_with(HEADER);
        file[FILE_OFFSET_RESERVED] = 1;
        let err = FileHeader::decode(&file, path, 7).expect_err("bad crc");
        let is_crc = |r| matches!(r, CorruptReason::HeaderChecksum { .. });
        assert!(
            matches!(err, JournalError::Corrupt { segment: 7, offset: 0, reason } if is_crc(reason))
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
