//! Fault injection: what the venue does wrong on purpose, from a `--scenario` TOML file
//! and/or command-line flags.
//!
//! Scenario file format (every table optional):
//!
//! ```toml
//! # REST: the nth request (1-based, counted per endpoint class from the start, whatever
//! # its outcome) of an endpoint gets a fault instead of its answer.
//! [[rest]]
//! endpoint = "create" # create | cancel | edit | get_order | list_orders | fills |
//!                     # accounts | best_bid_ask
//! nth = 3
//! fault = "timeout"   # "429" | "500" | "503" | "401" (plain "Unauthorized") |
//!                     # "timeout" (do the work, never answer) | "drop" (close, no work) |
//!                     # "lost" (never answer, no work: the request never reached the
//!                     # venue; for "create", every re-send of its client_order_id is
//!                     # lost too, so the order can never be placed)
//!
//! # WebSockets, counted by the outgoing sequence_num of one connection: the
//! # `connection`-th (1-based) that subscribes to a market channel, or to `user`.
//! [market]
//! connection = 1
//! drop_seqs = [40]            # not sent (the counter still advances)
//! skip_seqs = [50]            # the number is never used: the next message jumps it (a gap)
//! malformed_seqs = [60]       # sent cut in half (not JSON)
//! delays = [{ seq = 70, ms = 500 }] # held back this long before sending
//! disconnect_after_seq = 80   # close after sending it
//! stall_after_seq = 90        # send nothing more, keep the socket open
//!
//! [user]
//! connection = 1
//! stall_after_seq = 3
//! ```
//!
//! Flags add to the file: `--rest-fault ENDPOINT:NTH:FAULT` and
//! `--ws-fault STREAM:KIND:SEQ[:MS]` (STREAM `market`|`user`, KIND `drop`|`skip`|
//! `malformed`|`delay`|`disconnect`|`stall`; MS only for `delay`), connection 1.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

/// REST endpoint classes, as the scenario names them.
pub const ENDPOINTS: [&str; 8] = [
    "create",
    "cancel",
    "edit",
    "get_order",
    "list_orders",
    "fills",
    "accounts",
    "best_bid_ask",
];

/// What an injected REST fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestFaultKind {
    /// Answer with this HTTP status (429, 500, 503; 401 as plain `Unauthorized`).
    Status(u16),
    /// Do the work, never answer (hold the connection).
    Timeout,
    /// Close the connection without doing the work.
    Drop,
    /// Never answer and do no work (the request never reached the venue); a lost create
    /// makes every later create with the same client order id lost as well.
    Lost,
}

impl RestFaultKind {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "429" => Ok(Self::Status(429)),
            "500" => Ok(Self::Status(500)),
            "503" => Ok(Self::Status(503)),
            "401" => Ok(Self::Status(401)),
            "timeout" => Ok(Self::Timeout),
            "drop" => Ok(Self::Drop),
            "lost" => Ok(Self::Lost),
            other => Err(format!(
                "unknown REST fault {other:?} (429|500|503|401|timeout|drop|lost)"
            )),
        }
    }
}

/// One REST fault: the `nth` request of `endpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestFault {
    pub endpoint: String,
    pub nth: u64,
    pub kind: RestFaultKind,
}

/// A held-back message.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    pub seq: u64,
    pub ms: u64,
}

/// Faults of one WebSocket connection, by outgoing `sequence_num`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WsFaults {
    /// Which connection of its kind (1 = the first).
    pub connection: u64,
    pub drop_seqs: BTreeSet<u64>,
    pub skip_seqs: BTreeSet<u64>,
    pub malformed_seqs: BTreeSet<u64>,
    pub delays: Vec<Delay>,
    pub disconnect_after_seq: Option<u64>,
    pub stall_after_seq: Option<u64>,
}

impl Default for WsFaults {
    fn default() -> Self {
        Self {
            connection: 1,
            drop_seqs: BTreeSet::new(),
            skip_seqs: BTreeSet::new(),
            malformed_seqs: BTreeSet::new(),
            delays: Vec::new(),
            disconnect_after_seq: None,
            stall_after_seq: None,
        }
    }
}

impl WsFaults {
    pub fn delay_ms(&self, seq: u64) -> Option<u64> {
        self.delays.iter().find(|d| d.seq == seq).map(|d| d.ms)
    }
}

/// Every injected fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scenario {
    pub rest: Vec<RestFault>,
    pub market: WsFaults,
    pub user: WsFaults,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestFaultFile {
    endpoint: String,
    nth: u64,
    fault: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    rest: Vec<RestFaultFile>,
    #[serde(default)]
    market: WsFaults,
    #[serde(default)]
    user: WsFaults,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: ScenarioFile = toml::from_str(text)?;
        let mut scenario = Self {
            rest: Vec::new(),
            market: file.market,
            user: file.user,
        };
        for fault in file.rest {
            scenario.add_rest(&fault.endpoint, fault.nth, &fault.fault)?;
        }
        Ok(scenario)
    }

    fn add_rest(&mut self, endpoint: &str, nth: u64, fault: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            ENDPOINTS.contains(&endpoint),
            "unknown endpoint {endpoint:?} (one of {ENDPOINTS:?})"
        );
        anyhow::ensure!(nth > 0, "nth counts from 1");
        let kind = RestFaultKind::parse(fault).map_err(anyhow::Error::msg)?;
        self.rest.push(RestFault {
            endpoint: endpoint.to_owned(),
            nth,
            kind,
        });
        Ok(())
    }

    /// Adds `ENDPOINT:NTH:FAULT`.
    pub fn add_rest_flag(&mut self, flag: &str) -> anyhow::Result<()> {
        let parts: Vec<&str> = flag.split(':').collect();
        let [endpoint, nth, fault] = parts[..] else {
            anyhow::bail!("--rest-fault {flag:?}: expected ENDPOINT:NTH:FAULT");
        };
        self.add_rest(endpoint, nth.parse()?, fault)
    }

    /// Adds `STREAM:KIND:SEQ[:MS]`.
    pub fn add_ws_flag(&mut self, flag: &str) -> anyhow::Result<()> {
        let parts: Vec<&str> = flag.split(':').collect();
        let (stream, kind, seq, ms) = match parts[..] {
            [stream, kind, seq] => (stream, kind, seq.parse::<u64>()?, None),
            [stream, kind, seq, ms] => (stream, kind, seq.parse()?, Some(ms.parse::<u64>()?)),
            _ => anyhow::bail!("--ws-fault {flag:?}: expected STREAM:KIND:SEQ[:MS]"),
        };
        let faults = match stream {
            "market" => &mut self.market,
            "user" => &mut self.user,
            other => anyhow::bail!("--ws-fault stream {other:?} (market|user)"),
        };
        match (kind, ms) {
            ("drop", None) => drop(faults.drop_seqs.insert(seq)),
            ("skip", None) => drop(faults.skip_seqs.insert(seq)),
            ("malformed", None) => drop(faults.malformed_seqs.insert(seq)),
            ("delay", Some(ms)) => faults.delays.push(Delay { seq, ms }),
            ("disconnect", None) => faults.disconnect_after_seq = Some(seq),
            ("stall", None) => faults.stall_after_seq = Some(seq),
            _ => anyhow::bail!(
                "--ws-fault kind {kind:?} (drop|skip|malformed|delay:MS|disconnect|stall)"
            ),
        }
        Ok(())
    }

    /// The fault of the `nth` request of `endpoint`, if any.
    pub fn rest_fault(&self, endpoint: &str, nth: u64) -> Option<RestFaultKind> {
        self.rest
            .iter()
            .find(|f| f.endpoint == endpoint && f.nth == nth)
            .map(|f| f.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_files_and_flags_parse_and_junk_is_refused() {
        // Proves the documented scenario format parses, flags add to it, and unknown
        // endpoints, faults and fields are errors rather than silently ignored.
        let text = r#"
            [[rest]]
            endpoint = "create"
            nth = 3
            fault = "timeout"
            [market]
            drop_seqs = [40]
            delays = [{ seq = 70, ms = 500 }]
            [user]
            connection = 2
            stall_after_seq = 3
        "#;
        let mut scenario = Scenario::parse(text).expect("parses");
        assert_eq!(
            scenario.rest_fault("create", 3),
            Some(RestFaultKind::Timeout)
        );
        assert_eq!(scenario.rest_fault("create", 2), None);
        assert_eq!(scenario.market.connection, 1);
        assert_eq!(scenario.market.delay_ms(70), Some(500));
        assert_eq!(
            (scenario.user.connection, scenario.user.stall_after_seq),
            (2, Some(3))
        );
        scenario.add_rest_flag("fills:1:503").expect("flag");
        scenario.add_rest_flag("create:4:lost").expect("flag");
        assert_eq!(scenario.rest_fault("create", 4), Some(RestFaultKind::Lost));
        scenario.add_ws_flag("market:skip:9").expect("flag");
        assert_eq!(
            scenario.rest_fault("fills", 1),
            Some(RestFaultKind::Status(503))
        );
        assert!(scenario.market.skip_seqs.contains(&9));
        assert!(Scenario::parse("[[rest]]\nendpoint=\"nope\"\nnth=1\nfault=\"drop\"").is_err());
        assert!(Scenario::parse("[[rest]]\nendpoint=\"create\"\nnth=1\nfault=\"418\"").is_err());
        assert!(Scenario::parse("[market]\ndrop=[1]").is_err());
        assert!(scenario.add_ws_flag("market:delay:5").is_err());
    }
}
