//! [`VerificationCache`]: envelope signature checks shared by the nodes of one simulation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::gossip::fifo::FifoMap;
use crate::identity::{ChainId, PublicKey};
use crate::message::{signing_bytes, Envelope};

/// The outcomes of envelope signature checks, shared by every node of one process — **for
/// simulations only**.
///
/// In a devnet of N validators in one process, every envelope is verified by every node: N
/// verifications of the same bytes under the same key, each ~8.5 µs of ML-DSA-65, the largest
/// single cost of a 100-validator run. A verification is a pure function of (public key, signing
/// bytes, signature), so its outcome is keyed by a BLAKE3 hash of the three and reused; a result is
/// never changed once recorded. Nodes still check each envelope at most once each, and every
/// other check (origin, author, equivocation, replay, rate limits) still runs per node.
///
/// A real node never shares one: on a network each node must check every signature itself, or
/// one compromised process could vouch for forgeries. [`NodeBuilder::verification_cache`]
/// refuses to build a node that has a transport other than the simulator's, and a devnet report
/// says when the cache was on.
///
/// Bounded: at most `capacity` outcomes (the oldest forgotten first; a forgotten one is simply
/// verified again), about 48 bytes each.
///
/// [`NodeBuilder::verification_cache`]: super::NodeBuilder::verification_cache
///
/// ```
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::{ConsensusMessage, Envelope, Height, Round, Vote};
/// use quorumnet_core::node::VerificationCache;
///
/// let (chain, key) = (ChainId::from_network_name("devnet"), Keypair::from_seed(&[3; 32]));
/// let vote = ConsensusMessage::PreVote(Vote { height: Height(1), round: Round(0), validator: key.validator_id(), block_hash: None });
/// let envelope = Envelope::sign_message(&key, chain, 1, 3, &vote);
/// let cache = VerificationCache::new(1_000);
/// assert!(cache.verify(chain, key.public_key(), &envelope));
/// assert!(cache.verify(chain, key.public_key(), &envelope));
/// assert_eq!((cache.stats().verified, cache.stats().reused), (1, 1));
/// ```
#[derive(Debug)]
pub struct VerificationCache {
    outcomes: Mutex<Outcomes>,
    verified: AtomicU64,
    reused: AtomicU64,
}

#[derive(Debug)]
struct Outcomes {
    map: FifoMap<[u8; 32], bool>,
    capacity: usize,
}

/// What a [`VerificationCache`] did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerificationCacheStats {
    /// Signatures actually verified.
    pub verified: u64,
    /// Checks answered from a recorded outcome.
    pub reused: u64,
}

impl VerificationCache {
    /// An empty cache of at most `capacity` outcomes (at least 1).
    pub fn new(capacity: usize) -> Self {
        VerificationCache {
            outcomes: Mutex::new(Outcomes { map: FifoMap::new(), capacity: capacity.max(1) }),
            verified: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        }
    }

    /// Whether `envelope` verifies under `key` on `chain`, as [`Envelope::verify`] answers (the key
    /// must be the origin's), from a recorded outcome if there is one.
    pub fn verify(&self, chain: ChainId, key: &PublicKey, envelope: &Envelope) -> bool {
        if key.validator_id() != envelope.origin {
            return false;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"quorumnet/1/verification-cache");
        // The origin is the key's hash, so it names the key.
        hasher.update(envelope.origin.as_bytes());
        hasher
            .update(blake3::hash(&signing_bytes(&chain, &envelope.origin, envelope.seq, &envelope.payload)).as_bytes());
        hasher.update(blake3::hash(envelope.sig.as_bytes()).as_bytes());
        let key_hash = *hasher.finalize().as_bytes();
        if let Some(outcome) = self.lock().map.get(&key_hash).copied() {
            self.reused.fetch_add(1, Ordering::Relaxed);
            return outcome;
        }
        // Verified outside the lock: other nodes' checks go on meanwhile, and two racing on one
        // envelope both verify it, harmlessly.
        let outcome = envelope.verify(chain, key).is_ok();
        self.verified.fetch_add(1, Ordering::Relaxed);
        let mut outcomes = self.lock();
        outcomes.map.insert(key_hash, outcome);
        if outcomes.map.len() > outcomes.capacity {
            outcomes.map.pop_oldest();
        }
        outcome
    }

    /// Verifications done and reused so far.
    pub fn stats(&self) -> VerificationCacheStats {
        VerificationCacheStats {
            verified: self.verified.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outcomes> {
        self.outcomes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
