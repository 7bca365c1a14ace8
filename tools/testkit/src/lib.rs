//! TRAIDER's test kit, a dev-dependency of every crate whose tests need more than the crate:
//! the recorded session ([`data`]), the workspace's binaries built on demand ([`bins`]), the
//! daemon and the replay stand-in as processes ([`daemon`]), and the simulated venue in
//! process with keys and raw clients ([`sim`]).
//!
//! A test that needs the recorded session and cannot find it fails, naming
//! `TRAIDER_DATA_DIR`; nothing here skips.
#![deny(unsafe_code)]

pub mod bins;
pub mod daemon;
pub mod data;
pub mod sim;
