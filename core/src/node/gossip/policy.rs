//! Gossip's decisions: whom to forward a message to, which announced ids to ask for, what to answer.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
    /// How long the announcements wait ([`GossipPolicy::defer_announce`]):
    /// [`GossipConfig::tree_announce_delay`] along a broadcast tree, [`GossipConfig::announce_delay`]
    /// where they are the only way the message reaches those peers.
    pub announce_delay: Duration,
}

/// Which copy of a message a peer sent us: see [`GossipPolicy::on_copy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyKind {
    /// The first (verified) copy, pushed unasked.
    First,
    /// A copy of a message we already held, pushed unasked.
    Duplicate,
    /// The answer to our `Want` for it, first or not.
    Answer,
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

/// An id learnt from a `Have` of `peer`, to ask `peer` for at `due` unless its envelope comes first.
#[derive(Debug)]
struct DeferredWant {
    peer: ValidatorId,
    announced_at: Instant,
    due: Instant,
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
/// | (with a nonzero [`ForwardPlan::announce_delay`]) `announce` planned | [`defer_announce`](Self::defer_announce) | — |
/// | [`next_announce_due`](Self::next_announce_due) reached | [`due_announcements`](Self::due_announcements) | `Have` of each returned peer's ids, to it |
/// | `Have` received | [`on_have`](Self::on_have) | `Want` of the returned ids, to that peer |
/// | [`next_want_due`](Self::next_want_due) reached | [`due_wants`](Self::due_wants) | `Want` of each returned peer's ids, to it |
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
/// With a nonzero [`GossipConfig::want_delay`], an id learnt from a `Have` is not asked for at once:
/// it is deferred, asked of the first peer that announced it once the delay passed
/// ([`due_wants`](Self::due_wants)), and dropped if its envelope arrives first
/// ([`on_envelope`](Self::on_envelope)) — Plumtree's graft timer, so a `Have` that outruns a pushed copy
/// neither pulls a second copy nor grafts the announcer in place of the tree parent. Deferred ids are
/// bounded by [`GossipConfig::max_outstanding_wants`] too; beyond it, further ids are skipped.
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
    /// In order of arrival, hence of `due` (the delay is constant).
    deferred: FifoMap<MessageId, DeferredWant>,
    trees: BroadcastTrees,
    /// Ids to announce, per peer: to peers below us (due sooner), and above.
    announcements: [Announcements; 2],
    /// Per peer, the newest id its last digest considered: the next one stops there.
    digest_starts: BTreeMap<ValidatorId, MessageId>,
}

/// Ids waiting to be announced, per peer, all due at `due` ([`GossipPolicy::defer_announce`]).
#[derive(Debug, Default)]
struct Announcements {
    ids: BTreeMap<ValidatorId, Vec<MessageId>>,
    due: Option<Instant>,
}

impl GossipPolicy {
    /// A policy with no outstanding wants.
    pub fn new(config: GossipConfig) -> Self {
        GossipPolicy {
            trees: BroadcastTrees::from_config(&config),
            config,
            wants: FifoMap::new(),
            deferred: FifoMap::new(),
            announcements: Default::default(),
            digest_starts: BTreeMap::new(),
        }
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
        self.random_plan(candidates(envelope, from, connected, knowledge), ttl, self.config.announce_delay, rng)
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
            let plan = self.random_plan(candidates, ttl, self.config.tree_announce_delay, rng);
            self.trees.adopt(origin, &plan.push, &plan.announce);
            return plan;
        }
        let eager = self.trees.eager_peers(&origin);
        let (push, rest): (Vec<ValidatorId>, Vec<ValidatorId>) =
            candidates.into_iter().partition(|peer| eager.binary_search(peer).is_ok());
        // First-hand in a full view with nobody eager, the announcement is the only way there.
        let announce_delay =
            if first_hand && push.is_empty() { self.config.announce_delay } else { self.config.tree_announce_delay };
        ForwardPlan { push, announce: self.pick_announce(&rest, rng), ttl, announce_delay }
    }

    /// Up to [`GossipConfig::fanout`] of `candidates` to push to and up to
    /// [`GossipConfig::announce_fanout`] others to announce to, at random.
    fn random_plan<R: Rng + ?Sized>(
        &self,
        candidates: Vec<ValidatorId>,
        ttl: u8,
        announce_delay: Duration,
        rng: &mut R,
    ) -> ForwardPlan {
        let push = pick(&candidates, self.config.fanout, rng);
        let rest: Vec<ValidatorId> = candidates.into_iter().filter(|peer| push.binary_search(peer).is_err()).collect();
        let announce = self.pick_announce(&rest, rng);
        ForwardPlan { push, announce, ttl, announce_delay }
    }

    /// Up to [`GossipConfig::announce_fanout`] of `candidates` to announce a message to: first those
    /// already holding ids in a waiting batch of announcements ([`ForwardPlan::announce_delay`]), at
    /// random, whose `Have` goes out anyway (another id costs it 34 bytes where a `Have` of its own
    /// costs a frame, a wakeup and a syscall at both ends); then others, at random. Which peers hold a
    /// batch changes from one batch to the next, so every peer is announced to over time.
    fn pick_announce<R: Rng + ?Sized>(&self, candidates: &[ValidatorId], rng: &mut R) -> Vec<ValidatorId> {
        let count = self.config.announce_fanout;
        let (batched, others): (Vec<ValidatorId>, Vec<ValidatorId>) =
            candidates.iter().partition(|peer| self.announcements.iter().any(|slot| slot.ids.contains_key(peer)));
        let mut picked = pick(&batched, count, rng);
        picked.extend(pick(&others, count - picked.len(), rng));
        picked.sort_unstable();
        picked
    }

    /// `from` received, pushed by us, a message of `origin` it already had (it sent a `Prune`): its
    /// tree edge for `origin` is redundant, so we only announce that origin's messages to it.
    pub fn on_prune(&mut self, from: ValidatorId, origin: ValidatorId) {
        self.trees.prune(origin, from);
    }

    /// A copy of a message of `origin` came from `from`: keeps or changes our parent for `origin`
    /// (the one peer whose pushes of its messages we keep, see [`BroadcastTrees`]), and returns the
    /// peer to send a `Prune` of `origin`, if any.
    ///
    /// - A copy straight from the origin makes it our parent (the origin sends to every peer it is
    ///   connected to anyway, so it is never pruned).
    /// - A [`CopyKind::Answer`] to our `Want` makes `from` our parent: the want grafted us onto it,
    ///   because the parent we had did not bring the message in time.
    /// - With no parent yet, `from` becomes the parent; from the parent, nothing changes.
    /// - From another peer: a [`CopyKind::Duplicate`] is pruned; a [`CopyKind::First`] is kept (the
    ///   parent may have stopped pushing to us, and a peer whose copies keep coming first is never
    ///   pruned). So the parent stays whatever the arrival order: per-message jitter between two
    ///   equally good parents cannot make us prune each in turn and keep neither.
    ///
    /// Preferring a parent whose copies took fewer hops was tried and dropped: on loopback, where
    /// arrival order is noise, it pruned working parents and left subtrees to pull their next message.
    pub fn on_copy(&mut self, origin: ValidatorId, from: ValidatorId, copy: CopyKind) -> Option<ValidatorId> {
        match self.trees.parent(&origin) {
            Some(parent) if parent != from && copy != CopyKind::Answer && from != origin => {
                (copy == CopyKind::Duplicate).then_some(from)
            }
            _ => {
                self.trees.set_parent(origin, from);
                None
            }
        }
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
    /// than the seen-cache remembers it), nor already deferred, and was not asked for within the last
    /// [`GossipConfig::want_timeout`], as long as outstanding wants stay within their bound; the rest of
    /// the ids are skipped (a later digest announces them again). Returns the ids in the order of
    /// `ids`, without repeats; send them with [`Frame::wants`]. With a nonzero
    /// [`GossipConfig::want_delay`] the ids are deferred instead and none is returned: ask for them
    /// when [`due_wants`](Self::due_wants) returns them.
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
        let delay = self.config.want_delay;
        let mut wanted = Vec::new();
        for id in ids {
            if seen.contains(id, now)
                || store.contains(id)
                || self.deferred.contains(id)
                || self.asked_recently(id, now)
            {
                continue;
            }
            if !delay.is_zero() {
                if self.deferred.len() >= self.config.max_outstanding_wants {
                    break;
                }
                self.deferred.insert(*id, DeferredWant { peer: from, announced_at: now, due: now + delay });
            } else if self.ask(*id, from, now) {
                wanted.push(*id);
            } else {
                break;
            }
        }
        wanted
    }

    /// When the oldest deferred want is due, if there is one: call [`due_wants`](Self::due_wants) then.
    pub fn next_want_due(&mut self) -> Option<Instant> {
        self.deferred.oldest().map(|(_, deferred)| deferred.due)
    }

    /// The deferred wants due at `now` whose envelopes did not arrive, grouped by the peer to ask, in
    /// peer order, each peer's ids in the order announced; send each group with [`Frame::wants`]. They
    /// count as asked from now on. Ids that `seen` or `store` hold by now, or that were asked for within
    /// [`GossipConfig::want_timeout`], are dropped; so are ids beyond the bound on outstanding wants (a
    /// later digest announces them again).
    pub fn due_wants(
        &mut self,
        seen: &SeenCache,
        store: &MessageStore,
        now: Instant,
    ) -> Vec<(ValidatorId, Vec<MessageId>)> {
        let mut due: BTreeMap<ValidatorId, Vec<MessageId>> = BTreeMap::new();
        while self.deferred.oldest().is_some_and(|(_, deferred)| deferred.due <= now) {
            let Some((id, deferred)) = self.deferred.pop_oldest() else { break };
            if seen.contains(&id, now) || store.contains(&id) || self.asked_recently(&id, now) {
                continue;
            }
            if self.ask(id, deferred.peer, now) {
                due.entry(deferred.peer).or_default().push(id);
            }
        }
        due.into_iter().collect()
    }

    /// A peer to swap in as tree parent for the origin of message `id`, whose first copy arrives now,
    /// pushed by `from`: the peer whose `Have` of it came at least [`GossipConfig::swap_margin`] before,
    /// if one did (its want still deferred). Call it before [`on_envelope`](Self::on_envelope); then, if
    /// it returns a peer, [`graft_parent`](Self::graft_parent) it, prune `from` and ask the peer for `id`
    /// — the `Want` grafts us onto it.
    pub fn faster_announcer(&self, id: &MessageId, from: ValidatorId, now: Instant) -> Option<ValidatorId> {
        self.deferred
            .get(id)
            .filter(|deferred| deferred.peer != from && has_aged(deferred.announced_at, now, self.config.swap_margin))
            .map(|deferred| deferred.peer)
    }

    /// Records that we ask `peer` for message `id`, which we already hold, to make `peer` push us its
    /// origin's messages; its answer is then no reason to prune it ([`answers_want`](Self::answers_want)).
    pub fn graft_parent(&mut self, id: MessageId, peer: ValidatorId, now: Instant) -> bool {
        self.ask(id, peer, now)
    }

    /// Our link to `lost` just dropped, so the copies of its messages it sent us first-hand stop
    /// coming: picks a connected peer to become our parent for `lost`'s messages and the message to
    /// pull from it, `lost`'s latest heartbeat (the smallest recent one we hold), recorded as a
    /// [`graft_parent`](Self::graft_parent) want. Send that peer a [`Frame::Want`] of the id.
    ///
    /// Without it, `lost`'s messages would reach us only through announcements — one announce delay,
    /// a `Have`, a want delay and a round trip later — until the link is back; grafted, they come
    /// pushed, one hop longer than first-hand. When the link is back the origin's first-hand copies
    /// make the graft's pushes duplicates and we prune it. `None` without a heartbeat of `lost`, or
    /// without another connected peer (`connected` must not contain `lost`).
    pub fn graft_after_link_loss<R: Rng + ?Sized>(
        &mut self,
        lost: ValidatorId,
        connected: &[ValidatorId],
        store: &MessageStore,
        now: Instant,
        rng: &mut R,
    ) -> Option<(ValidatorId, MessageId)> {
        let id = store.heartbeat_of(&lost)?;
        let parent = *connected.choose(rng)?;
        self.graft_parent(id, parent, now).then_some((parent, id))
    }

    /// Whether a `Want` for `id` sent to `from` is outstanding (nothing settled: see
    /// [`answers_want`](Self::answers_want)).
    pub fn asked(&self, id: &MessageId, from: &ValidatorId) -> bool {
        self.wants.get(id).is_some_and(|pending| pending.peer == *from)
    }

    /// Whether a copy of `id` from `from`, a duplicate, answers a `Want` we sent `from` for it after
    /// already holding it ([`graft_parent`](Self::graft_parent)): then it is no redundant tree edge, and
    /// the want is settled.
    pub fn answers_want(&mut self, id: &MessageId, from: &ValidatorId) -> bool {
        let answers = self.wants.get(id).is_some_and(|pending| pending.peer == *from);
        if answers {
            self.wants.remove(id);
        }
        answers
    }

    /// Whether `id` was asked for within [`GossipConfig::want_timeout`] of `now`.
    fn asked_recently(&self, id: &MessageId, now: Instant) -> bool {
        self.wants.get(id).is_some_and(|pending| !has_aged(pending.requested_at, now, self.config.want_timeout))
    }

    /// Records that `id` is asked of `peer` at `now` (replacing an expired want for it), if the bound on
    /// outstanding wants leaves room; returns whether it does.
    fn ask(&mut self, id: MessageId, peer: ValidatorId, now: Instant) -> bool {
        if !self.wants.contains(&id) && !self.make_room(now) {
            return false;
        }
        self.wants.insert(id, PendingWant { peer, requested_at: now });
        true
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

    /// Classifies a verified envelope, message `id`, and settles the want for it if there was one; a
    /// deferred want for it is cancelled (never asked for, so the arrival is [`Arrival::Unrequested`]).
    ///
    /// Call it once its signature verified, never before: a forged copy must not settle a want.
    pub fn on_envelope(&mut self, id: &MessageId) -> Arrival {
        self.deferred.remove(id);
        match self.wants.remove(id) {
            Some(pending) => Arrival::Requested { asked: pending.peer },
            None => Arrival::Unrequested,
        }
    }

    /// The envelopes to send in answer to a [`Frame::Want`] of `ids`: those `store` still holds (for
    /// a superseded heartbeat, its origin's newest: [`MessageStore::get_or_newer`]), in the order
    /// asked, without repeated ids, at most [`GossipConfig::max_want_answer`] of them and no more
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
        for envelope in ids.iter().filter(|id| answered.insert(**id)).filter_map(|id| store.get_or_newer(id)) {
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

    /// The digest to send `peer` at `now`: among the newest [`GossipConfig::digest_ids`] ids of
    /// `store`, those `peer` is not known to hold (`knowledge`), was not yet offered (`announced`: by
    /// digests and announcements), and `seen` first recorded at least [`GossipConfig::want_delay`]
    /// ago, as [`Frame::Have`] frames (none if there is nothing to announce).
    ///
    /// - A message younger than `want_delay` is still travelling its broadcast tree: a peer that lacks
    ///   it would wait `want_delay` for its push anyway, and offering it only races that push (digests
    ///   go out at any moment, so on fast links this added duplicates).
    /// - The scan, newest first, stops where this peer's previous digest started (the newest id it
    ///   considered that was old enough): everything from there on was considered then. A digest tick
    ///   therefore looks at what arrived since the last one, not at the whole store — which on a
    ///   devnet of 32 nodes in one process made every tick a burst of some 30 000 lookups per node,
    ///   delaying whatever was broadcast at that instant by several milliseconds. For a full digest,
    ///   call [`restart_digests`](Self::restart_digests) first.
    pub fn digest_for(
        &mut self,
        peer: &ValidatorId,
        store: &MessageStore,
        knowledge: &PeerKnowledge,
        announced: &PeerKnowledge,
        seen: &SeenCache,
        now: Instant,
    ) -> Vec<Frame> {
        let unknown = |id: &MessageId| !knowledge.knows(peer, id) && !announced.knows(peer, id);
        let recent = self.digest_candidates(store, seen, now);
        Frame::haves(&self.digest_where(peer, &recent, unknown))
    }

    /// The ids of [`digest_for`](Self::digest_for) without its frames: among `recent` (from
    /// [`digest_candidates`](Self::digest_candidates)), those `include` picks for `peer`, up to where
    /// its previous digest started (the scan position moves as in `digest_for`).
    pub fn digest_where(
        &mut self,
        peer: &ValidatorId,
        recent: &[MessageId],
        mut include: impl FnMut(&MessageId) -> bool,
    ) -> Vec<MessageId> {
        let previous = self.digest_starts.get(peer).copied();
        let new = recent.iter().take_while(|id| Some(**id) != previous);
        let ids = new.filter(|id| include(id)).copied().collect();
        if let Some(start) = recent.first() {
            self.digest_starts.insert(*peer, *start);
        }
        ids
    }

    /// The ids any digest at `now` may carry, newest first: the newest [`GossipConfig::digest_ids`]
    /// of `store` that `seen` first recorded at least [`GossipConfig::want_delay`] ago. The same for
    /// every peer, so a digest tick computes it once, not once per peer (at 100 peers, per-peer
    /// lookups of the same ids were 3 % of a devnet's CPU).
    pub fn digest_candidates(&self, store: &MessageStore, seen: &SeenCache, now: Instant) -> Vec<MessageId> {
        let settled = |id: &MessageId| {
            seen.first_seen(id).is_none_or(|at| now.saturating_duration_since(at) >= self.config.want_delay)
        };
        store.newest_ids().take(self.config.digest_ids).filter(settled).collect()
    }

    /// Makes the next digest to `peer` scan the whole store again (up to [`GossipConfig::digest_ids`]).
    pub fn restart_digests(&mut self, peer: &ValidatorId) {
        self.digest_starts.remove(peer);
    }

    /// Queues `id` to be announced (`Have`) to `peers` (a [`ForwardPlan::announce`]), by `me`, once
    /// `delay` (the plan's [`ForwardPlan::announce_delay`]) has passed — half of it for peers with a
    /// lower id than `me`. Two validators that forward a message at about the same time (siblings in
    /// its tree) would otherwise announce it to each other at the same moment; this way the lower one
    /// hears the higher one's announcement first and skips its own. Everything queued for one moment
    /// goes out together, as soon as the most pressing of it is due: call
    /// [`due_announcements`](Self::due_announcements) at [`next_announce_due`](Self::next_announce_due).
    pub fn defer_announce(
        &mut self,
        me: &ValidatorId,
        peers: &[ValidatorId],
        id: MessageId,
        now: Instant,
        delay: Duration,
    ) {
        for peer in peers {
            let slot = &mut self.announcements[usize::from(peer > me)];
            let due = now + if peer > me { delay } else { delay / 2 };
            slot.due = Some(slot.due.map_or(due, |queued| queued.min(due)));
            slot.ids.entry(*peer).or_default().push(id);
        }
    }

    /// When queued announcements are next due, if any are queued.
    pub fn next_announce_due(&self) -> Option<Instant> {
        self.announcements.iter().filter_map(|slot| slot.due).min()
    }

    /// Takes the announcements due at `now`: per peer, in peer order, the ids in the order queued,
    /// without those `knowledge` now says the peer holds (it sent us the message or announced it
    /// meanwhile). Peers left with none are left out. Send each with [`Frame::haves`].
    pub fn due_announcements(&mut self, now: Instant, knowledge: &PeerKnowledge) -> Vec<(ValidatorId, Vec<MessageId>)> {
        let mut due = Vec::new();
        for slot in self.announcements.iter_mut().filter(|slot| slot.due.is_some_and(|at| at <= now)) {
            slot.due = None;
            for (peer, ids) in std::mem::take(&mut slot.ids) {
                let ids: Vec<MessageId> = ids.into_iter().filter(|id| !knowledge.knows(&peer, id)).collect();
                if !ids.is_empty() {
                    due.push((peer, ids));
                }
            }
        }
        due.sort_by_key(|(peer, _)| *peer);
        due
    }

    /// Takes the ids queued for `peer` ahead of their time, without those `knowledge` says it holds:
    /// call it when a frame is about to go to `peer` anyway, so the announcement shares that frame's
    /// write (one syscall and one wakeup at each end instead of two). Empty when nothing is queued.
    pub fn take_announcements(&mut self, peer: &ValidatorId, knowledge: &PeerKnowledge) -> Vec<MessageId> {
        let mut ids = Vec::new();
        for slot in &mut self.announcements {
            if let Some(queued) = slot.ids.remove(peer) {
                ids.extend(queued.into_iter().filter(|id| !knowledge.knows(peer, id)));
            }
        }
        ids
    }

    /// Drops the wants sent or deferred to `peer`, so their ids can be asked of others at once, and forgets it in
    /// the broadcast trees: call it when the peer disconnects.
    pub fn forget_peer(&mut self, peer: &ValidatorId) {
        self.forget_requests_of(peer);
        self.announcements.iter_mut().for_each(|slot| {
            slot.ids.remove(peer);
        });
        self.trees.forget_peer(peer);
    }

    /// `peer`'s link was replaced by a new connection (the tie-break between two dials): what
    /// travelled on the old one may be lost — our wants, its answers, our digests — so wants to it
    /// are forgotten (its next `Have` is asked for again) and its next digest starts over; its place
    /// in the broadcast trees and the announcements waiting for it carry over to the new link.
    pub fn link_replaced(&mut self, peer: &ValidatorId) {
        self.forget_requests_of(peer);
    }

    fn forget_requests_of(&mut self, peer: &ValidatorId) {
        self.wants.retain(|_, pending| pending.peer != *peer);
        self.deferred.retain(|_, deferred| deferred.peer != *peer);
        self.digest_starts.remove(peer);
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
    // A fresh message usually has a few holders (its sender, those that announced it): checking each
    // peer against them costs less than a hash lookup per peer, which showed at 100 peers.
    const FEW_HOLDERS: usize = 8;
    let holders = knowledge.holders(&envelope.id());
    let few: Vec<ValidatorId> = holders.peers().take(FEW_HOLDERS + 1).collect();
    let held = |peer: &ValidatorId| if few.len() <= FEW_HOLDERS { few.contains(peer) } else { holders.contains(peer) };
    let mut candidates: Vec<ValidatorId> =
        connected.iter().filter(|peer| **peer != from && **peer != envelope.origin && !held(peer)).copied().collect();
    // The node passes its peers in id order already; sorting a sorted slice costs one pass.
    candidates.sort_unstable();
    candidates.dedup();
    candidates
}

/// Up to `count` of `candidates` picked at random, sorted.
fn pick<R: Rng + ?Sized>(candidates: &[ValidatorId], count: usize, rng: &mut R) -> Vec<ValidatorId> {
    let mut picked: Vec<ValidatorId> = candidates.choose_multiple(rng, count).copied().collect();
    picked.sort_unstable();
    picked
}
