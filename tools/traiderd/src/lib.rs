//! `traiderd`, the TRAIDER daemon, as a library (its binary is `main.rs`; the benches build
//! the same hot path from it).
//!
//! - [`config`]: the TOML configuration, every key checked, every error naming its field;
//! - [`hot`]: the hot path assembled from a config, its threads (the pinned hot thread, the
//!   order sink, the journal keeper), its journal, and restart by replay;
//! - [`modes`]: `traiderd run` in paper and live mode, and `traiderd replay`;
//! - [`admin`]: the metrics and admin endpoint (Prometheus, the `/api/v1` admin API);
//! - [`inspect`]: `traiderd journal dump | verify | stats | prune`;
//! - [`summary`] and [`views`]: what a run reports, and the JSON of the engine's status.
//!
//! Threads: the main thread reads the config and supervises (in replays it is the sequencer);
//! the hot thread runs the core; cold threads do the I/O. Only the cold side reads the wall
//! clock ([`clock`]).
#![deny(unsafe_code)]

pub mod admin;
pub mod clock;
pub mod config;
pub mod hot;
pub mod inspect;
pub mod modes;
pub mod summary;
pub mod views;
