//! The devnet's blocks: what a proposer proposes, and the hash validators vote on.
//!
//! A block is opaque to the network ([`Proposal::block`](crate::message::Proposal) is bytes); the
//! engine gives it just enough structure to check a proposal: the height it is for, the hash of the
//! block it extends, who proposed it and when, and a filler payload standing in for transactions.

use crate::identity::ValidatorId;
use crate::message::{BlockHash, Height, Round};

/// Bytes before the payload: height (8), round (4), proposer (32), parent (32), time (8).
const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 8;

/// A devnet block.
///
/// ```
/// use quorumnet::devnet::block::Block;
/// use quorumnet::identity::ValidatorId;
/// use quorumnet::message::{BlockHash, Height, Round};
///
/// let block = Block::new(Height(1), Round(0), ValidatorId([1; 32]), BlockHash([0; 32]), 42, 100);
/// let bytes = block.encode();
/// assert_eq!(Block::decode(&bytes), Some(block.clone()));
/// assert_eq!(block.hash(), Block::hash_of(&bytes));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The height it is proposed for.
    pub height: Height,
    /// The round it was first proposed in.
    pub round: Round,
    /// Its proposer.
    pub proposer: ValidatorId,
    /// The hash of the block it extends (the genesis hash at height 1).
    pub parent: BlockHash,
    /// The proposer's wall clock when it built the block, µs since the Unix epoch.
    pub time_micros: u64,
    /// Stand-in for transactions: `len` bytes derived from the header.
    pub payload: Vec<u8>,
}

impl Block {
    /// A block with a `payload_len`-byte filler payload derived from the header (so blocks differ).
    pub fn new(
        height: Height,
        round: Round,
        proposer: ValidatorId,
        parent: BlockHash,
        time_micros: u64,
        payload_len: usize,
    ) -> Self {
        let mut block = Block { height, round, proposer, parent, time_micros, payload: Vec::new() };
        let mut filler = blake3::Hasher::new();
        filler.update(&block.encode());
        let mut payload = vec![0; payload_len];
        filler.finalize_xof().fill(&mut payload);
        block.payload = payload;
        block
    }

    /// The hash of the first block's parent: a chain's starting point, the same for every validator.
    pub fn genesis_parent() -> BlockHash {
        BlockHash(*blake3::hash(b"quorumnet devnet genesis").as_bytes())
    }

    /// The block's bytes, as carried in a proposal.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + self.payload.len());
        bytes.extend_from_slice(&self.height.0.to_be_bytes());
        bytes.extend_from_slice(&self.round.0.to_be_bytes());
        bytes.extend_from_slice(self.proposer.as_bytes());
        bytes.extend_from_slice(self.parent.as_bytes());
        bytes.extend_from_slice(&self.time_micros.to_be_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes
    }

    /// Parses a proposal's block; `None` if it is too short to hold a header (a peer's bytes are
    /// never trusted to be well formed).
    pub fn decode(bytes: &[u8]) -> Option<Block> {
        let (header, payload) = (bytes.get(..HEADER_LEN)?, &bytes[HEADER_LEN..]);
        let (height, rest) = header.split_at(8);
        let (round, rest) = rest.split_at(4);
        let (proposer, rest) = rest.split_at(32);
        let (parent, time) = rest.split_at(32);
        Some(Block {
            height: Height(u64::from_be_bytes(height.try_into().ok()?)),
            round: Round(u32::from_be_bytes(round.try_into().ok()?)),
            proposer: ValidatorId(proposer.try_into().ok()?),
            parent: BlockHash(parent.try_into().ok()?),
            time_micros: u64::from_be_bytes(time.try_into().ok()?),
            payload: payload.to_vec(),
        })
    }

    /// The block's hash: BLAKE3 of its encoding.
    pub fn hash(&self) -> BlockHash {
        Self::hash_of(&self.encode())
    }

    /// The hash of an encoded block.
    pub fn hash_of(bytes: &[u8]) -> BlockHash {
        BlockHash(*blake3::hash(bytes).as_bytes())
    }
}
