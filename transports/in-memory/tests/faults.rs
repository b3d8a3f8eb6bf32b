//! The simulated network's faults, measured in virtual time, and its determinism.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use quorumnet_core::transport::{Connection, Transport, TransportError};
use quorumnet_memory::{LinkConfig, MemoryNetwork};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

async fn pair_on(network: &MemoryNetwork) -> (Box<dyn Connection>, Box<dyn Connection>) {
    let mut listener = node(network, 2).listen(&addr("v2")).await.unwrap();
    connect(&node(network, 1), &mut listener).await
}

fn seq(i: u32, len: usize) -> Bytes {
    let mut bytes = vec![0; len.max(4)];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    Bytes::from(bytes)
}

fn seq_of(frame: &[u8]) -> u32 {
    u32::from_le_bytes(frame[..4].try_into().unwrap())
}

fn assert_close(actual: Duration, expected: Duration, what: &str) {
    let diff = actual.abs_diff(expected);
    assert!(diff <= MS, "{what}: measured {actual:?}, configured {expected:?}");
}

#[tokio::test(start_paused = true)]
async fn latency_measured_in_virtual_time_matches_the_configuration() {
    let network = MemoryNetwork::new(5);
    let latency = Duration::from_millis(75);
    network.set_default_link(LinkConfig { latency, ..LinkConfig::perfect() });
    let (a, b) = pair_on(&network).await;
    for _ in 0..5 {
        let start = Instant::now();
        a.send(seq(0, 8)).await.unwrap();
        b.recv().await.unwrap().unwrap();
        assert_close(start.elapsed(), latency, "one-way latency");
        b.send(seq(1, 8)).await.unwrap();
        a.recv().await.unwrap().unwrap();
        assert_close(start.elapsed(), 2 * latency, "round trip");
    }
}

#[tokio::test(start_paused = true)]
async fn per_pair_overrides_beat_the_default() {
    let network = MemoryNetwork::new(5);
    network.set_default_link(LinkConfig { latency: Duration::from_millis(100), ..LinkConfig::perfect() });
    network.set_link("v2", id(1), LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() });
    let (a, b) = pair_on(&network).await;
    let start = Instant::now();
    a.send(seq(0, 8)).await.unwrap();
    b.recv().await.unwrap().unwrap();
    assert_close(start.elapsed(), Duration::from_millis(10), "overridden latency");
}

#[tokio::test(start_paused = true)]
async fn jitter_varies_delay_but_never_reorders() {
    let network = MemoryNetwork::new(5);
    network.set_default_link(LinkConfig {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(30),
        ..LinkConfig::perfect()
    });
    let (a, b) = pair_on(&network).await;
    let sender = async {
        for i in 0..1000u32 {
            a.send(seq(i, 16)).await.unwrap();
            if i % 3 == 0 {
                tokio::time::sleep(MS).await; // paced, so each frame's own jitter shows
            }
        }
    };
    let receiver = async {
        let mut arrivals = Vec::new();
        for i in 0..1000u32 {
            assert_eq!(seq_of(&b.recv().await.unwrap().unwrap()), i, "jitter reordered frames");
            arrivals.push(Instant::now());
        }
        arrivals
    };
    let ((), arrivals) = tokio::join!(sender, receiver);
    assert!(arrivals.windows(2).all(|w| w[0] <= w[1]));
    let gaps: std::collections::BTreeSet<_> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 5, "jitter had no visible effect: gaps {gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn bandwidth_shapes_transmission_time() {
    let network = MemoryNetwork::new(5);
    network.set_default_link(LinkConfig { bandwidth: Some(1_000_000), ..LinkConfig::perfect() });
    let (a, b) = pair_on(&network).await;

    let start = Instant::now();
    a.send(seq(0, 100_000)).await.unwrap();
    b.recv().await.unwrap().unwrap();
    assert_close(start.elapsed(), Duration::from_millis(100), "one 100 kB frame at 1 MB/s");

    let start = Instant::now();
    let sender = async {
        for i in 0..10 {
            a.send(seq(i, 100_000)).await.unwrap();
        }
    };
    let receiver = async {
        for i in 0..10 {
            assert_eq!(seq_of(&b.recv().await.unwrap().unwrap()), i);
        }
    };
    tokio::join!(sender, receiver);
    assert_close(start.elapsed(), Duration::from_secs(1), "ten 100 kB frames at 1 MB/s (serialised)");
}

/// A validator's interface is shared by its links: what it uploads to two peers at once takes twice
/// as long as to one, and what two peers send it at once arrives at its download rate. Each link's
/// own bandwidth is unlimited here, so without the interface all would arrive at once.
#[tokio::test(start_paused = true)]
async fn a_validators_bandwidth_is_shared_by_all_its_links() {
    let network = MemoryNetwork::new(6);
    network.set_validator_bandwidth(Some(1_000_000));
    let mut hub = node(&network, 1).listen(&addr("v1")).await.unwrap();
    let (from_2, at_hub_2) = connect(&node(&network, 2), &mut hub).await;
    let (from_3, at_hub_3) = connect(&node(&network, 3), &mut hub).await;
    // Upload: the hub sends 100 kB to each of its two peers at the same instant.
    let (first, last) = both_arrive(&*at_hub_2, &*at_hub_3, &*from_2, &*from_3).await;
    assert_close(first, Duration::from_millis(100), "the first 100 kB through the hub's uplink");
    assert_close(last, Duration::from_millis(200), "the second waits for the first");
    // Download: both peers send 100 kB to the hub at once; each uploads at its own full rate, and
    // the hub's downlink passes them one after the other.
    let (first, last) = both_arrive(&*from_2, &*from_3, &*at_hub_2, &*at_hub_3).await;
    assert_close(first, Duration::from_millis(100), "up and down pipelined: the slower rate sets the pace");
    assert_close(last, Duration::from_millis(200), "the second queues at the hub's downlink");
}

/// Sends 100 kB on `a` and on `b` at the same instant; how long until the first and the last of them
/// arrived at the other ends, `a_peer` and `b_peer`.
async fn both_arrive(
    a: &dyn Connection,
    b: &dyn Connection,
    a_peer: &dyn Connection,
    b_peer: &dyn Connection,
) -> (Duration, Duration) {
    let start = Instant::now();
    a.send(seq(0, 100_000)).await.unwrap();
    b.send(seq(1, 100_000)).await.unwrap();
    let (a_at, b_at) = tokio::join!(arrival_after(start, a_peer), arrival_after(start, b_peer));
    (a_at.min(b_at), a_at.max(b_at))
}

/// How long after `start` the next frame arrives on `conn`.
async fn arrival_after(start: Instant, conn: &dyn Connection) -> Duration {
    conn.recv().await.unwrap().expect("a frame, not the end");
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn loss_delays_frames_but_delivers_every_one() {
    let network = MemoryNetwork::new(5);
    let latency = Duration::from_millis(10);
    let rto = Duration::from_millis(200);
    network.set_default_link(LinkConfig { latency, loss: 0.2, retransmission_delay: rto, ..LinkConfig::perfect() });
    let (a, b) = pair_on(&network).await;
    let sent_at = Arc::new(Mutex::new(Vec::new()));
    let sender = async {
        for i in 0..500u32 {
            sent_at.lock().unwrap().push(Instant::now());
            a.send(seq(i, 64)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        a.close().await.unwrap();
    };
    let receiver = async {
        let mut delays = Vec::new();
        for i in 0..500u32 {
            assert_eq!(seq_of(&b.recv().await.unwrap().unwrap()), i, "a frame was lost or reordered");
            delays.push(Instant::now() - sent_at.lock().unwrap()[i as usize]);
        }
        assert!(b.recv().await.unwrap().is_none(), "a frame was duplicated");
        delays
    };
    let ((), delays) = tokio::join!(sender, receiver);
    let retransmitted = delays.iter().filter(|d| **d >= latency + rto).count();
    assert!((50..=150).contains(&retransmitted), "{retransmitted} of 500 frames retransmitted at 20% loss");
    assert!(delays.iter().all(|d| *d >= latency));
}

async fn assert_lost(conn: &dyn Connection, what: &str) {
    match within(what, Duration::from_secs(60), conn.recv()).await {
        Err(TransportError::ConnectionLost { .. }) => {}
        other => panic!("{what}: expected ConnectionLost, got {other:?}"),
    }
    assert!(
        matches!(conn.send(seq(0, 8)).await, Err(TransportError::ConnectionLost { .. })),
        "{what}: send after reset"
    );
}

#[tokio::test(start_paused = true)]
async fn a_per_frame_reset_surfaces_as_connection_lost_on_both_ends() {
    let network = MemoryNetwork::new(5);
    let (a, b) = pair_on(&network).await;
    network.set_link("v2", id(1), LinkConfig { reset_per_frame: 1.0, ..LinkConfig::perfect() });
    a.send(seq(0, 8)).await.unwrap();
    assert_lost(&*b, "receiver").await;
    assert_lost(&*a, "sender").await;
}

#[tokio::test(start_paused = true)]
async fn resets_over_time_surface_as_connection_lost_on_both_ends() {
    let network = MemoryNetwork::new(5);
    let (a, b) = pair_on(&network).await;
    network.set_default_link(LinkConfig {
        mean_time_between_resets: Some(Duration::from_secs(2)),
        ..LinkConfig::perfect()
    });
    assert_lost(&*a, "dialer").await;
    assert_lost(&*b, "listener").await;
}

#[tokio::test(start_paused = true)]
async fn a_cut_resets_connections_and_blocks_dials_until_healed() {
    let network = MemoryNetwork::new(5);
    let mut v2 = node(&network, 2).listen(&addr("v2")).await.unwrap();
    let mut v3 = node(&network, 3).listen(&addr("v3")).await.unwrap();
    let v1 = node(&network, 1);
    let (a2, b2) = connect(&v1, &mut v2).await;
    let (a3, b3) = connect(&v1, &mut v3).await;

    network.cut(id(1), "v2");
    assert_lost(&*a2, "v1's end across the cut").await;
    assert_lost(&*b2, "v2's end across the cut").await;
    assert!(matches!(v1.dial(&addr("v2"), None).await, Err(TransportError::Unreachable { .. })));
    // Links that do not cross the cut are untouched.
    a3.send(seq(7, 8)).await.unwrap();
    assert_eq!(seq_of(&b3.recv().await.unwrap().unwrap()), 7);

    network.heal();
    let (a2, b2) = connect(&v1, &mut v2).await;
    a2.send(seq(8, 8)).await.unwrap();
    assert_eq!(seq_of(&b2.recv().await.unwrap().unwrap()), 8);
}

#[tokio::test(start_paused = true)]
async fn a_partition_by_listener_names_cuts_both_directions_of_dialing() {
    let network = MemoryNetwork::new(5);
    let t: Vec<_> = (1..=3).map(|i| node(&network, i)).collect();
    let mut listeners = Vec::new();
    for (i, transport) in t.iter().enumerate() {
        listeners.push(transport.listen(&addr(&format!("v{}", i + 1))).await.unwrap());
    }
    network.partition([vec!["v1"], vec!["v2", "v3"]]);
    assert!(network.is_cut(id(1), "v2"));
    assert!(network.is_cut(id(2), "v1"));
    assert!(!network.is_cut(id(2), "v3"));
    assert!(matches!(t[0].dial(&addr("v2"), None).await, Err(TransportError::Unreachable { .. })));
    assert!(matches!(t[2].dial(&addr("v1"), None).await, Err(TransportError::Unreachable { .. })));
    connect(&t[1], &mut listeners[2]).await;
    network.heal();
    connect(&t[0], &mut listeners[1]).await;
}

/// A three-validator run on jittery, lossy links; returns every delivery as
/// (virtual nanoseconds since start, connection, direction, sequence number).
async fn traced_run(seed: u64) -> Vec<(u128, usize, usize, u32)> {
    let network = MemoryNetwork::new(seed);
    network.set_default_link(LinkConfig { loss: 0.05, ..LinkConfig::wan() });
    let start = Instant::now();
    let transports: Vec<_> = (1..=3).map(|i| node(&network, i)).collect();
    let mut listeners = Vec::new();
    for (i, transport) in transports.iter().enumerate() {
        listeners.push(transport.listen(&addr(&format!("v{}", i + 1))).await.unwrap());
    }
    let mut connections = Vec::new();
    for (from, to) in [(0, 1), (0, 2), (1, 2)] {
        let (dialed, accepted) = connect(&transports[from], &mut listeners[to]).await;
        connections.push([Arc::<dyn Connection>::from(dialed), Arc::from(accepted)]);
    }
    let trace = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (c, ends) in connections.iter().enumerate() {
        for dir in 0..2 {
            let (tx, rx) = (ends[dir].clone(), ends[1 - dir].clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..40u32 {
                    tx.send(seq(i, 1 + (i as usize * 977 + c * 131) % 20_000)).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }));
            let trace = trace.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..40u32 {
                    let frame = rx.recv().await.unwrap().unwrap();
                    trace.lock().unwrap().push((start.elapsed().as_nanos(), c, dir, seq_of(&frame)));
                }
            }));
        }
    }
    for task in tasks {
        within("traced run", Duration::from_secs(120), task).await.unwrap();
    }
    let trace = trace.lock().unwrap().clone();
    trace
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_trace_and_another_seed_a_different_one() {
    let first = traced_run(11).await;
    let again = traced_run(11).await;
    let other = traced_run(12).await;
    assert_eq!(first.len(), 3 * 2 * 40);
    assert_eq!(first, again, "same seed, different trace");
    assert_ne!(first, other, "different seeds, same trace");
}
