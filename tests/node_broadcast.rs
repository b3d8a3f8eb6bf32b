//! Broadcast over the simulated network in virtual time: every message reaches every validator, and a
//! run is a function of its seed.

mod common;

use std::time::Duration;

use common::{Delivery, Sim};
use quorumnet::memory::LinkConfig;
use quorumnet::node::NodeConfig;

fn wan_like() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(50), jitter: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// Every validator of `n` broadcasts `per_node` votes; every other validator must deliver all of them.
async fn all_to_all(n: usize, per_node: usize, seed: u64) -> Sim {
    all_to_all_over(n, per_node, seed, wan_like()).await
}

async fn all_to_all_over(n: usize, per_node: usize, seed: u64, link: LinkConfig) -> Sim {
    let mut sim = Sim::start(n, seed, link, NodeConfig::test()).await;
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let mut ids = Vec::new();
    for round in 0..per_node {
        for node in 0..n {
            ids.push(sim.broadcast(node, 1 + round as u64).await);
        }
    }
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(10)).await;
    sim
}

#[tokio::test(start_paused = true)]
async fn every_broadcast_reaches_every_validator_with_4_validators() {
    let sim = all_to_all(4, 5, 1).await;
    // 4 × 5 messages, each delivered to the 3 other validators exactly once.
    assert_eq!(sim.trace.len(), 4 * 5 * 3);
    for node in 0..4 {
        let stats = sim.nodes[&node].stats().await.unwrap();
        assert_eq!(stats.delivered, 15, "node {node}");
        assert_eq!(stats.broadcast, 5, "node {node}");
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_broadcast_reaches_every_validator_with_16_validators() {
    let sim = all_to_all(16, 3, 2).await;
    assert_eq!(sim.trace.len(), 16 * 3 * 15);
    // Direct sends reach everyone within one link latency plus jitter (and the ms timer tick).
    let latest = sim.trace.iter().map(|d| d.at).max().unwrap();
    assert!(latest < Duration::from_secs(12), "last delivery at {latest:?}");
    sim.shutdown().await;
}

/// The trace of a 8-validator run over `link`, on a fresh runtime, and how many links were lost.
fn trace(seed: u64, link: LinkConfig) -> (Vec<Delivery>, u64) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    runtime.block_on(async {
        let sim = all_to_all_over(8, 3, seed, link).await;
        let trace = sim.trace.clone();
        let mut disconnects = 0;
        for node in sim.nodes.values() {
            disconnects += node.stats().await.unwrap().peers.values().map(|p| p.disconnects).sum::<u64>();
        }
        sim.shutdown().await;
        (trace, disconnects)
    })
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    let (first, _) = trace(7, wan_like());
    let (again, _) = trace(7, wan_like());
    let (other, _) = trace(8, wan_like());
    assert_eq!(first.len(), 8 * 3 * 7);
    assert_eq!(first, again, "same seed, same (time, node, message) trace");
    assert_ne!(first, other, "another seed changes jitter and gossip choices");
}

#[test]
fn the_same_seed_gives_the_same_trace_with_link_resets_and_repair() {
    // Resets every second or so on each link: reconnections, backoff jitter and digest repair all
    // shape the trace, and must replay exactly.
    let flaky = LinkConfig { mean_time_between_resets: Some(Duration::from_secs(1)), ..wan_like() };
    let (first, disconnects) = trace(21, flaky.clone());
    let again = trace(21, flaky);
    assert_eq!(first.len(), 8 * 3 * 7);
    assert!(disconnects > 0, "links were reset during the run");
    assert_eq!((first, disconnects), again);
}
