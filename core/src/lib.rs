//! TRAIDER core: the deterministic trading engine and its hot-path pipeline.
//!
//! What it owns: the domain model (instruments, integer prices and sizes, orders, fills), the
//! L2 order book, strategies, pre-trade risk, the order manager, the portfolio and P&L, the
//! simulated venue, the [`engine::Engine`] that composes them, and the [`pipeline`] that runs
//! the engine on the hot thread between the input and output rings.
//!
//! Threads: everything here except `pipeline::ring`'s producer handles runs on the single hot
//! thread. Producers (`InputProducer`) run on cold threads.
//!
//! Invariants:
//! - Prices are ticks, sizes are lots (`i64`), money is [`num::Money`] (`i128`, 10^-24 of
//!   the quote currency). No `f64` touches a price, size, position, fee or P&L
//!   (`clippy::float_arithmetic` is denied).
//! - Deterministic: no clock, RNG or I/O; time is each input's sequencer stamp; iteration
//!   order never comes from a hash map (both banned by `core/clippy.toml`). The same inputs
//!   give the same decisions, byte for byte.
//! - Allocation happens at start-up, from limits named in config; steady state allocates
//!   nothing. Bad input is a counted error value, never a panic.
//! - Only a [`risk::RiskApproved`] request can become an order or an order command.
#![deny(unsafe_code)]
#![deny(clippy::float_arithmetic)]

pub mod actor;
pub mod admin;
pub mod book;
pub mod command;
pub mod config;
pub mod control;
pub mod decision;
pub mod digest;
pub mod engine;
pub mod event;
pub mod input;
pub mod instrument;
pub mod ladder;
pub mod num;
pub mod order;
pub mod pipeline;
pub mod portfolio;
pub mod record;
pub mod request;
pub mod risk;
pub mod sim;
pub mod stats;
pub mod strategy;
pub mod venue;
pub mod wire;
