//! DESIGN.md §2's headline, over the in-memory transport: a vote queued while a 4 MiB proposal is
//! being sent arrives before the proposal completes, within (K + one part) / bandwidth + latency.
//!
//! The scenario is `quorumnet_core::node::link::testing::vote_overtakes_proposal`, written once for
//! any transport: another transport proves it with one call, e.g.
//! `vote_overtakes_proposal(|ctx| factory.build(ctx), factory.listen_address(), LinkShape { bandwidth: None, .. })`
//! on loopback (ordering only), or with its link's known bandwidth to bound the vote's latency too.

use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::node::link::testing::{vote_overtakes_proposal, HeadlineReport, LinkShape};
use quorumnet_core::transport::Transport;
use quorumnet_memory::{LinkConfig, MemoryNetwork, MemoryTransport};

/// Runs the scenario over a simulated link with `bandwidth` bytes/s and `latency`, in virtual time.
async fn over_memory(bandwidth: u64, latency: Duration) -> HeadlineReport {
    let network = MemoryNetwork::new(2026);
    network.set_default_link(LinkConfig { bandwidth: Some(bandwidth), latency, ..LinkConfig::perfect() });
    // Tokio's timer rounds each simulated delay up to the next millisecond.
    let shape = LinkShape { bandwidth: Some(bandwidth), latency, slack: Duration::from_millis(3) };
    let build = |ctx| Arc::new(MemoryTransport::new(network.clone(), ctx)) as Arc<dyn Transport>;
    let report = vote_overtakes_proposal(build, "mem://headline".parse().unwrap(), shape)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{bandwidth} B/s, {latency:?}: {report}");
    report
}

#[tokio::test(start_paused = true)]
async fn vote_after_a_4_mib_proposal_arrives_first_on_a_10_mb_per_s_link() {
    let report = over_memory(10_000_000, Duration::from_millis(20)).await;
    // The proposal alone takes ~0.42 s to transmit; the vote overtakes it by far.
    assert!(report.proposal_after_vote > 10 * report.vote_latency, "{report}");
}

#[tokio::test(start_paused = true)]
async fn vote_after_a_4_mib_proposal_arrives_first_on_a_wan_link() {
    over_memory(12_500_000, Duration::from_millis(40)).await;
}

#[tokio::test(start_paused = true)]
async fn vote_after_a_4_mib_proposal_arrives_first_on_a_slow_link() {
    over_memory(1_000_000, Duration::from_millis(100)).await;
}
