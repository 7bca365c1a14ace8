//! Coinbase Advanced Trade adapter.
pub mod auth;
pub mod decimal;
pub mod execution;
pub mod fields;
pub mod fills;
mod l2_scan;
pub mod orders;
pub mod parse;
pub mod reads;
pub mod rest;
pub mod subscribe;
pub mod trading;
pub mod user;
pub mod ws;
