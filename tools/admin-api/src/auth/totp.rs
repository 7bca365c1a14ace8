//! The second factor: RFC 6238 TOTP codes (HMAC-SHA1, 6 digits, 30 s steps, T0 = 0) and
//! the per-identity state that refuses replays and locks out whoever keeps guessing.
//!
//! The HMAC, the dynamic truncation and base32 come from `totp-rs`; this file only picks
//! the parameters, walks the window (current step ±1) and keeps the state.

use super::{AuthConfigError, AuthError};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// A shorter TOTP secret is refused (128 bits, RFC 4226 §4: R6).
pub const TOTP_SECRET_BYTES_MIN: usize = 16;
const TOTP_STEP_S: u64 = 30;
const TOTP_DIGITS: usize = 6;

/// How many wrong TOTP codes in a row lock an identity out, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct TotpPolicy {
    pub failures_max: u32,
    pub lockout: Duration,
}

impl Default for TotpPolicy {
    fn default() -> Self {
        Self {
            failures_max: 5,
            lockout: Duration::from_secs(300),
        }
    }
}

impl TotpPolicy {
    /// The lockout in whole seconds, rounded up.
    fn lockout_s(self) -> u64 {
        self.lockout.as_secs() + u64::from(self.lockout.subsec_nanos() > 0)
    }
}

/// The 6-digit TOTP code at `unix_s` for a base32 secret, or None if the secret is not one
/// that `admin.tokens[i].totp_secret` would accept.
pub fn totp_code(secret_base32: &str, unix_s: u64) -> Option<String> {
    let totp = parse_secret(secret_base32, 0).ok()?;
    Some(totp.generate(unix_s).to_string())
}

/// RFC 4648 base32 (any case, padding optional) → the code generator; `index` names the
/// entry in errors.
pub(super) fn parse_secret(text: &str, index: usize) -> Result<Totp, AuthConfigError> {
    let unpadded = text.trim_end_matches('=').to_ascii_uppercase();
    // 1, 3 or 6 leftover characters cannot end a base32 text.
    if matches!(unpadded.len() % 8, 1 | 3 | 6) {
        return Err(AuthConfigError::TotpSecretInvalid { index });
    }
    let secret = Secret::try_from_base32(&unpadded)
        .map_err(|_| AuthConfigError::TotpSecretInvalid { index })?;
    let bytes = secret.as_bytes().len();
    if bytes < TOTP_SECRET_BYTES_MIN {
        return Err(AuthConfigError::TotpSecretShort { index, bytes });
    }
    // `build` would refuse secrets under 16 bytes; every other parameter here is valid, so
    // `build_noncompliant` cannot make a generator that panics. Skew 0: `match_step` walks
    // the window itself, to see every step a code matches.
    Ok(Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_skew(0)
        .with_step_duration(TOTP_STEP_S)
        .with_secret(secret)
        .build_noncompliant())
}

#[derive(Clone, Copy, Default)]
struct TotpState {
    step_accepted_last: Option<u64>,
    failures_count: u32,
    locked_until_unix_s: u64,
}

/// Replay and lockout state for every identity, indexed like the authenticator's entries.
pub(super) struct TotpGuard {
    pub(super) policy: TotpPolicy,
    states: Mutex<Vec<TotpState>>,
}

impl TotpGuard {
    pub(super) fn new(
        policy: TotpPolicy,
        identities_count: usize,
    ) -> Result<Self, AuthConfigError> {
        if policy.failures_max == 0 {
            let reason = "failures_max must be at least 1";
            return Err(AuthConfigError::PolicyInvalid { reason });
        }
        if policy.lockout_s() == 0 {
            let reason = "lockout must be at least 1 s";
            return Err(AuthConfigError::PolicyInvalid { reason });
        }
        let states = Mutex::new(vec![TotpState::default(); identities_count]);
        Ok(Self { policy, states })
    }

    /// See [`super::Authenticator::verify_totp`].
    pub(super) fn verify(
        &self,
        index: usize,
        totp: &Totp,
        code: Option<&str>,
        now_unix_s: u64,
    ) -> Result<(), AuthError> {
        // Nothing panics while the lock is held, and every update leaves a valid state.
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut states[index];
        if now_unix_s < state.locked_until_unix_s {
            let retry_after_s = state.locked_until_unix_s - now_unix_s;
            return Err(AuthError::LockedOut { retry_after_s });
        }
        let code = code.ok_or(AuthError::TotpRequired)?;
        match match_step(totp, code, now_unix_s, state.step_accepted_last) {
            Ok(step) => {
                state.step_accepted_last = Some(step);
                state.failures_count = 0;
                Ok(())
            }
            Err(refusal) => {
                state.failures_count += 1;
                if state.failures_count < self.policy.failures_max {
                    return Err(refusal);
                }
                state.failures_count = 0;
                let retry_after_s = self.policy.lockout_s();
                state.locked_until_unix_s = now_unix_s.saturating_add(retry_after_s);
                Err(AuthError::LockedOut { retry_after_s })
            }
        }
    }
}

/// The steps of the window (current ±1) that `code` matches decide: a step after the last
/// accepted one is accepted (the latest, if several match); a match at or before it is a
/// replay.
fn match_step(
    totp: &Totp,
    code: &str,
    now_unix_s: u64,
    step_accepted_last: Option<u64>,
) -> Result<u64, AuthError> {
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::TotpInvalid);
    }
    let step_now = now_unix_s / TOTP_STEP_S;
    let mut step_matched_max = None;
    for step in step_now.saturating_sub(1)..=step_now.saturating_add(1) {
        let Some(step_start_unix_s) = step.checked_mul(TOTP_STEP_S) else {
            continue;
        };
        // Skew 0: checks exactly `step`, comparing in constant time.
        if totp.check(code, step_start_unix_s).is_some() {
            step_matched_max = Some(step);
        }
    }
    match (step_matched_max, step_accepted_last) {
        (None, _) => Err(AuthError::TotpInvalid),
        (Some(step), Some(last)) if step <= last => Err(AuthError::TotpReplayed),
        (Some(step), _) => Ok(step),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Authenticator, Identity, Role, TokenConfig, token_sha256_hex};
    use super::*;

    /// RFC 6238 Appendix B's SHA1 seed, ASCII "12345678901234567890".
    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    /// Step 37037037 starts here.
    const NOW: u64 = 1_111_111_110;

    fn authenticator(policy: TotpPolicy) -> Authenticator {
        let entry = |name: &str, role, secret: Option<&str>| TokenConfig {
            name: name.to_string(),
            role,
            sha256: token_sha256_hex(name),
            totp_secret: secret.map(str::to_string),
        };
        let tokens = [
            entry("admin", Role::Admin, Some(SECRET)),
            entry("admin2", Role::Admin, Some(SECRET)),
            entry("viewer", Role::Viewer, None),
        ];
        Authenticator::new(&tokens, policy).expect("valid config")
    }

    fn admin() -> Identity {
        Identity {
            name: "admin".to_string(),
            role: Role::Admin,
        }
    }

    fn code_at(unix_s: u64) -> String {
        totp_code(SECRET, unix_s).expect("valid secret")
    }

    /// A well-formed code that matches no step of the window around `now`.
    fn wrong_code(now: u64) -> String {
        let window: Vec<String> = (0..3).map(|i| code_at(now + i * 30 - 30)).collect();
        let candidates = ["000000", "111111", "222222", "333333"].map(String::from);
        candidates
            .into_iter()
            .find(|c| !window.contains(c))
            .expect("one is free")
    }

    fn verify(auth: &Authenticator, code: &str, now: u64) -> Result<(), AuthError> {
        auth.verify_totp(&admin(), Some(code), now)
    }

    #[test]
    fn totp_code_matches_rfc6238_sha1_vectors() {
        // Proves SHA1 / 30 s / T0 = 0: the last 6 digits of RFC 6238 Appendix B's values.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (unix_s, eight_digits) in vectors {
            assert_eq!(code_at(unix_s), eight_digits[2..], "T = {unix_s}");
        }
    }

    #[test]
    fn totp_code_reads_any_case_and_padding_and_refuses_bad_secrets() {
        // Proves base32 is case-insensitive, padding optional, and bad secrets give None.
        let padded = "GEZDGNBVGY3TQOJQGEZDGNBVGY======";
        let expected = code_at(NOW);
        assert_eq!(totp_code(&SECRET.to_ascii_lowercase(), NOW), Some(expected));
        assert_eq!(
            totp_code(padded, NOW),
            totp_code("gezdgnbvgy3tqojqgezdgnbvgy", NOW)
        );
        assert!(totp_code(padded, NOW).is_some());
        for bad in [
            "GEZDGNBVGY3TQOJ1",
            "GEZDGNBVGY3TQ",
            "GEZDGNBVGY3TQOJQG",
            "",
            "é",
        ] {
            assert_eq!(totp_code(bad, NOW), None, "{bad}");
        }
    }

    #[test]
    fn verify_totp_accepts_the_current_step() {
        // Proves the code of the current step is accepted anywhere inside the step.
        for now in [NOW, NOW + 29] {
            let auth = authenticator(TotpPolicy::default());
            assert_eq!(verify(&auth, &code_at(now), now), Ok(()), "{now}");
        }
    }

    #[test]
    fn verify_totp_accepts_one_step_either_side() {
        // Proves the previous and the next step are accepted (clock skew of ±30 s).
        for offset_s in [-30i64, 30] {
            let auth = authenticator(TotpPolicy::default());
            let code = code_at(NOW.saturating_add_signed(offset_s));
            assert_eq!(verify(&auth, &code, NOW), Ok(()), "{offset_s}");
        }
    }

    #[test]
    fn verify_totp_refuses_two_steps_away() {
        // Proves the window is only ±1 step: codes 60 s off are invalid.
        for offset_s in [-60i64, 60] {
            let auth = authenticator(TotpPolicy::default());
            let code = code_at(NOW.saturating_add_signed(offset_s));
            assert_eq!(
                verify(&auth, &code, NOW),
                Err(AuthError::TotpInvalid),
                "{offset_s}"
            );
        }
    }

    #[test]
    fn verify_totp_refuses_the_same_code_twice() {
        // Proves a used code is replayed, even later within its window.
        let auth = authenticator(TotpPolicy::default());
        let code = code_at(NOW);
        assert_eq!(verify(&auth, &code, NOW), Ok(()));
        assert_eq!(verify(&auth, &code, NOW + 1), Err(AuthError::TotpReplayed));
        assert_eq!(verify(&auth, &code, NOW + 30), Err(AuthError::TotpReplayed));
        assert_eq!(verify(&auth, &code_at(NOW + 30), NOW + 30), Ok(()));
    }

    #[test]
    fn verify_totp_refuses_an_older_step_after_a_newer_one() {
        // Proves steps only move forward: after the next step's code, the current is replayed.
        let auth = authenticator(TotpPolicy::default());
        assert_eq!(verify(&auth, &code_at(NOW + 30), NOW), Ok(()));
        assert_eq!(
            verify(&auth, &code_at(NOW), NOW),
            Err(AuthError::TotpReplayed)
        );
        assert_eq!(
            verify(&auth, &code_at(NOW - 30), NOW),
            Err(AuthError::TotpReplayed)
        );
    }

    #[test]
    fn verify_totp_locks_out_after_failures_then_lets_in() {
        // Proves replayed, wrong and malformed codes count; the N-th locks even valid codes
        // out for the lockout; afterwards a valid code is accepted.
        let lockout = Duration::from_secs(60);
        let auth = authenticator(TotpPolicy {
            failures_max: 3,
            lockout,
        });
        assert_eq!(verify(&auth, &code_at(NOW), NOW), Ok(()));
        assert_eq!(
            verify(&auth, &code_at(NOW), NOW),
            Err(AuthError::TotpReplayed)
        );
        assert_eq!(
            verify(&auth, &wrong_code(NOW), NOW),
            Err(AuthError::TotpInvalid)
        );
        let locked = Err(AuthError::LockedOut { retry_after_s: 60 });
        assert_eq!(verify(&auth, "12a456", NOW), locked);
        let valid = code_at(NOW + 30);
        let locked = Err(AuthError::LockedOut { retry_after_s: 30 });
        assert_eq!(verify(&auth, &valid, NOW + 30), locked);
        assert_eq!(
            auth.verify_totp(&admin(), None, NOW + 59),
            Err(AuthError::LockedOut { retry_after_s: 1 })
        );
        assert_eq!(verify(&auth, &code_at(NOW + 60), NOW + 60), Ok(()));
        let other = Identity {
            name: "admin2".to_string(),
            role: Role::Admin,
        };
        assert_eq!(
            auth.verify_totp(&other, Some(&code_at(NOW)), NOW),
            Ok(()),
            "per identity"
        );
    }

    #[test]
    fn verify_totp_success_resets_the_failure_count() {
        // Proves only consecutive failures lock: a success in between starts the count anew.
        let auth = authenticator(TotpPolicy {
            failures_max: 3,
            ..TotpPolicy::default()
        });
        let wrong = wrong_code(NOW);
        for _ in 0..2 {
            assert_eq!(verify(&auth, &wrong, NOW), Err(AuthError::TotpInvalid));
        }
        assert_eq!(verify(&auth, &code_at(NOW), NOW), Ok(()));
        for _ in 0..2 {
            assert_eq!(verify(&auth, &wrong, NOW), Err(AuthError::TotpInvalid));
        }
        let locked = Err(AuthError::LockedOut { retry_after_s: 300 });
        assert_eq!(verify(&auth, &wrong, NOW), locked, "the count still counts");
    }

    #[test]
    fn verify_totp_requires_a_code() {
        // Proves a missing code is TotpRequired and is not counted as a failure.
        let auth = authenticator(TotpPolicy {
            failures_max: 1,
            ..TotpPolicy::default()
        });
        for _ in 0..3 {
            assert_eq!(
                auth.verify_totp(&admin(), None, NOW),
                Err(AuthError::TotpRequired)
            );
        }
        assert_eq!(verify(&auth, &code_at(NOW), NOW), Ok(()));
    }

    #[test]
    fn verify_totp_refuses_codes_that_are_not_six_digits() {
        // Proves only exactly 6 ASCII digits are read, even when the digits would match.
        let code = code_at(NOW);
        let padded = [
            format!(" {code}"),
            format!("{code} "),
            format!("+{}", &code[1..]),
        ];
        let others = ["12345", "1234567", "12a456", "", "１２３４５６", "-12345"];
        let auth = authenticator(TotpPolicy {
            failures_max: 100,
            ..TotpPolicy::default()
        });
        for bad in padded.iter().map(String::as_str).chain(others) {
            assert_eq!(
                verify(&auth, bad, NOW),
                Err(AuthError::TotpInvalid),
                "{bad:?}"
            );
        }
        assert_eq!(verify(&auth, &code, NOW), Ok(()));
    }

    #[test]
    fn verify_totp_without_a_secret_is_not_configured() {
        // Proves an identity without a secret can never pass, and an unknown one is Unknown.
        let auth = authenticator(TotpPolicy::default());
        let viewer = Identity {
            name: "viewer".to_string(),
            role: Role::Viewer,
        };
        let err = auth
            .verify_totp(&viewer, Some(&code_at(NOW)), NOW)
            .expect_err("refused");
        assert_eq!((err, err.status()), (AuthError::TotpNotConfigured, 403));
        let stranger = Identity {
            name: "nobody".to_string(),
            role: Role::Admin,
        };
        let result = auth.verify_totp(&stranger, Some(&code_at(NOW)), NOW);
        assert_eq!(result, Err(AuthError::Unknown));
    }
}
