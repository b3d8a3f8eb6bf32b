//! Eclipse: a validator whose only peer takes its traffic and passes none of it on, while relaying
//! the others' heartbeats to it, notices from those heartbeats' heard-sets that a quorum does not
//! hear it, reports it, and reports when it is heard again.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{chain, Sim, WALL_BASE_MICROS};
use quorumnet::memory::LinkConfig;
use quorumnet::message::{ConsensusMessage, Envelope, Frame, Heartbeat, Height, Round};
use quorumnet::node::liveness::LivenessEvent;
use quorumnet::node::{NodeConfig, NodeEvent};
use quorumnet::transport::Connection;
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::broadcast;

const EVERY: Duration = Duration::from_millis(100);

/// The first liveness event of `events` that `pick` maps to something, within `within` (virtual).
async fn next_liveness<T>(
    events: &mut broadcast::Receiver<NodeEvent>,
    within: Duration,
    mut pick: impl FnMut(LivenessEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            if let Ok(NodeEvent::Liveness(event)) = events.recv().await {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
        }
    };
    tokio::time::timeout(within, wait).await.expect("the awaited liveness event")
}

#[tokio::test(start_paused = true)]
async fn a_node_whose_peer_drops_its_traffic_notices_the_eclipse_and_its_end() {
    // Validator 0 runs a node; validators 1..=3 run none: the dropper, linked to 0 as validator 1,
    // relays their heartbeats (signed here), which say whom they hear.
    let mut sim =
        Sim::new(4, 3, LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() }, NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    sim.spawn(0, source, sim.config.clone()).await;
    let dropper: Arc<dyn Connection> = Arc::from(sim.raw_peer(1, 0).await);
    let drain = {
        let dropper = dropper.clone();
        tokio::spawn(async move { while let Ok(Some(_)) = dropper.recv().await {} })
    };
    let mut events = sim.nodes[&0].events();
    let (keys, ids) = (sim.keys.clone(), sim.ids.clone());
    let relay = move |hear_victim: bool| {
        let (keys, ids, dropper) = (keys.clone(), ids.clone(), dropper.clone());
        tokio::spawn(async move {
            for tick in 0u64.. {
                for v in 1..=3 {
                    let hears: Vec<_> =
                        (0..4).filter(|h| *h != v && (*h != 0 || hear_victim)).map(|h| ids[h]).collect();
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
                    if dropper.send(Bytes::from(Frame::Envelope(envelope).encode())).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(EVERY).await;
            }
        })
    };
    let silent = relay(false);
    let unheard_by = next_liveness(&mut events, Duration::from_secs(10), |event| match event {
        LivenessEvent::Eclipsed { unheard_by } => Some(unheard_by),
        LivenessEvent::NetworkPartition { .. } => panic!("it hears everyone: no partition"),
        _ => None,
    })
    .await;
    assert_eq!(unheard_by, BTreeSet::from([sim.ids[1], sim.ids[2], sim.ids[3]]));
    silent.abort();
    let heard = relay(true);
    next_liveness(&mut events, Duration::from_secs(10), |event| (event == LivenessEvent::EclipseCleared).then_some(()))
        .await;
    heard.abort();
    drain.abort();
    sim.shutdown().await;
}
