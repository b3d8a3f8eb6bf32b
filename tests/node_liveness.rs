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
use quorumnet::node::{HeartbeatProtocol, LivenessMonitor, NodeConfig, NodeEvent};
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
        LivenessEvent::TimedOut { validator, .. }
        | LivenessEvent::ResponsiveAgain { validator }
        | LivenessEvent::ClockSkewed { validator, .. }
        | LivenessEvent::ClockSkewCleared { validator } => Some(*validator),
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

#[tokio::test(start_paused = true)]
async fn rtt_converges_to_the_simulated_round_trip() {
    let one_way = Duration::from_millis(40);
    let link = LinkConfig { latency: one_way, ..LinkConfig::perfect() };
    let config = NodeConfig::test();
    let mut sim = Sim::start(4, 63, link, config.clone()).await;
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let round_trip = one_way * 2;
    for i in 0..4 {
        let node = sim.nodes[&i].clone();
        for j in (0..4).filter(|j| *j != i) {
            let peer = sim.ids[j];
            // A few pings answered, then the estimate must be within 10 % of the round trip.
            let estimate = eventually(Duration::from_secs(5), || async {
                Ok::<_, quorumnet::node::NodeError>(node.rtt(peer).await?.filter(|e| e.samples >= 3))
            })
            .await;
            let error = estimate.srtt.abs_diff(round_trip);
            assert!(error * 10 <= round_trip, "node {i} → {j}: srtt {:?}, round trip {round_trip:?}", estimate.srtt);
        }
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn clock_skew_of_a_node_250_ms_ahead_is_seen_within_half_the_round_trip() {
    let one_way = Duration::from_millis(30);
    let link = LinkConfig { latency: one_way, ..LinkConfig::perfect() };
    let config = NodeConfig::test();
    let n = 4;
    let ahead = 3;
    let offset_micros: i64 = 250_000;
    let mut sim = Sim::new(n, 64, link, config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    for i in 0..n {
        let base = common::WALL_BASE_MICROS.saturating_add_signed(if i == ahead { offset_micros } else { 0 });
        sim.spawn_with_wall_clock(i, source.clone(), config.clone(), base).await;
    }
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let ahead_id = sim.ids[ahead];
    for i in (0..n).filter(|i| *i != ahead) {
        let node = sim.nodes[&i].clone();
        // Once the window is full, the median is the offset (the first samples, taken before any pong,
        // are corrected by no RTT: off by one one-way delay, RTT/2 here, and outvoted by the median).
        let window = config.liveness.skew_window;
        let skew = eventually(Duration::from_secs(5), || {
            let node = node.clone();
            async move {
                let skew = node.clock_skew(ahead_id).await?;
                Ok::<_, quorumnet::node::NodeError>(skew.filter(|s| s.samples >= window))
            }
        })
        .await;
        let rtt = node.rtt(ahead_id).await.unwrap().unwrap().srtt;
        let error = (skew.offset_micros - offset_micros).unsigned_abs();
        assert!(
            error <= rtt.as_micros() as u64 / 2,
            "node {i}: skew {} µs, expected {offset_micros} ± {} µs",
            skew.offset_micros,
            rtt.as_micros() / 2
        );
        // And the others see each other in sync.
        for j in (0..n).filter(|j| *j != ahead && *j != i) {
            if let Some(skew) = node.clock_skew(sim.ids[j]).await.unwrap() {
                assert!(skew.offset_micros.unsigned_abs() <= rtt.as_micros() as u64 / 2, "{i} → {j}: {skew:?}");
            }
        }
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_clock_beyond_the_skew_bound_is_reported_and_cleared_once_it_is_back() {
    let link = LinkConfig { latency: Duration::from_millis(20), ..LinkConfig::perfect() };
    let config = NodeConfig::test();
    let (n, off) = (4, 3);
    // The test preset's bound is 100 ms: 250 ms ahead is beyond it, in-sync peers never are.
    let offset_micros: i64 = 250_000;
    let mut sim = Sim::new(n, 66, link, config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..n), Height(0), 4));
    let mut events = Vec::new();
    for i in 0..n {
        let base = common::WALL_BASE_MICROS.saturating_add_signed(if i == off { offset_micros } else { 0 });
        sim.spawn_with_wall_clock(i, source.clone(), config.clone(), base).await;
        events.push(sim.nodes[&i].events());
    }
    let off_id = sim.ids[off];
    let within = Duration::from_secs(5);
    let skewed =
        |e: &LivenessEvent| matches!(e, LivenessEvent::ClockSkewed { offset_micros, .. } if *offset_micros > 150_000);
    await_liveness(&mut events[0], off_id, skewed, within).await;
    await_liveness(&mut events[1], off_id, skewed, within).await;
    // The clock is fixed: the validator restarts on the right time (a second later, so its sequence
    // numbers, which start at its boot clock, still grow), and the estimate comes back within the bound.
    sim.nodes[&off].shutdown().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.spawn(off, source.clone(), config.clone()).await;
    let cleared = |e: &LivenessEvent| matches!(e, LivenessEvent::ClockSkewCleared { .. });
    await_liveness(&mut events[0], off_id, cleared, Duration::from_secs(10)).await;
    // Over the whole run, validator 2 (which watched from its start) found only the off clock skewed.
    let watcher = sim.events.get_mut(&2).unwrap();
    while let Ok(event) = watcher.try_recv() {
        if let NodeEvent::Liveness(LivenessEvent::ClockSkewed { validator, .. }) = event {
            assert_eq!(validator, off_id, "an in-sync clock was reported skewed");
        }
    }
    sim.shutdown().await;
}

/// What an engine written against the seed's traits sees: the same liveness through
/// `HeartbeatProtocol` and `LivenessMonitor`.
async fn engine_view(
    node: &(impl HeartbeatProtocol + LivenessMonitor),
    peer: ValidatorId,
) -> (bool, Option<Duration>, usize) {
    node.set_consensus_position(Height(7), quorumnet::message::Round(2)).await.unwrap();
    let alive = node.is_validator_alive(peer).await.unwrap();
    let age = node.last_heartbeat_age(peer).await.unwrap();
    (alive, age, node.timed_out_validators().await.unwrap().len())
}

#[tokio::test(start_paused = true)]
async fn liveness_traits_answer_like_the_handle() {
    let mut sim = Sim::start(4, 65, link(), NodeConfig::test()).await;
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let (node, peer) = (sim.nodes[&1].clone(), sim.ids[0]);
    eventually(Duration::from_secs(2), || node.last_heartbeat_age(peer)).await;
    let (alive, age, timed_out) = engine_view(&node, peer).await;
    assert!(alive);
    assert!(age.is_some());
    assert_eq!(timed_out, 0);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn silent_validator_times_out_for_no_heartbeat_and_gossip_covers_a_lost_direct_link() {
    use quorumnet::memory::Node as NetNode;
    use quorumnet::node::liveness::ValidatorTimeout;
    let n = 4;
    let config = NodeConfig::test();
    let bound = config.liveness.liveness_timeout;
    let mut sim = Sim::start(n, 66, link(), config.clone()).await;
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let mut events: Vec<_> = (0..n).map(|i| sim.nodes[&i].events()).collect();

    // The direct link 0–3 is cut: 0 loses its connection to 3, but 3's heartbeats still reach it
    // through 1 and 2, so 3 is responsive again at once.
    sim.network.cut(NetNode::Id(sim.ids[0]), NetNode::Id(sim.ids[3]));
    let three = sim.ids[3];
    await_liveness(
        &mut events[0],
        three,
        |e| matches!(e, LivenessEvent::TimedOut { reason: ValidatorTimeout::ConnectionLost, .. }),
        Duration::from_secs(1),
    )
    .await;
    await_liveness(&mut events[0], three, |e| matches!(e, LivenessEvent::ResponsiveAgain { .. }), bound).await;
    sim.network.heal();

    // Validator 2's links stay up but carry nothing in time: silence, not a lost connection.
    let silent = sim.ids[2];
    let in_flight = link().latency + link().jitter;
    let stalled = LinkConfig { latency: Duration::from_secs(3600), ..LinkConfig::perfect() };
    for i in (0..n).filter(|i| *i != 2) {
        sim.network.set_link(NetNode::Id(sim.ids[i]), NetNode::Id(silent), stalled.clone());
    }
    for i in [0, 1, 3] {
        await_liveness(
            &mut events[i],
            silent,
            |e| matches!(e, LivenessEvent::TimedOut { reason: ValidatorTimeout::NoHeartbeat { .. }, .. }),
            bound + config.liveness.heartbeat_interval + in_flight,
        )
        .await;
    }
    sim.shutdown().await;
}
