//! One user-channel connection: subscribes with fresh tokens, then reads frames until the
//! connection must end (see the parent module for the invariants it keeps).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::super::auth::ApiKey;
use super::super::subscribe::{SequenceCheck, SequenceTracker, scan_envelope};
use super::super::ws::shutdown_requested;
use super::messages::{UserFrame, parse_user_frame};
use super::snapshot::SnapshotAssembler;
use super::{DisconnectReason, UserConfig, UserEvent, UserSink};

pub(super) type UserStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The subscribe message for `channel` with token `jwt`; `product_ids` only when non-empty
/// (omitted = all products for `user`; never sent for `heartbeats`).
pub(crate) fn user_subscribe_message(channel: &str, product_ids: &[String], jwt: &str) -> String {
    let mut message = json!({"type": "subscribe", "channel": channel, "jwt": jwt});
    if !product_ids.is_empty() {
        message["product_ids"] = Value::from(product_ids.to_vec());
    }
    message.to_string()
}

/// What one frame asks of the connection.
enum Next {
    Continue,
    End(DisconnectReason),
}

pub(super) struct Session<'a> {
    config: &'a UserConfig,
    key: &'a ApiKey,
    now_s: fn() -> u64,
    conn_id: u32,
    sequence: SequenceTracker,
    snapshot: SnapshotAssembler,
    heartbeat_deadline: Instant,
    /// Reused buffer of events produced by one frame.
    out: Vec<UserEvent>,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        config: &'a UserConfig,
        key: &'a ApiKey,
        now_s: fn() -> u64,
        conn_id: u32,
    ) -> Self {
        Self {
            config,
            key,
            now_s,
            conn_id,
            sequence: SequenceTracker::new(),
            snapshot: SnapshotAssembler::default(),
            heartbeat_deadline: Instant::now() + config.heartbeat_timeout,
            out: Vec::new(),
        }
    }

    /// Subscribes, then pumps frames; closes the socket unless the server already did.
    pub(super) async fn run<S: UserSink>(
        &mut self,
        mut stream: UserStream,
        sink: &mut S,
        shutdown: &mut watch::Receiver<bool>,
    ) -> DisconnectReason {
        let reason = match self.subscribe(&mut stream).await {
            Ok(()) => self.pump(&mut stream, sink, shutdown).await,
            Err(reason) => reason,
        };
        if reason != DisconnectReason::Closed {
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(1), stream.close(None)).await;
        }
        reason
    }

    /// One subscribe per channel, each with its own fresh token.
    async fn subscribe(&self, stream: &mut UserStream) -> Result<(), DisconnectReason> {
        let failed = DisconnectReason::Failed;
        let none: &[String] = &[];
        for (channel, product_ids) in [("user", &self.config.product_ids[..]), ("heartbeats", none)]
        {
            let jwt = self
                .key
                .ws_jwt((self.now_s)())
                .map_err(|e| failed(e.to_string()))?;
            let text = user_subscribe_message(channel, product_ids, &jwt);
            stream
                .send(Message::text(text))
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        Ok(())
    }

    async fn pump<S: UserSink>(
        &mut self,
        stream: &mut UserStream,
        sink: &mut S,
        shutdown: &mut watch::Receiver<bool>,
    ) -> DisconnectReason {
        loop {
            let message = tokio::select! {
                biased;
                _ = shutdown_requested(shutdown) => return DisconnectReason::Shutdown,
                () = sleep_until(self.heartbeat_deadline) => {
                    sink.on_event(self.conn_id, UserEvent::Silence);
                    return DisconnectReason::Silence;
                }
                message = stream.next() => message,
            };
            let next = match message {
                None => return DisconnectReason::Closed,
                Some(Err(error)) => return DisconnectReason::Failed(error.to_string()),
                Some(Ok(Message::Text(text))) => self.on_text(sink, text.as_bytes()),
                Some(Ok(Message::Close(frame))) => {
                    tracing::info!(conn_id = self.conn_id, ?frame, "user channel close frame");
                    Next::Continue
                }
                Some(Ok(_)) => Next::Continue,
            };
            if let Next::End(reason) = next {
                return reason;
            }
        }
    }

    fn on_text<S: UserSink>(&mut self, sink: &mut S, frame: &[u8]) -> Next {
        let parsed = parse_user_frame(frame);
        let sequence_num = match &parsed {
            Ok(frame) => frame.sequence_num(),
            Err(_) => scan_envelope(frame).sequence_num,
        };
        let mut gap = None;
        if let Some(got) = sequence_num {
            match self.sequence.check(got) {
                SequenceCheck::InOrder => {}
                SequenceCheck::Gap { expected, got } => gap = Some((expected, got)),
                SequenceCheck::Stale { expected, got } => {
                    tracing::debug!(conn_id = self.conn_id, expected, got, "stale frame ignored");
                    return Next::Continue;
                }
            }
        }
        // The frame after a gap is still good data (it may be the only word of a fill on an
        // order that will not be in the next snapshot): deliver it, then report the gap.
        let next = match parsed {
            Ok(frame) => self.on_frame(sink, frame),
            Err(error) => {
                tracing::warn!(conn_id = self.conn_id, %error, "malformed user frame");
                sink.on_event(self.conn_id, UserEvent::Malformed { error });
                Next::Continue
            }
        };
        if let (Some((expected, got)), Next::Continue) = (gap, &next) {
            tracing::warn!(conn_id = self.conn_id, expected, got, "user sequence gap");
            sink.on_event(self.conn_id, UserEvent::Gap { expected, got });
            return Next::End(DisconnectReason::Gap);
        }
        next
    }

    fn on_frame<S: UserSink>(&mut self, sink: &mut S, frame: UserFrame) -> Next {
        match frame {
            UserFrame::User { events, .. } => {
                for batch in events {
                    self.snapshot.push(batch, &mut self.out);
                }
                for event in self.out.drain(..) {
                    sink.on_event(self.conn_id, event);
                }
            }
            UserFrame::Heartbeat { counter, .. } => {
                self.heartbeat_deadline = Instant::now() + self.config.heartbeat_timeout;
                sink.on_event(self.conn_id, UserEvent::Heartbeat { counter });
            }
            UserFrame::Error { message } => {
                tracing::warn!(conn_id = self.conn_id, %message, "user channel error frame");
                if message.to_ascii_lowercase().contains("auth") {
                    sink.on_event(self.conn_id, UserEvent::AuthFailed { message });
                    return Next::End(DisconnectReason::AuthFailed);
                }
                sink.on_event(self.conn_id, UserEvent::VenueError { message });
                return Next::End(DisconnectReason::VenueError);
            }
            UserFrame::Subscriptions { .. } | UserFrame::Other { .. } => {}
        }
        Next::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_messages_carry_one_channel_and_the_token() {
        // Proves the user subscribe lists products only when given, heartbeats never, and
        // both carry the jwt and a single channel string.
        let with: Value =
            serde_json::from_str(&user_subscribe_message("user", &["BTC-USD".into()], "t1"))
                .unwrap();
        assert_eq!(
            with,
            json!({"type":"subscribe","channel":"user","product_ids":["BTC-USD"],"jwt":"t1"})
        );
        let hb: Value =
            serde_json::from_str(&user_subscribe_message("heartbeats", &[], "t2")).unwrap();
        assert_eq!(
            hb,
            json!({"type":"subscribe","channel":"heartbeats","jwt":"t2"})
        );
    }
}
