// Proves: no sequence of user-data frames (one per line, with REST fills pages between them
// as the live daemon interleaves them) makes the user-channel parser, its envelope scan,
// the sequence tracker or the fill tracker panic; a frame that cannot be read is a
// `MalformedFrame` value; and the fill tracker's deltas add up to what it has accounted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use traider_fuzz::FillLedger;
use traider_gateways::coinbase::reads::parse_fills_page;
use traider_gateways::coinbase::subscribe::{SequenceCheck, SequenceTracker, scan_envelope};
use traider_gateways::coinbase::user::{UserFrame, parse_user_frame};

fuzz_target!(|data: &[u8]| {
    let mut sequence = SequenceTracker::new();
    let mut ledger = FillLedger::default();
    for line in data.split(|&b| b == b'\n') {
        // As the session does: the parsed frame's number, else the envelope scan's.
        let parsed = parse_user_frame(line);
        let sequence_num = match &parsed {
            Ok(frame) => frame.sequence_num(),
            Err(_) => scan_envelope(line).sequence_num,
        };
        if let Some(got) = sequence_num
            && let SequenceCheck::Stale { .. } = sequence.check(got)
        {
            continue;
        }
        match parsed {
            Ok(UserFrame::User { events, .. }) => {
                for order in events.iter().flat_map(|batch| &batch.orders) {
                    ledger.observe(order);
                }
            }
            Ok(_) => {}
            Err(malformed) => {
                assert!(!malformed.problem.is_empty(), "a refusal says why");
                if let Ok(page) = parse_fills_page(line) {
                    for fill in &page.items {
                        ledger.add_rest_fill(fill);
                    }
                }
            }
        }
    }
    ledger.check();
});
