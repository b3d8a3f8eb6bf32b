//! A large proposal as it travels: a small signed header committing to the block by a list of part
//! hashes, and the block's parts, each signed by the proposer and checkable against the header alone.
//!
//! The engine never sees these: the node splits a [`Proposal`] whose block is larger than one part
//! and hands the engine the reassembled [`Proposal`] (`node::proposal_parts`).

use serde::{Deserialize, Serialize};

use super::{BlockHash, Height, Proposal, Round};
use crate::identity::ValidatorId;

/// Bytes of one part hash (BLAKE3-256).
pub const PART_HASH_LEN: usize = 32;

/// What a proposer signs instead of a whole large [`Proposal`]: every field of the proposal but the
/// block, plus the block's length, the part size and the BLAKE3-256 hash of each part. CBOR map keys,
/// in order: `height`, `round`, `proposer`, `block_hash`, `pol_round`, `block_len`, `part_size`,
/// `part_hashes` (a `bstr` of the part hashes laid end to end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalHeader {
    /// The height the block is proposed for.
    pub height: Height,
    /// The round within that height.
    pub round: Round,
    /// The validator proposing it.
    pub proposer: ValidatorId,
    /// The block's hash, as the engine computes it.
    pub block_hash: BlockHash,
    /// As in [`Proposal::pol_round`].
    pub pol_round: Option<Round>,
    /// The block's length in bytes.
    pub block_len: u64,
    /// Bytes of every part but the last (which holds the rest, 1 to `part_size` bytes).
    pub part_size: u32,
    /// BLAKE3-256 of each part's data, in part order, 32 bytes each.
    #[serde(with = "crate::codec::bytes::bstr")]
    pub part_hashes: Vec<u8>,
}

/// One part of a block announced by a [`ProposalHeader`]. CBOR map keys, in order: `height`, `round`,
/// `proposer`, `block_hash`, `index`, `data`.
///
/// `height`, `round`, `proposer` and `block_hash` name the header it belongs to; the proposer signs
/// the part's envelope, so a forwarder that alters it fails the signature check on arrival.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalPart {
    /// The header's height.
    pub height: Height,
    /// The header's round.
    pub round: Round,
    /// The header's proposer (the part's author).
    pub proposer: ValidatorId,
    /// The header's block hash.
    pub block_hash: BlockHash,
    /// The part's position, from 0.
    pub index: u32,
    /// The part's bytes.
    #[serde(with = "crate::codec::bytes::bstr")]
    pub data: Vec<u8>,
}

/// Which proposal a header or part belongs to: its parts are gathered under this key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProposalKey {
    /// The proposal's height.
    pub height: Height,
    /// Its round.
    pub round: Round,
    /// Its proposer.
    pub proposer: ValidatorId,
    /// Its block.
    pub block_hash: BlockHash,
}

impl ProposalHeader {
    /// Splits `proposal`'s block into parts of `part_size` bytes (the last one shorter) and returns
    /// the header committing to them and the parts. The block is read, not copied into the header.
    ///
    /// ```
    /// use quorumnet_core::identity::ValidatorId;
    /// use quorumnet_core::message::{BlockHash, Height, Proposal, ProposalHeader, Round};
    ///
    /// let proposal = Proposal {
    ///     height: Height(1), round: Round(0), proposer: ValidatorId([1; 32]),
    ///     block_hash: BlockHash([2; 32]), pol_round: None, block: vec![7; 10],
    /// };
    /// let (header, parts) = ProposalHeader::split(&proposal, 4);
    /// assert_eq!((header.part_count(), parts.len()), (3, 3));
    /// assert!(parts.iter().all(|part| header.holds(part)));
    /// assert_eq!(header.assemble(parts.iter().map(|p| p.data.as_slice())), Some(proposal));
    /// ```
    ///
    /// # Panics
    /// If `part_size` is 0.
    pub fn split(proposal: &Proposal, part_size: u32) -> (ProposalHeader, Vec<ProposalPart>) {
        assert!(part_size > 0, "a part holds at least one byte");
        let chunks = proposal.block.chunks(part_size as usize);
        let mut part_hashes = Vec::with_capacity(chunks.len() * PART_HASH_LEN);
        let parts = chunks
            .enumerate()
            .map(|(index, data)| {
                part_hashes.extend_from_slice(blake3::hash(data).as_bytes());
                ProposalPart {
                    height: proposal.height,
                    round: proposal.round,
                    proposer: proposal.proposer,
                    block_hash: proposal.block_hash,
                    index: index as u32,
                    data: data.to_vec(),
                }
            })
            .collect();
        let header = ProposalHeader {
            height: proposal.height,
            round: proposal.round,
            proposer: proposal.proposer,
            block_hash: proposal.block_hash,
            pol_round: proposal.pol_round,
            block_len: proposal.block.len() as u64,
            part_size,
            part_hashes,
        };
        (header, parts)
    }

    /// The proposal it announces.
    pub fn key(&self) -> ProposalKey {
        ProposalKey { height: self.height, round: self.round, proposer: self.proposer, block_hash: self.block_hash }
    }

    /// How many parts the block has, by the hash list.
    pub fn part_count(&self) -> usize {
        self.part_hashes.len() / PART_HASH_LEN
    }

    /// Whether the header is self-consistent: a whole number of hashes, as many as `block_len` and
    /// `part_size` need, at least one. A proposer's signed header that is not is refused whole.
    pub fn is_consistent(&self) -> bool {
        let size = u64::from(self.part_size);
        size > 0
            && self.block_len > 0
            && self.part_hashes.len() % PART_HASH_LEN == 0
            && self.part_count() as u64 == self.block_len.div_ceil(size)
    }

    /// The length part `index` must have: `part_size`, or the remainder for the last part.
    fn part_len(&self, index: usize) -> usize {
        let size = u64::from(self.part_size);
        let start = index as u64 * size;
        self.block_len.saturating_sub(start).min(size) as usize
    }

    /// Whether `part` is one of this header's: same proposal, an index in range, the right length,
    /// and data hashing to the listed hash. Checked before the block completes, part by part.
    pub fn holds(&self, part: &ProposalPart) -> bool {
        part.key() == self.key() && self.lists(part.index, &part.data)
    }

    /// Whether `data` is part `index` of this header's list (right length, listed hash).
    pub fn lists(&self, index: u32, data: &[u8]) -> bool {
        let index = index as usize;
        let Some(expected) = self.part_hashes.get(index * PART_HASH_LEN..(index + 1) * PART_HASH_LEN) else {
            return false;
        };
        data.len() == self.part_len(index) && blake3::hash(data).as_bytes() == expected
    }

    /// The proposal rebuilt from the parts' data in index order; `None` if they do not add up to
    /// `block_len` bytes.
    pub fn assemble<'a>(&self, parts: impl IntoIterator<Item = &'a [u8]>) -> Option<Proposal> {
        let mut block = Vec::with_capacity(usize::try_from(self.block_len).ok()?);
        for data in parts {
            block.extend_from_slice(data);
        }
        (block.len() as u64 == self.block_len).then_some(Proposal {
            height: self.height,
            round: self.round,
            proposer: self.proposer,
            block_hash: self.block_hash,
            pol_round: self.pol_round,
            block,
        })
    }
}

impl ProposalPart {
    /// The proposal it belongs to.
    pub fn key(&self) -> ProposalKey {
        ProposalKey { height: self.height, round: self.round, proposer: self.proposer, block_hash: self.block_hash }
    }
}
