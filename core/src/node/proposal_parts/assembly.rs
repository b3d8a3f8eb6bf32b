//! Reassembly of large proposals, as a pure state machine: headers and parts go in, in any order
//! and from any peers; each complete proposal comes out once.

use std::collections::{BTreeMap, VecDeque};

use super::PartsConfig;
use crate::message::{Proposal, ProposalHeader, ProposalKey, ProposalPart};

/// What feeding a header or part did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<M> {
    /// Kept; the proposal is not complete yet.
    Pending,
    /// The proposal is complete: its block, and what came with its header.
    Complete(Box<Proposal>, M),
    /// Already complete (or refused): nothing to do.
    Ignored,
    /// Not this proposal's: a header that is inconsistent or announces too many parts, or a part whose
    /// index, length or hash does not match its header's list. Both are signed by the proposer.
    Refused,
}

/// One proposal being gathered.
#[derive(Debug)]
struct Gathering<M> {
    header: Option<(ProposalHeader, M)>,
    parts: BTreeMap<u32, Vec<u8>>,
}

impl<M> Gathering<M> {
    fn bytes(&self) -> usize {
        self.parts.values().map(Vec::len).sum()
    }
}

/// Headers and parts of proposals not yet complete, bounded by [`PartsConfig`]: at most
/// `max_proposals` proposals and `max_bytes` of part data, the lowest (height, round) dropped first
/// at either bound (the proposal the engine has most likely moved past). `M` is whatever the caller
/// keeps with a header (the node: its envelope and how it came).
///
/// A part that arrives before its header is held unchecked (its proposer's signature was verified,
/// so only the proposer could have made it wrong) and checked against the hash list when the header
/// comes; one arriving after is checked at once.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::message::{BlockHash, Height, Proposal, ProposalHeader, Round};
/// use quorumnet_core::node::proposal_parts::{Assembly, PartsConfig, Step};
///
/// let proposal = Proposal {
///     height: Height(3), round: Round(0), proposer: ValidatorId([1; 32]),
///     block_hash: BlockHash([2; 32]), pol_round: None, block: (0..=255).collect(),
/// };
/// let (header, parts) = ProposalHeader::split(&proposal, 100);
/// let mut assembly = Assembly::new(PartsConfig::recommended());
/// assert_eq!(assembly.on_part(parts[2].clone()), Step::Pending); // before its header
/// assert_eq!(assembly.on_header(header, "came from peer 5"), Step::Pending);
/// assert_eq!(assembly.on_part(parts[0].clone()), Step::Pending);
/// assert_eq!(assembly.on_part(parts[1].clone()), Step::Complete(Box::new(proposal), "came from peer 5"));
/// assert_eq!(assembly.on_part(parts[1].clone()), Step::Ignored); // once
/// ```
#[derive(Debug)]
pub struct Assembly<M> {
    config: PartsConfig,
    gathering: BTreeMap<ProposalKey, Gathering<M>>,
    bytes: usize,
    /// Proposals completed or refused, oldest first.
    finished: VecDeque<ProposalKey>,
}

impl<M> Assembly<M> {
    /// Nothing gathered yet.
    pub fn new(config: PartsConfig) -> Self {
        Assembly { config, gathering: BTreeMap::new(), bytes: 0, finished: VecDeque::new() }
    }

    /// Proposals being gathered.
    pub fn in_flight(&self) -> usize {
        self.gathering.len()
    }

    /// Bytes of part data held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A verified header, with `meta` to hand back when its proposal completes.
    pub fn on_header(&mut self, header: ProposalHeader, meta: M) -> Step<M> {
        let key = header.key();
        if self.finished.contains(&key) {
            return Step::Ignored;
        }
        if !header.is_consistent() || header.part_count() > self.config.max_parts {
            self.finish(key);
            return Step::Refused;
        }
        let gathering = self.gathering.entry(key).or_insert_with(|| Gathering { header: None, parts: BTreeMap::new() });
        if gathering.header.is_some() {
            return Step::Ignored;
        }
        // Parts held unchecked until now: those the header does not list are the proposer's mistake.
        let before = gathering.bytes();
        gathering.parts.retain(|&index, data| header.lists(index, data));
        self.bytes -= before - gathering.bytes();
        gathering.header = Some((header, meta));
        let step = self.complete(key);
        self.enforce_bounds();
        step
    }

    /// A verified part.
    pub fn on_part(&mut self, part: ProposalPart) -> Step<M> {
        let key = part.key();
        if self.finished.contains(&key) {
            return Step::Ignored;
        }
        if self.gathering.get(&key).is_none_or(|g| g.header.is_none()) && !self.fits_unchecked(&part) {
            return Step::Refused;
        }
        let gathering = self.gathering.entry(key).or_insert_with(|| Gathering { header: None, parts: BTreeMap::new() });
        if let Some((header, _)) = &gathering.header {
            if !header.holds(&part) {
                return Step::Refused;
            }
        }
        if gathering.parts.contains_key(&part.index) {
            return Step::Ignored;
        }
        self.bytes += part.data.len();
        gathering.parts.insert(part.index, part.data);
        let step = self.complete(key);
        self.enforce_bounds();
        step
    }

    /// Whether a part without its header yet is plausible: an index a header within the bounds could
    /// list, and some data. Its length is not held to our own part size: the proposer's may differ,
    /// and the byte bound already caps what such parts hold.
    fn fits_unchecked(&self, part: &ProposalPart) -> bool {
        (part.index as usize) < self.config.max_parts && !part.data.is_empty()
    }

    /// Hands out the proposal if its header and every part are in.
    fn complete(&mut self, key: ProposalKey) -> Step<M> {
        let ready = self
            .gathering
            .get(&key)
            .is_some_and(|g| g.header.as_ref().is_some_and(|(header, _)| header.part_count() == g.parts.len()));
        if !ready {
            return Step::Pending;
        }
        let Some(Gathering { header: Some((header, meta)), parts }) = self.gathering.remove(&key) else {
            return Step::Pending;
        };
        self.bytes -= parts.values().map(Vec::len).sum::<usize>();
        self.finish(key);
        match header.assemble(parts.values().map(Vec::as_slice)) {
            Some(proposal) => Step::Complete(Box::new(proposal), meta),
            None => Step::Refused,
        }
    }

    fn finish(&mut self, key: ProposalKey) {
        self.finished.push_back(key);
        while self.finished.len() > self.config.completed_memory.max(1) {
            self.finished.pop_front();
        }
    }

    /// Drops the lowest proposals until both bounds hold.
    fn enforce_bounds(&mut self) {
        while self.gathering.len() > self.config.max_proposals.max(1) || self.bytes > self.config.max_bytes {
            let Some((_, dropped)) = self.gathering.pop_first() else { break };
            self.bytes -= dropped.bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ValidatorId;
    use crate::message::{BlockHash, Height, Round};

    fn proposal(height: u64, len: usize) -> Proposal {
        Proposal {
            height: Height(height),
            round: Round(0),
            proposer: ValidatorId([1; 32]),
            block_hash: BlockHash([height as u8; 32]),
            pol_round: None,
            block: (0..len).map(|i| i as u8).collect(),
        }
    }

    fn config() -> PartsConfig {
        PartsConfig { part_size: 10, max_proposals: 2, max_bytes: 1_000, ..PartsConfig::recommended() }
    }

    #[test]
    fn the_lowest_height_is_dropped_when_too_many_proposals_gather() {
        let mut assembly: Assembly<()> = Assembly::new(config());
        for height in [5, 3, 9] {
            let (_, parts) = ProposalHeader::split(&proposal(height, 30), 10);
            assert_eq!(assembly.on_part(parts[0].clone()), Step::Pending);
        }
        assert_eq!((assembly.in_flight(), assembly.bytes()), (2, 20), "height 3 dropped");
        let (header, parts) = ProposalHeader::split(&proposal(3, 30), 10);
        assembly.on_header(header, ());
        assembly.on_part(parts[1].clone());
        assert_eq!(assembly.on_part(parts[2].clone()), Step::Pending, "its first part was dropped");
    }

    #[test]
    fn held_part_bytes_never_exceed_the_bound() {
        let mut assembly: Assembly<()> = Assembly::new(PartsConfig { max_bytes: 25, max_proposals: 8, ..config() });
        for height in 1..=5 {
            let (_, parts) = ProposalHeader::split(&proposal(height, 30), 10);
            assembly.on_part(parts[0].clone());
            assert!(assembly.bytes() <= 25);
        }
    }

    #[test]
    fn an_inconsistent_header_is_refused_and_its_parts_ignored_after() {
        let mut assembly: Assembly<()> = Assembly::new(config());
        let (mut header, parts) = ProposalHeader::split(&proposal(1, 30), 10);
        header.block_len = 45; // five parts' worth, three hashes
        assert_eq!(assembly.on_header(header, ()), Step::Refused);
        assert_eq!(assembly.on_part(parts[0].clone()), Step::Ignored);
    }

    #[test]
    fn a_part_before_its_header_that_the_header_does_not_list_is_dropped_then() {
        let mut assembly: Assembly<()> = Assembly::new(config());
        let (header, mut parts) = ProposalHeader::split(&proposal(1, 30), 10);
        let mut wrong = parts[0].clone();
        wrong.data[0] ^= 1;
        assert_eq!(assembly.on_part(wrong), Step::Pending, "unchecked until the header comes");
        assert_eq!(assembly.on_header(header, ()), Step::Pending);
        assert_eq!(assembly.bytes(), 0);
        assert_eq!(assembly.on_part(parts.remove(2)), Step::Pending);
        assert_eq!(assembly.on_part(parts.remove(1)), Step::Pending);
        assert!(matches!(assembly.on_part(parts.remove(0)), Step::Complete(..)));
    }

    #[test]
    fn a_part_beyond_the_most_a_header_may_list_is_refused_without_its_header() {
        let mut assembly: Assembly<()> = Assembly::new(PartsConfig { max_parts: 2, ..config() });
        let (_, parts) = ProposalHeader::split(&proposal(1, 30), 10);
        assert_eq!(assembly.on_part(parts[2].clone()), Step::Refused, "index 2 of at most 2 parts");
        assert_eq!(assembly.on_part(parts[1].clone()), Step::Pending);
    }
}
