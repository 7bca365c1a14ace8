//! TRAIDER journal (stub).
#![deny(unsafe_code)]
