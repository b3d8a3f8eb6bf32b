//! The reference engine's rules, driven by hand (no network): timeouts reported to the liveness
//! monitor, nil votes on timeouts, locking, and catch-up from a commit certificate.

use std::sync::Arc;
use std::time::Duration;

use quorumnet::devnet::block::Block;
use quorumnet::devnet::cluster;
use quorumnet::devnet::engine::{Action, Engine, EngineConfig};
use quorumnet::devnet::journal::{CommitPath, Journal};
use quorumnet::devnet::proposer::proposer;
use quorumnet::devnet::timeouts::{NetworkTimeouts, TimeoutConfig};
use quorumnet::devnet::validator_schedule::ValidatorSchedule;
use quorumnet::identity::{Keypair, ValidatorId};
use quorumnet::message::{
    BlockHash, Commit, ConsensusMessage, Envelope, EquivocationEvidence, Height, Proposal, Round, Vote,
};
use quorumnet::node::liveness::ValidatorTimeout;
use quorumnet::node::{Clock, VirtualClock};
use quorumnet::validator::{ValidatorInfo, ValidatorSet};

struct Fixture {
    keys: Vec<Arc<Keypair>>,
    set: Arc<ValidatorSet>,
    clock: Arc<dyn Clock>,
    journal: Journal,
}

impl Fixture {
    fn new() -> Self {
        let keys = cluster::keys(4);
        let indexed: Vec<_> = keys.iter().enumerate().collect();
        let set = Arc::new(cluster::set_of(&indexed, cluster::memory_address));
        Fixture { keys, set, clock: VirtualClock::shared(cluster::WALL_BASE_MICROS), journal: Journal::default() }
    }

    /// A fixture and its started [`Fixture::engine_not_proposing`], with the other validators' indices.
    fn started() -> (Fixture, usize, Engine, Vec<usize>) {
        let f = Fixture::new();
        let (me, mut engine) = f.engine_not_proposing();
        engine.start();
        let others = (0..4).filter(|i| *i != me).collect();
        (f, me, engine, others)
    }

    fn id(&self, index: usize) -> ValidatorId {
        self.keys[index].validator_id()
    }

    /// An engine for the validator that does not propose height 1, round 0.
    fn engine_not_proposing(&self) -> (usize, Engine) {
        let proposer = proposer(&self.set, Height(1), Round(0));
        let me = (0..4).find(|i| self.id(*i) != proposer).unwrap();
        let engine = Engine::new(
            self.id(me),
            Arc::new(ValidatorSchedule::fixed(self.set.clone())),
            EngineConfig::local(),
            self.journal.clone(),
            self.clock.clone(),
            self.clock.now(),
        );
        (me, engine)
    }

    /// Validators `from` each tell `engine` they committed `block` at height 1 in `round`.
    fn deliver_commits(&self, engine: &mut Engine, from: &[usize], round: u32, block: BlockHash) {
        for &i in from {
            let commit = Commit { height: Height(1), round: Round(round), validator: self.id(i), block_hash: block };
            engine.on_message(&ConsensusMessage::Commit(commit), self.id(i));
        }
    }

    fn vote(&self, index: usize, round: u32, block: Option<BlockHash>) -> Vote {
        Vote { height: Height(1), round: Round(round), validator: self.id(index), block_hash: block }
    }
}

/// `proposer`'s proposal of a fresh block at height 1, `round`.
fn fresh_proposal(round: u32, proposer: ValidatorId, time_micros: u64) -> (Proposal, BlockHash) {
    let block = Block::new(Height(1), Round(round), proposer, Block::genesis_parent(), time_micros, 16);
    let hash = block.hash();
    let proposal = Proposal {
        height: Height(1),
        round: Round(round),
        proposer,
        block_hash: hash,
        pol_round: None,
        block: block.encode(),
    };
    (proposal, hash)
}

fn broadcasts(actions: &[Action]) -> Vec<&ConsensusMessage> {
    actions.iter().filter_map(|a| if let Action::Broadcast(m) = a { Some(m) } else { None }).collect()
}

fn reliable_sends(actions: &[Action]) -> Vec<(ValidatorId, &ConsensusMessage)> {
    actions.iter().filter_map(|a| if let Action::SendReliable(to, m) = a { Some((*to, m)) } else { None }).collect()
}

async fn run_deadline(engine: &mut Engine) -> Vec<Action> {
    tokio::time::sleep_until(engine.deadline().expect("a step timeout runs")).await;
    engine.on_deadline()
}

#[tokio::test(start_paused = true)]
async fn missing_proposal_and_silent_validators_are_reported_and_cleared_when_they_vote() {
    let f = Fixture::new();
    let (me, mut engine) = f.engine_not_proposing();
    assert!(engine.start().contains(&Action::Position(Height(1), Round(0))));
    let proposer = proposer(&f.set, Height(1), Round(0));
    let actions = run_deadline(&mut engine).await;
    assert!(actions.contains(&Action::ReportTimeout(
        proposer,
        ValidatorTimeout::RoundTimeout { height: Height(1), round: Round(0) }
    )));
    assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreVote(f.vote(me, 0, None))], "nil pre-vote");
    let actions = run_deadline(&mut engine).await;
    assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreCommit(f.vote(me, 0, None))], "nil pre-commit");
    let actions = run_deadline(&mut engine).await;
    let silent: Vec<ValidatorId> = (0..4).filter(|i| *i != me).map(|i| f.id(i)).filter(|id| *id != proposer).collect();
    for id in &silent {
        let no_votes = ValidatorTimeout::NoVotes { height: Height(1), round: Round(0) };
        assert!(actions.contains(&Action::ReportTimeout(*id, no_votes)), "{id:?} reported");
    }
    assert!(actions.contains(&Action::Position(Height(1), Round(1))), "next round");
    let other = (0..4).find(|i| f.id(*i) == silent[0]).unwrap();
    let actions = engine.on_message(&ConsensusMessage::PreVote(f.vote(other, 1, None)), silent[0]);
    assert!(actions.contains(&Action::MarkResponsive(silent[0])));
}

#[tokio::test(start_paused = true)]
async fn a_polka_locks_and_the_lock_refuses_another_block_in_a_later_round() {
    let (f, me, mut engine, others) = Fixture::started();
    let proposer_id = proposer(&f.set, Height(1), Round(0));
    let (proposal, block) = fresh_proposal(0, proposer_id, 1);
    let actions = engine.on_message(&ConsensusMessage::Proposal(proposal), proposer_id);
    assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreVote(f.vote(me, 0, Some(block)))]);
    let mut precommitted = Vec::new();
    for &i in &others[..2] {
        let actions = engine.on_message(&ConsensusMessage::PreVote(f.vote(i, 0, Some(block))), f.id(i));
        precommitted.extend(broadcasts(&actions).into_iter().cloned());
    }
    assert_eq!(precommitted, [ConsensusMessage::PreCommit(f.vote(me, 0, Some(block)))], "locked");
    assert_eq!(f.journal.lock().lock.map(|(h, l)| (h, l.block)), Some((Height(1), block)));
    // Round 0 fails (no pre-commits); in round 1 another block is proposed: the lock says nil.
    run_deadline(&mut engine).await;
    let proposer1 = proposer(&f.set, Height(1), Round(1));
    if proposer1 == f.id(me) {
        return; // it re-proposes its valid block itself; nothing to refuse
    }
    let (other, _) = fresh_proposal(1, proposer1, 2);
    let actions = engine.on_message(&ConsensusMessage::Proposal(other), proposer1);
    assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreVote(f.vote(me, 1, None))]);
}

#[tokio::test(start_paused = true)]
async fn a_commit_certificate_from_two_thirds_is_adopted_and_fewer_are_not() {
    let (f, _, mut engine, others) = Fixture::started();
    let block = BlockHash([9; 32]);
    f.deliver_commits(&mut engine, &others[..2], 2, block);
    assert!(f.journal.lock().chain.is_empty(), "2 of 4 is no certificate");
    f.deliver_commits(&mut engine, &others[2..], 2, block);
    let chain = f.journal.lock().chain.clone();
    assert_eq!(chain.len(), 1);
    assert_eq!((chain[0].block, chain[0].round, chain[0].path), (block, Round(2), CommitPath::CaughtUp));
    assert_eq!(engine.height(), Height(2));
}

#[tokio::test(start_paused = true)]
async fn a_validator_behind_is_served_commits_after_the_grace_period_only() {
    let (f, me, mut engine, others) = Fixture::started();
    let block = BlockHash([3; 32]);
    f.deliver_commits(&mut engine, &others, 0, block);
    let late = (0..4).find(|i| *i != me).unwrap();
    let stale_vote = ConsensusMessage::PreVote(f.vote(late, 0, None));
    let early = engine.on_message(&stale_vote, f.id(late));
    assert!(reliable_sends(&early).is_empty(), "a late vote right after deciding is not served");
    tokio::time::sleep(EngineConfig::local().catch_up.grace + Duration::from_millis(1)).await;
    let stale_vote = ConsensusMessage::PreVote(f.vote(late, 1, None));
    let served = engine.on_message(&stale_vote, f.id(late));
    let expected = Commit { height: Height(1), round: Round(0), validator: f.id(me), block_hash: block };
    assert_eq!(reliable_sends(&served), [(f.id(late), &ConsensusMessage::Commit(expected))]);
    assert!(broadcasts(&served).is_empty(), "catch-up goes to the validator behind only");
    tokio::time::sleep(Duration::from_millis(1)).await;
    let again = engine.on_message(&stale_vote, f.id(late));
    assert!(reliable_sends(&again).is_empty(), "served once per grace period");
}

#[tokio::test(start_paused = true)]
async fn malformed_proposals_get_nil_prevotes_and_far_rounds_are_ignored() {
    let proposer_id = proposer(&Fixture::new().set, Height(1), Round(0));
    let (good, _) = fresh_proposal(0, proposer_id, 1);
    let short = Proposal { block: vec![1, 2, 3], block_hash: Block::hash_of(&[1, 2, 3]), ..good.clone() };
    let wrong_hash = Proposal { block_hash: BlockHash([0; 32]), ..good.clone() };
    let other_parent = Block::new(Height(1), Round(0), proposer_id, BlockHash([1; 32]), 1, 16);
    let orphan = Proposal { block: other_parent.encode(), block_hash: other_parent.hash(), ..good.clone() };
    let future_polka = Proposal { pol_round: Some(Round(0)), ..good.clone() };
    for bad in [short, wrong_hash, orphan, future_polka] {
        let (f, me, mut engine, _) = Fixture::started();
        let actions = engine.on_message(&ConsensusMessage::Proposal(bad), proposer_id);
        assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreVote(f.vote(me, 0, None))]);
    }
    // A vote a million rounds ahead is dropped: no round skip, nothing stored.
    let (f, me, mut engine, others) = Fixture::started();
    for &i in &others {
        let far = Vote { round: Round(1_000_000), ..f.vote(i, 0, None) };
        assert!(broadcasts(&engine.on_message(&ConsensusMessage::PreVote(far), f.id(i))).is_empty());
    }
    assert_eq!(engine.round(), Round(0), "validator {me} stays in its round");
}

#[tokio::test(start_paused = true)]
async fn a_measured_quorum_round_trip_re_times_the_running_step_and_sets_the_next_ones() {
    let (f, _, mut engine, _) = Fixture::started();
    let started = f.clock.now();
    let unmeasured = NetworkTimeouts::local().unmeasured;
    assert_eq!(
        engine.deadline(),
        Some(started + unmeasured.propose.base),
        "before any measurement the WAN-safe preset applies, not the floor"
    );
    assert!(unmeasured.propose.base > TimeoutConfig::local().propose.base);
    let rtt = Duration::from_millis(800);
    engine.on_quorum_round_trip(Some(rtt));
    let propose = rtt * NetworkTimeouts::local().propose_round_trips;
    assert_eq!(engine.deadline(), Some(started + propose), "the running step follows the estimate from its start");
    // The propose step times out: the pre-vote step starts with the new timeouts.
    let at = engine.deadline().unwrap();
    run_deadline(&mut engine).await;
    assert_eq!(engine.deadline(), Some(at + rtt * NetworkTimeouts::local().vote_round_trips));
    assert_eq!(engine.timeouts(), NetworkTimeouts::local().for_round_trip(Some(rtt)));
}

/// Proven at height 1, an equivocator's height-1 votes keep counting, its conflicting version toward
/// its own block (validators locked on a polka its vote completed must be able to show that polka to
/// the rest); from height 2 on nothing it sends counts.
#[tokio::test(start_paused = true)]
async fn a_proven_equivocator_counts_until_its_height_is_decided_and_its_proof_is_journaled() {
    let (f, me, mut engine, others) = Fixture::started();
    let proposer_id = proposer(&f.set, Height(1), Round(0));
    let (proposal, block) = fresh_proposal(0, proposer_id, 1);
    let actions = engine.on_message(&ConsensusMessage::Proposal(proposal), proposer_id);
    assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreVote(f.vote(me, 0, Some(block)))]);
    let (equivocator, honest) = (others[0], &others[1..]);
    let prevote = |index: usize, block: Option<BlockHash>| ConsensusMessage::PreVote(f.vote(index, 0, block));
    let chain = quorumnet::identity::ChainId::from_network_name("engine-tests");
    let signed = |vote: ConsensusMessage, seq| Envelope::sign_message(&f.keys[equivocator], chain, seq, 3, &vote);
    // Its nil pre-vote arrives first, then the proof, then its other version, for the block.
    assert!(broadcasts(&engine.on_message(&prevote(equivocator, None), f.id(equivocator))).is_empty());
    let evidence = EquivocationEvidence {
        first: signed(prevote(equivocator, None), 1),
        second: signed(prevote(equivocator, Some(block)), 2),
    };
    assert!(engine.on_evidence(&evidence).is_empty());
    assert!(engine.is_excluded(&f.id(equivocator)));
    assert!(broadcasts(&engine.on_message(&prevote(equivocator, Some(block)), f.id(equivocator))).is_empty());
    // Ours, its version for the block and one honest pre-vote: 3 of 4, a polka.
    let actions = engine.on_message(&prevote(honest[0], Some(block)), f.id(honest[0]));
    assert_eq!(broadcasts(&actions), [&ConsensusMessage::PreCommit(f.vote(me, 0, Some(block)))], "its vote counts");
    assert_eq!(f.journal.lock().evidence, vec![evidence.clone()]);
    engine.on_evidence(&evidence);
    assert_eq!(f.journal.lock().evidence.len(), 1, "one proof per validator");
    for index in &honest[..2] {
        let precommit = ConsensusMessage::PreCommit(f.vote(*index, 0, Some(block)));
        engine.on_message(&precommit, f.id(*index));
    }
    assert_eq!(f.journal.lock().chain.len(), 1, "height 1 committed");
    assert!(run_deadline(&mut engine).await.contains(&Action::Position(Height(2), Round(0))));
    // At height 2 its pre-vote in round 5 no longer counts toward the third that moves us there.
    let far = |index: usize| {
        let vote = Vote { height: Height(2), round: Round(5), validator: f.id(index), block_hash: None };
        ConsensusMessage::PreVote(vote)
    };
    let moved = |actions: &[Action]| actions.contains(&Action::Position(Height(2), Round(5)));
    assert!(!moved(&engine.on_message(&far(equivocator), f.id(equivocator))));
    assert!(!moved(&engine.on_message(&far(honest[0]), f.id(honest[0]))), "the equivocator no longer counts");
    assert!(moved(&engine.on_message(&far(honest[1]), f.id(honest[1]))), "two honest of four do");
}

/// With the set changing at height 2, height 1 is decided by the genesis set's votes only and height 2
/// by the new set's; at a height whose set does not hold it, an engine signs nothing and still follows.
#[tokio::test(start_paused = true)]
async fn each_height_is_decided_by_the_validator_set_in_force_at_it() {
    let keys = cluster::keys(5);
    let id = |i: usize| keys[i].validator_id();
    let set_of = |of: &[usize]| {
        ValidatorSet::new(of.iter().map(|&i| ValidatorInfo::new(keys[i].public_key().clone(), 1))).unwrap()
    };
    let schedule = ValidatorSchedule::new(set_of(&[0, 1, 2, 3]), vec![(Height(2), set_of(&[1, 2, 3, 4]))]).unwrap();
    let (clock, journal): (Arc<dyn Clock>, _) = (VirtualClock::shared(cluster::WALL_BASE_MICROS), Journal::default());
    // Validator 0 decides height 1 and leaves at height 2.
    let mut engine =
        Engine::new(id(0), Arc::new(schedule), EngineConfig::local(), journal.clone(), clock.clone(), clock.now());
    engine.start();
    let precommit = |height: u64, from: usize, block: BlockHash| {
        let vote = Vote { height: Height(height), round: Round(0), validator: id(from), block_hash: Some(block) };
        ConsensusMessage::PreCommit(vote)
    };
    let first = BlockHash([1; 32]);
    for from in [4, 1, 2] {
        engine.on_message(&precommit(1, from, first), id(from));
    }
    assert!(journal.lock().chain.is_empty(), "validator 4 joins at height 2: its height-1 vote does not count");
    engine.on_message(&precommit(1, 3, first), id(3));
    assert_eq!(journal.lock().chain.len(), 1, "three of the genesis four decide height 1");

    let mut signed = Vec::new();
    for _ in 0..4 {
        let actions = run_deadline(&mut engine).await;
        signed.extend(broadcasts(&actions).into_iter().cloned());
    }
    assert!(signed.is_empty(), "validator 0 is out of height 2's set and signs nothing there: {signed:?}");
    let second = BlockHash([2; 32]);
    for from in [1, 2, 4] {
        engine.on_message(&precommit(2, from, second), id(from));
    }
    let chain = journal.snapshot().chain;
    assert_eq!((chain.len(), chain[1].block), (2, second), "the new set's three of four decide height 2");
}
