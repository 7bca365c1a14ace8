//! The admin endpoint as `traiderd run` (paper and live) starts it, and the kill switch on
//! SIGUSR1.
//!
//! [`Observed`] is made before the hot path starts (its inputs go to the hot thread);
//! [`Observed::serve`] starts the endpoint once the input ring exists. SIGUSR1 publishes a
//! kill (actor `SIGUSR1`, source `signal`) straight into the ring from its own thread.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use traider_core::admin::{Actor, AdminCommand, AdminInput};
use traider_core::engine::StatusSnapshot;
use traider_core::input::InputKind;
use traider_core::pipeline::ring::InputProducer;
use traider_journal::Syncer;

use super::api::AdminState;
use super::board::{LatencyBoard, StatusBoard};
use super::server::AdminServer;
use crate::clock::unix_now_ns;
use crate::config::DaemonConfig;
use crate::hot::Observers;

/// The boards the cold side reads, and (until the hot path takes them) their inputs.
pub struct Observed {
    pub status: StatusBoard,
    latency: LatencyBoard,
    observers: Option<Observers>,
}

impl Observed {
    pub fn new(initial: &StatusSnapshot) -> Self {
        let (status, status_in) = StatusBoard::new(initial);
        let (latency, tap) = LatencyBoard::new();
        Self {
            status,
            latency,
            observers: Some(Observers {
                status: status_in,
                latency: Some(tap),
            }),
        }
    }

    /// The hot thread's side (once).
    pub fn observers(&mut self) -> Option<Observers> {
        self.observers.take()
    }

    /// Starts the endpoint when the config has `[admin]`.
    pub fn serve(
        &self,
        runtime: &tokio::runtime::Runtime,
        config: &DaemonConfig,
        mode: &'static str,
        producer: InputProducer,
        journal: Option<Syncer>,
    ) -> anyhow::Result<Option<AdminServer>> {
        let Some(admin) = &config.admin else {
            return Ok(None);
        };
        let auth = admin.authenticator().context("admin.tokens")?;
        if admin.tokens.is_empty() {
            tracing::warn!("[admin] has no tokens: every /api/v1 request will be refused");
        }
        let state = AdminState::new(
            mode,
            auth,
            self.status.clone(),
            self.latency.clone(),
            producer,
            admin.metrics_public,
            Duration::from_millis(admin.command_wait_ms),
        );
        AdminServer::start(runtime, admin, Arc::new(state), journal).map(Some)
    }
}

/// From here on SIGUSR1 kills: HALTED, every open order cancelled (and positions flattened
/// when `[risk] kill_flatten`), published at once by a thread of its own.
pub fn kill_on_sigusr1(mut producer: InputProducer, flatten: bool) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR1])
        .context("cannot install the SIGUSR1 handler")?;
    std::thread::Builder::new()
        .name("traider-sigusr1".into())
        .spawn(move || {
            for _ in signals.forever() {
                tracing::warn!(flatten, "SIGUSR1: kill switch");
                let input = AdminInput {
                    actor: Actor::signal(),
                    request_id: 0,
                    command: AdminCommand::Kill { flatten },
                };
                producer.publish(InputKind::Admin, 0, unix_now_ns(), &input.to_bytes());
            }
        })
        .context("cannot start the SIGUSR1 thread")?;
    Ok(())
}
