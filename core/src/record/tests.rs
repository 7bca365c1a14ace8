//! The record codec's tests: golden bytes written by the previous format's code (the
//! on-disk layout must not move), and round-trip properties for every kind.

use super::*;
use crate::admin::{AdminOutcome, Endpoint, Refusal};
use crate::book::StaleCause;
use crate::control::{StateCause, TradingState};
use crate::event::DecodeError;
use crate::risk::{LimitId, Reject};
use crate::sim::{Liquidity, VenueReject};
use crate::venue::GateCause;
use crate::wire::arbitrary::Arbitrary;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn request() -> OrderRequest {
    OrderRequest {
        instrument: InstrumentId(1),
        side: Side::Sell,
        price_ticks: 6_508_367,
        size_lots: 12_345,
        time_in_force: TimeInForce::ImmediateOrCancel,
        post_only: false,
    }
}

fn golden_decisions() -> Vec<Decision> {
    let (request, id) = (request(), ClientOrderId::new(3, 99));
    let reason = Reason::Momentum {
        imbalance_bps: -4000,
        flow_bps: -6000,
    };
    let zero = InstrumentId(0);
    let one = InstrumentId(1);
    vec![
        Decision::OrderNew {
            id,
            request,
            reason,
        },
        Decision::CancelRequest {
            id,
            instrument: one,
            reason: Reason::Requote { drift_ticks: 3 },
        },
        Decision::RiskReject {
            request,
            reject: Reject::PriceCollar,
            reason: Reason::Quote {
                micro_ticks_e4: 123_456_789,
                skew_ticks_e4: -77,
            },
        },
        Decision::OrderAccepted { id },
        Decision::OrderRejected {
            id,
            reason: VenueReject::PostOnlyWouldCross,
        },
        Decision::Fill {
            id,
            instrument: one,
            side: Side::Sell,
            liquidity: Liquidity::Maker,
            price_ticks: 1,
            size_lots: 2,
            fee: Money(-5),
        },
        Decision::OrderCancelled { id },
        Decision::CancelRejected { id },
        Decision::BookStale {
            instrument: zero,
            cause: StaleCause::SequenceGap,
        },
        Decision::BookSynced { instrument: zero },
        Decision::FeedGap {
            conn_id: 2,
            expected: 10,
            got: 12,
        },
        Decision::DecodeFailed {
            error: DecodeError::Number,
        },
        Decision::InstrumentReady { instrument: one },
        Decision::InstrumentRefused { instrument: one },
        Decision::OrderUnknown { id },
        Decision::EditRequest {
            id,
            price_ticks: 5,
            reason: Reason::InventoryCap { position_lots: 9 },
        },
        Decision::EditDone {
            id,
            applied: true,
            price_ticks: 5,
        },
        Decision::TradingGate {
            open: false,
            cause: GateCause::UserChannelSilent,
        },
        Decision::OrderAdopted {
            id,
            request,
            venue_ref: u128::MAX - 1,
        },
        Decision::TradingState {
            state: TradingState::Halted,
            cause: StateCause::Kill,
            actor: Actor::new("ops.alice").expect("name"),
        },
        Decision::StrategySwitched {
            enabled: false,
            cause: StateCause::ExecutionThrottle,
            actor: Actor::risk(),
        },
        Decision::LimitChanged {
            limit: LimitId::MaxOrderNotional,
            instrument: 0,
            old: 5,
            new: -7,
        },
        Decision::AdminDone {
            command: AdminCommandKind::SetLimit,
            outcome: AdminOutcome::RefusedSecondFactor,
        },
        Decision::CancelRequest {
            id,
            instrument: zero,
            reason: Reason::Halt {
                cause: GateCause::UserChannelSilent,
            },
        },
        Decision::CancelRequest {
            id,
            instrument: zero,
            reason: Reason::Control {
                cause: StateCause::Kill,
            },
        },
        Decision::OrderNew {
            id,
            request,
            reason: Reason::Flatten { position_lots: -3 },
        },
    ]
}

/// Payloads the previous format's code wrote for [`golden_decisions`], in order.
const GOLDEN_DECISIONS: [&str; 26] = [
    "630000000003000001000101004f4f63000000000039300000000000000460f0ffffffffffff90e8ffffffffffff",
    "630000000003000001000203000000000000000000000000000000",
    "01000101004f4f6300000000003930000000000000070115cd5b0700000000b3ffffffffffffff",
    "6300000000030000",
    "630000000003000001",
    "63000000000300000100010001000000000000000200000000000000fbffffffffffffffffffffffffffffff",
    "6300000000030000",
    "6300000000030000",
    "000002",
    "0000",
    "020000000a000000000000000c00000000000000",
    "03",
    "0100",
    "0100",
    "6300000000030000",
    "630000000003000005000000000000000309000000000000000000000000000000",
    "6300000000030000010500000000000000",
    "0004",
    "630000000003000001000101004f4f6300000000003930000000000000feffffffffffffffffffffffffffffff",
    "02016f70732e616c6963650000000000000000000000000000000101",
    "00077269736b00000000000000000000000000000000000000000404",
    "0e000005000000000000000000000000000000f9ffffffffffffffffffffffffffffff",
    "0503",
    "630000000003000000000504000000000000000000000000000000",
    "630000000003000000000601000000000000000000000000000000",
    "630000000003000001000101004f4f630000000000393000000000000007fdffffffffffffff0000000000000000",
];

fn golden_venue_events() -> Vec<VenueEvent> {
    let id = ClientOrderId::new(3, 99);
    vec![
        VenueEvent::Accepted { id },
        VenueEvent::Rejected {
            id,
            reason: VenueReject::NotSent,
        },
        VenueEvent::Fill {
            id,
            trade_key: 0xDEAD_BEEF,
            price_ticks: 6_508_367,
            size_lots: 10_000,
            liquidity: Liquidity::Taker,
            fee: Money(-3),
        },
        VenueEvent::Cancelled { id },
        VenueEvent::CancelRejected { id },
        VenueEvent::Unknown { id },
        VenueEvent::Edited { id },
        VenueEvent::EditRejected { id },
        VenueEvent::Adopted {
            id,
            request: request(),
            venue_ref: 0x5a1e_0000_0000_4000_8000_0000_0000_0007,
        },
        VenueEvent::Gate {
            open: false,
            cancel_all: true,
            cause: GateCause::UserChannelSilent,
        },
    ]
}

const GOLDEN_VENUE_EVENTS: [&str; 10] = [
    "016300000000030000",
    "02630000000003000004",
    "036300000000030000efbeadde000000004f4f630000000000102700000000000001fdffffffffffffffffffffffffffffff",
    "046300000000030000",
    "056300000000030000",
    "066300000000030000",
    "086300000000030000",
    "096300000000030000",
    "0a630000000003000001000101004f4f630000000000393000000000000007000000000000800040000000001e5a",
    "07000104",
];

fn golden_admin_inputs() -> Vec<AdminInput> {
    let actor = Actor::with("ops.alice-1", Role::Admin, Source::Api).expect("name");
    let commands = [
        AdminCommand::Kill { flatten: true },
        AdminCommand::Resume {
            second_factor: true,
        },
        AdminCommand::CancelAll,
        AdminCommand::Strategy {
            enabled: false,
            second_factor: false,
        },
        AdminCommand::SetLimit {
            limit: LimitId::MaxPosition,
            instrument: 1,
            value: -(1 << 100),
            second_factor: true,
        },
        AdminCommand::Audit {
            endpoint: Endpoint::Orders,
            status: 403,
            refusal: Refusal::TotpInvalid,
        },
    ];
    commands
        .into_iter()
        .map(|command| AdminInput {
            actor,
            request_id: 0xDEAD_BEEF,
            command,
        })
        .collect()
}

const GOLDEN_ADMIN_INPUTS: [&str; 6] = [
    "016f70732e616c6963652d31000000000000000000000000000301efbeadde01",
    "026f70732e616c6963652d31000000000000000000000000000301efbeadde01",
    "036f70732e616c6963652d31000000000000000000000000000301efbeadde",
    "046f70732e616c6963652d31000000000000000000000000000301efbeadde0000",
    "056f70732e616c6963652d31000000000000000000000000000301efbeadde0f0100000000000000000000000000f0ffffff01",
    "066f70732e616c6963652d31000000000000000000000000000301efbeadde03930107",
];

// Proves the layouts did not move: every kind encodes to the bytes the previous format's
// code wrote for the same value, and those bytes decode back to it.
#[test]
fn golden_bytes_of_the_previous_format() {
    for (decision, golden) in golden_decisions().into_iter().zip(GOLDEN_DECISIONS) {
        let mut buf = [0; PAYLOAD_BYTES_MAX];
        let len = decision.encode(&mut buf);
        assert_eq!(hex(&buf[..len]), golden, "{decision:?}");
        assert_eq!(
            Decision::decode(decision.record_kind(), &buf[..len]),
            Some(decision)
        );
    }
    for (event, golden) in golden_venue_events().into_iter().zip(GOLDEN_VENUE_EVENTS) {
        assert_eq!(hex(&event.to_bytes()), golden, "{event:?}");
    }
    for (input, golden) in golden_admin_inputs().into_iter().zip(GOLDEN_ADMIN_INPUTS) {
        assert_eq!(hex(&input.to_bytes()), golden, "{input:?}");
    }
    let kinds: Vec<u16> = golden_decisions()
        .iter()
        .map(Decision::record_kind)
        .collect();
    assert_eq!(&kinds[..3], &[0x0101, 0x0102, 0x0103]);
    assert_eq!(kinds[22], 0x0117, "admin_done");
}

impl Arbitrary for ClientOrderId {
    fn any_value() -> BoxedStrategy<Self> {
        any::<u64>().prop_map(Self).boxed()
    }
}

impl Arbitrary for InstrumentId {
    fn any_value() -> BoxedStrategy<Self> {
        any::<u16>().prop_map(Self).boxed()
    }
}

impl Arbitrary for Money {
    fn any_value() -> BoxedStrategy<Self> {
        any::<i128>().prop_map(Self).boxed()
    }
}

impl Arbitrary for OrderRequest {
    fn any_value() -> BoxedStrategy<Self> {
        (
            InstrumentId::any_value(),
            Side::any_value(),
            TimeInForce::any_value(),
            any::<bool>(),
            any::<i64>(),
            any::<i64>(),
        )
            .prop_map(
                |(instrument, side, time_in_force, post_only, price_ticks, size_lots)| Self {
                    instrument,
                    side,
                    time_in_force,
                    post_only,
                    price_ticks,
                    size_lots,
                },
            )
            .boxed()
    }
}

impl Arbitrary for Reason {
    fn any_value() -> BoxedStrategy<Self> {
        let a = any::<i64>();
        prop_oneof![
            (any::<i64>(), any::<i64>()).prop_map(|(micro_ticks_e4, skew_ticks_e4)| Self::Quote {
                micro_ticks_e4,
                skew_ticks_e4
            }),
            a.prop_map(|drift_ticks| Self::Requote { drift_ticks }),
            a.prop_map(|position_lots| Self::InventoryCap { position_lots }),
            (any::<i64>(), any::<i64>()).prop_map(|(imbalance_bps, flow_bps)| Self::Momentum {
                imbalance_bps,
                flow_bps
            }),
            GateCause::any_value().prop_map(|cause| Self::Halt { cause }),
            StateCause::any_value().prop_map(|cause| Self::Control { cause }),
            a.prop_map(|position_lots| Self::Flatten { position_lots }),
        ]
        .boxed()
    }
}

impl Arbitrary for Actor {
    fn any_value() -> BoxedStrategy<Self> {
        (
            "[A-Za-z0-9_.-]{1,24}",
            Role::any_value(),
            Source::any_value(),
        )
            .prop_map(|(name, role, source)| Actor::with(&name, role, source).expect("valid name"))
            .boxed()
    }
}

/// Runs `check` on `cases` values of `strategy`; a failure names the kind.
fn for_all<T: std::fmt::Debug>(
    what: &str,
    strategy: BoxedStrategy<T>,
    check: impl Fn(T) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases: 128,
        ..Config::default()
    });
    if let Err(error) = runner.run(&strategy, check) {
        panic!("{what}: {error}");
    }
}

/// What every payload codec must do with `bytes`, the encoding of `value`: decode back to
/// it, and refuse every cut of it and the same bytes with one more.
fn refuses_cuts_and_padding<T: PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    value: &T,
    decode: impl Fn(&[u8]) -> Option<T>,
) -> Result<(), TestCaseError> {
    let decoded = decode(bytes);
    prop_assert_eq!(decoded.as_ref(), Some(value));
    for cut in 0..bytes.len() {
        prop_assert!(
            decode(&bytes[..cut]).is_none(),
            "a {}-byte cut decoded",
            cut
        );
    }
    let mut padded = bytes.to_vec();
    padded.push(0);
    prop_assert!(decode(&padded).is_none(), "a padded payload decoded");
    Ok(())
}

// Proves, for every decision kind, that any value round-trips through its record (kind and
// payload), that a cut or padded payload is refused, and that no other kind's decoder
// takes it as a decision.
#[test]
fn every_decision_kind_round_trips() {
    for kind in DecisionKind::ALL {
        for_all(kind.as_str(), Decision::any_of(kind), |decision| {
            prop_assert_eq!(decision.kind(), kind);
            let mut buf = [0; PAYLOAD_BYTES_MAX];
            let len = decision.encode(&mut buf);
            let record_kind = decision.record_kind();
            prop_assert_eq!(
                RecordKind::from_u16(record_kind),
                Some(RecordKind::Decision(kind))
            );
            prop_assert_eq!(
                Record::decode(record_kind, &buf[..len]),
                Ok(Record::Decision(decision))
            );
            refuses_cuts_and_padding(&buf[..len], &decision, |b| Decision::decode(record_kind, b))?;
            prop_assert!(
                Decision::decode(u16::from(InputRecordKind::MdFrame.code()), &buf[..len]).is_none()
            );
            Ok(())
        });
    }
}

// Proves, for every venue event kind, that any value round-trips through a venue input's
// payload (tag and fields) and that a cut or padded payload is refused.
#[test]
fn every_venue_event_kind_round_trips() {
    for kind in VenueEventKind::ALL {
        for_all(kind.as_str(), VenueEvent::any_of(kind), |event| {
            let bytes = event.to_bytes();
            prop_assert_eq!(bytes[0], kind.code());
            refuses_cuts_and_padding(&bytes, &event, VenueEvent::decode)
        });
    }
}

// Proves, for every admin command kind, that any input (actor, request id, command)
// round-trips through an admin input's payload and that a cut or padded payload is refused.
#[test]
fn every_admin_command_kind_round_trips() {
    for kind in AdminCommandKind::ALL {
        let inputs = (Actor::any_value(), any::<u32>(), AdminCommand::any_of(kind))
            .prop_map(|(actor, request_id, command)| AdminInput {
                actor,
                request_id,
                command,
            })
            .boxed();
        for_all(kind.as_str(), inputs, |input| {
            let bytes = input.to_bytes();
            prop_assert_eq!(bytes[0], kind.code());
            refuses_cuts_and_padding(&bytes, &input, AdminInput::decode)
        });
    }
}

fn any_input_record() -> BoxedStrategy<(InputKind, u32, Vec<u8>)> {
    let data = proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (any::<u32>(), data.clone()).prop_map(|(conn, data)| (InputKind::MdFrame, conn, data)),
        data.clone().prop_map(|data| (InputKind::Products, 0, data)),
        (FeedControl::any_value(), any::<u32>()).prop_map(|(c, conn)| (
            InputKind::Feed(c),
            conn,
            vec![]
        )),
        Just((InputKind::Timer, 0, vec![])),
        data.clone().prop_map(|data| (InputKind::Venue, 0, data)),
        data.prop_map(|data| (InputKind::Admin, 0, data)),
    ]
    .boxed()
}

// Proves every input kind round-trips through its record: the kind, connection and bytes
// the hot path journals come back as the slot that made them; and a shutdown is never
// journaled.
#[test]
fn every_input_kind_round_trips() {
    for_all("input", any_input_record(), |(kind, conn_id, data)| {
        let record = InputRecord {
            kind,
            conn_id,
            data: &data,
        };
        let encoded = record.encode().expect("journaled");
        let payload = encoded.parts().concat();
        prop_assert_eq!(InputRecord::decode(encoded.kind, &payload), Ok(record));
        prop_assert_eq!(
            Record::decode(encoded.kind, &payload),
            Ok(Record::Input(record))
        );
        prop_assert!(RecordKind::from_u16(encoded.kind).is_some_and(RecordKind::is_input));
        Ok(())
    });
    let shutdown = InputRecord {
        kind: InputKind::Shutdown,
        conn_id: 0,
        data: &[],
    };
    assert!(shutdown.encode().is_none());
}

// Proves what the previous format wrote for each input kind: md_frame and feed carry the
// connection id first, feed its control code after it, and the rest their bytes as they are.
#[test]
fn input_layouts() {
    let frame = InputRecord {
        kind: InputKind::MdFrame,
        conn_id: 7,
        data: b"{}",
    }
    .encode()
    .expect("md");
    assert_eq!(
        (frame.kind, frame.parts().concat()),
        (1, vec![7, 0, 0, 0, b'{', b'}'])
    );
    let feed = InputRecord {
        kind: InputKind::Feed(FeedControl::Resubscribed),
        conn_id: 2,
        data: &[],
    };
    let feed = feed.encode().expect("feed");
    assert_eq!((feed.kind, feed.parts().concat()), (3, vec![2, 0, 0, 0, 4]));
    let timer = InputRecord {
        kind: InputKind::Timer,
        conn_id: 0,
        data: &[],
    }
    .encode()
    .expect("timer");
    assert_eq!((timer.kind, timer.parts().concat()), (4, vec![]));
    assert_eq!(
        InputRecord::decode(3, &[2, 0, 0, 0, 9]),
        Err(RecordError::Malformed("feed"))
    );
    assert_eq!(
        InputRecord::decode(4, &[1]),
        Err(RecordError::Malformed("timer"))
    );
    assert_eq!(
        InputRecord::decode(1, &[1, 2]),
        Err(RecordError::Malformed("md_frame"))
    );
    assert_eq!(
        Record::decode(0x0099, &[]),
        Err(RecordError::UnknownKind(0x0099))
    );
    assert_eq!(
        Record::decode(0x0101, &[]),
        Err(RecordError::Malformed("order_new"))
    );
}

// Proves record kinds and names map one to one, and the names are the journal's.
#[test]
fn record_kinds_and_names() {
    let kinds: Vec<RecordKind> = RecordKind::all().collect();
    assert_eq!(kinds.len(), InputRecordKind::COUNT + DecisionKind::COUNT);
    for kind in kinds {
        assert_eq!(RecordKind::from_u16(kind.to_u16()), Some(kind));
        assert_eq!(RecordKind::from_name(kind.as_str()), Some(kind));
        assert_eq!(kind.is_input(), is_input(kind.to_u16()));
    }
    assert_eq!(
        RecordKind::from_name("fill").map(RecordKind::to_u16),
        Some(0x0106)
    );
    assert_eq!(
        RecordKind::from_name("md_frame").map(RecordKind::to_u16),
        Some(0x0001)
    );
    assert_eq!(RecordKind::from_name("fills"), None);
    assert_eq!(RecordKind::from_u16(0x0100), None);
    assert_eq!(RecordKind::from_u16(0x0000), None);
}

// Proves a reason with one field refuses a non-zero unused slot, so every payload the
// decoder accepts encodes back to the same bytes (found by the journal_record fuzz target: a
// cancel_request whose requote carried a non-zero second slot).
#[test]
fn an_unused_reason_slot_must_be_zero() {
    let decision = Decision::CancelRequest {
        id: ClientOrderId::new(3, 99),
        instrument: InstrumentId(0),
        reason: Reason::Requote { drift_ticks: 3 },
    };
    let mut buf = [0; PAYLOAD_BYTES_MAX];
    let len = decision.encode(&mut buf);
    let kind = decision.record_kind();
    assert_eq!(Decision::decode(kind, &buf[..len]), Some(decision));
    // The reason is the last 17 bytes: code, a, b; b is the last 8.
    buf[len - 8] = 225;
    assert_eq!(Decision::decode(kind, &buf[..len]), None);
}

proptest! {
    // Proves the decoders never panic on arbitrary bytes and that whatever decodes encodes
    // back to exactly the bytes it came from (no two encodings of one value).
    #[test]
    fn arbitrary_payloads_decode_canonically(
        kind in 0x0100_u16..0x0120,
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Some(decision) = Decision::decode(kind, &bytes) {
            let mut buf = [0; PAYLOAD_BYTES_MAX];
            let len = decision.encode(&mut buf);
            prop_assert_eq!(&buf[..len], &bytes[..]);
        }
        if let Some(event) = VenueEvent::decode(&bytes) {
            prop_assert_eq!(event.to_bytes(), bytes.clone());
        }
        if let Some(input) = AdminInput::decode(&bytes) {
            prop_assert_eq!(input.to_bytes(), bytes);
        }
    }
}
