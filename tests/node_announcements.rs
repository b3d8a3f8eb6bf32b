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
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Far beyond the test: what waits this long never goes out on its own timer.
const NEVER: Duration = Duration::from_secs(3600);

/// Nodes 0, 1 and 2 in a full mesh with `gossip` and a `digest_interval`, and validator 3 as a raw
/// peer of node 0 whose start-up digest was read. No heartbeats: they are envelopes too, and would
/// carry announcements at moments the tests do not choose.
async fn three_nodes_and_a_raw_peer(gossip: GossipConfig, digest_interval: Duration) -> (Sim, Box<dyn Connection>) {
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
    for i in 0..3 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    let raw = sim.raw_peer(3, 0).await;
    sim.await_connected(0, &[1, 2, 3].into(), Duration::from_secs(10)).await;
    haves_until(raw.as_ref(), Instant::now() + Duration::from_millis(100)).await;
    (sim, raw)
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
    let (mut sim, raw) = three_nodes_and_a_raw_peer(gossip, NEVER).await;
    let first = sim.broadcast(1, 1).await;
    sim.await_delivered(&[0, 2], &[first], Duration::from_secs(10)).await;
    let later = Instant::now() + Duration::from_secs(5);
    assert!(!haves_until(raw.as_ref(), later).await.contains(&first), "not due yet");
    sim.broadcast(0, 1).await;
    let haves = haves_until(raw.as_ref(), Instant::now() + Duration::from_secs(1)).await;
    assert!(haves.contains(&first), "the announcement rode with node 0's envelope: {haves:?}");
}

/// Every frame `conn` receives, with the (virtual) time it arrived, as it arrives.
fn record(conn: Box<dyn Connection>) -> mpsc::UnboundedReceiver<(Instant, Frame)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(bytes)) = conn.recv().await {
            if tx.send((Instant::now(), Frame::decode(&bytes).expect("a valid frame"))).is_err() {
                return;
            }
        }
    });
    rx
}

/// What `frames` recorded so far.
fn drain(frames: &mut mpsc::UnboundedReceiver<(Instant, Frame)>) -> Vec<(Instant, Frame)> {
    std::iter::from_fn(|| frames.try_recv().ok()).collect()
}

/// Where the `Have` naming `id` is among `frames`.
fn have_of(frames: &[(Instant, Frame)], id: MessageId) -> Option<usize> {
    frames.iter().position(|(_, frame)| matches!(frame, Frame::Have { ids } if ids.contains(&id)))
}

/// A periodic digest waits for an envelope to the peer to ride with (arriving at the same instant,
/// right behind it); from a node that sends the peer nothing, it leaves on its own, within half an
/// interval of its tick.
#[tokio::test(start_paused = true)]
async fn a_digest_rides_with_the_next_envelope_or_leaves_alone_within_half_an_interval() {
    // No announcements: digests are the only way ids reach validator 3. Local bounds: the test
    // preset's store of 4 would have dropped the message by the time it is digested.
    let gossip = GossipConfig { announce_fanout: 0, ..GossipConfig::local() };
    let interval = Duration::from_secs(2);
    let (mut sim, raw) = three_nodes_and_a_raw_peer(gossip, interval).await;
    let mut frames = record(raw);

    let first = sim.broadcast(1, 1).await;
    sim.await_delivered(&[0], &[first], Duration::from_secs(1)).await;
    for height in 10..50 {
        sim.broadcast(0, height).await;
        tokio::time::sleep(interval / 20).await;
    }
    let seen = drain(&mut frames);
    let at = have_of(&seen, first).expect("a digest within two intervals");
    let (when, _) = &seen[at];
    assert!(
        at > 0 && seen[at - 1].0 == *when && matches!(seen[at - 1].1, Frame::Envelope(_)),
        "the digest rode right behind one of node 0's envelopes: {:?}",
        &seen[at.saturating_sub(1)..=at]
    );

    let second = sim.broadcast(1, 2).await;
    sim.await_delivered(&[0], &[second], Duration::from_secs(1)).await;
    tokio::time::sleep(interval * 3 / 2 + Duration::from_millis(100)).await;
    let seen = drain(&mut frames);
    assert!(have_of(&seen, second).is_some(), "alone, within a tick and half an interval: {seen:?}");
    assert!(seen.iter().all(|(_, frame)| !matches!(frame, Frame::Envelope(_))), "node 0 sent no envelope");
}
