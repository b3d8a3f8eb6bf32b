//! What can go wrong running a devnet, and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

use crate::message::Height;
use crate::node::{BuildError, NodeError};

/// A devnet failure.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The options cannot make a devnet.
    #[error("invalid devnet options: {0}")]
    InvalidOptions(String),
    /// A validator's node did not start.
    #[error("validator {index} did not start: {source} (on tcp-noise, check that loopback sockets can be opened)")]
    NodeStart {
        /// The validator.
        index: usize,
        /// Why (boxed: a build error is large, and rare).
        source: Box<BuildError>,
    },
    /// A validator index beyond the devnet's.
    #[error("no validator {index}: the devnet has {count} (indices 0..{count})")]
    NoSuchValidator {
        /// The index asked for.
        index: usize,
        /// How many validators there are.
        count: usize,
    },
    /// A relay index beyond the devnet's.
    #[error("no relay {index}: the devnet runs {count} (indices 0..{count}; relays run only with --nat above 0)")]
    NoSuchRelay {
        /// The index asked for.
        index: usize,
        /// How many relays run.
        count: usize,
    },
    /// A relay did not start.
    #[error("relay {index} did not start: {source}")]
    RelayStart {
        /// The relay.
        index: usize,
        /// Why.
        source: crate::transport::TransportError,
    },
    /// An engine's node refused a message it signed: a bug in the engine.
    #[error("validator {index}'s node refused its engine's message: {source}")]
    Engine {
        /// The validator.
        index: usize,
        /// Why.
        source: NodeError,
    },
    /// The validators waited for did not reach a height in time.
    #[error("validators {waiting:?} had not committed height {target} after {within:?} (reached {reached}); look for a partition, crashed validators holding more than 1/3 of the power, or timeouts too short for the links")]
    Stalled {
        /// The height waited for.
        target: Height,
        /// The lowest height reached among them.
        reached: Height,
        /// How long it waited.
        within: Duration,
        /// The validators that had not reached it.
        waiting: Vec<usize>,
    },
    /// Two validators committed different blocks at one height: a safety violation.
    #[error("validators {first} and {second} committed different blocks at height {height}: consensus safety is broken; keep the seed and options to reproduce")]
    Diverged {
        /// The height.
        height: Height,
        /// One validator.
        first: usize,
        /// Another, with a different block.
        second: usize,
    },
    /// The report's plot could not be drawn.
    #[error("{0} (the JSON report was not written either: rerun, and report the options if it persists)")]
    Plot(#[from] super::plot::PlotError),
    /// The report could not be written.
    #[error("writing the report to {path}: {source} (pass another --report path)")]
    WriteReport {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
