//! The bounded topology through the node, in virtual time: each validator links to its rendezvous
//! picks and to those that picked it, gossip carries broadcasts to everyone else, and reliable
//! delivery to an unlinked validator opens a link on demand that closes after the linger.

mod common;
#[path = "../benches/support/sim.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{next_event, Sim};
use quorumnet::memory::LinkConfig;
use quorumnet::node::liveness::LivenessConfig;
use quorumnet::node::reliable::ReliableEvent;
use quorumnet::node::topology::Topology;
use quorumnet::node::{DisconnectReason, NodeConfig, NodeEvent};
use support::start_bounded;

const N: usize = 40;
const DEGREE: usize = 6;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(20), jitter: Duration::from_millis(5), ..LinkConfig::perfect() }
}

async fn start() -> (Sim, Vec<BTreeSet<usize>>) {
    // The local preset's heartbeats: the test preset's ten per second from each of 40 validators
    // cost the test its wall time and show nothing more.
    let config = NodeConfig { liveness: LivenessConfig::local(), ..NodeConfig::test() };
    let mut sim = Sim::new(N, 11, link(), config);
    let links = start_bounded(&mut sim, DEGREE).await;
    (sim, links)
}

#[tokio::test(start_paused = true)]
async fn each_validator_links_to_its_picks_and_those_that_picked_it_and_gossip_reaches_the_rest() {
    let (mut sim, links) = start().await;
    let mean = links.iter().map(BTreeSet::len).sum::<usize>() as f64 / N as f64;
    assert!(mean <= DEGREE as f64 && mean < (N - 1) as f64 / 4.0, "mean degree {mean}");
    // Links stay as they are: nobody dials the validators it neither picked nor was picked by.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (i, linked) in links.iter().enumerate() {
        sim.await_connected(i, linked, Duration::ZERO).await;
    }
    let ids = [sim.broadcast(0, 1).await, sim.broadcast(N - 1, 1).await];
    let everyone: Vec<usize> = (0..N).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(2)).await;
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reliable_delivery_to_an_unlinked_validator_links_on_demand_and_closes_after_the_linger() {
    let (mut sim, links) = start().await;
    let Topology::Bounded { linger, .. } = Topology::bounded(DEGREE) else { unreachable!() };
    let to = (1..N).find(|j| !links[0].contains(j)).expect("a validator node 0 is not linked to");
    let mut events = sim.nodes[&0].events();
    let vote = sim.vote(0, 1);
    let id = sim.nodes[&0].send_reliable(sim.ids[to], &vote).await.expect("accepted");
    let delivered = next_event(&mut events, Duration::from_secs(5), |event| match event {
        NodeEvent::Reliable(ReliableEvent::Delivered { peer, id: acked, .. }) if acked == id => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(delivered, sim.ids[to], "acked by the destination itself, over its own link");
    let acked_at = tokio::time::Instant::now();
    let closed = next_event(&mut events, linger + Duration::from_secs(2), |event| match event {
        NodeEvent::PeerDisconnected { peer, reason: DisconnectReason::Unneeded } => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(closed, sim.ids[to]);
    assert!(acked_at.elapsed() >= linger, "closed {:?} after the ack, before the linger", acked_at.elapsed());
    // Neither side redials it: both are back to their topology's links.
    tokio::time::sleep(Duration::from_secs(5)).await;
    sim.await_connected(0, &links[0], Duration::ZERO).await;
    sim.await_connected(to, &links[to], Duration::ZERO).await;
    sim.shutdown().await;
}
