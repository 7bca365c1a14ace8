//! TRAIDER benches (stub).
