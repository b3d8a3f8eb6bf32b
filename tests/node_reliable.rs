//! Reliable delivery through the node, in virtual time: every message to a live validator is
//! acknowledged by that validator itself before its deadline despite link resets and a crash, one that
//! stays down times out, and the per-destination bound refuses. (An ack from a node in the middle is
//! tested with the other byzantine peers, in `node_receive.rs`.)

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::Sim;
use quorumnet::identity::ValidatorId;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{Height, MessageId};
use quorumnet::node::reliable::{DeliveryStatus, ReliableConfig, ReliableEvent, SendError};
use quorumnet::node::{Node, NodeConfig, NodeError, NodeEvent, ReliableMessaging};
use quorumnet::validator::ListValidatorSetSource;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

fn link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(20), jitter: Duration::from_millis(5), ..LinkConfig::perfect() }
}

/// One reliable send of the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    sender: usize,
    to: usize,
    at: Duration,
}

/// An ack the sender's node accepted, from its [`ReliableEvent::Delivered`]: when (since the
/// simulation started), which sender, which validator's link carried it, which message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct AcceptedAck {
    at: Duration,
    sender: usize,
    acked_by: ValidatorId,
    id: MessageId,
}

/// What the crash-and-resets scenario produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    sent: BTreeMap<MessageId, Sent>,
    statuses: BTreeMap<MessageId, DeliveryStatus>,
    /// Sorted by time, then sender.
    acks: Vec<AcceptedAck>,
    retransmitted: u64,
    rejected_acks: u64,
    disconnects: u64,
}

const SENDERS: usize = 4;
const N: usize = 6;
const RESTARTED: usize = 4;
const STAYS_DOWN: usize = 5;
const ROUNDS: usize = 8;
const CRASH_ROUND: usize = 3;
const RESTART_ROUND: usize = 6;
const ROUND_INTERVAL: Duration = Duration::from_millis(250);

/// Forwards `events`' reliable-delivery events, tagged with `sender`, until the node stops.
fn collect_reliable(
    sender: usize,
    mut events: broadcast::Receiver<NodeEvent>,
    out: mpsc::UnboundedSender<(usize, ReliableEvent)>,
) {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(NodeEvent::Reliable(event)) => {
                    let _ = out.send((sender, event));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => panic!("sender {sender} lost {missed} events"),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Six validators on links that reset every 2 s on average; validators 0–3 send a reliable vote to
/// every other validator every 250 ms for 8 rounds. Validators 4 and 5 crash before round 3; 4
/// restarts before round 6, 5 stays down. Then every delivery is awaited to its end.
async fn crash_and_resets(seed: u64) -> Outcome {
    let config = NodeConfig::test();
    let mut sim = Sim::new(N, seed, link(), config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..N), Height(0), 4));
    for i in 0..N {
        sim.spawn(i, source.clone(), config.clone()).await;
    }
    sim.await_full_mesh(Duration::from_secs(10)).await;
    sim.network.set_default_link(LinkConfig { mean_time_between_resets: Some(Duration::from_secs(2)), ..link() });
    let (events_tx, mut events) = mpsc::unbounded_channel();
    for sender in 0..SENDERS {
        collect_reliable(sender, sim.nodes[&sender].events(), events_tx.clone());
    }

    let mut sent = BTreeMap::new();
    let mut rounds = tokio::time::interval(ROUND_INTERVAL);
    for round in 0..ROUNDS {
        rounds.tick().await;
        if round == CRASH_ROUND {
            for down in [RESTARTED, STAYS_DOWN] {
                sim.nodes.remove(&down).expect("running").shutdown().await;
            }
        }
        if round == RESTART_ROUND {
            // Its wall clock (so its envelope sequence numbers) continues from where it was.
            sim.spawn(RESTARTED, source.clone(), config.clone()).await;
        }
        for sender in 0..SENDERS {
            for to in (0..N).filter(|to| *to != sender) {
                let vote = sim.vote(sender, 1);
                let id = sim.nodes[&sender].send_reliable(sim.ids[to], &vote).await.expect("accepted");
                sent.insert(id, Sent { sender, to, at: Instant::now() - sim.start });
            }
        }
    }

    // Every delivery ends by its deadline: delivered, or timed out.
    let bound = config.reliable.deadline + Duration::from_secs(1);
    let mut statuses = BTreeMap::new();
    for (id, Sent { sender, to, .. }) in &sent {
        let node = sim.nodes[sender].clone();
        let status = tokio::time::timeout(bound, node.wait_for_ack(sim.ids[*to], *id))
            .await
            .expect("wait_for_ack returns by the deadline")
            .expect("known delivery");
        statuses.insert(*id, status);
    }
    for to in 0..N - 1 {
        let ids: Vec<MessageId> = sent.iter().filter(|(_, s)| s.to == to).map(|(id, _)| *id).collect();
        sim.await_delivered(&[to], &ids, Duration::from_secs(1)).await;
    }

    let (mut retransmitted, mut rejected_acks, mut disconnects) = (0, 0, 0);
    for node in sim.nodes.values() {
        let stats = node.stats().await.unwrap();
        retransmitted += stats.reliable.retransmitted;
        rejected_acks += stats.reliable.rejected_acks;
        disconnects += stats.peers.values().map(|peer| peer.disconnects).sum::<u64>();
    }
    sim.shutdown().await;
    drop(events_tx);
    let mut acks = Vec::new();
    while let Some((sender, event)) = events.recv().await {
        if let ReliableEvent::Delivered { peer, id, latency, .. } = event {
            let at = sent.get(&id).map_or(Duration::MAX, |sent| sent.at + latency);
            acks.push(AcceptedAck { at, sender, acked_by: peer, id });
        }
    }
    acks.sort();
    Outcome { sent, statuses, acks, retransmitted, rejected_acks, disconnects }
}

#[tokio::test(start_paused = true)]
async fn reliable_messages_reach_every_live_validator_despite_resets_and_a_crash() {
    let outcome = crash_and_resets(41).await;
    let deadline = NodeConfig::test().reliable.deadline;
    let crashed_at = ROUND_INTERVAL * CRASH_ROUND as u32;
    assert_eq!(outcome.sent.len(), ROUNDS * SENDERS * (N - 1));
    for (id, sent) in &outcome.sent {
        let status = outcome.statuses[id];
        if sent.to == STAYS_DOWN {
            // Never Failed: the validator is still in the set, just down.
            let expected: &[DeliveryStatus] = if sent.at >= crashed_at {
                &[DeliveryStatus::TimedOut]
            } else {
                &[DeliveryStatus::Delivered, DeliveryStatus::TimedOut]
            };
            assert!(expected.contains(&status), "{sent:?} to the validator that stays down: {status:?}");
        } else {
            assert_eq!(status, DeliveryStatus::Delivered, "{sent:?} to a live validator");
        }
    }
    let timed_out = outcome.statuses.values().filter(|s| **s == DeliveryStatus::TimedOut).count();
    assert!(timed_out >= (ROUNDS - CRASH_ROUND) * SENDERS, "messages to the validator that stays down time out");

    // The trace: every accepted ack came over the destination's own link, once per message, in time.
    let delivered = outcome.statuses.values().filter(|s| **s == DeliveryStatus::Delivered).count();
    assert_eq!(outcome.acks.len(), delivered, "one accepted ack per delivered message");
    for ack in &outcome.acks {
        let sent = &outcome.sent[&ack.id];
        assert_eq!(ack.sender, sent.sender);
        let destination = common::keys(N)[sent.to].validator_id();
        assert_eq!(ack.acked_by, destination, "{ack:?}: acknowledged by someone other than its destination");
        assert!(ack.at - sent.at < deadline, "{ack:?} after the deadline");
    }
    assert_eq!(outcome.rejected_acks, 0, "honest validators ack only what was sent to them");
    assert!(outcome.disconnects > 0, "links were reset during the run");
    assert!(outcome.retransmitted > 0, "resets and the crash made retransmissions necessary");
}

#[test]
fn the_same_seed_gives_the_same_reliable_delivery_trace_and_another_seed_another() {
    let run = |seed| {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
        runtime.block_on(crash_and_resets(seed))
    };
    let first = run(43);
    assert!(first.retransmitted > 0 && first.disconnects > 0);
    assert_eq!(first, run(43), "same seed, same (time, sender, acked-by, message) trace and outcomes");
    assert_ne!(first.acks, run(44).acks, "another seed: other jitter, resets and so other ack times");
}

#[tokio::test(start_paused = true)]
async fn send_reliable_refuses_with_a_typed_error_at_the_unacked_limit() {
    let config = NodeConfig { reliable: ReliableConfig::test(), ..NodeConfig::test() };
    let limit = config.reliable.max_unacked_per_peer;
    let mut sim = Sim::new(3, 53, link(), config.clone());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..3), Height(0), 4));
    // Validator 2 never starts: nothing sent to it is acknowledged.
    for i in [0, 1] {
        sim.spawn(i, source.clone(), config.clone()).await;
    }
    let node: Node = sim.nodes[&0].clone();
    let (down, up) = (sim.ids[2], sim.ids[1]);
    let mut pending = Vec::new();
    for _ in 0..limit {
        let vote = sim.vote(0, 1);
        pending.push(node.send_reliable(down, &vote).await.expect("below the limit"));
    }
    let vote = sim.vote(0, 1);
    match node.send_reliable(down, &vote).await {
        Err(NodeError::TooManyUnacked(SendError::TooManyUnacked { peer, limit: at })) => {
            assert_eq!((peer, at), (down, limit));
        }
        other => panic!("expected the typed refusal at the limit, got {other:?}"),
    }
    // The bound is per destination: another validator still gets messages.
    let id = node.send_reliable(up, &vote).await.expect("another destination is not limited");
    assert_eq!(node.wait_for_ack(up, id).await.unwrap(), DeliveryStatus::Delivered);
    let stats = node.stats().await.unwrap().reliable;
    assert_eq!((stats.sent, stats.refused, stats.pending), (limit as u64 + 1, 1, limit));

    // At their deadline the pending ones time out (through the trait), and the destination takes
    // messages again.
    let started = Instant::now();
    for id in &pending {
        assert_eq!(ReliableMessaging::wait_for_ack(&node, down, *id).await.unwrap(), DeliveryStatus::TimedOut);
    }
    assert!(Instant::now() - started <= config.reliable.deadline);
    let vote = sim.vote(0, 1);
    node.send_reliable(down, &vote).await.expect("room again after the deadlines");

    // The other typed errors.
    assert!(matches!(node.send_reliable(sim.ids[0], &vote).await, Err(NodeError::NotAPeer { .. })));
    let unknown = MessageId([7; 32]);
    assert!(matches!(node.wait_for_ack(up, unknown).await, Err(NodeError::UnknownDelivery { .. })));
    assert_eq!(node.delivery_status(up, unknown).await.unwrap(), None);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pending_messages_fail_when_their_destination_leaves_the_set() {
    let mut sim = Sim::new(3, 59, link(), NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..3), Height(0), 4));
    for i in [0, 1] {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    let node = sim.nodes[&0].clone();
    let vote = sim.vote(0, 1);
    let id = node.send_reliable(sim.ids[2], &vote).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    source.push_set(Height(10), sim.set(0..2)).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(1), node.wait_for_ack(sim.ids[2], id)).await.unwrap();
    assert_eq!(status.unwrap(), DeliveryStatus::Failed);
    assert_eq!(node.stats().await.unwrap().reliable.failed, 1);
    assert!(matches!(node.send_reliable(sim.ids[2], &vote).await, Err(NodeError::NotAPeer { .. })));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_reliable_message_reaches_its_destination_only() {
    let mut sim = Sim::start(4, 61, link(), NodeConfig::test()).await;
    sim.await_full_mesh(Duration::from_secs(5)).await;
    let vote = sim.vote(0, 1);
    let id = sim.nodes[&0].send_reliable(sim.ids[1], &vote).await.unwrap();
    assert_eq!(sim.nodes[&0].wait_for_ack(sim.ids[1], id).await.unwrap(), DeliveryStatus::Delivered);
    // Several digest intervals and want rounds: time for gossip to have spread it, had it been gossiped.
    let marker = sim.broadcast(0, 2).await;
    sim.await_delivered(&[1, 2, 3], &[marker], Duration::from_secs(5)).await;
    tokio::time::sleep(sim.config.digest_interval * 4).await;
    sim.drain();
    assert!(sim.holds(1, &id), "the destination got it");
    for other in [2, 3] {
        assert!(!sim.holds(other, &id), "validator {other} got a message sent to validator 1 alone");
    }
    sim.shutdown().await;
}
