//! Operator commands as hot-path inputs.
//!
//! The admin endpoint (a cold thread) authenticates a request, then publishes it into the
//! input ring like market data: the hot thread journals it and applies it between two
//! market events, so a replay of the journal applies every command at the same point.
//! Requests that change nothing (reads, refusals) are journaled too, as audits, so the
//! journal holds every request with the identity that made it. The engine checks the role
//! again (a command from a role that may not give it changes nothing) and the second
//! factor the endpoint vouched for.
//!
//! The admin input's layout is [`crate::record`]'s; the commands, their tags and fields,
//! and the codes an audit carries ([`Endpoint`], [`Refusal`]) are defined here.

pub use crate::actor::{ACTOR_NAME_BYTES, Actor, Role, Source};
use crate::risk::LimitId;

/// `instrument` value of a set-limit command for an account limit.
pub const ACCOUNT: u16 = u16::MAX;

/// The JSON form of a limit's scope: the instrument index, or `null` for [`ACCOUNT`].
pub fn serialize_scope<S: serde::Serializer>(instrument: &u16, s: S) -> Result<S::Ok, S::Error> {
    match *instrument {
        ACCOUNT => s.serialize_none(),
        index => s.serialize_some(&index),
    }
}

crate::wire::code_enum! {
    /// The admin API's endpoints, as an audit input names them.
    pub enum Endpoint {
        Status = 1 "status",
        Positions = 2 "positions",
        Orders = 3 "orders",
        LimitsGet = 4 "limits_get",
        LimitsSet = 5 "limits_set",
        Kill = 6 "kill",
        Resume = 7 "resume",
        CancelAll = 8 "cancel_all",
        Strategy = 9 "strategy",
        Metrics = 10 "metrics",
    }
}

crate::wire::code_enum! {
    /// Why the admin endpoint refused a request (an audit input's refusal; the API's error
    /// `code`).
    pub enum Refusal {
        /// Not refused.
        Allowed = 0 "none",
        TokenMissing = 1 "token_missing",
        TokenMalformed = 2 "token_malformed",
        TokenUnknown = 3 "token_unknown",
        RoleForbidden = 4 "role_forbidden",
        TotpRequired = 5 "totp_required",
        TotpNotConfigured = 6 "totp_not_configured",
        TotpInvalid = 7 "totp_invalid",
        TotpReplayed = 8 "totp_replayed",
        TotpLockedOut = 9 "totp_locked_out",
        BadRequest = 10 "bad_request",
    }
}

crate::wire::wire_union! {
    /// What an operator asks. Journaled inside an admin input after its tag, the actor and
    /// the request id; fields in the order listed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(untagged)]
    pub enum AdminCommand, kinds AdminCommandKind, reserved 31 {
        /// HALTED, every open order cancelled; `flatten` also closes positions with
        /// reduce-only orders.
        Kill = 1 "kill" { flatten: bool },
        /// Back to ACTIVE. Admin only, with the second factor.
        Resume = 2 "resume" { second_factor: bool },
        /// Cancel every open order; the state stays.
        CancelAll = 3 "cancel_all",
        /// Switch the strategy off (operator) or on (admin, second factor).
        Strategy = 4 "strategy" { enabled: bool, second_factor: bool },
        /// Set a limit (admin; loosening needs the second factor). `instrument` is an
        /// instrument index or [`ACCOUNT`].
        SetLimit = 5 "set_limit" {
            limit: LimitId,
            #[serde(serialize_with = "serialize_scope")]
            instrument: u16,
            #[serde(serialize_with = "crate::num::serialize_i128_text")]
            value: i128,
            second_factor: bool,
        },
        /// A request that changes nothing (a read, or a refusal), journaled with its identity.
        Audit = 6 "audit" { endpoint: Endpoint, status: u16, refusal: Refusal },
    }
}

/// One admin input: a command, who gave it, and the endpoint's number for the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdminInput {
    pub actor: Actor,
    pub request_id: u32,
    pub command: AdminCommand,
}

/// What became of one admin command, as the status snapshot reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdminRecord {
    pub request_id: u32,
    pub command: AdminCommandKind,
    pub outcome: AdminOutcome,
}

/// Admin outcomes the engine remembers (and the status snapshot carries).
pub const ADMIN_RECENT: usize = 16;

crate::wire::code_enum! {
    /// What the engine made of an admin command.
    pub enum AdminOutcome {
        Applied = 0 "applied",
        /// Nothing to do (resume while active, the strategy already so, an audit).
        NoChange = 1 "no_change",
        /// The actor's role may not give this command.
        RefusedRole = 2 "refused_role",
        /// The command needs the second factor and does not carry it.
        RefusedSecondFactor = 3 "refused_second_factor",
        /// A limit value out of range, or an instrument the engine does not know.
        RefusedValue = 4 "refused_value",
    }
}
