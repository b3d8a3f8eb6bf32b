//! Large proposals without a proposer bottleneck: a block above one part travels as a small signed
//! header and parts that peers forward, so the proposer uploads about `replicas` blocks per proposal
//! instead of one per validator.
//!
//! **What travels.** [`Node::broadcast`](crate::node::Node::broadcast) of a
//! [`Proposal`](crate::message::Proposal) whose block exceeds [`PartsConfig::part_size`] signs a
//! [`ProposalHeader`](crate::message::ProposalHeader) — the proposal without its block, plus the
//! BLAKE3 hash of each part — and one [`ProposalPart`](crate::message::ProposalPart) envelope per
//! part. Every piece is an ordinary signed envelope, so verify-once, the seen-cache, the repair store,
//! `Have`/`Want` repair and forgery charging apply unchanged: a forwarder that alters a part fails its
//! signature on arrival and is charged for it, and the honest copy still gets in (a message is marked
//! seen only once verified). The hash list binds each part to that one header: a part the header does
//! not list is refused before the block completes.
//!
//! **How it spreads.** The header goes to every connected validator, as a whole proposal did. Part
//! `i` goes from the proposer to `replicas` peers only, consecutive in id order from an offset hashed
//! from the header's id (so different parts go to different peers, and proposals to different peers);
//! a peer that gets a part first-hand from its proposer pushes it to every peer not known to hold it.
//! Everyone else has it two hops from the proposer; digests and wants repair what a link lost. Without a
//! full view of the set, a second-hand part follows ordinary gossip (the origin's broadcast tree).
//!
//! **Trade-off.** A two-level tree of plain parts, not erasure coding: each validator downloads about
//! `replicas` copies of the block (erasure-coded pieces would need about one, plus decoding), and a
//! first-hop peer uploads a part to N − 2 peers, so per-validator upload is about `replicas` × block
//! for everyone rather than N − 1 blocks for the proposer. In exchange, every part is verifiable on its
//! own before the block completes, no coding library or decoding CPU is needed, and with `replicas` ≥ 2
//! one faulty first-hop peer per part costs nothing (its peers get the other copy) — a silent one is
//! repaired by `Have`/`Want`. The block takes two hops rather than one to arrive.
//!
//! Reassembly ([`Assembly`]) is pure and bounded; the node's glue is in `driver.rs`. The engine sees
//! one complete `Proposal`, once, however many peers its parts came from; its
//! [`IncomingMessage::envelope`](crate::node::IncomingMessage::envelope) is the header's envelope.
//! Blocks of at most one part keep the single-envelope path unchanged.

mod assembly;
mod config;
pub(crate) mod driver;

pub use assembly::{Assembly, Step};
pub use config::PartsConfig;
