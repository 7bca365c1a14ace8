//! TRAIDER's test kit, a dev-dependency of every crate whose tests need more than the crate:
//! the recorded session ([`data`]), the workspace's binaries built on demand ([`bins`]), the
//! daemon and the replay stand-in as processes ([`daemon`]), the simulated venue in process
//! with keys and raw clients ([`sim`]), the fixtures several crates' tests share
//! ([`fixtures`]), and waits on events: a journal followed by its tailer, a child's log
//! lines ([`watch`]).
//!
//! Tests wait on events, never on sleeps or wall-clock upper bounds; a wait's deadline only
//! turns a hang into a failure.
//!
//! A test that needs the recorded session and cannot find it fails, naming
//! `TRAIDER_DATA_DIR`; nothing here skips.
#![deny(unsafe_code)]

pub mod bins;
pub mod daemon;
pub mod data;
pub mod fixtures;
pub mod sim;
pub mod watch;
