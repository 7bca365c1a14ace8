//! TRAIDER core (stub while the workspace is laid out).
#![deny(unsafe_code)]
pub mod input;
