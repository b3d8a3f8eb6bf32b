//! The reference engine's step timeouts follow the network's measured quorum round trip: on the
//! simulator in virtual time, links slowed from 50 ms to 300 ± 100 ms mid-run keep deciding heights in
//! their first round once the estimate has caught up, where the fixed local preset fails every first
//! round.

use std::time::Duration;

use quorumnet::devnet::journal::CommitPath;
use quorumnet::devnet::timeouts::{TimeoutConfig, TimeoutSource};
use quorumnet::devnet::{Devnet, DevnetConfig};
use quorumnet::memory::LinkConfig;
use quorumnet::message::Height;
use quorumnet::node::NetworkTiming;

const VALIDATORS: usize = 4;

/// Virtual-time bound for a stretch of heights over slow links (a height takes about 1 s).
const WITHIN: Duration = Duration::from_secs(120);

fn wan() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(300), jitter: Duration::from_millis(100), ..LinkConfig::perfect() }
}

/// Commits 3 heights on the preset's 50 ms links, slows every link to [`wan`], lets the estimate
/// settle for `settle`, then commits 10 more heights and returns the rounds they were decided in
/// (validator 0's view) with the devnet.
async fn rounds_after_slowdown(config: DevnetConfig, settle: Duration) -> (Vec<u32>, Devnet) {
    let everyone: Vec<usize> = (0..VALIDATORS).collect();
    let mut devnet = Devnet::start(config).await.expect("devnet starts");
    devnet.wait_for_height(Height(3), &everyone, WITHIN).await.expect("fast heights commit");
    devnet.network().set_default_link(wan());
    tokio::time::sleep(settle).await;
    let from = devnet.journal(0).unwrap().chain.len();
    devnet.wait_for_height(Height(from as u64 + 10), &everyone, WITHIN).await.expect("slow heights commit");
    devnet.check_agreement().expect("validators agree");
    let chain = devnet.journal(0).unwrap().chain;
    let rounds = chain[from..from + 10].iter().filter(|c| c.path == CommitPath::Decided).map(|c| c.round.0).collect();
    (rounds, devnet)
}

#[tokio::test(start_paused = true)]
async fn first_rounds_decide_again_once_the_estimate_follows_slower_links() {
    // Pings every second; SRTT + 4·RTTVAR jumps with the first slow samples, so a few seconds suffice.
    let (rounds, devnet) = rounds_after_slowdown(DevnetConfig::memory(VALIDATORS, 11), Duration::from_secs(5)).await;
    assert!(rounds.len() >= 8, "validator 0 decided most heights itself: {rounds:?}");
    assert!(rounds.iter().all(|r| *r == 0), "every height decided in round 0 after the estimate caught up: {rounds:?}");
    let node = devnet.node(0).unwrap();
    let rtt = NetworkTiming::quorum_round_trip(node).await.unwrap().expect("a quorum was measured");
    assert!(rtt >= Duration::from_millis(600), "the estimate follows the slow links (two ways of 300 ms+): {rtt:?}");
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_fixed_local_preset_loses_first_rounds_on_the_same_slowdown() {
    let mut config = DevnetConfig::memory(VALIDATORS, 11);
    config.engine.timeouts = TimeoutSource::Fixed(TimeoutConfig::local());
    let (rounds, devnet) = rounds_after_slowdown(config, Duration::from_secs(5)).await;
    assert!(rounds.iter().any(|r| *r > 0), "fixed 200 ms vote steps cannot hear 300 ms links: {rounds:?}");
    devnet.shutdown().await;
}
