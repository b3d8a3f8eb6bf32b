//! Reconnection policy, in virtual time: a link that flaps is redialed ever less often, and a new
//! address for a validator in backoff is dialed at once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{address, set_of, Sim};
use quorumnet::memory::LinkConfig;
use quorumnet::message::Height;
use quorumnet::node::{NodeConfig, NodeEvent};
use quorumnet::transport::PeerAddress;
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::broadcast;
use tokio::time::Instant;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(5), ..LinkConfig::perfect() }
}

/// `PeerConnected` events on `events` until `deadline`.
async fn connects_until(events: &mut broadcast::Receiver<NodeEvent>, deadline: Instant) -> usize {
    let mut connects = 0;
    while let Ok(event) = tokio::time::timeout_at(deadline, events.recv()).await {
        match event {
            Ok(NodeEvent::PeerConnected { .. }) => connects += 1,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => panic!("the node stopped"),
        }
    }
    connects
}

#[tokio::test(start_paused = true)]
async fn a_flapping_link_is_redialed_with_growing_backoff() {
    // Every connection is reset within about 20 ms of coming up.
    let flapping = LinkConfig { mean_time_between_resets: Some(Duration::from_millis(20)), ..link() };
    let config = NodeConfig {
        reconnect_backoff_min: Duration::from_millis(100),
        reconnect_backoff_max: Duration::from_secs(4),
        ..NodeConfig::test()
    };
    let mut sim = Sim::new(2, 71, flapping, config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..2), Height(0), 4));
    let mut events = sim.spawn(0, source.clone(), config.clone()).await.events();
    sim.spawn(1, source, config.clone()).await;
    let window = Duration::from_secs(40);
    let connects = connects_until(&mut events, Instant::now() + window).await;
    // At the minimum backoff (a connection resetting it) that would be hundreds: 40 s / ~100 ms.
    // Growing to the 4 s maximum, about ten.
    assert!(connects >= 3, "the link is still redialed: {connects} connections in {window:?}");
    assert!(connects <= 25, "{connects} connections in {window:?}: the backoff did not grow");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_set_change_giving_a_validator_in_backoff_a_new_address_is_dialed_at_once() {
    let mut sim = Sim::new(2, 73, link(), NodeConfig::test());
    let (dialer, mover) = (0, 1); // 0 has the lower id: it dials, 1 only waits to be dialed
    let nowhere: PeerAddress = "mem://nowhere".parse().unwrap();
    let all_keys = sim.keys.clone();
    let keys: Vec<_> = all_keys.iter().enumerate().collect();
    let stale_set = set_of(&keys, |i| if i == mover { nowhere.clone() } else { address(i) });
    let stale_source = Arc::new(ListValidatorSetSource::new(stale_set, Height(0), 4));
    let good_source = Arc::new(ListValidatorSetSource::new(set_of(&keys, address), Height(0), 4));
    let slow_backoff = NodeConfig {
        reconnect_backoff_min: Duration::from_secs(1),
        reconnect_backoff_max: Duration::from_secs(300),
        ..NodeConfig::test()
    };
    sim.spawn(dialer, stale_source.clone(), slow_backoff).await;
    let patient = NodeConfig { dial_grace: Duration::from_secs(3600), ..NodeConfig::test() };
    sim.spawn(mover, good_source, patient).await;
    // Failed dials to nowhere at 1, 2, 4, ... 64 s: the next one is a minute or more away.
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert!(sim.nodes[&dialer].connected_peers().await.unwrap().is_empty());

    stale_source.push_set(Height(10), set_of(&keys, address)).unwrap();
    sim.await_connected(dialer, &[mover].into(), Duration::from_secs(2)).await;
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_link_that_stayed_up_is_redialed_at_once_when_it_resets() {
    // Resets every 5 s on average, and a minimum backoff of a second that would show in every gap.
    let resetting = LinkConfig { mean_time_between_resets: Some(Duration::from_secs(5)), ..link() };
    let config = NodeConfig { reconnect_backoff_min: Duration::from_secs(1), ..NodeConfig::test() };
    let mut sim = Sim::new(2, 79, resetting, config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..2), Height(0), 4));
    let mut events = sim.spawn(0, source.clone(), config.clone()).await.events();
    sim.spawn(1, source, config).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut up_since, mut down_since, mut checked) = (None, None, 0);
    while let Ok(event) = tokio::time::timeout_at(deadline, events.recv()).await {
        let now = Instant::now();
        match event {
            Ok(NodeEvent::PeerConnected { .. }) => {
                if let Some((lived, at)) = down_since.take() {
                    let gap: Duration = now - at;
                    // Three 5 ms handshake trips, against the second (± 20 %) a backoff would add.
                    assert!(gap < Duration::from_millis(200), "a link that lived {lived:?} came back after {gap:?}");
                    checked += 1;
                }
                up_since = Some(now);
            }
            Ok(NodeEvent::PeerDisconnected { .. }) => {
                let lived = up_since.take().map(|since| now - since).unwrap_or_default();
                // One that lived past its backoff (1 s at the minimum): a reset, not a flapping path.
                down_since = (lived >= Duration::from_secs(2)).then_some((lived, now));
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => panic!("the node stopped"),
        }
    }
    assert!(checked >= 5, "only {checked} resets of a long-lived link in the window");
    sim.shutdown().await;
}
