// Proves: no HTTP status and body makes the trading client's response parsers panic; every
// answer is a value or an `ApiError`, a non-200 status is never read as an answer; and what
// the live daemon derives from the answers (orders and fills on the products' grids,
// adoptions and their journal events, venue refs, fill deltas) is computed without panicking.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use traider_core::order::ClientOrderId;
use traider_core::order::venue_ref_text;
use traider_core::venue::VenueEvent;
use traider_fuzz::{FillLedger, live_products};
use traider_fuzz_kit::layout::rest_answer::{self, Endpoint};
use traider_gateways::coinbase::execution::adopt::Adoption;
use traider_gateways::coinbase::execution::convert::{FillRecord, OrderRecord, Product, venue_ref};
use traider_gateways::coinbase::orders::{
    check_status, parse_cancel_response, parse_create_response, parse_edit_response,
};
use traider_gateways::coinbase::reads::{
    RestOrder, parse_accounts_page, parse_best_bid_ask, parse_fills_page, parse_orders_page,
    parse_server_time,
};

thread_local! {
    static PRODUCTS: RefCell<Vec<Product>> = RefCell::new(live_products());
}

/// The daemon's conversions of one listed order (reconcile, adopt, look-ups).
fn order(order: &RestOrder, products: &[Product]) {
    for product in products {
        let _ = OrderRecord::from_rest(order, product);
    }
    if let Some(bits) = venue_ref(&order.order_id) {
        assert_eq!(
            venue_ref(&venue_ref_text(bits)),
            Some(bits),
            "venue ref text"
        );
    }
    if let Ok(adoption) = Adoption::of(order, products) {
        let event = adoption.event(ClientOrderId::new(1, 1));
        let decoded = VenueEvent::decode(&event.to_bytes());
        assert_eq!(
            decoded,
            Some(event),
            "an adoption's journal event reads back"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((endpoint, status, body)) = rest_answer::split(data) else {
        return;
    };
    let ok = status == 200;
    match endpoint {
        Endpoint::Create => assert!(ok || parse_create_response(status, body).is_err()),
        Endpoint::BatchCancel => assert!(ok || parse_cancel_response(status, body).is_err()),
        Endpoint::Edit => assert!(ok || parse_edit_response(status, body).is_err()),
        // The read endpoints check the status first, then parse the body.
        _ if check_status(status, body).is_err() => assert!(!ok, "200 is not an error"),
        _ if !ok => panic!("a non-200 status passed check_status"),
        Endpoint::ListOrders => {
            if let Ok(page) = parse_orders_page(body) {
                PRODUCTS.with_borrow(|products| {
                    page.items.iter().for_each(|o| order(o, products));
                });
            }
        }
        Endpoint::ListFills => {
            if let Ok(page) = parse_fills_page(body) {
                let mut ledger = FillLedger::default();
                PRODUCTS.with_borrow(|products| {
                    for fill in &page.items {
                        for product in products {
                            if let Ok(record) = FillRecord::from_rest(product, fill) {
                                let event = record.event(ClientOrderId::new(1, 1));
                                assert_eq!(VenueEvent::decode(&event.to_bytes()), Some(event));
                            }
                        }
                        ledger.add_rest_fill(fill);
                    }
                });
                ledger.check();
            }
        }
        Endpoint::Accounts => {
            let _ = parse_accounts_page(body);
        }
        Endpoint::BestBidAsk => {
            let _ = parse_best_bid_ask(body);
        }
        Endpoint::Time => {
            let _ = parse_server_time(body);
        }
    }
});
