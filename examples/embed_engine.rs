//! Embedding quorumnet in a consensus engine: the minimal wiring.
//!
//! Four validators, each a quorumnet [`Node`] plus a toy engine: the proposer of height 1 broadcasts a
//! proposal; every validator pre-votes for the block it receives and decides once pre-votes with 2/3
//! of the voting power agree. The engine touches the network only through quorumnet's traits —
//! [`MessageBroadcaster`] to send, [`ConsensusMessageReceiver`] to receive verified messages,
//! [`HeartbeatProtocol`] to tell the liveness layer where it is. (`quorumnet::devnet` holds the full
//! Tendermint-style engine wired the same way.)
//!
//! It runs on the in-memory simulator in virtual time, so it finishes instantly:
//! `cargo run --example embed_engine`. For real sockets, swap the memory transport for
//! `quorumnet::tcp_noise::TcpNoiseTransport` and `mem://` addresses for `tcp-noise://host:port`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use quorumnet::identity::{ChainId, ValidatorId};
use quorumnet::memory::{LinkConfig, MemoryNetwork, MemoryTransport};
use quorumnet::message::{BlockHash, ConsensusMessage, Height, Proposal, Round, Vote};
use quorumnet::node::vote_validator::Tally;
use quorumnet::node::{
    ConsensusMessageReceiver, HeartbeatProtocol, MessageBroadcaster, Node, NodeConfig, VirtualClock,
};
use quorumnet::validator::{StaticValidatorSetSource, ValidatorInfo, ValidatorSet};

/// How long the engine waits for any message before giving up: every network wait has a bound.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // 1. Identities and the validator set: in production, your chain's keys and its set.
    let keys = quorumnet::devnet::cluster::keys(4);
    let address = |i: usize| format!("mem://validator-{i}").parse().expect("valid address");
    let set = ValidatorSet::new(
        keys.iter()
            .enumerate()
            .map(|(i, key)| ValidatorInfo::new(key.public_key().clone(), 1).with_addresses(vec![address(i)])),
    )?;
    let source = Arc::new(StaticValidatorSetSource::new(set.clone()));
    let chain = ChainId::from_network_name("embed-example");

    // 2. One node per validator. Each gives the engine a handle (cheap to clone) and its inbox.
    let network = MemoryNetwork::new(7);
    network.set_default_link(LinkConfig::lan());
    let (mut nodes, mut engines) = (Vec::new(), Vec::new());
    for (i, key) in keys.iter().enumerate() {
        let network = network.clone();
        let (node, inbox) = Node::builder()
            .keypair(key.clone())
            .chain_id(chain)
            .validators(source.clone())
            .config(NodeConfig::test())
            .transport_with(move |ctx| Ok(Arc::new(MemoryTransport::new(network, ctx.clone()))))
            .listen(address(i))
            .clock(VirtualClock::shared(1_795_651_200_000_000))
            .build()
            .await?;
        engines.push(tokio::spawn(toy_engine(node.clone(), inbox, node.id(), set.clone())));
        nodes.push(node); // a node runs until shut down: it keeps forwarding for the others
    }

    // 3. Every engine decides the same block.
    let mut decided = BTreeSet::new();
    for engine in engines {
        decided.insert(engine.await??);
    }
    println!("all 4 validators decided block {:?} at height 1", decided.first().expect("four decisions"));
    assert_eq!(decided.len(), 1, "one block for everyone");
    for node in nodes {
        node.shutdown().await;
    }
    Ok(())
}

/// The engine side: propose if it is our turn, pre-vote what was proposed, decide on 2/3 pre-votes.
async fn toy_engine(
    node: impl MessageBroadcaster + HeartbeatProtocol,
    mut inbox: impl ConsensusMessageReceiver,
    me: ValidatorId,
    set: ValidatorSet,
) -> Result<BlockHash, Box<dyn std::error::Error + Send + Sync>> {
    let (height, round) = (Height(1), Round(0));
    node.set_consensus_position(height, round).await?; // heartbeats report where we are
    let proposer = set.ids().next().expect("a validator set is never empty");
    let mut prevoted_for = None;
    if me == proposer {
        let block = b"block 1: a transaction or two".to_vec();
        let block_hash = BlockHash(*blake3::hash(&block).as_bytes());
        let proposal = Proposal { height, round, proposer: me, block_hash, pol_round: None, block };
        // The node signs, sends directly to every connected validator and gossips for the rest.
        node.broadcast(&ConsensusMessage::Proposal(proposal)).await?;
        prevoted_for = Some(prevote(&node, me, block_hash).await?);
    }
    let mut voters: Vec<(ValidatorId, BlockHash)> = prevoted_for.map(|b| (me, b)).into_iter().collect();
    loop {
        // Messages arrive verified: signed by `origin`, a validator of the set at their height.
        let Some(incoming) = tokio::time::timeout(RECEIVE_TIMEOUT, inbox.receive()).await? else {
            return Err("the node stopped".into());
        };
        match incoming.message {
            ConsensusMessage::Proposal(p) if p.proposer == proposer && prevoted_for.is_none() => {
                prevoted_for = Some(prevote(&node, me, p.block_hash).await?);
                voters.push((me, p.block_hash));
            }
            ConsensusMessage::PreVote(Vote { block_hash: Some(block), .. }) => voters.push((incoming.origin, block)),
            _ => {}
        }
        if let Some(block) = prevoted_for {
            // Count by voting power, not by heads.
            let for_block = voters.iter().filter(|(_, b)| *b == block).map(|(id, _)| id);
            if Tally::count(&set, for_block).is_supermajority() {
                return Ok(block);
            }
        }
    }
}

async fn prevote(
    network: &impl MessageBroadcaster,
    me: ValidatorId,
    block: BlockHash,
) -> Result<BlockHash, quorumnet::node::NodeError> {
    let vote = Vote { height: Height(1), round: Round(0), validator: me, block_hash: Some(block) };
    network.broadcast(&ConsensusMessage::PreVote(vote)).await?;
    Ok(block)
}
