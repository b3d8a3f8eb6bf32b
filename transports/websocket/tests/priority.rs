//! DESIGN.md §2's headline over websocket on loopback, `ws://` and `wss://`: a vote queued while a
//! 4 MiB proposal is being sent arrives before the proposal completes. As for tcp-noise, loopback's
//! bandwidth is unshaped, so the scenario asserts ordering and integrity and prints the latencies.

mod common;

use std::time::Duration;

use common::{Flavour, WAIT};
use quorumnet_core::node::link::testing::{vote_overtakes_proposal, LinkShape};

async fn vote_overtakes_over(flavour: Flavour) {
    let shape = LinkShape { bandwidth: None, latency: Duration::ZERO, slack: Duration::ZERO };
    let listen = format!("{}://127.0.0.1:0", flavour.scheme()).parse().unwrap();
    let scenario = vote_overtakes_proposal(|ctx| flavour.shared(ctx), listen, shape);
    let report = tokio::time::timeout(WAIT, scenario)
        .await
        .unwrap_or_else(|_| panic!("the scenario did not finish within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{} over loopback: {report}", flavour.scheme());
    // The vote waited behind at most K and one part; the proposal still had megabytes to go.
    assert!(report.vote_latency < report.proposal_latency, "{report}");
    assert!(report.proposal_after_vote > Duration::ZERO, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_after_a_4_mib_proposal_arrives_first_over_ws_loopback() {
    vote_overtakes_over(Flavour::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_after_a_4_mib_proposal_arrives_first_over_wss_loopback() {
    vote_overtakes_over(Flavour::Tls).await;
}
