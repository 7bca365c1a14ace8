//! Live execution on Coinbase: everything between the engine's order commands and the
//! venue's answers, all on the daemon's cold I/O runtime.
//!
//! - [`desk`]: the order desk, which turns order commands into signed REST requests and
//!   every answer into a [`traider_core::venue::VenueEvent`] input;
//! - [`reconcile`]: startup reconciliation of the journal's orders and fills with the
//!   venue's, fail-closed, and what to do with orders the journal does not know
//!   ([`UnknownOrders`]); [`adopt`] takes such orders over;
//! - [`watch`]: the dead-man switch over the user channel and market data;
//! - [`convert`]: the venue's decimal text into the engine's integers, and
//!   [`venue_orders`]: finding our orders at the venue by client order id.
//!
//! Invariant: the venue's answers reach the engine only as journaled inputs, so a restart
//! rebuilds every order, fill and position from the journal alone.

pub mod adopt;
pub mod convert;
pub mod desk;
pub mod reconcile;
pub mod venue_orders;
pub mod watch;

pub use reconcile::UnknownOrders;
