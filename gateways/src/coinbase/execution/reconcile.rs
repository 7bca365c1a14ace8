//! Startup reconciliation, fail-closed: before the first order, the state rebuilt from the
//! journal is compared with the venue's open orders, recent orders, fills and balances.
//!
//! - Every order the engine holds live is looked up at the venue by client order id (an
//!   order the journal adopted, by its venue order id). Found, the order desk takes it up
//!   and publishes what the venue knows (its fills, then its end if it ended). Not found
//!   anywhere, it never arrived (the daemon stopped between journaling the decision and
//!   sending it): it is rejected as [`VenueReject::NotSent`]. An adopted order the venue no
//!   longer has cannot be explained: refuse.
//! - An open order at the venue that the engine does not hold: ours but already finished in
//!   the journal (its cancel was lost) is cancelled; anything else follows
//!   `[live] unknown_orders` (cancel, leave, refuse to trade, or adopt: see [`super::adopt`]).
//! - A recent fill of one of our orders that the engine cannot have seen (an order id the
//!   journal never assigned) means the journal is not this account's whole history: refuse.
//! - Every traded product's base and quote currencies must have an account.
//!
//! Fills the engine already applied are published again harmlessly: it applies each trade
//! once. Positions are therefore the sum of the venue's fills once reconciliation is done.

use std::collections::{BTreeMap, HashMap};

use crate::coinbase::reads::RestOrder;
use crate::coinbase::trading::{FillFilter, OrderFilter, TradingClient};
use tokio::sync::mpsc;
use traider_core::order::{ClientOrderId, Order};
use traider_core::sim::VenueReject;
use traider_core::venue::VenueEvent;

use super::adopt::{Adoption, find_adopted, live_refs};
use super::convert::{OrderRecord, Product, venue_ref};
use super::desk::{DeskMsg, VenueIn};

/// What to do at startup with an open order at the venue that the journal does not know.
#[derive(Clone, Copy, Debug, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownOrders {
    /// Cancel it before trading.
    Cancel,
    /// Leave it alone (it is not ours to manage; its fills do not move our positions).
    Leave,
    /// Refuse to trade until an operator deals with it.
    Refuse,
    /// Take it over: it counts against every limit, its fills (earlier ones included) move
    /// the position, halts and the stop cancel it; the strategy never reprices or cancels
    /// it. Only resting limit orders with a base size can be adopted; anything else refuses
    /// to trade.
    Adopt,
}

/// Recent orders and fills read per product (pages of the venue's default size).
const HISTORY_PAGES: usize = 5;

/// What reconciliation found, for the log and the summary.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub engine_live: usize,
    pub venue_open: usize,
    pub adopted: usize,
    pub not_sent: usize,
    pub finished_but_open_cancelled: usize,
    pub unknown_open: usize,
    pub unknown_cancelled: usize,
    pub unknown_adopted: usize,
    pub fills_seen: usize,
    pub balances: Vec<(String, String, String)>,
}

/// Why trading must not start.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("cannot read the venue's state: {0}")]
    Venue(String),
    #[error(
        "{count} open order(s) at the venue are not in the journal (first: {first}); unknown_orders = \"refuse\""
    )]
    UnknownOpen { count: usize, first: String },
    #[error(
        "the venue has fills of order {client_order_id} that this journal never placed (its counter {counter} is past the journal's {next}): the journal is not this account's whole history"
    )]
    UnexplainedFill {
        client_order_id: String,
        counter: u64,
        next: u64,
    },
    #[error("no {currency} account at the venue for {product_id}")]
    NoAccount {
        currency: String,
        product_id: String,
    },
    #[error("cannot adopt an open order the journal does not know: {0}")]
    CannotAdopt(String),
    #[error(
        "order {id} was adopted (venue order {order_id}) but the venue no longer has it: the journal and the venue disagree"
    )]
    AdoptedMissing { id: String, order_id: String },
}

/// Inputs of one reconciliation.
pub struct Context<'a> {
    pub client: &'a TradingClient,
    pub products: &'a [Product],
    pub live_orders: &'a [Order],
    pub namespace: u32,
    /// The next client order counter the journal would assign.
    pub next_counter: u64,
    pub policy: UnknownOrders,
    /// Orders the journal adopted, with their venue order ids.
    pub adopted: &'a BTreeMap<ClientOrderId, u128>,
    /// The engine's open-order table size (adoptions must fit in it).
    pub orders_open_max: usize,
    pub venue: &'a VenueIn,
    pub desk: &'a mpsc::UnboundedSender<DeskMsg>,
}

fn record_of(order: &RestOrder, products: &[Product]) -> Result<OrderRecord, String> {
    let product = products
        .iter()
        .find(|p| Some(p.product_id.as_str()) == order.product_id.as_deref())
        .ok_or_else(|| format!("order {} is of a product not traded here", order.order_id))?;
    OrderRecord::from_rest(order, product)
}

/// Takes over every unknown open order, or none: each must be representable and all must
/// fit the engine's table. Ids follow the journal's counter in the venue's listing order.
fn adopt_unknown(ctx: &Context<'_>, unknown: &[&RestOrder]) -> Result<usize, Refusal> {
    let adoptions = unknown
        .iter()
        .map(|order| Adoption::of(order, ctx.products))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Refusal::CannotAdopt)?;
    let live = ctx.live_orders.len() + adoptions.len();
    if live > ctx.orders_open_max {
        return Err(Refusal::CannotAdopt(format!(
            "{live} live orders would exceed [limits] orders_open_max = {}",
            ctx.orders_open_max
        )));
    }
    for (offset, adoption) in adoptions.into_iter().enumerate() {
        let id = ClientOrderId::new(ctx.namespace, ctx.next_counter + offset as u64);
        tracing::warn!(%id, order_id = adoption.record.order_id, client_order_id = adoption.record.client_order_id, "adopting an open order the journal does not know (unknown_orders = \"adopt\")");
        ctx.venue.publish(adoption.event(id));
        let _ = ctx.desk.send(DeskMsg::Adopt {
            id,
            record: adoption.record,
            cancel: false,
        });
    }
    Ok(unknown.len())
}

/// Runs reconciliation; on success every difference is explained (and being published),
/// and trading may start.
pub async fn reconcile(ctx: Context<'_>) -> Result<Report, Refusal> {
    let product_ids: Vec<&str> = ctx.products.iter().map(|p| p.product_id.as_str()).collect();
    let mut report = Report {
        engine_live: ctx.live_orders.len(),
        ..Report::default()
    };
    let (open, recent) = read_orders(&ctx, &product_ids).await?;
    report.venue_open = open.len();
    take_up_live(&ctx, &open, &recent, &mut report).await?;
    let cancel = sort_open(&ctx, &open, &mut report)?;
    send_cancels(&ctx, &cancel).await?;
    check_fills(&ctx, &product_ids, &open, &recent, &mut report).await?;
    check_balances(&ctx, &mut report).await?;
    Ok(report)
}

fn venue_err(e: crate::coinbase::trading::SendError) -> Refusal {
    Refusal::Venue(e.to_string())
}

/// The venue's open orders, then its recent ones ([`HISTORY_PAGES`] per product).
async fn read_orders(
    ctx: &Context<'_>,
    product_ids: &[&str],
) -> Result<(Vec<RestOrder>, Vec<RestOrder>), Refusal> {
    let open = ctx
        .client
        .list_orders(&OrderFilter::open(product_ids))
        .await
        .map_err(venue_err)?;
    let recent = ctx
        .client
        .list_orders(&OrderFilter {
            product_ids: product_ids.iter().map(|p| (*p).to_owned()).collect(),
            pages_max: HISTORY_PAGES,
            ..OrderFilter::default()
        })
        .await
        .map_err(venue_err)?;
    Ok((open, recent))
}

/// The engine's live orders, each looked up by client order id (adopted ones by their
/// venue order id): found, the desk takes it up; not found, it was never sent.
async fn take_up_live(
    ctx: &Context<'_>,
    open: &[RestOrder],
    recent: &[RestOrder],
    report: &mut Report,
) -> Result<(), Refusal> {
    let by_client: HashMap<&str, &RestOrder> = open
        .iter()
        .chain(recent.iter())
        .filter_map(|o| o.client_order_id.as_deref().map(|c| (c, o)))
        .collect();
    let listed: Vec<&RestOrder> = open.iter().chain(recent.iter()).collect();
    for order in ctx.live_orders {
        let text = order.id.to_string();
        let found = match ctx.adopted.get(&order.id) {
            Some(&bits) => {
                let record = find_adopted(ctx.client, &listed, ctx.products, bits)
                    .await
                    .map_err(Refusal::Venue)?;
                Some(record.ok_or_else(|| Refusal::AdoptedMissing {
                    id: text.clone(),
                    order_id: traider_core::order::venue_ref_text(bits),
                })?)
            }
            None => by_client
                .get(text.as_str())
                .map(|found| record_of(found, ctx.products))
                .transpose()
                .map_err(Refusal::Venue)?,
        };
        match found {
            Some(record) => {
                tracing::info!(id = %order.id, order_id = record.order_id, status = ?record.status, "journal order found at the venue: taken up");
                report.adopted += 1;
                let _ = ctx.desk.send(DeskMsg::Adopt {
                    id: order.id,
                    record,
                    cancel: order.cancel_pending,
                });
            }
            None => {
                tracing::warn!(id = %order.id, "journal order is not at the venue: it was never placed");
                report.not_sent += 1;
                ctx.venue.publish(VenueEvent::Rejected {
                    id: order.id,
                    reason: VenueReject::NotSent,
                });
            }
        }
    }
    Ok(())
}

/// Open orders the engine does not hold: ours but finished in the journal are cancelled,
/// anything else follows the policy. Returns the venue order ids to cancel.
fn sort_open(
    ctx: &Context<'_>,
    open: &[RestOrder],
    report: &mut Report,
) -> Result<Vec<String>, Refusal> {
    let live: Vec<ClientOrderId> = ctx.live_orders.iter().map(|o| o.id).collect();
    let adopted_refs = live_refs(ctx.adopted, &live);
    let mut cancel: Vec<String> = Vec::new();
    let mut unknown: Vec<&RestOrder> = Vec::new();
    for order in open {
        if venue_ref(&order.order_id).is_some_and(|bits| adopted_refs.contains(&bits)) {
            continue;
        }
        let ours = order
            .client_order_id
            .as_deref()
            .and_then(ClientOrderId::parse)
            .filter(|id| id.namespace() == ctx.namespace);
        match ours {
            Some(id) if live.contains(&id) => {}
            Some(id) if id.counter() < ctx.next_counter => {
                tracing::warn!(%id, order_id = order.order_id, "order finished in the journal is open at the venue: cancelling it");
                report.finished_but_open_cancelled += 1;
                cancel.push(order.order_id.clone());
            }
            _ => unknown.push(order),
        }
    }
    report.unknown_open = unknown.len();
    if !unknown.is_empty() {
        apply_policy(ctx, &unknown, &mut cancel, report)?;
    }
    Ok(cancel)
}

/// `[live] unknown_orders` applied to the open orders the journal does not know.
fn apply_policy(
    ctx: &Context<'_>,
    unknown: &[&RestOrder],
    cancel: &mut Vec<String>,
    report: &mut Report,
) -> Result<(), Refusal> {
    let count = unknown.len();
    match ctx.policy {
        UnknownOrders::Refuse => {
            return Err(Refusal::UnknownOpen {
                count,
                first: unknown[0].order_id.clone(),
            });
        }
        UnknownOrders::Cancel => {
            tracing::warn!(
                count,
                "cancelling open orders the journal does not know (unknown_orders = \"cancel\")"
            );
            report.unknown_cancelled = count;
            cancel.extend(unknown.iter().map(|o| o.order_id.clone()));
        }
        UnknownOrders::Leave => {
            tracing::warn!(
                count,
                "leaving open orders the journal does not know (unknown_orders = \"leave\")"
            );
        }
        UnknownOrders::Adopt => {
            report.unknown_adopted = adopt_unknown(ctx, unknown)?;
        }
    }
    Ok(())
}

/// Cancels the given venue orders, 100 per request; a cancel the venue refuses is logged.
async fn send_cancels(ctx: &Context<'_>, cancel: &[String]) -> Result<(), Refusal> {
    for chunk in cancel.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let results = ctx.client.cancel_orders(&ids).await.map_err(venue_err)?;
        for result in results.iter().filter(|r| !r.success) {
            tracing::warn!(
                order_id = result.order_id,
                reason = result.failure_reason,
                "cancel at reconciliation failed"
            );
        }
    }
    Ok(())
}

/// Recent fills of our orders must be of orders the journal assigned.
async fn check_fills(
    ctx: &Context<'_>,
    product_ids: &[&str],
    open: &[RestOrder],
    recent: &[RestOrder],
    report: &mut Report,
) -> Result<(), Refusal> {
    let fills = ctx
        .client
        .list_fills_paged(&FillFilter {
            product_ids: product_ids.iter().map(|p| (*p).to_owned()).collect(),
            pages_max: HISTORY_PAGES,
            ..FillFilter::default()
        })
        .await
        .map_err(venue_err)?;
    report.fills_seen = fills.len();
    let by_order: HashMap<&str, &RestOrder> = open
        .iter()
        .chain(recent.iter())
        .map(|o| (o.order_id.as_str(), o))
        .collect();
    for fill in &fills {
        let Some(id) = by_order
            .get(fill.order_id.as_str())
            .and_then(|o| o.client_order_id.as_deref())
            .and_then(ClientOrderId::parse)
            .filter(|id| id.namespace() == ctx.namespace)
        else {
            continue;
        };
        if id.counter() >= ctx.next_counter {
            return Err(Refusal::UnexplainedFill {
                client_order_id: id.to_string(),
                counter: id.counter(),
                next: ctx.next_counter,
            });
        }
    }
    Ok(())
}

/// Balances: every currency we trade must have an account.
async fn check_balances(ctx: &Context<'_>, report: &mut Report) -> Result<(), Refusal> {
    let accounts = ctx.client.accounts().await.map_err(venue_err)?;
    for product in ctx.products {
        for currency in product.product_id.split('-') {
            match accounts.iter().find(|a| a.currency == currency) {
                Some(account) => report.balances.push((
                    currency.to_owned(),
                    account.available.to_string(),
                    account.hold.to_string(),
                )),
                None => {
                    return Err(Refusal::NoAccount {
                        currency: currency.to_owned(),
                        product_id: product.product_id.clone(),
                    });
                }
            }
        }
    }
    report.balances.sort();
    report.balances.dedup();
    Ok(())
}
