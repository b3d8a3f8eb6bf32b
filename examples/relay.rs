//! Reaching a validator behind NAT through a relay: the minimal wiring.
//!
//! A relay and two validators on the in-memory simulator: `A` listens at `mem://validator-a`; `B` has
//! no listener at all — it keeps an outbound link to the relay, holds a reservation there and
//! publishes `relay://mem://relay-0/<B's id>`, the address the validator set lists it at. `A` dials
//! that address like any other: the relay opens a circuit to `B`, and the two run the Noise channel
//! end to end through it (the relay forwards ciphertext it cannot read or alter undetected). Then
//! `A` broadcasts a vote, `B` broadcasts one back, and `A` sends `B` a reliable message that `B`
//! itself acknowledges.
//!
//! Virtual time, so it finishes at once: `cargo run --example relay`. On real sockets, run the
//! relay with `RelayServer::spawn` over a tcp-noise or WebSocket listener, and give the validators
//! `RelayTransport::new` (it reaches relays with the registry's transports).

use std::sync::Arc;
use std::time::Duration;

use quorumnet::devnet::cluster;
use quorumnet::identity::ChainId;
use quorumnet::memory::{LinkConfig, MemoryNetwork};
use quorumnet::message::{ConsensusMessage, Height, Round, Vote};
use quorumnet::node::reliable::DeliveryStatus;
use quorumnet::node::{ConsensusMessageReceiver, IncomingMessages, NodeConfig};
use quorumnet::relay::RelayConfig;
use quorumnet::transport::TransportConfig;
use quorumnet::validator::StaticValidatorSetSource;

/// Every network wait has a bound (virtual time: generous, and still instant).
const PATIENCE: Duration = Duration::from_secs(10);

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Error> {
    let keys = cluster::keys(2);
    let relay_key = cluster::relay_keys(1).remove(0);
    let (a, b) = (keys[0].validator_id(), keys[1].validator_id());
    let chain = ChainId::from_network_name("relay-example");
    let network = MemoryNetwork::new(7);
    network.set_default_link(LinkConfig::lan());

    // 1. The relay: its own identity, serving the set's validators only.
    let relay_at = cluster::relay_memory_address(0);
    let relay = cluster::start_memory_relay(
        &network,
        relay_key.clone(),
        chain,
        [a, b],
        &relay_at,
        TransportConfig::test(),
        RelayConfig::local(),
    )
    .await?;

    // 2. The set lists A directly and B at its relayed address.
    let b_relayed = cluster::relayed_address(&relay_at, b);
    let indexed: Vec<_> = keys.iter().enumerate().collect();
    let set =
        cluster::set_listing(&indexed, |i| vec![if i == 0 { cluster::memory_address(0) } else { b_relayed.clone() }]);
    let source = Arc::new(StaticValidatorSetSource::new(set));
    let builder = |i: usize| cluster::builder(keys[i].clone(), chain, source.clone(), NodeConfig::test(), 7);
    let relays = [relay_key.validator_id()];

    // 3. B first, so its reservation is held before A dials; it listens only through the relay.
    let wall = cluster::WALL_BASE_MICROS;
    let (node_b, mut inbox_b) =
        cluster::behind_relays(builder(1), &relays, &network, &[b_relayed], wall).build().await?;
    println!("B listens only at {}", node_b.listen_addresses()[0]);
    let a_builder = cluster::with_relays(builder(0), &relays, &network);
    let (node_a, mut inbox_a) = cluster::on_memory(a_builder, &network, 0, wall).build().await?;

    // 4. A broadcast each way, then a reliable send that B acknowledges.
    node_a.broadcast(&vote(a, 1)).await?;
    println!("B received {}", describe(&receive(&mut inbox_b).await?));
    node_b.broadcast(&vote(b, 2)).await?;
    println!("A received {}", describe(&receive(&mut inbox_a).await?));
    let id = node_a.send_reliable(b, &vote(a, 3)).await?;
    println!("B received {} (reliable)", describe(&receive(&mut inbox_b).await?));
    let status = tokio::time::timeout(PATIENCE, node_a.wait_for_ack(b, id)).await??;
    assert_eq!(status, DeliveryStatus::Delivered);
    println!("A's reliable send: {status:?}, acknowledged by B itself through the circuit");

    let stats = relay.stats();
    println!(
        "relay: {} links, {} reservation, {} circuit(s), {} ciphertext bytes forwarded",
        stats.links, stats.reservations, stats.circuits, stats.bytes_forwarded
    );
    node_a.shutdown().await;
    node_b.shutdown().await;
    Ok(())
}

fn vote(validator: quorumnet::identity::ValidatorId, round: u32) -> ConsensusMessage {
    ConsensusMessage::PreVote(Vote { height: Height(1), round: Round(round), validator, block_hash: None })
}

async fn receive(inbox: &mut IncomingMessages) -> Result<ConsensusMessage, Error> {
    match tokio::time::timeout(PATIENCE, inbox.receive()).await? {
        Some(incoming) => Ok(incoming.message),
        None => Err("the node stopped".into()),
    }
}

fn describe(message: &ConsensusMessage) -> String {
    match message {
        ConsensusMessage::PreVote(v) => format!("a pre-vote from {} for round {}", v.validator.short(), v.round.0),
        other => format!("{other:?}"),
    }
}
