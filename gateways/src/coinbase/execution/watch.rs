//! The dead-man switch: watches the feeds live trading depends on and closes the trading
//! gate (cancelling every open order) when one goes silent; opens it again when they are
//! healthy. Cold path: one tokio task; its only output is gate inputs into the ring and a
//! refresh request to the order desk.
//!
//! Healthy means: a user-channel message (an order update or a heartbeat) within
//! `deadman`, a user-channel snapshot since the last reconnect, and a market-data frame within
//! `deadman`. A closed gate opens again only after the feeds have been healthy for
//! `recovery` and the desk has re-read every working order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use traider_core::venue::{GateCause, VenueEvent};

use super::desk::{DeskMsg, VenueIn};
use crate::clock::unix_now_ns;

/// Liveness stamps the feeds' cold tasks update (UNIX ns of the last message).
#[derive(Debug, Default)]
pub struct Health {
    pub user_last_ns: AtomicU64,
    /// The user channel delivered its snapshot since it last connected.
    pub user_synced: AtomicBool,
    pub market_last_ns: AtomicU64,
    /// Set once startup reconciliation has opened the gate: before that, the watch keeps
    /// quiet (the gate is closed anyway).
    pub reconciled: AtomicBool,
}

impl Health {
    pub fn user_message(&self) {
        self.user_last_ns.store(unix_now_ns(), Ordering::Release);
    }

    pub fn market_message(&self) {
        self.market_last_ns.store(unix_now_ns(), Ordering::Release);
    }

    /// Why trading must stop now, if it must.
    fn fault(&self, now_ns: u64, deadman: Duration) -> Option<GateCause> {
        let limit = deadman.as_nanos() as u64;
        let silent = |last: &AtomicU64| now_ns.saturating_sub(last.load(Ordering::Acquire)) > limit;
        if silent(&self.user_last_ns) {
            Some(GateCause::UserChannelSilent)
        } else if !self.user_synced.load(Ordering::Acquire) {
            Some(GateCause::UserChannelGap)
        } else if silent(&self.market_last_ns) {
            Some(GateCause::MarketDataDown)
        } else {
            None
        }
    }
}

/// What the switch did, for the summary.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct WatchStats {
    pub halts: u64,
    pub resumes: u64,
}

/// Runs the switch until `shutdown`; `kill` (with whether to flatten) also trips the kill
/// switch when it closes the gate.
pub async fn run(
    health: Arc<Health>,
    venue: VenueIn,
    desk: mpsc::UnboundedSender<DeskMsg>,
    deadman: Duration,
    kill: Option<bool>,
    mut shutdown: watch::Receiver<bool>,
) -> WatchStats {
    let recovery = (deadman / 4).max(Duration::from_millis(200));
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut stats = WatchStats::default();
    let mut halted: Option<GateCause> = None;
    let mut healthy_since: Option<u64> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return stats,
        }
        if !health.reconciled.load(Ordering::Acquire) {
            continue;
        }
        let now = unix_now_ns();
        match (health.fault(now, deadman), halted) {
            (Some(cause), None) => {
                tracing::error!(
                    cause = cause.as_str(),
                    "dead-man switch: trading stopped, cancelling every open order"
                );
                venue.publish(VenueEvent::Gate {
                    open: false,
                    cancel_all: true,
                    cause,
                });
                if let Some(flatten) = kill {
                    tracing::error!(
                        flatten,
                        "dead-man switch: kill switch (deadman_action = \"kill\")"
                    );
                    venue.publish_admin(traider_core::admin::AdminInput {
                        actor: traider_core::admin::Actor::dead_man(),
                        request_id: 0,
                        command: traider_core::admin::AdminCommand::Kill { flatten },
                    });
                }
                halted = Some(cause);
                healthy_since = None;
                stats.halts += 1;
            }
            (Some(_), Some(_)) => healthy_since = None,
            (None, Some(cause)) => {
                let since = *healthy_since.get_or_insert(now);
                if now.saturating_sub(since) >= recovery.as_nanos() as u64 {
                    tracing::info!(
                        was = cause.as_str(),
                        "feeds healthy again: re-reading orders, trading resumes"
                    );
                    let _ = desk.send(DeskMsg::RefreshAll);
                    venue.publish(VenueEvent::Gate {
                        open: true,
                        cancel_all: false,
                        cause: GateCause::FeedsHealthy,
                    });
                    halted = None;
                    healthy_since = None;
                    stats.resumes += 1;
                }
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves each silence is named: no user message, no user snapshot since reconnect, no
    // market data, in that order of precedence; and fresh stamps are healthy.
    #[test]
    fn faults_are_named() {
        let health = Health::default();
        let deadman = Duration::from_secs(1);
        let now = 10_000_000_000;
        assert_eq!(
            health.fault(now, deadman),
            Some(GateCause::UserChannelSilent)
        );
        health.user_last_ns.store(now - 1, Ordering::Release);
        assert_eq!(health.fault(now, deadman), Some(GateCause::UserChannelGap));
        health.user_synced.store(true, Ordering::Release);
        assert_eq!(health.fault(now, deadman), Some(GateCause::MarketDataDown));
        health.market_last_ns.store(now - 1, Ordering::Release);
        assert_eq!(health.fault(now, deadman), None);
        assert_eq!(
            health.fault(now + 2_000_000_000, deadman),
            Some(GateCause::UserChannelSilent)
        );
    }
}
