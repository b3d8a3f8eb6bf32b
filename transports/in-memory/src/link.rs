//! One simulated link: two directions of frames, moved by one pump task per link.
//!
//! Each direction holds three bounded queues:
//!
//! ```text
//! send ──► unsent (≤ K, counts the frame being transmitted) ──► in flight ──► inbox ──► recv
//!                         transmission: len / bandwidth          delivery at its time
//! ```
//!
//! - `send` accepts a frame while fewer than [`UNSENT_BOUND`] (K) bytes are unsent.
//! - The pump starts transmitting the next frame while fewer than [`RECEIVE_WINDOW`] bytes are in
//!   flight or unread in the inbox — the simulated TCP receive window — so a peer that never reads
//!   stops the sender after at most `K + RECEIVE_WINDOW + 2 × max frame` bytes.
//! - Delivery times are non-decreasing per direction, so frames never overtake each other.
//!
//! All state sits behind one mutex per link (never held across an `.await`, never nested inside the
//! network's lock); `send`, `recv` and `close` act atomically under it, which makes them cancel-safe.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use quorumnet_core::identity::ValidatorId;
use rand::rngs::StdRng;
use rand::Rng as _;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::link_config::{probability, LinkConfig};
use crate::network::MemoryNetwork;
use crate::nic::Nic;

/// K, the declared unsent bound of every `mem` connection: `send` stays pending while this many bytes
/// are accepted but not yet transmitted. 64 KiB is one part of a split proposal (DESIGN.md §2), so a
/// vote queues behind at most K plus one frame.
pub const UNSENT_BOUND: usize = 64 * 1024;

/// The simulated receive window: bytes in flight plus bytes delivered but not yet read by `recv`.
/// Transmission pauses at this bound, so a peer that stops reading stops the sender. 1 MiB keeps a
/// 40 ms WAN link near 25 MB/s, like a tuned TCP connection.
pub const RECEIVE_WINDOW: usize = 1024 * 1024;

// The declared bounds keep the contract: K ≤ 256 KiB, and with default-size frames a never-reading
// peer stops the sender before 16 MiB (at most K + window + two frames are accepted).
const _: () = assert!(UNSENT_BOUND <= quorumnet_core::transport::MAX_UNSENT_BOUND);
const _: () = assert!(
    UNSENT_BOUND + RECEIVE_WINDOW + 2 * quorumnet_core::codec::DEFAULT_MAX_FRAME_LEN
        < quorumnet_core::transport::NEVER_READING_PEER_CEILING
);

/// Far enough in the future to mean "never" without overflowing `Instant`.
const NEVER: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// Why a link operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkError {
    /// This end already closed its sending direction.
    Closed,
    /// The link was reset (by a fault, a partition, a protocol violation) or the peer went away.
    Lost(String),
}

impl LinkError {
    /// The contract's error for this failure on a link to `peer`.
    pub(crate) fn into_transport(self, peer: ValidatorId) -> quorumnet_core::transport::TransportError {
        use quorumnet_core::transport::TransportError;
        match self {
            LinkError::Closed => TransportError::Closed,
            LinkError::Lost(reason) => TransportError::ConnectionLost { peer, reason },
        }
    }
}

/// The two ends of the link, as the network sees them (for partitions and per-pair configuration).
#[derive(Debug, Clone)]
pub(crate) struct LinkHosts {
    /// The dialing validator (`None` for a raw test link).
    pub dialer: Option<ValidatorId>,
    /// The listener name dialed.
    pub listener_name: String,
    /// The validator listening under that name.
    pub listener: ValidatorId,
}

/// A link shared by its two ends and its pump.
pub(crate) struct Link {
    number: u64,
    hosts: LinkHosts,
    state: Mutex<LinkState>,
    /// Wakes `send`/`recv` waiters on either end.
    changed: Notify,
    /// Wakes the pump.
    pump: Notify,
}

struct LinkState {
    /// `dirs[s]` carries frames sent by side `s` (0 dialer, 1 listener).
    dirs: [Direction; 2],
    reset: Option<String>,
    config: LinkConfig,
    config_version: u64,
    rng: StdRng,
    reset_at: Option<Instant>,
    /// The interfaces each direction passes through: `nics[s]` = (side `s`'s upload, the other
    /// side's download), for the validators whose bandwidth is limited.
    nics: [Interfaces; 2],
}

/// The upload of a direction's sender and the download of its receiver.
#[derive(Default, Clone)]
pub(crate) struct Interfaces {
    pub upload: Option<Arc<Nic>>,
    pub download: Option<Arc<Nic>>,
}

#[derive(Default)]
struct Direction {
    unsent: VecDeque<Bytes>,
    unsent_bytes: usize,
    /// When the head of `unsent` finishes transmitting, if it has started.
    transmitting: Option<Instant>,
    /// When its first byte left (after the sender's interface, if any, had room).
    first_byte_sent: Option<Instant>,
    in_flight: VecDeque<(Instant, Bytes)>,
    in_flight_bytes: usize,
    inbox: VecDeque<Bytes>,
    inbox_bytes: usize,
    last_tx_end: Option<Instant>,
    last_delivery: Option<Instant>,
    /// The sender closed: no more frames.
    fin: bool,
    /// The receiving end was dropped: frames are discarded and `send` fails.
    receiver_gone: bool,
}

impl Direction {
    fn drained(&self) -> bool {
        self.unsent.is_empty() && self.in_flight.is_empty()
    }

    fn finished(&self) -> bool {
        self.receiver_gone || (self.fin && self.drained())
    }

    fn discard(&mut self) {
        let fin = self.fin;
        let receiver_gone = self.receiver_gone;
        *self = Direction { fin, receiver_gone, ..Direction::default() };
    }
}

/// What one pump step decided.
struct Step {
    changed: bool,
    next: Option<Instant>,
    finished: bool,
}

impl Link {
    /// A new link and its two ends (dialer, listener). Spawn [`pump`] for it.
    pub(crate) fn open(
        number: u64,
        hosts: LinkHosts,
        config: LinkConfig,
        config_version: u64,
        rng: StdRng,
        nics: [Interfaces; 2],
    ) -> (Arc<Link>, LinkEnd, LinkEnd) {
        let mut state = LinkState {
            dirs: Default::default(),
            reset: None,
            config: LinkConfig::perfect(),
            config_version,
            rng,
            reset_at: None,
            nics,
        };
        state.apply_config(config, config_version, Instant::now());
        let link =
            Arc::new(Link { number, hosts, state: Mutex::new(state), changed: Notify::new(), pump: Notify::new() });
        let dialer = LinkEnd { link: link.clone(), side: 0 };
        let listener = LinkEnd { link: link.clone(), side: 1 };
        (link, dialer, listener)
    }

    pub(crate) fn hosts(&self) -> &LinkHosts {
        &self.hosts
    }

    fn state(&self) -> MutexGuard<'_, LinkState> {
        // Nothing panics while holding the lock; recover the state rather than propagate a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resets the link: queued frames are discarded and both ends see [`LinkError::Lost`].
    pub(crate) fn fail(&self, reason: &str) {
        let mut state = self.state();
        if state.fail(reason) {
            tracing::debug!(link = self.number, reason, "link reset");
        }
        drop(state);
        self.wake_all();
    }

    /// Tells the pump that the network's configuration changed.
    pub(crate) fn wake_pump(&self) {
        self.pump.notify_one();
    }

    fn wake_all(&self) {
        self.pump.notify_one();
        self.changed.notify_waiters();
    }
}

impl LinkState {
    fn fail(&mut self, reason: &str) -> bool {
        if self.reset.is_some() {
            return false;
        }
        self.reset = Some(reason.to_owned());
        self.dirs.iter_mut().for_each(Direction::discard);
        true
    }

    fn apply_config(&mut self, config: LinkConfig, version: u64, now: Instant) {
        self.reset_at = config.mean_time_between_resets.and_then(|mean| {
            // Exponential inter-reset time: -ln(1 - U) × mean, U uniform in [0, 1).
            let u: f64 = self.rng.gen();
            let secs = -(1.0 - u).ln() * mean.as_secs_f64();
            let wait = Duration::try_from_secs_f64(secs).unwrap_or(NEVER).min(NEVER);
            now.checked_add(wait)
        });
        self.config = config;
        self.config_version = version;
    }

    /// Moves every frame whose time has come, and says when to look again.
    fn step(&mut self, now: Instant) -> Step {
        if self.reset.is_some() {
            return Step { changed: false, next: None, finished: true };
        }
        if self.reset_at.is_some_and(|at| at <= now) {
            self.fail("reset by the simulated network (mean time between resets)");
            return Step { changed: true, next: None, finished: true };
        }
        let mut changed = false;
        let mut next = self.reset_at;
        for side in 0..2 {
            match self.step_direction(side, now) {
                Ok((moved, wake)) => {
                    changed |= moved;
                    next = earliest(next, wake);
                }
                Err(()) => {
                    self.fail("reset by the simulated network (reset per frame)");
                    return Step { changed: true, next: None, finished: true };
                }
            }
        }
        let finished = self.dirs.iter().all(Direction::finished);
        Step { changed, next, finished }
    }

    /// One direction's transmissions and deliveries. `Err` when the link draws a per-frame reset.
    fn step_direction(&mut self, side: usize, now: Instant) -> Result<(bool, Option<Instant>), ()> {
        let LinkState { dirs, config, rng, nics, .. } = self;
        let dir = &mut dirs[side];
        let nics = &nics[side];
        let mut changed = false;
        if dir.receiver_gone {
            changed = !dir.drained() || !dir.inbox.is_empty();
            dir.discard();
            return Ok((changed, None));
        }
        loop {
            if let Some(end) = dir.transmitting {
                if end > now {
                    break;
                }
                let frame = dir.unsent.pop_front().expect("a transmitting frame heads the unsent queue");
                dir.unsent_bytes -= frame.len();
                dir.transmitting = None;
                let mut delay = config.latency;
                if !config.jitter.is_zero() {
                    let max = u64::try_from(config.jitter.as_nanos()).unwrap_or(u64::MAX);
                    delay = delay.saturating_add(Duration::from_nanos(rng.gen_range(0..=max)));
                }
                if config.loss > 0.0 && rng.gen_bool(probability(config.loss)) {
                    delay = delay.saturating_add(config.retransmission_delay);
                }
                let mut at = later(end, delay);
                if let Some(download) = &nics.download {
                    // Pipelined, like TCP: the receiver's interface takes bytes as they arrive, so the
                    // slower of the two rates sets the pace, not their sum.
                    let first_byte_arrives = later(dir.first_byte_sent.unwrap_or(end), delay);
                    at = at.max(download.pass(frame.len(), first_byte_arrives).end);
                }
                let at = at.max(dir.last_delivery.unwrap_or(end));
                dir.last_delivery = Some(at);
                dir.in_flight_bytes += frame.len();
                dir.in_flight.push_back((at, frame));
                changed = true;
            }
            let window_open = dir.in_flight_bytes + dir.inbox_bytes < RECEIVE_WINDOW;
            match dir.unsent.front() {
                Some(frame) if window_open => {
                    if config.reset_per_frame > 0.0 && rng.gen_bool(probability(config.reset_per_frame)) {
                        return Err(());
                    }
                    let start = dir.last_tx_end.map_or(now, |t| t.max(now));
                    let mut end = later(start, config.transmission_time(frame.len()));
                    let mut first_byte = start;
                    if let Some(upload) = &nics.upload {
                        let through = upload.pass(frame.len(), start);
                        first_byte = through.start;
                        end = end.max(through.end);
                    }
                    dir.first_byte_sent = Some(first_byte);
                    dir.last_tx_end = Some(end);
                    dir.transmitting = Some(end);
                }
                _ => break,
            }
        }
        while let Some((at, _)) = dir.in_flight.front() {
            if *at > now {
                break;
            }
            let (_, frame) = dir.in_flight.pop_front().expect("front exists");
            dir.in_flight_bytes -= frame.len();
            dir.inbox_bytes += frame.len();
            dir.inbox.push_back(frame);
            changed = true;
        }
        let next = earliest(dir.transmitting, dir.in_flight.front().map(|(at, _)| *at));
        Ok((changed, next))
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d.min(NEVER)).unwrap_or(t)
}

/// Moves frames across `link` until both directions are finished or the link is reset.
pub(crate) async fn pump(link: Arc<Link>, network: MemoryNetwork) {
    loop {
        let version = network.config_version();
        let fresh_config = {
            let stale = link.state().config_version != version;
            stale.then(|| network.link_config(&link.hosts))
        };
        let step = {
            let mut state = link.state();
            let now = Instant::now();
            if let Some((config, version)) = fresh_config {
                state.apply_config(config, version, now);
            }
            state.step(now)
        };
        if step.changed || step.finished {
            link.changed.notify_waiters();
        }
        if step.finished {
            tracing::trace!(link = link.number, "link finished");
            return;
        }
        match step.next {
            Some(at) => {
                tokio::select! {
                    biased;
                    () = link.pump.notified() => {}
                    () = tokio::time::sleep_until(at) => {}
                }
            }
            None => link.pump.notified().await,
        }
    }
}

/// One end of a link. Dropping it closes its sending direction and stops its receiving one.
pub(crate) struct LinkEnd {
    link: Arc<Link>,
    side: usize,
}

impl LinkEnd {
    /// The link's number, unique within its network (for logs).
    pub(crate) fn number(&self) -> u64 {
        self.link.number
    }

    /// The network's view of the link's ends.
    pub(crate) fn hosts(&self) -> &LinkHosts {
        &self.link.hosts
    }

    /// Queues one frame; pending while [`UNSENT_BOUND`] bytes are unsent. No size check: callers check.
    pub(crate) async fn send(&self, frame: Bytes) -> Result<(), LinkError> {
        let side = self.side;
        self.wait(|state| {
            let dir = &state.dirs[side];
            if dir.fin {
                Some(Err(LinkError::Closed))
            } else if let Some(reason) = &state.reset {
                Some(Err(LinkError::Lost(reason.clone())))
            } else if dir.receiver_gone {
                Some(Err(LinkError::Lost("the peer went away".into())))
            } else if dir.unsent_bytes < UNSENT_BOUND {
                let dir = &mut state.dirs[side];
                dir.unsent_bytes += frame.len();
                dir.unsent.push_back(frame.clone());
                Some(Ok(()))
            } else {
                None
            }
        })
        .await?;
        self.link.pump.notify_one();
        Ok(())
    }

    /// The next frame; `None` once the peer closed and every earlier frame was received.
    pub(crate) async fn recv(&self) -> Result<Option<Bytes>, LinkError> {
        let inbound = 1 - self.side;
        let frame = self
            .wait(|state| {
                if let Some(reason) = &state.reset {
                    return Some(Err(LinkError::Lost(reason.clone())));
                }
                let dir = &mut state.dirs[inbound];
                if let Some(frame) = dir.inbox.pop_front() {
                    dir.inbox_bytes -= frame.len();
                    Some(Ok(Some(frame)))
                } else if dir.fin && dir.drained() {
                    Some(Ok(None))
                } else {
                    None
                }
            })
            .await?;
        if frame.is_some() {
            // The receive window opened.
            self.link.pump.notify_one();
        }
        Ok(frame)
    }

    /// Closes this end's sending direction; frames already accepted are still delivered.
    ///
    /// `Err` when the link was reset before this end closed (accepted frames may be lost).
    pub(crate) fn close(&self) -> Result<(), LinkError> {
        let mut state = self.link.state();
        let already_closed = std::mem::replace(&mut state.dirs[self.side].fin, true);
        let lost = state.reset.clone();
        drop(state);
        self.link.wake_all();
        match lost {
            Some(reason) if !already_closed => Err(LinkError::Lost(reason)),
            _ => Ok(()),
        }
    }

    /// Resets the link (e.g. after a protocol violation): both ends see [`LinkError::Lost`].
    pub(crate) fn fail(&self, reason: &str) {
        self.link.fail(reason);
    }

    /// Runs `attempt` under the lock until it yields, waiting for changes in between.
    async fn wait<T>(&self, mut attempt: impl FnMut(&mut LinkState) -> Option<T>) -> T {
        loop {
            let notified = self.link.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = attempt(&mut self.link.state()) {
                return result;
            }
            notified.await;
        }
    }
}

impl Drop for LinkEnd {
    fn drop(&mut self) {
        let mut state = self.link.state();
        state.dirs[self.side].fin = true;
        let inbound = &mut state.dirs[1 - self.side];
        inbound.receiver_gone = true;
        inbound.discard();
        drop(state);
        self.link.wake_all();
    }
}
