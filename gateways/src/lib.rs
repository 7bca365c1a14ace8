//! TRAIDER gateways (being written).
#![deny(unsafe_code)]
pub mod capture;
pub mod coinbase;
