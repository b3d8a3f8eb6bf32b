//! Eclipse: a validator whose only peer takes its traffic and passes none of it on, while relaying
//! the others' heartbeats to it, notices from those heartbeats' heard-sets that a quorum does not
//! hear it, reports it, and reports when it is heard again. Missing acks reveal it too, and an
//! eclipsed node keeps redialing those that do not hear it, so it reaches them around the droppers.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{chain, next_event, Sim, WALL_BASE_MICROS};
use quorumnet::memory::LinkConfig;
use quorumnet::message::{ConsensusMessage, Envelope, Frame, HearsBitmap, Heartbeat, Height, Round};
use quorumnet::node::liveness::LivenessEvent;
use quorumnet::node::{NodeConfig, NodeEvent};
use quorumnet::transport::Connection;
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::broadcast;
use tokio::time::Instant;

const EVERY: Duration = Duration::from_millis(100);

/// The first liveness event of `events` that `pick` maps to something, within `within` (virtual).
async fn next_liveness<T>(
    events: &mut broadcast::Receiver<NodeEvent>,
    within: Duration,
    mut pick: impl FnMut(LivenessEvent) -> Option<T>,
) -> T {
    next_event(events, within, |event| match event {
        NodeEvent::Liveness(event) => pick(event),
        _ => None,
    })
    .await
}

/// Relays, every [`EVERY`], a signed heartbeat of each of validators 1..=3 over `via`; each lists
/// every other validator, and validator 0 only if `hear_victim`.
fn relay_heartbeats(sim: &Sim, via: Arc<dyn Connection>, hear_victim: bool) -> tokio::task::JoinHandle<()> {
    let (keys, ids, set) = (sim.keys.clone(), sim.ids.clone(), sim.set(0..4));
    tokio::spawn(async move {
        for tick in 0u64.. {
            for v in 1..=3 {
                let hears = HearsBitmap::of(&set, |id| *id != ids[v] && (*id != ids[0] || hear_victim));
                let heartbeat = Heartbeat {
                    validator: ids[v],
                    height: Height(1),
                    round: Round(0),
                    time_micros: WALL_BASE_MICROS,
                    hears,
                };
                let seq = WALL_BASE_MICROS + 1_000_000 * u64::from(hear_victim) + tick;
                let envelope =
                    Envelope::sign_message(&keys[v], chain(), seq, 3, &ConsensusMessage::Heartbeat(heartbeat));
                if via.send(Bytes::from(Frame::Envelope(envelope).encode())).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}

/// A raw peer of node 0 as validator `as_validator` that reads and discards all it is sent (acks
/// nothing), and the task doing so.
async fn dropper(sim: &Sim, as_validator: usize) -> (Arc<dyn Connection>, tokio::task::JoinHandle<()>) {
    let conn: Arc<dyn Connection> = Arc::from(sim.raw_peer(as_validator, 0).await);
    let reader = conn.clone();
    (conn, tokio::spawn(async move { while let Ok(Some(_)) = reader.recv().await {} }))
}

/// Validator 0 runs a node; validators 1..=3 run none.
async fn victim() -> Sim {
    let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::new(4, 3, link, NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    sim.spawn(0, source, sim.config.clone()).await;
    sim
}

#[tokio::test(start_paused = true)]
async fn a_node_whose_peer_drops_its_traffic_notices_the_eclipse_and_its_end() {
    // The dropper, linked to 0 as validator 1, relays the others' heartbeats, which say whom they hear.
    let sim = victim().await;
    let (via, drain) = dropper(&sim, 1).await;
    let mut events = sim.nodes[&0].events();
    let silent = relay_heartbeats(&sim, via.clone(), false);
    let unheard_by = next_liveness(&mut events, Duration::from_secs(10), |event| match event {
        LivenessEvent::Eclipsed { unheard_by } => Some(unheard_by),
        LivenessEvent::NetworkPartition { .. } => panic!("it hears everyone: no partition"),
        _ => None,
    })
    .await;
    assert_eq!(unheard_by, BTreeSet::from([sim.ids[1], sim.ids[2], sim.ids[3]]));
    silent.abort();
    let heard = relay_heartbeats(&sim, via, true);
    next_liveness(&mut events, Duration::from_secs(10), |event| (event == LivenessEvent::EclipseCleared).then_some(()))
        .await;
    heard.abort();
    drain.abort();
    sim.shutdown().await;
}

/// Heartbeats can lie: two droppers relay heartbeats that list node 0, but acknowledge none of the
/// reliable messages it sends them over links that stay up. Missing acks are enough.
#[tokio::test(start_paused = true)]
async fn missing_acks_over_live_links_reveal_an_eclipse_that_heartbeats_hide() {
    let sim = victim().await;
    let ((via, drain_1), (_, drain_2)) = (dropper(&sim, 1).await, dropper(&sim, 2).await);
    let mut events = sim.nodes[&0].events();
    let lying = relay_heartbeats(&sim, via, true);
    for to in [1, 2] {
        let vote = ConsensusMessage::PreVote(quorumnet::message::Vote {
            height: Height(1),
            round: Round(to as u32),
            validator: sim.ids[0],
            block_hash: None,
        });
        sim.nodes[&0].send_reliable(sim.ids[to], &vote).await.unwrap();
    }
    let deadline = sim.config.reliable.deadline;
    let unheard_by = next_liveness(&mut events, 2 * deadline + Duration::from_secs(10), |event| match event {
        LivenessEvent::Eclipsed { unheard_by } => Some(unheard_by),
        _ => None,
    })
    .await;
    assert_eq!(unheard_by, BTreeSet::from([sim.ids[1], sim.ids[2]]), "validator 3 is not linked: no ack expected");
    for task in [lying, drain_1, drain_2] {
        task.abort();
    }
    sim.shutdown().await;
}

/// Validator 1 (no node) holds the only links node 0 has: it passes node 2's and node 3's envelopes
/// on to node 0 and drops everything node 0 sends. Returns the tasks doing so.
async fn one_way_relay(sim: &Sim) -> Vec<tokio::task::JoinHandle<()>> {
    let (to_victim, drain) = dropper(sim, 1).await;
    let mut tasks = vec![drain];
    for from in [2, 3] {
        let (conn, to_victim) = (sim.raw_peer(1, from).await, to_victim.clone());
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(bytes)) = conn.recv().await {
                if matches!(Frame::decode(&bytes), Ok(Frame::Envelope(_))) && to_victim.send(bytes).await.is_err() {
                    return;
                }
            }
        }));
    }
    tasks
}

/// The node's direct links to 2 and 3 are cut long enough for its backoff to reach the maximum (a
/// minute); its only link is to a peer that drops its traffic while passing on 2's and 3's. Once
/// the link to 2 can be dialed again, the eclipsed node redials it at the minimum backoff instead of
/// waiting out the minute it earned, and through 2 its messages reach 3, to which it has no link.
#[tokio::test(start_paused = true)]
async fn an_eclipsed_node_reaches_the_others_through_a_peer_it_dials_around_the_droppers() {
    for seed in [5, 17, 40] {
        reach_around_the_droppers(seed).await;
    }
}

async fn reach_around_the_droppers(seed: u64) {
    let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut config = NodeConfig::test();
    config.reconnect_backoff_max = Duration::from_secs(60);
    let mut sim = Sim::new(4, seed, link, config);
    let (victim, honest) = (sim.ids[0], [sim.ids[2], sim.ids[3]]);
    for id in honest {
        sim.network.cut(victim, id);
    }
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    for index in [0, 2, 3] {
        sim.spawn(index, source.clone(), sim.config.clone()).await;
    }
    let relay = one_way_relay(&sim).await;
    let mut events = sim.nodes[&0].events();
    let unheard_by = next_liveness(&mut events, Duration::from_secs(30), |event| match event {
        LivenessEvent::Eclipsed { unheard_by } => Some(unheard_by),
        _ => None,
    })
    .await;
    assert!(unheard_by.is_superset(&BTreeSet::from(honest)), "2 and 3 hear nothing of node 0: {unheard_by:?}");
    // Two minutes of failed dials: without the eclipse, the backoff to 2 and 3 would now be a minute.
    tokio::time::sleep(Duration::from_secs(120)).await;

    sim.network.heal();
    sim.network.cut(victim, honest[1]);
    let healed = Instant::now();
    let within = sim.config.dial_grace + 4 * sim.config.reconnect_backoff_min + Duration::from_secs(2);
    next_liveness(&mut events, within, |event| (event == LivenessEvent::EclipseCleared).then_some(())).await;
    assert!(!sim.nodes[&0].connected_peers().await.unwrap().contains(&honest[1]), "the link to 3 stays cut");
    let id = sim.broadcast(0, 1).await;
    sim.await_delivered(&[2, 3], &[id], Duration::from_secs(2)).await;
    tracing::info!(seed, after = ?healed.elapsed(), "node 0 reached 3 through 2");
    for task in relay {
        task.abort();
    }
    sim.shutdown().await;
}
