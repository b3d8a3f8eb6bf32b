//! The reference engine's state machine: Tendermint's propose → pre-vote → pre-commit → commit.
//!
//! [`Engine`] is pure and synchronous: it takes messages and the time, and returns [`Action`]s for
//! its driver ([`super::driver`]) to carry out on the network — so the same inputs give the same
//! outputs, which is what makes a devnet run reproducible for a seed.
//!
//! The rules (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus", Algorithm 1), with the
//! devnet's choices:
//! - **Propose**: the round's [proposer](super::proposer) proposes its valid block if it has one
//!   (with its polka round), else a new block. Others wait [`TimeoutConfig::propose`], then pre-vote
//!   nil and report the proposer's `RoundTimeout` to the liveness monitor.
//! - **Pre-vote** a valid proposal by the [locking rules](super::locking::prevote_for), nil otherwise.
//! - **Pre-commit**: on 2/3 pre-votes for the proposed block, lock on it and pre-commit it; on 2/3 nil
//!   pre-votes, or after [`TimeoutConfig::prevote`], pre-commit nil.
//! - **Commit** on 2/3 pre-commits for one block in any round of the height (even without its
//!   proposal: blocks are opaque to the network, and the hash is what validators agree on).
//! - After [`TimeoutConfig::precommit`] without a decision, the next round; validators that sent no
//!   vote all round are reported `NoVotes`. Every step's timeout runs from the step's start (not from
//!   2/3 of any votes, as in the paper), so rounds advance even while fewer than 2/3 vote at all.
//! - **Round skip**: messages from more than 1/3 of the power at a higher round of the height move
//!   the engine to that round (a validator that restarted joins the others' round).
//! - **Catch-up**: see [`super::catchup`].
//!
//! Messages for the next height wait in a bounded buffer; later heights and rounds far ahead are
//! dropped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::block::Block;
use super::catchup::{CatchUpConfig, CommitCertificates, ServeSchedule};
use super::journal::{CommitPath, Committed, Journal};
use super::locking::{prevote_for, Locked};
use super::proposer::proposer;
use super::timeouts::{NetworkTimeouts, TimeoutConfig, TimeoutSource};
use super::votes::{Phase, VoteBook};
use crate::identity::ValidatorId;
use crate::message::{BlockHash, Commit, ConsensusMessage, EquivocationEvidence, Height, Proposal, Round, Vote};
use crate::node::liveness::ValidatorTimeout;
use crate::node::Clock;
use crate::validator::ValidatorSet;

use super::validator_schedule::ValidatorSchedule;

/// The engine's numbers.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where step timeouts come from: a fixed preset, or the network's measured quorum round trip
    /// (fed with [`Engine::on_quorum_round_trip`]).
    pub timeouts: TimeoutSource,
    /// Catch-up batches and grace.
    pub catch_up: CatchUpConfig,
    /// Size of a proposed block's payload (stand-in for transactions).
    pub block_bytes: usize,
    /// Votes and proposals more than this many rounds ahead of the engine's are dropped, bounding
    /// what a peer can make it store for one height.
    pub rounds_ahead: u32,
    /// Messages for the next height kept until the engine gets there; further ones are dropped
    /// (catch-up brings the decisions they would have led to).
    pub future_messages: usize,
}

impl EngineConfig {
    /// Tendermint's timeouts as the floor of timeouts that follow the network, 1 KiB blocks.
    pub fn recommended() -> Self {
        EngineConfig {
            timeouts: TimeoutSource::Network(NetworkTimeouts::recommended()),
            catch_up: CatchUpConfig::recommended(),
            block_bytes: 1024,
            // A hundred rounds is far beyond any honest lead (rounds skip forward together).
            rounds_ahead: 100,
            // Two heights of votes of a 1 000-validator set.
            future_messages: 4096,
        }
    }

    /// The devnet's: [`NetworkTimeouts::local`], whose floor [`TimeoutConfig::local`] lets runs on
    /// the simulator's 50 ms links finalise in well under a second, and which grows with slower links.
    pub fn local() -> Self {
        EngineConfig { timeouts: TimeoutSource::Network(NetworkTimeouts::local()), ..Self::recommended() }
    }
}

/// What the engine asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Broadcast this message (already applied to the engine's own state).
    Broadcast(ConsensusMessage),
    /// Send this message to one validator, acknowledged by it end to end: catch-up `Commit`s for a
    /// validator left behind, which nobody else needs.
    SendReliable(ValidatorId, ConsensusMessage),
    /// Tell the liveness monitor the engine timed out waiting for this validator.
    ReportTimeout(ValidatorId, ValidatorTimeout),
    /// Tell the liveness monitor this validator, reported before, voted again.
    MarkResponsive(ValidatorId),
    /// The engine moved to this height and round (for heartbeats).
    Position(Height, Round),
}

/// Where the engine is within a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Committed the previous height; round 0 starts after [`TimeoutConfig::commit`].
    NewHeight,
    /// Waiting for the round's proposal.
    Propose,
    /// Pre-voted; waiting for 2/3 pre-votes.
    Prevote,
    /// Pre-committed; waiting for 2/3 pre-commits.
    Precommit,
}

/// A proposal received for the current height, and whether its block checked out.
#[derive(Clone, Debug)]
struct Received {
    proposal: Proposal,
    valid: bool,
}

/// One validator's consensus state.
///
/// ```
/// use std::sync::Arc;
/// use quorumnet::devnet::engine::{Action, Engine, EngineConfig};
/// use quorumnet::devnet::journal::Journal;
/// use quorumnet::devnet::validator_schedule::ValidatorSchedule;
/// use quorumnet::identity::Keypair;
/// use quorumnet::message::{ConsensusMessage, Height};
/// use quorumnet::node::VirtualClock;
/// use quorumnet::validator::{ValidatorInfo, ValidatorSet};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// // A set of one: it proposes, votes and commits alone.
/// let key = Keypair::from_seed(&[1; 32]);
/// let set = Arc::new(ValidatorSet::new([ValidatorInfo::new(key.public_key().clone(), 1)]).unwrap());
/// let journal = Journal::default();
/// let clock = VirtualClock::shared(0);
/// let schedule = Arc::new(ValidatorSchedule::fixed(set));
/// let mut engine = Engine::new(key.validator_id(), schedule, EngineConfig::local(), journal.clone(), clock.clone(), clock.now());
/// let actions = engine.start();
/// assert!(actions.iter().any(|a| matches!(a, Action::Broadcast(ConsensusMessage::Proposal(_)))));
/// assert_eq!(journal.lock().chain.len(), 1);
/// assert_eq!(engine.height(), Height(2)); // round 0 of height 2 starts at the next deadline
/// # });
/// ```
pub struct Engine {
    me: ValidatorId,
    /// The set of every height: a message counts only if its origin is in its height's set.
    schedule: Arc<ValidatorSchedule>,
    /// The set deciding [`height`](Self::height).
    set: Arc<ValidatorSet>,
    config: EngineConfig,
    /// The step timeouts in force: `config.timeouts` at the latest quorum round trip.
    timeouts: TimeoutConfig,
    journal: Journal,
    clock: Arc<dyn Clock>,
    epoch: Instant,
    height: Height,
    round: Round,
    step: Step,
    entered_height: Instant,
    deadline: Option<Instant>,
    /// When the running step's timeout started, so a new round-trip estimate can re-time it.
    step_started: Instant,
    locked: Option<Locked>,
    valid: Option<Locked>,
    proposals: BTreeMap<Round, Received>,
    votes: VoteBook,
    future: VecDeque<(ConsensusMessage, ValidatorId)>,
    certificates: CommitCertificates,
    serving: ServeSchedule,
    reported: BTreeSet<ValidatorId>,
    /// Validators proven to equivocate, each with the last height whose messages from it count.
    excluded: BTreeMap<ValidatorId, Height>,
    out: Vec<Action>,
}

impl Engine {
    /// An engine for validator `me` of the sets of `schedule` (a set for every height:
    /// [`ValidatorSchedule::fixed`] for one), resuming from `journal` (the height after its chain's
    /// tip; the round after the last it signed in, if that was at this height). `epoch` is when the
    /// devnet started: commit times in the journal are measured from it. It signs nothing at heights
    /// whose set does not hold `me`, and follows them as a full node does.
    pub fn new(
        me: ValidatorId,
        schedule: Arc<ValidatorSchedule>,
        config: EngineConfig,
        journal: Journal,
        clock: Arc<dyn Clock>,
        epoch: Instant,
    ) -> Self {
        let now = clock.now();
        Engine {
            me,
            set: schedule.at(Height(0)).clone(),
            schedule,
            timeouts: config.timeouts.timeouts(None),
            config,
            journal,
            clock,
            epoch,
            height: Height(0),
            round: Round(0),
            step: Step::Propose,
            entered_height: now,
            deadline: None,
            step_started: now,
            locked: None,
            valid: None,
            proposals: BTreeMap::new(),
            votes: VoteBook::default(),
            future: VecDeque::new(),
            certificates: CommitCertificates::default(),
            serving: ServeSchedule::default(),
            reported: BTreeSet::new(),
            excluded: BTreeMap::new(),
            out: Vec::new(),
        }
    }

    /// The height being decided.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The round within it.
    pub fn round(&self) -> Round {
        self.round
    }

    /// The step timeouts in force.
    pub fn timeouts(&self) -> TimeoutConfig {
        self.timeouts
    }

    /// The network's quorum round trip is now `rtt` ([`NetworkTiming`](crate::node::NetworkTiming)):
    /// with [`TimeoutSource::Network`], steps started from now on wait accordingly (a running step
    /// keeps its deadline).
    pub fn on_quorum_round_trip(&mut self, rtt: Option<Duration>) {
        self.timeouts = self.config.timeouts.timeouts(rtt);
        // The driver reads the estimate when a round starts, after its propose step was timed with
        // the estimate before: re-time the running step (on a node's first round, the fixed floor's
        // 500 ms would otherwise cut a WAN proposal short).
        if self.deadline.is_some() {
            if let Some(timeout) = self.step_timeout() {
                self.deadline = Some(self.step_started + timeout);
            }
        }
    }

    /// The running step's timeout in this round (`None` between heights).
    fn step_timeout(&self) -> Option<Duration> {
        let timeout = match self.step {
            Step::NewHeight => return None,
            Step::Propose => self.timeouts.propose,
            Step::Prevote => self.timeouts.prevote,
            Step::Precommit => self.timeouts.precommit,
        };
        Some(timeout.at(self.round))
    }

    /// Enters `step` and starts its timeout.
    fn enter_step(&mut self, step: Step) {
        self.step = step;
        self.step_started = self.clock.now();
        self.deadline = self.step_timeout().map(|timeout| self.step_started + timeout);
    }

    /// When [`on_deadline`](Self::on_deadline) is due, if a step timeout is running.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Enters the first unfinished height, honouring the journal's last signed round and lock.
    pub fn start(&mut self) -> Vec<Action> {
        let (state, genesis) = (self.journal.snapshot(), Block::genesis_parent());
        let height = Height(state.tip(genesis).0 .0 + 1);
        let round = match state.last_signed {
            Some((h, r)) if h == height => Round(r.0.saturating_add(1)),
            _ => Round(0),
        };
        self.reset_for(height);
        self.locked = state.lock.filter(|(h, _)| *h == height).map(|(_, lock)| lock);
        self.start_round(round);
        self.replay_future();
        std::mem::take(&mut self.out)
    }

    /// Handles a verified message from `origin` (the node proved it signed it).
    pub fn on_message(&mut self, message: &ConsensusMessage, origin: ValidatorId) -> Vec<Action> {
        self.handle(message, origin);
        std::mem::take(&mut self.out)
    }

    /// The node proved `evidence`'s accused validator equivocated: from the next height on (or the
    /// one after the proof's, if later) none of its votes, proposals or commits counts, and the proof
    /// is kept in the journal.
    ///
    /// Its messages for the height being decided keep counting, each vote toward the block it names
    /// (a second, conflicting vote toward its own block; see [`VoteBook`]): honest validators may
    /// already be locked on a polka its vote completed, and a lock is only released by a newer polka,
    /// so the others must be able to see that polka too. Forgetting those votes left a partitioned
    /// devnet with honest validators locked on a polka no one else could count any more, stalled for
    /// good. Counting every validly signed vote stays safe: two quorums for different blocks share more
    /// than a third of the power, which would take more than a third of it equivocating.
    pub fn on_evidence(&mut self, evidence: &EquivocationEvidence) -> Vec<Action> {
        let accused = evidence.accused();
        if self.set.contains(&accused) && !self.excluded.contains_key(&accused) {
            let proven_at = evidence.first.message().ok().and_then(|m| m.height()).unwrap_or(self.height);
            tracing::warn!(accused = %accused.short(), "equivocator excluded from quorum");
            self.excluded.insert(accused, proven_at.max(self.height));
            self.journal.lock().evidence.push(evidence.clone());
        }
        std::mem::take(&mut self.out)
    }

    /// Whether `validator` is excluded for equivocation.
    pub fn is_excluded(&self, validator: &ValidatorId) -> bool {
        self.excluded.contains_key(validator)
    }

    /// Handles the step timeout if it is due.
    pub fn on_deadline(&mut self) -> Vec<Action> {
        let now = self.clock.now();
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            self.deadline = None;
            if self.step == Step::NewHeight {
                self.start_round(Round(0));
            } else {
                tracing::debug!(height = self.height.0, round = self.round.0, step = ?self.step, "step timed out");
                self.journal.lock().timeouts += 1;
                self.timed_out();
                self.progress();
            }
        }
        std::mem::take(&mut self.out)
    }

    fn handle(&mut self, message: &ConsensusMessage, origin: ValidatorId) {
        let (height, round) = match message {
            ConsensusMessage::Proposal(p) if p.proposer == origin => (p.height, Some(p.round)),
            ConsensusMessage::PreVote(v) | ConsensusMessage::PreCommit(v) if v.validator == origin => {
                (v.height, Some(v.round))
            }
            ConsensusMessage::Commit(c) if c.validator == origin => (c.height, None),
            // Heartbeats and address records are the node's; a payload naming someone else is not
            // the origin's to send (the node already checks this: defence in depth).
            _ => return,
        };
        if !self.schedule.at(height).contains(&origin) || self.excluded.get(&origin).is_some_and(|last| height > *last)
        {
            return;
        }
        if origin != self.me && self.reported.remove(&origin) {
            self.out.push(Action::MarkResponsive(origin));
        }
        if let ConsensusMessage::Commit(commit) = message {
            self.on_commit_message(commit);
            return;
        }
        if height < self.height {
            self.serve_catch_up(origin, height);
        } else if height > self.height {
            // Only the next height: a validator further behind is brought up by catch-up, and
            // buffering far-future messages would only crowd out the next height's.
            if height.0 == self.height.0 + 1 && self.future.len() < self.config.future_messages {
                self.future.push_back((message.clone(), origin));
            }
        } else if round.is_some_and(|r| r.0 <= self.round.0.saturating_add(self.config.rounds_ahead)) {
            match message {
                ConsensusMessage::Proposal(p) => self.on_proposal(p),
                ConsensusMessage::PreVote(v) => self.on_vote(Phase::PreVote, v),
                ConsensusMessage::PreCommit(v) => self.on_vote(Phase::PreCommit, v),
                _ => {}
            }
        }
    }

    fn on_proposal(&mut self, proposal: &Proposal) {
        if proposal.proposer != proposer(&self.set, proposal.height, proposal.round)
            || self.proposals.contains_key(&proposal.round)
        {
            return;
        }
        let valid = self.block_is_valid(proposal);
        self.proposals.insert(proposal.round, Received { proposal: proposal.clone(), valid });
        self.skip_to(proposal.round);
        self.progress();
    }

    fn on_vote(&mut self, phase: Phase, vote: &Vote) {
        if self.votes.record(&self.set, phase, vote.round, vote.validator, vote.block_hash) {
            self.skip_to(vote.round);
            self.progress();
        }
    }

    fn on_commit_message(&mut self, commit: &Commit) {
        if commit.height >= self.height && commit.height.0 - self.height.0 < self.config.catch_up.window {
            self.certificates.record(commit.height, commit.round, commit.block_hash, commit.validator);
            while let Some((block, round)) = self.certificates.certified(&self.set, self.height) {
                self.commit(block, round, CommitPath::CaughtUp);
            }
        }
    }

    /// A proposal's block checks out: it decodes, hashes to the proposal's hash, is for this height
    /// and extends this validator's chain; a polka round, if claimed, is an earlier round.
    fn block_is_valid(&self, proposal: &Proposal) -> bool {
        let parent = self.journal.lock().tip(Block::genesis_parent()).1;
        let polka_ok = proposal.pol_round.is_none_or(|pol| pol < proposal.round);
        polka_ok
            && Block::hash_of(&proposal.block) == proposal.block_hash
            && Block::decode(&proposal.block).is_some_and(|b| b.height == self.height && b.parent == parent)
    }

    /// Moves to `round` if validators with more than 1/3 of the power are already there.
    fn skip_to(&mut self, round: Round) {
        if round <= self.round {
            return;
        }
        let mut senders = self.votes.voters(round);
        senders.extend(self.proposals.get(&round).map(|r| r.proposal.proposer));
        if self.set.is_one_third_plus(self.set.power_of(senders.iter())) {
            self.start_round(round);
        }
    }

    /// Applies every rule whose condition now holds, until none does.
    fn progress(&mut self) {
        loop {
            if let Some((round, block)) = self.decided() {
                self.commit(block, round, CommitPath::Decided);
                continue;
            }
            if !self.advance_step() {
                return;
            }
        }
    }

    /// 2/3 pre-commits for one block in some round of this height.
    fn decided(&self) -> Option<(Round, BlockHash)> {
        let rounds: Vec<Round> = self.votes.rounds().collect();
        rounds.into_iter().find_map(|round| {
            self.votes.supermajority_block(&self.set, Phase::PreCommit, round).map(|block| (round, block))
        })
    }

    /// Takes the current round's next step if its condition holds; `false` if none did.
    fn advance_step(&mut self) -> bool {
        let round = self.round;
        match self.step {
            Step::NewHeight => false,
            Step::Propose => {
                let Some(received) = self.proposals.get(&round) else { return false };
                let vote = received.valid.then(|| {
                    let p = &received.proposal;
                    let saw_polka = p.pol_round.is_some_and(|pol| {
                        self.votes.tally(&self.set, Phase::PreVote, pol, Some(p.block_hash)).is_supermajority()
                    });
                    prevote_for(p.block_hash, p.pol_round, saw_polka, self.locked)
                });
                self.vote(Phase::PreVote, vote.flatten());
                true
            }
            Step::Prevote | Step::Precommit => {
                if let Some(block) = self.polka_on_proposal(round) {
                    if self.valid.is_none_or(|v| v.round < round) {
                        self.valid = Some(Locked { round, block });
                    }
                    if self.step == Step::Prevote {
                        self.locked = Some(Locked { round, block });
                        // Not checked: a store that refused the lock refuses the pre-commit's
                        // signed record below too, which then is not sent.
                        self.journal.record_lock(self.height, Locked { round, block });
                        self.vote(Phase::PreCommit, Some(block));
                        return true;
                    }
                    return false;
                }
                if self.step == Step::Prevote
                    && self.votes.tally(&self.set, Phase::PreVote, round, None).is_supermajority()
                {
                    self.vote(Phase::PreCommit, None);
                    return true;
                }
                false
            }
        }
    }

    /// The block of this round's valid proposal, if it has 2/3 pre-votes.
    fn polka_on_proposal(&self, round: Round) -> Option<BlockHash> {
        let received = self.proposals.get(&round).filter(|r| r.valid)?;
        let block = received.proposal.block_hash;
        self.votes.tally(&self.set, Phase::PreVote, round, Some(block)).is_supermajority().then_some(block)
    }

    /// The step timeout fired.
    fn timed_out(&mut self) {
        let (height, round) = (self.height, self.round);
        match self.step {
            Step::NewHeight => self.start_round(Round(0)),
            Step::Propose => {
                let proposer = proposer(&self.set, height, round);
                self.report(proposer, ValidatorTimeout::RoundTimeout { height, round });
                self.vote(Phase::PreVote, None);
            }
            Step::Prevote => self.vote(Phase::PreCommit, None),
            Step::Precommit => {
                let voters = self.votes.voters(round);
                let silent: Vec<ValidatorId> = self.set.ids().filter(|id| !voters.contains(id)).collect();
                for validator in silent {
                    self.report(validator, ValidatorTimeout::NoVotes { height, round });
                }
                self.start_round(Round(round.0.saturating_add(1)));
            }
        }
    }

    fn report(&mut self, validator: ValidatorId, reason: ValidatorTimeout) {
        if validator != self.me && self.reported.insert(validator) {
            self.out.push(Action::ReportTimeout(validator, reason));
        }
    }

    /// Signs (through the driver) and applies this validator's `phase` vote, entering the next step.
    fn vote(&mut self, phase: Phase, block: Option<BlockHash>) {
        let vote = Vote { height: self.height, round: self.round, validator: self.me, block_hash: block };
        let (message, step) = match phase {
            Phase::PreVote => (ConsensusMessage::PreVote(vote), Step::Prevote),
            Phase::PreCommit => (ConsensusMessage::PreCommit(vote), Step::Precommit),
        };
        self.enter_step(step);
        self.sign(message);
        self.votes.record(&self.set, phase, self.round, self.me, block);
    }

    /// Sends `message` only once the journal has recorded the round durably: a validator that
    /// restarts after sending never signs that round again.
    fn sign(&mut self, message: ConsensusMessage) {
        if self.set.contains(&self.me) && self.journal.record_signed(self.height, self.round) {
            self.out.push(Action::Broadcast(message));
        }
    }

    fn start_round(&mut self, round: Round) {
        self.round = round;
        self.enter_step(Step::Propose);
        self.journal.lock().position = (self.height, round);
        self.out.push(Action::Position(self.height, round));
        if proposer(&self.set, self.height, round) == self.me {
            let proposal = self.proposal(round);
            self.sign(ConsensusMessage::Proposal(proposal.clone()));
            self.proposals.insert(round, Received { proposal, valid: true });
        }
        self.progress();
    }

    /// This round's proposal: the valid block again with its polka round, else a new block.
    fn proposal(&self, round: Round) -> Proposal {
        let revived = self.valid.and_then(|valid| {
            let received = self.proposals.values().find(|r| r.proposal.block_hash == valid.block)?;
            Some((received.proposal.block.clone(), valid))
        });
        let (block, block_hash, pol_round) = match revived {
            Some((block, valid)) => (block, valid.block, Some(valid.round)),
            None => {
                let parent = self.journal.lock().tip(Block::genesis_parent()).1;
                let time = self.clock.wall_micros();
                let block = Block::new(self.height, round, self.me, parent, time, self.config.block_bytes);
                (block.encode(), block.hash(), None)
            }
        };
        Proposal { height: self.height, round, proposer: self.me, block_hash, pol_round, block }
    }

    fn commit(&mut self, block: BlockHash, round: Round, path: CommitPath) {
        let now = self.clock.now();
        let committed = Committed {
            height: self.height,
            round,
            block,
            at: now.duration_since(self.epoch),
            latency: now.duration_since(self.entered_height),
            path,
        };
        self.journal.push_commit(committed);
        self.reset_for(Height(self.height.0 + 1));
        // The next round 0 starts from the driver's next deadline check rather than from here, so a
        // validator that decides alone (a set of one) does not recurse through heights.
        self.step = Step::NewHeight;
        self.deadline = Some(now + self.timeouts.commit);
        self.replay_future();
    }

    /// Forgets the finished height's state and enters `height` (no round started yet).
    fn reset_for(&mut self, height: Height) {
        self.height = height;
        self.set = self.schedule.at(height).clone();
        self.round = Round(0);
        self.entered_height = self.clock.now();
        self.locked = None;
        self.valid = None;
        self.proposals.clear();
        self.votes = VoteBook::default();
        self.certificates.forget_below(height);
    }

    /// Handles the buffered messages: this height's now, later ones go back to the buffer.
    fn replay_future(&mut self) {
        let mut waiting = std::mem::take(&mut self.future);
        while let Some((message, origin)) = waiting.pop_front() {
            self.handle(&message, origin);
        }
    }

    /// `Commit`s for `behind`.. (up to a batch) to `validator`, which is at `behind`, a height this
    /// validator committed more than the grace period ago.
    fn serve_catch_up(&mut self, validator: ValidatorId, behind: Height) {
        let now = self.clock.now();
        let catch_up = self.config.catch_up;
        let wanted: Vec<Committed> = {
            let journal = self.journal.lock();
            let Some(first) = journal.at(behind) else { return };
            if now.duration_since(self.epoch) < first.at + catch_up.grace {
                return;
            }
            // Only heights this validator was in the set of: others count no one else's commit there,
            // and judge a commit signed for a height by a validator outside its set a forgery.
            (behind.0..behind.0.saturating_add(catch_up.batch))
                .map_while(|h| journal.at(Height(h)).copied())
                .filter(|c| self.schedule.at(c.height).contains(&self.me))
                .collect()
        };
        let heights = self.serving.take(validator, wanted.iter().map(|c| c.height), now, catch_up.grace);
        for committed in wanted.into_iter().filter(|c| heights.contains(&c.height)) {
            let commit = Commit {
                height: committed.height,
                round: committed.round,
                validator: self.me,
                block_hash: committed.block,
            };
            self.out.push(Action::SendReliable(validator, ConsensusMessage::Commit(commit)));
        }
    }
}
