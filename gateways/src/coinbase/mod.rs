//! Coinbase Advanced Trade adapter.
pub mod auth;
mod l2_scan;
pub mod orders;
pub mod parse;
pub mod rest;
pub mod subscribe;
pub mod trading;
pub mod ws;
