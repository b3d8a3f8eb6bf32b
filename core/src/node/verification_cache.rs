//! [`VerificationCache`]: envelope signature checks shared by the nodes of one simulation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::gossip::fifo::FifoMap;
use crate::identity::{ChainId, PublicKey, Signature};
use crate::message::{Envelope, MessageId};

/// The outcomes of envelope signature checks, shared by every node of one process — **for
/// simulations only**.
///
/// In a devnet of N validators in one process, every envelope is verified by every node: N
/// verifications of the same bytes under the same key, each ~8.5 µs of ML-DSA-65, the largest
/// single cost of a 100-validator run. A verification is a pure function of (public key, signing
/// bytes, signature), so its outcome is kept under a BLAKE3 hash of the chain and the envelope's
/// [`MessageId`] — which hashes origin (the key's own hash), sequence number and payload, so with the
/// chain it fixes key and signing bytes, and the node has computed it already — with the signature itself (shared, not copied), and reused for a check of the same three — the
/// signature compared byte for byte, which costs less than hashing its 3.3 KB. A result is never
/// changed once recorded. Nodes still check each envelope at most once each, and every
/// other check (origin, author, equivocation, replay, rate limits) still runs per node.
///
/// A real node never shares one: on a network each node must check every signature itself, or
/// one compromised process could vouch for forgeries. [`NodeBuilder::verification_cache`]
/// refuses to build a node that has a transport other than the simulator's, and a devnet report
/// says when the cache was on.
///
/// Bounded: at most `capacity` signed messages (the oldest forgotten first; a forgotten one is
/// simply verified again), each holding at most 4 signatures alive (~3.3 KB each).
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
/// let mut copy = envelope.clone();
/// assert!(cache.verify(chain, key.public_key(), &mut copy));
/// assert!(cache.verify(chain, key.public_key(), &mut copy));
/// assert_eq!((cache.stats().verified, cache.stats().reused), (1, 1));
/// ```
#[derive(Debug)]
pub struct VerificationCache {
    outcomes: Mutex<Outcomes>,
    verified: AtomicU64,
    reused: AtomicU64,
}

/// Per signed message (key and signing bytes), the signatures checked for it and their outcomes: an
/// honest message has one; forged copies add theirs, up to [`SIGNATURES_PER_MESSAGE`], after which
/// further ones are verified every time.
#[derive(Debug)]
struct Outcomes {
    map: FifoMap<[u8; 32], Kept>,
    capacity: usize,
}

/// One signed message's payload (the same bytes for every signature of it) and the signatures
/// checked for it.
#[derive(Debug)]
struct Kept {
    payload: bytes::Bytes,
    signatures: Vec<(Signature, bool)>,
}

/// Signatures whose outcome is kept per signed message.
const SIGNATURES_PER_MESSAGE: usize = 4;

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
    ///
    /// A valid envelope's payload and signature are pointed at the copy first recorded (the same
    /// bytes): each simulated node would otherwise keep its own decoded 3.4 KB in its message store,
    /// and at 1 000 validators those copies of one height's messages are 7 GB.
    pub fn verify(&self, chain: ChainId, key: &PublicKey, envelope: &mut Envelope) -> bool {
        let id = envelope.id();
        self.verify_identified(chain, key, &id, envelope)
    }

    /// [`verify`](Self::verify) for a caller that holds the envelope's id (`id` must be
    /// `envelope.id()`): saves hashing the payload again, once per node per message.
    pub fn verify_identified(&self, chain: ChainId, key: &PublicKey, id: &MessageId, envelope: &mut Envelope) -> bool {
        debug_assert_eq!(*id, envelope.id(), "the id given is the envelope's");
        if key.validator_id() != envelope.origin {
            return false;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(VERIFICATION_CACHE_DOMAIN);
        hasher.update(chain.as_bytes());
        hasher.update(id.as_bytes());
        let signed = *hasher.finalize().as_bytes();
        let recorded = self.lock().map.get(&signed).and_then(|kept| {
            let (sig, outcome) = kept.signatures.iter().find(|(sig, _)| *sig == envelope.sig)?;
            Some((*outcome, kept.payload.clone(), sig.clone()))
        });
        if let Some((outcome, payload, sig)) = recorded {
            self.reused.fetch_add(1, Ordering::Relaxed);
            if outcome {
                (envelope.payload, envelope.sig) = (payload, sig);
            }
            return outcome;
        }
        // Verified outside the lock: other nodes' checks go on meanwhile, and two racing on one
        // envelope both verify it, harmlessly.
        let outcome = envelope.verify(chain, key).is_ok();
        self.verified.fetch_add(1, Ordering::Relaxed);
        let mut outcomes = self.lock();
        match outcomes.map.get_mut(&signed) {
            Some(kept) if kept.signatures.len() < SIGNATURES_PER_MESSAGE => {
                kept.signatures.push((envelope.sig.clone(), outcome));
            }
            Some(_) => {}
            None => {
                let kept =
                    Kept { payload: envelope.payload.clone(), signatures: vec![(envelope.sig.clone(), outcome)] };
                outcomes.map.insert(signed, kept);
            }
        }
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

/// BLAKE3 of [`signing_bytes`](crate::message::signing_bytes) for `envelope` on `chain`, fed piece by
/// piece rather than built in a buffer first.
const VERIFICATION_CACHE_DOMAIN: &[u8] = b"quorumnet/1/verification-cache";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;

    /// A forged copy of a message whose genuine copy is cached is checked on its own signature.
    #[test]
    fn a_forged_copy_of_a_cached_message_is_rejected_and_its_outcome_kept_apart() {
        let (chain, key) = (ChainId::from_network_name("devnet"), Keypair::from_seed(&[5; 32]));
        let genuine = Envelope::sign(&key, chain, 9, 3, bytes::Bytes::from_static(b"a vote"));
        let mut sig = genuine.sig.as_bytes().to_vec();
        sig[7] ^= 0x40;
        let forged = Envelope { sig: Signature::from_bytes(sig), ..genuine.clone() };
        let cache = VerificationCache::new(8);
        for _ in 0..2 {
            assert!(cache.verify(chain, key.public_key(), &mut genuine.clone()));
            assert!(!cache.verify(chain, key.public_key(), &mut forged.clone()));
        }
        assert_eq!(cache.stats(), VerificationCacheStats { verified: 2, reused: 2 });
    }

    /// Copies decoded apart come back sharing the first recorded copy's bytes; a forged one keeps its own.
    #[test]
    fn valid_copies_share_the_first_copys_bytes() {
        let (chain, key) = (ChainId::from_network_name("devnet"), Keypair::from_seed(&[6; 32]));
        let first = Envelope::sign(&key, chain, 9, 3, bytes::Bytes::from_static(b"a vote"));
        let decoded_apart = |envelope: &Envelope| Envelope::decode(&envelope.encode()).expect("decodes");
        let cache = VerificationCache::new(8);
        let mut recorded = decoded_apart(&first);
        assert!(cache.verify(chain, key.public_key(), &mut recorded));
        let mut later = decoded_apart(&first);
        assert_ne!(later.sig.as_bytes().as_ptr(), recorded.sig.as_bytes().as_ptr());
        assert!(cache.verify(chain, key.public_key(), &mut later));
        assert_eq!(later, recorded);
        assert_eq!(later.sig.as_bytes().as_ptr(), recorded.sig.as_bytes().as_ptr());
        assert_eq!(later.payload.as_ptr(), recorded.payload.as_ptr());
        let mut sig = first.sig.as_bytes().to_vec();
        sig[0] ^= 1;
        let mut forged = Envelope { sig: Signature::from_bytes(sig), ..decoded_apart(&first) };
        let forged_sig = forged.sig.as_bytes().as_ptr();
        assert!(!cache.verify(chain, key.public_key(), &mut forged));
        assert_eq!(forged.sig.as_bytes().as_ptr(), forged_sig);
    }

    /// The id does not name the chain: one envelope checked for another chain is checked apart.
    #[test]
    fn an_outcome_is_kept_per_chain() {
        let (chain, other, key) =
            (ChainId::from_network_name("devnet"), ChainId::from_network_name("other"), Keypair::from_seed(&[4; 32]));
        let envelope = Envelope::sign(&key, chain, 77, 3, bytes::Bytes::from_static(b"any payload"));
        let cache = VerificationCache::new(8);
        assert!(cache.verify(chain, key.public_key(), &mut envelope.clone()));
        assert!(!cache.verify(other, key.public_key(), &mut envelope.clone()), "signed for the first chain only");
        assert_eq!(cache.stats(), VerificationCacheStats { verified: 2, reused: 0 });
    }
}
