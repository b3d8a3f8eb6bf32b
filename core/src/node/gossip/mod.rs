//! Gossip (DESIGN.md §5): the redundancy behind broadcast, and the repair that lets a validator that
//! missed messages get them — as pure, deterministic data structures and decisions.
//!
//! Broadcast sends each message this node originates directly to every connected validator. Gossip
//! then covers the links that were down: each node that verifies a new message forwards it to a few
//! peers not known to hold it (eager push, bounded by a fanout and by the envelope's ttl in hops),
//! announces its id to a few more (`Have`, 34 bytes against 3.3 KB of ML-DSA signature), and answers
//! requests (`Want`) from its [`MessageStore`]. Digests of recent ids, sent when a link comes up and
//! periodically, let a validator back from a link reset, a partition or a late start pull what it
//! missed, without anyone flooding.
//!
//! # Pieces
//! - [`SeenCache`]: ids of verified messages, bounded in entries and age, with duplicate counts.
//! - [`MessageStore`]: recent verified envelopes for repair, bounded in entries and bytes.
//! - [`PeerKnowledge`]: per message id, the peers known to hold it; bounded, a peer forgotten on
//!   disconnect.
//! - [`GossipPolicy`]: whom to push to and announce to ([`ForwardPlan`]), which announced ids to ask
//!   for (tracking outstanding wants with bounds and expiry), what to answer, and whether an envelope
//!   was asked for ([`Arrival`]).
//! - [`BroadcastTrees`]: per origin, the peers its messages are pushed to (eager) and those only
//!   announced to (lazy), shaped by `Prune` (a pushed duplicate) and `Want` (a pull): Plumtree, so
//!   after an origin's first message each validator gets it about once, along the fastest paths, and
//!   in a full mesh copies straight from the origin are only announced.
//! - [`AddressBook`]: each validator's newest signed [`AddressRecord`](crate::message::AddressRecord),
//!   falling back to the validator set's addresses.
//! - [`GossipConfig`]: every number above, with `recommended()`, `local()` and `test()` presets.
//!
//! None of them spawns a task or does I/O. Time comes in as a [`tokio::time::Instant`] argument and
//! randomness as an `rng` argument, so a simulation on a paused clock with a seeded rng replays exactly;
//! peers are kept in ordered maps, so nothing depends on hash order.
//!
//! # Guarantees
//! - Every structure is bounded, and what happens at the bound is documented on it: the oldest entry is
//!   evicted, or the new work is skipped for a later digest to bring back. A peer cannot grow them.
//! - A message is marked seen only after its signature verified, so a corrupted copy arriving first
//!   cannot suppress the real one (the caller's side of the contract: record only verified messages).
//! - An exact duplicate is counted, never treated as a fault.
//! - An envelope we asked for is marked [`Arrival::Requested`] from our own record of requests, so the
//!   byzantine layer never takes a repair answer for a replay, and a sender cannot claim the marker.
//! - Forwarding never sends a message to the peer it came from, to its origin, or to a peer known to
//!   hold it; an envelope with ttl 0 is not forwarded.
//!
//! # Non-guarantees
//! - Gossip is best effort: what every store evicted before a validator asked is gone from the network
//!   layer; the engine's block sync covers long absences. Per-message delivery guarantees are
//!   reliable delivery's job (acknowledgements from the destination).
//! - A seen id is forgotten after its age bound; a copy arriving later is new again, and the
//!   byzantine layer's sequence window, not the seen-cache, decides if it is a replay.
//! - Knowledge of what peers hold is a hint: bounded, so a peer may be sent what it already has.
//!
//! ```
//! use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
//! use quorumnet_core::message::{Envelope, Frame};
//! use quorumnet_core::node::gossip::{GossipConfig, GossipPolicy, MessageStore, PeerKnowledge, Seen, SeenCache};
//! use tokio::time::Instant;
//!
//! let config = GossipConfig::test();
//! let (mut seen, mut store) = (SeenCache::from_config(&config), MessageStore::from_config(&config));
//! let mut policy = GossipPolicy::new(config.clone());
//! let mut knowledge = PeerKnowledge::from_config(&config);
//! let (peer, now) = (ValidatorId([1; 32]), Instant::now());
//!
//! // We hold a verified message; the peer, back after a link reset, gets our digest...
//! let key = Keypair::from_seed(&[9; 32]);
//! let envelope = Envelope::sign(&key, ChainId::from_network_name("devnet"), 1, 3, b"vote".to_vec());
//! assert_eq!(seen.record(envelope.id(), now), Seen::New);
//! store.insert(envelope.clone());
//! let announced = PeerKnowledge::from_config(&config); // what earlier digests offered
//! let digest = policy.digest_for(&peer, &store, &knowledge, &announced, &seen, now);
//! let [Frame::Have { ids }] = &digest[..] else { panic!("one Have frame") };
//!
//! // ...it lacks the message and asks for it (its own policy and caches, in reality)...
//! let mut theirs = GossipPolicy::new(config.clone());
//! let (their_seen, their_store) = (SeenCache::from_config(&config), MessageStore::from_config(&config));
//! let wanted = theirs.on_have(ValidatorId([2; 32]), ids, &their_seen, &their_store, &mut knowledge, now);
//!
//! // ...and we answer from the store.
//! let answer = policy.answer_want(&wanted, &store);
//! assert_eq!(answer.len(), 1);
//! assert_eq!(answer[0].id(), envelope.id());
//! ```

mod address_book;
mod config;
mod digest_sample;
pub(crate) mod fifo;
mod knowledge;
mod policy;
mod seen;
mod store;
mod trees;

pub use address_book::{AddressBook, RecordUpdate};
pub use config::GossipConfig;
pub use digest_sample::digest_carries;
pub use knowledge::{Holders, PeerKnowledge};
pub use policy::{Arrival, CopyKind, ForwardPlan, GossipPolicy};
pub use seen::{Seen, SeenCache};
pub use store::MessageStore;
pub use trees::{BroadcastTrees, Mode};

use std::time::Duration;

use tokio::time::Instant;

/// Whether something that happened at `since` is at least `age` old at `now` (never, if `now` is
/// earlier: clocks passed in by callers are trusted to be monotonic, not assumed to be).
fn has_aged(since: Instant, now: Instant, age: Duration) -> bool {
    now.saturating_duration_since(since) >= age
}
