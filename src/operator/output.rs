//! What `quorumnet node` and `quorumnet relay` print on stdout: one line per event, a word then
//! `key=value` pairs, stable for scripts and tests (logs go to stderr):
//!
//! ```text
//! started validator=<64 hex> listen=tcp-noise://127.0.0.1:7000[,<more addresses>]
//! resumed height=<n> last_signed=<height>/<round>|none
//! committed height=<n> round=<n> block=<64 hex>
//! stopped signal=<SIGTERM|ctrl-c>
//! ```
//!
//! `resumed` comes once, before the commits, with the journal's tip and the last round signed in;
//! heights up to that tip were printed by an earlier run. Heights are printed in order, each once
//! across the journal's life, as this validator commits them.
//!
//! What the node's liveness monitor concludes is printed as it happens ([`liveness_line`]), so an
//! operator sees a peer go silent or the network split without reading logs:
//!
//! ```text
//! timed-out validator=<64 hex> reason=<no-heartbeat|connection-lost|no-votes|round-timeout>
//! responsive validator=<64 hex>
//! stalled timed-out-power=<n> total-power=<n>
//! stall-cleared
//! partitioned reachable=<n> unreachable=<n>
//! partition-healed
//! eclipsed unheard-by=<n>
//! eclipse-cleared
//! clock-skewed validator=<64 hex> offset-us=<n>
//! clock-skew-cleared validator=<64 hex>
//! ```
//!
//! A relay prints `started relay=<64 hex> listen=<addresses>` (the addresses NAT-bound validators
//! list in `relays`), then only its `stopped` line.
//!
//! ```
//! use quorumnet::message::{BlockHash, Height, Round};
//! use quorumnet::operator::output::CommitLine;
//!
//! let line = CommitLine { height: Height(3), round: Round(0), block: BlockHash([7; 32]) };
//! assert_eq!(CommitLine::parse(&line.to_string()), Some(line));
//! assert_eq!(CommitLine::parse("started validator=00"), None);
//! ```

use std::fmt;
use std::io::Write as _;

use crate::identity::ValidatorId;
use crate::message::{BlockHash, Height, Round};
use crate::node::liveness::{LivenessEvent, ValidatorTimeout};
use crate::transport::PeerAddress;

/// `committed height=… round=… block=…`: this validator committed `block` at `height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitLine {
    /// The height.
    pub height: Height,
    /// The round it was decided in.
    pub round: Round,
    /// The block's hash.
    pub block: BlockHash,
}

impl fmt::Display for CommitLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "committed height={} round={} block={}", self.height.0, self.round.0, self.block)
    }
}

impl CommitLine {
    /// Reads a line [`Display`](fmt::Display) wrote; `None` for any other line.
    pub fn parse(line: &str) -> Option<CommitLine> {
        let mut words = line.trim().split(' ');
        if words.next()? != "committed" {
            return None;
        }
        let mut value = |key: &str| words.next()?.strip_prefix(key)?.strip_prefix('=');
        let height = Height(value("height")?.parse().ok()?);
        let round = Round(value("round")?.parse().ok()?);
        let block = value("block")?.parse::<BlockHash>().ok()?;
        Some(CommitLine { height, round, block })
    }
}

/// `resumed height=… last_signed=…`: the node resumed from its journal at this chain tip (0 for a new
/// journal), having last signed in `last_signed`.
///
/// ```
/// use quorumnet::message::{Height, Round};
/// use quorumnet::operator::output::ResumedLine;
///
/// let line = ResumedLine { height: Height(7), last_signed: Some((Height(8), Round(1))) };
/// assert_eq!(line.to_string(), "resumed height=7 last_signed=8/1");
/// assert_eq!(ResumedLine::parse(&line.to_string()), Some(line));
/// let fresh = ResumedLine { height: Height(0), last_signed: None };
/// assert_eq!(ResumedLine::parse(&fresh.to_string()), Some(fresh));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumedLine {
    /// The journal's chain tip.
    pub height: Height,
    /// The last height and round signed in.
    pub last_signed: Option<(Height, Round)>,
}

impl fmt::Display for ResumedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resumed height={} last_signed=", self.height.0)?;
        match self.last_signed {
            Some((height, round)) => write!(f, "{}/{}", height.0, round.0),
            None => f.write_str("none"),
        }
    }
}

impl ResumedLine {
    /// Reads a line [`Display`](fmt::Display) wrote; `None` for any other line.
    pub fn parse(line: &str) -> Option<ResumedLine> {
        let rest = line.trim().strip_prefix("resumed height=")?;
        let (height, signed) = rest.split_once(" last_signed=")?;
        let last_signed = match signed {
            "none" => None,
            pair => {
                let (h, r) = pair.split_once('/')?;
                Some((Height(h.parse().ok()?), Round(r.parse().ok()?)))
            }
        };
        Some(ResumedLine { height: Height(height.parse().ok()?), last_signed })
    }
}

/// `started validator=… listen=…`: the node listens at `listen` (ports the system picked included).
pub fn started_line(validator: ValidatorId, listen: &[PeerAddress]) -> String {
    started("validator", validator, listen)
}

/// `started relay=… listen=…`: the relay with this identity serves at `listen`.
///
/// ```
/// use quorumnet::identity::Keypair;
/// use quorumnet::operator::output::relay_started_line;
///
/// let id = Keypair::from_seed(&[1; 32]).validator_id();
/// let line = relay_started_line(id, &["tcp-noise://127.0.0.1:7100".parse().unwrap()]);
/// assert_eq!(line, format!("started relay={id} listen=tcp-noise://127.0.0.1:7100"));
/// ```
pub fn relay_started_line(relay: ValidatorId, listen: &[PeerAddress]) -> String {
    started("relay", relay, listen)
}

fn started(role: &str, id: ValidatorId, listen: &[PeerAddress]) -> String {
    let listen: Vec<&str> = listen.iter().map(PeerAddress::as_str).collect();
    format!("started {role}={id} listen={}", listen.join(","))
}

/// `stopped signal=…`: a signal asked the node to stop, and it has.
pub fn stopped_line(signal: &str) -> String {
    format!("stopped signal={signal}")
}

/// The line for what the liveness monitor reported (formats in the [module documentation](self)).
///
/// ```
/// use quorumnet::identity::ValidatorId;
/// use quorumnet::node::liveness::{LivenessEvent, ValidatorTimeout};
/// use quorumnet::operator::output::liveness_line;
///
/// let validator = ValidatorId([1; 32]);
/// let event = LivenessEvent::TimedOut { validator, reason: ValidatorTimeout::ConnectionLost };
/// assert_eq!(liveness_line(&event), format!("timed-out validator={validator} reason=connection-lost"));
/// ```
pub fn liveness_line(event: &LivenessEvent) -> String {
    match event {
        LivenessEvent::TimedOut { validator, reason } => {
            format!("timed-out validator={validator} reason={}", timeout_reason(reason))
        }
        LivenessEvent::ResponsiveAgain { validator } => format!("responsive validator={validator}"),
        LivenessEvent::Stalled { timed_out_power, total_power } => {
            format!("stalled timed-out-power={timed_out_power} total-power={total_power}")
        }
        LivenessEvent::StallCleared => "stall-cleared".into(),
        LivenessEvent::NetworkPartition { side_a, side_b } => {
            format!("partitioned reachable={} unreachable={}", side_a.len(), side_b.len())
        }
        LivenessEvent::PartitionHealed => "partition-healed".into(),
        LivenessEvent::Eclipsed { unheard_by } => format!("eclipsed unheard-by={}", unheard_by.len()),
        LivenessEvent::EclipseCleared => "eclipse-cleared".into(),
        LivenessEvent::ClockSkewed { validator, offset_micros } => {
            format!("clock-skewed validator={validator} offset-us={offset_micros}")
        }
        LivenessEvent::ClockSkewCleared { validator } => format!("clock-skew-cleared validator={validator}"),
    }
}

/// A timeout's reason as one word: the details (how long, which round) are in the logs.
fn timeout_reason(reason: &ValidatorTimeout) -> &'static str {
    match reason {
        ValidatorTimeout::NoHeartbeat { .. } => "no-heartbeat",
        ValidatorTimeout::ConnectionLost => "connection-lost",
        ValidatorTimeout::NoVotes { .. } => "no-votes",
        ValidatorTimeout::RoundTimeout { .. } => "round-timeout",
    }
}

/// Writes one line to stdout and flushes it, so a reader sees each event as it happens. A closed
/// stdout is the reader's business: the process keeps serving.
pub fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}
