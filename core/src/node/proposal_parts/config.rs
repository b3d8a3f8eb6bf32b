//! How large proposals are split and how much of them a node holds while they reassemble.

/// Proposal-part settings ([`NodeConfig::proposal_parts`](crate::node::NodeConfig::proposal_parts)).
///
/// ```
/// use quorumnet_core::node::proposal_parts::PartsConfig;
///
/// let config = PartsConfig::recommended();
/// assert!(config.part_size as usize <= 64 * 1024, "a part's envelope fits one link part");
/// assert_eq!(config.replicas, 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartsConfig {
    /// Blocks longer than this travel as parts of this many bytes (the last one shorter); shorter
    /// blocks travel whole, in one `Proposal` envelope, exactly as before parts existed.
    pub part_size: u32,
    /// How many peers the proposer sends each part to; they push it on to everyone else. The
    /// proposer uploads about `replicas` blocks per proposal, and each validator downloads about
    /// `replicas` copies of each part.
    pub replicas: usize,
    /// Proposals being reassembled at once; beyond it the lowest (height, round) is dropped.
    pub max_proposals: usize,
    /// Bytes of part data held for reassembly, over all proposals; beyond it the lowest (height,
    /// round) is dropped.
    pub max_bytes: usize,
    /// Parts a header may announce; a header announcing more is refused whole.
    pub max_parts: usize,
    /// Completed proposals remembered, so parts arriving after completion start nothing.
    pub completed_memory: usize,
}

impl PartsConfig {
    /// Production values.
    pub fn recommended() -> Self {
        PartsConfig {
            // 60 KiB of data plus a 3 309-byte ML-DSA-65 signature and the envelope's CBOR stay under
            // the links' 64 KiB part: each part envelope is one link frame, so a vote waits behind at
            // most one of them.
            part_size: 60 * 1024,
            // Two first-hop peers per part: one may be byzantine or slow and the part still spreads
            // first-hand; the proposer uploads about twice the block instead of N − 1 times.
            replicas: 2,
            // The current round, a round change and a few heights ahead or behind.
            max_proposals: 8,
            // Eight proposals of 4 MiB (the frame limit a whole proposal had).
            max_bytes: 32 * 1024 * 1024,
            // 16 MiB blocks at the part size: far above any block a whole frame could carry.
            max_parts: 273,
            // A few heights of proposals; a later part of one of them is a duplicate, not a new one.
            completed_memory: 64,
        }
    }
}

impl Default for PartsConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
