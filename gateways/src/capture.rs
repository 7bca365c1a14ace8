//! Reader for cryptofeed "format 2" raw captures (zstd-compressed or plain JSONL).
//!
//! Runs on cold threads only: replay tools, the replay server and tests. It is the boundary
//! to data read from disk, so every malformed line becomes a [`CaptureError`] naming the line
//! number; nothing here panics on input.
//!
//! Layout of a capture: line 1 is `{"t":"header","format":2,...}`; every further line is one
//! record `{"t":"http"|"connect"|"send"|"recv","conn":...,"ts":<UNIX seconds>,...}`.
//!
//! Timestamps: `ts` is a JSON number of UNIX seconds such as `1786309548.6290078`. It is
//! converted to integer nanoseconds from its decimal *text* (never through `f64`), so the
//! result is exact. Digits past the ninth fractional one are truncated toward zero. Exponent
//! notation and negative values are rejected.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

/// The four magic bytes that open a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// The only capture format this reader understands.
pub const CAPTURE_FORMAT: u64 = 2;

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    // Causes are in the messages, not `source()`s: a chain printer would name them twice.
    #[error("cannot open capture {path}: {cause}")]
    Open { path: PathBuf, cause: io::Error },
    #[error("capture line {line}: read failed: {cause}")]
    Read { line: u64, cause: io::Error },
    #[error("capture line {line}: {what}")]
    Malformed { line: u64, what: String },
    #[error("capture is empty: no header line")]
    Empty,
}

impl CaptureError {
    /// A capture error is a property of the file: retrying the same file fails the same way.
    pub fn is_retryable(&self) -> bool {
        false
    }

    fn malformed(line: u64, what: impl Into<String>) -> Self {
        Self::Malformed {
            line,
            what: what.into(),
        }
    }
}

/// The validated header line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureHeader {
    /// Always [`CAPTURE_FORMAT`].
    pub format: u64,
    /// The exchange name the recorder wrote, e.g. `COINBASE`.
    pub exchange: String,
    /// The recorder's start time, if the header carries one.
    pub recorded_ts_ns: Option<u64>,
    /// The header line verbatim (it also holds the recorder's channel config).
    pub raw: String,
}

/// One record of a capture, after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureRecord {
    /// A REST response the recorder fetched.
    Http {
        conn: String,
        ts_ns: u64,
        url: String,
        body: String,
    },
    /// A WebSocket connection opened to `addr`.
    Connect {
        conn: String,
        ts_ns: u64,
        addr: String,
    },
    /// A text frame the recorded client sent.
    Send {
        conn: String,
        ts_ns: u64,
        data: String,
    },
    /// A text frame the recorded client received, verbatim.
    Recv {
        conn: String,
        ts_ns: u64,
        data: String,
    },
}

impl CaptureRecord {
    /// The recorder's timestamp of this record.
    pub fn ts_ns(&self) -> u64 {
        match self {
            Self::Http { ts_ns, .. }
            | Self::Connect { ts_ns, .. }
            | Self::Send { ts_ns, .. }
            | Self::Recv { ts_ns, .. } => *ts_ns,
        }
    }
}

#[derive(Deserialize)]
struct RawRecord<'a> {
    t: String,
    conn: Option<String>,
    #[serde(borrow)]
    ts: Option<&'a RawValue>,
    url: Option<String>,
    addr: Option<String>,
    data: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    t: String,
    format: Option<u64>,
    exchange: Option<String>,
    #[serde(borrow)]
    recorded: Option<&'a RawValue>,
}

/// Streams the records of one capture file in file order.
///
/// A malformed line yields an error and iteration continues with the next line; after an
/// I/O error (including a damaged zstd stream) iteration ends.
pub struct CaptureReader {
    header: CaptureHeader,
    lines: Box<dyn BufRead + Send>,
    line_number: u64,
    buf: Vec<u8>,
    done: bool,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("header", &self.header)
            .field("line_number", &self.line_number)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens `path`, detecting zstd by its magic bytes, and reads and validates the header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let open_error = |cause| CaptureError::Open {
            path: path.to_path_buf(),
            cause,
        };
        let file = File::open(path).map_err(open_error)?;
        let mut raw = BufReader::with_capacity(1 << 16, file);
        let is_zstd = raw.fill_buf().map_err(open_error)?.starts_with(&ZSTD_MAGIC);
        let lines: Box<dyn BufRead + Send> = if is_zstd {
            let decoder = zstd::stream::read::Decoder::with_buffer(raw).map_err(open_error)?;
            Box::new(BufReader::with_capacity(1 << 16, decoder))
        } else {
            Box::new(raw)
        };
        Self::from_reader(lines)
    }

    /// Reads an already-decompressed JSONL stream (header first).
    pub fn from_reader(lines: Box<dyn BufRead + Send>) -> Result<Self, CaptureError> {
        let mut reader = Self {
            header: CaptureHeader {
                format: 0,
                exchange: String::new(),
                recorded_ts_ns: None,
                raw: String::new(),
            },
            lines,
            line_number: 0,
            buf: Vec::new(),
            done: false,
        };
        if !reader.read_line()? {
            return Err(CaptureError::Empty);
        }
        reader.header = parse_header(&reader.buf, reader.line_number)?;
        Ok(reader)
    }

    /// The validated header.
    pub fn header(&self) -> &CaptureHeader {
        &self.header
    }

    /// Reads the next line into `buf` without its line ending; `false` at end of file.
    fn read_line(&mut self) -> Result<bool, CaptureError> {
        self.buf.clear();
        let line = self.line_number + 1;
        let count = self
            .lines
            .read_until(b'\n', &mut self.buf)
            .map_err(|cause| CaptureError::Read { line, cause })?;
        if count == 0 {
            return Ok(false);
        }
        self.line_number = line;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(true)
    }
}

impl Iterator for CaptureReader {
    type Item = Result<CaptureRecord, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.read_line() {
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
                Ok(false) => self.done = true,
                // Blank lines (a trailing newline, say) carry nothing.
                Ok(true) if self.buf.iter().all(u8::is_ascii_whitespace) => {}
                Ok(true) => return Some(parse_record(&self.buf, self.line_number)),
            }
        }
        None
    }
}

fn parse_header(bytes: &[u8], line: u64) -> Result<CaptureHeader, CaptureError> {
    let raw: RawHeader<'_> = serde_json::from_slice(bytes)
        .map_err(|e| CaptureError::malformed(line, format!("invalid header JSON: {e}")))?;
    if raw.t != "header" {
        return Err(CaptureError::malformed(
            line,
            format!("expected a header record, found t={:?}", raw.t),
        ));
    }
    match raw.format {
        Some(CAPTURE_FORMAT) => {}
        other => {
            return Err(CaptureError::malformed(
                line,
                format!("unsupported capture format {other:?}, expected {CAPTURE_FORMAT}"),
            ));
        }
    }
    let recorded_ts_ns =
        match raw.recorded {
            None => None,
            Some(value) if value.get() == "null" => None,
            Some(value) => Some(parse_ts_ns(value.get()).map_err(|what| {
                CaptureError::malformed(line, format!("header recorded: {what}"))
            })?),
        };
    Ok(CaptureHeader {
        format: CAPTURE_FORMAT,
        exchange: raw.exchange.unwrap_or_default(),
        recorded_ts_ns,
        // from_slice succeeded, so the bytes are valid UTF-8.
        raw: String::from_utf8_lossy(bytes).into_owned(),
    })
}

fn parse_record(bytes: &[u8], line: u64) -> Result<CaptureRecord, CaptureError> {
    let raw: RawRecord<'_> = serde_json::from_slice(bytes)
        .map_err(|e| CaptureError::malformed(line, format!("invalid or truncated JSON: {e}")))?;
    let RawRecord {
        t,
        conn,
        ts,
        url,
        addr,
        data,
    } = raw;
    match t.as_str() {
        "http" | "connect" | "send" | "recv" => {}
        "header" => return Err(CaptureError::malformed(line, "a second header record")),
        other => {
            return Err(CaptureError::malformed(
                line,
                format!("unknown record type t={other:?}"),
            ));
        }
    }
    let missing =
        |name: &str| CaptureError::malformed(line, format!("{t} record without \"{name}\""));
    let ts = ts.ok_or_else(|| missing("ts"))?;
    let ts_ns = parse_ts_ns(ts.get()).map_err(|what| CaptureError::malformed(line, what))?;
    let conn = conn.ok_or_else(|| missing("conn"))?;
    let record = match t.as_str() {
        "http" => CaptureRecord::Http {
            conn,
            ts_ns,
            url: url.ok_or_else(|| missing("url"))?,
            body: data.ok_or_else(|| missing("data"))?,
        },
        "connect" => CaptureRecord::Connect {
            conn,
            ts_ns,
            addr: addr.ok_or_else(|| missing("addr"))?,
        },
        "send" => CaptureRecord::Send {
            conn,
            ts_ns,
            data: data.ok_or_else(|| missing("data"))?,
        },
        _ => CaptureRecord::Recv {
            conn,
            ts_ns,
            data: data.ok_or_else(|| missing("data"))?,
        },
    };
    Ok(record)
}

/// Converts the JSON text of a non-negative decimal number of UNIX seconds into exact
/// nanoseconds. More than nine fractional digits are truncated toward zero.
///
/// ```
/// use traider_gateways::capture::parse_ts_ns;
/// assert_eq!(parse_ts_ns("1786309548.6290078"), Ok(1_786_309_548_629_007_800));
/// assert_eq!(parse_ts_ns("1.0000000019"), Ok(1_000_000_001));
/// ```
pub fn parse_ts_ns(text: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("bad ts {text:?}: {why}");
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected plain decimal UNIX seconds"));
    }
    if text.contains('.') && fraction.is_empty() {
        return Err(bad("no digits after the decimal point"));
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected plain decimal UNIX seconds"));
    }
    let seconds: u64 = whole.parse().map_err(|_| bad("seconds out of range"))?;
    let mut nanos: u64 = 0;
    for index in 0..9 {
        let digit = fraction
            .as_bytes()
            .get(index)
            .map_or(0, |b| u64::from(b - b'0'));
        nanos = nanos * 10 + digit;
    }
    seconds
        .checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(nanos))
        .ok_or_else(|| bad("out of range for u64 nanoseconds"))
}

/// What the replay tools need from a capture: the products body and the received frames.
#[derive(Clone, Debug)]
pub struct Capture {
    pub header: CaptureHeader,
    /// The body of the first `http` record whose URL names `/products`, if any.
    pub products_body: Option<String>,
    /// Every `recv` frame as `(ts_ns, text)`, in file order.
    pub frames: Vec<(u64, String)>,
}

/// Reads a whole capture, failing on the first malformed line.
pub fn load_frames(path: impl AsRef<Path>) -> Result<Capture, CaptureError> {
    let reader = CaptureReader::open(path)?;
    let header = reader.header().clone();
    let mut products_body = None;
    let mut frames = Vec::new();
    for record in reader {
        match record? {
            CaptureRecord::Http { url, body, .. } => {
                if products_body.is_none() && url.contains("/products") {
                    products_body = Some(body);
                }
            }
            CaptureRecord::Recv { ts_ns, data, .. } => frames.push((ts_ns, data)),
            CaptureRecord::Connect { .. } | CaptureRecord::Send { .. } => {}
        }
    }
    Ok(Capture {
        header,
        products_body,
        frames,
    })
}

/// Environment variable naming the shared data directory (the one that holds `coinbase/`).
pub const DATA_DIR_ENV: &str = "TRAIDER_DATA_DIR";
/// The recorded Advanced Trade session, relative to the shared data directory.
pub const RECORDED_SESSION: &str = "coinbase/advanced_trade/cryptofeed_v3_COINBASE.jsonl.zst";

/// Where the recorded Coinbase session is, for tests and benches: under `$TRAIDER_DATA_DIR`
/// if set, else under `<workspace_root>/../shared/data`. `None` when it is not there.
pub fn recorded_session(workspace_root: &Path) -> Option<std::path::PathBuf> {
    let data_dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => workspace_root.join("../shared/data"),
    };
    let path = data_dir.join(RECORDED_SESSION);
    path.exists().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::parse_ts_ns;

    #[test]
    fn ts_text_converts_exactly_and_truncates_past_nanoseconds() {
        // Proves ts text becomes exact ns, digits past 9 truncate, and non-plain numbers are refused.
        assert_eq!(
            parse_ts_ns("1786309548.026294"),
            Ok(1_786_309_548_026_294_000)
        );
        assert_eq!(
            parse_ts_ns("1786309572.8760378"),
            Ok(1_786_309_572_876_037_800)
        );
        assert_eq!(parse_ts_ns("12"), Ok(12_000_000_000));
        assert_eq!(parse_ts_ns("0.9999999999"), Ok(999_999_999));
        for bad in [
            "",
            "-1.5",
            "1e9",
            "1.",
            ".5",
            "1.2.3",
            "18446744073709551616",
            "\"1\"",
        ] {
            assert!(parse_ts_ns(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(parse_ts_ns("18446744073.709551616").is_err());
    }
}
