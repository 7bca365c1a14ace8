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
//! Payload layout (little-endian): a tag byte, the [`Actor`] (name 24 bytes, zero padded;
//! role u8; source u8), the request id u32 (the endpoint's number for the request, echoed
//! in the status snapshot with the outcome), then per tag:
//! - 1 kill: flatten u8;
//! - 2 resume: second factor u8;
//! - 3 cancel all: nothing;
//! - 4 strategy: enabled u8, second factor u8;
//! - 5 set limit: [`LimitId`] u8, instrument u16 (`u16::MAX` for the account), value
//!   i128, second factor u8;
//! - 6 audit: endpoint u8, HTTP status u16, refusal code u8 (0: none).

use crate::decision::{DECISION_BYTES_MAX, Reader, Writer};
use crate::risk::LimitId;

/// Bytes of an actor's name (a token name, or a system actor).
pub const ACTOR_NAME_BYTES: usize = 24;

/// What an actor may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Role {
    Viewer = 1,
    Operator = 2,
    Admin = 3,
    /// The daemon itself: a signal, the dead-man switch, the risk engine. May kill and
    /// cancel, never resume or loosen.
    System = 4,
}

impl Role {
    pub fn from_u8(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Viewer,
            2 => Self::Operator,
            3 => Self::Admin,
            4 => Self::System,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
            Self::System => "system",
        }
    }
}

/// Where a command came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Source {
    /// The admin HTTP API.
    Api = 1,
    /// A Unix signal (SIGUSR1: kill).
    Signal = 2,
    /// The dead-man switch.
    DeadMan = 3,
    /// The engine's own controls (loss limits, execution throttle).
    Risk = 4,
    /// The daemon itself (start-up).
    Daemon = 5,
}

impl Source {
    pub fn from_u8(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Api,
            2 => Self::Signal,
            3 => Self::DeadMan,
            4 => Self::Risk,
            5 => Self::Daemon,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Signal => "signal",
            Self::DeadMan => "dead_man",
            Self::Risk => "risk",
            Self::Daemon => "daemon",
        }
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

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        for &b in &self.name {
            w.u8(b);
        }
        w.u8(self.role as u8);
        w.u8(self.source as u8);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Option<Self> {
        let mut name = [0; ACTOR_NAME_BYTES];
        for byte in &mut name {
            *byte = r.u8()?;
        }
        let len = name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(ACTOR_NAME_BYTES);
        if !name_ok(&name[..len]) || name[len..].iter().any(|&b| b != 0) {
            return None;
        }
        Some(Self {
            name,
            role: Role::from_u8(r.u8()?)?,
            source: Source::from_u8(r.u8()?)?,
        })
    }
}

/// `instrument` value of a set-limit command for an account limit.
pub const ACCOUNT: u16 = u16::MAX;

/// What an operator asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    /// HALTED, every open order cancelled; `flatten` also closes positions with
    /// reduce-only orders.
    Kill { flatten: bool },
    /// Back to ACTIVE. Admin only, with the second factor.
    Resume { second_factor: bool },
    /// Cancel every open order; the state stays.
    CancelAll,
    /// Switch the strategy off (operator) or on (admin, second factor).
    Strategy { enabled: bool, second_factor: bool },
    /// Set a limit (admin; loosening needs the second factor). `instrument` is an
    /// instrument index or [`ACCOUNT`].
    SetLimit {
        limit: LimitId,
        instrument: u16,
        value: i128,
        second_factor: bool,
    },
    /// A request that changes nothing (a read, or a refusal), journaled with its identity.
    Audit {
        endpoint: u8,
        status: u16,
        refusal: u8,
    },
}

impl AdminCommand {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Kill { .. } => "kill",
            Self::Resume { .. } => "resume",
            Self::CancelAll => "cancel_all",
            Self::Strategy { .. } => "strategy",
            Self::SetLimit { .. } => "set_limit",
            Self::Audit { .. } => "audit",
        }
    }

    pub fn tag(&self) -> u8 {
        match self {
            Self::Kill { .. } => 1,
            Self::Resume { .. } => 2,
            Self::CancelAll => 3,
            Self::Strategy { .. } => 4,
            Self::SetLimit { .. } => 5,
            Self::Audit { .. } => 6,
        }
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
    /// The command's tag ([`AdminCommand::tag`]).
    pub command: u8,
    pub outcome: AdminOutcome,
}

/// Admin outcomes the engine remembers (and the status snapshot carries).
pub const ADMIN_RECENT: usize = 16;

impl AdminInput {
    /// Writes the payload; returns its length.
    pub fn encode(&self, buf: &mut [u8; DECISION_BYTES_MAX]) -> usize {
        let mut w = Writer { buf, at: 0 };
        w.u8(self.command.tag());
        self.actor.write(&mut w);
        w.u32(self.request_id);
        match self.command {
            AdminCommand::Kill { flatten } => w.u8(u8::from(flatten)),
            AdminCommand::Resume { second_factor } => w.u8(u8::from(second_factor)),
            AdminCommand::CancelAll => {}
            AdminCommand::Strategy {
                enabled,
                second_factor,
            } => {
                w.u8(u8::from(enabled));
                w.u8(u8::from(second_factor));
            }
            AdminCommand::SetLimit {
                limit,
                instrument,
                value,
                second_factor,
            } => {
                w.u8(limit as u8);
                w.u16(instrument);
                w.i128(value);
                w.u8(u8::from(second_factor));
            }
            AdminCommand::Audit {
                endpoint,
                status,
                refusal,
            } => {
                w.u8(endpoint);
                w.u16(status);
                w.u8(refusal);
            }
        }
        w.at
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = [0; DECISION_BYTES_MAX];
        let len = self.encode(&mut buf);
        buf[..len].to_vec()
    }

    /// Reads a payload back; `None` when it is not exactly one well-formed input.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let mut r = Reader {
            buf: payload,
            at: 0,
        };
        let tag = r.u8()?;
        let actor = Actor::read(&mut r)?;
        let request_id = r.u32()?;
        let command = match tag {
            1 => AdminCommand::Kill { flatten: r.bool()? },
            2 => AdminCommand::Resume {
                second_factor: r.bool()?,
            },
            3 => AdminCommand::CancelAll,
            4 => AdminCommand::Strategy {
                enabled: r.bool()?,
                second_factor: r.bool()?,
            },
            5 => AdminCommand::SetLimit {
                limit: LimitId::from_u8(r.u8()?)?,
                instrument: r.u16()?,
                value: r.i128()?,
                second_factor: r.bool()?,
            },
            6 => AdminCommand::Audit {
                endpoint: r.u8()?,
                status: r.u16()?,
                refusal: r.u8()?,
            },
            _ => return None,
        };
        (r.at == payload.len()).then_some(Self {
            actor,
            request_id,
            command,
        })
    }
}

/// What the engine made of an admin command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AdminOutcome {
    Applied = 0,
    /// Nothing to do (resume while active, the strategy already so, an audit).
    NoChange = 1,
    /// The actor's role may not give this command.
    RefusedRole = 2,
    /// The command needs the second factor and does not carry it.
    RefusedSecondFactor = 3,
    /// A limit value out of range, or an instrument the engine does not know.
    RefusedValue = 4,
}

impl AdminOutcome {
    pub fn from_u8(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Applied,
            1 => Self::NoChange,
            2 => Self::RefusedRole,
            3 => Self::RefusedSecondFactor,
            4 => Self::RefusedValue,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::NoChange => "no_change",
            Self::RefusedRole => "refused_role",
            Self::RefusedSecondFactor => "refused_second_factor",
            Self::RefusedValue => "refused_value",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every command survives encode → decode with its actor, and that a cut or
    // padded payload, an unknown tag, a bad role or source, or a name with a forbidden
    // byte is refused instead of misread.
    #[test]
    fn roundtrip_and_refusals() {
        let actor = Actor::with("ops.alice-1", Role::Admin, Source::Api).expect("name");
        let all = [
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
                endpoint: 3,
                status: 403,
                refusal: 7,
            },
        ];
        for command in all {
            let input = AdminInput {
                actor,
                request_id: 0xDEAD_BEEF,
                command,
            };
            let bytes = input.to_bytes();
            assert_eq!(AdminInput::decode(&bytes), Some(input));
            assert_eq!(AdminInput::decode(&bytes[..bytes.len() - 1]), None);
            let mut padded = bytes.clone();
            padded.push(0);
            assert_eq!(AdminInput::decode(&padded), None);
            let mut bad_role = bytes.clone();
            bad_role[1 + ACTOR_NAME_BYTES] = 9;
            assert_eq!(AdminInput::decode(&bad_role), None);
            let mut bad_name = bytes.clone();
            bad_name[1] = b' ';
            assert_eq!(AdminInput::decode(&bad_name), None);
            let mut gap = bytes.clone();
            gap[1 + 3] = 0; // a zero inside the name, then more characters
            assert_eq!(AdminInput::decode(&gap), None);
        }
        assert_eq!(AdminInput::decode(&[]), None);
        assert_eq!(AdminInput::decode(&[99]), None);
        assert_eq!(actor.name(), "ops.alice-1");
        assert!(Actor::new("").is_none());
        assert!(Actor::new("a b").is_none());
        assert!(Actor::new(&"x".repeat(25)).is_none());
        assert!(Actor::new(&"x".repeat(24)).is_some());
        assert_eq!(Actor::signal().name(), "SIGUSR1");
    }
}
