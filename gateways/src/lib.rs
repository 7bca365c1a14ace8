//! TRAIDER gateways (stub).
#![deny(unsafe_code)]
