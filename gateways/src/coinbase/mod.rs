//! Coinbase Advanced Trade adapter.
pub mod parse;
pub mod rest;
pub mod subscribe;
pub mod ws;
