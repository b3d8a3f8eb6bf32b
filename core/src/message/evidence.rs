//! Equivocation evidence as a payload: two envelopes one validator signed that cannot both be
//! honest, reported by a validator that saw them (`docs/wire.md`, `Evidence`). Checking what the two
//! envelopes prove needs the validator set and lives with the detector
//! ([`crate::node::byzantine`]).

use serde::{Deserialize, Serialize};

use super::{Envelope, Height};
use crate::identity::ValidatorId;

/// Two envelopes by one origin that an honest validator never signs both of.
///
/// Self-contained: [`verify`](Self::verify) needs only the chain and the validator set in force at
/// the messages' height, so a node can check evidence gossiped by anyone, including a byzantine
/// peer trying to frame an honest validator (it cannot: it would need two of the victim's signatures).
/// CBOR map keys, in order: `first`, `second` (each an envelope map, WIRE.md §4).
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::{BlockHash, ConsensusMessage, Envelope, Height, Round, Vote};
/// use quorumnet_core::node::byzantine::{Equivocation, EquivocationEvidence};
/// use quorumnet_core::validator::{ValidatorInfo, ValidatorSet};
///
/// let chain = ChainId::from_network_name("devnet");
/// let key = Keypair::from_seed(&[1; 32]);
/// let set = ValidatorSet::new([ValidatorInfo::new(key.public_key().clone(), 1)]).unwrap();
/// let vote = |block: u8| {
///     let vote = Vote { height: Height(5), round: Round(0), validator: key.validator_id(), block_hash: Some(BlockHash([block; 32])) };
///     Envelope::sign_message(&key, chain, u64::from(block), 3, &ConsensusMessage::PreCommit(vote))
/// };
/// let evidence = EquivocationEvidence { first: vote(1), second: vote(2) };
/// assert!(matches!(evidence.verify(chain, &set), Ok(Equivocation::SameSlot { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationEvidence {
    /// The envelope seen first.
    pub first: Envelope,
    /// The conflicting one.
    pub second: Envelope,
}

impl EquivocationEvidence {
    /// The validator both envelopes claim as origin (the equivocator, once verified).
    pub fn accused(&self) -> ValidatorId {
        self.first.origin
    }
}

/// A validator's report of equivocation it found: the payload of
/// [`ConsensusMessage::Evidence`](super::ConsensusMessage::Evidence), gossiped once per equivocator
/// by each validator that finds it itself. CBOR map keys, in order: `reporter`, `height`, `evidence`.
///
/// `height` is the conflicting messages' height, which selects the validator set the evidence is
/// checked against; the report itself is judged, like an address record, against the latest set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceReport {
    /// The validator that found and signed the report (the envelope's origin).
    pub reporter: ValidatorId,
    /// The height of the two conflicting messages.
    pub height: Height,
    /// The two envelopes.
    pub evidence: EquivocationEvidence,
}
