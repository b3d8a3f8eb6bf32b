//! The devnet with NAT-bound validators (`--nat K`), on the simulator in virtual time: the last K
//! validators have no listener and are reached only through one or two relays, yet every height
//! commits and agrees; with two relays, killing one mid-run does not stop the chain.

use std::time::Duration;

use quorumnet::devnet::{Devnet, DevnetConfig, DevnetError, TransportKind};
use quorumnet::message::Height;

/// Virtual-time bound for ten heights: a height takes a few link latencies, a relayed hop two.
const TEN_HEIGHTS: Duration = Duration::from_secs(60);

/// Seven validators, the last two NAT-bound behind `relays` relays, once all committed `heights`.
async fn seven_with_two_nat_bound(relays: usize, seed: u64, heights: u64) -> Devnet {
    let mut devnet = Devnet::start(DevnetConfig { nat: 2, relays, ..DevnetConfig::memory(7, seed) })
        .await
        .expect("a devnet with NAT-bound validators starts");
    assert!(devnet.is_nat_bound(5) && devnet.is_nat_bound(6) && !devnet.is_nat_bound(4));
    commits_and_agrees(&mut devnet, heights).await;
    devnet
}

async fn commits_and_agrees(devnet: &mut Devnet, heights: u64) {
    let everyone: Vec<usize> = (0..devnet.len()).collect();
    devnet.wait_for_height(Height(heights), &everyone, TEN_HEIGHTS).await.expect("heights commit");
    let agreed = devnet.check_agreement().expect("every validator commits the same block at every height");
    assert!(agreed >= heights, "all validators reached {heights}: {agreed}");
}

/// Five listening validators dial each of the two NAT-bound ones, and those two each other.
const CIRCUITS: usize = 5 * 2 + 1;

#[tokio::test(start_paused = true)]
async fn seven_validators_two_behind_one_relay_commit_and_agree() {
    let devnet = seven_with_two_nat_bound(1, 21, 10).await;
    let stats = devnet.relay_stats(0).expect("the relay runs");
    assert_eq!(stats.reservations, 2, "each NAT-bound validator holds a reservation");
    assert!(stats.circuits >= CIRCUITS, "every link to a NAT-bound validator is a circuit: {stats:?}");
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn seven_validators_two_behind_two_relays_commit_and_agree() {
    let devnet = seven_with_two_nat_bound(2, 22, 10).await;
    for relay in 0..2 {
        assert_eq!(devnet.relay_stats(relay).expect("both relays run").reservations, 2, "relay {relay}");
    }
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_two_relays_killing_one_mid_run_heights_keep_committing() {
    let mut devnet = seven_with_two_nat_bound(2, 23, 5).await;
    devnet.kill_relay(0).expect("relay 0 exists");
    assert!(devnet.relay_stats(0).is_none());
    commits_and_agrees(&mut devnet, 15).await;
    let stats = devnet.relay_stats(1).expect("relay 1 still runs");
    assert!(stats.circuits >= CIRCUITS, "every peer now reaches the NAT-bound validators through relay 1: {stats:?}");
    assert!(matches!(devnet.kill_relay(2), Err(DevnetError::NoSuchRelay { index: 2, count: 2 })));
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn nat_bound_validators_need_a_listening_one_and_the_simulator() {
    let refusal = |config: DevnetConfig| async move {
        match Devnet::start(config).await {
            Err(DevnetError::InvalidOptions(why)) => why,
            Err(other) => panic!("expected InvalidOptions, got {other}"),
            Ok(_) => panic!("expected InvalidOptions, the devnet started"),
        }
    };
    let all_nat = refusal(DevnetConfig { nat: 4, ..DevnetConfig::memory(4, 1) }).await;
    assert!(all_nat.contains("use at most 3"), "{all_nat}");
    let tcp = refusal(DevnetConfig { nat: 1, ..DevnetConfig::tcp_noise(4, 1) }).await;
    assert!(tcp.contains("--transport memory"), "{tcp}");
    let no_relay = refusal(DevnetConfig { nat: 1, relays: 0, ..DevnetConfig::memory(4, 1) }).await;
    assert!(no_relay.contains("at least one relay"), "{no_relay}");
    assert_eq!(DevnetConfig::memory(4, 1).transport, TransportKind::Memory);
}
