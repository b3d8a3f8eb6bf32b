//! Partitions end to end, in virtual time: a 2|2 split stalls every validator and reports the two
//! sides (DESIGN.md §5: < 2/3 reachable voting power ⇒ `NetworkPartition { side_a, side_b }`), and
//! healing clears both; a single validator cut off sees the partition while the others only see it
//! time out.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Sim;
use quorumnet::identity::ValidatorId;
use quorumnet::memory::{LinkConfig, Node as NetNode};
use quorumnet::node::liveness::LivenessEvent;
use quorumnet::node::{NodeConfig, NodeEvent};
use tokio::sync::broadcast;
use tokio::time::Instant;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), jitter: Duration::from_millis(2), ..LinkConfig::perfect() }
}

/// The liveness events of `events` over the next `during` (virtual).
async fn liveness_during(events: &mut broadcast::Receiver<NodeEvent>, during: Duration) -> Vec<LivenessEvent> {
    let until = Instant::now() + during;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(until, events.recv()).await {
            Ok(Ok(NodeEvent::Liveness(event))) => seen.push(event),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("event stream: {error}"),
            Err(_) => return seen,
        }
    }
}

/// Waits until every liveness event `wanted` arrived on `events` (in any order); fails after `within`.
async fn await_all(events: &mut broadcast::Receiver<NodeEvent>, wanted: &[LivenessEvent], within: Duration) {
    let deadline = Instant::now() + within;
    let mut missing: Vec<&LivenessEvent> = wanted.iter().collect();
    while !missing.is_empty() {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(NodeEvent::Liveness(event))) => missing.retain(|want| **want != event),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("event stream: {error}"),
            Err(_) => panic!("after {within:?}, still missing {missing:?}"),
        }
    }
}

fn ids_of(sim: &Sim, indices: &[usize]) -> BTreeSet<ValidatorId> {
    indices.iter().map(|i| sim.ids[*i]).collect()
}

/// Four validators, fully connected, then split into `sides`; each one's event stream from just
/// before the split.
async fn split(seed: u64, config: &NodeConfig, sides: [&[usize]; 2]) -> (Sim, Vec<broadcast::Receiver<NodeEvent>>) {
    let mut sim = Sim::start(4, seed, link(), config.clone()).await;
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let events = (0..4).map(|i| sim.nodes[&i].events()).collect();
    sim.network.partition(sides.map(|side| side.iter().map(|i| NetNode::Id(sim.ids[*i])).collect::<Vec<_>>()));
    (sim, events)
}

/// How long detection may take: the heartbeat that tells the others what a validator no longer hears,
/// the partition debounce, and in-flight frames.
fn detection_bound(config: &NodeConfig) -> Duration {
    config.liveness.liveness_timeout + config.liveness.heartbeat_interval + config.liveness.partition_debounce * 2
}

#[tokio::test(start_paused = true)]
async fn a_two_two_split_stalls_and_partitions_every_validator_and_healing_clears_both() {
    let config = NodeConfig::test();
    let sides: [&[usize]; 2] = [&[0, 1], &[2, 3]];
    let (sim, mut events) = split(81, &config, sides).await;
    for (i, events) in events.iter_mut().enumerate() {
        let (own, other) = if sides[0].contains(&i) { (sides[0], sides[1]) } else { (sides[1], sides[0]) };
        let partition = LivenessEvent::NetworkPartition { side_a: ids_of(&sim, own), side_b: ids_of(&sim, other) };
        // Reported when the second peer of the other side times out: 2 of 4 is more than a third.
        let stalled = LivenessEvent::Stalled { timed_out_power: 2, total_power: 4 };
        await_all(events, &[stalled, partition], detection_bound(&config)).await;
    }

    sim.network.heal();
    // Reconnection backs off up to reconnect_backoff_max; then heartbeats flow and the debounce passes.
    let heal_bound = config.reconnect_backoff_max + detection_bound(&config);
    for events in &mut events {
        await_all(events, &[LivenessEvent::PartitionHealed, LivenessEvent::StallCleared], heal_bound).await;
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_validator_cut_off_alone_sees_the_partition_and_the_others_only_its_timeout() {
    let config = NodeConfig::test();
    let (sim, mut events) = split(82, &config, [&[0, 1, 2], &[3]]).await;
    let bound = detection_bound(&config);
    // Validator 3 hears no one: a quarter of the power reachable. The stall is reported once, when the
    // second of its lost peers times out (2 of 4 is more than a third).
    let alone = LivenessEvent::NetworkPartition { side_a: ids_of(&sim, &[3]), side_b: ids_of(&sim, &[0, 1, 2]) };
    await_all(&mut events[3], &[LivenessEvent::Stalled { timed_out_power: 2, total_power: 4 }, alone], bound).await;
    // The other three still reach three quarters, a quorum: validator 3 times out, nothing more.
    for events in &mut events[..3] {
        let seen = liveness_during(events, bound).await;
        assert!(
            seen.iter().any(|e| matches!(e, LivenessEvent::TimedOut { validator, .. } if *validator == sim.ids[3])),
            "{seen:?}"
        );
        assert!(
            !seen.iter().any(|e| matches!(e, LivenessEvent::Stalled { .. } | LivenessEvent::NetworkPartition { .. })),
            "{seen:?}"
        );
    }
    sim.shutdown().await;
}
