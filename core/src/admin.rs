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

use crate::risk::LimitId;

/// Bytes of an actor's name (a token name, or a system actor).
pub const ACTOR_NAME_BYTES: usize = 24;

crate::wire::code_enum! {
    /// What an actor may do. Roles nest: each may do everything the roles below it may.
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        /// Reads status and metrics.
        Viewer = 1 "viewer",
        /// Also halts, cancels and lowers limits.
        Operator = 2 "operator",
        /// Also resumes, raises limits and enables (with a second factor).
        Admin = 3 "admin",
        /// The daemon itself: a signal, the dead-man switch, the risk engine. May kill and
        /// cancel, never resume or loosen. No token can carry it.
        System = 4 "system",
    }
}

crate::wire::code_enum! {
    /// Where a command came from.
    pub enum Source {
        /// The admin HTTP API.
        Api = 1 "api",
        /// A Unix signal (SIGUSR1: kill).
        Signal = 2 "signal",
        /// The dead-man switch.
        DeadMan = 3 "dead_man",
        /// The engine's own controls (loss limits, execution throttle).
        Risk = 4 "risk",
        /// The daemon itself (start-up).
        Daemon = 5 "daemon",
    }
}

/// Who did something: a name of up to 24 characters of `[A-Za-z0-9_.-]`, a role and a
/// source. Fixed-size and `Copy`, so it travels in inputs and decisions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    name: [u8; ACTOR_NAME_BYTES],
    pub role: Role,
    pub source: Source,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}({}, {})",
            self.name(),
            self.role.as_str(),
            self.source.as_str()
        )
    }
}

fn name_ok(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= ACTOR_NAME_BYTES
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl Actor {
    /// An API caller; `None` for a name that cannot be journaled.
    pub fn new(name: &str) -> Option<Self> {
        Self::with(name, Role::Viewer, Source::Api)
    }

    pub fn with(name: &str, role: Role, source: Source) -> Option<Self> {
        if !name_ok(name.as_bytes()) {
            return None;
        }
        let mut bytes = [0; ACTOR_NAME_BYTES];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Some(Self {
            name: bytes,
            role,
            source,
        })
    }

    const fn fixed(name: &[u8], source: Source) -> Self {
        let mut bytes = [0; ACTOR_NAME_BYTES];
        let mut i = 0;
        while i < name.len() {
            bytes[i] = name[i];
            i += 1;
        }
        Self {
            name: bytes,
            role: Role::System,
            source,
        }
    }

    /// The daemon at start-up.
    pub const fn system() -> Self {
        Self::fixed(b"traiderd", Source::Daemon)
    }

    /// The engine's own controls.
    pub const fn risk() -> Self {
        Self::fixed(b"risk", Source::Risk)
    }

    /// SIGUSR1.
    pub const fn signal() -> Self {
        Self::fixed(b"SIGUSR1", Source::Signal)
    }

    /// The dead-man switch.
    pub const fn dead_man() -> Self {
        Self::fixed(b"dead-man", Source::DeadMan)
    }

    pub fn name(&self) -> &str {
        let len = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(ACTOR_NAME_BYTES);
        // Only ASCII is ever stored (checked at construction and decoding).
        std::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }

    pub fn as_bytes(&self) -> &[u8; ACTOR_NAME_BYTES] {
        &self.name
    }

    /// An actor read back from its journaled bytes; `None` unless the name is valid and
    /// zero padded.
    pub fn from_bytes(name: [u8; ACTOR_NAME_BYTES], role: Role, source: Source) -> Option<Self> {
        let len = name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(ACTOR_NAME_BYTES);
        if !name_ok(&name[..len]) || name[len..].iter().any(|&b| b != 0) {
            return None;
        }
        Some(Self { name, role, source })
    }
}

impl serde::Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut actor = s.serialize_struct("Actor", 3)?;
        actor.serialize_field("name", self.name())?;
        actor.serialize_field("role", &self.role)?;
        actor.serialize_field("source", &self.source)?;
        actor.end()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    // Proves an actor's name is 1 to 24 characters of [A-Za-z0-9_.-] and reads back as given.
    #[test]
    fn actor_names() {
        let actor = Actor::with("ops.alice-1", Role::Admin, Source::Api).expect("name");
        assert_eq!(actor.name(), "ops.alice-1");
        assert!(Actor::new("").is_none());
        assert!(Actor::new("a b").is_none());
        assert!(Actor::new(&"x".repeat(25)).is_none());
        assert!(Actor::new(&"x".repeat(24)).is_some());
        assert_eq!(Actor::signal().name(), "SIGUSR1");
        let mut gap = *actor.as_bytes();
        gap[3] = 0; // a zero inside the name, then more characters
        assert!(Actor::from_bytes(gap, Role::Admin, Source::Api).is_none());
    }
}
