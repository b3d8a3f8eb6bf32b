//! What `quorumnet node` and `quorumnet relay` print on stdout: one line per event, a word then
//! `key=value` pairs, stable for scripts and tests (logs go to stderr):
//!
//! ```text
//! started validator=<64 hex> listen=tcp-noise://127.0.0.1:7000[,<more addresses>]
//! committed height=<n> round=<n> block=<64 hex>
//! stopped signal=<SIGTERM|ctrl-c>
//! ```
//!
//! A relay prints `started relay=<64 hex> listen=<addresses>` (the addresses NAT-bound validators
//! list in `relays`), then only its `stopped` line.
//!
//! Heights are printed in order, each once, as this validator commits them.
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

/// Writes one line to stdout and flushes it, so a reader sees each event as it happens. A closed
/// stdout is the reader's business: the process keeps serving.
pub fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}
