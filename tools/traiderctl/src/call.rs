//! The admin API's calls as `traiderctl` makes them: method, path, JSON body and the role
//! each needs (from `openapi.json`).

use reqwest::Method;
use serde_json::{Value, json};
use traider_admin_api::{Role, paths};

/// One request to the daemon's `/api/v1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Status,
    Positions,
    Orders,
    LimitsShow,
    /// `value` travels as a JSON string; `instrument` is absent for account limits.
    LimitsSet {
        limit: String,
        value: String,
        instrument: Option<String>,
    },
    Kill {
        flatten: bool,
    },
    Resume,
    CancelAll,
    Strategy {
        enabled: bool,
    },
}

impl Call {
    /// How the operator names it: `status`, `limits set`, `strategy enable`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Call::Status => "status",
            Call::Positions => "positions",
            Call::Orders => "orders",
            Call::LimitsShow => "limits show",
            Call::LimitsSet { .. } => "limits set",
            Call::Kill { .. } => "kill",
            Call::Resume => "resume",
            Call::CancelAll => "cancel-all",
            Call::Strategy { enabled: true } => "strategy enable",
            Call::Strategy { enabled: false } => "strategy disable",
        }
    }

    pub fn path(&self) -> &'static str {
        match self {
            Call::Status => paths::STATUS,
            Call::Positions => paths::POSITIONS,
            Call::Orders => paths::ORDERS,
            Call::LimitsShow | Call::LimitsSet { .. } => paths::LIMITS,
            Call::Kill { .. } => paths::KILL,
            Call::Resume => paths::RESUME,
            Call::CancelAll => paths::CANCEL_ALL,
            Call::Strategy { .. } => paths::STRATEGY,
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Call::Status | Call::Positions | Call::Orders | Call::LimitsShow => Method::GET,
            Call::LimitsSet { .. } => Method::PUT,
            Call::Kill { .. } | Call::Resume | Call::CancelAll | Call::Strategy { .. } => {
                Method::POST
            }
        }
    }

    /// A command changes the daemon's state; a read does not.
    pub fn is_command(&self) -> bool {
        self.method() != Method::GET
    }

    /// The JSON request body, if the call has one.
    pub fn body(&self) -> Option<Value> {
        match self {
            Call::LimitsSet {
                limit,
                value,
                instrument,
            } => {
                let mut body = json!({"limit": limit, "value": value});
                if let (Some(instrument), Some(map)) = (instrument, body.as_object_mut()) {
                    map.insert("instrument".to_string(), json!(instrument));
                }
                Some(body)
            }
            Call::Kill { flatten } => Some(json!({"flatten": flatten})),
            Call::Strategy { enabled } => Some(json!({"enabled": enabled})),
            Call::Status
            | Call::Positions
            | Call::Orders
            | Call::LimitsShow
            | Call::Resume
            | Call::CancelAll => None,
        }
    }

    /// The least role the daemon accepts for it (lowering a limit is admin too).
    pub fn role(&self) -> Role {
        match self {
            Call::Status | Call::Positions | Call::Orders | Call::LimitsShow => Role::Viewer,
            Call::Kill { .. } | Call::CancelAll | Call::Strategy { enabled: false } => {
                Role::Operator
            }
            Call::LimitsSet { .. } | Call::Resume | Call::Strategy { enabled: true } => Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_openapi_request_schemas() {
        // Proves the JSON bodies: limits set sends the value as a string and the instrument
        // only when given; kill always says whether to flatten; strategy says enabled.
        let set = |instrument: Option<&str>| Call::LimitsSet {
            limit: "max_position".to_string(),
            value: "0.5".to_string(),
            instrument: instrument.map(str::to_string),
        };
        assert_eq!(
            set(Some("BTC-USD")).body(),
            Some(json!({"limit": "max_position", "value": "0.5", "instrument": "BTC-USD"}))
        );
        assert_eq!(
            set(None).body(),
            Some(json!({"limit": "max_position", "value": "0.5"}))
        );
        assert_eq!(
            Call::Kill { flatten: false }.body(),
            Some(json!({"flatten": false}))
        );
        assert_eq!(
            Call::Kill { flatten: true }.body(),
            Some(json!({"flatten": true}))
        );
        assert_eq!(
            Call::Strategy { enabled: true }.body(),
            Some(json!({"enabled": true}))
        );
        assert_eq!(Call::Resume.body(), None);
        assert_eq!(Call::CancelAll.body(), None);
        assert_eq!(Call::Status.body(), None);
    }

    #[test]
    fn methods_paths_and_roles_match_the_openapi_document() {
        // Proves every call's method, path and role against the paths of openapi.json.
        let cases = [
            (Call::Status, "GET", "/api/v1/status", Role::Viewer),
            (Call::Positions, "GET", "/api/v1/positions", Role::Viewer),
            (Call::Orders, "GET", "/api/v1/orders", Role::Viewer),
            (Call::LimitsShow, "GET", "/api/v1/limits", Role::Viewer),
            (
                Call::LimitsSet {
                    limit: "x".to_string(),
                    value: "1".to_string(),
                    instrument: None,
                },
                "PUT",
                "/api/v1/limits",
                Role::Admin,
            ),
            (
                Call::Kill { flatten: true },
                "POST",
                "/api/v1/kill",
                Role::Operator,
            ),
            (Call::Resume, "POST", "/api/v1/resume", Role::Admin),
            (
                Call::CancelAll,
                "POST",
                "/api/v1/cancel-all",
                Role::Operator,
            ),
            (
                Call::Strategy { enabled: true },
                "POST",
                "/api/v1/strategy",
                Role::Admin,
            ),
            (
                Call::Strategy { enabled: false },
                "POST",
                "/api/v1/strategy",
                Role::Operator,
            ),
        ];
        let document: Value = serde_json::from_str(traider_admin_api::OPENAPI).expect("valid JSON");
        for (call, method, path, role) in cases {
            assert_eq!(
                (call.method().as_str(), call.path(), call.role()),
                (method, path, role),
                "{}",
                call.name()
            );
            assert_eq!(call.is_command(), method != "GET", "{}", call.name());
            let operation = &document["paths"][path][method.to_ascii_lowercase()];
            assert!(operation.is_object(), "{method} {path} is in openapi.json");
        }
    }
}
