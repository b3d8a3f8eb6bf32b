//! The devnet over the socket transports on loopback, in real time: the same engine commits 20
//! heights with 4 and 7 validators, all agreeing — over tcp-noise, over QUIC with the `quic`
//! feature, and with 4 over WebSocket with the `websocket` feature.

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
