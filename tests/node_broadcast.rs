//! Broadcast over the simulated network in virtual time: every message reaches every validator, and a
//! run is a function of its seed.

mod common;
#[path = "../benches/support/sim.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use common::{random_regular_topology, Delivery, Sim};
use quorumnet::memory::LinkConfig;
use quorumnet::node::NodeConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{quiet, start_on_topology};

fn wan_like() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(50), jitter: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// Every validator of `n` broadcasts `per_node` votes; every other validator must deliver all of them.
async fn all_to_all(n: usize, per_node: usize, seed: u64) -> Sim {
    all_to_all_over(n, per_node, seed, wan_like()).await
}

/// The same over `link`. On links that keep resetting a full mesh at one instant is rare (a link
/// that resets soon after coming up is redialed with growing backoff), so broadcasting starts after
/// the first second instead, and repair covers the links that are down.
async fn all_to_all_over(n: usize, per_node: usize, seed: u64, link: LinkConfig) -> Sim {
    let resets = link.mean_time_between_resets.is_some();
    let mut sim = Sim::start(n, seed, link, NodeConfig::test()).await;
    if resets {
        tokio::time::sleep(Duration::from_secs(1)).await;
    } else {
        sim.await_full_mesh(Duration::from_secs(10)).await;
    }
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

/// Hops from `origin` to every validator of `topology` (breadth first).
fn hops_from(origin: usize, topology: &[BTreeSet<usize>]) -> Vec<usize> {
    let mut hops = vec![usize::MAX; topology.len()];
    hops[origin] = 0;
    let mut queue = VecDeque::from([origin]);
    while let Some(a) = queue.pop_front() {
        for &b in &topology[a] {
            if hops[b] == usize::MAX {
                hops[b] = hops[a] + 1;
                queue.push_back(b);
            }
        }
    }
    hops
}

/// The broadcast trees on a sparse topology are shortest-path trees: on a seeded 8-regular graph of 32
/// validators, each of 100 votes from random origins (about three per origin, so trees are being built
/// and pruned while messages overlap) reaches every validator along a shortest path, pushed: within
/// its hop distance × (latency + jitter), never by a later pull. Before receivers kept one parent per
/// origin, two equally short parents could each be pruned in turn (on two messages whose copies came
/// in opposite orders), leaving a validator to pull later messages one digest round late (22 of 3 100
/// deliveries here, 3 hops late). As a consequence p99 to 2/3 stays within 3 link latencies.
#[tokio::test(start_paused = true)]
async fn on_a_degree_8_topology_every_delivery_takes_a_shortest_path() {
    let (n, latency, jitter) = (32, Duration::from_millis(50), Duration::from_millis(10));
    let topology = random_regular_topology(n, 8, 2024);
    // Broadcast only: no heartbeats or pings after the start-up ones.
    let link = LinkConfig { latency, jitter, ..LinkConfig::perfect() };
    let mut sim = Sim::new(n, 2024, link, quiet(NodeConfig::local()));
    start_on_topology(&mut sim, Some(&topology)).await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut sent = BTreeMap::new();
    for _ in 0..100 {
        let origin = rng.gen_range(0..n);
        let at = tokio::time::Instant::now() - sim.start;
        let id = sim.broadcast(origin, 1).await;
        sent.insert(id, (origin, at));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let everyone: Vec<usize> = (0..n).collect();
    let ids: Vec<_> = sent.keys().copied().collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(30)).await;

    let mut late = Vec::new();
    let mut arrivals: BTreeMap<_, Vec<Duration>> = BTreeMap::new();
    for delivery in &sim.trace {
        let Some((origin, at)) = sent.get(&delivery.id) else { continue };
        let took = delivery.at - *at;
        let hops = hops_from(*origin, &topology)[delivery.node];
        // Plus a millisecond: the timer's tick.
        if took > (latency + jitter) * hops as u32 + Duration::from_millis(1) {
            late.push((delivery.node, *origin, hops, took));
        }
        arrivals.entry(delivery.id).or_default().push(took);
    }
    assert!(late.is_empty(), "(node, origin, hops, took) later than a shortest path: {late:?}");
    let quorum = (2 * n).div_ceil(3) - 1; // deliveries besides the origin's own copy
    let mut to_two_thirds: Vec<Duration> = arrivals
        .values_mut()
        .map(|times| {
            times.sort();
            times[quorum - 1]
        })
        .collect();
    to_two_thirds.sort();
    let p99 = to_two_thirds[(to_two_thirds.len() - 1) * 99 / 100];
    assert!(p99 <= 3 * latency, "p99 to 2/3 {p99:?}");
    sim.shutdown().await;
}
