//! The node's events counted as they come: bans, misbehaviour, equivocations, partitions, stalls
//! and eclipses are moments, not state the node can be asked for, so the metrics keep a tally.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use crate::node::liveness::LivenessEvent;
use crate::node::NodeEvent;

/// What the node reported since the tally started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Peers banned ([`NodeEvent::PeerBanned`]).
    pub bans: u64,
    /// Bans lifted.
    pub unbans: u64,
    /// Misbehaviour reports ([`NodeEvent::PeerMisbehaved`]).
    pub misbehaviours: u64,
    /// Equivocations first seen by this node.
    pub equivocations: u64,
    /// Connections to validators that ended.
    pub disconnects: u64,
    /// Network partitions seen ([`LivenessEvent::NetworkPartition`]).
    pub partitions: u64,
    /// Partitions healed.
    pub partitions_healed: u64,
    /// Whether the node sees a partition now (one reported and not yet healed).
    pub partitioned: bool,
    /// Stalls: timed-out validators holding more than a third of the power.
    pub stalls: u64,
    /// Times this node found itself eclipsed.
    pub eclipses: u64,
    /// Events lost because the tally fell behind the node's event buffer: the counts above are
    /// short by at most this many.
    pub missed: u64,
}

impl EventCounts {
    /// Counts one event.
    ///
    /// ```
    /// use quorumnet::node::{liveness::LivenessEvent, NodeEvent};
    /// use quorumnet::operator::metrics::node_events::EventCounts;
    ///
    /// let mut counts = EventCounts::default();
    /// counts.record(&NodeEvent::Liveness(LivenessEvent::PartitionHealed));
    /// assert_eq!(counts.partitions_healed, 1);
    /// ```
    pub fn record(&mut self, event: &NodeEvent) {
        match event {
            NodeEvent::PeerBanned { .. } => self.bans += 1,
            NodeEvent::PeerUnbanned { .. } => self.unbans += 1,
            NodeEvent::PeerMisbehaved { .. } => self.misbehaviours += 1,
            NodeEvent::Equivocation(_) => self.equivocations += 1,
            NodeEvent::PeerDisconnected { .. } => self.disconnects += 1,
            NodeEvent::Liveness(LivenessEvent::NetworkPartition { .. }) => {
                self.partitions += 1;
                self.partitioned = true;
            }
            NodeEvent::Liveness(LivenessEvent::PartitionHealed) => {
                self.partitions_healed += 1;
                self.partitioned = false;
            }
            NodeEvent::Liveness(LivenessEvent::Stalled { .. }) => self.stalls += 1,
            NodeEvent::Liveness(LivenessEvent::Eclipsed { .. }) => self.eclipses += 1,
            _ => {}
        }
    }
}

/// A running tally of a node's events; the counting task stops when this is dropped.
#[derive(Debug)]
pub struct EventTally {
    counts: Arc<Mutex<EventCounts>>,
    task: JoinHandle<()>,
}

impl EventTally {
    /// Counts what `events` delivers, on a task of the current tokio runtime. Subscribe right
    /// after the node is built, so nothing from its start is missed.
    pub fn start(events: broadcast::Receiver<NodeEvent>) -> Self {
        let counts = Arc::new(Mutex::new(EventCounts::default()));
        let task = tokio::spawn(count(events, counts.clone()));
        EventTally { counts, task }
    }

    /// The counts now.
    pub fn counts(&self) -> EventCounts {
        *lock(&self.counts)
    }
}

impl Drop for EventTally {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts `events` into `counts` until the channel closes.
async fn count(mut events: broadcast::Receiver<NodeEvent>, counts: Arc<Mutex<EventCounts>>) {
    loop {
        match events.recv().await {
            Ok(event) => lock(&counts).record(&event),
            Err(RecvError::Lagged(missed)) => lock(&counts).missed += missed,
            Err(RecvError::Closed) => return,
        }
    }
}

/// Locks the counts; a poisoned lock (a panic mid-update, which `record` cannot do) still holds
/// usable counts.
fn lock(counts: &Mutex<EventCounts>) -> MutexGuard<'_, EventCounts> {
    counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn a_partition_is_counted_and_held_until_healed() {
        let mut counts = EventCounts::default();
        let partition = LivenessEvent::NetworkPartition { side_a: BTreeSet::new(), side_b: BTreeSet::new() };
        counts.record(&NodeEvent::Liveness(partition));
        assert_eq!((counts.partitions, counts.partitioned), (1, true));
        counts.record(&NodeEvent::Liveness(LivenessEvent::PartitionHealed));
        assert_eq!((counts.partitions, counts.partitions_healed, counts.partitioned), (1, 1, false));
    }

    #[tokio::test]
    async fn counting_takes_every_event_and_tells_what_it_missed() {
        let (sender, receiver) = broadcast::channel(2);
        // Four into a buffer of two before anyone reads: the two oldest are lost.
        for _ in 0..3 {
            sender.send(NodeEvent::Liveness(LivenessEvent::StallCleared)).unwrap();
        }
        sender.send(NodeEvent::Liveness(LivenessEvent::Stalled { timed_out_power: 2, total_power: 4 })).unwrap();
        drop(sender);
        let counts = Arc::new(Mutex::new(EventCounts::default()));
        // Ends at Closed, after counting everything before it.
        count(receiver, counts.clone()).await;
        assert_eq!(*lock(&counts), EventCounts { stalls: 1, missed: 2, ..EventCounts::default() });
    }
}
