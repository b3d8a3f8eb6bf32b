//! The peers whose link is up, as a set for the link bookkeeping and as a shared, sorted slice for
//! the per-envelope readers (forwarding, broadcast, digests).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::identity::ValidatorId;

/// Linked peers in id order. Changes are rare (a link comes or goes) and rebuild the slice; every
/// envelope reads it, and collecting a hundred ids from a tree per envelope was a visible share of a
/// 100-validator simulation's CPU.
#[derive(Default)]
pub(crate) struct LinkedPeers {
    set: BTreeSet<ValidatorId>,
    sorted: Arc<[ValidatorId]>,
}

impl LinkedPeers {
    pub fn insert(&mut self, peer: ValidatorId) {
        if self.set.insert(peer) {
            self.rebuild();
        }
    }

    pub fn remove(&mut self, peer: &ValidatorId) {
        if self.set.remove(peer) {
            self.rebuild();
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// The linked peers now, in id order; cheap to take (a reference count).
    pub fn snapshot(&self) -> Arc<[ValidatorId]> {
        self.sorted.clone()
    }

    fn rebuild(&mut self) {
        self.sorted = self.set.iter().copied().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_follows_inserts_and_removals_in_id_order() {
        let ids: Vec<ValidatorId> = (0..3u8).map(|i| ValidatorId([i; 32])).collect();
        let mut linked = LinkedPeers::default();
        linked.insert(ids[2]);
        linked.insert(ids[0]);
        let before = linked.snapshot();
        linked.insert(ids[1]);
        linked.remove(&ids[2]);
        assert_eq!(&*before, &[ids[0], ids[2]], "a snapshot taken earlier does not change");
        assert_eq!(&*linked.snapshot(), &[ids[0], ids[1]]);
        assert_eq!(linked.len(), 2);
    }
}
