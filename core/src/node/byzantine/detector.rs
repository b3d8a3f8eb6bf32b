use std::collections::{HashMap, HashSet, VecDeque};

use super::evidence::{slot, EquivocationEvidence};
use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, Height, MessageId, MessageKind, Round};
use crate::node::gossip::fifo::IdHashState;

/// Bounds on what an [`EquivocationDetector`] remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectorConfig {
    /// Slots are kept for this many heights around the current height (see
    /// [`EquivocationDetector::set_current_height`]): from `heights − 1` below it to `heights` above.
    /// Conflicts outside go unnoticed: below, consensus has moved on and they can no longer split a
    /// decision; far above, no honest validator votes yet.
    pub heights: u64,
    /// Slots kept per origin (the lowest are forgotten first): a validator signing votes for
    /// thousands of rounds fills its own budget, never anyone else's.
    pub slots_per_origin: usize,
    /// Sequence numbers kept per origin (the highest ones); older ones go unnoticed.
    pub seqs_per_origin: usize,
    /// A new envelope more than this many sequence numbers below its origin's highest is a replay
    /// ([`ReplayWindow`](super::ReplayWindow)).
    pub replay_window: u64,
}

impl Default for DetectorConfig {
    /// 4 heights, 64 slots and 256 sequence numbers per origin, a replay window of 1 024. A slot keeps
    /// the first envelope's id and a hash of its payload (88 bytes with its key), a sequence number
    /// the first id (48 bytes), in one sorted ring per origin: with 100 validators at most
    /// 100 × (64 × 88 + 256 × 48) bytes. No bytes of the envelope itself: a
    /// payload shared with the received frame would keep the frame's 3.3 KB signature alive, and
    /// kept per sequence number those held 256 envelopes per origin alive after the store let them
    /// go, ~85 MB per node at 100 validators.
    ///
    /// The window is far wider than the messages an honest origin sends while one of its frames is in
    /// flight (a few per height; a multi-megabyte proposal overtaken by its own later votes), so an
    /// honest forwarder is not charged for a late first copy.
    fn default() -> Self {
        DetectorConfig { heights: 4, slots_per_origin: 64, seqs_per_origin: 256, replay_window: 1024 }
    }
}

/// One origin's slot: each is filled once by an honest validator.
type Slot = (Height, Round, MessageKind);

/// Finds equivocation among verified envelopes: the first envelope per (origin, height, round, kind)
/// and per (origin, seq) is remembered by id, and a second, different one yields a [`Conflict`] —
/// once per slot or sequence number, so evidence is gossiped once. The caller completes it into
/// [`EquivocationEvidence`] with the first envelope, from its repair store (which holds at least the
/// heights the detector watches).
///
/// Feed it only envelopes whose signature, origin and author were checked (the receive path's
/// `judge`), and only new ones (exact duplicates are filtered by the seen-cache before; a duplicate
/// passed anyway is recognised by its payload and ignored).
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::{BlockHash, ConsensusMessage, Envelope, Height, Round, Vote};
/// use quorumnet_core::node::byzantine::EquivocationDetector;
///
/// let chain = ChainId::from_network_name("devnet");
/// let key = Keypair::from_seed(&[1; 32]);
/// let vote = |seq: u64, block: u8| {
///     let vote = Vote { height: Height(5), round: Round(0), validator: key.validator_id(), block_hash: Some(BlockHash([block; 32])) };
///     let message = ConsensusMessage::PreVote(vote);
///     (Envelope::sign_message(&key, chain, seq, 3, &message), message)
/// };
/// let mut detector = EquivocationDetector::default();
/// let (first, m1) = vote(1, 1);
/// let (second, m2) = vote(2, 2);
/// assert!(detector.observe(&first, &m1).is_none());
/// let conflict = detector.observe(&second, &m2).expect("two pre-votes for one round");
/// assert_eq!((conflict.first, &conflict.second), (first.id(), &second));
/// let evidence = conflict.with_first(first.clone());
/// assert_eq!((evidence.first, evidence.second), (first, second));
/// assert!(detector.is_equivocator(&key.validator_id()));
/// ```
#[derive(Debug, Default)]
pub struct EquivocationDetector {
    config: DetectorConfig,
    // foldhash: looked up twice per verified envelope.
    // Sorted rings allocated once at their budget, not trees: a node keeps these for every origin,
    // and at a thousand validators per simulated process B-tree nodes (~130 bytes per entry, both
    // maps holding an id and a hash) came to ~4 GB.
    slots: HashMap<ValidatorId, Bounded<Slot, Kept>, IdHashState>,
    seqs: HashMap<ValidatorId, Bounded<u64, SeqKept>, IdHashState>,
    /// The highest height seen in a slot: the window's anchor until the current height is known.
    highest: Height,
    /// The local engine's height, once known: the window's anchor, which no peer can move.
    current: Option<Height>,
    equivocators: HashSet<ValidatorId>,
}

impl EquivocationDetector {
    /// A detector with `config`'s bounds.
    pub fn new(config: DetectorConfig) -> Self {
        EquivocationDetector { config, ..Self::default() }
    }

    /// Records a verified `envelope` carrying `message`; the conflict if it conflicts with an
    /// envelope recorded before and none was reported for that slot or seq yet.
    pub fn observe(&mut self, envelope: &Envelope, message: &ConsensusMessage) -> Option<Conflict> {
        let id = envelope.id();
        let print = Kept::first(id, envelope);
        let by_seq = self.observe_seq(envelope, id);
        let by_slot = slot(message).and_then(|slot| self.observe_slot(envelope, slot, &print));
        let evidence = by_seq.or(by_slot)?;
        self.equivocators.insert(envelope.origin);
        Some(evidence)
    }

    /// Anchors the height window at `height`, the local engine's (0: not known). Until it is set the
    /// window follows the highest height any verified message named — which a validator could move
    /// far ahead with one signed vote, making the others' conflicts at the real height go unnoticed.
    pub fn set_current_height(&mut self, height: Height) {
        self.current = (height.0 > 0).then_some(height);
    }

    /// The heights whose slots are kept.
    fn window(&self) -> std::ops::RangeInclusive<u64> {
        let below = self.config.heights.saturating_sub(1);
        match self.current {
            Some(current) => current.0.saturating_sub(below)..=current.0.saturating_add(self.config.heights),
            None => self.highest.0.saturating_sub(below)..=u64::MAX,
        }
    }

    fn observe_slot(&mut self, envelope: &Envelope, slot: Slot, print: &Kept) -> Option<Conflict> {
        self.highest = self.highest.max(slot.0);
        let window = self.window();
        if !window.contains(&slot.0 .0) {
            return None;
        }
        let budget = self.config.slots_per_origin;
        let slots = self.slots.entry(envelope.origin).or_insert_with(|| Bounded::new(budget));
        // Forget this origin's slots that fell below the window, then keep it within its budget.
        slots.forget_below(&(Height(*window.start()), Round(0), MessageKind::Proposal));
        let kept = slots.entry(slot, budget, || print.clone())?;
        conflict(kept, print, envelope)
    }

    /// Whether this detector produced evidence against `origin` (proofs gossiped by others are the
    /// node's to keep: `node::byzantine::driver`).
    pub fn is_equivocator(&self, origin: &ValidatorId) -> bool {
        self.equivocators.contains(origin)
    }

    /// Slots and sequence numbers currently remembered (for tests of the bounds).
    pub fn remembered(&self) -> usize {
        let slots: usize = self.slots.values().map(Bounded::len).sum();
        slots + self.seqs.values().map(Bounded::len).sum::<usize>()
    }

    fn observe_seq(&mut self, envelope: &Envelope, id: MessageId) -> Option<Conflict> {
        let budget = self.config.seqs_per_origin;
        let seqs = self.seqs.entry(envelope.origin).or_insert_with(|| Bounded::new(budget));
        // Older than everything kept: unnoticed.
        let kept = seqs.entry(envelope.seq, budget, || SeqKept::First(id))?;
        match *kept {
            // One origin and seq: the ids differ exactly when the payloads do.
            SeqKept::First(first) if first != id => {
                *kept = SeqKept::Reported;
                Some(Conflict { first, second: envelope.clone() })
            }
            _ => None,
        }
    }
}

/// At most a budget of entries sorted by key, the lowest forgotten first (keys mostly come in
/// order: a ring, so forgetting one moves nothing). Its ring is allocated once, at the budget.
#[derive(Debug)]
struct Bounded<K, V> {
    entries: VecDeque<(K, V)>,
}

impl<K: Ord + Copy, V> Bounded<K, V> {
    fn new(budget: usize) -> Self {
        Bounded { entries: VecDeque::with_capacity(budget.min(64)) }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops the entries below `floor`.
    fn forget_below(&mut self, floor: &K) {
        if self.entries.front().is_some_and(|(lowest, _)| lowest < floor) {
            let below = self.entries.partition_point(|(key, _)| key < floor);
            self.entries.drain(..below);
        }
    }

    /// The entry for `key`, inserted with `first()` if absent; when that exceeds `budget`, the lowest
    /// key goes (`None` if that is `key` itself: older than everything kept).
    fn entry(&mut self, key: K, budget: usize, first: impl FnOnce() -> V) -> Option<&mut V> {
        // Most keys are the newest yet: past the last entry, no search.
        let newest = self.entries.back().is_none_or(|(last, _)| *last < key);
        let mut at = if newest {
            self.entries.len()
        } else {
            match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(at) => return Some(&mut self.entries[at].1),
                Err(at) => at,
            }
        };
        if self.entries.len() >= budget {
            if at == 0 {
                return None;
            }
            self.entries.pop_front();
            at -= 1;
        }
        self.entries.insert(at, (key, first()));
        Some(&mut self.entries[at].1)
    }
}

/// Two envelopes an honest validator never signs both of: the first by id, the second whole. With
/// the first envelope (from the repair store) it is [`EquivocationEvidence`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The id of the envelope recorded first.
    pub first: MessageId,
    /// The envelope that conflicts with it.
    pub second: Envelope,
}

impl Conflict {
    /// The evidence, given the envelope with id [`Conflict::first`].
    pub fn with_first(self, first: Envelope) -> EquivocationEvidence {
        EquivocationEvidence { first, second: self.second }
    }
}

/// What is kept for a slot or sequence number.
#[derive(Clone, Debug)]
enum Kept {
    /// The first envelope seen for it: its id, and its payload's hash (a resend under another
    /// sequence number repeats the payload exactly).
    First { id: MessageId, payload: blake3::Hash },
    /// A conflict was reported: later ones add nothing.
    Reported,
}

/// What is kept for a sequence number: the first envelope's id, or that a conflict was reported.
#[derive(Clone, Copy, Debug)]
enum SeqKept {
    First(MessageId),
    Reported,
}

impl Kept {
    /// What is kept for `envelope`, whose id is `id`.
    fn first(id: MessageId, envelope: &Envelope) -> Self {
        Kept::First { id, payload: blake3::hash(&envelope.payload) }
    }
}

/// The conflict if `kept` holds a first envelope with another payload than `envelope`; it is then
/// marked reported, so each slot yields one.
/// Whether `envelope` (whose [`Kept::first`] is `print`) conflicts with what `kept` holds.
fn conflict(kept: &mut Kept, print: &Kept, envelope: &Envelope) -> Option<Conflict> {
    let (Kept::First { id, payload }, Kept::First { payload: new_payload, .. }) = (&*kept, print) else { return None };
    if payload == new_payload {
        return None;
    }
    let first = *id;
    *kept = Kept::Reported;
    Some(Conflict { first, second: envelope.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ChainId, Keypair};
    use crate::message::{BlockHash, Vote};

    fn prevote(key: &Keypair, seq: u64, height: u64, round: u32, block: u8) -> (Envelope, ConsensusMessage) {
        let vote = Vote {
            height: Height(height),
            round: Round(round),
            validator: key.validator_id(),
            block_hash: Some(BlockHash([block; 32])),
        };
        let message = ConsensusMessage::PreVote(vote);
        (Envelope::sign_message(key, ChainId::from_network_name("detector"), seq, 3, &message), message)
    }

    fn observe(detector: &mut EquivocationDetector, (envelope, message): &(Envelope, ConsensusMessage)) -> bool {
        detector.observe(envelope, message).is_some()
    }

    #[test]
    fn honest_traffic_and_resends_never_yield_evidence() {
        let key = Keypair::from_seed(&[1; 32]);
        let mut detector = EquivocationDetector::default();
        for (seq, round) in (1..=20).zip(0..) {
            assert!(!observe(&mut detector, &prevote(&key, seq, 3, round, 1)));
        }
        // The same vote again, as a repair answer or under a new seq: same payload, no conflict.
        let again = prevote(&key, 1, 3, 0, 1);
        assert!(!observe(&mut detector, &again));
        let (envelope, message) = prevote(&key, 40, 3, 0, 1);
        let resent = Envelope::sign(&key, ChainId::from_network_name("detector"), 41, 3, envelope.payload.clone());
        assert!(detector.observe(&resent, &message).is_none());
        assert!(!detector.is_equivocator(&key.validator_id()));
    }

    #[test]
    fn a_conflicting_vote_yields_evidence_once_per_slot() {
        let key = Keypair::from_seed(&[1; 32]);
        let mut detector = EquivocationDetector::default();
        let first = prevote(&key, 1, 3, 0, 1);
        assert!(!observe(&mut detector, &first));
        let conflict = detector.observe(&prevote(&key, 2, 3, 0, 2).0, &prevote(&key, 2, 3, 0, 2).1);
        assert_eq!(conflict.expect("conflict").first, first.0.id());
        assert!(detector.is_equivocator(&key.validator_id()));
        assert!(!observe(&mut detector, &prevote(&key, 3, 3, 0, 3)), "the slot was reported already");
        // Another validator is unaffected.
        assert!(!detector.is_equivocator(&Keypair::from_seed(&[2; 32]).validator_id()));
    }

    #[test]
    fn two_payloads_under_one_seq_yield_evidence() {
        let key = Keypair::from_seed(&[1; 32]);
        let mut detector = EquivocationDetector::default();
        assert!(!observe(&mut detector, &prevote(&key, 5, 3, 0, 1)));
        assert!(observe(&mut detector, &prevote(&key, 5, 3, 1, 1)), "another round, same seq");
    }

    #[test]
    fn memory_stays_within_the_height_window_and_the_seq_cap() {
        let key = Keypair::from_seed(&[1; 32]);
        let config = DetectorConfig { heights: 2, seqs_per_origin: 8, ..DetectorConfig::default() };
        let mut detector = EquivocationDetector::new(config);
        for seq in 1..=100u64 {
            assert!(!observe(&mut detector, &prevote(&key, seq, seq, 0, 1)));
            assert!(detector.remembered() <= 2 + 8, "after seq {seq}: {}", detector.remembered());
        }
        // Below the window, a conflict goes unnoticed rather than growing memory.
        assert!(!observe(&mut detector, &prevote(&key, 1000, 50, 0, 2)));
        assert!(observe(&mut detector, &prevote(&key, 1001, 100, 0, 2)), "inside the window it is caught");
    }

    #[test]
    fn a_far_future_vote_cannot_move_the_window_once_the_current_height_is_known() {
        let (honest_looking, pusher) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
        let mut detector = EquivocationDetector::default();
        detector.set_current_height(Height(5));
        assert!(!observe(&mut detector, &prevote(&pusher, 1, 1_000_000, 0, 1)), "far ahead: not kept");
        assert!(!observe(&mut detector, &prevote(&honest_looking, 1, 5, 0, 1)));
        assert!(observe(&mut detector, &prevote(&honest_looking, 2, 5, 0, 2)), "caught at the current height");
        // Without an anchor the same push would have hidden it.
        let mut unanchored = EquivocationDetector::default();
        observe(&mut unanchored, &prevote(&pusher, 1, 1_000_000, 0, 1));
        observe(&mut unanchored, &prevote(&honest_looking, 1, 5, 0, 1));
        assert!(!observe(&mut unanchored, &prevote(&honest_looking, 2, 5, 0, 2)));
    }

    #[test]
    fn votes_for_thousands_of_rounds_fill_only_their_signer_s_slot_budget() {
        let (spammer, other) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
        let config = DetectorConfig::default();
        let mut detector = EquivocationDetector::new(config);
        detector.set_current_height(Height(3));
        assert!(!observe(&mut detector, &prevote(&other, 1, 3, 0, 1)));
        for round in 0..5_000u32 {
            observe(&mut detector, &prevote(&spammer, u64::from(round) + 1, 3, round, 1));
        }
        assert!(detector.remembered() <= 2 * config.slots_per_origin + config.seqs_per_origin + 1);
        assert!(observe(&mut detector, &prevote(&other, 2, 3, 0, 2)), "the other's slot was kept");
    }

    #[test]
    fn a_late_seq_inside_the_kept_range_is_tracked_and_one_below_it_is_not() {
        let key = Keypair::from_seed(&[1; 32]);
        let config = DetectorConfig { seqs_per_origin: 4, ..DetectorConfig::default() };
        let mut detector = EquivocationDetector::new(config);
        for (seq, round) in [(10, 0), (20, 1), (30, 2), (40, 3)] {
            assert!(!observe(&mut detector, &prevote(&key, seq, 3, round, 1)));
        }
        // 25 arrives late: kept in order (10 goes), so its twin is caught.
        assert!(!observe(&mut detector, &prevote(&key, 25, 3, 10, 1)));
        assert!(observe(&mut detector, &prevote(&key, 25, 3, 11, 1)), "same seq, another payload");
        // 5 is below everything kept: neither it nor its twin is remembered.
        assert!(!observe(&mut detector, &prevote(&key, 5, 3, 20, 1)));
        assert!(!observe(&mut detector, &prevote(&key, 5, 3, 21, 1)));
        assert_eq!(detector.seqs[&key.validator_id()].len(), 4);
    }
}
