// Proves: nothing a caller sends the admin endpoint makes its parsers panic: the JSON bodies
// of POST /api/v1/kill, POST /api/v1/strategy and PUT /api/v1/limits (resolved against a
// real status snapshot), and the Authorization and X-TOTP headers through authentication,
// authorization and TOTP checks (replays and lockout included). Refusals are values; a
// token is accepted only if it is exactly one configured token.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use traider_admin_api::auth::{Role, TokenConfig};
use traider_core::engine::StatusSnapshot;
use traider_fuzz::{authenticator, status_snapshot, token_configs};
use traider_fuzz_kit::layout::admin_body::{HEADERS, KILL, KINDS, LIMITS, STRATEGY};
use traider_fuzz_kit::{ADMIN_NOW_S, ADMIN_TOKENS};
use traiderd::admin::api::{body_json, bool_field, parse_set_limit_body};

struct State {
    snapshot: StatusSnapshot,
    tokens: Vec<TokenConfig>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        snapshot: status_snapshot(),
        tokens: token_configs(),
    });
}

fn flag_body(body: &[u8], name: &str) {
    if let Ok(Some(_)) = body_json(body).and_then(|b| bool_field(&b, name)) {
        let value = body_json(body).unwrap_or_default();
        assert!(value.get(name).is_some_and(|v| v.is_boolean()));
    }
}

fn limits_body(state: &State, body: &[u8]) {
    if let Ok(change) = parse_set_limit_body(&state.snapshot, body) {
        assert!(change.value >= 0 && change.value <= change.limit.value_max());
        let _ = change.limit.loosens(change.old, change.value);
    }
}

/// Line 1: the `Authorization` value; every further line: one `X-TOTP` attempt.
fn headers(state: &State, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut lines = text.split('\n');
    let authorization = lines.next();
    let auth = authenticator(&state.tokens);
    let Ok(identity) = auth.authenticate(authorization) else {
        return;
    };
    let token = authorization
        .and_then(|a| a.split_once(' '))
        .map_or("", |(_, token)| token);
    assert!(
        ADMIN_TOKENS
            .iter()
            .any(|(name, _, t, _)| *t == token && *name == identity.name),
        "accepted a token that is not configured"
    );
    for needed in [Role::Viewer, Role::Operator, Role::Admin] {
        let _ = auth.authorize(&identity, needed);
    }
    for (step, code) in lines.enumerate() {
        let now = ADMIN_NOW_S + 20 * step as u64;
        let _ = auth.verify_totp(&identity, Some(code), now);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    STATE.with_borrow(|state| match kind % KINDS {
        KILL => flag_body(bytes, "flatten"),
        STRATEGY => flag_body(bytes, "enabled"),
        LIMITS => limits_body(state, bytes),
        HEADERS => headers(state, bytes),
        _ => {}
    });
});
