//! One replay WebSocket connection: waits for a subscribe, acknowledges every (un)subscribe,
//! then streams the recording filtered to the connection's subscriptions, with one
//! `sequence_num` counter from 0 over everything it sends, the configured faults (first
//! connection only), fresh snapshots on a `level2` resubscribe, and heartbeats after the end.
//!
//! Runs as one tokio task per connection plus a small reader task that turns client frames
//! into [`Command`]s, so a slow send never delays reading and vice versa.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Duration, Instant, sleep_until};

use super::clock::{format_go_time, format_rfc3339_ns};
use super::data::{ReplayData, ReplayFrame, subscribe_name};
use super::messages::{
    Command, ack_frame, error_frame, heartbeat_frame, parse_command, products_for,
};
use super::{BookMirror, Faults, Pace, Shared};

/// Why a session ended.
#[derive(Debug)]
enum Stop {
    ClientGone,
    Shutdown,
    SubscribeTimeout,
    FaultDisconnect,
    SendFailed,
}

enum Wake {
    Command(Command),
    Timer,
}

/// Serves one upgraded connection until it ends.
pub(super) async fn serve(socket: WebSocket, shared: Arc<Shared>, conn_index: u64) {
    let (tx, rx) = socket.split();
    let (command_tx, commands) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_commands(rx, command_tx));
    let faults = if conn_index == 1 {
        shared.config.faults.clone()
    } else {
        Faults::default()
    };
    let mut session = Session {
        data: shared.data.clone(),
        pace: shared.config.pace,
        speed: shared.config.speed,
        loop_playback: shared.config.loop_playback,
        subscribe_timeout: shared.config.subscribe_timeout,
        subscribe_settle: shared.config.subscribe_settle,
        heartbeat_interval: shared.config.heartbeat_interval,
        shutdown: shared.shutdown.clone(),
        conn_index,
        tx,
        commands,
        faults,
        subscriptions: BTreeMap::new(),
        mirror: BookMirror::new(),
        next_seq: 0,
        cursor: 0,
        anchor: None,
        clock_ns: shared.data.first_timestamp_ns,
        stalled: false,
        heartbeats_sent: 0,
        next_heartbeat: None,
    };
    let stop = session.run().await;
    tracing::info!(
        conn_index,
        ?stop,
        sent = session.next_seq,
        "replay connection ended"
    );
    reader.abort();
}

/// Forwards client text frames as commands; ends (dropping the sender) when the client goes.
async fn read_commands(mut rx: SplitStream<WebSocket>, commands: mpsc::UnboundedSender<Command>) {
    while let Some(Ok(message)) = rx.next().await {
        match message {
            Message::Text(text) => {
                if commands.send(parse_command(text.as_str())).is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

struct Session {
    data: Arc<ReplayData>,
    pace: Pace,
    speed: f64,
    loop_playback: bool,
    subscribe_timeout: Duration,
    subscribe_settle: Duration,
    heartbeat_interval: Duration,
    shutdown: watch::Receiver<bool>,
    conn_index: u64,
    tx: SplitSink<WebSocket, Message>,
    commands: mpsc::UnboundedReceiver<Command>,
    faults: Faults,
    /// Subscribe name -> product ids, in subscription order.
    subscriptions: BTreeMap<String, Vec<String>>,
    mirror: BookMirror,
    next_seq: u64,
    /// Index of the next recorded frame.
    cursor: usize,
    /// `(wall instant, recorded ts_ns)` that recorded pacing counts from.
    anchor: Option<(Instant, u64)>,
    /// The replay clock: envelope time of the last frame passed.
    clock_ns: u64,
    stalled: bool,
    heartbeats_sent: u64,
    next_heartbeat: Option<Instant>,
}

impl Session {
    async fn run(&mut self) -> Stop {
        let result = async {
            self.await_first_subscribe().await?;
            self.settle().await?;
            self.stream().await
        }
        .await;
        match result {
            Ok(never) => match never {},
            Err(stop) => stop,
        }
    }

    /// Waits for a command, the `until` instant, or shutdown.
    async fn wait(&mut self, until: Option<Instant>) -> Result<Wake, Stop> {
        let timer = async {
            match until {
                Some(instant) => sleep_until(instant).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.shutdown.wait_for(|stop| *stop) => Err(Stop::Shutdown),
            command = self.commands.recv() => command.map(Wake::Command).ok_or(Stop::ClientGone),
            () = timer => Ok(Wake::Timer),
        }
    }

    async fn await_first_subscribe(&mut self) -> Result<(), Stop> {
        let deadline = Instant::now() + self.subscribe_timeout;
        loop {
            match self.wait(Some(deadline)).await? {
                Wake::Command(command) => {
                    if self.handle(command).await? {
                        return Ok(());
                    }
                }
                Wake::Timer => {
                    tracing::info!(
                        conn_index = self.conn_index,
                        "no subscribe in time: closing"
                    );
                    let reason = "no subscribe message received within the time limit";
                    let close = CloseFrame {
                        code: close_code::POLICY,
                        reason: reason.into(),
                    };
                    let _ = self.tx.send(Message::Close(Some(close))).await;
                    return Err(Stop::SubscribeTimeout);
                }
            }
        }
    }

    /// Lets a burst of subscribe messages finish before streaming starts.
    async fn settle(&mut self) -> Result<(), Stop> {
        loop {
            match self
                .wait(Some(Instant::now() + self.subscribe_settle))
                .await?
            {
                Wake::Command(command) => drop(self.handle(command).await?),
                Wake::Timer => return Ok(()),
            }
        }
    }

    async fn stream(&mut self) -> Result<std::convert::Infallible, Stop> {
        let data = self.data.clone();
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(command) => drop(self.handle(command).await?),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Err(Stop::ClientGone),
                }
            }
            if self.stalled {
                if let Wake::Command(command) = self.wait(None).await? {
                    self.handle(command).await?;
                }
                continue;
            }
            let Some(frame) = data.frames.get(self.cursor) else {
                if self.loop_playback && !data.frames.is_empty() {
                    self.cursor = 0;
                    self.anchor = None;
                } else {
                    self.after_end().await?;
                }
                continue;
            };
            if let Some(due) = self.due(frame).filter(|due| *due > Instant::now())
                && let Wake::Command(command) = self.wait(Some(due)).await?
            {
                self.handle(command).await?;
                continue;
            }
            self.cursor += 1;
            self.pass(frame).await?;
        }
    }

    /// When `frame` is due under recorded pacing.
    fn due(&mut self, frame: &ReplayFrame) -> Option<Instant> {
        if self.pace == Pace::Asap {
            return None;
        }
        let (start, start_ts_ns) = *self.anchor.get_or_insert((Instant::now(), frame.ts_ns));
        let offset_ns = frame.ts_ns.saturating_sub(start_ts_ns) as f64 / self.speed;
        Some(start + Duration::from_nanos(offset_ns as u64))
    }

    /// Moves the replay past one recorded frame: the mirror always sees it, the client only
    /// if subscribed (recorded acks are never forwarded: the server writes its own).
    async fn pass(&mut self, frame: &ReplayFrame) -> Result<(), Stop> {
        self.clock_ns = frame.timestamp_ns.unwrap_or(self.clock_ns);
        for event in &frame.l2 {
            self.mirror.apply(event);
        }
        if frame.channel == "subscriptions" || !self.wants(frame) {
            return Ok(());
        }
        let Some(seq) = self.take_sequence() else {
            return Ok(());
        };
        self.deliver(seq, frame.text_with_sequence(seq)).await
    }

    /// Whether the connection subscribed to this frame's channel and to at least one of its
    /// products (recorded frames name one product each; a mixed frame is sent whole).
    fn wants(&self, frame: &ReplayFrame) -> bool {
        let Some(products) = self.subscriptions.get(subscribe_name(&frame.channel)) else {
            return false;
        };
        frame.products.is_empty() || frame.products.iter().any(|p| products.contains(p))
    }

    /// After the recording: a synthesized heartbeat every interval (if subscribed).
    async fn after_end(&mut self) -> Result<(), Stop> {
        let due = *self
            .next_heartbeat
            .get_or_insert(Instant::now() + self.heartbeat_interval);
        match self.wait(Some(due)).await? {
            Wake::Command(command) => drop(self.handle(command).await?),
            Wake::Timer => {
                self.next_heartbeat = Some(due + self.heartbeat_interval);
                if self.subscriptions.contains_key("heartbeats") {
                    self.send_heartbeat().await?;
                }
            }
        }
        Ok(())
    }

    async fn send_heartbeat(&mut self) -> Result<(), Stop> {
        self.heartbeats_sent += 1;
        let last = self.data.last_heartbeat;
        let elapsed_ns = self.heartbeats_sent * 1_000_000_000;
        self.clock_ns = last.timestamp_ns + elapsed_ns;
        let current_time =
            format_go_time(last.wall_ns + elapsed_ns, last.monotonic_ns + elapsed_ns);
        let counter = last.counter + self.heartbeats_sent;
        let Some(seq) = self.take_sequence() else {
            return Ok(());
        };
        let text = heartbeat_frame(
            &format_rfc3339_ns(self.clock_ns),
            seq,
            &current_time,
            counter,
        );
        self.deliver(seq, text).await
    }

    /// Applies one client command. `Ok(true)` for an accepted subscribe.
    async fn handle(&mut self, command: Command) -> Result<bool, Stop> {
        let (subscribe, channel, requested) = match command {
            Command::Invalid(reason) => {
                self.send_error(&reason).await?;
                return Ok(false);
            }
            Command::Subscribe {
                channel,
                product_ids,
            } => (true, channel, product_ids),
            Command::Unsubscribe {
                channel,
                product_ids,
            } => (false, channel, product_ids),
        };
        let products = match products_for(&channel, requested, subscribe) {
            Ok(products) => products,
            Err(reason) => {
                self.send_error(&reason).await?;
                return Ok(false);
            }
        };
        tracing::debug!(conn_index = self.conn_index, subscribe, %channel, ?products, "subscription change");
        if subscribe {
            let entry = self.subscriptions.entry(channel.clone()).or_default();
            for product in &products {
                if !entry.contains(product) {
                    entry.push(product.clone());
                }
            }
        } else {
            self.unsubscribe(&channel, products.as_slice());
        }
        self.send_ack().await?;
        if subscribe && channel == "level2" {
            self.send_snapshots(&products).await?;
        }
        Ok(subscribe)
    }

    /// Removes `products` (all of the channel when empty) from `channel`.
    fn unsubscribe(&mut self, channel: &str, products: &[String]) {
        let Some(entry) = self.subscriptions.get_mut(channel) else {
            return;
        };
        entry.retain(|p| !products.is_empty() && !products.contains(p));
        if entry.is_empty() {
            self.subscriptions.remove(channel);
        }
    }

    /// Fresh snapshots from the mirror for products whose recorded snapshot already passed
    /// (for the others, the recorded snapshot is still ahead in the stream).
    async fn send_snapshots(&mut self, products: &[String]) -> Result<(), Stop> {
        for product in products {
            if !self.mirror.contains(product) {
                continue;
            }
            let Some(seq) = self.take_sequence() else {
                return Ok(());
            };
            let timestamp = format_rfc3339_ns(self.clock_ns);
            let text = self
                .mirror
                .snapshot_frame(product, &timestamp, seq)
                .unwrap_or_default();
            tracing::info!(conn_index = self.conn_index, %product, seq, "sending fresh l2 snapshot");
            self.deliver(seq, text).await?;
        }
        Ok(())
    }

    async fn send_ack(&mut self) -> Result<(), Stop> {
        let Some(seq) = self.take_sequence() else {
            return Ok(());
        };
        let text = ack_frame(&format_rfc3339_ns(self.clock_ns), seq, &self.subscriptions);
        self.deliver(seq, text).await
    }

    /// Error frames carry no `sequence_num`, as on Coinbase.
    async fn send_error(&mut self, reason: &str) -> Result<(), Stop> {
        if self.stalled {
            return Ok(());
        }
        self.send_text(error_frame(reason)).await
    }

    /// The next outgoing `sequence_num`, or `None` once stalled (nothing is sent then).
    fn take_sequence(&mut self) -> Option<u64> {
        if self.stalled {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        Some(seq)
    }

    /// Sends the message carrying `seq`, applying the faults.
    async fn deliver(&mut self, seq: u64, text: String) -> Result<(), Stop> {
        if self.faults.drop_seqs.contains(&seq) {
            tracing::info!(conn_index = self.conn_index, seq, "fault: dropping message");
        } else {
            self.send_text(text).await?;
        }
        if self.faults.disconnect_after_seq == Some(seq) {
            tracing::info!(conn_index = self.conn_index, seq, "fault: disconnecting");
            let close = CloseFrame {
                code: close_code::AWAY,
                reason: "replay fault: disconnect".into(),
            };
            let _ = self.tx.send(Message::Close(Some(close))).await;
            return Err(Stop::FaultDisconnect);
        }
        if self.faults.stall_after_seq == Some(seq) {
            tracing::info!(conn_index = self.conn_index, seq, "fault: stalling");
            self.stalled = true;
        }
        Ok(())
    }

    async fn send_text(&mut self, text: String) -> Result<(), Stop> {
        self.tx
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Stop::SendFailed)
    }
}
