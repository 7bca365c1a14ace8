//! What enters the hot path: the input ring's slot and the kinds of input it carries.
//!
//! Every input is stamped by the sequencer (the cold-path producer that publishes it) with
//! `ts_recv_ns`, wall-clock UNIX nanoseconds at receipt. That stamp is the only time the core
//! knows. `ts_pub_raw` is a `quanta` raw counter for latency instrumentation only; it is never
//! journaled and never feeds a decision.

crate::wire::code_enum! {
    /// Connection health changes reported by a gateway's cold thread.
    ///
    /// They travel through the ring and the journal like market data, so the engine reacts
    /// to them deterministically on replay.
    pub enum FeedControl {
        /// A new market-data connection opened; its `sequence_num` counter starts afresh.
        Connected = 1 "connected",
        /// The connection closed or failed; every book it fed is stale until a new snapshot.
        Disconnected = 2 "disconnected",
        /// No heartbeat arrived within the configured limit; books are stale.
        HeartbeatSilence = 3 "heartbeat_silence",
        /// The gateway asked the venue for fresh snapshots (after a gap) on this connection.
        Resubscribed = 4 "resubscribed",
    }
}

/// The kind of an input slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A market-data WebSocket text frame (`data` holds the JSON).
    MdFrame,
    /// A venue products response body (`data` holds the JSON): instrument definitions.
    Products,
    /// A connection health change.
    Feed(FeedControl),
    /// A clock tick from the timer thread: lets time pass without market data.
    Timer,
    /// A live venue's report or a trading-gate change (`data` holds an encoded
    /// [`crate::venue::VenueEvent`]).
    Venue,
    /// An operator's command or an audited request (`data` holds an encoded
    /// [`crate::admin::AdminInput`]).
    Admin,
    /// Stop: the hot thread drains, flushes the journal and returns.
    Shutdown,
}

/// One slot of the input ring. Pre-allocated at start-up; `data` keeps its capacity across
/// uses so steady-state publishing does not allocate.
#[derive(Debug)]
pub struct InputSlot {
    pub kind: InputKind,
    /// The gateway connection this input came from (0 when not connection-bound).
    pub conn_id: u32,
    /// Sequencer stamp: UNIX nanoseconds at receipt. The core's only notion of time.
    pub ts_recv_ns: u64,
    /// `quanta` raw counter at publish, for latency histograms only.
    pub ts_pub_raw: u64,
    /// Raw bytes (a JSON frame or body); empty for controls and timers.
    pub data: Vec<u8>,
    /// The buffer capacity the slot was created with.
    base_capacity: usize,
}

/// A slot whose buffer grew past this multiple of its base capacity (a snapshot passed
/// through it) gives the memory back when it next carries a small input.
const SLOT_SHRINK_FACTOR: usize = 4;

impl InputSlot {
    /// An empty slot whose buffer can hold `capacity_bytes` without reallocating.
    pub fn with_capacity(capacity_bytes: usize) -> Self {
        Self {
            kind: InputKind::Timer,
            conn_id: 0,
            ts_recv_ns: 0,
            ts_pub_raw: 0,
            data: Vec::with_capacity(capacity_bytes),
            base_capacity: capacity_bytes,
        }
    }

    /// Fills the slot in place, reusing its buffer. Runs on the producer's (cold) thread, so
    /// a buffer that once held a multi-megabyte snapshot is released here, not on the hot
    /// thread: without that, every slot a snapshot ever passed through would keep its size.
    pub fn fill(
        &mut self,
        kind: InputKind,
        conn_id: u32,
        ts_recv_ns: u64,
        ts_pub_raw: u64,
        data: &[u8],
    ) {
        self.kind = kind;
        self.conn_id = conn_id;
        self.ts_recv_ns = ts_recv_ns;
        self.ts_pub_raw = ts_pub_raw;
        let oversized = self.data.capacity() > SLOT_SHRINK_FACTOR * self.base_capacity.max(64);
        if oversized && data.len() <= self.base_capacity {
            self.data = Vec::with_capacity(self.base_capacity);
        }
        self.data.clear();
        self.data.extend_from_slice(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a slot that carried a big frame returns to its base capacity on the next small one.
    #[test]
    fn oversized_slot_shrinks_back() {
        let mut slot = InputSlot::with_capacity(1024);
        slot.fill(InputKind::MdFrame, 1, 2, 3, &vec![b'x'; 5 << 20]);
        assert!(slot.data.capacity() >= 5 << 20);
        slot.fill(InputKind::MdFrame, 1, 2, 3, b"{}");
        assert_eq!(slot.data, b"{}");
        assert!(slot.data.capacity() < 4096);
        assert_eq!((slot.conn_id, slot.ts_recv_ns, slot.ts_pub_raw), (1, 2, 3));
    }
}
