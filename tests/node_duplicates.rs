//! Duplicates, the headline cost of gossip (DESIGN.md §5), in virtual time on fixed seeds: in a full
//! mesh every validator gets each message from its origin, so hardly any copy is redundant; on a
//! degree-8 topology per-origin broadcast trees keep redundant pushes to a couple per message.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::Sim;
use quorumnet::memory::{LinkConfig, Node as NetNode};
use quorumnet::message::Height;
use quorumnet::node::NodeConfig;
use quorumnet::validator::ListValidatorSetSource;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(50), jitter: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// A circulant graph of degree 8: `i ± 1, 2, 5, 7`.
fn neighbours(i: usize, n: usize) -> BTreeSet<usize> {
    [1, 2, 5, 7].into_iter().flat_map(|d| [(i + d) % n, (i + n - d) % n]).collect()
}

/// Broadcasts `messages` votes from origins taken in turn and returns the duplicates received per
/// validator per message, and the copies received per signature verified over all nodes. Checks that
/// every node verified each envelope it received once, however many peers forwarded it.
async fn duplicates_per_validator_per_message(n: usize, degree_8: bool, messages: usize) -> (f64, f64) {
    let mut sim = Sim::new(n, 31, link(), NodeConfig::local());
    if degree_8 {
        for a in 0..n {
            for b in a + 1..n {
                if !neighbours(a, n).contains(&b) {
                    sim.network.cut(NetNode::Id(sim.ids[a]), NetNode::Id(sim.ids[b]));
                }
            }
        }
    }
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    for i in 0..n {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    if degree_8 {
        for i in 0..n {
            sim.await_connected(i, &neighbours(i, n), Duration::from_secs(30)).await;
        }
    } else {
        sim.await_full_mesh(Duration::from_secs(30)).await;
    }
    let mut ids = Vec::new();
    for m in 0..messages {
        ids.push(sim.broadcast((m * 7) % n, 1).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(30)).await;
    let (mut duplicates, mut copies, mut verified) = (0, 0, 0);
    for (index, node) in &sim.nodes {
        let stats = node.stats().await.unwrap();
        let received =
            stats.peers.values().map(|peer| peer.total()).fold((0, 0), |(r, d), t| (r + t.received, d + t.duplicates));
        assert_eq!(stats.verified, received.0 - received.1, "node {index}: one verification per new envelope");
        (duplicates, copies, verified) =
            (duplicates + stats.duplicates, copies + received.0, verified + stats.verified);
    }
    sim.shutdown().await;
    (duplicates as f64 / (n * messages) as f64, copies as f64 / verified as f64)
}

#[tokio::test(start_paused = true)]
async fn a_degree_8_network_receives_at_most_two_duplicates_per_validator_per_message() {
    let (duplicates, copies_per_verify) = duplicates_per_validator_per_message(24, true, 72).await;
    assert!(duplicates <= 2.0, "{duplicates:.2} duplicates per validator per message");
    assert!(
        copies_per_verify > 1.0,
        "forwarded copies arrived ({copies_per_verify:.2} per verification), none re-verified"
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_mesh_receives_hardly_any_duplicates() {
    let (duplicates, _) = duplicates_per_validator_per_message(12, false, 48).await;
    assert!(duplicates <= 0.5, "{duplicates:.2} duplicates per validator per message");
}
