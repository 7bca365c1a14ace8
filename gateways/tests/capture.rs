//! Tests of the cryptofeed capture reader against the real recorded session and small
//! hand-made files.

use std::io::Write;

use traider_gateways::capture::{CaptureError, CaptureReader, CaptureRecord, load_frames};
use traider_testkit::data::capture as real_capture;

fn temp_capture(lines: &[&str]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for line in lines {
        writeln!(file, "{line}").expect("write");
    }
    file.flush().expect("flush");
    file
}

const HEADER: &str =
    r#"{"t":"header","format":2,"exchange":"COINBASE","config":{},"recorded":1.5}"#;

#[test]
fn real_capture_record_counts_timestamps_and_largest_frame_match_sources_md() {
    // Proves the zstd capture decodes into exactly the records SOURCES.md lists, with exact ns.
    let path = real_capture();
    let reader = CaptureReader::open(&path).expect("open");
    assert_eq!(reader.header().exchange, "COINBASE");
    assert_eq!(
        reader.header().recorded_ts_ns,
        Some(1_786_309_548_026_294_000)
    );
    let records: Vec<CaptureRecord> = reader.map(|r| r.expect("record")).collect();
    let count = |f: fn(&CaptureRecord) -> bool| records.iter().filter(|r| f(r)).count();
    assert_eq!(count(|r| matches!(r, CaptureRecord::Http { .. })), 1);
    assert_eq!(count(|r| matches!(r, CaptureRecord::Connect { .. })), 1);
    assert_eq!(count(|r| matches!(r, CaptureRecord::Send { .. })), 5);
    assert_eq!(count(|r| matches!(r, CaptureRecord::Recv { .. })), 1030);
    assert_eq!(
        records.first().map(CaptureRecord::ts_ns),
        Some(1_786_309_548_026_294_000)
    );
    assert_eq!(
        records.last().map(CaptureRecord::ts_ns),
        Some(1_786_309_572_876_037_800)
    );
    match &records[1] {
        CaptureRecord::Connect { conn, ts_ns, addr } => {
            assert_eq!(conn, "COINBASE.ws.2");
            assert_eq!(*ts_ns, 1_786_309_548_031_329_000);
            assert_eq!(addr, "wss://advanced-trade-ws.coinbase.com");
        }
        other => panic!("second record is not the connect: {other:?}"),
    }
    let largest = records
        .iter()
        .filter_map(|r| match r {
            CaptureRecord::Recv { data, .. } => Some(data.len()),
            _ => None,
        })
        .max();
    assert_eq!(largest, Some(5_079_379));
}

#[test]
fn load_frames_returns_products_body_and_recv_frames_in_file_order() {
    // Proves the convenience loader keeps file order and the products response body.
    let path = real_capture();
    let capture = load_frames(&path).expect("load");
    let body = capture.products_body.expect("products body");
    // SOURCES.md's 1,297,114 is the length of the escaped line; the body itself is shorter.
    assert_eq!(body.len(), 1_134_240);
    assert!(body.contains(r#""num_products":920"#));
    assert!(body.starts_with(r#"{"products":[{"product_id":"BTC-USD""#));
    assert_eq!(capture.frames.len(), 1030);
    assert!(
        capture.frames.windows(2).all(|w| w[0].0 <= w[1].0),
        "ts must not go back"
    );
    assert_eq!(capture.frames[0].0, 1_786_309_548_629_007_800);
    assert!(capture.frames[0].1.contains(r#""sequence_num":0,"#));
    assert!(capture.frames[1029].1.contains(r#""sequence_num":1029,"#));
}

#[test]
fn plain_jsonl_is_accepted_and_fields_are_kept_verbatim() {
    // Proves the reader accepts uncompressed files and unescapes `data` exactly once.
    let file = temp_capture(&[
        HEADER,
        r#"{"t":"send","conn":"c","ts":7,"addr":"ws://x","data":"{\"a\":\"\\u00e9\"}"}"#,
        "",
        r#"{"t":"recv","conn":"c","ts":7.123456789999,"data":"x"}"#,
    ]);
    let records: Vec<_> = CaptureReader::open(file.path())
        .expect("open")
        .collect::<Result<_, _>>()
        .expect("records");
    assert_eq!(
        records,
        vec![
            CaptureRecord::Send {
                conn: "c".into(),
                ts_ns: 7_000_000_000,
                data: r#"{"a":"\u00e9"}"#.into()
            },
            CaptureRecord::Recv {
                conn: "c".into(),
                ts_ns: 7_123_456_789,
                data: "x".into()
            },
        ]
    );
}

fn only_error(lines: &[&str]) -> String {
    let file = temp_capture(lines);
    let errors: Vec<CaptureError> = CaptureReader::open(file.path())
        .expect("open")
        .filter_map(Result::err)
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error, got {errors:?}"
    );
    errors[0].to_string()
}

#[test]
fn malformed_lines_are_errors_naming_the_line() {
    // Proves truncated JSON, an unknown `t` and a bad `ts` each fail with the line number.
    let ok = r#"{"t":"recv","conn":"c","ts":1.5,"data":"x"}"#;
    let truncated = only_error(&[HEADER, ok, r#"{"t":"recv","conn":"c","ts":1.5,"da"#]);
    assert!(
        truncated.starts_with("capture line 3: invalid or truncated JSON"),
        "{truncated}"
    );
    let unknown = only_error(&[HEADER, r#"{"t":"bogus","conn":"c","ts":1}"#, ok]);
    assert!(
        unknown.contains("line 2") && unknown.contains("\"bogus\""),
        "{unknown}"
    );
    for bad_ts in ["-1", "1e9", "\"1.5\"", "18446744074.5", "true"] {
        let line = format!(r#"{{"t":"recv","conn":"c","ts":{bad_ts},"data":"x"}}"#);
        let message = only_error(&[HEADER, ok, ok, &line]);
        assert!(
            message.starts_with("capture line 4: bad ts"),
            "{bad_ts}: {message}"
        );
    }
    let null_ts = only_error(&[HEADER, r#"{"t":"recv","conn":"c","ts":null,"data":"x"}"#]);
    assert!(
        null_ts.contains("line 2") && null_ts.contains("\"ts\""),
        "{null_ts}"
    );
    let missing = only_error(&[HEADER, r#"{"t":"recv","conn":"c","ts":1}"#]);
    assert!(
        missing.contains("line 2") && missing.contains("\"data\""),
        "{missing}"
    );
}

#[test]
fn header_is_validated() {
    // Proves a file whose first line is not a format-2 header is refused, and so is an empty one.
    let record_first = temp_capture(&[r#"{"t":"recv","conn":"c","ts":1,"data":"x"}"#]);
    let error = CaptureReader::open(record_first.path()).expect_err("no header");
    assert!(error.to_string().contains("line 1"), "{error}");
    let format_one = temp_capture(&[r#"{"t":"header","format":1}"#]);
    assert!(CaptureReader::open(format_one.path()).is_err());
    let empty = temp_capture(&[]);
    assert!(matches!(
        CaptureReader::open(empty.path()),
        Err(CaptureError::Empty)
    ));
}

#[test]
fn damaged_zstd_stream_is_an_error_not_a_panic() {
    // Proves a truncated compressed capture ends iteration with a read error.
    let path = real_capture();
    let bytes = std::fs::read(&path).expect("read");
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(&bytes[..bytes.len() / 2]).expect("write");
    file.flush().expect("flush");
    let reader = CaptureReader::open(file.path()).expect("header is intact");
    let results: Vec<_> = reader.collect();
    let errors = results.iter().filter(|r| r.is_err()).count();
    assert!(errors >= 1, "a truncated stream must report an error");
    assert!(
        matches!(results.last(), Some(Err(_))),
        "iteration must end on the error"
    );
}
