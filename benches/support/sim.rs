//! Set-up shared by the node bench and the broadcast tests (each includes this file with `#[path]`,
//! next to `tests/common`): broadcast-only configuration, a sparse topology on the simulated network,
//! and waiting until it is up and quiet.
#![allow(dead_code, reason = "each includer uses part of it")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use quorumnet::identity::ValidatorId;
use quorumnet::memory::Node as NetNode;
use quorumnet::message::Height;
use quorumnet::node::liveness::LivenessConfig;
use quorumnet::node::topology::{picks, Topology};
use quorumnet::node::NodeConfig;
use quorumnet::validator::ListValidatorSetSource;

use crate::common::Sim;

/// `config` without liveness traffic, to measure broadcast alone: the one heartbeat each node sends
/// at start-up falls before the measurement ([`SETTLE`]), the next an hour later; no pings; nobody
/// times out.
pub fn quiet(config: NodeConfig) -> NodeConfig {
    let hour = Duration::from_secs(3_600);
    let liveness = LivenessConfig {
        heartbeat_interval: hour,
        liveness_timeout: 2 * hour,
        ping_interval: hour,
        ..config.liveness.clone()
    };
    NodeConfig { liveness, ..config }
}

/// Waited after the topology is up, before measuring: the digests sent when links come up (and the
/// start-up heartbeats they announce) are pulled and done with.
pub const SETTLE: Duration = Duration::from_secs(2);

/// Starts every validator of `sim` with one shared set and `sim.config`, linked only to its
/// `neighbours` (every other link of the simulated network cut) or to everyone, and waits until the
/// links are up and [`settle`]d.
pub async fn start_on_topology(sim: &mut Sim, neighbours: Option<&[BTreeSet<usize>]>) {
    let n = sim.ids.len();
    for (a, linked) in neighbours.into_iter().flatten().enumerate() {
        for b in (a + 1..n).filter(|b| !linked.contains(b)) {
            sim.network.cut(NetNode::Id(sim.ids[a]), NetNode::Id(sim.ids[b]));
        }
    }
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    for i in 0..n {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    await_topology(sim, neighbours).await;
    settle(sim).await;
}

/// Waits until each validator is connected to exactly its neighbours (everyone else without a topology).
pub async fn await_topology(sim: &mut Sim, neighbours: Option<&[BTreeSet<usize>]>) {
    match neighbours {
        Some(neighbours) => {
            for (i, linked) in neighbours.iter().enumerate() {
                sim.await_connected(i, linked, Duration::from_secs(30)).await;
            }
        }
        None => sim.await_full_mesh(Duration::from_secs(30)).await,
    }
}

/// Waits [`SETTLE`], collecting deliveries meanwhile (none are expected: heartbeats are not delivered).
pub async fn settle(sim: &mut Sim) {
    tokio::time::sleep(SETTLE).await;
    sim.drain();
}

/// Validator `i`'s links under a bounded `topology` over `ids`: its picks and the validators that
/// picked it ([`picks`]).
pub fn bounded_links(ids: &[ValidatorId], topology: &Topology) -> Vec<BTreeSet<usize>> {
    let index = |id| ids.iter().position(|known| *known == id).expect("a validator");
    let mut links = vec![BTreeSet::new(); ids.len()];
    for (i, id) in ids.iter().enumerate() {
        for peer in picks(*id, ids.iter().copied(), topology) {
            links[i].insert(index(peer));
            links[index(peer)].insert(i);
        }
    }
    links
}

/// Starts every validator of `sim` with one shared set and `sim.config` under a bounded topology of
/// `degree`, and waits until each is linked to exactly [`bounded_links`] and [`settle`]d. Returns the
/// links.
pub async fn start_bounded(sim: &mut Sim, degree: usize) -> Vec<BTreeSet<usize>> {
    let topology = Topology::bounded(degree);
    sim.config.topology = topology.clone();
    let n = sim.ids.len();
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    for i in 0..n {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    let links = bounded_links(&sim.ids, &topology);
    for (i, linked) in links.iter().enumerate() {
        sim.await_connected(i, linked, Duration::from_secs(60)).await;
    }
    settle(sim).await;
    links
}
