// Proves: no segment file, however corrupt, makes the journal's reader, tailer, verify,
// stats or the writer's recovery panic (every fault is a `JournalError` value); reader and
// verify agree on the records of a file both accept; and a journal the writer recovered
// takes an append and then verifies with exactly one more record.
#![no_main]

use std::cell::RefCell;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tempfile::TempDir;
use traider_fuzz_kit::layout::journal_segment::{FIX_HEADER, FIX_RECORDS, WRITER, split};
use traider_journal::checksum::record_checksum;
use traider_journal::format::{
    CHAIN_SEED, CHECKSUMMED_HEADER_BYTES, FILE_HEADER_SIZE, FILE_OFFSET_CHAIN_START,
    FILE_OFFSET_FIRST_SEQ, FILE_OFFSET_HEADER_CHECKSUM, FILE_OFFSET_HEADER_LEN, FILE_OFFSET_MAGIC,
    FILE_OFFSET_SEGMENT_BYTES, FILE_OFFSET_SEGMENT_INDEX, FILE_OFFSET_VERSION, FORMAT_VERSION,
    MAGIC, OFFSET_CHECKSUM, OFFSET_KIND, OFFSET_PAYLOAD_LEN, RECORD_HEADER_SIZE, record_bytes,
};
use traider_journal::{
    JournalReader, JournalTailer, JournalWriter, WriterOptions, segment_file_name, stats, verify,
};

/// Polls of the tailer per input (it stops at the end of data or the first error anyway).
const TAIL_POLLS_MAX: usize = 100_000;

/// A directory on tmpfs when the machine has one: the writer's syncs then cost nothing,
/// and the target runs ~10x more inputs per second than on a disk.
fn temp_dir() -> TempDir {
    let shm = Path::new("/dev/shm");
    let made = if shm.is_dir() {
        TempDir::new_in(shm)
    } else {
        TempDir::new()
    };
    made.or_else(|_| TempDir::new()).expect("a temp dir")
}

thread_local! {
    static DIR: RefCell<TempDir> = RefCell::new(temp_dir());
}

fn put(file: &mut [u8], offset: usize, bytes: &[u8]) {
    file[offset..offset + bytes.len()].copy_from_slice(bytes);
}

fn get_u32(file: &[u8], offset: usize) -> usize {
    let mut raw = [0_u8; 4];
    raw.copy_from_slice(&file[offset..offset + 4]);
    u32::from_le_bytes(raw) as usize
}

/// A valid header for the fuzzer's first-seq (chain start from the seed for a first segment).
fn fix_header(file: &mut Vec<u8>) {
    if file.len() < FILE_HEADER_SIZE {
        file.resize(FILE_HEADER_SIZE, 0);
    }
    let len = file.len() as u64;
    put(file, FILE_OFFSET_MAGIC, &MAGIC);
    put(file, FILE_OFFSET_VERSION, &FORMAT_VERSION.to_le_bytes());
    put(
        file,
        FILE_OFFSET_HEADER_LEN,
        &(FILE_HEADER_SIZE as u16).to_le_bytes(),
    );
    put(file, FILE_OFFSET_SEGMENT_INDEX, &0_u32.to_le_bytes());
    put(file, FILE_OFFSET_SEGMENT_BYTES, &len.to_le_bytes());
    if file[FILE_OFFSET_FIRST_SEQ..FILE_OFFSET_FIRST_SEQ + 8] == 1_u64.to_le_bytes() {
        put(file, FILE_OFFSET_CHAIN_START, &CHAIN_SEED.to_le_bytes());
    }
    let checksum = xxhash_rust::xxh3::xxh3_64(&file[..FILE_OFFSET_HEADER_CHECKSUM]);
    put(file, FILE_OFFSET_HEADER_CHECKSUM, &checksum.to_le_bytes());
}

/// Rewrites each record's chained checksum, walking records as the reader lays them out.
fn fix_records(file: &mut [u8]) {
    if file.len() < FILE_HEADER_SIZE {
        return;
    }
    let mut raw = [0_u8; 8];
    raw.copy_from_slice(&file[FILE_OFFSET_CHAIN_START..FILE_OFFSET_CHAIN_START + 8]);
    let mut chain = u64::from_le_bytes(raw);
    let mut offset = FILE_HEADER_SIZE;
    while offset + RECORD_HEADER_SIZE <= file.len() {
        let payload_len = get_u32(file, offset + OFFSET_PAYLOAD_LEN);
        let kind = u16::from_le_bytes([file[offset + OFFSET_KIND], file[offset + OFFSET_KIND + 1]]);
        let end = offset.saturating_add(record_bytes(payload_len));
        if kind == 0 || end > file.len() {
            return;
        }
        let mut head = [0_u8; CHECKSUMMED_HEADER_BYTES];
        head.copy_from_slice(&file[offset..offset + CHECKSUMMED_HEADER_BYTES]);
        let start = offset + RECORD_HEADER_SIZE;
        chain = record_checksum(&head, &file[start..start + payload_len], chain);
        put(file, offset + OFFSET_CHECKSUM, &chain.to_le_bytes());
        offset = end;
    }
}

fn clear(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
        }
    }
}

fn read_everything(dir: &Path) {
    let mut read = None;
    if let Ok(reader) = JournalReader::open(dir) {
        let mut count = 0_u64;
        let mut clean = true;
        for record in reader.records() {
            match record {
                Ok(_) => count += 1,
                Err(_) => {
                    clean = false;
                    break;
                }
            }
        }
        let _ = reader.torn_tail();
        let _ = reader.last_seq();
        read = clean.then_some(count);
    }
    let verified = verify(dir);
    if let (Some(count), Ok(report)) = (read, &verified) {
        assert_eq!(count, report.records, "reader and verify disagree");
    }
    let _ = stats(dir);
    if let Ok(mut tailer) = JournalTailer::open(dir) {
        for _ in 0..TAIL_POLLS_MAX {
            match tailer.poll() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}

fn recover_and_append(dir: &Path) {
    let options = WriterOptions {
        segment_bytes: 4096,
        ..Default::default()
    };
    let Ok((mut writer, recovery)) = JournalWriter::open(dir, options) else {
        return;
    };
    let appended = writer.append(7, 1, b"after recovery");
    let flushed = writer.flush();
    drop(writer);
    if appended.is_ok() && flushed.is_ok() {
        let report = verify(dir).expect("a recovered journal plus one append verifies");
        assert_eq!(
            report.records,
            recovery.records_found + 1,
            "one more record"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, file)) = split(data) else {
        return;
    };
    let mut file = file.to_vec();
    if mode & FIX_HEADER != 0 {
        fix_header(&mut file);
    }
    if mode & FIX_RECORDS != 0 {
        fix_records(&mut file);
    }
    DIR.with_borrow(|temp| {
        let dir = temp.path();
        clear(dir);
        if std::fs::write(dir.join(segment_file_name(0)), &file).is_err() {
            return;
        }
        read_everything(dir);
        if mode & WRITER != 0 {
            recover_and_append(dir);
        }
    });
});
