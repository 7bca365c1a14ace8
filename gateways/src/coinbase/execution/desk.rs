//! The order desk: the live order sender (cold path, one tokio task).
//!
//! It receives the hot path's order commands (forwarded from the output ring by the
//! `traider-orders` thread, after the durable group commit when configured) and turns each
//! into REST requests; every answer goes back into the input ring as a [`VenueEvent`], so the
//! engine learns of acceptances, rejections, fills and cancels through the journal like any
//! other input.
//!
//! Rules it keeps:
//! - A create is re-sent only with the same `client_order_id` (the venue's idempotency key),
//!   after a retryable failure (401/429/5xx) or no answer, with doubling back-off.
//! - A create left unanswered after every retry is reported [`VenueEvent::Unknown`] and
//!   looked up by client order id after `unknown_resolve`: found, it is adopted with its
//!   fills and status; not found, it never arrived ([`VenueReject::NotSent`]).
//! - A cancel waits for its create: an order without a venue id is cancelled once it has
//!   one. Cancels ready together (a kill, a halt, a cancel-all) leave as one
//!   `batch_cancel` of up to [`CANCEL_BATCH_MAX`] orders.
//! - Fills come from the REST fills endpoint (the authoritative record), read when an
//!   order may have traded: after a taking create, after a cancel, when the user channel
//!   says the order changed, and on a poll of every working order. Each trade is published
//!   once per desk; the engine also deduplicates by trade, across restarts.
//! - An order's end (cancelled, expired, failed) is published only after the fills the
//!   venue counts for it are all published, so the position is always the sum of fills.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::coinbase::orders::{
    CreateOutcome, EditOutcome, OrderConfiguration, create_order_body, edit_order_body,
};
use crate::coinbase::reads::RestFill;
use crate::coinbase::trading::{FillFilter, OrderFilter, SendError, TradingClient};
use tokio::sync::mpsc;
use traider_core::command::{OrderAction, OrderCommand};
use traider_core::input::InputKind;
use traider_core::order::ClientOrderId;
use traider_core::pipeline::ring::InputProducer;
use traider_core::sim::VenueReject;
use traider_core::venue::VenueEvent;

use super::convert::{FillRecord, OrderRecord, Product, VenueStatus};
use crate::clock::unix_now_ns;

/// Orders per `batch_cancel` request.
pub const CANCEL_BATCH_MAX: usize = 100;

/// Publishes venue events into the input ring, stamped on receipt. Shared by the desk's
/// tasks; publishing is short, so a plain mutex does.
#[derive(Clone)]
pub struct VenueIn {
    producer: Arc<Mutex<InputProducer>>,
}

impl VenueIn {
    pub fn new(producer: InputProducer) -> Self {
        Self {
            producer: Arc::new(Mutex::new(producer)),
        }
    }

    /// Publishes an admin command (the dead-man switch's kill).
    pub fn publish_admin(&self, input: traider_core::admin::AdminInput) {
        self.publish_input(InputKind::Admin, &input.to_bytes());
    }

    pub fn publish(&self, event: VenueEvent) {
        tracing::debug!(event = event.name(), ?event, "venue event");
        self.publish_input(InputKind::Venue, &event.to_bytes());
    }

    fn publish_input(&self, kind: InputKind, bytes: &[u8]) {
        let mut producer = self
            .producer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        producer.publish(kind, 0, unix_now_ns(), bytes);
    }
}

/// How the desk sends.
#[derive(Clone, Debug)]
pub struct DeskSettings {
    pub retries: u32,
    pub backoff: Duration,
    pub unknown_resolve: Duration,
    pub fills_poll: Duration,
}

/// What reaches the desk.
#[derive(Debug)]
pub enum DeskMsg {
    /// An order command from the hot path.
    Command(OrderCommand),
    /// The venue says this order changed (user channel): read its fills and status now.
    Changed { client_order_id: String },
    /// Read every working order's fills and status now (after a reconnect).
    RefreshAll,
    /// An order the engine holds from before a restart (or takes over from someone else),
    /// with its venue record; `cancel` when the engine had already decided to cancel it
    /// (the cancel may never have left).
    Adopt {
        id: ClientOrderId,
        record: OrderRecord,
        cancel: bool,
    },
    /// Finish: no new requests; wait for those in flight.
    Stop,
}

/// What the desk did, for the summary.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct DeskStats {
    pub creates: u64,
    pub create_retries: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub unknown: u64,
    pub resolved_found: u64,
    pub resolved_not_sent: u64,
    pub cancels: u64,
    /// `batch_cancel` requests (a batch carries up to [`CANCEL_BATCH_MAX`] cancels).
    pub cancel_batches: u64,
    pub cancel_failures: u64,
    pub edits: u64,
    pub edit_rejects: u64,
    pub refreshes: u64,
    pub fills: u64,
    pub fill_errors: u64,
    pub request_errors: u64,
    /// Private requests that waited for the client-side rate limit.
    pub rate_waits: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The create is in flight.
    Creating,
    /// The venue has it (or had it).
    Placed,
    /// The create went unanswered; looked up at `resolve_at`.
    Unknown { resolve_at: Instant },
    /// Nothing more will happen to it.
    Done,
}

struct Tracked {
    product: usize,
    phase: Phase,
    venue_id: Option<String>,
    accepted: bool,
    cancel_wanted: bool,
    cancel_sent: bool,
    trades: HashSet<String>,
    published_lots: i64,
    refreshing: bool,
}

impl Tracked {
    fn new(product: usize, phase: Phase) -> Self {
        Self {
            product,
            phase,
            venue_id: None,
            accepted: false,
            cancel_wanted: false,
            cancel_sent: false,
            trades: HashSet::new(),
            published_lots: 0,
            refreshing: false,
        }
    }
}

/// Answers of the desk's requests, back into its loop.
enum Answer {
    Created {
        id: ClientOrderId,
        result: CreateResult,
        retries: u32,
    },
    /// One `batch_cancel`: whether the venue started each order's cancel.
    Cancelled { results: Vec<(ClientOrderId, bool)> },
    Refreshed {
        id: ClientOrderId,
        result: Result<(OrderRecord, Vec<RestFill>), String>,
    },
    Resolved {
        id: ClientOrderId,
        result: Result<Option<OrderRecord>, String>,
    },
    Edited {
        id: ClientOrderId,
        /// `Some(applied)`, or `None` when no answer came.
        outcome: Option<bool>,
    },
}

enum CreateResult {
    Accepted {
        order_id: String,
    },
    Rejected {
        reason: String,
    },
    /// No definite answer after every retry.
    Unknown {
        last: String,
    },
}

pub struct Desk {
    client: TradingClient,
    products: Arc<Vec<Product>>,
    venue: VenueIn,
    settings: DeskSettings,
    orders: HashMap<ClientOrderId, Tracked>,
    by_client_text: HashMap<String, ClientOrderId>,
    answers_tx: mpsc::UnboundedSender<Answer>,
    answers_rx: mpsc::UnboundedReceiver<Answer>,
    in_flight: usize,
    /// Cancels ready to leave, sent together at the end of the loop's turn.
    cancel_queue: Vec<(ClientOrderId, String)>,
    stats: DeskStats,
}

impl Desk {
    pub fn new(
        client: TradingClient,
        products: Arc<Vec<Product>>,
        venue: VenueIn,
        settings: DeskSettings,
    ) -> Self {
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        Self {
            client,
            products,
            venue,
            settings,
            orders: HashMap::new(),
            by_client_text: HashMap::new(),
            answers_tx,
            answers_rx,
            in_flight: 0,
            cancel_queue: Vec::new(),
            stats: DeskStats::default(),
        }
    }

    /// Runs until [`DeskMsg::Stop`] (or every sender is gone) and the requests in flight
    /// are answered or `drain` has passed.
    pub async fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<DeskMsg>,
        drain: Duration,
    ) -> DeskStats {
        let mut poll = tokio::time::interval(self.settings.fills_poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping: Option<Instant> = None;
        loop {
            if let Some(since) = stopping
                && (self.in_flight == 0 || since.elapsed() >= drain)
            {
                if self.in_flight > 0 {
                    tracing::warn!(
                        in_flight = self.in_flight,
                        "stopping with requests unanswered"
                    );
                }
                self.stats.rate_waits = self.client.rate_waits();
                return self.stats;
            }
            tokio::select! {
                msg = inbox.recv(), if stopping.is_none() => match msg {
                    Some(DeskMsg::Stop) | None => stopping = Some(Instant::now()),
                    Some(msg) => {
                        self.on_msg(msg);
                        // Whatever else is already here goes in the same turn (a kill's
                        // cancels arrive together and leave in one batch).
                        while let Ok(msg) = inbox.try_recv() {
                            if matches!(msg, DeskMsg::Stop) {
                                stopping = Some(Instant::now());
                                break;
                            }
                            self.on_msg(msg);
                        }
                    }
                },
                Some(answer) = self.answers_rx.recv() => {
                    self.in_flight -= 1;
                    self.on_answer(answer);
                }
                _ = poll.tick(), if stopping.is_none() => self.on_poll(),
                _ = tokio::time::sleep(Duration::from_millis(50)), if stopping.is_some() => {}
            }
            self.flush_cancels();
        }
    }

    /// Sends the queued cancels, [`CANCEL_BATCH_MAX`] per request.
    fn flush_cancels(&mut self) {
        while !self.cancel_queue.is_empty() {
            let take = self.cancel_queue.len().min(CANCEL_BATCH_MAX);
            let batch: Vec<(ClientOrderId, String)> = self.cancel_queue.drain(..take).collect();
            self.stats.cancel_batches += 1;
            let client = self.client.clone();
            let settings = self.settings.clone();
            self.spawn(async move {
                let results = send_cancels(&client, &batch, &settings).await;
                Answer::Cancelled { results }
            });
        }
    }

    fn product_of(&self, command: &OrderCommand) -> Option<usize> {
        self.products
            .iter()
            .position(|p| p.instrument == command.instrument())
    }

    fn on_msg(&mut self, msg: DeskMsg) {
        match msg {
            DeskMsg::Command(command) => self.on_command(command),
            DeskMsg::Changed { client_order_id } => {
                if let Some(&id) = self.by_client_text.get(&client_order_id) {
                    self.refresh(id);
                }
            }
            DeskMsg::RefreshAll => {
                let ids: Vec<_> = self.working().collect();
                for id in ids {
                    self.refresh(id);
                }
            }
            DeskMsg::Adopt { id, record, cancel } => self.adopt(id, record, cancel),
            DeskMsg::Stop => {}
        }
    }

    fn working(&self) -> impl Iterator<Item = ClientOrderId> + '_ {
        self.orders
            .iter()
            .filter(|(_, t)| t.phase == Phase::Placed)
            .map(|(id, _)| *id)
    }

    fn on_command(&mut self, command: OrderCommand) {
        let id = command.id();
        match command.action() {
            OrderAction::New => {
                let (Some(product), Some(request)) = (self.product_of(&command), command.request())
                else {
                    tracing::error!(%id, "order command for an instrument without product rules");
                    self.venue.publish(VenueEvent::Rejected {
                        id,
                        reason: VenueReject::NotSent,
                    });
                    return;
                };
                if self.orders.contains_key(&id) {
                    // The same decision twice (cannot happen from one engine): the venue
                    // would answer with the same order anyway; send nothing.
                    tracing::warn!(%id, "duplicate create command ignored");
                    return;
                }
                let format = self.products[product].format();
                let body =
                    create_order_body(id, request.side, &format, &OrderConfiguration::of(request));
                self.orders
                    .insert(id, Tracked::new(product, Phase::Creating));
                self.by_client_text.insert(id.to_string(), id);
                self.stats.creates += 1;
                let client = self.client.clone();
                let settings = self.settings.clone();
                self.spawn(async move {
                    let (result, retries) = send_create(&client, &body, &settings).await;
                    Answer::Created {
                        id,
                        result,
                        retries,
                    }
                });
            }
            OrderAction::Edit => self.on_edit(id, command.request().copied()),
            OrderAction::Cancel => {
                let Some(tracked) = self.orders.get_mut(&id) else {
                    tracing::warn!(%id, "cancel for an order the desk does not track");
                    return;
                };
                tracked.cancel_wanted = true;
                self.send_cancel_if_ready(id);
            }
        }
    }

    /// A new price for a resting order. Answered or refused, the engine learns which; an
    /// edit whose answer is lost leaves the price unknown, so the order is cancelled (its
    /// end and fills then come from the venue's record as usual).
    fn on_edit(&mut self, id: ClientOrderId, request: Option<traider_core::order::OrderRequest>) {
        let ready = self.orders.get(&id).and_then(|t| {
            (t.phase == Phase::Placed && !t.cancel_wanted)
                .then(|| t.venue_id.clone().map(|v| (v, t.product)))
                .flatten()
        });
        let (Some((venue_id, product)), Some(request)) = (ready, request) else {
            self.venue.publish(VenueEvent::EditRejected { id });
            return;
        };
        self.stats.edits += 1;
        let body = edit_order_body(
            &venue_id,
            &self.products[product].format(),
            request.price_ticks,
            request.size_lots,
        );
        let client = self.client.clone();
        let settings = self.settings.clone();
        self.spawn(async move {
            let outcome = send_edit(&client, &body, &settings).await;
            Answer::Edited { id, outcome }
        });
    }

    fn adopt(&mut self, id: ClientOrderId, record: OrderRecord, cancel: bool) {
        let Some(product) = self
            .products
            .iter()
            .position(|p| p.product_id == record.product_id)
        else {
            return;
        };
        let mut tracked = Tracked::new(product, Phase::Placed);
        tracked.venue_id = Some(record.order_id.clone());
        tracked.cancel_wanted = cancel;
        self.orders.insert(id, tracked);
        self.by_client_text.insert(id.to_string(), id);
        // An adopted order keeps the client order id its owner gave it.
        if !record.client_order_id.is_empty() {
            self.by_client_text
                .insert(record.client_order_id.clone(), id);
        }
        self.send_cancel_if_ready(id);
        self.refresh(id);
    }

    fn spawn(&mut self, task: impl std::future::Future<Output = Answer> + Send + 'static) {
        self.in_flight += 1;
        let tx = self.answers_tx.clone();
        tokio::spawn(async move {
            let answer = task.await;
            let _ = tx.send(answer);
        });
    }

    fn send_cancel_if_ready(&mut self, id: ClientOrderId) {
        let Some(tracked) = self.orders.get_mut(&id) else {
            return;
        };
        if !tracked.cancel_wanted || tracked.cancel_sent || tracked.phase != Phase::Placed {
            return;
        }
        let Some(venue_id) = tracked.venue_id.clone() else {
            return;
        };
        tracked.cancel_sent = true;
        self.stats.cancels += 1;
        self.cancel_queue.push((id, venue_id));
    }

    fn refresh(&mut self, id: ClientOrderId) {
        let Some(tracked) = self.orders.get_mut(&id) else {
            return;
        };
        let Some(venue_id) = tracked.venue_id.clone() else {
            return;
        };
        if tracked.refreshing || tracked.phase == Phase::Done {
            return;
        }
        tracked.refreshing = true;
        self.stats.refreshes += 1;
        let product = self.products[tracked.product].clone();
        let client = self.client.clone();
        self.spawn(async move {
            let result = read_order(&client, &venue_id, &product).await;
            Answer::Refreshed { id, result }
        });
    }

    fn on_poll(&mut self) {
        let ids: Vec<_> = self.working().collect();
        for id in ids {
            self.refresh(id);
            self.send_cancel_if_ready(id);
        }
        let now = Instant::now();
        let due: Vec<_> = self
            .orders
            .iter()
            .filter(|(_, t)| matches!(t.phase, Phase::Unknown { resolve_at } if resolve_at <= now))
            .map(|(id, t)| (*id, t.product))
            .collect();
        for (id, product) in due {
            if let Some(tracked) = self.orders.get_mut(&id) {
                // Looked up once at a time: push the next look-up out.
                tracked.phase = Phase::Unknown {
                    resolve_at: now + self.settings.unknown_resolve,
                };
            }
            let product = self.products[product].clone();
            let client = self.client.clone();
            self.spawn(async move {
                let result = find_by_client_id(&client, &product, id).await;
                Answer::Resolved { id, result }
            });
        }
    }

    fn on_answer(&mut self, answer: Answer) {
        match answer {
            Answer::Created {
                id,
                result,
                retries,
            } => self.on_created(id, result, retries),
            Answer::Cancelled { results } => self.on_cancelled(results),
            Answer::Refreshed { id, result } => self.on_refreshed(id, result),
            Answer::Edited { id, outcome } => self.on_edited(id, outcome),
            Answer::Resolved { id, result } => self.on_resolved(id, result),
        }
    }

    /// The create's answer: placed, refused, or unknown until looked up.
    fn on_created(&mut self, id: ClientOrderId, result: CreateResult, retries: u32) {
        self.stats.create_retries += u64::from(retries);
        let Some(tracked) = self.orders.get_mut(&id) else {
            return;
        };
        match result {
            CreateResult::Accepted { order_id } => {
                self.stats.accepted += 1;
                tracked.venue_id = Some(order_id);
                tracked.phase = Phase::Placed;
                tracked.accepted = true;
                self.venue.publish(VenueEvent::Accepted { id });
                self.send_cancel_if_ready(id);
                // A taking order may already have traded: read its fills now.
                self.refresh(id);
            }
            CreateResult::Rejected { reason } => {
                self.stats.rejected += 1;
                tracing::info!(%id, reason, "the venue rejected the order");
                tracked.phase = Phase::Done;
                self.venue.publish(VenueEvent::Rejected {
                    id,
                    reason: VenueReject::Refused,
                });
            }
            CreateResult::Unknown { last } => {
                self.stats.unknown += 1;
                tracing::warn!(%id, last, "create unanswered after every retry: order unknown until reconciled");
                tracked.phase = Phase::Unknown {
                    resolve_at: Instant::now() + self.settings.unknown_resolve,
                };
                self.venue.publish(VenueEvent::Unknown { id });
            }
        }
    }

    /// One `batch_cancel`'s answers, order by order.
    fn on_cancelled(&mut self, results: Vec<(ClientOrderId, bool)>) {
        for (id, ok) in results {
            if !ok {
                self.stats.cancel_failures += 1;
            }
            // A failed cancel is sent again at the next poll while the venue still
            // shows the order working (the engine asks only once).
            if !ok && let Some(tracked) = self.orders.get_mut(&id) {
                tracked.cancel_sent = false;
            }
            // Either way, the venue's record says what became of the order.
            self.refresh(id);
        }
    }

    /// The venue's record of the order and its fills, read again.
    fn on_refreshed(
        &mut self,
        id: ClientOrderId,
        result: Result<(OrderRecord, Vec<RestFill>), String>,
    ) {
        if let Some(tracked) = self.orders.get_mut(&id) {
            tracked.refreshing = false;
        }
        match result {
            Ok((record, fills)) => self.apply_record(id, &record, &fills),
            Err(error) => {
                self.stats.request_errors += 1;
                tracing::warn!(%id, error, "cannot read the order's state at the venue");
            }
        }
    }

    /// The edit's answer: applied, refused, or lost (then the order is cancelled).
    fn on_edited(&mut self, id: ClientOrderId, outcome: Option<bool>) {
        match outcome {
            Some(true) => self.venue.publish(VenueEvent::Edited { id }),
            Some(false) => {
                self.stats.edit_rejects += 1;
                self.venue.publish(VenueEvent::EditRejected { id });
            }
            None => {
                self.stats.edit_rejects += 1;
                tracing::warn!(%id, "edit unanswered: its price is unknown, cancelling the order");
                self.venue.publish(VenueEvent::EditRejected { id });
                if let Some(tracked) = self.orders.get_mut(&id) {
                    tracked.cancel_wanted = true;
                }
                self.send_cancel_if_ready(id);
            }
        }
    }

    /// The look-up of an unknown order: found (placed), absent (never sent), or failed.
    fn on_resolved(&mut self, id: ClientOrderId, result: Result<Option<OrderRecord>, String>) {
        match result {
            Ok(Some(record)) => {
                self.stats.resolved_found += 1;
                tracing::info!(%id, order_id = record.order_id, "unknown order found at the venue");
                if let Some(tracked) = self.orders.get_mut(&id) {
                    tracked.venue_id = Some(record.order_id.clone());
                    tracked.phase = Phase::Placed;
                }
                self.send_cancel_if_ready(id);
                self.refresh(id);
            }
            Ok(None) => {
                self.stats.resolved_not_sent += 1;
                tracing::info!(%id, "unknown order is not at the venue: it was never placed");
                if let Some(tracked) = self.orders.get_mut(&id) {
                    tracked.phase = Phase::Done;
                }
                self.venue.publish(VenueEvent::Rejected {
                    id,
                    reason: VenueReject::NotSent,
                });
            }
            Err(error) => {
                self.stats.request_errors += 1;
                tracing::warn!(%id, error, "cannot look the unknown order up; trying again later");
            }
        }
    }

    /// Publishes the fills not yet published, then the order's end when the venue says it
    /// ended and every fill it counts is published.
    fn apply_record(&mut self, id: ClientOrderId, record: &OrderRecord, fills: &[RestFill]) {
        let Some(tracked) = self.orders.get_mut(&id).filter(|t| t.phase != Phase::Done) else {
            return;
        };
        let product = &self.products[tracked.product];
        for fill in fills {
            match FillRecord::from_rest(product, fill) {
                Ok(fill) if fill.order_id == record.order_id => {
                    if tracked.trades.insert(fill.trade_id.clone()) {
                        tracked.published_lots += fill.size_lots;
                        self.stats.fills += 1;
                        self.venue.publish(fill.event(id));
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    self.stats.fill_errors += 1;
                    tracing::error!(%id, error, "a fill the daemon cannot represent; the position will need reconciling");
                }
            }
        }
        if !tracked.accepted && record.status != VenueStatus::Failed {
            tracked.accepted = true;
            self.venue.publish(VenueEvent::Accepted { id });
        }
        let complete = tracked.published_lots >= record.filled_lots;
        match record.status {
            VenueStatus::Working | VenueStatus::Unknown => {}
            VenueStatus::Filled if complete => tracked.phase = Phase::Done,
            VenueStatus::Cancelled if complete => {
                tracked.phase = Phase::Done;
                self.venue.publish(VenueEvent::Cancelled { id });
            }
            VenueStatus::Failed if complete => {
                tracked.phase = Phase::Done;
                self.venue.publish(if tracked.published_lots == 0 {
                    VenueEvent::Rejected {
                        id,
                        reason: VenueReject::Refused,
                    }
                } else {
                    VenueEvent::Cancelled { id }
                });
            }
            // Ended, but the fills endpoint does not show every fill yet: the next poll
            // reads again.
            _ => {}
        }
    }

    pub fn stats(&self) -> DeskStats {
        self.stats
    }
}

/// Sends a create, re-sending with the same client order id after retryable failures.
async fn send_create(
    client: &TradingClient,
    body: &serde_json::Value,
    settings: &DeskSettings,
) -> (CreateResult, u32) {
    let mut backoff = settings.backoff;
    let mut last = String::new();
    for attempt in 0..=settings.retries {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        match client.create_order(body).await {
            Ok(CreateOutcome::Accepted { order_id, .. }) => {
                return (CreateResult::Accepted { order_id }, attempt);
            }
            Ok(CreateOutcome::Rejected { reason, message }) => {
                return (
                    CreateResult::Rejected {
                        reason: format!("{reason}: {message}"),
                    },
                    attempt,
                );
            }
            Err(SendError::Api(error)) if error.is_retryable() => last = error.to_string(),
            Err(SendError::Unknown(error)) => last = error,
            Err(SendError::Api(error)) => {
                return (
                    CreateResult::Rejected {
                        reason: error.to_string(),
                    },
                    attempt,
                );
            }
            Err(error @ (SendError::Auth(_) | SendError::PageLimit { .. })) => {
                // The request never left: nothing exists at the venue.
                return (
                    CreateResult::Rejected {
                        reason: error.to_string(),
                    },
                    attempt,
                );
            }
        }
        tracing::warn!(
            attempt,
            last,
            "create failed; re-sending with the same client order id"
        );
    }
    (CreateResult::Unknown { last }, settings.retries)
}

/// Sends an edit (retrying retryable failures); `Some(applied)`, `None` without an answer.
async fn send_edit(
    client: &TradingClient,
    body: &serde_json::Value,
    settings: &DeskSettings,
) -> Option<bool> {
    let mut backoff = settings.backoff;
    for attempt in 0..=settings.retries {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        match client.edit_order(body).await {
            Ok(EditOutcome::Accepted) => return Some(true),
            Ok(EditOutcome::Rejected { reasons }) => {
                tracing::info!(?reasons, "the venue refused the edit");
                return Some(false);
            }
            Err(SendError::Api(error)) if error.is_retryable() => {
                tracing::warn!(attempt, %error, "edit failed; retrying");
            }
            Err(SendError::Unknown(error)) => {
                tracing::warn!(attempt, error, "edit unanswered; retrying");
            }
            Err(error) => {
                tracing::warn!(%error, "edit refused");
                return Some(false);
            }
        }
    }
    None
}

/// Sends one batch of cancels (retrying retryable failures); per order, `true` when the
/// venue started its cancel.
async fn send_cancels(
    client: &TradingClient,
    batch: &[(ClientOrderId, String)],
    settings: &DeskSettings,
) -> Vec<(ClientOrderId, bool)> {
    let ids: Vec<&str> = batch
        .iter()
        .map(|(_, venue_id)| venue_id.as_str())
        .collect();
    let mut backoff = settings.backoff;
    for attempt in 0..=settings.retries {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        match client.cancel_orders(&ids).await {
            Ok(results) => {
                return batch
                    .iter()
                    .map(|(id, venue_id)| {
                        let ok = results.iter().any(|r| r.order_id == *venue_id && r.success);
                        (*id, ok)
                    })
                    .collect();
            }
            Err(SendError::Api(error)) if error.is_retryable() => {
                tracing::warn!(attempt, %error, "cancel failed; retrying");
            }
            Err(SendError::Unknown(error)) => {
                tracing::warn!(attempt, error, "cancel unanswered; retrying");
            }
            Err(error) => {
                tracing::error!(%error, "cancel refused");
                break;
            }
        }
    }
    batch.iter().map(|(id, _)| (*id, false)).collect()
}

/// The order's record and its fills, from REST.
async fn read_order(
    client: &TradingClient,
    venue_id: &str,
    product: &Product,
) -> Result<(OrderRecord, Vec<RestFill>), String> {
    let orders = client
        .list_orders(&OrderFilter {
            order_ids: vec![venue_id.to_owned()],
            ..OrderFilter::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let order = orders
        .iter()
        .find(|o| o.order_id == venue_id)
        .ok_or_else(|| format!("the venue does not list order {venue_id}"))?;
    let record = OrderRecord::from_rest(order, product)?;
    let fills = if record.filled_lots > 0 {
        client
            .list_fills_paged(&FillFilter::orders(&[venue_id]))
            .await
            .map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    Ok((record, fills))
}

/// Looks an order up at the venue by client order id (recent orders of its product).
async fn find_by_client_id(
    client: &TradingClient,
    product: &Product,
    id: ClientOrderId,
) -> Result<Option<OrderRecord>, String> {
    super::venue_orders::find_by_client_id(client, product, id).await
}
