//! One reading of everything a node's metrics show: the engine's journal, the node's counters and
//! connections, and the event tally, taken together at scrape time so one scrape is consistent
//! with itself and nothing is kept between scrapes.

use std::collections::{BTreeMap, BTreeSet};

use super::node_events::EventCounts;
use crate::devnet::journal::{CommitPath, Journal};
use crate::identity::ValidatorId;
use crate::node::liveness::{RttEstimate, ValidatorTimeout};
use crate::node::{Node, NodeError, NodeStats};

/// The engine's progress, from its journal.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChainReading {
    /// The last committed height (0 before the first commit).
    pub committed_height: u64,
    /// The height the engine is at.
    pub height: u64,
    /// The round it is in.
    pub round: u32,
    /// Step timeouts fired (propose, prevote, precommit).
    pub step_timeouts: u64,
    /// Rounds after the first that committed heights needed.
    pub extra_rounds: u64,
    /// Equivocation proofs held, one per excluded validator at most.
    pub evidence_held: usize,
    /// Finality latency (entering a height to committing it) of the heights this validator decided
    /// itself among the last [`FINALITY_WINDOW`], seconds: the median and the 99th percentile.
    pub finality_p50: Option<f64>,
    /// See [`finality_p50`](Self::finality_p50).
    pub finality_p99: Option<f64>,
}

/// Heights the finality quantiles are over: recent enough to follow a change, enough for a p99.
pub const FINALITY_WINDOW: usize = 128;

impl ChainReading {
    /// Reads `journal` now.
    pub fn of(journal: &Journal) -> Self {
        let state = journal.lock();
        let (height, round) = state.position;
        let recent = &state.chain[state.chain.len().saturating_sub(FINALITY_WINDOW)..];
        // Heights adopted while catching up have no finality of their own to show, and those read
        // back from the journal on disk carry none (zero): the process that decided them timed them.
        let mut latencies: Vec<f64> = recent
            .iter()
            .filter(|c| c.path == CommitPath::Decided && !c.latency.is_zero())
            .map(|c| c.latency.as_secs_f64())
            .collect();
        latencies.sort_by(f64::total_cmp);
        let quantile = |q: f64| {
            let last = latencies.len().checked_sub(1)?;
            latencies.get((last as f64 * q).round() as usize).copied()
        };
        ChainReading {
            committed_height: state.chain.last().map_or(0, |c| c.height.0),
            height: height.0,
            round: round.0,
            step_timeouts: state.timeouts,
            extra_rounds: state.extra_rounds,
            evidence_held: state.evidence.len(),
            finality_p50: quantile(0.5),
            finality_p99: quantile(0.99),
        }
    }
}

/// What the running node answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkReading {
    /// Its counters.
    pub stats: NodeStats,
    /// The validators connected now.
    pub connected: BTreeSet<ValidatorId>,
    /// The round trip to each peer that answered a ping.
    pub rtts: BTreeMap<ValidatorId, RttEstimate>,
    /// The validators timed out now, with why.
    pub timed_out: Vec<(ValidatorId, ValidatorTimeout)>,
}

impl NetworkReading {
    /// Asks `node`.
    ///
    /// # Errors
    /// [`NodeError::Stopped`] once the node stopped.
    pub async fn of(node: &Node) -> Result<Self, NodeError> {
        let stats = node.stats().await?;
        let connected = node.connected_peers().await?.into_iter().collect();
        let mut rtts = BTreeMap::new();
        for &peer in stats.peers.keys() {
            if let Some(rtt) = node.rtt(peer).await? {
                rtts.insert(peer, rtt);
            }
        }
        let timed_out = node.timed_out_validators().await?;
        Ok(NetworkReading { stats, connected, rtts, timed_out })
    }

    /// The validators the node knows as peers: those it keeps counters for, and those connected.
    pub fn peers(&self) -> BTreeSet<ValidatorId> {
        self.stats.peers.keys().chain(&self.connected).copied().collect()
    }
}

/// A node's metrics at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeSnapshot {
    /// The engine's progress.
    pub chain: ChainReading,
    /// The node's state; `None` once it stopped (the journal and tally are still shown).
    pub network: Option<NetworkReading>,
    /// The node's events so far.
    pub events: EventCounts,
}

impl NodeSnapshot {
    /// Reads `node`, `journal` and the event `counts`.
    pub async fn take(node: &Node, journal: &Journal, events: EventCounts) -> Self {
        let network = NetworkReading::of(node).await.ok();
        NodeSnapshot { chain: ChainReading::of(journal), network, events }
    }
}
