//! What a validator's node reported during a run that its end-of-run state no longer shows: every ban
//! (a timed ban may have lifted by the end) and every partition and eclipse signal of its liveness
//! monitor, recorded from [`Node::events`] as they happen.
//!
//! Bounded: at most [`MAX_SIGNALS`] of each per validator; later ones, and events the recorder fell
//! behind on (a flood of misbehaviour reports can outrun it), are counted in
//! [`SignalLog::lost`].

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::node::liveness::LivenessEvent;
use crate::node::reputation::PeerBehavior;
use crate::node::{Node, NodeEvent};

/// Bans, and partition signals, kept per validator: far more than a run's few byzantine peers and
/// partitions produce.
pub const MAX_SIGNALS: usize = 256;

/// A ban one node imposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ban {
    /// The banned peer.
    pub peer: ValidatorId,
    /// The behaviour whose report banned it (`None`: an operator's ban).
    pub behavior: Option<PeerBehavior>,
    /// When.
    pub at: Instant,
}

/// A partition or eclipse signal of a node's liveness monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionSignal {
    /// Reachable power stayed below a quorum: it reaches `reachable` validators (itself included)
    /// and not `unreachable`.
    Partitioned {
        /// Validators it reaches.
        reachable: usize,
        /// Validators it does not.
        unreachable: usize,
    },
    /// Reachable power is back at a quorum.
    Healed,
    /// It hears a quorum, but no quorum hears it.
    Eclipsed,
    /// A quorum hears it again.
    EclipseCleared,
}

impl PartitionSignal {
    /// Its name in the report.
    pub const fn name(self) -> &'static str {
        match self {
            PartitionSignal::Partitioned { .. } => "partitioned",
            PartitionSignal::Healed => "healed",
            PartitionSignal::Eclipsed => "eclipsed",
            PartitionSignal::EclipseCleared => "eclipse-cleared",
        }
    }

    fn of(event: &LivenessEvent) -> Option<Self> {
        Some(match event {
            LivenessEvent::NetworkPartition { side_a, side_b } => {
                PartitionSignal::Partitioned { reachable: side_a.len(), unreachable: side_b.len() }
            }
            LivenessEvent::PartitionHealed => PartitionSignal::Healed,
            LivenessEvent::Eclipsed { .. } => PartitionSignal::Eclipsed,
            LivenessEvent::EclipseCleared => PartitionSignal::EclipseCleared,
            _ => return None,
        })
    }
}

/// What one validator's nodes (across restarts) reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalLog {
    /// Bans, in the order imposed.
    pub bans: Vec<Ban>,
    /// Partition and eclipse signals, with when.
    pub partitions: Vec<(Instant, PartitionSignal)>,
    /// Signals not kept: past [`MAX_SIGNALS`], or missed while the recorder lagged.
    pub lost: u64,
}

/// A shared handle to one validator's [`SignalLog`], kept across its node's restarts.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    log: Arc<Mutex<SignalLog>>,
}

impl Signals {
    /// What was recorded so far.
    pub fn snapshot(&self) -> SignalLog {
        self.lock().clone()
    }

    /// Records `node`'s bans and partition signals until it stops (or the task is aborted).
    pub fn record(&self, node: &Node) -> JoinHandle<()> {
        let mut events = node.events();
        let signals = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => signals.keep(&event),
                    Err(RecvError::Lagged(missed)) => signals.lock().lost += missed,
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }

    fn keep(&self, event: &NodeEvent) {
        let mut log = self.lock();
        let kept = match event {
            NodeEvent::PeerBanned { peer, behavior, .. } => {
                push_bounded(&mut log.bans, Ban { peer: *peer, behavior: *behavior, at: Instant::now() })
            }
            NodeEvent::Liveness(liveness) => match PartitionSignal::of(liveness) {
                Some(signal) => push_bounded(&mut log.partitions, (Instant::now(), signal)),
                None => true,
            },
            _ => true,
        };
        if !kept {
            log.lost += 1;
        }
    }

    fn lock(&self) -> MutexGuard<'_, SignalLog> {
        // The log is plain data: a panicking holder leaves it usable.
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Pushes `item` unless `list` holds [`MAX_SIGNALS`] already; returns whether it was kept.
fn push_bounded<T>(list: &mut Vec<T>, item: T) -> bool {
    let room = list.len() < MAX_SIGNALS;
    if room {
        list.push(item);
    }
    room
}
