//! Gossip's decisions: whom to forward a message to, which announced ids to ask for, what to answer.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::Rng;
use tokio::time::Instant;

use super::fifo::FifoMap;
use super::{has_aged, BroadcastTrees, GossipConfig, MessageStore, PeerKnowledge, SeenCache};
use crate::identity::ValidatorId;
use crate::message::{Envelope, Frame, MessageId};

/// What to do with a newly verified envelope received from a peer: see [`GossipPolicy::plan_forward`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardPlan {
    /// Peers to send the whole envelope to, with `ttl` hops left. Sorted by id.
    pub push: Vec<ValidatorId>,
    /// Peers to send only the id to, in a [`Frame::Have`]; they ask for it if they lack it. Sorted by id.
    pub announce: Vec<ValidatorId>,
    /// The ttl of the pushed copies: the received one minus the hop it took.
    pub ttl: u8,
}

/// How a verified envelope came: asked for by a `Want` of ours, or pushed unasked.
///
/// The marker the byzantine layer needs: an old envelope (outside its origin's sequence window) that
/// we asked for is repair, not a replay. It is decided by our own record of requests, never by a flag
/// the sender sets, so a byzantine peer cannot launder a replay as an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// We had asked `asked` for this message (not necessarily the peer that delivered it).
    Requested {
        /// The peer our `Want` went to.
        asked: ValidatorId,
    },
    /// Nobody asked for it: ordinary gossip, or a replay if it is old.
    Unrequested,
}

#[derive(Debug)]
struct PendingWant {
    peer: ValidatorId,
    requested_at: Instant,
}

/// Gossip's pure decision helpers, and the state they need: the ids we asked for, and the per-origin
/// broadcast trees ([`BroadcastTrees`]) forwarding follows.
///
/// The node owns a [`SeenCache`], a [`MessageStore`], a [`PeerKnowledge`] and one `GossipPolicy`, and
/// calls, for each event:
///
/// | event | call | then send |
/// | --- | --- | --- |
/// | envelope verified, new in the seen-cache | [`on_envelope`](Self::on_envelope) (the [`Arrival`] goes to the byzantine layer), [`plan_tree_forward`](Self::plan_tree_forward) | `Envelope` to `push`, `Have` to `announce` |
/// | envelope pushed by a peer other than its origin, already seen | — | `Prune` of its origin, to that peer |
/// | `Prune` received | [`on_prune`](Self::on_prune) | — |
/// | `Have` received | [`on_have`](Self::on_have) | `Want` of the returned ids, to that peer |
/// | `Want` received | [`answer_want`](Self::answer_want), [`on_pulled`](Self::on_pulled) per origin answered | each returned envelope as an `Envelope` frame |
/// | link up, and periodically | [`digest_for`](Self::digest_for) | the returned `Have` frames |
/// | peer disconnected | [`forget_peer`](Self::forget_peer), [`PeerKnowledge::forget_peer`] | — |
///
/// Outstanding wants are bounded by [`GossipConfig::max_outstanding_wants`]. An id asked for is not
/// asked for again within [`GossipConfig::want_timeout`]; after it, the next `Have` of the id asks
/// again (possibly another peer). Entries stay after the timeout, so a late answer still counts as
/// [`Arrival::Requested`], until a re-request replaces them or room is needed for new wants (expired
/// entries are evicted oldest first; while none has expired, new ids are not asked for).
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
/// use quorumnet_core::message::Envelope;
/// use quorumnet_core::node::gossip::{GossipConfig, GossipPolicy, MessageStore, PeerKnowledge, SeenCache};
/// use rand::{rngs::StdRng, SeedableRng};
/// use tokio::time::Instant;
///
/// let config = GossipConfig::test();
/// let mut policy = GossipPolicy::new(config.clone());
/// let mut knowledge = PeerKnowledge::from_config(&config);
/// let (seen, store) = (SeenCache::from_config(&config), MessageStore::from_config(&config));
/// let peers: Vec<ValidatorId> = (1..=6).map(|b| ValidatorId([b; 32])).collect();
///
/// let key = Keypair::from_seed(&[9; 32]);
/// let envelope = Envelope::sign(&key, ChainId::from_network_name("devnet"), 1, 3, b"hello".to_vec());
/// let from = peers[0];
/// knowledge.mark(from, envelope.id()); // it sent us the message
///
/// let plan = policy.plan_forward(&envelope, from, &peers, &knowledge, &mut StdRng::seed_from_u64(7));
/// assert_eq!(plan.ttl, 2);
/// assert_eq!(plan.push.len(), config.fanout);
/// assert!(!plan.push.contains(&from) && !plan.announce.contains(&from));
///
/// // A peer announcing an id we lack gets a `Want`, once per timeout.
/// let now = Instant::now();
/// let wanted = policy.on_have(peers[1], &[envelope.id()], &seen, &store, &mut knowledge, now);
/// assert_eq!(wanted, vec![envelope.id()]);
/// assert!(policy.on_have(peers[2], &[envelope.id()], &seen, &store, &mut knowledge, now).is_empty());
/// ```
#[derive(Debug)]
pub struct GossipPolicy {
    config: GossipConfig,
    wants: FifoMap<MessageId, PendingWant>,
    trees: BroadcastTrees,
}

impl GossipPolicy {
    /// A policy with no outstanding wants.
    pub fn new(config: GossipConfig) -> Self {
        GossipPolicy { trees: BroadcastTrees::from_config(&config), config, wants: FifoMap::new() }
    }

    /// The configuration it decides with.
    pub fn config(&self) -> &GossipConfig {
        &self.config
    }

    /// Whom to forward a newly verified envelope to, received from peer `from`.
    ///
    /// Candidates are the `connected` peers except `from`, the envelope's origin, and peers `knowledge`
    /// says hold the message. Up to [`GossipConfig::fanout`] of them get the whole envelope and up to
    /// [`GossipConfig::announce_fanout`] others its id, both picked at random with `rng`. The choice
    /// depends only on the set of candidates and the rng's state, not on the order of `connected`, so a
    /// seeded rng makes it reproducible. An envelope whose ttl is 0 travels no further: the plan is
    /// empty (peers that lack it still pull it through digests).
    ///
    /// Envelopes this node originates are not planned here: the node sends them to every connected
    /// validator directly.
    pub fn plan_forward<R: Rng + ?Sized>(
        &self,
        envelope: &Envelope,
        from: ValidatorId,
        connected: &[ValidatorId],
        knowledge: &PeerKnowledge,
        rng: &mut R,
    ) -> ForwardPlan {
        let Some(ttl) = envelope.ttl.checked_sub(1) else { return ForwardPlan::default() };
        self.random_plan(candidates(envelope, from, connected, knowledge), ttl, rng)
    }

    /// Whom to forward a newly verified envelope to, received from peer `from`, along its origin's
    /// broadcast tree ([`BroadcastTrees`]): what the node calls.
    ///
    /// Candidates are those of [`plan_forward`](Self::plan_forward) (connected, not `from`, not the
    /// origin, not known to hold it), and a ttl of 0 ends the journey the same way. Then:
    /// - **First-hand, full view** (`from` is the origin, and `full_view`: we are connected to every
    ///   validator of the set): the origin sent the message to every validator it is connected to,
    ///   which in a full mesh is everyone, so nothing is pushed; up to
    ///   [`GossipConfig::announce_fanout`] candidates get the id, in case one of the origin's links
    ///   failed. No tree is started, so this stays the rule for the origin, except for peers that
    ///   graft themselves onto us by pulling one of its messages.
    /// - **Origin with a tree**: the candidates eager for the origin get the envelope; up to
    ///   `announce_fanout` others get the id.
    /// - **Otherwise** (the origin's first message to reach us through another validator, or first-hand
    ///   without a full view): the [`plan_forward`](Self::plan_forward) fanout, which then starts the
    ///   origin's tree: pushed peers eager, announced peers lazy.
    ///
    /// Deterministic for a seeded `rng`, like [`plan_forward`](Self::plan_forward).
    pub fn plan_tree_forward<R: Rng + ?Sized>(
        &mut self,
        envelope: &Envelope,
        from: ValidatorId,
        connected: &[ValidatorId],
        knowledge: &PeerKnowledge,
        full_view: bool,
        rng: &mut R,
    ) -> ForwardPlan {
        let Some(ttl) = envelope.ttl.checked_sub(1) else { return ForwardPlan::default() };
        let origin = envelope.origin;
        let candidates = candidates(envelope, from, connected, knowledge);
        let first_hand = from == origin && full_view;
        if !first_hand && !self.trees.knows_origin(&origin) {
            let plan = self.random_plan(candidates, ttl, rng);
            self.trees.adopt(origin, &plan.push, &plan.announce);
            return plan;
        }
        let eager = self.trees.eager_peers(&origin);
        let (push, rest): (Vec<ValidatorId>, Vec<ValidatorId>) =
            candidates.into_iter().partition(|peer| eager.binary_search(peer).is_ok());
        ForwardPlan { push, announce: pick(&rest, self.config.announce_fanout, rng), ttl }
    }

    /// Up to [`GossipConfig::fanout`] of `candidates` to push to and up to
    /// [`GossipConfig::announce_fanout`] others to announce to, at random.
    fn random_plan<R: Rng + ?Sized>(&self, candidates: Vec<ValidatorId>, ttl: u8, rng: &mut R) -> ForwardPlan {
        let push = pick(&candidates, self.config.fanout, rng);
        let rest: Vec<ValidatorId> = candidates.into_iter().filter(|peer| push.binary_search(peer).is_err()).collect();
        let announce = pick(&rest, self.config.announce_fanout, rng);
        ForwardPlan { push, announce, ttl }
    }

    /// `from` received, pushed by us, a message of `origin` it already had (it sent a `Prune`): its
    /// tree edge for `origin` is redundant, so we only announce that origin's messages to it.
    pub fn on_prune(&mut self, from: ValidatorId, origin: ValidatorId) {
        self.trees.prune(origin, from);
    }

    /// `from` asked us (`Want`) for a message of `origin` we are sending it: it was not reached by a
    /// push in time, so we push that origin's messages to it from now on.
    pub fn on_pulled(&mut self, from: ValidatorId, origin: ValidatorId) {
        self.trees.graft(origin, from);
    }

    /// The broadcast trees this policy forwards along.
    pub fn trees(&self) -> &BroadcastTrees {
        &self.trees
    }

    /// Which ids of a [`Frame::Have`] from `from` to ask `from` for, and records that `from` holds them.
    ///
    /// An id is asked for when it is neither in `seen` nor in `store` (which may hold a message longer
    /// than the seen-cache remembers it) and was not asked for within the last
    /// [`GossipConfig::want_timeout`], as long as outstanding wants stay within their bound; the rest of
    /// the ids are skipped (a later digest announces them again). Returns the ids in the order of
    /// `ids`, without repeats; send them with [`Frame::wants`].
    pub fn on_have(
        &mut self,
        from: ValidatorId,
        ids: &[MessageId],
        seen: &SeenCache,
        store: &MessageStore,
        knowledge: &mut PeerKnowledge,
        now: Instant,
    ) -> Vec<MessageId> {
        knowledge.mark_ids(from, ids);
        let timeout = self.config.want_timeout;
        let mut wanted = Vec::new();
        for id in ids {
            if seen.contains(id, now) || store.contains(id) {
                continue;
            }
            match self.wants.get(id).map(|pending| has_aged(pending.requested_at, now, timeout)) {
                Some(false) => continue,
                Some(true) => {} // expired: ask again, replacing the entry
                None if !self.make_room(now) => break,
                None => {}
            }
            self.wants.insert(*id, PendingWant { peer: from, requested_at: now });
            wanted.push(*id);
        }
        wanted
    }

    /// Frees a slot for a new want if the bound is reached, by evicting the oldest want if it expired.
    fn make_room(&mut self, now: Instant) -> bool {
        if self.wants.len() < self.config.max_outstanding_wants {
            return true;
        }
        let timeout = self.config.want_timeout;
        let oldest_expired =
            self.wants.oldest().is_some_and(|(_, pending)| has_aged(pending.requested_at, now, timeout));
        if oldest_expired {
            self.wants.pop_oldest();
        }
        oldest_expired
    }

    /// Classifies a verified envelope, message `id`, and settles the want for it if there was one.
    ///
    /// Call it once its signature verified, never before: a forged copy must not settle a want.
    pub fn on_envelope(&mut self, id: &MessageId) -> Arrival {
        match self.wants.remove(id) {
            Some(pending) => Arrival::Requested { asked: pending.peer },
            None => Arrival::Unrequested,
        }
    }

    /// The envelopes to send in answer to a [`Frame::Want`] of `ids`: those `store` still holds, in
    /// the order asked, without repeats, at most [`GossipConfig::max_want_answer`] of them and no more
    /// than [`GossipConfig::max_want_answer_bytes`] of [`MessageStore::footprint`] (the first is always
    /// sent, so every request makes progress). Ids beyond the bounds are ignored; the requester asks
    /// again after its timeout.
    ///
    /// Each answer has ttl 0: it is for the requester, which announces it in its own digests rather
    /// than pushing it on, so repair never turns into a second flood.
    pub fn answer_want(&self, ids: &[MessageId], store: &MessageStore) -> Vec<Envelope> {
        let mut answered = BTreeSet::new();
        let mut answer = Vec::new();
        let mut bytes = 0usize;
        for envelope in ids.iter().filter(|id| answered.insert(**id)).filter_map(|id| store.get(id)) {
            let size = MessageStore::footprint(envelope);
            let over_bytes = !answer.is_empty() && bytes + size > self.config.max_want_answer_bytes;
            if answer.len() >= self.config.max_want_answer || over_bytes {
                break;
            }
            bytes += size;
            answer.push(envelope.clone().with_ttl(0));
        }
        answer
    }

    /// The digest to send `peer`: the newest [`GossipConfig::digest_ids`] ids of `store`, minus those
    /// `peer` is known to hold, as [`Frame::Have`] frames (none if there is nothing to announce).
    pub fn digest_for(&self, peer: &ValidatorId, store: &MessageStore, knowledge: &PeerKnowledge) -> Vec<Frame> {
        let ids: Vec<MessageId> =
            store.recent_ids(self.config.digest_ids).into_iter().filter(|id| !knowledge.knows(peer, id)).collect();
        Frame::haves(&ids)
    }

    /// Drops the wants sent to `peer`, so their ids can be asked of others at once, and forgets it in
    /// the broadcast trees: call it when the peer disconnects.
    pub fn forget_peer(&mut self, peer: &ValidatorId) {
        self.wants.retain(|_, pending| pending.peer != *peer);
        self.trees.forget_peer(peer);
    }

    /// Wants held: sent and not yet answered, including expired ones not yet evicted.
    pub fn outstanding_wants(&self) -> usize {
        self.wants.len()
    }
}

/// The `connected` peers that may get `envelope` from us, sorted and without repeats: not `from`, not
/// its origin, not known to hold it.
fn candidates(
    envelope: &Envelope,
    from: ValidatorId,
    connected: &[ValidatorId],
    knowledge: &PeerKnowledge,
) -> Vec<ValidatorId> {
    let id = envelope.id();
    connected
        .iter()
        .filter(|peer| **peer != from && **peer != envelope.origin && !knowledge.knows(peer, &id))
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Up to `count` of `candidates` picked at random, sorted.
fn pick<R: Rng + ?Sized>(candidates: &[ValidatorId], count: usize, rng: &mut R) -> Vec<ValidatorId> {
    let mut picked: Vec<ValidatorId> = candidates.choose_multiple(rng, count).copied().collect();
    picked.sort_unstable();
    picked
}
