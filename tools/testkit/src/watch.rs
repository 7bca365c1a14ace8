//! Waiting on events: a journal followed record by record while a daemon writes it, and a
//! child's log lines as it prints them.
//!
//! A wait returns as soon as what it waits for has happened. Its deadline ([`DEADLINE`]) is
//! generous and only turns a hang into a failure with a message: nothing here asserts that
//! something was fast.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ChildStderr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use traider_core::decision::Decision;
use traider_core::input::{FeedControl, InputKind};
use traider_core::record::{Record, RecordKind};
use traider_core::venue::VenueEvent;
use traider_journal::JournalTailer;

/// How long a wait may take before it is a failure: long enough for a loaded machine, there
/// only so that a hang ends.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Pause between two looks at a caught-up journal (a tailer has no wake-up: it reads the
/// commit word of the next record).
const JOURNAL_POLL: Duration = Duration::from_millis(5);

/// One journal record, decoded by the core's record codec.
#[derive(Clone, Debug)]
pub struct Seen {
    pub seq: u64,
    pub ts_ns: u64,
    pub kind: RecordKind,
    /// The input's kind (a feed control names its control) and connection, for an input.
    pub input: Option<(InputKind, u32)>,
    /// The venue event of a `venue` input.
    pub venue: Option<VenueEvent>,
    /// The decision, for a decision record.
    pub decision: Option<Decision>,
    /// The frame's text, for an `md_frame` input.
    pub frame: Option<String>,
}

impl Seen {
    /// Whether the record is of the kind named `name` (`fill`, `md_frame`, ...); a name that
    /// is no kind is a bug in the test.
    pub fn is(&self, name: &str) -> bool {
        let kind = RecordKind::from_name(name)
            .unwrap_or_else(|| panic!("{name:?} is not a journal record kind"));
        self.kind == kind
    }

    /// Whether the record is a feed input with `control` (`resubscribed`, ...).
    pub fn is_feed(&self, control: FeedControl) -> bool {
        matches!(self.input, Some((InputKind::Feed(c), _)) if c == control)
    }

    fn of(record: &traider_journal::Record<'_>) -> Self {
        let kind = RecordKind::from_u16(record.kind)
            .unwrap_or_else(|| panic!("record {} has unknown kind {}", record.seq, record.kind));
        let decoded = Record::decode(record.kind, record.payload)
            .unwrap_or_else(|e| panic!("record {} does not decode: {e}", record.seq));
        let (input, venue, decision, frame) = match decoded {
            Record::Input(input) => {
                let venue = (input.kind == InputKind::Venue)
                    .then(|| VenueEvent::decode(input.data))
                    .flatten();
                let frame = (input.kind == InputKind::MdFrame)
                    .then(|| String::from_utf8_lossy(input.data).into_owned());
                (Some((input.kind, input.conn_id)), venue, None, frame)
            }
            Record::Decision(decision) => (None, None, Some(decision), None),
        };
        Self {
            seq: record.seq,
            ts_ns: record.ts_ns,
            kind,
            input,
            venue,
            decision,
            frame,
        }
    }
}

/// A journal directory followed as a daemon writes it: one [`JournalTailer`], every record
/// decoded once and kept (without frame bytes) in sequence order.
pub struct JournalWatch {
    dir: PathBuf,
    tailer: Option<JournalTailer>,
    records: Vec<Seen>,
}

impl JournalWatch {
    /// Follows `dir`, which need not exist yet (the daemon creates it).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            tailer: None,
            records: Vec::new(),
        }
    }

    /// Every record read so far.
    pub fn records(&self) -> &[Seen] {
        &self.records
    }

    /// How many records read so far are of kind `name`.
    pub fn count(&self, name: &str) -> usize {
        self.records.iter().filter(|r| r.is(name)).count()
    }

    /// Reads every record committed so far.
    pub fn catch_up(&mut self) {
        if self.tailer.is_none() {
            if !self
                .dir
                .join(traider_journal::segment_file_name(0))
                .exists()
            {
                return;
            }
            let tailer = JournalTailer::open(&self.dir)
                .unwrap_or_else(|e| panic!("cannot follow {}: {e}", self.dir.display()));
            self.tailer = Some(tailer);
        }
        let Some(tailer) = self.tailer.as_mut() else {
            return;
        };
        loop {
            match tailer.poll() {
                Ok(Some(record)) => self.records.push(Seen::of(&record)),
                Ok(None) => return,
                Err(e) => panic!("the journal {} is damaged: {e}", self.dir.display()),
            }
        }
    }

    /// Follows the journal until `done` holds for the records read so far. `false` if
    /// `daemon` exits first, or [`DEADLINE`] passes (a hang); the caller fails with the
    /// daemon's log.
    pub fn wait_for(
        &mut self,
        daemon: &mut impl Exits,
        mut done: impl FnMut(&[Seen]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.catch_up();
            if done(&self.records) {
                return true;
            }
            if daemon.has_exited() || Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(JOURNAL_POLL);
        }
    }

    /// Follows the journal until it holds at least `count` records of kind `name`.
    pub fn wait_count(&mut self, daemon: &mut impl Exits, name: &str, count: usize) -> bool {
        self.wait_for(daemon, |records| {
            records.iter().filter(|r| r.is(name)).count() >= count
        })
    }
}

/// A process a wait gives up on when it exits (the daemon's [`crate::daemon::Proc`]).
pub trait Exits {
    /// Whether it has exited.
    fn has_exited(&mut self) -> bool;
}

/// Asks `answer` until it is true, for state that only an API shows (no journal record
/// or log line marks it); panics naming `what` once [`DEADLINE`] passes (a hang).
pub fn until_answered(what: &str, mut answer: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !answer() {
        assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        std::thread::sleep(API_POLL);
    }
}

/// Pause between two questions of [`until_answered`].
const API_POLL: Duration = Duration::from_millis(50);

/// A child's stderr read line by line on a thread, so a test can wait for a line and still
/// have the whole log for its failure message.
pub struct LogLines {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl LogLines {
    /// Reads `stderr` (the child's, piped) until it closes.
    pub fn follow(stderr: ChildStderr) -> Self {
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end even when nobody listens any more: a child blocked on a
            // full pipe would hang.
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let _ = send.send(line);
            }
        });
        Self {
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `text`; returns it. Panics with the log so far when the
    /// child closes its stderr (exits) first or [`DEADLINE`] passes.
    pub fn wait_for(&mut self, text: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "no log line with {text:?} in {DEADLINE:?}:\n{}",
                        self.text()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the log ended without {text:?}:\n{}", self.text())
                }
            }
        }
    }

    /// The whole log read so far (every line still queued included).
    pub fn text(&mut self) -> String {
        self.seen.extend(self.lines.try_iter());
        self.seen.join("\n")
    }

    /// The whole log once the child has closed its stderr (call after it exited).
    pub fn rest(mut self) -> String {
        self.seen.extend(self.lines.iter());
        self.seen.join("\n")
    }
}
