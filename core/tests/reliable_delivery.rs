//! Reliable delivery's pure state: backoff schedule, deterministic jitter, reconnects, deadlines, acks
//! only from the destination, and the per-peer bound.

mod common;

use std::time::Duration;

use common::validator;
use quorumnet_core::identity::{Signature, ValidatorId};
use quorumnet_core::message::{Envelope, MessageId};
use quorumnet_core::node::reliable::{
    AckOutcome, DeliveryStatus, DeliveryTracker, ReliableConfig, Retransmit, SendError,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::time::Instant;

/// An unsigned envelope (the tracker never verifies) with a distinct id per `seq`.
fn envelope(seq: u64) -> Envelope {
    Envelope {
        origin: validator(0xee),
        seq,
        ttl: 0,
        payload: vec![seq as u8; 8].into(),
        sig: Signature::from_bytes(vec![0; 16]),
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Drives `tracker` by its own wakeups until `until`, returning each retransmission's time (offset
/// from `start`) and attempt.
fn schedule(tracker: &mut DeliveryTracker, start: Instant, until: Duration, seed: u64) -> Vec<(Duration, u32)> {
    let mut rng = rng(seed);
    let mut sent = Vec::new();
    while let Some(at) = tracker.next_wakeup().filter(|at| *at <= start + until) {
        tracker.expire(at);
        sent.extend(tracker.due(at, &mut rng).into_iter().map(|r| (at - start, r.attempt)));
    }
    sent
}

#[tokio::test(start_paused = true)]
async fn retransmissions_back_off_exponentially_up_to_the_cap() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let start = Instant::now();
    let first = tracker.send(validator(1), envelope(1), start).unwrap();
    assert_eq!(first.attempt, 0);

    // Waits of 100, 200, 400, 800 ms, then capped at 800 ms (retransmit_max).
    let expected: Vec<(Duration, u32)> =
        [100, 300, 700, 1_500, 2_300, 3_100].iter().zip(1..).map(|(at, attempt)| (ms(*at), attempt)).collect();
    assert_eq!(schedule(&mut tracker, start, ms(3_100), 0), expected);
}

#[tokio::test(start_paused = true)]
async fn a_measured_round_trip_timeout_longer_than_the_minimum_is_the_backoff_base() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let start = Instant::now();
    tracker.send_with_rto(validator(1), envelope(1), start, Some(ms(250))).unwrap();
    // Waits of 250 and 500 ms, then capped at 800 ms.
    let expected: Vec<(Duration, u32)> =
        [250, 750, 1_550, 2_350].iter().zip(1..).map(|(at, attempt)| (ms(*at), attempt)).collect();
    assert_eq!(schedule(&mut tracker, start, ms(2_350), 0), expected);

    // A round trip shorter than the minimum changes nothing; one longer than the cap is capped.
    tracker.send_with_rto(validator(2), envelope(2), start, Some(ms(10))).unwrap();
    tracker.send_with_rto(validator(3), envelope(3), start, Some(ms(5_000))).unwrap();
    let firsts: Vec<_> = schedule(&mut tracker, start, ms(800), 0)
        .into_iter()
        .filter(|(_, attempt)| *attempt == 1)
        .map(|(at, _)| at)
        .collect();
    assert_eq!(firsts, vec![ms(100), ms(800)]);
}

#[tokio::test(start_paused = true)]
async fn jittered_schedule_is_the_same_for_a_seed_and_stays_within_the_jitter() {
    let config = ReliableConfig { retransmit_jitter: 0.5, ..ReliableConfig::test() };
    let run = |seed| {
        let mut tracker = DeliveryTracker::new(config.clone());
        let start = Instant::now();
        for seq in 0..4 {
            tracker.send(validator(1), envelope(seq), start).unwrap();
        }
        schedule(&mut tracker, start, ms(4_000), seed)
    };
    let (a, b, other) = (run(7), run(7), run(8));
    assert_eq!(a, b, "same seed, same schedule");
    assert_ne!(a, other, "another seed jitters differently");

    // Every wait after the first is min·2^k (capped) times a factor in [0.5, 1.5].
    let mut tracker = DeliveryTracker::new(config);
    let start = Instant::now();
    tracker.send(validator(1), envelope(1), start).unwrap();
    let times = schedule(&mut tracker, start, ms(10_000), 3);
    for pair in times.windows(2) {
        let (previous, attempt) = pair[0];
        let base = ms(100 * (1 << attempt.min(3)));
        let wait = pair[1].0 - previous;
        assert!(wait >= base.mul_f64(0.5) && wait <= base.mul_f64(1.5), "wait {wait:?} after attempt {attempt}");
    }
}

#[tokio::test(start_paused = true)]
async fn reconnect_makes_the_peers_pending_messages_due_now_and_keeps_their_backoff() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let mut rng = rng(0);
    let start = Instant::now();
    let (a, b) = (validator(1), validator(2));
    tracker.send(a, envelope(1), start).unwrap();
    tracker.send(b, envelope(2), start).unwrap();
    // First retransmission of both at 100 ms; the next is due at 300 ms.
    assert_eq!(tracker.due(start + ms(100), &mut rng).len(), 2);

    tracker.on_peer_reconnected(a, start + ms(150));
    let due: Vec<Retransmit> = tracker.due(start + ms(150), &mut rng);
    assert_eq!(due.len(), 1, "only the reconnected peer's message");
    assert_eq!((due[0].destination, due[0].attempt), (a, 2), "the schedule survived the reconnect");
    // Its backoff continues from attempt 2: the next wait is 400 ms, not the first 100 ms again.
    assert!(tracker.due(start + ms(549), &mut rng).iter().all(|r| r.destination != a));
    assert_eq!(tracker.due(start + ms(550), &mut rng)[0].destination, a);
}

#[tokio::test(start_paused = true)]
async fn deadline_passes_as_timed_out_and_wakes_the_waiter() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let mut rng = rng(0);
    let start = Instant::now();
    let (peer, message) = (validator(1), envelope(1));
    tracker.send(peer, message.clone(), start).unwrap();
    let waiter = tracker.waiter(peer, &message.id()).unwrap();
    assert_eq!(waiter.status(), DeliveryStatus::Pending);

    let deadline = start + ReliableConfig::test().deadline;
    assert!(tracker.expire(deadline - ms(1)).is_empty());
    assert!(tracker.due(deadline, &mut rng).is_empty(), "never retransmitted past its deadline");
    assert_eq!(tracker.expire(deadline), vec![(peer, message.id())]);
    assert_eq!(tracker.status(peer, &message.id()), Some(DeliveryStatus::TimedOut));
    assert_eq!(waiter.wait().await, DeliveryStatus::TimedOut);
    assert_eq!(tracker.unacked(peer), 0);
    assert_eq!(tracker.next_wakeup(), None);
}

#[tokio::test(start_paused = true)]
async fn ack_from_a_node_that_is_not_the_destination_is_ignored_and_counted() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let start = Instant::now();
    let (destination, middle, message) = (validator(1), validator(2), envelope(1));
    tracker.send(destination, message.clone(), start).unwrap();
    let waiter = tracker.waiter(destination, &message.id()).unwrap();

    assert_eq!(tracker.on_ack(middle, message.id(), start + ms(10)), AckOutcome::NotDestination);
    assert_eq!(tracker.status(destination, &message.id()), Some(DeliveryStatus::Pending));
    assert_eq!(tracker.rejected_acks(), 1);

    let outcome = tracker.on_ack(destination, message.id(), start + ms(30));
    assert_eq!(outcome, AckOutcome::Delivered { latency: ms(30), retransmissions: 0 });
    assert_eq!(waiter.wait().await, DeliveryStatus::Delivered);
    assert_eq!(
        tracker.on_ack(destination, message.id(), start + ms(40)),
        AckOutcome::AlreadyFinished(DeliveryStatus::Delivered)
    );
    assert_eq!(tracker.on_ack(destination, MessageId([9; 32]), start), AckOutcome::Unknown);
}

#[tokio::test(start_paused = true)]
async fn one_message_to_two_destinations_is_delivered_per_destination() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let start = Instant::now();
    let (a, b, message) = (validator(1), validator(2), envelope(1));
    tracker.send(a, message.clone(), start).unwrap();
    tracker.send(b, message.clone(), start).unwrap();

    assert!(matches!(tracker.on_ack(a, message.id(), start), AckOutcome::Delivered { .. }));
    assert_eq!(tracker.status(a, &message.id()), Some(DeliveryStatus::Delivered));
    assert_eq!(tracker.status(b, &message.id()), Some(DeliveryStatus::Pending), "a's ack is not b's");
    // a acking again does not deliver b's copy either.
    assert_eq!(tracker.on_ack(a, message.id(), start), AckOutcome::AlreadyFinished(DeliveryStatus::Delivered));
    assert_eq!(tracker.status(b, &message.id()), Some(DeliveryStatus::Pending));
}

#[tokio::test(start_paused = true)]
async fn the_nth_unacked_message_to_a_peer_is_refused_until_one_is_acked() {
    let config = ReliableConfig::test();
    let limit = config.max_unacked_per_peer;
    let mut tracker = DeliveryTracker::new(config);
    let start = Instant::now();
    let (peer, other) = (validator(1), validator(2));
    for seq in 0..limit as u64 {
        tracker.send(peer, envelope(seq), start).unwrap();
    }
    let refused = tracker.send(peer, envelope(99), start).unwrap_err();
    assert_eq!(refused, SendError::TooManyUnacked { peer, limit });
    assert_eq!(tracker.unacked(peer), limit);
    tracker.send(other, envelope(99), start).expect("the bound is per peer");
    assert_eq!(
        tracker.send(peer, envelope(0), start).unwrap_err(),
        SendError::AlreadyPending { peer, id: envelope(0).id() }
    );

    tracker.on_ack(peer, envelope(0).id(), start);
    tracker.send(peer, envelope(99), start).expect("an ack frees a slot");
}

#[tokio::test(start_paused = true)]
async fn removed_peer_fails_its_pending_messages() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let start = Instant::now();
    let (gone, stays) = (validator(1), validator(2));
    tracker.send(gone, envelope(1), start).unwrap();
    tracker.send(stays, envelope(2), start).unwrap();
    let waiter = tracker.waiter(gone, &envelope(1).id()).unwrap();

    assert_eq!(tracker.on_peer_removed(gone), vec![envelope(1).id()]);
    assert_eq!(waiter.wait().await, DeliveryStatus::Failed);
    assert_eq!(tracker.status(stays, &envelope(2).id()), Some(DeliveryStatus::Pending));
    assert!(tracker.cancel(stays, envelope(2).id()));
    assert_eq!(tracker.status(stays, &envelope(2).id()), Some(DeliveryStatus::Failed));
    assert!(!tracker.cancel(stays, envelope(2).id()));
}

#[tokio::test(start_paused = true)]
async fn retransmit_unacked_resends_every_pending_message_at_once() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let mut rng = rng(0);
    let start = Instant::now();
    let peers: Vec<ValidatorId> = (1..=3).map(validator).collect();
    for (seq, peer) in peers.iter().enumerate() {
        tracker.send(*peer, envelope(seq as u64), start).unwrap();
    }
    tracker.on_ack(peers[0], envelope(0).id(), start);

    let resent = tracker.retransmit_unacked(start + ms(10), &mut rng);
    let destinations: Vec<ValidatorId> = resent.iter().map(|r| r.destination).collect();
    assert_eq!(destinations.len(), 2);
    assert!(destinations.contains(&peers[1]) && destinations.contains(&peers[2]));
    assert!(resent.iter().all(|r| r.attempt == 1));
}

#[tokio::test(start_paused = true)]
async fn finished_statuses_are_bounded_and_the_oldest_is_forgotten() {
    let config = ReliableConfig::test();
    let keep = config.max_finished as u64;
    let mut tracker = DeliveryTracker::new(config);
    let start = Instant::now();
    let peer = validator(1);
    for seq in 0..=keep {
        tracker.send(peer, envelope(seq), start).unwrap();
        tracker.on_ack(peer, envelope(seq).id(), start);
    }
    assert_eq!(tracker.status(peer, &envelope(0).id()), None, "the oldest outcome is forgotten");
    assert!(tracker.waiter(peer, &envelope(0).id()).is_none());
    assert_eq!(tracker.status(peer, &envelope(keep).id()), Some(DeliveryStatus::Delivered));
    let resolved = tracker.waiter(peer, &envelope(keep).id()).unwrap();
    assert_eq!(resolved.wait().await, DeliveryStatus::Delivered);
}

#[tokio::test(start_paused = true)]
async fn waiter_outliving_the_tracker_reports_failed() {
    let mut tracker = DeliveryTracker::new(ReliableConfig::test());
    let start = Instant::now();
    tracker.send(validator(1), envelope(1), start).unwrap();
    let waiter = tracker.waiter(validator(1), &envelope(1).id()).unwrap();
    drop(tracker);
    assert_eq!(waiter.wait().await, DeliveryStatus::Failed);
}
