//! Inbound rate limits against a real flood: a validator that pushes validly signed, distinct votes
//! far over its quota cannot delay honest votes, because the node it floods drops what is over quota
//! before verifying, storing or forwarding it (DESIGN.md §5). Measured in virtual time over links with
//! a bandwidth, where a forwarded flood would queue in front of honest votes.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{address, chain, Sim, WALL_BASE_MICROS};
use quorumnet::memory::LinkConfig;
use quorumnet::message::{ConsensusMessage, Envelope, Frame, Height, MessageId, Round, Vote};
use quorumnet::node::priority::Priority;
use quorumnet::node::rate_limit::{RateLimit, RateLimitConfig};
use quorumnet::node::reputation::ReputationConfig;
use quorumnet::node::NodeConfig;
use quorumnet::validator::ListValidatorSetSource;
use tokio::time::Instant;

const HONEST: usize = 4;
const FLOODER: usize = HONEST;
/// 10 Mbit/s: a forwarded flood saturates it, so it would show as queueing delay.
const BANDWIDTH: u64 = 1_250_000;
/// Each honest validator broadcasts a vote this often, for `ROUNDS` rounds.
const EVERY: Duration = Duration::from_millis(100);
const ROUNDS: u32 = 20;
/// The flooder's votes: 1 200 in one second, from 0.5 s on (≈ 4.2 MB/s, 20× its vote quota).
const FLOOD_VOTES: usize = 1_200;
const FLOOD_BATCHES: usize = 100;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(10), bandwidth: Some(BANDWIDTH), ..LinkConfig::perfect() }
}

/// The vote quota the flood is measured against: above what an honest peer forwards here (four
/// validators voting ten times a second, ≈ 140 KB/s if one peer forwarded all of it).
fn config() -> NodeConfig {
    let mut rate_limits = RateLimitConfig::recommended();
    rate_limits.limits[Priority::Vote.rank()] = RateLimit { rate: 200_000, burst: 64 * 1024 };
    NodeConfig { rate_limits, ..NodeConfig::test() }
}

/// Honest vote latencies (broadcast → delivery at each other honest node), with or without the
/// flood, in seconds; and the lowest score any honest node gave another honest one.
async fn run(flood: bool) -> (Vec<f64>, f64) {
    let mut sim = Sim::new(HONEST + 1, 21, link(), config());
    // The flooder's own link is fast, so what reaches node 0 is all it sends.
    sim.network.set_link(sim.ids[FLOODER], &address(0), LinkConfig { bandwidth: None, ..link() });
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..=HONEST), Height(0), 4));
    for i in 0..HONEST {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    let flood_frames: Vec<Bytes> = (0..FLOOD_VOTES)
        .map(|i| {
            let vote = Vote {
                height: Height(1),
                round: Round(1_000 + i as u32),
                validator: sim.ids[FLOODER],
                block_hash: None,
            };
            let envelope = Envelope::sign_message(
                &sim.keys[FLOODER],
                chain(),
                WALL_BASE_MICROS + i as u64,
                3,
                &ConsensusMessage::PreVote(vote),
            );
            Bytes::from(Frame::Envelope(envelope).encode())
        })
        .collect();
    sim.await_full_mesh(Duration::from_secs(10)).await;
    let conn = sim.raw_peer(FLOODER, 0).await;
    let start = Instant::now();
    let flooder = tokio::spawn(async move {
        if !flood {
            return;
        }
        tokio::time::sleep_until(start + Duration::from_millis(500)).await;
        let per_batch = FLOOD_VOTES / FLOOD_BATCHES;
        for (batch, frames) in flood_frames.chunks(per_batch).enumerate() {
            tokio::time::sleep_until(start + Duration::from_millis(500 + 10 * batch as u64)).await;
            for frame in frames {
                if conn.send(frame.clone()).await.is_err() {
                    return; // disconnected or banned for it
                }
            }
        }
    });
    let mut sent: BTreeMap<MessageId, (usize, Duration)> = BTreeMap::new();
    for round in 0..ROUNDS {
        tokio::time::sleep_until(start + EVERY * round).await;
        for i in 0..HONEST {
            let id = sim.broadcast(i, 1).await;
            sent.insert(id, (i, sim.start.elapsed()));
        }
    }
    let ids: Vec<MessageId> = sent.keys().copied().collect();
    let honest: Vec<usize> = (0..HONEST).collect();
    sim.await_delivered(&honest, &ids, Duration::from_secs(60)).await;
    flooder.abort();
    let latencies = sim
        .trace
        .iter()
        .filter_map(|delivery| {
            let (origin, at) = sent.get(&delivery.id)?;
            (*origin != delivery.node).then(|| (delivery.at - *at).as_secs_f64())
        })
        .collect();
    let mut lowest = f64::INFINITY;
    for i in 0..HONEST {
        for j in (0..HONEST).filter(|j| *j != i) {
            lowest = lowest.min(sim.nodes[&i].reputation(sim.ids[j]).await.unwrap());
        }
    }
    sim.shutdown().await;
    (latencies, lowest)
}

fn p99(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(start_paused = true)]
async fn a_flood_far_over_quota_does_not_delay_honest_votes() {
    let (quiet, _) = run(false).await;
    let (flooded, lowest_honest) = run(true).await;
    let samples = (HONEST * (HONEST - 1)) * ROUNDS as usize;
    assert_eq!((quiet.len(), flooded.len()), (samples, samples), "every honest vote reached every honest node");
    let part = config().link.part_size as f64 / BANDWIDTH as f64;
    let (quiet, flooded) = (p99(quiet), p99(flooded));
    eprintln!("honest vote p99: {:.1} ms quiet, {:.1} ms flooded", quiet * 1e3, flooded * 1e3);
    assert!(
        flooded <= quiet + part,
        "honest vote p99 {:.1} ms with the flood, {:.1} ms without (+ one part = {:.1} ms allowed)",
        flooded * 1e3,
        quiet * 1e3,
        part * 1e3
    );
    assert!(lowest_honest > ReputationConfig::default().disconnect_below, "an honest peer scored {lowest_honest}");
}
