//! `relay/...` rows: what one relay in the path costs a reliable send, against the direct link. Three
//! validators on the simulator over 10 ms links, validator 2 behind a relay (no listener; the set
//! lists it at its `relay://` address); validator 0 sends the same workload of `send_reliable`s to
//! validator 1 (direct) and then to validator 2 (a circuit through the relay, Noise end to end): 1 KiB
//! proposals at [`PACE`], at most [`WINDOW`] unacknowledged.
//!
//! **On the simulator this measures CPU only**: the ack latency is virtual — the simulated links'
//! (a relayed round trip crosses four links instead of two, so it adds two link latencies), not this
//! machine's — and there is no bandwidth limit, so "throughput" is messages per CPU second of the
//! whole process (both ends, the relay, and the simulator), not a network's capacity. The difference
//! between the rows is what the relay's extra hop costs in CPU: one more pair of frame copies, the
//! circuit's credit accounting and the relay's forwarding.

use std::time::Duration;

use quorumnet::memory::LinkConfig;
use quorumnet::node::reliable::DeliveryStatus;
use quorumnet::node::NodeConfig;
use tokio::task::JoinSet;

use crate::common::{relay, Sim};

/// Validators, the NAT-bound one, and the relay's key index.
const N: usize = 3;
const NAT: usize = 2;
const RELAY: usize = 3;
/// Messages per row: proposals carrying [`BLOCK_LEN`]-byte blocks, one every [`PACE`].
const MESSAGES: usize = 2_000;
const BLOCK_LEN: usize = 1024;
/// 1000 proposals a second, ≈ 4.5 MB/s with their signatures: inside the recommended rate limits
/// (8 MB/s of proposals per peer, 16 MB/s per origin), which a faster pace would trip — and votes'
/// per-origin limit (≈ 70 a second) would make the row measure the limiter, not the relay.
const PACE: Duration = Duration::from_millis(1);
/// Sends in flight at most: well under the reliable layer's unacked bound per peer (256 in the local
/// preset), so no send is refused.
const WINDOW: usize = 64;

/// One row's measurement.
struct Cost {
    latencies: Vec<Duration>,
    cpu: Duration,
    retransmitted: u64,
}

/// Prints the `relay/...` rows `wanted` selects; both come from one run (one network, two destinations).
pub fn relay_rows(wanted: &dyn Fn(&str) -> bool) {
    let names = ["relay/direct,n=3", "relay/via-relay,n=3"];
    if !names.iter().any(|name| wanted(name)) {
        return;
    }
    let wall = std::time::Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    let costs = runtime.block_on(relay_run());
    let wall = wall.elapsed();
    println!(
        "{:<30} {:>17} {:>11} {:>12} {:>8} {:>7}",
        "node::relay", "ack p50/p99 ms", "cpu µs/msg", "msgs/cpu-s", "retx", "wall s"
    );
    for (name, cost) in names.iter().zip(&costs) {
        if !wanted(name) {
            continue;
        }
        println!(
            "{:<30} {:>8.1}/{:<8.1} {:>11.1} {:>12.0} {:>8} {:>7.1}",
            name,
            crate::percentile(&cost.latencies, 0.5).as_secs_f64() * 1e3,
            crate::percentile(&cost.latencies, 0.99).as_secs_f64() * 1e3,
            cost.cpu.as_secs_f64() * 1e6 / MESSAGES as f64,
            MESSAGES as f64 / cost.cpu.as_secs_f64(),
            cost.retransmitted,
            wall.as_secs_f64(),
        );
    }
    let added = crate::percentile(&costs[1].latencies, 0.5).saturating_sub(crate::percentile(&costs[0].latencies, 0.5));
    println!(
        "relay/: {MESSAGES} send_reliable of 1 KiB proposals at 1000/s, 10 ms links; the relay adds {:.1} ms to the p50 ack \
         (virtual: two simulated link latencies) and {:.1} µs CPU per message; simulator, so CPU only",
        added.as_secs_f64() * 1e3,
        (costs[1].cpu.as_secs_f64() - costs[0].cpu.as_secs_f64()) * 1e6 / MESSAGES as f64,
    );
}

async fn relay_run() -> [Cost; 2] {
    let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::new(N + 1, 2026, link, NodeConfig::local());
    let _relay = relay::start_relay(&sim, RELAY, N).await;
    relay::start_with_nat_bound(&mut sim, N, NAT, &[RELAY]).await;
    sim.await_full_mesh(Duration::from_secs(30)).await;
    // Steady state, as in the reliable rows: pings have measured both round trips, the base of each
    // message's retransmission timeout, so neither row pays for spurious retransmissions.
    tokio::time::sleep(NodeConfig::local().liveness.ping_interval * 2).await;
    let direct = sends_to(&mut sim, 1).await;
    let relayed = sends_to(&mut sim, NAT).await;
    sim.shutdown().await;
    [direct, relayed]
}

/// [`MESSAGES`] reliable sends from validator 0 to `to`, [`WINDOW`] at a time.
async fn sends_to(sim: &mut Sim, to: usize) -> Cost {
    let (node, destination) = (sim.nodes[&0].clone(), sim.ids[to]);
    let retransmitted_before = node.stats().await.unwrap().reliable.retransmitted;
    let cpu = crate::cpu_time();
    let mut waits = JoinSet::new();
    let mut latencies = Vec::with_capacity(MESSAGES);
    let mut ticks = tokio::time::interval(PACE);
    for _ in 0..MESSAGES {
        ticks.tick().await;
        if waits.len() == WINDOW {
            latencies.push(waits.join_next().await.unwrap().unwrap());
        }
        let proposal = sim.proposal(0, 1, BLOCK_LEN);
        let sent_at = tokio::time::Instant::now();
        let id = node.send_reliable(destination, &proposal).await.expect("below the unacked bound");
        let node = node.clone();
        waits.spawn(async move {
            let status = node.wait_for_ack(destination, id).await.expect("node runs");
            assert_eq!(status, DeliveryStatus::Delivered, "a reliable send to validator {to} was not delivered");
            sent_at.elapsed()
        });
    }
    while let Some(joined) = waits.join_next().await {
        latencies.push(joined.unwrap());
    }
    let cpu = crate::cpu_time() - cpu;
    latencies.sort();
    let retransmitted = node.stats().await.unwrap().reliable.retransmitted - retransmitted_before;
    Cost { latencies, cpu, retransmitted }
}
