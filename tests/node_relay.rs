//! Validators behind NAT, reached only through relays: the node runtime's broadcast, gossip and
//! reliable delivery reach them over `relay://` circuits (Noise end to end through the relay), and
//! with two relays, killing one fails over to the other while messages keep flowing. On the
//! simulator in virtual time, and once over real tcp-noise loopback sockets.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{relay, Sim};
use quorumnet::devnet::cluster;
use quorumnet::memory::{LinkConfig, MemoryTransport};
use quorumnet::message::{Height, MessageId};
use quorumnet::node::reliable::DeliveryStatus;
use quorumnet::node::routing::{RouteKind, RoutingError};
use quorumnet::node::{MessageRouter, NodeConfig};
use quorumnet::relay::{RelayConfig, RelayServer};
use quorumnet::validator::ListValidatorSetSource;

/// Validators 0..3 listen on the simulator; validator 3 has no listener and no transport but
/// `relay`; keys 4 and 5 are the relays.
const N: usize = 4;
const NAT: usize = 3;
const RELAYS: [usize; 2] = [4, 5];

/// How long, after its relay died, a NAT-bound validator may go unreached: the peers' lost links
/// redial at the node's reconnect backoff (`NodeConfig::test`), the first redial goes to the next
/// address (the other relay), and a message then takes a few link latencies. Checked in virtual time.
const FAILOVER_BOUND: Duration = Duration::from_secs(5);

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// A relay for the set's validators, listening on the simulator.
async fn start_relay(sim: &Sim, relay: usize) -> RelayServer {
    relay::start_relay(sim, relay, N).await
}

/// Starts the four validators: three on the simulator, validator 3 behind `relays` only.
async fn start(sim: &mut Sim, relays: &[usize]) {
    relay::start_with_nat_bound(sim, N, NAT, relays).await;
}

/// Every other validator broadcasts a vote; the NAT-bound one must deliver them all.
async fn broadcasts_reach_the_nat_bound_validator(sim: &mut Sim, height: u64, within: Duration) {
    let mut ids: Vec<MessageId> = Vec::new();
    for i in (0..N).filter(|i| *i != NAT) {
        ids.push(sim.broadcast(i, height).await);
    }
    sim.await_delivered(&[NAT], &ids, within).await;
}

/// Every other validator sends a reliable vote to the NAT-bound one, acknowledged by it.
async fn reliable_sends_are_acknowledged_by_the_nat_bound_validator(sim: &mut Sim, height: u64, within: Duration) {
    for i in (0..N).filter(|i| *i != NAT) {
        let vote = sim.vote(i, height);
        let node = sim.nodes[&i].clone();
        let id = node.send_reliable(sim.ids[NAT], &vote).await.expect("send_reliable");
        let status = tokio::time::timeout(within, node.wait_for_ack(sim.ids[NAT], id))
            .await
            .unwrap_or_else(|_| panic!("validator {i}'s reliable send was not acknowledged within {within:?}"))
            .expect("wait_for_ack");
        assert_eq!(status, DeliveryStatus::Delivered, "validator {i}'s reliable send");
    }
}

/// The four validators with one relay, once every broadcast of height 1 reached the NAT-bound one.
async fn behind_one_relay(seed: u64) -> (Sim, RelayServer) {
    let mut sim = Sim::new(6, seed, link(), NodeConfig::test());
    let relay = start_relay(&sim, RELAYS[0]).await;
    start(&mut sim, &RELAYS[..1]).await;
    broadcasts_reach_the_nat_bound_validator(&mut sim, 1, Duration::from_secs(10)).await;
    (sim, relay)
}

#[tokio::test(start_paused = true)]
async fn a_validator_without_a_listener_gets_every_broadcast_and_acknowledges_reliable_sends_through_a_relay() {
    let (mut sim, relay) = behind_one_relay(71).await;
    reliable_sends_are_acknowledged_by_the_nat_bound_validator(&mut sim, 2, Duration::from_secs(10)).await;
    let stats = relay.stats();
    assert_eq!(stats.reservations, 1, "the NAT-bound validator holds its reservation");
    assert!(stats.circuits >= N - 1, "each other validator reaches it by a circuit: {stats:?}");
    assert!(stats.bytes_forwarded > 0);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_two_relays_killing_one_fails_over_to_the_other_while_messages_keep_flowing() {
    let mut sim = Sim::new(6, 73, link(), NodeConfig::test());
    let first = start_relay(&sim, RELAYS[0]).await;
    let second = start_relay(&sim, RELAYS[1]).await;
    start(&mut sim, &RELAYS).await;
    broadcasts_reach_the_nat_bound_validator(&mut sim, 1, Duration::from_secs(10)).await;
    assert!(first.stats().circuits >= N - 1, "peers dial the first listed relay first");
    assert_eq!(second.stats().reservations, 1, "the second relay holds a reservation too");

    drop(first); // the relay dies: its links and circuits end
    broadcasts_reach_the_nat_bound_validator(&mut sim, 2, FAILOVER_BOUND).await;
    reliable_sends_are_acknowledged_by_the_nat_bound_validator(&mut sim, 3, FAILOVER_BOUND).await;
    assert!(second.stats().circuits >= N - 1, "every peer now reaches it through the second relay");
    sim.shutdown().await;
}

/// `MessageRouter` on a listening validator: a linked peer's route is direct, the NAT-bound one's goes
/// through the relay its link was dialed at; sends, forwards and hosting a relay go through the node.
#[tokio::test(start_paused = true)]
async fn find_route_is_direct_to_a_linked_peer_and_through_the_relay_to_a_nat_bound_validator() {
    let (mut sim, relay) = behind_one_relay(75).await;
    let node = sim.nodes[&0].clone();

    let direct = MessageRouter::find_route(&node, sim.ids[1]).await.unwrap().expect("a linked peer has a route");
    assert_eq!(direct.via, RouteKind::Direct);
    assert!(direct.connected && direct.quality > 0.0 && direct.quality <= 1.0, "{direct:?}");
    let relayed = node.find_route(sim.ids[NAT]).await.unwrap().expect("the NAT-bound validator has a route");
    assert_eq!(relayed.via, RouteKind::Relay(relay.local_addr()));
    assert!(relayed.connected, "{relayed:?}");
    assert!(matches!(node.find_route(sim.ids[RELAYS[0]]).await, Err(RoutingError::NotAValidator { .. })));

    let vote = sim.vote(0, 2);
    let id = node.send_via_route(sim.ids[NAT], &vote).await.expect("a route exists");
    let acked = tokio::time::timeout(Duration::from_secs(10), node.wait_for_ack(sim.ids[NAT], id)).await;
    assert_eq!(acked.expect("acknowledged within 10 s").unwrap(), DeliveryStatus::Delivered);

    // Another validator's envelope, forwarded by validator 0, reaches the NAT-bound one.
    let envelope = sim.signed_prevote(1, 1_000, 7, 9);
    let forwarded = node.forward_message(envelope).await.expect("a valid envelope is forwarded");
    sim.await_delivered(&[NAT], &[forwarded], Duration::from_secs(10)).await;
    let forged = sim.signed_prevote(RELAYS[1], 1_001, 7, 9); // signed by a key outside the set
    assert!(matches!(node.forward_message(forged).await, Err(RoutingError::NotForwarded { .. })));

    let hosted = node.register_as_relay(&"mem://hosted-relay".parse().unwrap(), RelayConfig::test()).await;
    assert_eq!(
        hosted.expect("a node hosts a relay on its memory transport").local_addr().as_str(),
        "mem://hosted-relay"
    );
    let refused = node.register_as_relay(&"tcp-noise://127.0.0.1:0".parse().unwrap(), RelayConfig::test()).await;
    assert!(matches!(refused, Err(RoutingError::CannotHostRelay { .. })), "{refused:?}");
    sim.shutdown().await;
}

/// A NAT-bound validator can dial out but cannot be dialed, and the validator set lists it at no
/// address. It links to the validators it can reach, then advertises its relayed address in its
/// signed address record; validator 2, which it cannot reach (their path is cut), learns the
/// address from the record, relayed by gossip, and links to it through the relay.
#[tokio::test(start_paused = true)]
async fn a_nat_bound_validator_advertises_its_relay_in_its_address_record() {
    let mut sim = Sim::new(6, 77, link(), NodeConfig::test());
    let relay = start_relay(&sim, RELAYS[0]).await;
    let relayed = relay::relayed_address(&sim, RELAYS[0], NAT);
    let keys: Vec<_> = (0..N).map(|i| (i, &sim.keys[i])).collect();
    let set = cluster::set_listing(&keys, |i| if i == NAT { Vec::new() } else { vec![cluster::memory_address(i)] });
    let source = Arc::new(ListValidatorSetSource::new(set, Height(0), 4));
    sim.network.cut(sim.ids[NAT], sim.ids[2]);
    let relay_ids = [sim.ids[RELAYS[0]]];
    for i in 0..N {
        let (network, relayed) = (sim.network.clone(), relayed.clone());
        sim.spawn_with(i, source.clone(), sim.config.clone(), move |builder| {
            if i == NAT {
                // Outbound connections pass its NAT; only its relay takes inbound ones.
                let outbound = network.clone();
                let builder =
                    builder.transport_with(move |ctx| Ok(Arc::new(MemoryTransport::new(outbound, ctx.clone()))));
                cluster::behind_relays(builder, &relay_ids, &network, &[relayed], common::WALL_BASE_MICROS)
            } else {
                cluster::on_memory(
                    cluster::with_relays(builder, &relay_ids, &network),
                    &network,
                    i,
                    common::WALL_BASE_MICROS,
                )
            }
        })
        .await;
    }
    sim.await_connected(NAT, &BTreeSet::from([0, 1]), Duration::from_secs(10)).await;
    assert_eq!(relay.stats().circuits, 0, "no one knows how to reach it through the relay yet");

    sim.nodes[&NAT].announce_addresses(vec![relayed]).await.expect("a valid record");
    sim.await_connected(2, &BTreeSet::from([0, 1, NAT]), Duration::from_secs(10)).await;
    let route = sim.nodes[&2].find_route(sim.ids[NAT]).await.unwrap().expect("a route to it");
    assert_eq!(route.via, RouteKind::Relay(relay.local_addr()), "{route:?}");
    assert!(relay.stats().circuits >= 1);
    sim.shutdown().await;
}
