//! Issue 5 item 4 at the node level, written once and run on every transport: a vote a validator
//! broadcasts right after a 4 MiB proposal reaches each peer's engine (its `IncomingMessages`) before
//! the proposal does. The link-level scenario is `core::node::link::testing::vote_overtakes_proposal`;
//! this one goes through `Node::broadcast`, the node's queues per priority, parts, reassembly and the
//! receive path. A transport adds itself with one test that starts a [`Sim`] on it.

mod common;

use std::time::Duration;

use common::Sim;
use quorumnet::memory::LinkConfig;
use quorumnet::node::NodeConfig;

const VALIDATORS: usize = 4;
/// A proposal whose envelope frame just fits the default 4 MiB frame limit (room left for the
/// envelope's fields and its 3 309-byte signature), as in the link-level scenario.
const BLOCK_LEN: usize = 4 * 1024 * 1024 - 16 * 1024;
const WITHIN: Duration = Duration::from_secs(30);

/// Validator 0 broadcasts the proposal, then the vote; every other validator's engine gets the vote
/// first and then the proposal. Returns, over the peers, the least time from the vote's delivery to
/// the proposal's.
async fn vote_overtakes_proposal(mut sim: Sim) -> Duration {
    sim.await_full_mesh(WITHIN).await;
    let proposal = sim.proposal(0, 1, BLOCK_LEN);
    let vote = sim.vote(0, 1);
    let proposal_id = sim.broadcast_message(0, &proposal).await;
    let vote_id = sim.broadcast_message(0, &vote).await;
    let peers: Vec<usize> = (1..VALIDATORS).collect();
    sim.await_delivered(&peers, &[proposal_id, vote_id], WITHIN).await;
    let mut least_gap = Duration::MAX;
    for peer in &peers {
        let order: Vec<_> = sim.trace.iter().filter(|d| d.node == *peer).collect();
        let ids: Vec<_> = order.iter().map(|d| d.id).collect();
        assert_eq!(ids, [vote_id, proposal_id], "validator {peer}: the vote first, then the proposal, once each");
        least_gap = least_gap.min(order[1].at - order[0].at);
    }
    sim.shutdown().await;
    least_gap
}

#[tokio::test(start_paused = true)]
async fn a_vote_broadcast_after_a_4_mib_proposal_reaches_the_engines_first_over_memory() {
    // 10 MB/s: the proposal takes ~0.42 s to transmit; the vote ~a millisecond behind one part.
    let link = LinkConfig { bandwidth: Some(10_000_000), latency: Duration::from_millis(20), ..LinkConfig::perfect() };
    let sim = Sim::start(VALIDATORS, 5, link, NodeConfig::test()).await;
    let gap = vote_overtakes_proposal(sim).await;
    assert!(gap > Duration::from_millis(300), "the proposal completed only {gap:?} after the vote");
}

/// One loopback run at a time: the claim is an order on real sockets in real time, and on a 2-core
/// machine the other transports' runs in this binary, each with its own two workers, can starve one
/// long enough that the whole proposal is written before the vote is even queued.
#[cfg(feature = "tcp-noise")]
static LOOPBACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The scenario on loopback sockets of `kind`, printing the gap it saw.
#[cfg(feature = "tcp-noise")]
async fn over_loopback(kind: quorumnet::devnet::TransportKind, name: &str) {
    let _turn = LOOPBACK.lock().await;
    let sim = Sim::start_loopback(kind, VALIDATORS, 5, NodeConfig::test(), |_, _| true).await;
    // Loopback's bandwidth is unshaped: the order is the claim; the gap is whatever it is.
    let gap = vote_overtakes_proposal(sim).await;
    println!("{name} loopback: the proposal completed {gap:?} after the vote, at least");
}

#[cfg(feature = "tcp-noise")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_broadcast_after_a_4_mib_proposal_reaches_the_engines_first_over_tcp_noise() {
    over_loopback(quorumnet::devnet::TransportKind::TcpNoise, "tcp-noise").await;
}

#[cfg(all(feature = "tcp-noise", feature = "quic"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_broadcast_after_a_4_mib_proposal_reaches_the_engines_first_over_quic() {
    over_loopback(quorumnet::devnet::TransportKind::Quic, "quic").await;
}

#[cfg(all(feature = "tcp-noise", feature = "websocket"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_broadcast_after_a_4_mib_proposal_reaches_the_engines_first_over_websocket() {
    over_loopback(quorumnet::devnet::TransportKind::Websocket, "websocket").await;
}
