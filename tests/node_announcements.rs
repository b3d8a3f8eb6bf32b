//! Announcements (`Have`) ride with envelopes: ids waiting to be announced to a peer leave with the
//! next envelope the node sends that peer, sharing its write, instead of waiting for their timer.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Sim;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{Frame, Height, MessageId};
use quorumnet::node::gossip::GossipConfig;
use quorumnet::node::liveness::LivenessConfig;
use quorumnet::node::NodeConfig;
use quorumnet::transport::Connection;
use quorumnet::validator::ListValidatorSetSource;

/// Far beyond the test: announcements and digests never go out on their own timers.
const NEVER: Duration = Duration::from_secs(3600);

/// The ids of every `Have` `conn` receives within `within`.
async fn haves_within(conn: &dyn Connection, within: Duration) -> Vec<MessageId> {
    let mut ids = Vec::new();
    let _ = tokio::time::timeout(within, async {
        loop {
            let bytes = conn.recv().await.expect("link up").expect("link open");
            if let Ok(Frame::Have { ids: have }) = Frame::decode(&bytes) {
                ids.extend(have);
            }
        }
    })
    .await;
    ids
}

/// Node 0 learns validator 1's message first-hand in a full view, so it owes validator 3 (a raw peer)
/// an announcement, due only after `NEVER`. Node 0's own broadcast, pushed to validator 3, carries it.
#[tokio::test(start_paused = true)]
async fn a_waiting_announcement_leaves_with_the_next_envelope_to_its_peer() {
    let gossip = GossipConfig { announce_delay: NEVER, tree_announce_delay: NEVER, ..GossipConfig::test() };
    let base = NodeConfig::test();
    // No heartbeats: they are envelopes too, and would carry the announcement early.
    let liveness = LivenessConfig {
        heartbeat_interval: NEVER,
        liveness_timeout: 2 * NEVER,
        ping_interval: NEVER,
        ..base.liveness
    };
    let config = NodeConfig { gossip, liveness, digest_interval: NEVER, ..base };
    let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::new(4, 11, link, config);
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    for i in 0..3 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    let raw = sim.raw_peer(3, 0).await;
    sim.await_connected(0, &[1, 2, 3].into(), Duration::from_secs(10)).await;
    haves_within(raw.as_ref(), Duration::from_secs(1)).await; // the start-up digest
    let first = sim.broadcast(1, 1).await;
    sim.await_delivered(&[0, 2], &[first], Duration::from_secs(10)).await;
    assert!(!haves_within(raw.as_ref(), Duration::from_secs(5)).await.contains(&first), "not due yet");
    sim.broadcast(0, 1).await;
    let haves = haves_within(raw.as_ref(), Duration::from_secs(1)).await;
    assert!(haves.contains(&first), "the announcement rode with node 0's envelope: {haves:?}");
}
