//! The node runtime over tcp-noise on loopback, in real time: the simulator harness with real
//! sockets, the Noise handshake and the system clock. Every wait is bounded and fails with what was
//! missing; nothing sleeps to synchronise.
#![cfg(feature = "tcp-noise")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::Sim;
use quorumnet::identity::ValidatorId;
use quorumnet::message::MessageId;
use quorumnet::node::{Direction, NodeConfig, NodeEvent};
use quorumnet::transport::PeerAddress;
use tokio::sync::broadcast;

/// Loopback connects and delivers in milliseconds; this bounds each wait generously on a loaded machine.
const WITHIN: Duration = Duration::from_secs(5);

async fn full_mesh(n: usize, seed: u64) -> Sim {
    let mut sim = Sim::start_tcp(n, seed, NodeConfig::test(), |_, _| true).await;
    sim.await_full_mesh(WITHIN).await;
    sim
}

/// Each validator holds one connection per peer, and both ends of each pair see the same one: one
/// dialed it (outbound), the other accepted it (inbound).
async fn assert_one_connection_per_pair(sim: &Sim) {
    let mut seen: BTreeMap<(ValidatorId, ValidatorId), Direction> = BTreeMap::new();
    for (index, node) in &sim.nodes {
        let connections = node.connections().await.expect("node runs");
        let peers: BTreeSet<ValidatorId> = connections.iter().map(|c| c.peer).collect();
        assert_eq!(peers.len(), connections.len(), "validator {index}: two connections to one peer");
        assert_eq!(connections.len(), sim.nodes.len() - 1, "validator {index}: {connections:?}");
        for connection in connections {
            seen.insert((node.id(), connection.peer), connection.direction);
        }
    }
    for ((a, b), direction) in &seen {
        let other = seen[&(*b, *a)];
        assert_ne!(*direction, other, "{} and {} both see their connection as {direction:?}", a.short(), b.short());
    }
}

/// Every validator of `nodes` broadcasts `per_node` votes; returns their ids.
async fn broadcast_from(sim: &mut Sim, nodes: &[usize], per_node: u64) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for height in 1..=per_node {
        for node in nodes {
            ids.push(sim.broadcast(*node, height).await);
        }
    }
    ids
}

/// Waits until validator `node` would dial validator `of` at `address`, or fails after [`WITHIN`].
async fn await_address(sim: &mut Sim, node: usize, of: usize, address: &PeerAddress) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    let of_id = sim.ids[of];
    loop {
        let known = sim.nodes[&node].addresses_of(of_id).await.expect("node runs");
        if known.contains(address) {
            return;
        }
        match tokio::time::timeout_at(deadline, sim.events.get_mut(&node).unwrap().recv()).await {
            Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => panic!("validator {node} stopped"),
            Err(_) => panic!("after {WITHIN:?}, validator {node} has {known:?} for {of}, not {address}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broadcast_reaches_every_validator_exactly_once_over_loopback() {
    let n = 4;
    let mut sim = full_mesh(n, 1).await;
    assert_one_connection_per_pair(&sim).await;
    let everyone: Vec<usize> = (0..n).collect();
    let ids = broadcast_from(&mut sim, &everyone, 5).await;
    sim.await_delivered(&everyone, &ids, WITHIN).await;
    for node in &everyone {
        assert_eq!(sim.nodes[node].stats().await.unwrap().delivered, 15, "validator {node}");
    }
    sim.drain();
    let pairs: BTreeSet<(usize, MessageId)> = sim.trace.iter().map(|d| (d.node, d.id)).collect();
    assert_eq!(pairs.len(), sim.trace.len(), "a message was delivered twice to one validator");
    assert_eq!(sim.trace.len(), 4 * 5 * 3, "each of 20 messages to the 3 other validators");
    for node in &everyone {
        assert_eq!(sim.nodes[node].stats().await.unwrap().broadcast, 5, "validator {node}");
    }
    assert_one_connection_per_pair(&sim).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_redialed_and_what_it_missed_arrives() {
    let n = 4;
    let mut sim = full_mesh(n, 2).await;
    // Validator 0 drops its link to 3 and at once broadcasts (commands run in order, so the message
    // is not sent to 3 directly): 3 gets it from the others, and the link comes back.
    let (dropper, dropped) = (0, 3);
    let mut events = sim.nodes[&dropped].events();
    sim.nodes[&dropper].disconnect(sim.ids[dropped]).await.unwrap();
    let missed = broadcast_from(&mut sim, &[dropper], 3).await;
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &missed, WITHIN).await;
    // 3 saw the link go and come back, with the same peer.
    let deadline = tokio::time::Instant::now() + WITHIN;
    let (mut lost, mut back) = (false, false);
    while !(lost && back) {
        match tokio::time::timeout_at(deadline, events.recv()).await.expect("the link is lost and redialed") {
            Ok(NodeEvent::PeerDisconnected { peer, .. }) if peer == sim.ids[dropper] => lost = true,
            Ok(NodeEvent::PeerConnected { peer, .. }) if peer == sim.ids[dropper] && lost => back = true,
            Ok(_) => {}
            Err(error) => panic!("events: {error}"),
        }
    }
    sim.await_full_mesh(WITHIN).await;
    let after = broadcast_from(&mut sim, &everyone, 1).await;
    sim.await_delivered(&everyone, &after, WITHIN).await;
    assert_one_connection_per_pair(&sim).await;
    let disconnects: u64 = sim.nodes[&dropper].stats().await.unwrap().peers.values().map(|p| p.disconnects).sum();
    assert_eq!(disconnects, 0, "a requested disconnect is not a lost link");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_restarted_on_a_new_port_reconnects_pulls_what_it_missed_and_is_found_at_its_new_address() {
    let n = 4;
    let mut sim = full_mesh(n, 3).await;
    let restarted = 1;
    let old_address = sim.nodes[&restarted].listen_addresses()[0].clone();
    sim.nodes[&restarted].shutdown().await;
    let others: Vec<usize> = (0..n).filter(|i| *i != restarted).collect();
    let missed = broadcast_from(&mut sim, &others, 2).await;
    sim.await_delivered(&others, &missed, WITHIN).await;

    // Back on another port, knowing only validator 0's address: it dials 0, announces its new address
    // through it, and the others (still redialing the old port) find it there.
    let node = sim.spawn_tcp(restarted, &BTreeSet::from([0])).await;
    let new_address = node.listen_addresses()[0].clone();
    assert_ne!(new_address, old_address);
    sim.await_connected(restarted, &BTreeSet::from([0]), WITHIN).await;
    node.announce_addresses(vec![new_address.clone()]).await.unwrap();
    for other in &others {
        await_address(&mut sim, *other, restarted, &new_address).await;
    }
    sim.await_full_mesh(WITHIN).await;
    // Sent while it was down: pulled from the peers' stores after it came back.
    sim.await_delivered(&[restarted], &missed, WITHIN).await;
    let everyone: Vec<usize> = (0..n).collect();
    let after = broadcast_from(&mut sim, &everyone, 1).await;
    sim.await_delivered(&everyone, &after, WITHIN).await;
    assert_one_connection_per_pair(&sim).await;
    sim.shutdown().await;
}
