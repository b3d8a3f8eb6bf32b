//! Gossip's bounded memories: the seen-cache, the message store and per-peer knowledge.

mod common;

use std::time::Duration;

use common::validator;
use quorumnet_core::identity::{Signature, ValidatorId};
use quorumnet_core::message::{ConsensusMessage, Envelope, HearsBitmap, Heartbeat, Height, MessageId, Round};
use quorumnet_core::node::gossip::{GossipConfig, MessageStore, PeerKnowledge, Seen, SeenCache};
use tokio::time::Instant;

fn id(n: u8) -> MessageId {
    MessageId([n; 32])
}

/// An unsigned envelope (stores and caches never verify) with a payload of `payload_len` bytes and a
/// 16-byte signature, so its footprint is `payload_len + 16 + ENTRY_OVERHEAD`.
fn envelope(seq: u64, payload_len: usize) -> Envelope {
    Envelope {
        origin: validator(0xee),
        seq,
        ttl: 3,
        payload: vec![seq as u8; payload_len].into(),
        sig: Signature::from_bytes(vec![0; 16]),
    }
}

fn footprint(payload_len: usize) -> usize {
    payload_len + 16 + MessageStore::ENTRY_OVERHEAD
}

// --- SeenCache ---

#[test]
fn seen_cache_counts_duplicates_per_message_and_in_total() {
    let mut seen = SeenCache::new(10, Duration::from_secs(60));
    let now = Instant::now();
    assert_eq!(seen.record(id(1), now), Seen::New);
    assert_eq!(seen.record(id(2), now), Seen::New);
    assert_eq!(seen.record(id(1), now), Seen::Duplicate(1));
    assert_eq!(seen.record(id(1), now), Seen::Duplicate(2));
    assert_eq!(seen.record(id(2), now), Seen::Duplicate(1));
    assert_eq!(seen.duplicates_of(&id(1)), Some(2));
    assert_eq!(seen.duplicates_of(&id(2)), Some(1));
    assert_eq!(seen.duplicates_of(&id(3)), None);
    assert_eq!(seen.total_duplicates(), 3);
    assert_eq!(seen.len(), 2);
}

#[test]
fn seen_cache_forgets_the_oldest_id_beyond_its_entry_bound() {
    let mut seen = SeenCache::new(3, Duration::from_secs(60));
    let now = Instant::now();
    for n in 1..=4 {
        assert_eq!(seen.record(id(n), now), Seen::New);
    }
    assert_eq!(seen.len(), 3);
    assert!(!seen.contains(&id(1), now));
    assert!((2..=4).all(|n| seen.contains(&id(n), now)));
    // The forgotten id is new again; the newest three stay.
    assert_eq!(seen.record(id(1), now), Seen::New);
    assert!(!seen.contains(&id(2), now));
}

#[test]
fn duplicates_do_not_save_an_id_from_entry_eviction() {
    let mut seen = SeenCache::new(2, Duration::from_secs(60));
    let now = Instant::now();
    seen.record(id(1), now);
    seen.record(id(2), now);
    seen.record(id(1), now); // a duplicate does not make id 1 younger
    seen.record(id(3), now);
    assert!(!seen.contains(&id(1), now));
    assert!(seen.contains(&id(2), now));
}

#[test]
fn seen_cache_forgets_ids_at_their_age_bound_counted_from_first_seen() {
    let age = Duration::from_secs(10);
    let mut seen = SeenCache::new(100, age);
    let start = Instant::now();
    seen.record(id(1), start);
    seen.record(id(2), start + Duration::from_secs(5));
    assert_eq!(seen.record(id(1), start + Duration::from_secs(9)), Seen::Duplicate(1));
    let later = start + age;
    assert!(!seen.contains(&id(1), later), "age counts from the first copy, not the duplicate");
    assert!(seen.contains(&id(2), later));
    assert_eq!(seen.record(id(1), later), Seen::New);
}

#[test]
fn expire_releases_aged_ids_without_new_records() {
    let mut seen = SeenCache::new(100, Duration::from_secs(1));
    let start = Instant::now();
    (1..=5).for_each(|n| {
        seen.record(id(n), start);
    });
    seen.expire(start + Duration::from_millis(999));
    assert_eq!(seen.len(), 5);
    seen.expire(start + Duration::from_secs(1));
    assert!(seen.is_empty());
    assert_eq!(seen.total_duplicates(), 0);
}

#[test]
fn seen_cache_of_zero_entries_still_remembers_the_last_id() {
    let mut seen = SeenCache::new(0, Duration::from_secs(1));
    let now = Instant::now();
    assert_eq!(seen.record(id(1), now), Seen::New);
    assert_eq!(seen.record(id(1), now), Seen::Duplicate(1));
}

#[test]
fn seen_cache_holds_many_ids_within_its_bound() {
    let config = GossipConfig::local();
    let mut seen = SeenCache::from_config(&config);
    let now = Instant::now();
    for n in 0..(config.seen_max_entries as u64 + 1000) {
        let id = MessageId(blake3::hash(&n.to_be_bytes()).into());
        assert_eq!(seen.record(id, now), Seen::New);
    }
    assert_eq!(seen.len(), config.seen_max_entries);
}

// --- MessageStore ---

#[test]
fn store_evicts_the_oldest_envelope_beyond_its_entry_bound() {
    let mut store = MessageStore::new(3, usize::MAX);
    let envelopes: Vec<Envelope> = (1..=4).map(|seq| envelope(seq, 10)).collect();
    for e in &envelopes {
        assert!(store.insert(e.clone()));
    }
    assert_eq!(store.len(), 3);
    assert!(store.get(&envelopes[0].id()).is_none());
    assert_eq!(store.get(&envelopes[3].id()), Some(&envelopes[3]));
    assert_eq!(store.bytes(), 3 * footprint(10));
}

#[test]
fn store_evicts_oldest_envelopes_until_its_byte_bound_holds() {
    let mut store = MessageStore::new(100, 3 * footprint(100));
    let small: Vec<Envelope> = (1..=3).map(|seq| envelope(seq, 100)).collect();
    for e in &small {
        store.insert(e.clone());
    }
    assert_eq!(store.bytes(), 3 * footprint(100));
    // Twice the size of a small one: the two oldest go.
    let big = envelope(4, 2 * 100 + 16 + MessageStore::ENTRY_OVERHEAD);
    assert!(store.insert(big.clone()));
    assert_eq!(store.recent_ids(10), vec![big.id(), small[2].id()]);
    assert!(store.bytes() <= 3 * footprint(100));
}

#[test]
fn store_refuses_an_envelope_larger_than_its_byte_bound_and_keeps_the_rest() {
    let mut store = MessageStore::new(10, footprint(100));
    let kept = envelope(1, 100);
    assert!(store.insert(kept.clone()));
    assert!(!store.insert(envelope(2, 101)));
    assert_eq!(store.recent_ids(10), vec![kept.id()]);
}

#[test]
fn store_refuses_a_message_it_already_holds() {
    let mut store = MessageStore::new(10, usize::MAX);
    assert!(store.insert(envelope(1, 10)));
    // Another copy (a different ttl) of the same message: same id, not stored twice.
    assert!(!store.insert(envelope(1, 10).with_ttl(0)));
    assert_eq!((store.len(), store.bytes()), (1, footprint(10)));
}

#[test]
fn recent_ids_are_newest_first_and_limited() {
    let mut store = MessageStore::from_config(&GossipConfig::recommended());
    let envelopes: Vec<Envelope> = (1..=5).map(|seq| envelope(seq, 10)).collect();
    envelopes.iter().for_each(|e| {
        store.insert(e.clone());
    });
    let newest_three: Vec<MessageId> = envelopes.iter().rev().take(3).map(Envelope::id).collect();
    assert_eq!(store.recent_ids(3), newest_three);
    assert_eq!(store.recent_ids(100).len(), 5);
    assert!(store.recent_ids(0).is_empty());
}

/// An unsigned heartbeat of `origin` with sequence number `seq`.
fn heartbeat(origin: u8, seq: u64) -> Envelope {
    let message = ConsensusMessage::Heartbeat(Heartbeat {
        validator: validator(origin),
        height: Height(seq),
        round: Round(0),
        time_micros: seq,
        hears: HearsBitmap::default(),
    });
    Envelope { origin: validator(origin), payload: message.encode().into(), ..envelope(seq, 0) }
}

#[test]
fn store_keeps_the_latest_heartbeat_per_origin() {
    let mut store = MessageStore::new(100, usize::MAX);
    let vote = envelope(1, 10);
    assert!(store.insert(vote.clone()));
    let (a1, a2, b1) = (heartbeat(1, 1), heartbeat(1, 2), heartbeat(2, 1));
    assert!(store.insert(a1.clone()));
    assert!(store.insert(b1.clone()));
    assert!(store.insert(a2.clone()));
    assert!(store.get(&a1.id()).is_none(), "a newer heartbeat supersedes its origin's previous one");
    assert!(store.get(&a2.id()).is_some() && store.get(&b1.id()).is_some(), "one per origin");
    assert!(!store.insert(a1.clone()), "an older heartbeat arriving late is not kept");
    assert_eq!(store.len(), 3);
    assert_eq!(store.bytes(), footprint(10) + MessageStore::footprint(&a2) + MessageStore::footprint(&b1));
    assert_eq!(store.recent_ids(10), vec![a2.id(), b1.id(), vote.id()]);
}

#[test]
fn heartbeats_cannot_evict_votes_from_the_store() {
    let mut store = MessageStore::new(4, usize::MAX);
    let votes: Vec<Envelope> = (1..=3).map(|seq| envelope(seq, 10)).collect();
    votes.iter().for_each(|vote| assert!(store.insert(vote.clone())));
    for seq in 1..=50 {
        store.insert(heartbeat(1, seq));
    }
    assert_eq!(store.len(), 4);
    assert!(votes.iter().all(|vote| store.contains(&vote.id())), "fifty heartbeats of one origin take one slot");
}

// --- PeerKnowledge ---

#[test]
fn knowledge_is_per_peer() {
    let mut knowledge = PeerKnowledge::new(10, 10);
    knowledge.mark(validator(1), id(1));
    knowledge.mark_ids(validator(2), &[id(2), id(3)]);
    knowledge.mark_peers(&[validator(1), validator(3)], id(4));
    assert!(knowledge.knows(&validator(1), &id(1)) && knowledge.knows(&validator(1), &id(4)));
    assert!(!knowledge.knows(&validator(1), &id(2)));
    assert!(knowledge.knows(&validator(2), &id(3)) && !knowledge.knows(&validator(2), &id(4)));
    assert!(knowledge.knows(&validator(3), &id(4)));
    assert_eq!(knowledge.peer_count(), 3);
}

#[test]
fn knowledge_forgets_the_oldest_id_beyond_its_bound_for_every_peer() {
    let mut knowledge = PeerKnowledge::new(3, 10);
    let (peer, other) = (validator(1), validator(2));
    knowledge.mark_ids(peer, &[id(1), id(2), id(3)]);
    knowledge.mark(other, id(1));
    knowledge.mark(peer, id(2)); // marking again does not grow or reorder
    knowledge.mark(peer, id(4));
    assert_eq!(knowledge.len_of(&peer), 3);
    assert!(!knowledge.knows(&peer, &id(1)) && !knowledge.knows(&other, &id(1)));
    assert_eq!(knowledge.len_of(&other), 0);
    assert!([2, 3, 4].iter().all(|n| knowledge.knows(&peer, &id(*n))));
}

#[test]
fn knowledge_tracks_more_than_sixty_four_peers() {
    let peers: Vec<ValidatorId> = (0..200).map(validator).collect();
    let mut knowledge = PeerKnowledge::new(10, 200);
    knowledge.mark_peers(&peers[..150], id(1));
    knowledge.mark(peers[199], id(1));
    assert!(peers[..150].iter().all(|peer| knowledge.knows(peer, &id(1))));
    assert!(peers[150..199].iter().all(|peer| !knowledge.knows(peer, &id(1))));
    assert!(knowledge.knows(&peers[199], &id(1)));
    knowledge.forget_peer(&peers[130]);
    assert!(!knowledge.knows(&peers[130], &id(1)) && knowledge.knows(&peers[131], &id(1)));
    assert_eq!(knowledge.len_of(&peers[199]), 1);
}

#[test]
fn a_new_peer_does_not_inherit_a_forgotten_peers_knowledge() {
    let mut knowledge = PeerKnowledge::new(10, 1);
    knowledge.mark_ids(validator(1), &[id(1), id(2)]);
    knowledge.forget_peer(&validator(1));
    knowledge.mark(validator(2), id(3)); // takes the freed place
    assert!(!knowledge.knows(&validator(2), &id(1)) && !knowledge.knows(&validator(2), &id(2)));
    assert_eq!(knowledge.len_of(&validator(2)), 1);
}

#[test]
fn knowledge_of_a_disconnected_peer_is_forgotten() {
    let mut knowledge = PeerKnowledge::from_config(&GossipConfig::test());
    knowledge.mark_ids(validator(1), &[id(1), id(2)]);
    knowledge.mark(validator(2), id(1));
    knowledge.forget_peer(&validator(1));
    assert!(!knowledge.knows(&validator(1), &id(1)));
    assert_eq!(knowledge.len_of(&validator(1)), 0);
    assert!(knowledge.knows(&validator(2), &id(1)), "other peers are unaffected");
}

#[test]
fn knowledge_ignores_peers_beyond_its_peer_bound() {
    let mut knowledge = PeerKnowledge::new(10, 2);
    knowledge.mark(validator(1), id(1));
    knowledge.mark(validator(2), id(1));
    knowledge.mark(validator(3), id(1));
    assert!(!knowledge.knows(&validator(3), &id(1)));
    assert_eq!(knowledge.peer_count(), 2);
    knowledge.mark(validator(1), id(2)); // tracked peers still learn
    assert!(knowledge.knows(&validator(1), &id(2)));
    knowledge.forget_peer(&validator(1)); // a disconnect makes room
    knowledge.mark(validator(3), id(1));
    assert!(knowledge.knows(&validator(3), &id(1)));
}
