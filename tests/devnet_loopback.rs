//! The devnet over the socket transports on loopback, in real time: the same engine commits 20
//! heights with 4 and 7 validators, all agreeing — over tcp-noise, over QUIC with the `quic`
//! feature, with 4 over WebSocket with the `websocket` feature, and with 4 on `mixed` (spread over
//! every transport built in) with either; a build with tcp-noise alone refuses `mixed`.

use std::time::Duration;

use quorumnet::devnet::{Devnet, DevnetConfig};
use quorumnet::message::Height;

/// Real time: loopback heights take milliseconds; the bound covers connection setup and a slow,
/// shared CI machine.
const WITHIN: Duration = Duration::from_secs(60);

async fn commits_20_heights(config: DevnetConfig) {
    let validators = config.validators;
    let mut devnet = Devnet::start(config).await.expect("validators listen");
    let everyone: Vec<usize> = (0..validators).collect();
    devnet.wait_for_height(Height(20), &everyone, WITHIN).await.expect("20 heights commit");
    assert!(devnet.check_agreement().expect("same block at every height") >= 20);
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_20_heights_over_tcp_noise() {
    commits_20_heights(DevnetConfig::tcp_noise(4, 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_validators_commit_20_heights_over_tcp_noise() {
    commits_20_heights(DevnetConfig::tcp_noise(7, 1)).await;
}

#[cfg(feature = "websocket")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_20_heights_over_websocket() {
    commits_20_heights(DevnetConfig::websocket(4, 1)).await;
}

#[cfg(feature = "quic")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_20_heights_over_quic() {
    commits_20_heights(DevnetConfig::quic(4, 1)).await;
}

#[cfg(feature = "quic")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_validators_commit_20_heights_over_quic() {
    commits_20_heights(DevnetConfig::quic(7, 1)).await;
}

/// `mixed`: each validator listens on the transport it was spread to, every transport built in is
/// listened on, each validator dials the others whatever their transport (every pair connects), and
/// the 4 commit 20 heights and agree.
#[cfg(any(feature = "quic", feature = "websocket"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_20_heights_on_a_mix_of_every_transport() {
    use quorumnet::devnet::{cluster, mixed};

    let mut devnet = Devnet::start(DevnetConfig::mixed(4, 1)).await.expect("validators listen");
    let scheme_of = |kind| cluster::loopback_address_of(kind).expect("a socket transport").scheme().to_owned();
    let listening: Vec<String> =
        (0..4).map(|index| devnet.node(index).expect("running").listen_addresses()[0].scheme().to_owned()).collect();
    let spread: Vec<String> =
        (0..4).map(|index| scheme_of(mixed::listening_transport(devnet.config().transport, index))).collect();
    assert_eq!(listening, spread, "each validator listens on its own transport");
    for &kind in mixed::LINKED {
        assert!(listening.contains(&scheme_of(kind)), "no validator listens on {}: {listening:?}", kind.name());
    }
    await_full_mesh(&devnet, &listening).await;
    let everyone: Vec<usize> = (0..4).collect();
    devnet.wait_for_height(Height(20), &everyone, WITHIN).await.expect("20 heights commit");
    assert!(devnet.check_agreement().expect("same block at every height") >= 20);
    devnet.shutdown().await;
}

/// Waits (bounded) until each of the 4 validators is connected to the 3 others: the later ones dial
/// the earlier ones, so every pair of the transports in `listening` must have been dialed across.
#[cfg(any(feature = "quic", feature = "websocket"))]
async fn await_full_mesh(devnet: &Devnet, listening: &[String]) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let mut connected = Vec::new();
        for index in 0..4 {
            connected.push(devnet.node(index).expect("running").connected_peers().await.map_or(0, |p| p.len()));
        }
        if connected.iter().all(|&peers| peers == 3) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "validators on {listening:?} not all connected after {WITHIN:?}: peers per validator {connected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A build with tcp-noise as its only socket transport refuses `mixed`, saying which features to
/// build with.
#[cfg(not(any(feature = "quic", feature = "websocket")))]
#[tokio::test]
async fn a_mix_is_refused_when_tcp_noise_is_the_only_transport_built_in() {
    let Err(quorumnet::devnet::DevnetError::InvalidOptions(why)) = Devnet::start(DevnetConfig::mixed(4, 1)).await
    else {
        panic!("a mix of tcp-noise alone was started");
    };
    assert!(why.contains("--features quic") && why.contains("websocket"), "{why}");
}
