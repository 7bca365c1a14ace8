// Proves: the journal's record codec (`traider_core::record`: `Record::decode` of any kind,
// `Decision::decode`, `VenueEvent::decode`, `AdminInput::decode`) never panics on any bytes,
// and whenever it accepts a payload, encoding the value gives back exactly those bytes (and
// the decision's record kind, the input's kind and parts), so a journal has one encoding per
// value and replay reads what was written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traider_core::admin::AdminInput;
use traider_core::decision::Decision;
use traider_core::record::{InputRecordKind, Record, RecordKind};
use traider_core::venue::VenueEvent;
use traider_core::wire::PAYLOAD_BYTES_MAX;
use traider_fuzz_kit::layout::journal_record::{ADMIN, DECISION, DECODERS, VENUE};

/// Any record kind and payload, as `journal dump`, restart and every reader decode them.
fn check_record(kind: u16, payload: &[u8]) {
    match Record::decode(kind, payload) {
        Ok(Record::Decision(decision)) => check_decision(kind, payload, decision),
        Ok(Record::Input(input)) => {
            let encoded = input.encode().expect("a decoded input is journaled");
            assert_eq!(encoded.kind, kind, "{input:?} has another kind");
            assert_eq!(
                encoded.parts().concat(),
                payload,
                "{input:?} encodes to other bytes"
            );
        }
        // A kind this build does not know, or a payload that does not fit its kind.
        Err(_) => assert!(
            RecordKind::from_u16(kind) != Some(RecordKind::Input(InputRecordKind::Products)),
            "a products record takes any bytes"
        ),
    }
}

fn check_decision(kind: u16, payload: &[u8], decision: Decision) {
    let mut buf = [0_u8; PAYLOAD_BYTES_MAX];
    let len = decision.encode(&mut buf);
    assert_eq!(
        decision.record_kind(),
        kind,
        "{decision:?} has another kind"
    );
    assert_eq!(&buf[..len], payload, "{decision:?} encodes to other bytes");
}

fn check_venue(payload: &[u8]) {
    if let Some(event) = VenueEvent::decode(payload) {
        assert_eq!(
            event.to_bytes(),
            payload,
            "{event:?} encodes to other bytes"
        );
    }
}

fn check_admin(payload: &[u8]) {
    if let Some(input) = AdminInput::decode(payload) {
        assert_eq!(
            input.to_bytes(),
            payload,
            "{input:?} encodes to other bytes"
        );
        // What the journal dump and the admin API print of it must not panic either.
        let _ = (input.actor.name(), input.command.name());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&decoder, rest)) = data.split_first() else {
        return;
    };
    match decoder % DECODERS {
        DECISION => {
            if let [low, high, payload @ ..] = rest {
                check_record(u16::from_le_bytes([*low, *high]), payload);
            }
        }
        VENUE => check_venue(rest),
        ADMIN => check_admin(rest),
        _ => {}
    }
});
