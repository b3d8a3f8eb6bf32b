//! 100 validators in one process, in virtual time: every broadcast reaches every validator, and the
//! simulation takes seconds of wall time.

mod common;

use std::time::Duration;

use common::Sim;
use quorumnet::memory::LinkConfig;
use quorumnet::node::NodeConfig;

#[tokio::test(start_paused = true)]
async fn every_broadcast_reaches_all_100_validators() {
    let n = 100;
    let link =
        LinkConfig { latency: Duration::from_millis(50), jitter: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::start(n, 100, link, NodeConfig::test()).await;
    sim.await_full_mesh(Duration::from_secs(30)).await;
    let mut ids = Vec::new();
    for origin in (0..n).step_by(5) {
        ids.push(sim.broadcast(origin, 1).await);
    }
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(10)).await;
    assert_eq!(sim.trace.len(), ids.len() * (n - 1));
    sim.shutdown().await;
}
