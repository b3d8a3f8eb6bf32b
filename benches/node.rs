//! `cargo bench --bench node [-- FILTER]`: the node runtime's broadcast, on the simulated network in
//! virtual time and over tcp-noise on loopback in real time (scenarios whose name contains FILTER).
//!
//! For each scenario, validators broadcast messages from random (seeded) origins at a fixed rate; the
//! table gives, per message, the time from broadcast to 2/3 of the validators and to all of them
//! (p50 / p99), the delivery ratio, and per validator and message the duplicates, bytes and frames
//! received.
//!
//! - **sim**: 100 votes, one every 10 ms, over links of 50 ms ± 10 ms. Virtual time, so the figures
//!   measure the protocol (hops, repair), not this machine; the wall time of each run is printed too.
//!   The `100mbit` row gives each validator 100 Mbit/s up and down, shared by its links
//!   (`MemoryNetwork::set_validator_bandwidth`), so every extra copy a forwarder sends costs time.
//! - **tcp-noise** (the reference workload): 32 validators in this process on loopback, 200 messages
//!   of 300-byte payload (a proposal carrying a 300-byte block) at 100/s, over a seeded random
//!   8-regular topology (each validator knows, so dials and is dialed by, only its 8 neighbours) and
//!   over the full mesh. Real time; CPU µs per delivered message is `getrusage(RUSAGE_SELF)` user +
//!   sys over the window from the first broadcast to the last delivery, divided by the deliveries.
//!   The `,warm` row first has every validator broadcast once, so every origin's broadcast tree is
//!   built before the window, as a running network's heartbeats keep them; the plain rows include
//!   building the trees of the origins' first messages. The `tree-announce=10ms` row shows what the
//!   local preset's batching of tree announcements (100 ms, `GossipConfig::tree_announce_delay`)
//!   trades against production's wait.
//!   The tcp-noise rows run on [`quorumnet::runtime::core_pinned`], one worker pinned per CPU, as a
//!   validator process should; the `unpinned-workers` row repeats the reference workload on an
//!   ordinary multi-thread runtime with as many workers, to show what pinning saves.
//!
//! Profile the windows only: `mkfifo /tmp/ctl; QUORUMNET_PERF_CTL=/tmp/ctl perf record -D -1
//! --control=fifo:/tmp/ctl target/release/deps/node-* tcp-noise/degree-8`.
//!
//! The broadcast rows measure broadcast only: their nodes send no heartbeats or pings
//! ([`quiet`]), and the workload starts once the links are up and the start-up digests settled, so
//! bytes, duplicates and CPU are the workload's.
//!
//! - **heartbeat**: the cost of liveness on its own — no workload, the full mesh on the simulator at
//!   the recommended configuration (one signed heartbeat per validator per second, pings every two
//!   seconds): bytes per second each validator receives, heartbeat envelopes alone and all link
//!   traffic (which adds the pings and the digests announcing heartbeat ids).
//! - **frame**: what one small frame costs in CPU, ping-ponged between two tasks over loopback — raw
//!   TCP (the baseline, same run), a tcp-noise connection, and a tcp-noise connection under a node
//!   link — the floor under the tcp-noise rows' CPU per delivery ([`frame_cost`]).
//! - **relay**: a reliable send through one relay against the direct link, on the simulator — so
//!   CPU only; the latency is the simulated links' ([`relay_cost`]).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/frame_cost.rs"]
mod frame_cost;
#[path = "support/relay_cost.rs"]
mod relay_cost;
#[path = "support/sim.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{random_regular_topology, Sim};
use quorumnet::devnet::TransportKind;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{ConsensusMessage, MessageId, MessageKind};
use quorumnet::node::gossip::GossipConfig;
use quorumnet::node::NodeConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{await_topology, quiet, settle, start_bounded, start_on_topology};

/// What is broadcast: how many messages, how often, and which message from which origin.
struct Workload {
    messages: usize,
    interval: Duration,
    message: fn(&mut Sim, usize) -> ConsensusMessage,
}

const SIM: Workload =
    Workload { messages: 100, interval: Duration::from_millis(10), message: |sim, origin| sim.vote(origin, 1) };

/// The reference workload: 200 messages of 300-byte payload at 100/s.
const REFERENCE: Workload = Workload {
    messages: 200,
    interval: Duration::from_millis(10),
    message: |sim, origin| sim.proposal(origin, 1, 300),
};

struct Row {
    name: String,
    to_two_thirds: (Duration, Duration),
    to_all: (Duration, Duration),
    delivery_ratio: f64,
    duplicates: f64,
    bytes: f64,
    /// Frames received per validator per message: envelopes, `Have`s, `Want`s, `Prune`s.
    frames: f64,
    /// CPU µs (user + sys, whole process) per delivered message, in real time only.
    cpu_per_delivery: Option<f64>,
    wall: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The simulator's links: 50 ms ± 10 ms, no loss.
fn sim_link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(50), jitter: Duration::from_millis(10), ..LinkConfig::perfect() }
}

/// A simulator row: name, validators, degree (`None`: full mesh), bandwidth per validator, config.
type SimScenario = (&'static str, usize, Option<usize>, Option<u64>, NodeConfig);

async fn sim_scenario(name: &str, n: usize, degree: Option<usize>, bandwidth: Option<u64>, config: NodeConfig) -> Row {
    let wall = std::time::Instant::now();
    let mut sim = Sim::new(n, 2024, sim_link(), config);
    sim.network.set_validator_bandwidth(bandwidth);
    let neighbours = degree.map(|degree| random_regular_topology(n, degree, 2024));
    start_on_topology(&mut sim, neighbours.as_deref()).await;
    run(name, sim, &SIM, false, wall).await
}

/// A simulator row on the node's own bounded topology of `degree` links per validator.
async fn bounded_scenario(name: &str, n: usize, degree: usize, config: NodeConfig) -> Row {
    let wall = std::time::Instant::now();
    let mut sim = Sim::new(n, 2024, sim_link(), config);
    start_bounded(&mut sim, degree).await;
    run(name, sim, &SIM, false, wall).await
}

async fn loopback_scenario(
    kind: TransportKind,
    name: &str,
    n: usize,
    degree: Option<usize>,
    warm: bool,
    config: NodeConfig,
) -> Row {
    let wall = std::time::Instant::now();
    let neighbours = degree.map(|degree| random_regular_topology(n, degree, 2024));
    let linked = |i: usize, j: usize| neighbours.as_ref().is_none_or(|neighbours| neighbours[i].contains(&j));
    let mut sim = Sim::start_loopback(kind, n, 2024, config, linked).await;
    await_topology(&mut sim, neighbours.as_deref()).await;
    if warm {
        warm_trees(&mut sim).await;
    }
    settle(&mut sim).await;
    run(name, sim, &REFERENCE, true, wall).await
}

/// One message from every validator, delivered everywhere: the broadcast trees of every origin are
/// built, as a running network's heartbeats (one per validator per second) keep them, so the window
/// measures steady-state broadcast rather than tree construction.
async fn warm_trees(sim: &mut Sim) {
    let everyone: Vec<usize> = sim.nodes.keys().copied().collect();
    let mut ids = Vec::new();
    for origin in &everyone {
        ids.push(sim.broadcast(*origin, 0).await);
    }
    sim.await_delivered(&everyone, &ids, Duration::from_secs(60)).await;
}

/// Broadcasts `workload` from random origins, waits until every validator holds every message, and
/// computes the row.
async fn run(name: &str, mut sim: Sim, workload: &Workload, measure_cpu: bool, wall: std::time::Instant) -> Row {
    let n = sim.nodes.len();
    let before = totals(&sim).await;
    let cpu_before = cpu_time();
    perf_control("enable");
    let mut rng = StdRng::seed_from_u64(7);
    let mut sent: BTreeMap<MessageId, (usize, Duration)> = BTreeMap::new();
    let mut ticks = tokio::time::interval(workload.interval);
    for _ in 0..workload.messages {
        ticks.tick().await;
        let origin = rng.gen_range(0..n);
        let message = (workload.message)(&mut sim, origin);
        let at = tokio::time::Instant::now() - sim.start;
        let id = sim.broadcast_message(origin, &message).await;
        sent.insert(id, (origin, at));
        // Record deliveries as they come: left to the end, thousands of them would be processed in
        // one burst on the bench's task just as the last messages travel, and slow those down.
        sim.drain();
    }
    let ids: Vec<MessageId> = sent.keys().copied().collect();
    let everyone: Vec<usize> = (0..n).collect();
    sim.await_delivered(&everyone, &ids, Duration::from_secs(60)).await;
    let cpu = cpu_time().saturating_sub(cpu_before);
    perf_control("disable");
    let after = totals(&sim).await;

    let mut arrivals: BTreeMap<MessageId, Vec<Duration>> = BTreeMap::new();
    for delivery in &sim.trace {
        if let Some((_, at)) = sent.get(&delivery.id) {
            arrivals.entry(delivery.id).or_default().push(delivery.at.saturating_sub(*at));
        }
    }
    // 2/3 of the validators, the origin (which holds its message at once) included.
    let quorum = (2 * n).div_ceil(3);
    let (mut two_thirds, mut all) = (Vec::new(), Vec::new());
    for times in arrivals.values_mut() {
        times.sort();
        two_thirds.push(times[quorum.saturating_sub(2).min(times.len() - 1)]);
        all.push(*times.last().unwrap());
    }
    two_thirds.sort();
    all.sort();
    let deliveries = sim.trace.iter().filter(|d| sent.contains_key(&d.id)).count();
    let per = (n * workload.messages) as f64;
    sim.shutdown().await;
    Row {
        name: name.to_owned(),
        to_two_thirds: (percentile(&two_thirds, 0.5), percentile(&two_thirds, 0.99)),
        to_all: (percentile(&all, 0.5), percentile(&all, 0.99)),
        delivery_ratio: deliveries as f64 / (workload.messages * (n - 1)) as f64,
        duplicates: (after.0 - before.0) as f64 / per,
        bytes: (after.1 - before.1) as f64 / per,
        frames: (after.2 - before.2) as f64 / per,
        cpu_per_delivery: measure_cpu.then(|| cpu.as_secs_f64() * 1e6 / deliveries.max(1) as f64),
        wall: wall.elapsed(),
    }
}

/// With `QUORUMNET_PERF_CTL` naming a fifo, writes `command` to it: `perf record -D -1
/// --control=fifo:FIFO` then samples only the measurement windows (`enable` before the first
/// broadcast, `disable` after the last delivery).
fn perf_control(command: &str) {
    if let Some(fifo) = std::env::var_os("QUORUMNET_PERF_CTL") {
        std::fs::write(fifo, format!("{command}\n")).expect("perf control fifo");
    }
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the `rusage` it is given, which is zero-initialisable plain data.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0, "getrusage");
        usage
    };
    let time = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// What liveness costs a validator, with no workload.
struct HeartbeatRow {
    name: String,
    interval: Duration,
    /// Heartbeat envelopes received per validator per second, duplicates included.
    envelopes: f64,
    /// Their bytes per validator per second.
    heartbeat_bytes: f64,
    /// All bytes received per validator per second: heartbeats, pings, digests and wants.
    all_bytes: f64,
    wall: Duration,
}

/// Measured, in virtual time, after the mesh is up and [`SETTLE`]d.
const HEARTBEAT_WINDOW: Duration = Duration::from_secs(10);

/// `n` validators in a full mesh at the recommended configuration, idle: liveness traffic only.
async fn heartbeat_scenario(name: &str, n: usize) -> HeartbeatRow {
    let wall = std::time::Instant::now();
    let config = NodeConfig::recommended();
    // The interval in force: beyond `heartbeat_scale_from` validators it grows with √N.
    let interval = config.liveness.for_validators(n).heartbeat_interval;
    let mut sim = Sim::start(n, 2024, sim_link(), config).await;
    sim.await_full_mesh(Duration::from_secs(30)).await;
    settle(&mut sim).await;
    let before = liveness_traffic(&sim).await;
    tokio::time::sleep(HEARTBEAT_WINDOW).await;
    let after = liveness_traffic(&sim).await;
    sim.shutdown().await;
    let per = n as f64 * HEARTBEAT_WINDOW.as_secs_f64();
    HeartbeatRow {
        name: name.to_owned(),
        interval,
        envelopes: (after.0 - before.0) as f64 / per,
        heartbeat_bytes: (after.1 - before.1) as f64 / per,
        all_bytes: (after.2 - before.2) as f64 / per,
        wall: wall.elapsed(),
    }
}

/// Heartbeat envelopes and their bytes, and all link bytes, received, summed over all validators.
async fn liveness_traffic(sim: &Sim) -> (u64, u64, u64) {
    let (mut envelopes, mut bytes) = (0, 0);
    for node in sim.nodes.values() {
        let heartbeats = node.stats().await.unwrap().kinds().remove(&Some(MessageKind::Heartbeat)).unwrap_or_default();
        envelopes += heartbeats.received;
        bytes += heartbeats.received_bytes;
    }
    (envelopes, bytes, totals(sim).await.1)
}

/// Duplicates, bytes and frames received, summed over all validators.
async fn totals(sim: &Sim) -> (u64, u64, u64) {
    let (mut duplicates, mut bytes, mut frames) = (0, 0, 0);
    for node in sim.nodes.values() {
        let stats = node.stats().await.unwrap();
        duplicates += stats.duplicates;
        for link in stats.peers.values().filter_map(|peer| peer.link.as_ref()) {
            for (_, traffic) in link.received.iter() {
                bytes += traffic.bytes;
                frames += traffic.frames;
            }
        }
    }
    (duplicates, bytes, frames)
}

/// The local preset, quiet.
fn local() -> NodeConfig {
    quiet(NodeConfig::local())
}

/// [`local`] with its gossip configuration changed by `change`: the trade-off rows.
fn local_gossip(change: impl FnOnce(&mut GossipConfig)) -> NodeConfig {
    let mut config = local();
    change(&mut config.gossip);
    config
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument selects scenarios by name.
    let filter: Option<String> = std::env::args().skip(1).find(|arg| !arg.starts_with("--"));
    let wanted = |name: &str| filter.as_deref().is_none_or(|filter| name.contains(filter));
    let mut rows = Vec::new();
    let sim = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    // 100 Mbit/s up and down per validator, shared by its links: what a forwarder's extra copies cost.
    let fast_ethernet = Some(12_500_000);
    let sim_scenarios: [SimScenario; 6] = [
        ("sim/full-mesh,n=16", 16, None, None, local()),
        ("sim/full-mesh,n=100", 100, None, None, local()),
        ("sim/degree-8,n=32", 32, Some(8), None, local()),
        ("sim/degree-8,n=32,100mbit", 32, Some(8), fast_ethernet, local()),
        // The fanout trade-off: production's four pushed copies per forwarder while a tree forms
        // against the preset's two, and in a full mesh one (more pulled with Have/Want).
        (
            "sim/degree-8,n=32,fanout=4",
            32,
            Some(8),
            None,
            local_gossip(|gossip| gossip.fanout = GossipConfig::recommended().fanout),
        ),
        ("sim/full-mesh,n=16,fanout=1", 16, None, None, local_gossip(|gossip| gossip.fanout = 1)),
    ];
    for (name, n, degree, bandwidth, config) in sim_scenarios {
        if wanted(name) {
            rows.push(sim.block_on(sim_scenario(name, n, degree, bandwidth, config)));
        }
    }
    // The node's bounded topology (`Topology::bounded`) at a size a full mesh cannot reach.
    for (name, n, degree) in [("sim/bounded-degree-8,n=1000", 1_000, 8)] {
        if wanted(name) {
            rows.push(sim.block_on(bounded_scenario(name, n, degree, local().sized_for(n))));
        }
    }
    let mut heartbeat_rows = Vec::new();
    for (name, n) in [("heartbeat/full-mesh,n=16", 16), ("heartbeat/full-mesh,n=100", 100)] {
        if wanted(name) {
            heartbeat_rows.push(sim.block_on(heartbeat_scenario(name, n)));
        }
    }
    drop(sim);
    // The runtime a validator process should use (`quorumnet::runtime`), and for the comparison row
    // an ordinary one: same worker count, unpinned.
    let pinned = quorumnet::runtime::core_pinned().unwrap();
    let unpinned = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let tcp = TransportKind::TcpNoise;
    #[allow(unused_mut)] // Only the `quic` feature adds a row.
    let mut tcp_scenarios = vec![
        (tcp, "tcp-noise/degree-8,n=32", 32, Some(8), false, local()),
        (tcp, "tcp-noise/degree-8,n=32,warm", 32, Some(8), true, local()),
        // The CPU / latency trade-off of batching tree announcements: production's wait.
        (
            tcp,
            "tcp-noise/degree-8,n=32,tree-announce=10ms",
            32,
            Some(8),
            false,
            local_gossip(|gossip| gossip.tree_announce_delay = GossipConfig::recommended().tree_announce_delay),
        ),
        (tcp, "tcp-noise/full-mesh,n=32", 32, None, false, local()),
        (tcp, "tcp-noise/degree-8,n=32,unpinned-workers", 32, Some(8), false, local()),
    ];
    // The reference workload on QUIC (`cargo bench --bench node --features quic`).
    #[cfg(feature = "quic")]
    tcp_scenarios.push((TransportKind::Quic, "quic/degree-8,n=32", 32, Some(8), false, local()));
    for (kind, name, n, degree, warm, config) in tcp_scenarios {
        if wanted(name) {
            let runtime = if name.ends_with("unpinned-workers") { &unpinned } else { &pinned };
            rows.push(runtime.block_on(loopback_scenario(kind, name, n, degree, warm, config)));
        }
    }
    if !rows.is_empty() {
        print_broadcast_rows(rows);
    }
    if !heartbeat_rows.is_empty() {
        print_heartbeat_rows(heartbeat_rows);
    }
    reliable_rows(&wanted);
    frame_cost::frame_rows(&wanted);
    relay_cost::relay_rows(&wanted);
}

fn print_heartbeat_rows(heartbeat_rows: Vec<HeartbeatRow>) {
    println!(
        "\n{:<30} {:>11} {:>16} {:>18} {:>18} {:>7}",
        "node::heartbeat (idle)", "interval s", "heartbeats/val/s", "heartbeat B/val/s", "all link B/val/s", "wall s"
    );
    for row in heartbeat_rows {
        println!(
            "{:<30} {:>11.1} {:>16.1} {:>18.0} {:>18.0} {:>7.1}",
            row.name,
            row.interval.as_secs_f64(),
            row.envelopes,
            row.heartbeat_bytes,
            row.all_bytes,
            row.wall.as_secs_f64(),
        );
    }
    println!(
        "heartbeat: recommended configuration, full mesh on the simulator (50±10 ms links), {} s of virtual \
         time with no workload; received bytes, duplicates included",
        HEARTBEAT_WINDOW.as_secs()
    );
}

fn print_broadcast_rows(rows: Vec<Row>) {
    println!(
        "{:<44} {:>17} {:>17} {:>9} {:>12} {:>13} {:>14} {:>10} {:>7}",
        "node::broadcast",
        "2/3 p50/p99 ms",
        "all p50/p99 ms",
        "delivered",
        "dups/val/msg",
        "bytes/val/msg",
        "frames/val/msg",
        "CPU µs/dlv",
        "wall s"
    );
    for row in rows {
        let cpu = row.cpu_per_delivery.map_or_else(|| "-".to_owned(), |cpu| format!("{cpu:.0}"));
        println!(
            "{:<44} {:>8.1}/{:<8.1} {:>8.1}/{:<8.1} {:>8.1}% {:>12.2} {:>13.0} {:>14.1} {:>10} {:>7.1}",
            row.name,
            row.to_two_thirds.0.as_secs_f64() * 1e3,
            row.to_two_thirds.1.as_secs_f64() * 1e3,
            row.to_all.0.as_secs_f64() * 1e3,
            row.to_all.1.as_secs_f64() * 1e3,
            row.delivery_ratio * 100.0,
            row.duplicates,
            row.bytes,
            row.frames,
            cpu,
            row.wall.as_secs_f64(),
        );
    }
    println!(
        "{:<44} {:>8.1}/{:<8.1} {:>8.1}/{:<8.1} {:>9} {:>12.2} {:>13} {:>14} {:>10} {:>7}",
        "ref: libp2p 0.57 gossipsub d=8", 1.9, 3.4, 4.6, 7.3, "", 4.5, "", "", 425, ""
    );
    println!(
        "sim: 100 votes at 100/s over 50±10 ms links, virtual time; tcp-noise: 200 × 300-byte payloads at \
         100/s, loopback, real time; targets on degree 8: p99 below the reference, ≤ 1.5 dups, ≤ 150 µs CPU; \
         no heartbeats or pings in these rows"
    );
}

/// `sim/reliable,...`: reliable-delivery latency on the simulator in virtual time. 16 validators on
/// 50 ± 10 ms links; once pings have measured every round trip, each link starts resetting every
/// `resets=` seconds on average, and 200 `send_reliable` (one every 10 ms) go from random validators
/// to random other validators. Each is measured from the send to its `DeliveryStatus::Delivered` at
/// the sender (the destination's ack back), retransmissions included.
fn reliable_rows(wanted: &dyn Fn(&str) -> bool) {
    let (n, messages) = (16, 200);
    let names: Vec<(u64, String)> =
        [10, 2].into_iter().map(|mean_secs| (mean_secs, format!("sim/reliable,n={n},resets={mean_secs}s"))).collect();
    if !names.iter().any(|(_, name)| wanted(name)) {
        return;
    }
    println!(
        "{:<30} {:>17} {:>9} {:>9} {:>12} {:>7}",
        "node::reliable", "ack p50/p99 ms", "delivered", "retx/msg", "link resets", "wall s"
    );
    for (mean_secs, name) in names {
        if !wanted(&name) {
            continue;
        }
        let wall = std::time::Instant::now();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let (latencies, retransmitted, resets) =
            runtime.block_on(reliable_run(n, messages, Duration::from_secs(mean_secs)));
        println!(
            "{:<30} {:>8.1}/{:<8.1} {:>8.1}% {:>9.2} {:>12} {:>7.1}",
            name,
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.len() as f64 * 100.0 / messages as f64,
            retransmitted as f64 / messages as f64,
            resets,
            wall.elapsed().as_secs_f64(),
        );
    }
    println!(
        "sim/reliable: {messages} send_reliable at 100/s between random validators over 50±10 ms links, virtual \
         time; latency from send to the sender's Delivered; link resets counted at both ends"
    );

    /// One `sim/reliable` run: the sorted latencies of the delivered messages, the retransmissions and
    /// the link resets (as disconnects, counted at both ends) over all validators.
    async fn reliable_run(n: usize, messages: usize, mean_time_between_resets: Duration) -> (Vec<Duration>, u64, u64) {
        let link = LinkConfig {
            latency: Duration::from_millis(50),
            jitter: Duration::from_millis(10),
            ..LinkConfig::perfect()
        };
        let mut sim = Sim::start(n, 2024, link.clone(), NodeConfig::local()).await;
        sim.await_full_mesh(Duration::from_secs(30)).await;
        // Steady state: pings have measured every link's round trip, the base of each message's
        // retransmission timeout (before that, ReliableConfig::retransmit_min, set for loopback).
        tokio::time::sleep(NodeConfig::local().liveness.ping_interval * 2).await;
        sim.network.set_default_link(LinkConfig { mean_time_between_resets: Some(mean_time_between_resets), ..link });
        let mut rng = StdRng::seed_from_u64(7);
        let mut waits = tokio::task::JoinSet::new();
        let mut ticks = tokio::time::interval(Duration::from_millis(10));
        for _ in 0..messages {
            ticks.tick().await;
            let from = rng.gen_range(0..n);
            let to = (from + rng.gen_range(1..n)) % n;
            let (node, destination) = (sim.nodes[&from].clone(), sim.ids[to]);
            let vote = sim.vote(from, 1);
            let sent_at = tokio::time::Instant::now();
            let id = node.send_reliable(destination, &vote).await.expect("below the unacked bound");
            waits.spawn(async move {
                let status = node.wait_for_ack(destination, id).await.expect("node runs");
                (status, sent_at.elapsed())
            });
        }
        let mut latencies = Vec::new();
        while let Some(joined) = waits.join_next().await {
            let (status, latency) = joined.unwrap();
            if status == quorumnet::node::reliable::DeliveryStatus::Delivered {
                latencies.push(latency);
            }
        }
        let (mut retransmitted, mut resets) = (0, 0);
        for node in sim.nodes.values() {
            let stats = node.stats().await.unwrap();
            retransmitted += stats.reliable.retransmitted;
            resets += stats.peers.values().map(|peer| peer.disconnects).sum::<u64>();
        }
        sim.shutdown().await;
        latencies.sort();
        (latencies, retransmitted, resets)
    }
}
