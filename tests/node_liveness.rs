//! Heartbeats and liveness through the node, in virtual time: a validator that stops is reported timed
//! out within the configured bound, and responsive again once it restarts.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Sim;
use quorumnet::identity::ValidatorId;
use quorumnet::memory::LinkConfig;
use quorumnet::message::Height;
use quorumnet::node::liveness::LivenessEvent;
use quorumnet::node::{NodeConfig, NodeEvent};
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::broadcast;
use tokio::time::Instant;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), jitter: Duration::from_millis(2), ..LinkConfig::perfect() }
}

/// Waits for a liveness event about `validator` matching `wanted`; fails after `within` (virtual).
async fn await_liveness(
    events: &mut broadcast::Receiver<NodeEvent>,
    validator: ValidatorId,
    wanted: impl Fn(&LivenessEvent) -> bool,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(NodeEvent::Liveness(event))) if wanted(&event) && names(&event) == Some(validator) => return,
            Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => panic!("node stopped"),
            Err(_) => panic!("no matching liveness event within {within:?}"),
        }
    }
}

/// Polls `query` every 10 ms (virtual) until it answers `Some`; fails after `within`.
async fn eventually<T, F, E>(within: Duration, query: impl Fn() -> F) -> T
where
    F: std::future::Future<Output = Result<Option<T>, E>>,
    E: std::fmt::Debug,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(answer) = query().await.expect("node runs") {
            return answer;
        }
        assert!(Instant::now() < deadline, "no answer within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn names(event: &LivenessEvent) -> Option<ValidatorId> {
    match event {
        LivenessEvent::TimedOut { validator, .. } | LivenessEvent::ResponsiveAgain { validator } => Some(*validator),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn stopped_validator_times_out_and_is_responsive_again_after_restart() {
    let n = 4;
    let config = NodeConfig::test();
    let bound = config.liveness.liveness_timeout;
    let mut sim = Sim::new(n, 61, link(), config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    for i in 0..n {
        sim.spawn(i, source.clone(), config.clone()).await;
    }
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let (down, others) = (3, [0, 1, 2]);
    let down_id = sim.ids[down];
    // Heartbeats flow: every validator hears the one about to stop.
    for i in others {
        let node = sim.nodes[&i].clone();
        let age = eventually(Duration::from_secs(2), || node.last_heartbeat_age(down_id)).await;
        assert!(age <= config.liveness.heartbeat_interval + Duration::from_millis(50), "age {age:?}");
        assert!(node.is_validator_alive(down_id).await.unwrap());
    }
    let mut events: Vec<_> = others.iter().map(|i| sim.nodes[i].events()).collect();

    sim.nodes[&down].shutdown().await;
    sim.nodes.remove(&down);
    for (i, events) in others.iter().zip(&mut events) {
        await_liveness(events, down_id, |e| matches!(e, LivenessEvent::TimedOut { .. }), bound).await;
        let timed_out = sim.nodes[i].timed_out_validators().await.unwrap();
        assert_eq!(timed_out.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![down_id]);
        assert!(!sim.nodes[i].is_validator_alive(down_id).await.unwrap());
    }
    // The others keep hearing each other.
    tokio::time::sleep(bound * 2).await;
    for i in others {
        let timed_out = sim.nodes[&i].timed_out_validators().await.unwrap();
        assert_eq!(timed_out.len(), 1, "node {i}: only the stopped validator is timed out: {timed_out:?}");
    }

    // Restarted with the same key at the same address: responsive again.
    sim.spawn(down, source.clone(), config.clone()).await;
    for (i, events) in others.iter().zip(&mut events) {
        await_liveness(
            events,
            down_id,
            |e| matches!(e, LivenessEvent::ResponsiveAgain { .. }),
            Duration::from_secs(10),
        )
        .await;
        assert!(sim.nodes[i].is_validator_alive(down_id).await.unwrap());
        assert!(sim.nodes[i].timed_out_validators().await.unwrap().is_empty());
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn engine_reported_timeouts_need_mark_responsive() {
    use quorumnet::message::Round;
    use quorumnet::node::liveness::ValidatorTimeout;
    let mut sim = Sim::start(4, 62, link(), NodeConfig::test()).await;
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let (node, peer) = (sim.nodes[&0].clone(), sim.ids[2]);
    let mut events = node.events();
    let reason = ValidatorTimeout::RoundTimeout { height: Height(3), round: Round(1) };
    node.report_timeout(peer, reason).await.unwrap();
    await_liveness(
        &mut events,
        peer,
        |e| *e == LivenessEvent::TimedOut { validator: peer, reason },
        Duration::from_millis(100),
    )
    .await;
    // Heartbeats keep arriving, but only the engine clears its own timeout.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(node.timed_out_validators().await.unwrap(), vec![(peer, reason)]);
    node.mark_responsive(peer).await.unwrap();
    await_liveness(
        &mut events,
        peer,
        |e| matches!(e, LivenessEvent::ResponsiveAgain { .. }),
        Duration::from_millis(100),
    )
    .await;
    assert!(node.timed_out_validators().await.unwrap().is_empty());
    sim.shutdown().await;
}
