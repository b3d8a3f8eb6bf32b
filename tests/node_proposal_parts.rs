//! Large proposals as a signed header and parts: reassembled once however many peers the parts come
//! from, a forwarder's corrupted part caught on arrival while the block still arrives, and the
//! proposer uploading a small multiple of the block rather than one copy per validator.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{chain, next_event, Sim, WALL_BASE_MICROS};
use quorumnet::devnet::cluster;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{
    BlockHash, ConsensusMessage, Envelope, Frame, Height, Proposal, ProposalHeader, ProposalPart, Round,
};
use quorumnet::node::{IncomingMessage, IncomingMessages, Misbehaviour, NodeConfig, NodeEvent};
use quorumnet::transport::Connection;
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::mpsc::error::TryRecvError;

const WITHIN: Duration = Duration::from_secs(10);
/// Small parts keep the test's blocks small; the logic does not depend on the size.
const PART_SIZE: u32 = 1_000;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() }
}

fn config() -> NodeConfig {
    let mut config = NodeConfig::test();
    config.proposal_parts.part_size = PART_SIZE;
    config
}

/// Validator 0 runs a node, read directly; validators 1..4 are raw peers of it. Validator 1 proposes.
async fn node_with_raw_peers() -> (Sim, IncomingMessages, Vec<Box<dyn Connection>>) {
    let sim = Sim::new(4, 11, link(), config());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    let builder = cluster::builder(sim.keys[0].clone(), chain(), source, sim.config.clone(), sim.seed);
    let (node, incoming) =
        cluster::on_memory(builder, &sim.network, 0, WALL_BASE_MICROS).build().await.expect("node starts");
    let mut sim = sim;
    sim.events.insert(0, node.events());
    sim.nodes.insert(0, node);
    let mut peers = Vec::new();
    for from in 1..4 {
        peers.push(sim.raw_peer(from, 0).await);
    }
    (sim, incoming, peers)
}

/// Validator 1's proposal of a block of 3½ parts, as the header and part envelopes it signs.
fn signed_in_parts(sim: &Sim) -> (Proposal, Envelope, Vec<Envelope>) {
    let proposal = Proposal {
        height: Height(1),
        round: Round(0),
        proposer: sim.ids[1],
        block_hash: BlockHash([9; 32]),
        pol_round: None,
        block: (0..3_500u32).map(|i| (i % 251) as u8).collect(),
    };
    let (header, parts) = ProposalHeader::split(&proposal, PART_SIZE);
    let seq = WALL_BASE_MICROS;
    let sign = |offset: u64, message: ConsensusMessage| {
        Envelope::sign_message(&sim.keys[1], chain(), seq + offset, 3, &message)
    };
    let header = sign(0, ConsensusMessage::ProposalHeader(header));
    let parts =
        parts.into_iter().zip(1..).map(|(part, offset)| sign(offset, ConsensusMessage::ProposalPart(part))).collect();
    (proposal, header, parts)
}

async fn send(conn: &dyn Connection, envelope: &Envelope) {
    conn.send(Bytes::from(Frame::Envelope(envelope.clone()).encode())).await.expect("raw send");
}

async fn next_delivery(incoming: &mut IncomingMessages) -> IncomingMessage {
    tokio::time::timeout(WITHIN, incoming.recv()).await.expect("a delivery in time").expect("node runs")
}

/// Nothing more is delivered within a second (virtual).
async fn assert_nothing_more(incoming: &mut IncomingMessages) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    match incoming.try_recv() {
        Err(TryRecvError::Empty) => {}
        other => panic!("expected no further delivery, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_proposal_whose_parts_arrive_from_several_peers_reassembles_once() {
    let (sim, mut incoming, peers) = node_with_raw_peers().await;
    let (proposal, header, parts) = signed_in_parts(&sim);
    // A part before its header, parts from three peers, and a copy of one part from a second peer.
    send(&*peers[2], &parts[3]).await;
    send(&*peers[0], &header).await;
    send(&*peers[1], &parts[0]).await;
    send(&*peers[2], &parts[1]).await;
    send(&*peers[1], &parts[1]).await;
    send(&*peers[0], &parts[2]).await;

    let delivered = next_delivery(&mut incoming).await;
    assert_eq!(delivered.message, ConsensusMessage::Proposal(proposal));
    assert_eq!((delivered.id, delivered.origin), (header.id(), sim.ids[1]), "named by its signed header");
    // Parts arriving again after completion start nothing.
    send(&*peers[1], &parts[2]).await;
    assert_nothing_more(&mut incoming).await;
}

#[tokio::test(start_paused = true)]
async fn a_forwarder_corrupting_a_part_is_caught_before_the_block_completes_and_the_block_still_arrives() {
    let (mut sim, mut incoming, peers) = node_with_raw_peers().await;
    let (proposal, header, parts) = signed_in_parts(&sim);
    let mut events = sim.events.remove(&0).expect("subscribed");
    send(&*peers[0], &header).await;
    send(&*peers[0], &parts[0]).await;
    // Validator 3 forwards part 1 with one byte of its data changed (the signature no longer covers it).
    let ConsensusMessage::ProposalPart(mut part) = parts[1].message().unwrap() else { unreachable!() };
    part.data[0] ^= 1;
    let corrupted =
        Envelope { payload: Bytes::from(ConsensusMessage::ProposalPart(part).encode()), ..parts[1].clone() };
    send(&*peers[2], &corrupted).await;
    let caught = next_event(&mut events, WITHIN, |event| match event {
        NodeEvent::PeerMisbehaved { peer, misbehaviour: Misbehaviour::InvalidSignature } => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(caught, sim.ids[3], "the forwarder is charged, not the proposer");
    assert!(matches!(incoming.try_recv(), Err(TryRecvError::Empty)), "caught before the block completed");

    // The genuine part from another peer is still accepted: the corrupted copy was not marked seen.
    for part in &parts[1..] {
        send(&*peers[1], part).await;
    }
    let delivered = next_delivery(&mut incoming).await;
    assert_eq!(delivered.message, ConsensusMessage::Proposal(proposal));
    assert_nothing_more(&mut incoming).await;
}

#[tokio::test(start_paused = true)]
async fn a_part_its_header_does_not_list_is_refused_and_the_block_completes_from_the_listed_one() {
    let (sim, mut incoming, peers) = node_with_raw_peers().await;
    let (proposal, header, parts) = signed_in_parts(&sim);
    send(&*peers[0], &header).await;
    // Signed by the proposer, but not the data its header committed to.
    let ConsensusMessage::ProposalPart(listed) = parts[0].message().unwrap() else { unreachable!() };
    let unlisted = ProposalPart { data: vec![0; listed.data.len()], ..listed };
    let unlisted = Envelope::sign_message(
        &sim.keys[1],
        chain(),
        WALL_BASE_MICROS + 100,
        3,
        &ConsensusMessage::ProposalPart(unlisted),
    );
    send(&*peers[1], &unlisted).await;
    for part in &parts {
        send(&*peers[2], part).await;
    }
    let delivered = next_delivery(&mut incoming).await;
    assert_eq!(delivered.message, ConsensusMessage::Proposal(proposal));
    assert_eq!(sim.nodes[&0].stats().await.unwrap().parts_refused, 1);
}

#[tokio::test(start_paused = true)]
async fn a_large_proposal_reaches_every_validator_once_and_the_proposer_uploads_a_small_multiple_of_it() {
    let n = 12;
    let mut config = NodeConfig::test().sized_for(n);
    config.proposal_parts.part_size = 16 * 1024;
    let mut sim = Sim::start(n, 3, link(), config).await;
    sim.await_full_mesh(WITHIN).await;
    let block_len = 256 * 1024;
    let proposal = sim.proposal(0, 1, block_len);
    let before = sim.nodes[&0].stats().await.unwrap().proposal_upload_bytes;
    let id = sim.broadcast_message(0, &proposal).await;
    let others: Vec<usize> = (1..n).collect();
    sim.await_delivered(&others, &[id], WITHIN).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.drain();
    for node in &others {
        assert_eq!(sim.trace.iter().filter(|d| d.node == *node && d.id == id).count(), 1, "node {node}: once");
    }
    let upload = sim.nodes[&0].stats().await.unwrap().proposal_upload_bytes - before;
    assert!(upload <= 3 * block_len as u64, "proposer uploaded {upload} bytes for a {block_len}-byte block");
    // Whole, it would have been one copy per peer.
    assert!(upload < (n as u64 - 1) * block_len as u64 / 3);
}
