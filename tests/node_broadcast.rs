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
    let mut sim = Sim::start(n, seed, wan_like(), NodeConfig::test()).await;
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

/// The trace of a 8-validator run with jittered links, on a fresh runtime.
fn trace(seed: u64) -> Vec<Delivery> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    runtime.block_on(async {
        let sim = all_to_all(8, 3, seed).await;
        let trace = sim.trace.clone();
        sim.shutdown().await;
        trace
    })
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    let first = trace(7);
    let again = trace(7);
    let other = trace(8);
    assert_eq!(first.len(), 8 * 3 * 7);
    assert_eq!(first, again, "same seed, same (time, node, message) trace");
    assert_ne!(first, other, "another seed changes jitter and gossip choices");
}
