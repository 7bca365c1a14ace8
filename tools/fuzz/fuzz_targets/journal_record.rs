// Proves: the core's journal payload decoders (`Decision::decode`, `VenueEvent::decode`,
// `AdminInput::decode`) never panic on any bytes, and whenever one accepts a payload,
// encoding the value gives back exactly those bytes (and the decision's record kind), so a
// journal has one encoding per value and replay reads what was written.
//
// Written against the current per-type codecs; when they move into `core/src/record.rs`,
// port the three `check_*` functions below and keep the property.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traider_core::admin::AdminInput;
use traider_core::decision::{DECISION_BYTES_MAX, Decision};
use traider_core::venue::VenueEvent;
use traider_fuzz_kit::layout::journal_record::{ADMIN, DECISION, DECODERS, VENUE};

fn check_decision(kind: u16, payload: &[u8]) {
    let Some(decision) = Decision::decode(kind, payload) else {
        return;
    };
    let mut buf = [0_u8; DECISION_BYTES_MAX];
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
                check_decision(u16::from_le_bytes([*low, *high]), payload);
            }
        }
        VENUE => check_venue(rest),
        ADMIN => check_admin(rest),
        _ => {}
    }
});
