//! The node's vote validator: votes judged by the node's chain id and validator-set source, following
//! a set change at a height.

mod common;

use std::sync::Arc;

use common::{chain, Sim};
use quorumnet::identity::ChainId;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{BlockHash, ConsensusMessage, Envelope, Height, Round, Vote};
use quorumnet::node::vote_validator::{VerifiedVote, VoteError};
use quorumnet::node::NodeConfig;
use quorumnet::validator::ListValidatorSetSource;

fn precommit(sim: &Sim, voter: usize, height: u64, chain: ChainId) -> Envelope {
    let vote = Vote {
        height: Height(height),
        round: Round(0),
        validator: sim.ids[voter],
        block_hash: Some(BlockHash([3; 32])),
    };
    Envelope::sign_message(&sim.keys[voter], chain, height, 0, &ConsensusMessage::PreCommit(vote))
}

#[tokio::test(start_paused = true)]
async fn the_node_vote_validator_follows_the_node_chain_and_its_set_changes() {
    let mut sim = Sim::new(4, 71, LinkConfig::perfect(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    let node = sim.spawn(0, source.clone(), sim.config.clone()).await;
    let validator = node.vote_validator();
    let votes = |sim: &Sim, voters: &[usize], height: u64| -> Vec<VerifiedVote> {
        voters.iter().map(|v| validator.verify(&precommit(sim, *v, height, chain())).expect("valid vote")).collect()
    };

    // Four validators of power 1: three votes are a supermajority, two are not.
    let three = votes(&sim, &[1, 2, 3], 5);
    assert!(validator.check_supermajority(three[0].target, &three).unwrap().is_supermajority());
    assert!(!validator.check_supermajority(three[0].target, &three[..2]).unwrap().is_supermajority());
    // Another chain's signature does not verify here.
    let foreign = precommit(&sim, 1, 5, ChainId::from_network_name("another-chain"));
    assert!(matches!(validator.verify(&foreign), Err(VoteError::Forged(_))));

    // From height 10 validator 3 is out: the validator taken before sees it: it shares the node's source.
    source.push_set(Height(10), sim.set(0..3)).unwrap();
    assert!(matches!(validator.verify(&precommit(&sim, 3, 10, chain())), Err(VoteError::UnknownOrigin { .. })));
    assert!(validator.verify(&precommit(&sim, 3, 9, chain())).is_ok(), "still a validator below height 10");
    // Of three validators, two votes are not a supermajority (2/3 exactly), all three are.
    let at_ten = votes(&sim, &[0, 1, 2], 10);
    assert!(!validator.check_supermajority(at_ten[0].target, &at_ten[..2]).unwrap().is_supermajority());
    assert!(validator.check_supermajority(at_ten[0].target, &at_ten).unwrap().is_supermajority());
    sim.shutdown().await;
}
