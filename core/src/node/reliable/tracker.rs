//! [`DeliveryTracker`]: the pure state of reliable delivery.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::ReliableConfig;
use crate::identity::ValidatorId;
use crate::message::{Envelope, MessageId};
use crate::node::backoff::jittered_backoff;

/// Where one message stands with one destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Sent, not yet acknowledged by the destination; still being retransmitted.
    Pending,
    /// The destination itself acknowledged it.
    Delivered,
    /// Given up before the deadline: the destination left the validator set, or the caller cancelled.
    Failed,
    /// The deadline passed without an ack from the destination.
    TimedOut,
}

impl DeliveryStatus {
    /// Whether the status is final (anything but [`Pending`](Self::Pending)).
    pub fn is_final(self) -> bool {
        self != DeliveryStatus::Pending
    }
}

/// One (re)transmission the caller must put on the wire as a `Frame::Reliable` to `destination`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retransmit {
    /// The validator that must receive the envelope and acknowledge it.
    pub destination: ValidatorId,
    /// The envelope's id.
    pub id: MessageId,
    /// The envelope to send.
    pub envelope: Envelope,
    /// 0 for the first transmission, then 1, 2, … for retransmissions.
    pub attempt: u32,
}

/// Why [`DeliveryTracker::send`] refused a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The destination already has the configured number of unacknowledged messages: it is down or far
    /// behind. Wait for some to be acknowledged or to time out (see `wait_for_ack`), or send fewer.
    #[error("{peer} has {limit} unacknowledged reliable messages already: wait for acks or deadlines, then retry")]
    TooManyUnacked {
        /// The destination.
        peer: ValidatorId,
        /// [`ReliableConfig::max_unacked_per_peer`].
        limit: usize,
    },
    /// This message is already pending for this destination; wait for it instead of sending it again.
    #[error("message {id} is already pending for {peer}: wait for its ack instead of sending it again")]
    AlreadyPending {
        /// The destination.
        peer: ValidatorId,
        /// The message.
        id: MessageId,
    },
}

/// What an ack frame did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// The destination acknowledged a pending message; it is now [`DeliveryStatus::Delivered`].
    Delivered {
        /// From the first transmission to the ack.
        latency: Duration,
        /// Retransmissions it took (0: the first transmission arrived).
        retransmissions: u32,
    },
    /// The destination acknowledged a message already finished (a retransmission's second ack, or an
    /// ack after the deadline): ignored.
    AlreadyFinished(DeliveryStatus),
    /// `from` is not a destination of this pending message: ignored, the message stays pending. Only the
    /// destination itself may acknowledge; a node in the middle that acks is reported, never believed.
    NotDestination,
    /// No such message is, or recently was, awaiting an ack: ignored.
    Unknown,
}

/// A handle that resolves when one delivery becomes final; see [`DeliveryTracker::waiter`].
#[derive(Clone, Debug)]
pub struct DeliveryWaiter(watch::Receiver<DeliveryStatus>);

impl DeliveryWaiter {
    /// The status now.
    pub fn status(&self) -> DeliveryStatus {
        *self.0.borrow()
    }

    /// Waits until the delivery is final and returns its status. If the tracker is dropped first, the
    /// delivery can no longer complete: [`DeliveryStatus::Failed`].
    pub async fn wait(mut self) -> DeliveryStatus {
        match self.0.wait_for(|status| status.is_final()).await {
            Ok(status) => *status,
            Err(_) => DeliveryStatus::Failed,
        }
    }
}

/// A message awaiting its destination's ack.
#[derive(Debug)]
struct InFlight {
    envelope: Envelope,
    /// Retransmissions so far: the backoff exponent. Kept across reconnects — the schedule belongs to
    /// the message, not to a connection.
    attempts: u32,
    /// The first wait, doubled per retransmission: `retransmit_min`, or the destination's round-trip
    /// timeout if longer ([`DeliveryTracker::send_with_rto`]).
    base: Duration,
    first_sent: Instant,
    next_at: Instant,
    deadline: Instant,
    /// Created on the first [`DeliveryTracker::waiter`] call; dropped with the entry.
    status: Option<watch::Sender<DeliveryStatus>>,
}

/// Key order `(id, destination)`: all destinations of one id are one range, which is how an ack from a
/// non-destination is told apart from an unknown id.
type Key = (MessageId, ValidatorId);

/// The pure, deterministic state of reliable delivery: which messages await whose ack, when each is
/// retransmitted, and how each delivery ended. Time is passed in; randomness (jitter) comes from the
/// caller's seeded rng. The node's actor owns one and turns its outputs into frames.
///
/// # Guarantees
/// - A delivery is [`Delivered`](DeliveryStatus::Delivered) only on an ack whose sender is the
///   destination itself ([`on_ack`](Self::on_ack)'s `from` is the authenticated peer of the link or
///   end-to-end circuit it came over).
/// - Retransmissions back off exponentially per message with jitter; a reconnect of the destination
///   makes its pending messages due at once ([`on_peer_reconnected`](Self::on_peer_reconnected))
///   without resetting their backoff.
/// - Bounded: at most [`ReliableConfig::max_unacked_per_peer`] pending messages per destination (more
///   are refused with [`SendError::TooManyUnacked`]) and [`ReliableConfig::max_finished`] remembered
///   outcomes.
///
/// ```
/// use std::time::Duration;
/// use rand::{rngs::StdRng, SeedableRng};
/// use tokio::time::Instant;
/// use quorumnet_core::identity::{ChainId, Keypair};
/// use quorumnet_core::message::Envelope;
/// use quorumnet_core::node::reliable::{AckOutcome, DeliveryStatus, DeliveryTracker, ReliableConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let (me, them) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]).validator_id());
/// let envelope = Envelope::sign(&me, ChainId::from_network_name("devnet"), 1, 0, &b"vote"[..]);
/// let mut tracker = DeliveryTracker::new(ReliableConfig::test());
/// let mut rng = StdRng::seed_from_u64(1);
/// let start = Instant::now();
///
/// let first = tracker.send(them, envelope.clone(), start).unwrap();
/// assert_eq!(first.attempt, 0);
/// // No ack within retransmit_min (100 ms in the test preset): it is due again.
/// let again = tracker.due(start + Duration::from_millis(100), &mut rng);
/// assert_eq!(again[0].attempt, 1);
///
/// let outcome = tracker.on_ack(them, envelope.id(), start + Duration::from_millis(120));
/// assert!(matches!(outcome, AckOutcome::Delivered { retransmissions: 1, .. }));
/// assert_eq!(tracker.status(them, &envelope.id()), Some(DeliveryStatus::Delivered));
/// # });
/// ```
#[derive(Debug)]
pub struct DeliveryTracker {
    config: ReliableConfig,
    in_flight: BTreeMap<Key, InFlight>,
    unacked_per_peer: BTreeMap<ValidatorId, usize>,
    finished: BTreeMap<Key, DeliveryStatus>,
    /// `finished`'s keys, oldest first, to forget the oldest at the bound.
    finished_order: VecDeque<Key>,
    /// Acks refused because their sender was not the destination: a metric, and evidence to score.
    rejected_acks: u64,
}

impl DeliveryTracker {
    /// An empty tracker.
    pub fn new(config: ReliableConfig) -> Self {
        DeliveryTracker {
            config,
            in_flight: BTreeMap::new(),
            unacked_per_peer: BTreeMap::new(),
            finished: BTreeMap::new(),
            finished_order: VecDeque::new(),
            rejected_acks: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReliableConfig {
        &self.config
    }

    /// Starts tracking `envelope` for `destination` and returns its first transmission.
    ///
    /// The first retransmission is scheduled `retransmit_min` later (no jitter on the first wait, so
    /// `send` needs no rng); the deadline is `now + deadline`.
    ///
    /// # Errors
    /// [`SendError::TooManyUnacked`] at the per-destination bound; [`SendError::AlreadyPending`] if this
    /// message is already pending for `destination`. A message that finished earlier may be sent again:
    /// it starts a new delivery.
    pub fn send(
        &mut self,
        destination: ValidatorId,
        envelope: Envelope,
        now: Instant,
    ) -> Result<Retransmit, SendError> {
        self.send_with_rto(destination, envelope, now, None)
    }

    /// [`send`](Self::send), with the destination's measured retransmission timeout (`SRTT + 4·RTTVAR`
    /// from pings, if known): the first wait — and so every doubled wait after it — is at least that,
    /// capped at `retransmit_max`. An ack cannot come back faster than a round trip, so resending
    /// sooner only costs a 3.3 KB envelope per message on a long link.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_with_rto(
        &mut self,
        destination: ValidatorId,
        envelope: Envelope,
        now: Instant,
        round_trip_timeout: Option<Duration>,
    ) -> Result<Retransmit, SendError> {
        let id = envelope.id();
        let key = (id, destination);
        if self.in_flight.contains_key(&key) {
            return Err(SendError::AlreadyPending { peer: destination, id });
        }
        let limit = self.config.max_unacked_per_peer;
        let unacked = self.unacked_per_peer.entry(destination).or_default();
        if *unacked >= limit {
            return Err(SendError::TooManyUnacked { peer: destination, limit });
        }
        *unacked += 1;
        self.forget_finished(&key);
        let (min, max) = (self.config.retransmit_min, self.config.retransmit_max);
        let base = round_trip_timeout.map_or(min, |rto| rto.clamp(min, max.max(min)));
        let entry = InFlight {
            envelope: envelope.clone(),
            attempts: 0,
            base,
            first_sent: now,
            next_at: now + base,
            deadline: now + self.config.deadline,
            status: None,
        };
        self.in_flight.insert(key, entry);
        Ok(Retransmit { destination, id, envelope, attempt: 0 })
    }

    /// Handles an ack for `id` that arrived from `from` — the authenticated peer of the direct link or
    /// end-to-end circuit it came over.
    pub fn on_ack(&mut self, from: ValidatorId, id: MessageId, now: Instant) -> AckOutcome {
        let key = (id, from);
        if let Some(entry) = self.in_flight.get(&key) {
            let outcome = AckOutcome::Delivered {
                latency: now.saturating_duration_since(entry.first_sent),
                retransmissions: entry.attempts,
            };
            self.finish(key, DeliveryStatus::Delivered);
            return outcome;
        }
        if let Some(status) = self.finished.get(&key) {
            return AckOutcome::AlreadyFinished(*status);
        }
        let any_destination = (id, ValidatorId([0; 32]))..=(id, ValidatorId([0xff; 32]));
        if self.in_flight.range(any_destination).next().is_some() {
            self.rejected_acks += 1;
            tracing::debug!(from = %from.short(), %id, "ack from a node that is not the destination: ignored");
            return AckOutcome::NotDestination;
        }
        AckOutcome::Unknown
    }

    /// Retransmissions due at `now`, each rescheduled with the next, doubled and jittered, wait.
    /// Messages past their deadline are not retransmitted; [`expire`](Self::expire) finishes them.
    ///
    /// Returned in `(id, destination)` order, so a seeded run is reproducible.
    pub fn due<R: Rng + ?Sized>(&mut self, now: Instant, rng: &mut R) -> Vec<Retransmit> {
        let keys: Vec<Key> = self
            .in_flight
            .iter()
            .filter(|(_, entry)| entry.next_at <= now && entry.deadline > now)
            .map(|(key, _)| *key)
            .collect();
        self.retransmit(keys, now, rng)
    }

    /// Every pending message, to every destination, retransmitted now (e.g. after the node's links all
    /// came back at once). Each is rescheduled as by [`due`](Self::due).
    pub fn retransmit_unacked<R: Rng + ?Sized>(&mut self, now: Instant, rng: &mut R) -> Vec<Retransmit> {
        let keys: Vec<Key> =
            self.in_flight.iter().filter(|(_, entry)| entry.deadline > now).map(|(key, _)| *key).collect();
        self.retransmit(keys, now, rng)
    }

    fn retransmit<R: Rng + ?Sized>(&mut self, keys: Vec<Key>, now: Instant, rng: &mut R) -> Vec<Retransmit> {
        let (max, jitter) = (self.config.retransmit_max, self.config.retransmit_jitter);
        keys.into_iter()
            .filter_map(|key| {
                let entry = self.in_flight.get_mut(&key)?;
                entry.attempts = entry.attempts.saturating_add(1);
                entry.next_at = now + jittered_backoff(entry.base, max, jitter, entry.attempts, rng);
                Some(Retransmit {
                    destination: key.1,
                    id: key.0,
                    envelope: entry.envelope.clone(),
                    attempt: entry.attempts,
                })
            })
            .collect()
    }

    /// Finishes every pending message whose deadline is at or before `now` as
    /// [`TimedOut`](DeliveryStatus::TimedOut), and returns them as `(destination, id)`.
    pub fn expire(&mut self, now: Instant) -> Vec<(ValidatorId, MessageId)> {
        let expired: Vec<Key> =
            self.in_flight.iter().filter(|(_, entry)| entry.deadline <= now).map(|(key, _)| *key).collect();
        self.finish_all(expired, DeliveryStatus::TimedOut)
    }

    /// `peer`'s link (or circuit) is up again: its pending messages are due now. Their backoff is kept,
    /// so a flapping link does not turn into a retransmission storm.
    pub fn on_peer_reconnected(&mut self, peer: ValidatorId, now: Instant) {
        for ((_, destination), entry) in &mut self.in_flight {
            if *destination == peer {
                entry.next_at = entry.next_at.min(now);
            }
        }
    }

    /// `peer` can no longer be delivered to (it left the validator set): its pending messages finish as
    /// [`Failed`](DeliveryStatus::Failed) and are returned as their ids.
    pub fn on_peer_removed(&mut self, peer: ValidatorId) -> Vec<MessageId> {
        let keys: Vec<Key> = self.in_flight.keys().filter(|(_, destination)| *destination == peer).copied().collect();
        self.finish_all(keys, DeliveryStatus::Failed).into_iter().map(|(_, id)| id).collect()
    }

    /// Gives up one pending delivery as [`Failed`](DeliveryStatus::Failed). Returns whether it was
    /// pending.
    pub fn cancel(&mut self, destination: ValidatorId, id: MessageId) -> bool {
        let key = (id, destination);
        let pending = self.in_flight.contains_key(&key);
        if pending {
            self.finish(key, DeliveryStatus::Failed);
        }
        pending
    }

    /// The status of `id` for `destination`: `None` if never sent there, or finished so long ago it was
    /// forgotten.
    pub fn status(&self, destination: ValidatorId, id: &MessageId) -> Option<DeliveryStatus> {
        let key = (*id, destination);
        if self.in_flight.contains_key(&key) {
            return Some(DeliveryStatus::Pending);
        }
        self.finished.get(&key).copied()
    }

    /// A waiter for `id`'s delivery to `destination` — what `wait_for_ack` awaits. `None` when the
    /// status is unknown (see [`status`](Self::status)).
    ///
    /// Bounded: one watch channel per pending message, created on the first call and dropped when it
    /// finishes; a finished delivery's waiter is resolved at once.
    pub fn waiter(&mut self, destination: ValidatorId, id: &MessageId) -> Option<DeliveryWaiter> {
        let key = (*id, destination);
        if let Some(entry) = self.in_flight.get_mut(&key) {
            let sender = entry.status.get_or_insert_with(|| watch::channel(DeliveryStatus::Pending).0);
            return Some(DeliveryWaiter(sender.subscribe()));
        }
        let status = *self.finished.get(&key)?;
        Some(DeliveryWaiter(watch::channel(status).1))
    }

    /// Pending messages for `peer`.
    pub fn unacked(&self, peer: ValidatorId) -> usize {
        self.unacked_per_peer.get(&peer).copied().unwrap_or(0)
    }

    /// Pending messages in total.
    pub fn pending_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Acks ignored because they did not come from the destination.
    pub fn rejected_acks(&self) -> u64 {
        self.rejected_acks
    }

    /// When the tracker next has work: the earliest retransmission or deadline. The actor sleeps until
    /// then (or until a send, ack or reconnect).
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.in_flight.values().map(|entry| entry.next_at.min(entry.deadline)).min()
    }

    fn finish_all(&mut self, keys: Vec<Key>, status: DeliveryStatus) -> Vec<(ValidatorId, MessageId)> {
        keys.into_iter()
            .map(|key| {
                self.finish(key, status);
                (key.1, key.0)
            })
            .collect()
    }

    /// Moves a pending entry to `finished` with `status` and wakes its waiters.
    fn finish(&mut self, key: Key, status: DeliveryStatus) {
        let Some(entry) = self.in_flight.remove(&key) else { return };
        if let Some(count) = self.unacked_per_peer.get_mut(&key.1) {
            *count -= 1;
            if *count == 0 {
                self.unacked_per_peer.remove(&key.1);
            }
        }
        if let Some(sender) = entry.status {
            sender.send_replace(status);
        }
        if self.config.max_finished == 0 {
            return;
        }
        while self.finished_order.len() >= self.config.max_finished {
            if let Some(oldest) = self.finished_order.pop_front() {
                self.finished.remove(&oldest);
            }
        }
        self.finished.insert(key, status);
        self.finished_order.push_back(key);
    }

    /// Forgets a finished delivery about to be sent again.
    fn forget_finished(&mut self, key: &Key) {
        if self.finished.remove(key).is_some() {
            self.finished_order.retain(|k| k != key);
        }
    }
}
