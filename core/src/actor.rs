//! Who did something: an [`Actor`] is a name, a [`Role`] and a [`Source`], fixed-size and
//! `Copy` so it travels in inputs and decisions (admin commands, trading-state changes, the
//! audit). The daemon's own actors (a signal, the dead-man switch, the risk engine) have
//! [`Role::System`].

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

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
