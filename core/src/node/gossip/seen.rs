//! The seen-cache: which verified messages this node already has, and how many copies came again.

use std::time::Duration;

use tokio::time::Instant;

use super::fifo::FifoMap;
use super::{has_aged, GossipConfig};
use crate::message::MessageId;

/// Whether a verified message was new to the [`SeenCache`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// First verified copy: deliver it to the engine and gossip it.
    New,
    /// Another copy of a message already seen; the count of such copies so far, this one included
    /// (1 for the first duplicate). Exact duplicates are normal gossip, never a fault.
    Duplicate(u32),
}

#[derive(Debug)]
struct SeenEntry {
    first_seen: Instant,
    duplicates: u32,
}

/// The ids of messages this node has verified, bounded in entries and in age, with a duplicate count
/// per id: the cost of gossip, measured rather than guessed.
///
/// **Record only verified messages.** A message is marked seen only after its envelope's signature
/// verified under its origin's key, so a corrupted copy arriving first cannot suppress the real one:
/// a bad copy is charged to the peer that sent it and the real copy, arriving later, is still new.
///
/// Bounds: at most `max_entries` ids, each forgotten `max_age` after it was first recorded, oldest
/// first (duplicates do not extend an entry's life). A forgotten id is new again if a copy comes back:
/// the age must exceed how long a message can circulate, and the sequence window of the byzantine layer
/// catches what comes back later. Every operation is amortised O(1).
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::message::MessageId;
/// use quorumnet_core::node::gossip::{Seen, SeenCache};
/// use tokio::time::Instant;
///
/// let mut seen = SeenCache::new(1_000, Duration::from_secs(60));
/// let (id, now) = (MessageId([1; 32]), Instant::now());
/// assert_eq!(seen.record(id, now), Seen::New);
/// assert_eq!(seen.record(id, now), Seen::Duplicate(1));
/// assert_eq!(seen.record(id, now), Seen::Duplicate(2));
/// assert_eq!(seen.total_duplicates(), 2);
/// assert!(!seen.contains(&id, now + Duration::from_secs(61)));
/// ```
#[derive(Debug)]
pub struct SeenCache {
    entries: FifoMap<MessageId, SeenEntry>,
    max_entries: usize,
    max_age: Duration,
    total_duplicates: u64,
    peak: usize,
}

impl SeenCache {
    /// An empty cache of at most `max_entries` ids (at least 1), each kept at most `max_age`.
    pub fn new(max_entries: usize, max_age: Duration) -> Self {
        SeenCache { entries: FifoMap::new(), max_entries: max_entries.max(1), max_age, total_duplicates: 0, peak: 0 }
    }

    /// An empty cache with the bounds of `config`.
    pub fn from_config(config: &GossipConfig) -> Self {
        Self::new(config.seen_max_entries, config.seen_max_age)
    }

    /// Records one verified copy of message `id` received at `now`.
    ///
    /// Returns [`Seen::New`] for the first copy (evicting the oldest id if the cache is full) and
    /// [`Seen::Duplicate`] with the running count for every further copy within the bounds.
    pub fn record(&mut self, id: MessageId, now: Instant) -> Seen {
        self.expire(now);
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.duplicates = entry.duplicates.saturating_add(1);
            self.total_duplicates = self.total_duplicates.saturating_add(1);
            return Seen::Duplicate(entry.duplicates);
        }
        self.entries.insert(id, SeenEntry { first_seen: now, duplicates: 0 });
        while self.entries.len() > self.max_entries {
            self.entries.pop_oldest();
        }
        self.peak = self.peak.max(self.entries.len());
        Seen::New
    }

    /// Whether `id` was recorded and is not older than the age bound at `now`; records nothing.
    pub fn contains(&self, id: &MessageId, now: Instant) -> bool {
        self.entries.get(id).is_some_and(|entry| !has_aged(entry.first_seen, now, self.max_age))
    }

    /// When `id` was first recorded, if it is still remembered.
    pub fn first_seen(&self, id: &MessageId) -> Option<Instant> {
        self.entries.get(id).map(|entry| entry.first_seen)
    }

    /// Duplicates received so far of `id`, if it is still remembered.
    pub fn duplicates_of(&self, id: &MessageId) -> Option<u32> {
        self.entries.get(id).map(|entry| entry.duplicates)
    }

    /// Duplicates received since the cache was created, forgotten ids included: the headline metric.
    pub fn total_duplicates(&self) -> u64 {
        self.total_duplicates
    }

    /// Forgets every id older than the age bound at `now`. [`record`](Self::record) does this itself;
    /// call it on a timer to release memory when no messages arrive.
    pub fn expire(&mut self, now: Instant) {
        let max_age = self.max_age;
        self.entries.pop_oldest_while(|entry| has_aged(entry.first_seen, now, max_age));
    }

    /// The most ids remembered at once so far: at most `max_entries`.
    pub fn peak_len(&self) -> usize {
        self.peak
    }

    /// Ids remembered now (expired ones included until the next [`expire`](Self::expire) or record).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
