//! Validator-set changes and discovery, live: a validator that joins connects and pulls what it
//! missed, one that leaves is disconnected and stays out, and a new address record redirects dials.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{address, set_of, Sim};
use quorumnet::memory::LinkConfig;
use quorumnet::message::Height;
use quorumnet::node::{Direction, DisconnectReason, NodeConfig, NodeEvent};
use quorumnet::transport::PeerAddress;
use quorumnet::validator::ListValidatorSetSource;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(20), jitter: Duration::from_millis(5), ..LinkConfig::perfect() }
}

const WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(start_paused = true)]
async fn a_validator_that_joins_mid_run_connects_and_pulls_what_it_missed() {
    let mut sim = Sim::new(5, 31, link(), NodeConfig::test());
    let joiner = 2; // in the middle of the id order: it dials some peers and is dialed by others
    let members: Vec<usize> = (0..5).filter(|i| *i != joiner).collect();
    let source = Arc::new(ListValidatorSetSource::new(sim.set(members.clone()), Height(0), 4));
    for i in &members {
        sim.spawn(*i, source.clone(), sim.config.clone()).await;
    }
    sim.await_full_mesh(WITHIN).await;
    let mut ids = Vec::new();
    for origin in &members {
        for height in 1..=3 {
            ids.push(sim.broadcast(*origin, height).await);
        }
    }
    sim.await_delivered(&members, &ids, WITHIN).await;

    // The joiner already knows the new set; the others are refusing it until they do.
    let new_set = sim.set(0..5);
    let own_source = Arc::new(ListValidatorSetSource::new(new_set.clone(), Height(0), 4));
    sim.spawn(joiner, own_source, sim.config.clone()).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // long enough to dial everyone, and be refused
    assert!(sim.nodes[&joiner].connected_peers().await.unwrap().is_empty(), "admitted before the set changed");
    source.push_set(Height(10), new_set).unwrap();

    sim.await_connected(joiner, &members.iter().copied().collect(), WITHIN).await;
    sim.await_delivered(&[joiner], &ids, WITHIN).await;
    let stats = sim.nodes[&joiner].stats().await.unwrap();
    assert_eq!(stats.delivered, ids.len() as u64);
    let wanted: u64 = stats.peers.values().map(|p| p.want_ids_sent).sum();
    assert!(wanted >= ids.len() as u64, "the joiner pulled the messages with wants ({wanted})");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_validator_that_leaves_is_disconnected_and_stays_out() {
    let source_set_size = 4;
    let mut sim = Sim::new(source_set_size, 37, link(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    for i in 0..4 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    sim.await_full_mesh(WITHIN).await;
    let leaver = 1;
    let stayers: BTreeSet<usize> = (0..4).filter(|i| *i != leaver).collect();
    let mut watchers: Vec<_> = stayers.iter().map(|node| (*node, sim.nodes[node].events())).collect();
    source.push_set(Height(10), sim.set(stayers.clone())).unwrap();

    for node in &stayers {
        let mut others = stayers.clone();
        others.remove(node);
        sim.await_connected(*node, &others, WITHIN).await;
    }
    // Each stayer reported the departure, for that reason.
    for (node, events) in &mut watchers {
        let mut left = false;
        while let Ok(event) = events.try_recv() {
            if let NodeEvent::PeerDisconnected { peer, reason } = event {
                left |= peer == sim.ids[leaver] && reason == DisconnectReason::LeftValidatorSet;
            }
        }
        assert!(left, "node {node} reported the leaver's departure");
    }
    // The leaver keeps dialing (it is still running) and is refused by admission every time.
    tokio::time::sleep(Duration::from_secs(10)).await;
    for node in &stayers {
        let peers = sim.nodes[node].connected_peers().await.unwrap();
        assert!(!peers.contains(&sim.ids[leaver]), "node {node} let the leaver back in");
    }
    assert!(sim.nodes[&leaver].connected_peers().await.unwrap().is_empty());
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_address_change_is_picked_up_from_a_new_record() {
    // Validators 0 and 1 have lower ids than 2; only they dial it (2 waits an hour before dialing).
    let mut sim = Sim::new(3, 41, link(), NodeConfig::test());
    let (stale, informed, mover) = (0, 1, 2);
    let nowhere: PeerAddress = "mem://nowhere".parse().unwrap();
    let keys: Vec<_> = (0..3).map(|i| (i, &sim.keys[i])).collect();
    let stale_set = set_of(&keys, |i| if i == mover { nowhere.clone() } else { address(i) });
    let good_set = set_of(&keys, address);
    let stale_source = Arc::new(ListValidatorSetSource::new(stale_set, Height(0), 4));
    let good_source = Arc::new(ListValidatorSetSource::new(good_set, Height(0), 4));
    sim.spawn(stale, stale_source, sim.config.clone()).await;
    sim.spawn(informed, good_source.clone(), sim.config.clone()).await;
    let patient = NodeConfig { dial_grace: Duration::from_secs(3600), ..sim.config.clone() };
    sim.spawn(mover, good_source, patient).await;

    sim.await_connected(informed, &[stale, mover].into(), WITHIN).await;
    sim.await_connected(stale, &[informed].into(), WITHIN).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the stale validator keeps failing to dial
    assert_eq!(sim.nodes[&stale].connected_peers().await.unwrap(), vec![sim.ids[informed]]);

    sim.nodes[&mover].announce_addresses(vec![address(mover)]).await.unwrap();
    sim.await_connected(stale, &[informed, mover].into(), WITHIN).await;
    assert_eq!(sim.nodes[&stale].addresses_of(sim.ids[mover]).await.unwrap(), vec![address(mover)]);
    let connection =
        sim.nodes[&stale].connections().await.unwrap().into_iter().find(|c| c.peer == sim.ids[mover]).unwrap();
    assert_eq!(connection.direction, Direction::Outbound);
    assert_eq!(connection.address, Some(address(mover)));
    sim.shutdown().await;
}
