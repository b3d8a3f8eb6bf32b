//! The shared verification cache is for simulations: a node with a real transport refuses it, and
//! nodes on the simulator that share it still each reject a forgery.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{chain, Sim};
use quorumnet::devnet::cluster;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{Frame, Height};
use quorumnet::node::{BuildError, NodeConfig, NodeEvent, VerificationCache};
use quorumnet::validator::ListValidatorSetSource;

#[tokio::test]
async fn a_node_with_a_real_transport_refuses_a_shared_verification_cache() {
    let keys = cluster::keys(2);
    let indexed: Vec<_> = keys.iter().enumerate().collect();
    let source =
        Arc::new(ListValidatorSetSource::new(cluster::set_of(&indexed, cluster::memory_address), Height(0), 4));
    let builder = cluster::builder(keys[0].clone(), chain(), source, NodeConfig::test(), 1);
    let builder = cluster::on_tcp_noise(builder, cluster::loopback_address());
    let refused = builder.verification_cache(Arc::new(VerificationCache::new(16))).build().await.err();
    assert!(
        matches!(&refused, Some(BuildError::VerificationCacheOnNetwork { scheme }) if scheme == "tcp-noise"),
        "{refused:?}"
    );
}

/// Nodes 0 and 1 share a cache. A raw peer sends each the same forged vote (a genuine one with a
/// flipped signature byte): each rejects it and charges the sender, the second from the cached outcome.
#[tokio::test(start_paused = true)]
async fn nodes_sharing_the_cache_each_reject_a_forgery() {
    let link = LinkConfig { latency: Duration::from_millis(5), ..LinkConfig::perfect() };
    let mut sim = Sim::new(3, 2, link, NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..3), Height(0), 4));
    let cache = Arc::new(VerificationCache::new(64));
    for index in 0..2 {
        let network = sim.network.clone();
        let cache = cache.clone();
        sim.spawn_with(index, source.clone(), sim.config.clone(), move |builder| {
            cluster::on_memory(builder, &network, index, common::WALL_BASE_MICROS).verification_cache(cache)
        })
        .await;
    }
    let mut forged = sim.signed_prevote(2, common::WALL_BASE_MICROS + 1, 0, 7);
    forged.sig = quorumnet::identity::Signature::from_bytes({
        let mut bytes = forged.sig.as_bytes().to_vec();
        bytes[100] ^= 1;
        bytes
    });
    for to in 0..2 {
        let mut events = sim.nodes[&to].events();
        let raw = sim.raw_peer(2, to).await;
        raw.send(Frame::Envelope(forged.clone()).encode().into()).await.unwrap();
        common::next_event(&mut events, Duration::from_secs(5), |event| match event {
            NodeEvent::PeerMisbehaved { peer, .. } if peer == sim.ids[2] => Some(()),
            _ => None,
        })
        .await;
    }
    assert_eq!((cache.stats().verified, cache.stats().reused), (1, 1), "one verification, one reuse");
    sim.shutdown().await;
}
