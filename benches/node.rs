//! `cargo bench --bench node`: the node runtime on the simulated network, in virtual time.
//!
//! For each scenario, validators broadcast 300-byte-payload-sized votes from random (seeded) origins,
//! one every 10 ms, over links of 50 ms ± 10 ms; the table gives, per message, the time from broadcast
//! to 2/3 of the validators and to all of them (p50 / p99), the delivery ratio, and per validator and
//! message the duplicates and bytes received. Figures are virtual time, so they measure the protocol
//! (hops, repair), not this machine; the wall time of each run is printed too.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::Sim;
use quorumnet::memory::{LinkConfig, Node as NetNode};
use quorumnet::message::{Height, MessageId};
use quorumnet::node::gossip::GossipConfig;
use quorumnet::node::NodeConfig;
use quorumnet::validator::ListValidatorSetSource;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MESSAGES: usize = 100;
const INTERVAL: Duration = Duration::from_millis(10);

struct Row {
    name: String,
    to_two_thirds: (Duration, Duration),
    to_all: (Duration, Duration),
    delivery_ratio: f64,
    duplicates: f64,
    bytes: f64,
    wall: Duration,
}

/// Validator `i`'s peers in a seeded random topology of degree `degree` (a union of random perfect
/// matchings, so everyone has about `degree` links).
fn random_topology(n: usize, degree: usize, seed: u64) -> Vec<BTreeSet<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut peers = vec![BTreeSet::new(); n];
    // A ring first, so the graph is connected; then random chords up to the degree.
    for i in 0..n {
        peers[i].insert((i + 1) % n);
        peers[(i + 1) % n].insert(i);
    }
    for i in 0..n {
        while peers[i].len() < degree {
            let j = rng.gen_range(0..n);
            if j != i && peers[j].len() < degree + 1 {
                peers[i].insert(j);
                peers[j].insert(i);
            }
        }
    }
    peers
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn scenario(name: &str, n: usize, topology: Option<usize>, config: NodeConfig) -> Row {
    let wall = std::time::Instant::now();
    let link =
        LinkConfig { latency: Duration::from_millis(50), jitter: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::new(n, 2024, link, config);
    let neighbours = topology.map(|degree| random_topology(n, degree, 2024));
    if let Some(neighbours) = &neighbours {
        for (a, linked) in neighbours.iter().enumerate() {
            for b in a + 1..n {
                if !linked.contains(&b) {
                    sim.network.cut(NetNode::Id(sim.ids[a]), NetNode::Id(sim.ids[b]));
                }
            }
        }
    }
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    for i in 0..n {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    match &neighbours {
        Some(neighbours) => {
            for (i, linked) in neighbours.iter().enumerate() {
                sim.await_connected(i, linked, Duration::from_secs(30)).await;
            }
        }
        None => sim.await_full_mesh(Duration::from_secs(30)).await,
    }
    let before = totals(&sim).await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut sent: BTreeMap<MessageId, (usize, Duration)> = BTreeMap::new();
    for _ in 0..MESSAGES {
        let origin = rng.gen_range(0..n);
        let at = tokio::time::Instant::now() - sim.start;
        let id = sim.broadcast(origin, 1).await;
        sent.insert(id, (origin, at));
        tokio::time::sleep(INTERVAL).await;
    }
    let ids: Vec<MessageId> = sent.keys().copied().collect();
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(60)).await;
    let after = totals(&sim).await;

    let mut arrivals: BTreeMap<MessageId, Vec<Duration>> = BTreeMap::new();
    for delivery in &sim.trace {
        if let Some((_, at)) = sent.get(&delivery.id) {
            arrivals.entry(delivery.id).or_default().push(delivery.at.saturating_sub(*at));
        }
    }
    // 2/3 of the validators, the origin (which holds its message at once) included.
    let quorum = (2 * n).div_ceil(3);
    let (mut two_thirds, mut all) = (Vec::new(), Vec::new());
    for times in arrivals.values_mut() {
        times.sort();
        two_thirds.push(times[quorum.saturating_sub(2).min(times.len() - 1)]);
        all.push(*times.last().unwrap());
    }
    two_thirds.sort();
    all.sort();
    let deliveries = sim.trace.iter().filter(|d| sent.contains_key(&d.id)).count();
    let per = (n * MESSAGES) as f64;
    sim.shutdown().await;
    Row {
        name: name.to_owned(),
        to_two_thirds: (percentile(&two_thirds, 0.5), percentile(&two_thirds, 0.99)),
        to_all: (percentile(&all, 0.5), percentile(&all, 0.99)),
        delivery_ratio: deliveries as f64 / (MESSAGES * (n - 1)) as f64,
        duplicates: (after.0 - before.0) as f64 / per,
        bytes: (after.1 - before.1) as f64 / per,
        wall: wall.elapsed(),
    }
}

/// Duplicates and bytes received, summed over all validators.
async fn totals(sim: &Sim) -> (u64, u64) {
    let (mut duplicates, mut bytes) = (0, 0);
    for node in sim.nodes.values() {
        let stats = node.stats().await.unwrap();
        duplicates += stats.duplicates;
        bytes += stats
            .peers
            .values()
            .filter_map(|peer| peer.link.as_ref())
            .map(|link| link.received.iter().map(|(_, traffic)| traffic.bytes).sum::<u64>())
            .sum::<u64>();
    }
    (duplicates, bytes)
}

fn fanout(fanout: usize) -> NodeConfig {
    let local = NodeConfig::local();
    NodeConfig { gossip: GossipConfig { fanout, ..local.gossip.clone() }, ..local }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    let rows = runtime.block_on(async {
        vec![
            scenario("node::broadcast/sim=full-mesh,n=16", 16, None, NodeConfig::local()).await,
            scenario("node::broadcast/sim=full-mesh,n=100", 100, None, NodeConfig::local()).await,
            scenario("node::broadcast/sim=degree-8,n=32", 32, Some(8), NodeConfig::local()).await,
            // The fanout trade-off: fewer pushed copies, more pulled with Have/Want.
            scenario("node::broadcast/sim=degree-8,n=32,fanout=2", 32, Some(8), fanout(2)).await,
            scenario("node::broadcast/sim=full-mesh,n=16,fanout=1", 16, None, fanout(1)).await,
        ]
    });
    println!(
        "{:<40} {:>17} {:>17} {:>9} {:>11} {:>12} {:>9}",
        "scenario (50±10 ms links, 100 msgs)",
        "2/3 p50/p99 ms",
        "all p50/p99 ms",
        "delivered",
        "dups/val/msg",
        "bytes/val/msg",
        "wall s"
    );
    for row in rows {
        println!(
            "{:<40} {:>8.0}/{:<8.0} {:>8.0}/{:<8.0} {:>8.1}% {:>11.2} {:>12.0} {:>9.1}",
            row.name,
            row.to_two_thirds.0.as_secs_f64() * 1e3,
            row.to_two_thirds.1.as_secs_f64() * 1e3,
            row.to_all.0.as_secs_f64() * 1e3,
            row.to_all.1.as_secs_f64() * 1e3,
            row.delivery_ratio * 100.0,
            row.duplicates,
            row.bytes,
            row.wall.as_secs_f64(),
        );
    }
}
