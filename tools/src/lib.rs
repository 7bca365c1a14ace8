//! TRAIDER tools (stub).
#![deny(unsafe_code)]
