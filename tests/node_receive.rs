//! The receive path against a byzantine forwarder (forged envelopes, acks for others' messages), and
//! the connection tie-break.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{chain, next_event, Sim, WALL_BASE_MICROS};
use quorumnet::identity::adversarial::sign_with_z_out_of_bound;
use quorumnet::identity::{Keypair, Signature, ValidatorId};
use quorumnet::memory::LinkConfig;
use quorumnet::message::{signing_bytes, ConsensusMessage, Envelope, Frame, Height, MessageId, Round, Vote};
use quorumnet::node::reliable::{DeliveryStatus, ReliableEvent};
use quorumnet::node::reputation::PeerBehavior;
use quorumnet::node::{Direction, Misbehaviour, NodeConfig, NodeEvent};
use quorumnet::transport::Connection;
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::broadcast;

const WITHIN: Duration = Duration::from_secs(10);

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// A set of `validators`, of which 0, 1 and 2 run nodes; the others are for raw peers to play.
async fn three_nodes_of(validators: usize) -> (Sim, Arc<ListValidatorSetSource>) {
    let mut sim = Sim::new(validators, 5, link(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..validators), Height(0), 4));
    for i in 0..3 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    (sim, source)
}

/// Validators 0..3 run nodes; validator 3 (in the set, not running a node) is a byzantine peer with a
/// raw connection to node 0.
async fn byzantine_setup() -> (Sim, Box<dyn Connection>) {
    let (sim, _) = three_nodes_of(4).await;
    let conn = sim.raw_peer(3, 0).await;
    (sim, conn)
}

fn vote(sim: &Sim, author: usize, round: u32) -> ConsensusMessage {
    ConsensusMessage::PreVote(Vote {
        height: Height(1),
        round: Round(round),
        validator: sim.ids[author],
        block_hash: None,
    })
}

async fn send(conn: &dyn Connection, frame: Frame) {
    conn.send(Bytes::from(frame.encode())).await.expect("raw send");
}

#[tokio::test(start_paused = true)]
async fn a_corrupted_copy_arriving_first_does_not_suppress_the_real_message() {
    let (mut sim, conn) = byzantine_setup().await;
    let mut events = sim.nodes[&0].events();
    // A genuine message of validator 1, and a copy with one signature byte flipped.
    let genuine = Envelope::sign_message(&sim.keys[1], chain(), WALL_BASE_MICROS, 3, &vote(&sim, 1, 1));
    let mut sig = genuine.sig.as_bytes().to_vec();
    sig[0] ^= 1;
    let corrupted = Envelope { sig: Signature::from_bytes(sig), ..genuine.clone() };
    assert_eq!(corrupted.id(), genuine.id(), "the signature is not part of the id");

    send(&*conn, Frame::Envelope(corrupted)).await;
    send(&*conn, Frame::Envelope(genuine.clone())).await;
    sim.await_delivered(&[0, 2], &[genuine.id()], WITHIN).await;

    let misbehaviour = misbehaviour_of(&mut events, sim.ids[3]).await;
    assert_eq!(misbehaviour, Misbehaviour::InvalidSignature);
    let stats = sim.nodes[&0].stats().await.unwrap();
    let from_byzantine = stats.peers[&sim.ids[3]].total();
    assert_eq!((from_byzantine.received, from_byzantine.invalid), (2, 1));
    assert_eq!(stats.delivered, 1);
    sim.shutdown().await;
}

/// A signature PQClean's AVX2 verify accepts and FIPS 204 rejects (z out of bound) is a forgery on
/// the receive path too: charged to the forwarder, never delivered, and the genuine copy still is.
#[tokio::test(start_paused = true)]
async fn a_signature_breaking_the_z_bound_is_a_forgery_on_the_receive_path() {
    let (mut sim, conn) = byzantine_setup().await;
    let mut events = sim.nodes[&0].events();
    let genuine = Envelope::sign_message(&sim.keys[3], chain(), WALL_BASE_MICROS, 3, &vote(&sim, 3, 1));
    let bytes = signing_bytes(&chain(), &genuine.origin, genuine.seq, &genuine.payload);
    let Some(sig) = sign_with_z_out_of_bound(&sim.keys[3], &bytes) else { return sim.shutdown().await };
    let unbounded = Envelope { sig, ..genuine.clone() };

    send(&*conn, Frame::Envelope(unbounded)).await;
    send(&*conn, Frame::Envelope(genuine.clone())).await;
    sim.await_delivered(&[0, 2], &[genuine.id()], WITHIN).await;
    let misbehaviour = misbehaviour_of(&mut events, sim.ids[3]).await;
    assert_eq!(misbehaviour, Misbehaviour::InvalidSignature);
    let stats = sim.nodes[&0].stats().await.unwrap();
    assert_eq!((stats.peers[&sim.ids[3]].total().invalid, stats.delivered), (1, 1));
    sim.shutdown().await;
}

/// Two different pre-votes for one round of height 1 from validator 3: node 0 reports evidence anyone
/// can check from the set alone and bans 3. Its height-1 messages, the conflicting one included, still
/// reach the engine (honest validators may be locked on a polka one of them completed); its messages
/// about later heights do not, even when an honest-looking peer (validator 4) relays them.
#[tokio::test(start_paused = true)]
async fn an_equivocator_is_reported_with_verifiable_evidence_banned_and_excluded() {
    let (mut sim, _) = three_nodes_of(5).await;
    let (conn, relay) = (sim.raw_peer(3, 0).await, sim.raw_peer(4, 0).await);
    let mut events = sim.nodes[&0].events();
    let prevote = |seq, round, block| sim.signed_prevote(3, seq, round, block);
    let (first, second) = (prevote(1, 1, 1), prevote(2, 1, 2));
    let next_height = Vote { height: Height(2), round: Round(0), validator: sim.ids[3], block_hash: None };
    let later =
        Envelope::sign_message(&sim.keys[3], chain(), WALL_BASE_MICROS + 3, 3, &ConsensusMessage::PreVote(next_height));
    send(&*conn, Frame::Envelope(first.clone())).await;
    send(&*conn, Frame::Envelope(second.clone())).await;
    let evidence = next_event(&mut events, WITHIN, |event| match event {
        NodeEvent::Equivocation(evidence) => Some(evidence),
        _ => None,
    })
    .await;
    assert_eq!((&evidence.first, &evidence.second), (&first, &second));
    assert_eq!(evidence.verify(chain(), &sim.set(0..5)).map(|proof| proof.origin()), Ok(sim.ids[3]));
    let banned = next_ban(&mut events).await;
    assert_eq!((banned.0, banned.1), (sim.ids[3], Some(PeerBehavior::Equivocation)));
    // Relayed by validator 4, then a marker from validator 1 on the same link, processed after it.
    let marker = Envelope::sign_message(&sim.keys[1], chain(), WALL_BASE_MICROS, 3, &vote(&sim, 1, 5));
    send(&*relay, Frame::Envelope(later)).await;
    send(&*relay, Frame::Envelope(marker.clone())).await;
    sim.await_delivered(&[0], &[first.id(), second.id(), marker.id()], WITHIN).await;
    assert_eq!(sim.nodes[&0].stats().await.unwrap().delivered, 3, "both height-1 votes, not the height-2 one");
    sim.shutdown().await;
}

/// The next `PeerBanned` of `events`: the peer and the behaviour that banned it.
async fn next_ban(events: &mut broadcast::Receiver<NodeEvent>) -> (ValidatorId, Option<PeerBehavior>) {
    next_event(events, WITHIN, |event| match event {
        NodeEvent::PeerBanned { peer, behavior, .. } => Some((peer, behavior)),
        _ => None,
    })
    .await
}

/// What `events` next reports `peer` (as the forwarder) did wrong.
async fn misbehaviour_of(events: &mut broadcast::Receiver<NodeEvent>, peer: ValidatorId) -> Misbehaviour {
    next_event(events, WITHIN, |event| match event {
        NodeEvent::PeerMisbehaved { peer: charged, misbehaviour } if charged == peer => Some(misbehaviour),
        _ => None,
    })
    .await
}

/// Invalid bytes are charged to the forwarder; a validly signed payload naming another author is the
/// signer's provable fault and bans it at once (here the forwarder is the signer).
#[tokio::test(start_paused = true)]
async fn forged_and_impersonating_envelopes_are_dropped_and_charged() {
    let (mut sim, conn) = byzantine_setup().await;
    let mut events = sim.nodes[&0].events();
    // Validator 3 signs a vote that names validator 1 as its author.
    let impersonation = Envelope::sign_message(&sim.keys[3], chain(), 1, 3, &vote(&sim, 1, 2));
    // A key outside the validator set signs a vote naming itself.
    let outsider = Keypair::from_seed(&[0xee; 32]);
    let outsider_vote = ConsensusMessage::PreVote(Vote {
        height: Height(1),
        round: Round(3),
        validator: outsider.validator_id(),
        block_hash: None,
    });
    let unknown = Envelope::sign_message(&outsider, chain(), 1, 3, &outsider_vote);
    // Not a consensus message at all.
    let garbage = Envelope::sign(&sim.keys[3], chain(), 2, 3, vec![0xff; 16]);
    send(&*conn, Frame::Envelope(unknown)).await;
    send(&*conn, Frame::Envelope(garbage)).await;
    send(&*conn, Frame::Envelope(impersonation)).await;

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (peer, misbehaviour) = next_event(&mut events, WITHIN, |event| match event {
            NodeEvent::PeerMisbehaved { peer, misbehaviour } => Some((peer, misbehaviour)),
            _ => None,
        })
        .await;
        assert_eq!(peer, sim.ids[3], "reported as the forwarder");
        seen.push(misbehaviour);
    }
    assert_eq!(
        seen,
        vec![
            Misbehaviour::UnknownOrigin(outsider.validator_id()),
            Misbehaviour::UndecodablePayload,
            Misbehaviour::AuthorMismatch { origin: sim.ids[3], named: sim.ids[1] },
        ]
    );
    assert_eq!(next_ban(&mut events).await, (sim.ids[3], Some(PeerBehavior::Impersonation)));
    let stats = sim.nodes[&0].stats().await.unwrap();
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.peers[&sim.ids[3]].total().invalid, 3);
    sim.drain();
    assert!(sim.trace.is_empty(), "nothing invalid reached any engine");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn simultaneous_dials_leave_one_connection_per_pair_the_one_dialed_by_the_lower_id() {
    let n = 6;
    // No grace: every pair dials each other at the same instant.
    let config = NodeConfig { dial_grace: Duration::ZERO, ..NodeConfig::test() };
    let mut sim = Sim::start(n, 9, link(), config).await;
    sim.await_full_mesh(WITHIN).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // let every duplicate connection settle
    for a in 0..n {
        let connections = sim.nodes[&a].connections().await.unwrap();
        let peers: BTreeSet<usize> =
            connections.iter().map(|c| sim.ids.iter().position(|id| *id == c.peer).unwrap()).collect();
        assert_eq!(peers, (0..n).filter(|b| *b != a).collect(), "node {a}: one connection per peer");
        for connection in connections {
            // Keys are sorted by id: a lower index is a lower id.
            let lower_id_dialed = if sim.ids[a] < connection.peer { Direction::Outbound } else { Direction::Inbound };
            assert_eq!(connection.direction, lower_id_dialed, "node {a} kept the lower id's dial");
        }
    }
    // No link was ever lost: replacing a duplicate connection is not a disconnection.
    for (node, handle) in &sim.nodes {
        let stats = handle.stats().await.unwrap();
        let disconnects: u64 = stats.peers.values().map(|peer| peer.disconnects).sum();
        assert_eq!(disconnects, 0, "node {node}");
    }
    sim.shutdown().await;
}

/// Reads frames from `conn` for `during` (virtual); returns whether any was a `Reliable` carrying `id`.
async fn saw_reliable(conn: &dyn Connection, id: MessageId, during: Duration) -> bool {
    let until = tokio::time::Instant::now() + during;
    while let Ok(Ok(Some(bytes))) = tokio::time::timeout_at(until, conn.recv()).await {
        if let Ok(Frame::Reliable(envelope)) = Frame::decode(&bytes) {
            if envelope.id() == id {
                return true;
            }
        }
    }
    false
}

/// The next reliable-delivery event of `events`, within `WITHIN`.
async fn next_reliable_event(events: &mut broadcast::Receiver<NodeEvent>) -> ReliableEvent {
    next_event(events, WITHIN, |event| match event {
        NodeEvent::Reliable(event) => Some(event),
        _ => None,
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn an_ack_from_a_node_in_the_middle_never_delivers_a_reliable_message() {
    let (mut sim, byzantine) = byzantine_setup().await;
    sim.await_connected(0, &BTreeSet::from([1, 2, 3]), WITHIN).await;
    let node = sim.nodes[&0].clone();
    let mut events = node.events();
    let destination = sim.ids[1];
    let id = node.send_reliable(destination, &vote(&sim, 0, 1)).await.unwrap();
    // The byzantine peer acknowledges it on the destination's behalf, and its ack arrives first (one
    // link latency, against the destination's round trip).
    byzantine.send(Bytes::from(Frame::Ack { id }.encode())).await.unwrap();
    assert_eq!(next_reliable_event(&mut events).await, ReliableEvent::AckRejected { from: sim.ids[3], id });
    assert_eq!(node.delivery_status(destination, id).await.unwrap(), Some(DeliveryStatus::Pending));
    // Only the destination's own ack delivers it.
    match next_reliable_event(&mut events).await {
        ReliableEvent::Delivered { peer, id: acked, .. } => assert_eq!((peer, acked), (destination, id)),
        other => panic!("expected the destination's ack, got {other:?}"),
    }
    let stats = node.stats().await.unwrap().reliable;
    assert_eq!((stats.rejected_acks, stats.delivered, stats.pending), (1, 1, 0));
    // The message went to its destination only: the byzantine peer, linked to node 0, never saw it.
    assert!(!saw_reliable(byzantine.as_ref(), id, Duration::from_secs(1)).await);
    sim.shutdown().await;
}

/// A validly signed envelope far below its origin's latest sequence number, which node 0 never held
/// and never asked for, is a replay: charged to the forwarder and not delivered. The same envelope
/// sent in answer to node 0's own `Want` is a repair, delivered like any other.
#[tokio::test(start_paused = true)]
async fn an_old_envelope_nobody_asked_for_is_a_replay_but_a_repair_answer_is_not() {
    // Validator 4 runs no node: the raw peer 3 holds (here: makes) envelopes of 4's to replay.
    let (mut sim, _) = three_nodes_of(5).await;
    let conn = sim.raw_peer(3, 0).await;
    let mut events = sim.nodes[&0].events();
    let window = quorumnet::node::byzantine::DetectorConfig::default().replay_window;
    let by_4 = |seq: u64, round: u32| Envelope::sign_message(&sim.keys[4], chain(), seq, 3, &vote(&sim, 4, round));
    let latest = by_4(WALL_BASE_MICROS + 2 * window, 10);
    let (replayed, late, repaired) =
        (by_4(WALL_BASE_MICROS, 11), by_4(WALL_BASE_MICROS + window + 1, 12), by_4(WALL_BASE_MICROS + 1, 13));
    send(&*conn, Frame::Envelope(latest.clone())).await;
    send(&*conn, Frame::Envelope(replayed.clone())).await;
    send(&*conn, Frame::Envelope(late.clone())).await;
    let misbehaviour = misbehaviour_of(&mut events, sim.ids[3]).await;
    assert_eq!(misbehaviour, Misbehaviour::Replay { origin: sim.ids[4], seq: replayed.seq });
    sim.await_delivered(&[0], &[latest.id(), late.id()], WITHIN).await;
    // Announced, asked for, answered: a repair, however old.
    send(&*conn, Frame::Have { ids: vec![repaired.id()] }).await;
    let asked = tokio::time::timeout(WITHIN, async {
        loop {
            let bytes = conn.recv().await.expect("a frame").expect("the link stays up");
            if matches!(Frame::decode(&bytes), Ok(Frame::Want { ids }) if ids.contains(&repaired.id())) {
                return;
            }
        }
    });
    asked.await.expect("node 0 asks for the announced id");
    send(&*conn, Frame::Envelope(repaired.clone())).await;
    sim.await_delivered(&[0], &[repaired.id()], WITHIN).await;
    sim.drain();
    assert!(!sim.holds(0, &replayed.id()), "the replay never reached the engine");
    sim.shutdown().await;
}

/// Validator 3 leaves the set at height 10. Its pre-vote for height 5, relayed after the change, is
/// judged against the set in force at height 5: delivered, nobody charged. Its pre-vote for height
/// 12 names an origin outside that height's set: charged to the relay.
#[tokio::test(start_paused = true)]
async fn a_validator_that_left_at_h_is_no_forger_for_its_votes_below_h() {
    let (mut sim, source) = three_nodes_of(5).await;
    let relay = sim.raw_peer(4, 0).await;
    let mut events = sim.nodes[&0].events();
    source.push_set(Height(10), sim.set([0, 1, 2, 4])).unwrap();
    next_event(&mut events, WITHIN, |event| matches!(event, NodeEvent::ValidatorSetChanged { .. }).then_some(())).await;
    let at = |height: u64, round: u32| {
        let vote = Vote { height: Height(height), round: Round(round), validator: sim.ids[3], block_hash: None };
        Envelope::sign_message(
            &sim.keys[3],
            chain(),
            WALL_BASE_MICROS + u64::from(round),
            3,
            &ConsensusMessage::PreVote(vote),
        )
    };
    let (before, after) = (at(5, 1), at(12, 2));
    send(&*relay, Frame::Envelope(before.clone())).await;
    send(&*relay, Frame::Envelope(after)).await;
    let misbehaviour = misbehaviour_of(&mut events, sim.ids[4]).await;
    assert_eq!(misbehaviour, Misbehaviour::UnknownOrigin(sim.ids[3]), "only the vote above its last height");
    sim.await_delivered(&[0], &[before.id()], WITHIN).await;
    sim.shutdown().await;
}
