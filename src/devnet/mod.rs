//! The devnet: a reference BFT engine on quorumnet, and N validators running it in one process.
//!
//! It exists to exercise the network the way a real consensus engine does (DESIGN.md §6), and to
//! show an engine author the wiring: the engine ([`engine`]) is a pure Tendermint-style state machine;
//! its [`driver`] connects it to a node only through quorumnet's public traits
//! ([`MessageBroadcaster`](crate::node::MessageBroadcaster),
//! [`HeartbeatProtocol`](crate::node::HeartbeatProtocol),
//! [`LivenessMonitor`](crate::node::LivenessMonitor),
//! [`ConsensusMessageReceiver`](crate::node::ConsensusMessageReceiver)).
//!
//! Compiled with both transport features (`memory`, `tcp-noise`), the default.
//!
//! # Guarantees
//! - Safety with fewer than 1/3 of the power faulty: 2/3 quorums by voting power, Tendermint locking;
//!   [`Devnet::check_agreement`] checks every height across validators rather than assuming it.
//! - Liveness after a crash: rounds advance on timeouts that grow with the round; a restarted
//!   validator joins the others' round (round skip) and catches up on missed heights ([`catchup`]).
//! - Determinism on the simulator: on a paused current-thread runtime, a seed fixes the commit trace
//!   (heights, rounds, blocks and their virtual times). Finality latency on `memory` is virtual time:
//!   what the simulated links cost, not what this machine's CPU costs.
//!
//! # Non-guarantees
//! - Blocks are filler bytes; there is no execution, mempool or persistence beyond the in-process
//!   [`journal`] (the stand-in for a validator's disk across a simulated crash).
//! - The engine detects no byzantine behaviour itself: every validly signed vote counts toward the
//!   block it names (a few per validator, round and phase at most), and once the node proves an
//!   equivocation none of the equivocator's messages about later heights does
//!   ([`Engine::on_evidence`]). Detection, evidence, scoring and bans are the node's.
//!
//! # Pieces
//! - [`block`], [`proposer`], [`votes`], [`locking`], [`timeouts`], [`catchup`], [`journal`]: one
//!   concept each, used by [`engine`].
//! - [`cluster`]: keys, validator sets and node builders for validators in one process; [`mixed`]:
//!   which validator listens on which real transport under `--transport mixed`.
//! - [`runner`]: [`Devnet`], crash/restart and waits; [`report`]: the end-of-run report.
//! - [`byzantine`]: validators that misbehave with real bytes on real connections (equivocators,
//!   forgers, spammers, impersonators, …), put in a validator's place by
//!   [`Devnet::start_byzantine`].
//! - [`churn`]: validators leaving and joining through validator-set changes, by the chain's
//!   [`validator_schedule`].
//! - [`cli`]: `quorumnet devnet`; [`preset`]: its named scenarios; [`byzantine_mix`]: its
//!   `--byzantine KIND=COUNT,…` value.
//! - [`partition`]: a partition scheduled by height (`--partition A|B@H`) and when it heals;
//!   [`partition_driver`] cuts and heals the simulated network on that schedule, for the report.
//! - [`signals`]: bans and partition signals recorded from each node's events; [`findings`]: what
//!   the report says of the byzantine validators, evidence, bans and partitions; [`plot`]: the
//!   report's SVG of finality latency per height.

pub mod block;
pub mod byzantine;
pub mod byzantine_mix;
pub mod catchup;
pub mod churn;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod driver;
pub mod engine;
pub mod error;
pub mod findings;
pub mod journal;
pub mod locking;
pub mod mixed;
pub mod partition;
pub mod partition_driver;
pub mod peak_memory;
pub mod plot;
pub mod preset;
pub mod proposer;
pub mod report;
pub mod runner;
pub mod signals;
pub mod timeouts;
pub mod validator_schedule;
pub mod votes;

pub use config::{DevnetConfig, TransportKind};
pub use engine::{Engine, EngineConfig};
pub use error::DevnetError;
pub use report::Report;
pub use runner::Devnet;
