//! Gossip decisions: forwarding fanout, have/want repair with outstanding-want bounds and expiry,
//! bounded answers, digests, and the requested/unrequested marker.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::validator;
use quorumnet_core::identity::{Signature, ValidatorId};
use quorumnet_core::message::{Envelope, Frame, MessageId};
use quorumnet_core::node::gossip::{
    Arrival, CopyKind, ForwardPlan, GossipConfig, GossipPolicy, MessageStore, PeerKnowledge, SeenCache,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::time::Instant;

const ORIGIN: u8 = 0xee;

fn envelope(seq: u64, ttl: u8) -> Envelope {
    Envelope {
        origin: validator(ORIGIN),
        seq,
        ttl,
        payload: vec![seq as u8; 8].into(),
        sig: Signature::from_bytes(vec![0; 16]),
    }
}

fn peers(count: u8) -> Vec<ValidatorId> {
    (1..=count).map(validator).collect()
}

fn id(n: u8) -> MessageId {
    MessageId([n; 32])
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A fanout of `fanout` and announcements to `announce` more, with the test preset's other values.
fn policy(fanout: usize, announce: usize) -> GossipPolicy {
    GossipPolicy::new(GossipConfig { fanout, announce_fanout: announce, ..GossipConfig::test() })
}

struct Node {
    policy: GossipPolicy,
    seen: SeenCache,
    store: MessageStore,
    knowledge: PeerKnowledge,
    now: Instant,
}

impl Node {
    fn new(config: GossipConfig) -> Self {
        Node {
            seen: SeenCache::from_config(&config),
            store: MessageStore::from_config(&config),
            knowledge: PeerKnowledge::from_config(&config),
            policy: GossipPolicy::new(config),
            now: Instant::now(),
        }
    }

    fn have(&mut self, from: u8, ids: &[MessageId]) -> Vec<MessageId> {
        self.policy.on_have(validator(from), ids, &self.seen, &self.store, &mut self.knowledge, self.now)
    }
}

// --- Forwarding ---

#[test]
fn forwarding_pushes_to_fanout_peers_and_announces_to_others_with_ttl_decremented() {
    let connected = peers(10);
    let plan =
        policy(3, 4).plan_forward(&envelope(1, 5), validator(1), &connected, &PeerKnowledge::new(8, 8), &mut rng(1));
    assert_eq!(plan.ttl, 4);
    assert_eq!(plan.push.len(), 3);
    assert_eq!(plan.announce.len(), 4);
    let push: BTreeSet<_> = plan.push.iter().collect();
    assert!(plan.announce.iter().all(|p| !push.contains(p)), "a pushed peer is not also announced to");
    assert!(plan.push.iter().chain(&plan.announce).all(|p| connected.contains(p)));
}

#[test]
fn forwarding_excludes_the_sender_the_origin_and_peers_known_to_hold_the_message() {
    let e = envelope(1, 3);
    let mut connected = peers(6);
    connected.push(validator(ORIGIN));
    let mut knowledge = PeerKnowledge::new(8, 16);
    knowledge.mark(validator(2), e.id());
    knowledge.mark(validator(3), e.id());
    knowledge.mark(validator(4), id(9)); // holds something else: still a candidate
    for seed in 0..50 {
        let plan = policy(10, 10).plan_forward(&e, validator(1), &connected, &knowledge, &mut rng(seed));
        assert_eq!(plan.push, [validator(4), validator(5), validator(6)], "seed {seed}");
        assert!(plan.announce.is_empty());
    }
}

#[test]
fn ttl_zero_is_not_forwarded_at_all() {
    let plan =
        policy(3, 3).plan_forward(&envelope(1, 0), validator(1), &peers(10), &PeerKnowledge::new(8, 8), &mut rng(1));
    assert_eq!(plan, ForwardPlan::default());
}

#[test]
fn ttl_one_is_forwarded_with_ttl_zero() {
    let plan =
        policy(3, 3).plan_forward(&envelope(1, 1), validator(1), &peers(10), &PeerKnowledge::new(8, 8), &mut rng(1));
    assert_eq!((plan.ttl, plan.push.len()), (0, 3));
}

#[test]
fn fanout_is_deterministic_for_a_seed_whatever_the_order_of_connected_peers() {
    let connected = peers(30);
    let mut reversed = connected.clone();
    reversed.reverse();
    let knowledge = PeerKnowledge::new(8, 8);
    let policy = policy(4, 6);
    let plan = |peers: &[ValidatorId], seed| {
        policy.plan_forward(&envelope(1, 3), validator(1), peers, &knowledge, &mut rng(seed))
    };
    assert_eq!(plan(&connected, 42), plan(&reversed, 42));
    // And the seed matters: across seeds, different peers are chosen.
    let distinct: BTreeSet<Vec<ValidatorId>> = (0..20).map(|seed| plan(&connected, seed).push).collect();
    assert!(distinct.len() > 1);
}

#[test]
fn fanout_spreads_over_all_candidates_across_messages() {
    let connected = peers(12);
    let knowledge = PeerKnowledge::new(8, 8);
    let mut rng = rng(3);
    let mut chosen = BTreeSet::new();
    for seq in 0..100 {
        chosen
            .extend(policy(2, 0).plan_forward(&envelope(seq, 3), validator(1), &connected, &knowledge, &mut rng).push);
    }
    assert_eq!(chosen.len(), 11, "every peer but the sender is picked sometimes");
}

#[test]
fn fewer_candidates_than_fanout_pushes_to_all_of_them() {
    let connected = peers(3);
    let plan =
        policy(5, 5).plan_forward(&envelope(1, 3), validator(1), &connected, &PeerKnowledge::new(8, 8), &mut rng(1));
    assert_eq!(plan.push, [validator(2), validator(3)]);
    assert!(plan.announce.is_empty());
}

// --- Have / Want ---

#[test]
fn have_wants_only_ids_not_seen_and_marks_the_peer_as_holding_all_of_them() {
    let mut node = Node::new(GossipConfig::test());
    node.seen.record(id(1), node.now);
    assert_eq!(node.have(7, &[id(1), id(2), id(3)]), [id(2), id(3)]);
    assert!([1, 2, 3].iter().all(|n| node.knowledge.knows(&validator(7), &id(*n))));
}

#[test]
fn an_id_still_in_the_store_is_not_wanted_after_the_seen_cache_forgot_it() {
    let mut node = Node::new(GossipConfig::test());
    let held = envelope(1, 3);
    node.seen.record(held.id(), node.now);
    node.store.insert(held.clone());
    node.now += GossipConfig::test().seen_max_age;
    assert!(!node.seen.contains(&held.id(), node.now));
    assert!(node.have(7, &[held.id()]).is_empty());
}

#[test]
fn an_id_repeated_in_one_have_is_wanted_once() {
    let mut node = Node::new(GossipConfig::test());
    assert_eq!(node.have(7, &[id(2), id(2), id(3), id(2)]), [id(2), id(3)]);
}

#[test]
fn a_wanted_id_is_not_requested_again_before_the_timeout_from_any_peer() {
    let mut node = Node::new(GossipConfig::test());
    assert_eq!(node.have(1, &[id(1)]), [id(1)]);
    node.now += GossipConfig::test().want_timeout - Duration::from_millis(1);
    assert!(node.have(1, &[id(1)]).is_empty());
    assert!(node.have(2, &[id(1)]).is_empty());
    assert_eq!(node.policy.outstanding_wants(), 1);
}

#[test]
fn a_wanted_id_is_requested_again_after_the_timeout() {
    let mut node = Node::new(GossipConfig::test());
    node.have(1, &[id(1)]);
    node.now += GossipConfig::test().want_timeout;
    assert_eq!(node.have(2, &[id(1)]), [id(1)]);
    assert_eq!(node.policy.outstanding_wants(), 1, "the re-request replaces the first");
    // The answer now counts as requested from the peer asked last.
    assert_eq!(node.policy.on_envelope(&id(1)), Arrival::Requested { asked: validator(2) });
}

#[test]
fn outstanding_wants_are_bounded_and_make_room_only_when_they_expire() {
    let config = GossipConfig::test();
    let max = config.max_outstanding_wants;
    let mut node = Node::new(config.clone());
    let many: Vec<MessageId> = (1..=(max as u8 + 3)).map(id).collect();
    assert_eq!(node.have(1, &many), many[..max]);
    assert_eq!(node.policy.outstanding_wants(), max);
    assert!(node.have(1, &[id(200)]).is_empty(), "full, and nothing has expired");

    node.now += config.want_timeout;
    let wanted = node.have(1, &[id(200), id(201)]);
    assert_eq!(wanted, [id(200), id(201)], "expired wants make room, oldest first");
    assert_eq!(node.policy.outstanding_wants(), max);
}

/// The test preset with wants deferred by 50 ms and parents swapped at a 20 ms margin.
fn delayed() -> GossipConfig {
    GossipConfig {
        want_delay: Duration::from_millis(50),
        swap_margin: Duration::from_millis(20),
        ..GossipConfig::test()
    }
}

#[test]
fn a_deferred_want_is_cancelled_by_the_eager_copy() {
    let mut node = Node::new(delayed());
    assert!(node.have(3, &[id(1), id(2)]).is_empty(), "deferred, not asked at once");
    assert!(node.have(4, &[id(1)]).is_empty(), "deferred once, for the first announcer");
    assert_eq!(node.policy.next_want_due(), Some(node.now + Duration::from_millis(50)));
    let early = node.now + Duration::from_millis(49);
    assert!(node.policy.due_wants(&node.seen, &node.store, early).is_empty());
    // The pushed copy of id(1) arrives in time: never asked for, so not a requested arrival.
    assert_eq!(node.policy.on_envelope(&id(1)), Arrival::Unrequested);
    node.now += Duration::from_millis(50);
    let due = node.policy.due_wants(&node.seen, &node.store, node.now);
    assert_eq!(due, vec![(validator(3), vec![id(2)])], "only the id no push brought is asked for");
    assert_eq!(node.policy.next_want_due(), None);
    assert_eq!(node.policy.on_envelope(&id(2)), Arrival::Requested { asked: validator(3) });
}

#[test]
fn deferred_wants_of_a_disconnected_peer_are_dropped() {
    let mut node = Node::new(delayed());
    node.have(3, &[id(1)]);
    node.policy.forget_peer(&validator(3));
    assert_eq!(node.policy.next_want_due(), None);
    assert!(node.have(4, &[id(1)]).is_empty());
    node.now += Duration::from_millis(50);
    assert_eq!(node.policy.due_wants(&node.seen, &node.store, node.now), vec![(validator(4), vec![id(1)])]);
}

#[test]
fn an_announcer_well_ahead_of_the_push_is_swapped_in_as_parent() {
    let mut node = Node::new(delayed());
    node.have(3, &[id(1), id(2)]);
    let pusher = validator(5);
    assert_eq!(node.policy.faster_announcer(&id(1), pusher, node.now + Duration::from_millis(19)), None, "jitter");
    node.now += Duration::from_millis(20);
    assert_eq!(node.policy.faster_announcer(&id(1), validator(3), node.now), None, "it is the pusher");
    assert_eq!(node.policy.faster_announcer(&id(1), pusher, node.now), Some(validator(3)));
    node.policy.on_envelope(&id(1));
    assert!(node.policy.graft_parent(id(1), validator(3), node.now));
    // Its answer to the grafting want is a duplicate, but no redundant edge; a push from another is.
    assert!(!node.policy.answers_want(&id(1), &pusher));
    assert!(node.policy.answers_want(&id(1), &validator(3)));
    assert!(!node.policy.answers_want(&id(1), &validator(3)), "settled once");
}

#[test]
fn an_answered_want_frees_its_slot_and_is_marked_requested() {
    let mut node = Node::new(GossipConfig::test());
    node.have(3, &[id(1), id(2)]);
    assert_eq!(node.policy.on_envelope(&id(1)), Arrival::Requested { asked: validator(3) });
    assert_eq!(node.policy.outstanding_wants(), 1);
    // A second copy was not asked for any more: ordinary gossip.
    assert_eq!(node.policy.on_envelope(&id(1)), Arrival::Unrequested);
    assert_eq!(node.policy.on_envelope(&id(9)), Arrival::Unrequested);
}

#[test]
fn a_late_answer_still_counts_as_requested_until_its_want_is_replaced_or_evicted() {
    let mut node = Node::new(GossipConfig::test());
    node.have(3, &[id(1)]);
    node.now += GossipConfig::test().want_timeout * 10;
    assert_eq!(node.policy.on_envelope(&id(1)), Arrival::Requested { asked: validator(3) });
}

#[test]
fn wants_sent_to_a_disconnected_peer_can_be_asked_of_others_at_once() {
    let mut node = Node::new(GossipConfig::test());
    node.have(1, &[id(1)]);
    node.have(2, &[id(2)]);
    node.policy.forget_peer(&validator(1));
    assert_eq!(node.policy.outstanding_wants(), 1);
    assert_eq!(node.have(3, &[id(1), id(2)]), [id(1)]);
}

// --- Answers and digests ---

fn store_of(envelopes: &[Envelope]) -> MessageStore {
    let mut store = MessageStore::new(100, usize::MAX);
    envelopes.iter().for_each(|e| assert!(store.insert(e.clone())));
    store
}

#[test]
fn want_is_answered_with_held_envelopes_in_order_with_ttl_zero() {
    let envelopes: Vec<Envelope> = (1..=3).map(|seq| envelope(seq, 3)).collect();
    let store = store_of(&envelopes);
    let policy = GossipPolicy::new(GossipConfig { max_want_answer: 10, ..GossipConfig::test() });
    let ids = [envelopes[2].id(), id(9), envelopes[0].id(), envelopes[2].id()];
    let answer = policy.answer_want(&ids, &store);
    assert_eq!(answer.iter().map(Envelope::id).collect::<Vec<_>>(), [envelopes[2].id(), envelopes[0].id()]);
    assert!(answer.iter().all(|e| e.ttl == 0));
    assert_eq!(answer[0].sig, envelopes[2].sig, "the origin's envelope, unchanged but for ttl");
}

#[test]
fn want_answers_are_bounded_in_count() {
    let envelopes: Vec<Envelope> = (1..=5).map(|seq| envelope(seq, 3)).collect();
    let store = store_of(&envelopes);
    let policy = GossipPolicy::new(GossipConfig { max_want_answer: 2, ..GossipConfig::test() });
    let ids: Vec<MessageId> = envelopes.iter().map(Envelope::id).collect();
    assert_eq!(policy.answer_want(&ids, &store).len(), 2);
}

#[test]
fn want_answers_are_bounded_in_bytes_but_always_make_progress() {
    let envelopes: Vec<Envelope> = (1..=5).map(|seq| envelope(seq, 3)).collect();
    let store = store_of(&envelopes);
    let each = MessageStore::footprint(&envelopes[0]);
    let ids: Vec<MessageId> = envelopes.iter().map(Envelope::id).collect();
    let bounded = |bytes| {
        GossipPolicy::new(GossipConfig { max_want_answer: 100, max_want_answer_bytes: bytes, ..GossipConfig::test() })
            .answer_want(&ids, &store)
            .len()
    };
    assert_eq!(bounded(2 * each + each / 2), 2);
    assert_eq!(bounded(1), 1, "the first envelope goes even if it alone exceeds the bound");
}

#[test]
fn digest_lists_the_newest_ids_the_peer_is_not_known_to_hold() {
    let config = GossipConfig::test(); // digest_ids: 4
    let envelopes: Vec<Envelope> = (1..=6).map(|seq| envelope(seq, 3)).collect();
    let store = store_of(&envelopes);
    let mut knowledge = PeerKnowledge::from_config(&config);
    knowledge.mark(validator(1), envelopes[4].id());
    let (seen, now) = (SeenCache::from_config(&config), Instant::now());
    let none = PeerKnowledge::from_config(&config);
    let digest = GossipPolicy::new(config).digest_for(&validator(1), &store, &knowledge, &none, &seen, now);
    let expected: Vec<MessageId> = [5, 3, 2].iter().map(|i| envelopes[*i].id()).collect();
    assert_eq!(digest, vec![Frame::Have { ids: expected }]);
    let empty = GossipPolicy::new(GossipConfig::test()).digest_for(
        &validator(1),
        &MessageStore::new(1, 1),
        &knowledge,
        &none,
        &seen,
        now,
    );
    assert!(empty.is_empty());
}

/// A message verified less than `want_delay` ago is still travelling its tree: digests leave it out
/// until then (offering it would only race its push), and list it afterwards.
#[test]
fn digests_leave_out_messages_younger_than_the_want_delay() {
    let config = GossipConfig { want_delay: Duration::from_millis(60), ..GossipConfig::test() };
    let envelopes: Vec<Envelope> = (1..=2).map(|seq| envelope(seq, 3)).collect();
    let store = store_of(&envelopes);
    let (mut seen, knowledge, start) =
        (SeenCache::from_config(&config), PeerKnowledge::from_config(&config), Instant::now());
    seen.record(envelopes[0].id(), start);
    seen.record(envelopes[1].id(), start + Duration::from_millis(50));
    let digest_at = |ms| {
        let mut policy = GossipPolicy::new(config.clone());
        policy.digest_for(&validator(1), &store, &knowledge, &knowledge, &seen, start + Duration::from_millis(ms))
    };
    assert!(digest_at(59).is_empty());
    assert_eq!(digest_at(60), vec![Frame::Have { ids: vec![envelopes[0].id()] }]);
    assert_eq!(digest_at(110), vec![Frame::Have { ids: vec![envelopes[1].id(), envelopes[0].id()] }]);
}

#[test]
fn a_validator_that_missed_messages_pulls_them_through_a_digest() {
    // Node A holds three verified messages; B missed two of them during a link reset.
    let config = GossipConfig { max_want_answer: 10, ..GossipConfig::test() };
    let envelopes: Vec<Envelope> = (1..=3).map(|seq| envelope(seq, 3)).collect();
    let mut a = GossipPolicy::new(config.clone());
    let store = store_of(&envelopes);
    let mut b = Node::new(config.clone());
    b.seen.record(envelopes[0].id(), b.now);

    let (knowledge, a_seen) = (PeerKnowledge::from_config(&config), SeenCache::from_config(&config));
    let digest = a.digest_for(&validator(2), &store, &knowledge, &knowledge, &a_seen, b.now);
    let Frame::Have { ids } = &digest[0] else { panic!("a Have") };
    let wanted = b.have(1, ids);
    assert_eq!(wanted.len(), 2);
    for answer in a.answer_want(&wanted, &store) {
        assert_eq!(b.policy.on_envelope(&answer.id()), Arrival::Requested { asked: validator(1) });
        b.seen.record(answer.id(), b.now);
    }
    assert!(envelopes.iter().all(|e| b.seen.contains(&e.id(), b.now)));
    assert_eq!(b.policy.outstanding_wants(), 0);
}

/// The origin's first message from a non-origin starts its tree from the random fanout; later
/// messages go to the eager peers only, and prunes and pulls reshape the tree.
#[test]
fn tree_forwarding_pushes_to_eager_peers_after_the_first_message() {
    let mut policy = policy(2, 2);
    let connected = peers(6);
    let knowledge = PeerKnowledge::new(8, 8);
    let first = policy.plan_tree_forward(&envelope(1, 3), validator(1), &connected, &knowledge, false, &mut rng(3));
    assert_eq!(first.push.len(), 2);
    assert_eq!(policy.trees().eager_peers(&validator(ORIGIN)), first.push);
    let second = policy.plan_tree_forward(&envelope(2, 3), validator(1), &connected, &knowledge, false, &mut rng(4));
    assert_eq!(second.push, first.push, "the same eager peers, whatever the rng");
    policy.on_prune(first.push[0], validator(ORIGIN));
    let lazy = *second.announce.first().unwrap();
    policy.on_pulled(lazy, validator(ORIGIN));
    let third = policy.plan_tree_forward(&envelope(3, 3), validator(1), &connected, &knowledge, false, &mut rng(5));
    let mut expected = vec![first.push[1], lazy];
    expected.sort();
    assert_eq!(third.push, expected);
    assert!(!third.announce.iter().any(|peer| third.push.contains(peer)));
}

/// A copy straight from its origin, at a node connected to every validator, is only announced: the
/// origin sent it to everyone. Peers that pull from us are pushed to afterwards.
#[test]
fn first_hand_copies_in_a_full_view_are_announced_not_pushed() {
    let mut policy = policy(3, 2);
    let connected: Vec<ValidatorId> = peers(6).into_iter().chain([validator(ORIGIN)]).collect();
    let knowledge = PeerKnowledge::new(8, 8);
    let plan = policy.plan_tree_forward(&envelope(1, 3), validator(ORIGIN), &connected, &knowledge, true, &mut rng(1));
    assert!(plan.push.is_empty());
    assert_eq!(plan.announce.len(), 2);
    assert!(!policy.trees().knows_origin(&validator(ORIGIN)));
    policy.on_pulled(validator(4), validator(ORIGIN));
    let plan = policy.plan_tree_forward(&envelope(2, 3), validator(ORIGIN), &connected, &knowledge, true, &mut rng(1));
    assert_eq!(plan.push, vec![validator(4)]);
    // Without a full view, a first-hand copy starts a tree like any other.
    let mut partial = self::policy(3, 2);
    let plan =
        partial.plan_tree_forward(&envelope(1, 3), validator(ORIGIN), &connected, &knowledge, false, &mut rng(1));
    assert_eq!(plan.push.len(), 3);
}

#[test]
fn tree_forwarding_is_deterministic_and_respects_ttl() {
    let run = |seed| {
        let mut policy = policy(2, 2);
        (1..=4)
            .map(|seq| {
                policy.plan_tree_forward(
                    &envelope(seq, 3),
                    validator(1),
                    &peers(8),
                    &PeerKnowledge::new(8, 8),
                    false,
                    &mut rng(seed),
                )
            })
            .collect::<Vec<ForwardPlan>>()
    };
    assert_eq!(run(9), run(9));
    let mut policy = policy(2, 2);
    let plan = policy.plan_tree_forward(
        &envelope(1, 0),
        validator(1),
        &peers(8),
        &PeerKnowledge::new(8, 8),
        false,
        &mut rng(1),
    );
    assert_eq!(plan, ForwardPlan::default());
}

/// Receivers keep one parent per origin: its duplicates are not pruned whichever copy came first,
/// other peers' duplicates are, an answered want grafts, and the origin itself is never pruned.
#[test]
fn a_receiver_keeps_one_parent_per_origin_and_prunes_the_rest() {
    let mut policy = GossipPolicy::new(GossipConfig::test());
    let origin = validator(ORIGIN);
    let (a, b, c) = (validator(1), validator(2), validator(3));
    // First copy from a: a is the parent; b's duplicate is pruned.
    assert_eq!(policy.on_copy(origin, a, CopyKind::First), None);
    assert_eq!(policy.trees().parent(&origin), Some(a));
    assert_eq!(policy.on_copy(origin, b, CopyKind::Duplicate), Some(b));
    // Next message: b's copy (its prune still in flight) comes first and a's second: a stays.
    assert_eq!(policy.on_copy(origin, b, CopyKind::First), None);
    assert_eq!(policy.on_copy(origin, a, CopyKind::Duplicate), None);
    assert_eq!(policy.trees().parent(&origin), Some(a));
    // c answers our want: it grafted us, so it is the parent now, and a's duplicate is pruned.
    assert_eq!(policy.on_copy(origin, c, CopyKind::Answer), None);
    assert_eq!(policy.trees().parent(&origin), Some(c));
    assert_eq!(policy.on_copy(origin, a, CopyKind::Duplicate), Some(a));
    // The origin's direct copies make it the parent and are never pruned.
    assert_eq!(policy.on_copy(origin, origin, CopyKind::Duplicate), None);
    assert_eq!(policy.on_copy(origin, c, CopyKind::Duplicate), Some(c));
    assert_eq!(policy.on_copy(origin, origin, CopyKind::Duplicate), None);
    // A disconnected parent is forgotten: the next copy sets one.
    policy.forget_peer(&origin);
    assert_eq!(policy.trees().parent(&origin), None);
    assert_eq!(policy.on_copy(origin, b, CopyKind::Duplicate), None);
    assert_eq!(policy.trees().parent(&origin), Some(b));
}

const DELAY: Duration = Duration::from_millis(10);

/// Announcements wait their delay (half of it towards lower ids), go out one batch per peer, and
/// skip what the peer showed it holds meanwhile.
#[test]
fn announcements_wait_gather_per_peer_and_skip_what_the_peer_holds() {
    let config = GossipConfig::test();
    let mut policy = GossipPolicy::new(config.clone());
    let mut knowledge = PeerKnowledge::from_config(&config);
    let (low, me, high) = (validator(1), validator(5), validator(9));
    let start = Instant::now();
    assert_eq!(policy.next_announce_due(), None);
    policy.defer_announce(&me, &[low, high], id(1), start, DELAY);
    policy.defer_announce(&me, &[low, high], id(2), start + Duration::from_millis(2), DELAY);
    // Towards the lower id after half the delay, with both ids in one batch.
    assert_eq!(policy.next_announce_due(), Some(start + Duration::from_millis(5)));
    assert!(policy.due_announcements(start + Duration::from_millis(4), &knowledge).is_empty());
    assert_eq!(policy.due_announcements(start + Duration::from_millis(5), &knowledge), vec![(low, vec![id(1), id(2)])]);
    // The higher one announced id 2 to us meanwhile: only id 1 is left for it.
    assert_eq!(policy.next_announce_due(), Some(start + Duration::from_millis(10)));
    knowledge.mark(high, id(2));
    assert_eq!(policy.due_announcements(start + Duration::from_millis(10), &knowledge), vec![(high, vec![id(1)])]);
    assert_eq!(policy.next_announce_due(), None);
    // A peer that disconnects loses what was queued for it.
    policy.defer_announce(&me, &[high], id(3), start, DELAY);
    policy.forget_peer(&high);
    assert!(policy.due_announcements(start + Duration::from_secs(1), &knowledge).is_empty());
}

/// While a batch of announcements waits, later messages are announced to the peers already in it
/// (their `Have` goes out anyway), whatever the rng; once it went out, the choice is random again.
#[test]
fn announcements_join_the_peers_of_the_waiting_batch() {
    let config = GossipConfig { fanout: 2, announce_fanout: 2, tree_announce_delay: DELAY, ..GossipConfig::test() };
    let knowledge = PeerKnowledge::from_config(&config);
    let (me, connected, start) = (validator(0x80), peers(8), Instant::now());
    let mut policy = GossipPolicy::new(config);
    let first = policy.plan_tree_forward(&envelope(1, 3), validator(1), &connected, &knowledge, false, &mut rng(1));
    assert_eq!((first.announce.len(), first.announce_delay), (2, DELAY));
    policy.defer_announce(&me, &first.announce, envelope(1, 3).id(), start, DELAY);
    for (seq, seed) in (2..6).zip(10..) {
        let plan =
            policy.plan_tree_forward(&envelope(seq, 3), validator(1), &connected, &knowledge, false, &mut rng(seed));
        assert_eq!(plan.announce, first.announce, "message {seq} joins the waiting batch");
        policy.defer_announce(&me, &plan.announce, envelope(seq, 3).id(), start, plan.announce_delay);
    }
    let due = policy.due_announcements(start + Duration::from_millis(10), &knowledge);
    assert_eq!(due.len(), 2, "one Have per peer: {due:?}");
    assert!(due.iter().all(|(_, ids)| ids.len() == 5));
    let chosen: BTreeSet<Vec<ValidatorId>> = (20..40)
        .map(|seed| {
            policy
                .plan_tree_forward(&envelope(9, 3), validator(1), &connected, &knowledge, false, &mut rng(seed))
                .announce
        })
        .collect();
    assert!(chosen.len() > 1, "with no batch waiting, announcements spread: {chosen:?}");
}

/// A first-hand copy in a full view is announced after `announce_delay` — nobody pushes it on, so
/// the announcement is the only way there — and one forwarded along a tree after the longer
/// `tree_announce_delay`; a batch goes out as soon as its most pressing id is due.
#[test]
fn only_way_announcements_wait_less_than_tree_backups_and_pull_their_batch_forward() {
    let (short, long) = (Duration::from_millis(10), Duration::from_millis(100));
    let config = GossipConfig { announce_delay: short, tree_announce_delay: long, ..GossipConfig::test() };
    let mut policy = GossipPolicy::new(config.clone());
    let knowledge = PeerKnowledge::from_config(&config);
    let connected: Vec<ValidatorId> = peers(6).into_iter().chain([validator(ORIGIN)]).collect();
    let first_hand =
        policy.plan_tree_forward(&envelope(1, 3), validator(ORIGIN), &connected, &knowledge, true, &mut rng(1));
    assert_eq!(first_hand.announce_delay, short);
    let forwarded = policy.plan_tree_forward(&envelope(2, 3), validator(1), &connected, &knowledge, false, &mut rng(1));
    assert_eq!(forwarded.announce_delay, long);

    let (me, peer, start) = (validator(0), validator(9), Instant::now());
    policy.defer_announce(&me, &[peer], id(1), start, long);
    assert_eq!(policy.next_announce_due(), Some(start + long));
    policy.defer_announce(&me, &[peer], id(2), start + Duration::from_millis(5), short);
    assert_eq!(policy.next_announce_due(), Some(start + Duration::from_millis(15)));
    assert_eq!(
        policy.due_announcements(start + Duration::from_millis(15), &knowledge),
        vec![(peer, vec![id(1), id(2)])]
    );
}

/// A frame going to a peer anyway takes the ids queued for it, minus those it showed it holds; the
/// timer then has nothing left to send that peer, while other peers' batches keep waiting.
#[test]
fn an_envelope_to_a_peer_takes_the_announcements_waiting_for_it() {
    let config = GossipConfig::test();
    let mut policy = GossipPolicy::new(config.clone());
    let mut knowledge = PeerKnowledge::from_config(&config);
    let (low, me, high, start) = (validator(1), validator(5), validator(9), Instant::now());
    let delay = Duration::from_millis(100);
    policy.defer_announce(&me, &[low, high], id(1), start, delay);
    policy.defer_announce(&me, &[low, high], id(2), start, delay);
    policy.defer_announce(&me, &[high], id(3), start, delay);
    knowledge.mark(high, id(2));
    assert_eq!(policy.take_announcements(&high, &knowledge), vec![id(1), id(3)]);
    assert!(policy.take_announcements(&high, &knowledge).is_empty(), "taken once");
    assert_eq!(policy.due_announcements(start + delay, &knowledge), vec![(low, vec![id(1), id(2)])]);
}

/// A digest resumes where the peer's previous one started: a tick considers what arrived since (and
/// what was too fresh then), not the whole store, until `restart_digests` asks for a full one.
#[test]
fn a_digest_scans_only_what_arrived_since_the_previous_one() {
    let config = GossipConfig { want_delay: Duration::from_millis(60), digest_ids: 100, ..GossipConfig::test() };
    let envelopes: Vec<Envelope> = (1..=6).map(|seq| envelope(seq, 3)).collect();
    let ids: Vec<MessageId> = envelopes.iter().map(Envelope::id).collect();
    let (mut seen, start) = (SeenCache::from_config(&config), Instant::now());
    for id in &ids[..3] {
        seen.record(*id, start);
    }
    seen.record(ids[3], start + Duration::from_millis(50)); // still fresh at the first digest
    let (knowledge, announced) = (PeerKnowledge::from_config(&config), PeerKnowledge::new(1, 0));
    let mut policy = GossipPolicy::new(config);
    let peer = validator(1);
    let digest = |policy: &mut GossipPolicy, store: &MessageStore, ms| {
        let frames = policy.digest_for(&peer, store, &knowledge, &announced, &seen, start + Duration::from_millis(ms));
        frames
            .into_iter()
            .flat_map(|frame| if let Frame::Have { ids } = frame { ids } else { vec![] })
            .collect::<Vec<_>>()
    };
    let mut store = store_of(&envelopes[..4]);
    assert_eq!(digest(&mut policy, &store, 60), vec![ids[2], ids[1], ids[0]], "the fresh one waits");
    assert_eq!(digest(&mut policy, &store, 120), vec![ids[3]], "only what the first digest left");
    store.insert(envelopes[4].clone());
    store.insert(envelopes[5].clone());
    assert_eq!(digest(&mut policy, &store, 200), vec![ids[5], ids[4]], "only what arrived since");
    assert!(digest(&mut policy, &store, 300).is_empty());
    policy.restart_digests(&peer);
    let full: Vec<MessageId> = ids.iter().rev().copied().collect();
    assert_eq!(digest(&mut policy, &store, 400), full, "a full digest");
}
