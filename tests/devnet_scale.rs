//! 100 validators on the simulator commit, and every node's bounded caches stay within the bounds
//! `NodeConfig::sized_for` documents for that many — read from the nodes' stats, not from RSS; and a
//! devnet on a bounded topology commits with few links per validator.

use std::time::Duration;

use quorumnet::devnet::config::topology_for;
use quorumnet::devnet::{Devnet, DevnetConfig};
use quorumnet::message::Height;
use quorumnet::node::topology::Topology;

const VALIDATORS: usize = 100;
const HEIGHTS: u64 = 5;

#[tokio::test(start_paused = true)]
async fn a_hundred_validators_commit_with_caches_within_the_sized_bounds() {
    let config = DevnetConfig::memory(VALIDATORS, 17);
    let gossip = config.node.gossip.clone();
    assert_eq!(gossip.store_max_entries, 4 * (3 * VALIDATORS + 1), "the preset is sized for 100");
    let mut devnet = Devnet::start(config).await.expect("devnet starts");
    let everyone: Vec<usize> = (0..VALIDATORS).collect();
    devnet.wait_for_height(Height(HEIGHTS), &everyone, Duration::from_secs(60)).await.expect("heights commit");
    devnet.check_agreement().expect("one block per height everywhere");
    let mut fullest = 0;
    for (index, (_, stats)) in devnet.snapshot().await.into_iter().enumerate() {
        let peaks = stats.expect("every node runs").cache_peaks;
        assert!(peaks.store_entries <= gossip.store_max_entries, "node {index}: {peaks:?}");
        assert!(peaks.store_bytes <= gossip.store_max_bytes, "node {index}: {peaks:?}");
        assert!(peaks.seen_entries <= gossip.seen_max_entries, "node {index}: {peaks:?}");
        assert!(peaks.knowledge_ids <= gossip.knowledge_max_ids, "node {index}: {peaks:?}");
        fullest = fullest.max(peaks.store_entries);
    }
    // Five heights of 201 messages plus heartbeats: the store is well used, so its bound mattered.
    assert!(fullest > gossip.store_max_entries / 2, "the fullest store held only {fullest}");
    devnet.shutdown().await;
}

/// On a bounded topology (each validator dialing 3 and dialed by about as many) 60 validators still
/// commit, every one linked to far fewer than the 59 others, gossip carrying the votes between them.
#[tokio::test(start_paused = true)]
async fn validators_on_a_bounded_topology_commit_with_few_links_each() {
    let (validators, degree) = (60, 6);
    let mut config = DevnetConfig::memory(validators, 23);
    config.node.topology = topology_for(validators, degree);
    let Topology::Bounded { max_links, .. } = config.node.topology else { panic!("bounded") };
    let mut devnet = Devnet::start(config).await.expect("devnet starts");
    let everyone: Vec<usize> = (0..validators).collect();
    devnet.wait_for_height(Height(HEIGHTS), &everyone, Duration::from_secs(60)).await.expect("heights commit");
    devnet.check_agreement().expect("one block per height everywhere");
    let mut links = Vec::new();
    for index in 0..validators {
        let node = devnet.node(index).expect("every node runs");
        links.push(node.connected_peers().await.expect("node runs").len());
    }
    let mean = links.iter().sum::<usize>() as f64 / validators as f64;
    assert!(links.iter().all(|n| (1..=max_links).contains(n)), "links per validator {links:?}");
    assert!(mean <= degree as f64 + 1.0, "mean links {mean}: {links:?}");
    devnet.shutdown().await;
}
