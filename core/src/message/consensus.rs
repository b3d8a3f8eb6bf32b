//! The consensus payloads a BFT engine exchanges: Tendermint-style phases plus a liveness heartbeat,
//! and the signed address records validators discover each other with.

use serde::{Deserialize, Serialize};

use super::address::AddressRecordWire;
use super::{AddressRecord, BlockHash, EvidenceReport, HearsBitmap, Height, ProposalHeader, ProposalPart, Round};
use crate::codec::{self, CodecError};
use crate::identity::ValidatorId;

/// One consensus message, as the engine hands it to the network and gets it back.
///
/// On the wire it is serde's externally tagged form, `{"Variant": {fields...}}`, with fields in the
/// order the structs declare them (WIRE.md §4: it travels as an [`Envelope`](super::Envelope)'s
/// `payload`, so the origin's signature covers exactly these bytes).
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::{ConsensusMessage, Height, MessageKind, Round, Vote};
///
/// let me = Keypair::from_seed(&[7; 32]).validator_id();
/// let nil_prevote = ConsensusMessage::PreVote(Vote {
///     height: Height(10),
///     round: Round(0),
///     validator: me,
///     block_hash: None,
/// });
/// let bytes = nil_prevote.encode();
/// let back = ConsensusMessage::decode(&bytes).unwrap();
/// assert_eq!(back, nil_prevote);
/// assert_eq!(back.kind(), MessageKind::PreVote);
/// assert_eq!(back.validator(), me);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ConsensusMessageWire")]
pub enum ConsensusMessage {
    /// A proposer's block for a height and round.
    Proposal(Proposal),
    /// A first-phase vote.
    PreVote(Vote),
    /// A second-phase vote.
    PreCommit(Vote),
    /// A validator announcing that it committed a block.
    Commit(Commit),
    /// A validator's periodic liveness report.
    Heartbeat(Heartbeat),
    /// Where a validator can be reached (WIRE.md §6). It is about no height or round.
    AddressRecord(AddressRecord),
    /// A validator's proof that another equivocated. Judged against the latest set, like an address
    /// record; the evidence inside against the set at its own height.
    Evidence(EvidenceReport),
    /// A large proposal's signed header, committing to its parts by hash. Sent by the node in place of
    /// a [`Proposal`] whose block exceeds one part; engines receive the reassembled `Proposal`.
    ProposalHeader(ProposalHeader),
    /// One part of a large proposal's block, signed by its proposer.
    ProposalPart(ProposalPart),
}

/// The message as received, with an address record's bounds not yet checked, so a violation comes out
/// as its own [`CodecError`] variant (as [`super::Frame`] does for envelopes).
#[derive(Deserialize)]
enum ConsensusMessageWire {
    Proposal(Proposal),
    PreVote(Vote),
    PreCommit(Vote),
    Commit(Commit),
    Heartbeat(Heartbeat),
    AddressRecord(AddressRecordWire),
    Evidence(EvidenceReport),
    ProposalHeader(ProposalHeader),
    ProposalPart(ProposalPart),
}

impl TryFrom<ConsensusMessageWire> for ConsensusMessage {
    type Error = CodecError;

    fn try_from(wire: ConsensusMessageWire) -> Result<Self, CodecError> {
        Ok(match wire {
            ConsensusMessageWire::Proposal(p) => ConsensusMessage::Proposal(p),
            ConsensusMessageWire::PreVote(v) => ConsensusMessage::PreVote(v),
            ConsensusMessageWire::PreCommit(v) => ConsensusMessage::PreCommit(v),
            ConsensusMessageWire::Commit(c) => ConsensusMessage::Commit(c),
            ConsensusMessageWire::Heartbeat(h) => ConsensusMessage::Heartbeat(h),
            ConsensusMessageWire::AddressRecord(r) => ConsensusMessage::AddressRecord(r.try_into()?),
            ConsensusMessageWire::Evidence(e) => ConsensusMessage::Evidence(e),
            ConsensusMessageWire::ProposalHeader(h) => ConsensusMessage::ProposalHeader(h),
            ConsensusMessageWire::ProposalPart(p) => ConsensusMessage::ProposalPart(p),
        })
    }
}

/// A proposed block. CBOR map keys, in order: `height`, `round`, `proposer`, `block_hash`, `pol_round`,
/// `block`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The height the block is proposed for.
    pub height: Height,
    /// The round within that height.
    pub round: Round,
    /// The validator proposing it.
    pub proposer: ValidatorId,
    /// The block's hash, as the engine computes it.
    pub block_hash: BlockHash,
    /// Tendermint's proof-of-lock round: the round in which this block gathered a polka, if the proposer
    /// is re-proposing a locked block. CBOR `null` when there is none.
    pub pol_round: Option<Round>,
    /// The block itself, opaque to the network. A CBOR byte string.
    #[serde(with = "crate::codec::bytes::bstr")]
    pub block: Vec<u8>,
}

/// A pre-vote or pre-commit. CBOR map keys, in order: `height`, `round`, `validator`, `block_hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The height voted at.
    pub height: Height,
    /// The round voted in.
    pub round: Round,
    /// The voting validator.
    pub validator: ValidatorId,
    /// The block voted for; `None` (CBOR `null`) is a nil vote.
    pub block_hash: Option<BlockHash>,
}

/// A validator announcing it committed `block_hash` at `height`. CBOR map keys, in order: `height`,
/// `round`, `validator`, `block_hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The committed height.
    pub height: Height,
    /// The round in which the block was decided.
    pub round: Round,
    /// The committing validator.
    pub validator: ValidatorId,
    /// The committed block.
    pub block_hash: BlockHash,
}

/// A validator's liveness report. CBOR map keys, in order: `validator`, `height`, `round`,
/// `time_micros`, `hears`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The reporting validator.
    pub validator: ValidatorId,
    /// The height it is working on.
    pub height: Height,
    /// The round it is in.
    pub round: Round,
    /// The sender's wall clock, microseconds since the Unix epoch: lets receivers estimate clock skew.
    pub time_micros: u64,
    /// The validators it currently hears from, so others can see partitions the sender cannot fix
    /// alone: a `bstr` bitmap over the validator set in force at `height` ([`HearsBitmap`]).
    pub hears: HearsBitmap,
}

/// Which kind of [`ConsensusMessage`] a value is, without its contents: the key for priorities and
/// per-kind counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// [`ConsensusMessage::Proposal`].
    Proposal,
    /// [`ConsensusMessage::PreVote`].
    PreVote,
    /// [`ConsensusMessage::PreCommit`].
    PreCommit,
    /// [`ConsensusMessage::Commit`].
    Commit,
    /// [`ConsensusMessage::Heartbeat`].
    Heartbeat,
    /// [`ConsensusMessage::AddressRecord`]: discovery traffic.
    AddressRecord,
    /// [`ConsensusMessage::Evidence`].
    Evidence,
    /// [`ConsensusMessage::ProposalHeader`].
    ProposalHeader,
    /// [`ConsensusMessage::ProposalPart`].
    ProposalPart,
}

impl MessageKind {
    /// Every kind, so counters can be laid out as fixed arrays indexed by kind.
    pub const ALL: [MessageKind; 9] = [
        MessageKind::Proposal,
        MessageKind::PreVote,
        MessageKind::PreCommit,
        MessageKind::Commit,
        MessageKind::Heartbeat,
        MessageKind::AddressRecord,
        MessageKind::Evidence,
        MessageKind::ProposalHeader,
        MessageKind::ProposalPart,
    ];

    /// The kind's name as it appears on the wire (the CBOR variant key) and in metrics.
    pub const fn name(self) -> &'static str {
        match self {
            MessageKind::Proposal => "Proposal",
            MessageKind::PreVote => "PreVote",
            MessageKind::PreCommit => "PreCommit",
            MessageKind::Commit => "Commit",
            MessageKind::Heartbeat => "Heartbeat",
            MessageKind::AddressRecord => "AddressRecord",
            MessageKind::Evidence => "Evidence",
            MessageKind::ProposalHeader => "ProposalHeader",
            MessageKind::ProposalPart => "ProposalPart",
        }
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ConsensusMessage {
    /// What `decode` calls the value in errors.
    const WHAT: &'static str = "consensus message";

    /// The validator the payload names as its author (the proposer, voter, committer, reporter, or the
    /// validator whose addresses a record lists).
    ///
    /// Receivers compare it with the envelope's origin: a message relayed under someone else's
    /// signature is an impersonation attempt.
    pub fn validator(&self) -> ValidatorId {
        match self {
            ConsensusMessage::Proposal(p) => p.proposer,
            ConsensusMessage::PreVote(v) | ConsensusMessage::PreCommit(v) => v.validator,
            ConsensusMessage::Commit(c) => c.validator,
            ConsensusMessage::Heartbeat(h) => h.validator,
            ConsensusMessage::AddressRecord(r) => r.validator,
            ConsensusMessage::Evidence(e) => e.reporter,
            ConsensusMessage::ProposalHeader(h) => h.proposer,
            ConsensusMessage::ProposalPart(p) => p.proposer,
        }
    }

    /// The height the message is about; it selects the validator set the message is judged against.
    ///
    /// `None` for an [`AddressRecord`], which is about no height: judge it against the *latest*
    /// validator set (only current validators' addresses matter). An `Option` rather than a made-up
    /// `Height(0)`, which would select no kept set and get every record dropped.
    pub fn height(&self) -> Option<Height> {
        match self {
            ConsensusMessage::Proposal(p) => Some(p.height),
            ConsensusMessage::PreVote(v) | ConsensusMessage::PreCommit(v) => Some(v.height),
            ConsensusMessage::Commit(c) => Some(c.height),
            ConsensusMessage::Heartbeat(h) => Some(h.height),
            ConsensusMessage::ProposalHeader(h) => Some(h.height),
            ConsensusMessage::ProposalPart(p) => Some(p.height),
            ConsensusMessage::AddressRecord(_) | ConsensusMessage::Evidence(_) => None,
        }
    }

    /// The round the message is about; `None` for an [`AddressRecord`], as for [`height`](Self::height).
    pub fn round(&self) -> Option<Round> {
        match self {
            ConsensusMessage::Proposal(p) => Some(p.round),
            ConsensusMessage::PreVote(v) | ConsensusMessage::PreCommit(v) => Some(v.round),
            ConsensusMessage::Commit(c) => Some(c.round),
            ConsensusMessage::Heartbeat(h) => Some(h.round),
            ConsensusMessage::ProposalHeader(h) => Some(h.round),
            ConsensusMessage::ProposalPart(p) => Some(p.round),
            ConsensusMessage::AddressRecord(_) | ConsensusMessage::Evidence(_) => None,
        }
    }

    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            ConsensusMessage::Proposal(_) => MessageKind::Proposal,
            ConsensusMessage::PreVote(_) => MessageKind::PreVote,
            ConsensusMessage::PreCommit(_) => MessageKind::PreCommit,
            ConsensusMessage::Commit(_) => MessageKind::Commit,
            ConsensusMessage::Heartbeat(_) => MessageKind::Heartbeat,
            ConsensusMessage::AddressRecord(_) => MessageKind::AddressRecord,
            ConsensusMessage::Evidence(_) => MessageKind::Evidence,
            ConsensusMessage::ProposalHeader(_) => MessageKind::ProposalHeader,
            ConsensusMessage::ProposalPart(_) => MessageKind::ProposalPart,
        }
    }

    /// The CBOR encoding: what an [`Envelope`](super::Envelope) signs and carries as its payload.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes exactly one message from `bytes`.
    ///
    /// # Errors
    /// [`CodecError::TooManyItems`] or [`CodecError::InvalidAddress`] for an address record out of its
    /// bounds; otherwise a [`CodecError`] for malformed CBOR, a wrong shape (an unknown variant, a
    /// missing field, an array where a byte string belongs, a 31-byte id, anything but a one-entry map at
    /// the top), truncation, or trailing bytes. Decoding through serde
    /// ([`codec::decode::<ConsensusMessage>`](codec::decode)) rejects the same inputs, but reports an
    /// address record's bounds as [`CodecError::Schema`].
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        super::decode_externally_tagged::<ConsensusMessageWire>(Self::WHAT, bytes)?.try_into()
    }
}
