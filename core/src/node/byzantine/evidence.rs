use crate::identity::{ChainId, ValidatorId};
pub use crate::message::EquivocationEvidence;
use crate::message::{ConsensusMessage, EnvelopeError, Height, MessageKind, Round};
use crate::validator::ValidatorSet;

/// What an [`EquivocationEvidence`] proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Equivocation {
    /// Two different messages of one kind (proposal, pre-vote, pre-commit, commit) for one height and round.
    SameSlot {
        /// The equivocating validator.
        origin: ValidatorId,
        /// The messages' height.
        height: Height,
        /// The messages' round.
        round: Round,
        /// The messages' kind.
        kind: MessageKind,
    },
    /// Two different payloads under one origin and sequence number.
    SameSequence {
        /// The equivocating validator.
        origin: ValidatorId,
        /// The shared sequence number.
        seq: u64,
    },
}

impl Equivocation {
    /// The validator proven to equivocate.
    pub fn origin(&self) -> ValidatorId {
        match self {
            Equivocation::SameSlot { origin, .. } | Equivocation::SameSequence { origin, .. } => *origin,
        }
    }
}

/// Why evidence proves nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The two envelopes have different origins.
    #[error("the two envelopes have different origins ({first} and {second})")]
    DifferentOrigins {
        /// The first envelope's origin.
        first: ValidatorId,
        /// The second's.
        second: ValidatorId,
    },
    /// The origin is not in the validator set given.
    #[error("origin {0} is not in the validator set")]
    UnknownOrigin(ValidatorId),
    /// An envelope's signature does not verify under the origin's key.
    #[error("an envelope's signature does not verify: {0}")]
    Signature(#[from] EnvelopeError),
    /// An envelope's payload is not a consensus message.
    #[error("an envelope's payload is not a consensus message")]
    Undecodable,
    /// A payload names another validator than the envelope's origin.
    #[error("a payload names {named}, not its origin {origin}")]
    AuthorMismatch {
        /// The envelopes' origin.
        origin: ValidatorId,
        /// The validator the payload names.
        named: ValidatorId,
    },
    /// Both envelopes carry the same payload: a resend, not a conflict.
    #[error("both envelopes carry the same payload")]
    SamePayload,
    /// Different payloads, but neither the same slot nor the same sequence number.
    #[error("the envelopes do not conflict: different slots and sequence numbers")]
    NoConflict,
}

impl EquivocationEvidence {
    /// Checks that both envelopes are validly signed by one member of `set` (the set in force at the
    /// messages' height) under `chain`, name it as author, and conflict.
    ///
    /// # Errors
    /// An [`EvidenceError`] per failed check, in the order listed there.
    pub fn verify(&self, chain: ChainId, set: &ValidatorSet) -> Result<Equivocation, EvidenceError> {
        let (first, second) = (&self.first, &self.second);
        let origin = first.origin;
        if second.origin != origin {
            return Err(EvidenceError::DifferentOrigins { first: origin, second: second.origin });
        }
        let key = set.public_key(&origin).ok_or(EvidenceError::UnknownOrigin(origin))?;
        let messages = [first, second].map(|envelope| -> Result<ConsensusMessage, EvidenceError> {
            envelope.verify(chain, key)?;
            let message = envelope.message().map_err(|_| EvidenceError::Undecodable)?;
            let named = message.validator();
            if named != origin {
                return Err(EvidenceError::AuthorMismatch { origin, named });
            }
            Ok(message)
        });
        let [a, b] = messages;
        let (a, b) = (a?, b?);
        if first.payload == second.payload {
            return Err(EvidenceError::SamePayload);
        }
        if first.seq == second.seq {
            return Ok(Equivocation::SameSequence { origin, seq: first.seq });
        }
        match (slot(&a), slot(&b)) {
            (Some(sa), Some(sb)) if sa == sb => {
                Ok(Equivocation::SameSlot { origin, height: sa.0, round: sa.1, kind: sa.2 })
            }
            _ => Err(EvidenceError::NoConflict),
        }
    }
}

/// The slot a proposal, vote or commit fills: one per validator per (height, round, kind). Heartbeats
/// and address records fill none (a validator sends many per round).
pub(super) fn slot(message: &ConsensusMessage) -> Option<(Height, Round, MessageKind)> {
    match message {
        ConsensusMessage::Proposal(_)
        | ConsensusMessage::PreVote(_)
        | ConsensusMessage::PreCommit(_)
        | ConsensusMessage::Commit(_) => Some((message.height()?, message.round()?, message.kind())),
        // A header fills its round's proposal slot: a whole proposal and a different header for one
        // round are two proposals.
        ConsensusMessage::ProposalHeader(h) => Some((h.height, h.round, MessageKind::Proposal)),
        // A proposer signs many parts per round; a part conflicting with its header fails the hash check.
        ConsensusMessage::ProposalPart(_)
        | ConsensusMessage::Heartbeat(_)
        | ConsensusMessage::AddressRecord(_)
        | ConsensusMessage::Evidence(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;
    use crate::message::{BlockHash, Envelope, Vote};
    use crate::validator::ValidatorInfo;

    fn chain() -> ChainId {
        ChainId::from_network_name("evidence")
    }

    fn keys() -> (Vec<Keypair>, ValidatorSet) {
        let keys: Vec<Keypair> = (1..=2u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
        (keys, set)
    }

    pub(crate) fn prevote(key: &Keypair, seq: u64, round: u32, block: u8) -> Envelope {
        let vote = Vote {
            height: Height(7),
            round: Round(round),
            validator: key.validator_id(),
            block_hash: Some(BlockHash([block; 32])),
        };
        Envelope::sign_message(key, chain(), seq, 3, &ConsensusMessage::PreVote(vote))
    }

    #[test]
    fn two_votes_for_one_slot_or_two_payloads_for_one_seq_are_proven() {
        let (keys, set) = keys();
        let origin = keys[0].validator_id();
        let same_slot = EquivocationEvidence { first: prevote(&keys[0], 1, 0, 1), second: prevote(&keys[0], 2, 0, 2) };
        assert_eq!(
            same_slot.verify(chain(), &set),
            Ok(Equivocation::SameSlot { origin, height: Height(7), round: Round(0), kind: MessageKind::PreVote })
        );
        let same_seq = EquivocationEvidence { first: prevote(&keys[0], 4, 0, 1), second: prevote(&keys[0], 4, 1, 1) };
        assert_eq!(same_seq.verify(chain(), &set), Ok(Equivocation::SameSequence { origin, seq: 4 }));
    }

    #[test]
    fn evidence_that_proves_nothing_is_refused_with_its_cause() {
        let (keys, set) = keys();
        let a = prevote(&keys[0], 1, 0, 1);
        let check = |first: &Envelope, second: &Envelope| {
            EquivocationEvidence { first: first.clone(), second: second.clone() }.verify(chain(), &set)
        };
        assert!(matches!(check(&a, &prevote(&keys[1], 2, 0, 2)), Err(EvidenceError::DifferentOrigins { .. })));
        assert_eq!(check(&a, &prevote(&keys[0], 2, 1, 2)), Err(EvidenceError::NoConflict), "different rounds");
        let resent = Envelope::sign(&keys[0], chain(), 9, 3, a.payload.clone());
        assert_eq!(check(&a, &resent), Err(EvidenceError::SamePayload), "a resend under a new seq");
        // A framing attempt: the second "signature" is someone else's bytes.
        let framed = Envelope { sig: prevote(&keys[1], 2, 0, 2).sig, ..prevote(&keys[0], 2, 0, 2) };
        assert!(matches!(check(&a, &framed), Err(EvidenceError::Signature(_))));
        let stranger = Keypair::from_seed(&[9; 32]);
        let (s1, s2) = (prevote(&stranger, 1, 0, 1), prevote(&stranger, 2, 0, 2));
        assert_eq!(check(&s1, &s2), Err(EvidenceError::UnknownOrigin(stranger.validator_id())));
        // Signed by 0 but naming 1 as the voter.
        let vote = Vote { height: Height(7), round: Round(0), validator: keys[1].validator_id(), block_hash: None };
        let impersonating = Envelope::sign_message(&keys[0], chain(), 3, 3, &ConsensusMessage::PreVote(vote));
        assert!(matches!(check(&a, &impersonating), Err(EvidenceError::AuthorMismatch { .. })));
    }
}
