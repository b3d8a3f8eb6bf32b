//! Remote vote validation: signature and origin against the set in force at the vote's height, and
//! supermajority by voting power at the 2/3 boundary.

mod common;

use std::sync::Arc;

use common::chain;
use common::validators::set_with_powers;
use quorumnet_core::identity::{Algorithm, IdentityError, Keypair};
use quorumnet_core::message::{
    BlockHash, ConsensusMessage, Envelope, EnvelopeError, HearsBitmap, Heartbeat, Height, Round, Vote,
};
use quorumnet_core::node::vote_validator::{RemoteVoteValidator, VerifiedVote, VoteError, VotePhase, VoteTarget};
use quorumnet_core::validator::{
    ListValidatorSetSource, ValidatorInfo, ValidatorSetChange, ValidatorSetHistory, ValidatorUpdate,
};

fn block() -> BlockHash {
    BlockHash([7; 32])
}

fn precommit(signer: &Keypair, named: &Keypair, height: u64) -> Envelope {
    let vote =
        Vote { height: Height(height), round: Round(0), validator: named.validator_id(), block_hash: Some(block()) };
    Envelope::sign_message(signer, chain(), height, 0, &ConsensusMessage::PreCommit(vote))
}

fn target(height: u64) -> VoteTarget {
    VoteTarget { height: Height(height), round: Round(0), phase: VotePhase::PreCommit, block_hash: Some(block()) }
}

/// Powers 10, 6, 5, 4, 3, 2: total 30, two thirds exactly 20, quorum 21. Judged from height 0.
fn fixture() -> (Vec<Keypair>, Arc<ListValidatorSetSource>, RemoteVoteValidator) {
    let (keys, set) = set_with_powers(&[10, 6, 5, 4, 3, 2]);
    let source = Arc::new(ListValidatorSetSource::new((*set).clone(), Height(0), ValidatorSetHistory::DEFAULT_KEEP));
    let validator = RemoteVoteValidator::new(chain(), source.clone());
    (keys, source, validator)
}

fn verified(validator: &RemoteVoteValidator, keys: &[Keypair], voters: &[usize], height: u64) -> Vec<VerifiedVote> {
    voters.iter().map(|i| validator.verify(&precommit(&keys[*i], &keys[*i], height)).unwrap()).collect()
}

#[test]
fn a_valid_vote_verifies_with_its_voter_and_target() {
    let (keys, _, validator) = fixture();
    let envelope = precommit(&keys[0], &keys[0], 3);
    let vote = validator.verify(&envelope).unwrap();
    assert_eq!((vote.voter, vote.target, vote.id), (keys[0].validator_id(), target(3), envelope.id()));
}

#[test]
fn a_vote_whose_signature_breaks_the_z_bound_is_forged() {
    let (keys, _, validator) = fixture();
    let Some(vote) = common::with_z_out_of_bound(&keys[0], precommit(&keys[0], &keys[0], 3)) else { return };
    assert_eq!(
        validator.verify(&vote),
        Err(VoteError::Forged(EnvelopeError::Signature(IdentityError::ResponseOutOfBound {
            algorithm: Algorithm::MlDsa65
        })))
    );
}

#[test]
fn forged_impersonating_foreign_and_non_vote_messages_are_rejected_with_their_cause() {
    let (keys, _, validator) = fixture();
    // Signed by 1, claiming origin 0: the signature does not verify with 0's key.
    let mut forged = precommit(&keys[1], &keys[0], 3);
    forged.origin = keys[0].validator_id();
    assert!(matches!(validator.verify(&forged), Err(VoteError::Forged(_))));

    // 1 signs a vote in 0's name.
    let impersonation = precommit(&keys[1], &keys[0], 3);
    assert_eq!(
        validator.verify(&impersonation),
        Err(VoteError::Impersonation { origin: keys[1].validator_id(), named: keys[0].validator_id() })
    );

    let stranger = Keypair::from_seed(&[0x99; 32]);
    assert_eq!(
        validator.verify(&precommit(&stranger, &stranger, 3)),
        Err(VoteError::UnknownOrigin { origin: stranger.validator_id(), height: Height(3) })
    );

    let heartbeat = ConsensusMessage::Heartbeat(Heartbeat {
        validator: keys[0].validator_id(),
        height: Height(3),
        round: Round(0),
        time_micros: 0,
        hears: HearsBitmap::default(),
    });
    let envelope = Envelope::sign_message(&keys[0], chain(), 1, 0, &heartbeat);
    assert!(matches!(validator.verify(&envelope), Err(VoteError::NotAVote(_))));
}

#[test]
fn supermajority_is_strictly_more_than_two_thirds_of_unequal_power() {
    let (keys, _, validator) = fixture();
    // 10 + 6 + 4 = 20 of 30: exactly two thirds, not a supermajority.
    let tally = validator.check_supermajority(target(1), &verified(&validator, &keys, &[0, 1, 3], 1)).unwrap();
    assert_eq!((tally.power, tally.total_power, tally.quorum_power), (20, 30, 21));
    assert!(!tally.is_supermajority());
    // 10 + 6 + 5 = 21: one more than two thirds.
    let tally = validator.check_supermajority(target(1), &verified(&validator, &keys, &[0, 1, 2], 1)).unwrap();
    assert!(tally.is_supermajority());
    // Many small validators: 6 + 5 + 4 + 3 + 2 = 20, still not.
    let tally = validator.check_supermajority(target(1), &verified(&validator, &keys, &[1, 2, 3, 4, 5], 1)).unwrap();
    assert_eq!(tally.power, 20);
    assert!(!tally.is_supermajority());
}

#[test]
fn repeated_votes_count_once() {
    let (keys, _, validator) = fixture();
    let tally = validator.check_supermajority(target(1), &verified(&validator, &keys, &[0, 1, 3, 3, 3], 1)).unwrap();
    assert_eq!(tally.power, 20);
    assert!(!tally.is_supermajority());
}

#[test]
fn votes_for_another_target_are_refused_not_counted() {
    let (keys, _, validator) = fixture();
    let votes = verified(&validator, &keys, &[0, 1, 2], 1);
    let nil = VoteTarget { block_hash: None, ..target(1) };
    assert_eq!(
        validator.check_supermajority(nil, &votes),
        Err(VoteError::WrongTarget { vote: target(1), target: nil })
    );
}

#[test]
fn votes_are_judged_by_the_set_in_force_at_their_height() {
    let (keys, source, validator) = fixture();
    // At height 5 the 10-power validator leaves and a newcomer of power 9 joins: total 29, quorum 20.
    let newcomer = Keypair::from_seed(&[0x42; 32]);
    let change = ValidatorSetChange::new(
        Height(5),
        vec![
            ValidatorUpdate::Remove(keys[0].validator_id()),
            ValidatorUpdate::Upsert(ValidatorInfo::new(newcomer.public_key().clone(), 9)),
        ],
    );
    source.push(&change).unwrap();

    // The leaver's vote is valid below height 5 and foreign from it on; the newcomer's the other way.
    assert!(validator.verify(&precommit(&keys[0], &keys[0], 4)).is_ok());
    assert_eq!(
        validator.verify(&precommit(&keys[0], &keys[0], 5)),
        Err(VoteError::UnknownOrigin { origin: keys[0].validator_id(), height: Height(5) })
    );
    assert!(matches!(validator.verify(&precommit(&newcomer, &newcomer, 4)), Err(VoteError::UnknownOrigin { .. })));
    let newcomer_vote = validator.verify(&precommit(&newcomer, &newcomer, 5)).unwrap();

    // 6 + 5 + 4 = 15 at height 4 (of 30) is short; at height 5 with the newcomer's 9: 24 of 29 is enough.
    let at_4 = validator.check_supermajority(target(4), &verified(&validator, &keys, &[1, 2, 3], 4)).unwrap();
    assert!(!at_4.is_supermajority());
    let with_newcomer = |voters: &[usize]| {
        let mut votes = verified(&validator, &keys, voters, 5);
        votes.push(newcomer_vote);
        validator.check_supermajority(target(5), &votes).unwrap()
    };
    let at_5 = with_newcomer(&[1, 2, 3]);
    assert_eq!((at_5.power, at_5.total_power, at_5.quorum_power), (24, 29, 20));
    assert!(at_5.is_supermajority());
    // The 2/3 boundary of the new set (two thirds of 29 is 19⅓): 9 + 6 + 4 = 19 is short, 9 + 6 + 5 = 20 enough.
    let short = with_newcomer(&[1, 3]);
    assert_eq!(short.power, 19);
    assert!(!short.is_supermajority());
    let enough = with_newcomer(&[1, 2]);
    assert_eq!(enough.power, 20);
    assert!(enough.is_supermajority());
}

#[test]
fn a_height_older_than_the_source_keeps_is_unknown_not_a_fault() {
    let (keys, set) = set_with_powers(&[1, 1]);
    let source = Arc::new(ListValidatorSetSource::new((*set).clone(), Height(10), ValidatorSetHistory::DEFAULT_KEEP));
    let validator = RemoteVoteValidator::new(chain(), source);
    assert_eq!(
        validator.verify(&precommit(&keys[0], &keys[0], 9)),
        Err(VoteError::UnknownHeight { height: Height(9) })
    );
    assert_eq!(validator.check_supermajority(target(9), &[]), Err(VoteError::UnknownHeight { height: Height(9) }));
}
