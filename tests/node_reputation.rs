//! Reputation against real bytes: a peer forwarding forged envelopes is disconnected, then banned,
//! and cannot come back by redialing; an operator's ban holds until its timed unban; honest peers
//! are never scored down by each other's normal traffic.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{chain, next_event, Sim, WALL_BASE_MICROS};
use quorumnet::identity::{Signature, ValidatorId};
use quorumnet::memory::LinkConfig;
use quorumnet::message::{ConsensusMessage, Envelope, Frame, Height, Round, Vote};
use quorumnet::node::reputation::{PeerBehavior, ReputationConfig};
use quorumnet::node::{DisconnectReason, NodeConfig, NodeEvent};
use quorumnet::tcp_noise::TcpNoiseTransport;
use quorumnet::transport::{Admission, Connection, Transport, TransportConfig, TransportContext};
use quorumnet::validator::ListValidatorSetSource;

const WITHIN: Duration = Duration::from_secs(10);

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// A vote of `author` for `round` whose signature has one byte flipped.
fn forged(sim: &Sim, author: usize, round: u32) -> Frame {
    let vote = Vote { height: Height(1), round: Round(round), validator: sim.ids[author], block_hash: None };
    let genuine =
        Envelope::sign_message(&sim.keys[author], chain(), WALL_BASE_MICROS, 3, &ConsensusMessage::PreVote(vote));
    let mut sig = genuine.sig.as_bytes().to_vec();
    sig[0] ^= 1;
    Frame::Envelope(Envelope { sig: Signature::from_bytes(sig), ..genuine })
}

/// Sends `frames` on `conn`, stopping at the first refused send (the node closed the link).
async fn send_all(conn: &dyn Connection, frames: impl IntoIterator<Item = Frame>) -> usize {
    let mut sent = 0;
    for frame in frames {
        if conn.send(Bytes::from(frame.encode())).await.is_err() {
            break;
        }
        sent += 1;
    }
    sent
}

/// Validators 0..3 run nodes; validator 3 is a raw byzantine forwarder of forged copies.
async fn with_forger() -> Sim {
    let mut sim = Sim::new(4, 11, link(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    for i in 0..3 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    sim
}

#[tokio::test(start_paused = true)]
async fn a_forwarder_of_forged_envelopes_is_disconnected_then_banned_and_cannot_redial() {
    let sim = with_forger().await;
    let (forger, victim) = (sim.ids[3], 0);
    let mut events = sim.nodes[&victim].events();
    // −100 per forged envelope: the fifth reaches −500 and disconnects.
    let conn = sim.raw_peer(3, victim).await;
    send_all(&*conn, (0..5).map(|round| forged(&sim, 1, round))).await;
    let reason = next_event(&mut events, WITHIN, |event| match event {
        NodeEvent::PeerDisconnected { peer, reason } if peer == forger => Some(reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, DisconnectReason::LowReputation);
    assert!(sim.nodes[&victim].banned_peers().await.unwrap().is_empty(), "disconnected, not banned");
    // It may come back; five more bring it to −1 000: banned.
    let conn = sim.try_raw_peer(3, victim).await.expect("a disconnected peer may redial");
    send_all(&*conn, (5..10).map(|round| forged(&sim, 1, round))).await;
    let behavior = next_event(&mut events, WITHIN, |event| match event {
        NodeEvent::PeerBanned { peer, behavior, .. } if peer == forger => Some(behavior),
        _ => None,
    })
    .await;
    assert_eq!(behavior, Some(PeerBehavior::InvalidSignature));
    let score = sim.nodes[&victim].reputation(forger).await.unwrap();
    assert!(score <= ReputationConfig::default().ban_below, "{score}");
    assert!(sim.try_raw_peer(3, victim).await.is_err(), "a banned peer's handshake is refused");
    // The honest validators were never charged for any of it.
    for honest in [1, 2] {
        let score = sim.nodes[&victim].reputation(sim.ids[honest]).await.unwrap();
        assert!(score >= 0.0, "validator {honest}: {score}");
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_operator_ban_holds_across_redials_until_the_timed_unban() {
    let mut sim = Sim::start(3, 12, link(), NodeConfig::test()).await;
    sim.await_full_mesh(WITHIN).await;
    let (node, banned): (_, ValidatorId) = (sim.nodes[&0].clone(), sim.ids[1]);
    let mut events = node.events();
    let ban = Duration::from_secs(60);
    let until = node.ban_peer(banned, ban).await.unwrap();
    assert_eq!(node.banned_peers().await.unwrap(), vec![(banned, until)]);
    sim.await_connected(0, &BTreeSet::from([2]), WITHIN).await;
    // Validator 1 keeps redialing (its backoff tops out at 2 s): every handshake is refused.
    tokio::time::sleep(ban / 2).await;
    assert!(!node.connected_peers().await.unwrap().contains(&banned), "still banned at half time");
    let unbanned = next_event(&mut events, ban, |event| match event {
        NodeEvent::PeerUnbanned { peer } => Some(peer),
        _ => None,
    });
    assert_eq!(unbanned.await, banned);
    assert!(tokio::time::Instant::now() >= until);
    sim.await_connected(0, &BTreeSet::from([1, 2]), WITHIN).await;
    assert!(node.banned_peers().await.unwrap().is_empty());
    assert_eq!(node.reputation(banned).await.unwrap(), 0.0, "an unbanned peer starts neutral");
    sim.shutdown().await;
}

/// A ban is the node's, not a transport's: validator 3, banned for equivocating over the simulated
/// network, is refused when it comes back over tcp-noise on loopback (real time: real sockets).
#[tokio::test]
async fn a_ban_holds_on_every_transport_the_node_listens_on() {
    let mut sim = Sim::new(4, 13, LinkConfig::perfect(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    let network = sim.network.clone();
    let node = sim
        .spawn_with(0, source, sim.config.clone(), move |builder| {
            let on_memory = quorumnet::devnet::cluster::on_memory(builder, &network, 0, WALL_BASE_MICROS);
            quorumnet::devnet::cluster::on_tcp_noise(on_memory, quorumnet::devnet::cluster::loopback_address())
        })
        .await;
    let mut events = node.events();
    let conn = sim.raw_peer(3, 0).await;
    for (seq, block) in [(1, 1), (2, 2)] {
        let frame = Frame::Envelope(sim.signed_prevote(3, seq, 1, block));
        conn.send(Bytes::from(frame.encode())).await.unwrap();
    }
    let banned = next_event(&mut events, WITHIN, |event| match event {
        NodeEvent::PeerBanned { peer, .. } => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(banned, sim.ids[3]);
    let tcp = node.listen_addresses().iter().find(|a| a.scheme() == "tcp-noise").expect("a tcp-noise listener").clone();
    let ctx = TransportContext {
        keypair: sim.keys[3].clone(),
        chain_id: chain(),
        admission: Admission::open(),
        config: TransportConfig::test(),
    };
    // The dialer may finish its half of the handshake before the listener refuses: then the
    // connection it got is reset at once, before any frame.
    if let Ok(conn) = TcpNoiseTransport::new(ctx).dial(&tcp, Some(sim.ids[0])).await {
        let first = tokio::time::timeout(WITHIN, conn.recv()).await.expect("refused promptly");
        assert!(!matches!(first, Ok(Some(_))), "a banned validator got a frame: {first:?}");
    }
    assert!(!node.connected_peers().await.unwrap().contains(&sim.ids[3]));
    sim.shutdown().await;
}
