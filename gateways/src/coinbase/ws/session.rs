//! One market-data connection's receive loop: forwards frames, runs the envelope checks
//! (sequence gaps, heartbeats, resync progress) and resubscribes `level2` after a gap.
//! Runs on the market-data client's tokio task; see the parent module for the invariants.

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use traider_core::input::FeedControl;

use super::super::subscribe::{
    SequenceCheck, SequenceTracker, SubscribeKind, scan_envelope, subscribe_message,
};
use super::{FrameSink, SessionEnd, WsConfig, WsError, WsStats, WsStream, shutdown_requested};

/// Bytes of a venue error frame copied into the log.
const ERROR_PREVIEW_BYTES: usize = 200;

/// Pending `level2` resync after a gap.
struct Resync {
    deadline: Instant,
    /// Products whose fresh snapshot has not arrived yet.
    waiting: Vec<String>,
}

/// Per-connection state.
pub(super) struct Session<'a> {
    config: &'a WsConfig,
    stats: &'a WsStats,
    conn_id: u32,
    sequence: SequenceTracker,
    resync: Option<Resync>,
    heartbeat_deadline: Instant,
    watch_heartbeats: bool,
}

impl<'a> Session<'a> {
    pub(super) fn new(config: &'a WsConfig, stats: &'a WsStats, conn_id: u32) -> Self {
        Self {
            config,
            stats,
            conn_id,
            sequence: SequenceTracker::new(),
            resync: None,
            heartbeat_deadline: Instant::now() + config.heartbeat_timeout,
            watch_heartbeats: config.has_channel("heartbeats"),
        }
    }

    pub(super) async fn subscribe_all(&self, stream: &mut WsStream) -> Result<(), WsError> {
        for channel in &self.config.channels {
            let text =
                subscribe_message(SubscribeKind::Subscribe, channel, &self.config.product_ids);
            stream.send(Message::text(text)).await?;
        }
        Ok(())
    }

    pub(super) async fn pump<S: FrameSink>(
        &mut self,
        stream: &mut WsStream,
        sink: &mut S,
        shutdown: &mut watch::Receiver<bool>,
    ) -> SessionEnd {
        loop {
            let resync_deadline = self.resync.as_ref().map(|r| r.deadline);
            let message = tokio::select! {
                biased;
                _ = shutdown_requested(shutdown) => return SessionEnd::Shutdown,
                () = sleep_until(self.heartbeat_deadline) => {
                    tracing::warn!(conn_id = self.conn_id, "market-data heartbeat silence");
                    self.stats.add_heartbeat_silence();
                    sink.on_feed(self.conn_id, FeedControl::HeartbeatSilence);
                    return SessionEnd::HeartbeatSilence;
                }
                () = sleep_until(resync_deadline.unwrap_or(self.heartbeat_deadline)),
                    if resync_deadline.is_some() => {
                    tracing::warn!(conn_id = self.conn_id, "level2 resync timed out");
                    return SessionEnd::ResyncFailed;
                }
                message = stream.next() => message,
            };
            let result = match message {
                None => return SessionEnd::Closed,
                Some(Err(error)) => return SessionEnd::Failed(error.into()),
                Some(Ok(Message::Text(text))) => self.on_text(stream, sink, text.as_bytes()).await,
                Some(Ok(Message::Binary(_))) => {
                    self.stats.add_binary_frame();
                    Ok(true)
                }
                Some(Ok(Message::Close(frame))) => {
                    tracing::info!(conn_id = self.conn_id, ?frame, "market-data close frame");
                    Ok(true)
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(true),
            };
            match result {
                Ok(true) => {}
                Ok(false) => return SessionEnd::ResyncFailed,
                Err(error) => return SessionEnd::Failed(error),
            }
        }
    }

    /// Forwards one text frame and runs the envelope checks. `Ok(false)` asks for a reconnect.
    async fn on_text<S: FrameSink>(
        &mut self,
        stream: &mut WsStream,
        sink: &mut S,
        frame: &[u8],
    ) -> Result<bool, WsError> {
        self.stats.add_frame(frame.len());
        sink.on_frame(self.conn_id, frame);
        let envelope = scan_envelope(frame);
        if envelope.is_error() {
            self.stats.add_error_frame();
            let preview = String::from_utf8_lossy(&frame[..frame.len().min(ERROR_PREVIEW_BYTES)]);
            tracing::warn!(conn_id = self.conn_id, frame = %preview, "venue error frame");
        }
        if !self.watch_heartbeats || envelope.channel == Some(b"heartbeats") {
            self.heartbeat_deadline = Instant::now() + self.config.heartbeat_timeout;
        }
        if let (Some(resync), true) = (&mut self.resync, envelope.is_l2_snapshot()) {
            resync
                .waiting
                .retain(|p| Some(p.as_bytes()) != envelope.product_id);
            if resync.waiting.is_empty() {
                tracing::info!(conn_id = self.conn_id, "level2 resync complete");
                self.resync = None;
            }
        }
        let Some(sequence_num) = envelope.sequence_num else {
            return Ok(true);
        };
        let SequenceCheck::Gap { expected, got } = self.sequence.check(sequence_num) else {
            return Ok(true);
        };
        self.stats.add_gap();
        tracing::warn!(conn_id = self.conn_id, expected, got, "sequence_num gap");
        if self.resync.is_some() {
            tracing::warn!(
                conn_id = self.conn_id,
                "second gap during resync: reconnecting"
            );
            return Ok(false);
        }
        if self.config.has_channel("level2") {
            self.resubscribe_level2(stream, sink).await?;
        }
        Ok(true)
    }

    async fn resubscribe_level2<S: FrameSink>(
        &mut self,
        stream: &mut WsStream,
        sink: &mut S,
    ) -> Result<(), WsError> {
        let ids = &self.config.product_ids;
        stream
            .send(Message::text(subscribe_message(
                SubscribeKind::Unsubscribe,
                "level2",
                ids,
            )))
            .await?;
        stream
            .send(Message::text(subscribe_message(
                SubscribeKind::Subscribe,
                "level2",
                ids,
            )))
            .await?;
        self.stats.add_resubscribe();
        sink.on_feed(self.conn_id, FeedControl::Resubscribed);
        self.resync = Some(Resync {
            deadline: Instant::now() + self.config.resync_timeout,
            waiting: ids.clone(),
        });
        Ok(())
    }
}
