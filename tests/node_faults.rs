//! Gossip under faults, in virtual time: partial connectivity, random link resets and a partition
//! that heals. Every validator must end with every message.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Sim;
use quorumnet::memory::{LinkConfig, Node as NetNode};
use quorumnet::node::NodeConfig;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(20), jitter: Duration::from_millis(5), ..LinkConfig::perfect() }
}

/// Validator `i`'s neighbours in a ring with one chord: `i ± 1` and `i + n/2`.
fn neighbours(i: usize, n: usize) -> BTreeSet<usize> {
    [(i + 1) % n, (i + n - 1) % n, (i + n / 2) % n].into_iter().collect()
}

#[tokio::test(start_paused = true)]
async fn gossip_delivers_to_all_with_partial_connectivity() {
    let n = 16;
    let mut sim = Sim::new(n, 11, link(), NodeConfig::test());
    // Cut every link but the ring and its chords before anyone dials.
    for a in 0..n {
        for b in a + 1..n {
            if !neighbours(a, n).contains(&b) {
                sim.network.cut(NetNode::Id(sim.ids[a]), NetNode::Id(sim.ids[b]));
            }
        }
    }
    let source = std::sync::Arc::new(quorumnet::validator::ListValidatorSetSource::new(
        sim.set(0..n),
        quorumnet::message::Height(0),
        4,
    ));
    for i in 0..n {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    for i in 0..n {
        sim.await_connected(i, &neighbours(i, n), Duration::from_secs(10)).await;
    }
    let mut ids = Vec::new();
    for origin in [0, 5, 9, 13] {
        for height in 1..=3 {
            ids.push(sim.broadcast(origin, height).await);
        }
    }
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(20)).await;
    assert_eq!(sim.trace.len(), ids.len() * (n - 1), "each message delivered once per other validator");
    // Each validator has 3 links: most deliveries went through other validators.
    let direct_from_origin = {
        let mut count = 0;
        for delivery in &sim.trace {
            let origin = sim.ids.iter().position(|id| *id == delivery.origin).unwrap();
            if neighbours(origin, n).contains(&delivery.node) {
                count += 1;
            }
        }
        count
    };
    assert!(direct_from_origin < sim.trace.len() / 2, "most deliveries went through other validators");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_validator_ends_with_every_message_despite_resets_and_a_healed_partition() {
    let n = 8;
    let flaky = LinkConfig { mean_time_between_resets: Some(Duration::from_secs(3)), ..link() };
    let mut sim = Sim::start(n, 23, flaky, NodeConfig::test()).await;
    let mut ids = Vec::new();
    for origin in 0..n {
        ids.push(sim.broadcast(origin, 1).await);
    }
    tokio::time::sleep(Duration::from_millis(700)).await; // let the first wave spread, resets and all
    let (left, right): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % 2 == 0);
    sim.network.partition([
        left.iter().map(|i| NetNode::Id(sim.ids[*i])).collect::<Vec<_>>(),
        right.iter().map(|i| NetNode::Id(sim.ids[*i])).collect::<Vec<_>>(),
    ]);
    // Both sides keep broadcasting while cut off from each other.
    let mut during = Vec::new();
    for origin in 0..n {
        during.push(sim.broadcast(origin, 2).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    sim.drain();
    for (origin, id) in during.iter().enumerate() {
        for node in (0..n).filter(|node| node % 2 != origin % 2) {
            assert!(!sim.holds(node, id), "node {node} got node {origin}'s message across the partition");
        }
    }
    ids.extend(during);
    sim.network.heal();
    for origin in 0..n {
        ids.push(sim.broadcast(origin, 3).await);
    }
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(30)).await;
    for node in 0..n {
        assert_eq!(sim.held_by(node), ids.len(), "node {node}");
    }
    let resets: u64 = {
        let mut total = 0;
        for node in sim.nodes.values() {
            total += node.stats().await.unwrap().peers.values().map(|p| p.disconnects).sum::<u64>();
        }
        total
    };
    assert!(resets > 0, "the links were reset during the run");
    sim.shutdown().await;
}

/// 50 ms links without jitter: one hop is 50 ms, so a delivery time tells which path a message took.
fn steady_link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(50), ..LinkConfig::perfect() }
}

#[tokio::test(start_paused = true)]
async fn messages_of_a_peer_whose_link_dropped_come_pushed_through_another_peer() {
    let mut sim = Sim::start(4, 29, steady_link(), NodeConfig::test()).await;
    sim.await_full_mesh(Duration::from_secs(5)).await;
    // Heartbeats flow, so validator 3 holds one of 0's: the message it pulls to graft a parent.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.network.cut(NetNode::Id(sim.ids[0]), NetNode::Id(sim.ids[3]));
    sim.await_connected(3, &[1, 2].into(), Duration::from_secs(1)).await;
    // The graft's want and its answer take one round trip.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let sent = tokio::time::Instant::now();
    let id = sim.broadcast(0, 1).await;
    sim.await_delivered(&[3], &[id], Duration::from_secs(5)).await;
    let took = tokio::time::Instant::now() - sent;
    // Pushed by a grafted parent: two hops, 100 ms. Announced instead (the path without the graft):
    // a hop, the announce delay, the `Have`'s hop, the want delay and a round trip, over 200 ms.
    assert!(took <= Duration::from_millis(130), "0's message took {took:?} to reach 3 around the cut link");
    sim.shutdown().await;
}
