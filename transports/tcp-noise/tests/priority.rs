//! DESIGN.md §2's headline over tcp-noise on loopback: a vote queued while a 4 MiB proposal is being
//! sent arrives before the proposal completes. Loopback's bandwidth is not known (nor shaped), so the
//! scenario asserts ordering and integrity; the vote's latency is printed, and checked against the
//! proposal's here.

use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::node::link::testing::{vote_overtakes_proposal, LinkShape};
use quorumnet_core::transport::Transport;
use quorumnet_tcp_noise::TcpNoiseTransport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_after_a_4_mib_proposal_arrives_first_over_loopback() {
    let build = |ctx| Arc::new(TcpNoiseTransport::new(ctx)) as Arc<dyn Transport>;
    let shape = LinkShape { bandwidth: None, latency: Duration::ZERO, slack: Duration::ZERO };
    let report = vote_overtakes_proposal(build, "tcp-noise://127.0.0.1:0".parse().unwrap(), shape)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!("tcp-noise over loopback: {report}");
    // The vote waited behind at most K and one part; the proposal still had megabytes to go.
    assert!(report.vote_latency < report.proposal_latency, "{report}");
    assert!(report.proposal_after_vote > Duration::ZERO, "{report}");
}
