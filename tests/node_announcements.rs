//! Announcements (`Have`) ride with envelopes: ids waiting to be announced to a peer — a message's
//! id, or a periodic digest — leave with the next envelope the node sends that peer, sharing its
//! write, and otherwise on their own timer.

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
use tokio::time::Instant;

/// Far beyond the test: what waits this long never goes out on its own timer.
const NEVER: Duration = Duration::from_secs(3600);

/// Nodes 0, 1 and 2 in a full mesh with `gossip` and a `digest_interval`, and validator 3 as a raw
/// peer of node 0 whose start-up digest was read. No heartbeats: they are envelopes too, and would
/// carry announcements at moments the tests do not choose. Returns the nodes' start.
async fn three_nodes_and_a_raw_peer(
    gossip: GossipConfig,
    digest_interval: Duration,
) -> (Sim, Box<dyn Connection>, Instant) {
    let base = NodeConfig::test();
    let liveness = LivenessConfig {
        heartbeat_interval: NEVER,
        liveness_timeout: 2 * NEVER,
        ping_interval: NEVER,
        ..base.liveness
    };
    let config = NodeConfig { gossip, liveness, digest_interval, ..base };
    let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::new(4, 11, link, config);
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    let start = Instant::now();
    for i in 0..3 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    let raw = sim.raw_peer(3, 0).await;
    sim.await_connected(0, &[1, 2, 3].into(), Duration::from_secs(10)).await;
    haves_until(raw.as_ref(), Instant::now() + Duration::from_millis(100)).await;
    (sim, raw, start)
}

/// The ids of every `Have` `conn` receives until `deadline`.
async fn haves_until(conn: &dyn Connection, deadline: Instant) -> Vec<MessageId> {
    let mut ids = Vec::new();
    let _ = tokio::time::timeout_at(deadline, async {
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
    let (mut sim, raw, _) = three_nodes_and_a_raw_peer(gossip, NEVER).await;
    let first = sim.broadcast(1, 1).await;
    sim.await_delivered(&[0, 2], &[first], Duration::from_secs(10)).await;
    let later = Instant::now() + Duration::from_secs(5);
    assert!(!haves_until(raw.as_ref(), later).await.contains(&first), "not due yet");
    sim.broadcast(0, 1).await;
    let haves = haves_until(raw.as_ref(), Instant::now() + Duration::from_secs(1)).await;
    assert!(haves.contains(&first), "the announcement rode with node 0's envelope: {haves:?}");
}

/// A periodic digest waits for an envelope to ride with; with none, it leaves on its own within half
/// a digest interval of its tick.
#[tokio::test(start_paused = true)]
async fn a_digest_rides_with_the_next_envelope_or_leaves_half_an_interval_later() {
    // No announcements: digests are the only way ids reach validator 3.
    let gossip = GossipConfig { announce_fanout: 0, ..GossipConfig::test() };
    let interval = Duration::from_secs(2);
    let (mut sim, raw, start) = three_nodes_and_a_raw_peer(gossip, interval).await;
    let tick = |n: u32| start + interval * n;

    let first = sim.broadcast(1, 1).await;
    sim.await_delivered(&[0], &[first], Duration::from_secs(1)).await;
    assert!(!haves_until(raw.as_ref(), tick(1) + Duration::from_millis(50)).await.contains(&first), "until a tick");
    sim.broadcast(0, 1).await;
    let haves = haves_until(raw.as_ref(), tick(1) + Duration::from_millis(100)).await;
    assert!(haves.contains(&first), "the digest rode with node 0's envelope: {haves:?}");

    let second = sim.broadcast(1, 2).await;
    sim.await_delivered(&[0], &[second], Duration::from_secs(1)).await;
    assert!(!haves_until(raw.as_ref(), tick(2)).await.contains(&second), "until the next tick");
    let haves = haves_until(raw.as_ref(), tick(2) + interval / 2 + Duration::from_millis(50)).await;
    assert!(haves.contains(&second), "with no envelope to ride with, the digest went alone: {haves:?}");
}
