//! Lifecycle and backpressure: shutdown, stopping when every handle is dropped, and a slow engine
//! slowing its peers down instead of growing memory.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{address, chain, Sim, WALL_BASE_MICROS};
use quorumnet::memory::{LinkConfig, MemoryTransport};
use quorumnet::message::Height;
use quorumnet::node::{DisconnectReason, Node, NodeConfig, NodeError, NodeEvent, VirtualClock};
use quorumnet::validator::ListValidatorSetSource;

const WITHIN: Duration = Duration::from_secs(10);

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() }
}

#[tokio::test(start_paused = true)]
async fn a_node_that_shuts_down_is_seen_leaving_and_refuses_further_work() {
    let mut sim = Sim::start(3, 3, link(), NodeConfig::test()).await;
    sim.await_full_mesh(WITHIN).await;
    let mut events = sim.nodes[&1].events();
    let stopped = sim.nodes[&0].clone();
    stopped.shutdown().await;
    let vote = sim.vote(0, 1);
    assert!(matches!(stopped.broadcast(&vote).await, Err(NodeError::Stopped)));
    assert!(matches!(stopped.stats().await, Err(NodeError::Stopped)));
    loop {
        let event = tokio::time::timeout(WITHIN, events.recv()).await.expect("a disconnection").unwrap();
        if let NodeEvent::PeerDisconnected { peer, reason: DisconnectReason::Link(_) } = event {
            assert_eq!(peer, sim.ids[0]);
            break;
        }
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_node_stops_when_every_handle_is_dropped() {
    let sim = Sim::new(1, 4, link(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..1), Height(0), 4));
    let network = sim.network.clone();
    let (node, mut incoming) = Node::builder()
        .keypair(sim.keys[0].clone())
        .chain_id(chain())
        .validators(source)
        .transport_with(move |ctx| Ok(Arc::new(MemoryTransport::new(network, ctx.clone()))))
        .listen(address(0))
        .config(NodeConfig::test())
        .clock(VirtualClock::shared(WALL_BASE_MICROS))
        .build()
        .await
        .unwrap();
    let clone = node.clone();
    drop(node);
    assert!(clone.connected_peers().await.is_ok(), "a clone keeps the node running");
    drop(clone);
    let end = tokio::time::timeout(WITHIN, incoming.recv()).await.expect("the node's task ended");
    assert!(end.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_full_engine_channel_stops_the_node_taking_frames_until_the_engine_reads() {
    // Node 1's engine reads nothing at first; its channel holds 2 messages.
    let mut sim = Sim::new(2, 6, link(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..2), Height(0), 4));
    sim.spawn(0, source.clone(), sim.config.clone()).await;
    let network = sim.network.clone();
    let (slow, mut incoming) = Node::builder()
        .keypair(sim.keys[1].clone())
        .chain_id(chain())
        .validators(source)
        .transport_with(move |ctx| Ok(Arc::new(MemoryTransport::new(network, ctx.clone()))))
        .listen(address(1))
        .config(NodeConfig { incoming_capacity: 2, ..NodeConfig::test() })
        .clock(VirtualClock::shared(WALL_BASE_MICROS))
        .build()
        .await
        .unwrap();
    let mut events = slow.events();
    loop {
        let event = tokio::time::timeout(WITHIN, events.recv()).await.expect("connected").unwrap();
        if matches!(event, NodeEvent::PeerConnected { .. }) {
            break;
        }
    }
    let mut ids = Vec::new();
    for height in 1..=10 {
        ids.push(sim.broadcast(0, height).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // ample time for all ten to arrive
    let stats = slow.stats().await.unwrap();
    assert_eq!(stats.delivered, 2, "only what the channel holds was taken from the link");
    let mut received = Vec::new();
    while received.len() < ids.len() {
        let message = tokio::time::timeout(WITHIN, incoming.recv()).await.expect("the rest follow").unwrap();
        received.push(message.id);
    }
    assert_eq!(received, ids, "in order, none lost");
    slow.shutdown().await;
    sim.shutdown().await;
}
