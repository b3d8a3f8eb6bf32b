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
//!
//! Frames move at the times they are due whoever moves them: `send` and `recv` step the link
//! themselves, and the pump wakes only for what nobody else will do (a delivery due later, a
//! transmission ending, a scheduled reset). Each end waits on its own direction's notifier, so a
//! frame wakes its receiver alone. At a hundred validators a simulation moves half a million frames,
//! and a task wakeup per frame per end was a third of its CPU.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The network's configuration version: a step taken outside the pump needs the current config.
    network_config: Arc<AtomicU64>,
    /// `readers[d]`: the receiver of direction `d` waits here for a frame, the end, or a failure.
    readers: [Notify; 2],
    /// `writers[d]`: the sender of direction `d` waits here for room under K, or a failure.
    writers: [Notify; 2],
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
    /// When the pump looks next unless woken (`None`: only when woken).
    pump_alarm: Option<Instant>,
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

/// What one step decided.
struct Step {
    wake: Wake,
    next: Option<Instant>,
    finished: bool,
}

/// Whom a step must wake.
#[derive(Default, Clone, Copy)]
struct Wake {
    /// Direction `d`'s inbox gained frames.
    readers: [bool; 2],
    /// Direction `d`'s unsent bytes fell below K.
    writers: [bool; 2],
    /// The link failed: everyone.
    all: bool,
}

/// What one direction's step did.
struct DirectionStep {
    delivered: bool,
    room: bool,
    next: Option<Instant>,
}

impl Link {
    /// A new link and its two ends (dialer, listener). Spawn [`pump`] for it.
    pub(crate) fn open(
        number: u64,
        hosts: LinkHosts,
        config: LinkConfig,
        network_config: Arc<AtomicU64>,
        rng: StdRng,
        nics: [Interfaces; 2],
    ) -> (Arc<Link>, LinkEnd, LinkEnd) {
        let config_version = network_config.load(Ordering::SeqCst);
        let mut state = LinkState {
            dirs: Default::default(),
            reset: None,
            config: LinkConfig::perfect(),
            config_version,
            rng,
            reset_at: None,
            nics,
            pump_alarm: None,
        };
        state.apply_config(config, config_version, Instant::now());
        let link = Arc::new(Link {
            number,
            hosts,
            state: Mutex::new(state),
            network_config,
            readers: Default::default(),
            writers: Default::default(),
            pump: Notify::new(),
        });
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
        self.readers.iter().chain(&self.writers).for_each(Notify::notify_waiters);
    }

    fn wake(&self, wake: Wake) {
        if wake.all {
            return self.wake_all();
        }
        for d in 0..2 {
            if wake.readers[d] {
                self.readers[d].notify_waiters();
            }
            if wake.writers[d] {
                self.writers[d].notify_waiters();
            }
        }
    }

    /// Steps the link now, outside the pump, after a frame was queued or the receive window opened:
    /// on an idle link the frame starts (and without a bandwidth limit finishes) transmitting at
    /// once. The pump is woken only if it must look earlier than it planned to, or if the network's
    /// configuration changed (only the pump reads it).
    fn kick(&self, mut state: MutexGuard<'_, LinkState>) {
        if state.config_version != self.network_config.load(Ordering::SeqCst) {
            drop(state);
            self.pump.notify_one();
            return;
        }
        let step = state.step(Instant::now());
        let pump_late = step.finished || step.next.is_some_and(|at| state.pump_alarm.is_none_or(|alarm| at < alarm));
        drop(state);
        self.wake(step.wake);
        if pump_late {
            self.pump.notify_one();
        }
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

    /// Queues `frame` on side `side`'s direction if it is under K: `None` when `send` must wait.
    fn offer(&mut self, side: usize, frame: &Bytes) -> Option<Result<(), LinkError>> {
        let dir = &mut self.dirs[side];
        if dir.fin {
            Some(Err(LinkError::Closed))
        } else if let Some(reason) = &self.reset {
            Some(Err(LinkError::Lost(reason.clone())))
        } else if dir.receiver_gone {
            Some(Err(LinkError::Lost("the peer went away".into())))
        } else if dir.unsent_bytes < UNSENT_BOUND {
            dir.unsent_bytes += frame.len();
            dir.unsent.push_back(frame.clone());
            Some(Ok(()))
        } else {
            None
        }
    }

    /// Takes the next frame of direction `inbound` (`Some(None)`: it ended), and whether taking it
    /// reopened the receive window; `None` when `recv` must wait.
    #[allow(clippy::type_complexity)]
    fn take(&mut self, inbound: usize) -> Option<Result<(Option<Bytes>, bool), LinkError>> {
        if let Some(reason) = &self.reset {
            return Some(Err(LinkError::Lost(reason.clone())));
        }
        let dir = &mut self.dirs[inbound];
        if let Some(frame) = dir.inbox.pop_front() {
            let was_full = dir.in_flight_bytes + dir.inbox_bytes >= RECEIVE_WINDOW;
            dir.inbox_bytes -= frame.len();
            let opened = was_full && dir.in_flight_bytes + dir.inbox_bytes < RECEIVE_WINDOW;
            Some(Ok((Some(frame), opened)))
        } else if dir.fin && dir.drained() {
            Some(Ok((None, false)))
        } else {
            None
        }
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
        let failed = Step { wake: Wake { all: true, ..Wake::default() }, next: None, finished: true };
        if self.reset.is_some() {
            return Step { wake: Wake::default(), ..failed };
        }
        if self.reset_at.is_some_and(|at| at <= now) {
            self.fail("reset by the simulated network (mean time between resets)");
            return failed;
        }
        let mut wake = Wake::default();
        let mut next = self.reset_at;
        for side in 0..2 {
            match self.step_direction(side, now) {
                Ok(step) => {
                    wake.readers[side] = step.delivered;
                    wake.writers[side] = step.room;
                    next = earliest(next, step.next);
                }
                Err(()) => {
                    self.fail("reset by the simulated network (reset per frame)");
                    return failed;
                }
            }
        }
        let finished = self.dirs.iter().all(Direction::finished);
        if finished {
            wake.all = true;
        }
        Step { wake, next, finished }
    }

    /// One direction's transmissions and deliveries. `Err` when the link draws a per-frame reset.
    fn step_direction(&mut self, side: usize, now: Instant) -> Result<DirectionStep, ()> {
        let LinkState { dirs, config, rng, nics, .. } = self;
        let dir = &mut dirs[side];
        let nics = &nics[side];
        if dir.receiver_gone {
            // The sender's `send` fails from now on; the drop that set this woke it.
            dir.discard();
            return Ok(DirectionStep { delivered: false, room: false, next: None });
        }
        let writer_waiting = dir.unsent_bytes >= UNSENT_BOUND;
        let mut delivered = false;
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
            delivered = true;
        }
        let next = earliest(dir.transmitting, dir.in_flight.front().map(|(at, _)| *at));
        let room = writer_waiting && dir.unsent_bytes < UNSENT_BOUND;
        Ok(DirectionStep { delivered, room, next })
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
            let step = state.step(now);
            state.pump_alarm = step.next;
            step
        };
        link.wake(step.wake);
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
        self.wait(&self.link.writers[side], |state| state.offer(side, &frame)).await?;
        self.link.kick(self.link.state());
        Ok(())
    }

    /// Queues `frame` if [`Self::send`] would take it without waiting; `None` (nothing queued) if it
    /// would wait.
    pub(crate) fn try_send(&self, frame: &Bytes) -> Option<Result<(), LinkError>> {
        let mut state = self.link.state();
        let offered = state.offer(self.side, frame)?;
        if offered.is_ok() {
            self.link.kick(state);
        }
        Some(offered)
    }

    /// The next frame; `None` once the peer closed and every earlier frame was received.
    pub(crate) async fn recv(&self) -> Result<Option<Bytes>, LinkError> {
        let inbound = 1 - self.side;
        let (frame, window_opened) = self.wait(&self.link.readers[inbound], |state| state.take(inbound)).await?;
        if window_opened {
            self.link.kick(self.link.state());
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
    async fn wait<T>(&self, notify: &Notify, mut attempt: impl FnMut(&mut LinkState) -> Option<T>) -> T {
        // Most calls find what they came for: look before paying for a registered waiter.
        if let Some(result) = attempt(&mut self.link.state()) {
            return result;
        }
        loop {
            let notified = notify.notified();
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
