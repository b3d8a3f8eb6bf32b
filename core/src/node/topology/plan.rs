//! The pure part of the topology: the node's picks, its links on demand, and whom it admits.

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;

use super::Topology;
use crate::identity::ValidatorId;

/// The validators `me` dials under `topology`, among `ids` (which may include `me`): all the others
/// for a full mesh; for a bounded one the `⌈degree / 2⌉` whose rendezvous hash with `me` is lowest.
///
/// The hash is of the ordered pair, so `a`'s picks and `b`'s are independent draws: a random
/// `⌈degree / 2⌉`-out graph over the set, the same for every node that computes it.
pub fn picks(
    me: ValidatorId,
    ids: impl IntoIterator<Item = ValidatorId>,
    topology: &Topology,
) -> BTreeSet<ValidatorId> {
    let others = ids.into_iter().filter(|id| *id != me);
    let Some(dialed) = topology.dialed() else { return others.collect() };
    let mut ranked: Vec<([u8; 32], ValidatorId)> = others.map(|peer| (rank(&me, &peer), peer)).collect();
    ranked.sort_unstable();
    ranked.into_iter().take(dialed).map(|(_, peer)| peer).collect()
}

fn rank(me: &ValidatorId, peer: &ValidatorId) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"quorumnet/1 topology");
    hasher.update(&me.0);
    hasher.update(&peer.0);
    *hasher.finalize().as_bytes()
}

/// Which links a node wants, for the connection manager: its picks, and links dialed on demand for
/// reliable delivery until they are no longer needed.
#[derive(Debug)]
pub(crate) struct LinkPlan {
    topology: Topology,
    picked: BTreeSet<ValidatorId>,
    /// Peers dialed on demand, each kept at least until its instant.
    on_demand: BTreeMap<ValidatorId, Instant>,
}

impl LinkPlan {
    pub fn new(topology: Topology) -> Self {
        LinkPlan { topology, picked: BTreeSet::new(), on_demand: BTreeMap::new() }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Whether the node links to every validator.
    pub fn is_full_mesh(&self) -> bool {
        self.topology == Topology::FullMesh
    }

    /// Whether the node should dial `peer` (and redial it when its link drops).
    pub fn wants(&self, peer: &ValidatorId) -> bool {
        self.is_full_mesh() || self.picked.contains(peer) || self.on_demand.contains_key(peer)
    }

    /// Whether `peer` is one of the node's picks (every validator in a full mesh).
    pub fn picked(&self, peer: &ValidatorId) -> bool {
        self.is_full_mesh() || self.picked.contains(peer)
    }

    /// Recomputes the picks for a new set; returns the validators picked before and not now (links
    /// the node dialed that it no longer wants, unless on demand). Peers on demand that left are
    /// forgotten.
    pub fn set_changed(
        &mut self,
        me: ValidatorId,
        ids: impl IntoIterator<Item = ValidatorId> + Clone,
    ) -> Vec<ValidatorId> {
        let picked = picks(me, ids.clone(), &self.topology);
        let members: BTreeSet<ValidatorId> = ids.into_iter().collect();
        self.on_demand.retain(|peer, _| members.contains(peer));
        let dropped = self.picked.difference(&picked).filter(|peer| !self.on_demand.contains_key(peer)).copied();
        let dropped = dropped.collect();
        self.picked = picked;
        if self.is_full_mesh() {
            Vec::new()
        } else {
            dropped
        }
    }

    /// Keeps a link to `peer` until at least `until` (a full mesh keeps every link anyway).
    /// Returns whether this made the node want a link it did not want before.
    pub fn keep_until(&mut self, peer: ValidatorId, until: Instant) -> bool {
        if self.is_full_mesh() {
            return false;
        }
        let wanted = self.wants(&peer);
        let entry = self.on_demand.entry(peer).or_insert(until);
        *entry = (*entry).max(until);
        !wanted
    }

    /// When the next link on demand may be released.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.on_demand.values().min().copied()
    }

    /// Takes out the links on demand kept until `now` or earlier.
    pub fn take_expired(&mut self, now: Instant) -> Vec<ValidatorId> {
        let expired: Vec<ValidatorId> = self.on_demand.iter().filter(|(_, at)| **at <= now).map(|(p, _)| *p).collect();
        for peer in &expired {
            self.on_demand.remove(peer);
        }
        expired
    }

    /// Whether to keep an inbound connection from `peer` while the node has `links` links up: always
    /// in a full mesh or for a link the node wants itself; otherwise while under the topology's
    /// `max_links`.
    pub fn admits_inbound(&self, peer: &ValidatorId, links: usize) -> bool {
        match &self.topology {
            Topology::FullMesh => true,
            Topology::Bounded { max_links, .. } => self.wants(peer) || links < *max_links,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ids(n: u8) -> Vec<ValidatorId> {
        (0..n).map(|i| ValidatorId([i; 32])).collect()
    }

    #[test]
    fn bounded_picks_are_few_distinct_and_stable_under_an_unrelated_leave() {
        let all = ids(100);
        let topology = Topology::bounded(8);
        let mine = picks(all[0], all.iter().copied(), &topology);
        assert_eq!(mine.len(), 4);
        // Removing a validator that is not a pick changes nothing (rendezvous hashing).
        let outsider = *all.iter().skip(1).find(|id| !mine.contains(id)).unwrap();
        let fewer = all.iter().copied().filter(|id| *id != outsider);
        assert_eq!(picks(all[0], fewer, &topology), mine);
        // Removing a pick replaces only that one.
        let gone = *mine.iter().next().unwrap();
        let without = picks(all[0], all.iter().copied().filter(|id| *id != gone), &topology);
        assert_eq!(without.intersection(&mine).count(), 3);
    }

    #[test]
    fn every_node_is_picked_about_degree_over_two_times_and_the_graph_is_connected() {
        let all: Vec<ValidatorId> = (0..1000u32)
            .map(|i| {
                let mut id = [0; 32];
                id[..4].copy_from_slice(&i.to_le_bytes());
                ValidatorId(id)
            })
            .collect();
        let topology = Topology::bounded(8);
        let mut links: BTreeMap<ValidatorId, BTreeSet<ValidatorId>> = BTreeMap::new();
        for me in &all {
            for peer in picks(*me, all.iter().copied(), &topology) {
                links.entry(*me).or_default().insert(peer);
                links.entry(peer).or_default().insert(*me);
            }
        }
        let degrees: Vec<usize> = all.iter().map(|id| links[id].len()).collect();
        let mean = degrees.iter().sum::<usize>() as f64 / degrees.len() as f64;
        assert!((7.5..=8.0).contains(&mean), "mean degree {mean}");
        assert!(degrees.iter().all(|d| (4..24).contains(d)), "degrees {:?}", degrees.iter().max());
        let mut reached = BTreeSet::from([all[0]]);
        let mut frontier = vec![all[0]];
        while let Some(node) = frontier.pop() {
            for peer in &links[&node] {
                if reached.insert(*peer) {
                    frontier.push(*peer);
                }
            }
        }
        assert_eq!(reached.len(), all.len(), "the bounded topology must be connected");
    }

    #[test]
    fn links_on_demand_are_wanted_until_they_expire_and_inbound_is_capped() {
        let all = ids(50);
        let mut plan = LinkPlan::new(Topology::bounded(4));
        assert!(plan.set_changed(all[0], all.iter().copied()).is_empty());
        let outsider = *all.iter().skip(1).find(|id| !plan.picked(id)).unwrap();
        assert!(!plan.wants(&outsider));
        let now = Instant::now();
        assert!(plan.keep_until(outsider, now + Duration::from_secs(5)));
        assert!(!plan.keep_until(outsider, now + Duration::from_secs(1)), "already wanted");
        assert!(plan.wants(&outsider));
        assert_eq!(plan.next_expiry(), Some(now + Duration::from_secs(5)));
        assert!(plan.take_expired(now + Duration::from_secs(4)).is_empty());
        assert_eq!(plan.take_expired(now + Duration::from_secs(5)), vec![outsider]);
        assert!(!plan.wants(&outsider));
        // max_links = 12: an unwanted inbound is kept below it, closed at it; a pick always.
        assert!(plan.admits_inbound(&outsider, 11));
        assert!(!plan.admits_inbound(&outsider, 12));
        let pick = *all.iter().find(|id| plan.picked(id)).unwrap();
        assert!(plan.admits_inbound(&pick, 100));
    }

    #[test]
    fn a_full_mesh_wants_everyone_and_never_drops() {
        let all = ids(10);
        let mut plan = LinkPlan::new(Topology::FullMesh);
        assert!(plan.set_changed(all[0], all.iter().copied()).is_empty());
        assert!(all[1..].iter().all(|id| plan.wants(id) && plan.admits_inbound(id, 1_000)));
        assert!(!plan.keep_until(all[1], Instant::now()));
        assert_eq!(plan.next_expiry(), None);
    }
}
