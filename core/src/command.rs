//! Order commands: what leaves the hot path through the output ring to the order sender.
//!
//! A command can only be made inside the core: a new order from a [`RiskApproved`] request,
//! a cancel from a live order. Fields are private, so no other crate can forge one.

use crate::instrument::InstrumentId;
use crate::order::{ClientOrderId, OrderRequest};
use crate::risk::RiskApproved;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderAction {
    New,
    Cancel,
    /// A new limit price for a resting order (`request` holds the order's terms with it).
    Edit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCommand {
    action: OrderAction,
    id: ClientOrderId,
    instrument: InstrumentId,
    request: Option<OrderRequest>,
}

impl OrderCommand {
    pub(crate) fn new_order(id: ClientOrderId, approved: &RiskApproved) -> Self {
        let request = *approved.request();
        Self {
            action: OrderAction::New,
            id,
            instrument: request.instrument,
            request: Some(request),
        }
    }

    pub(crate) fn cancel(id: ClientOrderId, instrument: InstrumentId) -> Self {
        Self {
            action: OrderAction::Cancel,
            id,
            instrument,
            request: None,
        }
    }

    pub(crate) fn edit(id: ClientOrderId, request: OrderRequest) -> Self {
        Self {
            action: OrderAction::Edit,
            id,
            instrument: request.instrument,
            request: Some(request),
        }
    }

    pub fn action(&self) -> OrderAction {
        self.action
    }

    pub fn id(&self) -> ClientOrderId {
        self.id
    }

    pub fn instrument(&self) -> InstrumentId {
        self.instrument
    }

    /// The order's terms (new orders; edits: with the new price).
    pub fn request(&self) -> Option<&OrderRequest> {
        self.request.as_ref()
    }
}
