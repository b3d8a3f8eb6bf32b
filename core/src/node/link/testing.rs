//! Test support for links, shared by core's tests, its doctests and every transport's tests.
//! Not part of the stable API.
//!
//! - [`channel_pair`]: a minimal in-process [`Connection`] over tokio channels, whose sends can be
//!   held at a [`Gate`]. Its raw end is how tests write hand-crafted frames at a link.
//! - [`Tap`]: a connection wrapper that counts accepted sends (`try_send`s included), to act at a known
//!   point of a transfer.
//! - [`PartReassembler`]: a link's part reassembly on its own, for fuzz targets and property tests.
//! - [`vote_overtakes_proposal`]: the headline scenario of DESIGN.md §2, generic over the transport, so
//!   each transport proves it with one line (see `transports/in-memory/tests/priority_over_transports.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, watch, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::inbound::{Reassembly, ReassemblyLimits};
use super::stats::Counters;
use super::{InvalidConfig, LinkEvent, PeerLink, PeerLinkConfig, Violation, PART_OVERHEAD};
use crate::identity::{ChainId, Keypair, ValidatorId};
use crate::message::{BlockHash, ConsensusMessage, Envelope, Frame, Height, Proposal, Round, Vote};
use crate::node::priority::Priority;
use crate::transport::{
    check_outgoing_frame, Admission, Connection, PeerAddress, Transport, TransportConfig, TransportContext,
    TransportError,
};

/// Frames a [`ChannelConnection`] holds in flight: a few, so a stalled reader soon stalls the sender.
const CHANNEL_FRAMES: usize = 4;

/// One end of an in-process connection. Frames are passed as `Bytes` through a bounded channel of
/// four frames (its declared K is nominal: 64 KiB).
pub struct ChannelConnection {
    remote: ValidatorId,
    max_frame_len: usize,
    tx: Mutex<Option<mpsc::Sender<Bytes>>>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Bytes>>,
    gate: Option<Gate>,
    closed: AtomicBool,
}

/// Holds a connection's sends ([`ChannelConnection`]'s, a [`Tap`]'s) until released: each accepted
/// frame takes one permit.
#[derive(Clone)]
pub struct Gate(Arc<Semaphore>);

impl Gate {
    /// A gate that lets `frames` frames through, then holds.
    fn letting_through(frames: usize) -> Self {
        Gate(Arc::new(Semaphore::new(frames)))
    }

    /// Waits for a permit; forget it once the frame is accepted, drop it to hand it back.
    async fn pass(&self) -> SemaphorePermit<'_> {
        self.0.acquire().await.expect("gates are never closed")
    }

    /// A permit if one is free now.
    fn try_pass(&self) -> Option<SemaphorePermit<'_>> {
        self.0.try_acquire().ok()
    }

    /// Lets `frames` more frames through.
    pub fn release(&self, frames: usize) {
        self.0.add_permits(frames);
    }

    /// Lets everything through from now on.
    pub fn open(&self) {
        self.0.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

/// A connected pair: the first end is validator `[1; 32]`'s, talking to `[2; 32]`, and vice versa.
pub fn channel_pair(max_frame_len: usize) -> (ChannelConnection, ChannelConnection) {
    pair(max_frame_len, None)
}

/// As [`channel_pair`], but the first end's sends wait at the returned [`Gate`], which starts closed.
pub fn gated_channel_pair(max_frame_len: usize) -> (ChannelConnection, ChannelConnection, Gate) {
    let gate = Gate::letting_through(0);
    let (a, b) = pair(max_frame_len, Some(gate.clone()));
    (a, b, gate)
}

fn pair(max_frame_len: usize, gate: Option<Gate>) -> (ChannelConnection, ChannelConnection) {
    let (to_b, from_a) = mpsc::channel(CHANNEL_FRAMES);
    let (to_a, from_b) = mpsc::channel(CHANNEL_FRAMES);
    let end = |remote: u8, tx, rx, gate| ChannelConnection {
        remote: ValidatorId([remote; 32]),
        max_frame_len,
        tx: Mutex::new(Some(tx)),
        rx: tokio::sync::Mutex::new(rx),
        gate,
        closed: AtomicBool::new(false),
    };
    (end(2, to_b, from_b, gate), end(1, to_a, from_a, None))
}

#[async_trait]
impl Connection for ChannelConnection {
    fn remote(&self) -> ValidatorId {
        self.remote
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    fn unsent_bound(&self) -> usize {
        64 * 1024
    }

    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        check_outgoing_frame(&frame, self.max_frame_len)?;
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner).clone().ok_or(TransportError::Closed)?;
        let permit = match &self.gate {
            Some(gate) => Some(gate.pass().await),
            None => None,
        };
        tx.send(frame)
            .await
            .map_err(|_| TransportError::ConnectionLost { peer: self.remote, reason: "peer dropped".into() })?;
        if let Some(permit) = permit {
            permit.forget();
        }
        Ok(())
    }

    /// Takes the frame if the channel has room and the gate (if any) a permit, as `send` would
    /// without waiting.
    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        if let Err(e) = check_outgoing_frame(frame, self.max_frame_len) {
            return Some(Err(e));
        }
        let Some(tx) = self.tx.lock().unwrap_or_else(PoisonError::into_inner).clone() else {
            return Some(Err(TransportError::Closed));
        };
        let permit = match &self.gate {
            Some(gate) => Some(gate.try_pass()?),
            None => None,
        };
        // Full, or the peer gone (which `send` reports): either way, left to `send`.
        tx.try_reserve().ok()?.send(frame.clone());
        if let Some(permit) = permit {
            permit.forget();
        }
        Some(Ok(()))
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(TransportError::Closed);
        }
        Ok(self.rx.lock().await.recv().await)
    }

    async fn close(&self) -> Result<(), TransportError> {
        self.closed.store(true, Ordering::Relaxed);
        self.tx.lock().unwrap_or_else(PoisonError::into_inner).take();
        Ok(())
    }
}

/// A connection that counts the frames its inner connection accepted, optionally holding its sends
/// at a [`Gate`].
pub struct Tap {
    inner: Arc<dyn Connection>,
    accepted: watch::Sender<u64>,
    gate: Option<Gate>,
}

impl Tap {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Connection>) -> Self {
        Tap { inner, accepted: watch::Sender::new(0), gate: None }
    }

    /// Wraps `inner`, letting `frames` sends through and holding the rest at the returned gate: a
    /// test acts at a known point of a transfer however fast the transport drains it.
    pub fn holding_after(inner: Arc<dyn Connection>, frames: usize) -> (Self, Gate) {
        let gate = Gate::letting_through(frames);
        (Tap { inner, accepted: watch::Sender::new(0), gate: Some(gate.clone()) }, gate)
    }

    /// Waits until at least `frames` frames were accepted.
    pub async fn accepted_at_least(&self, frames: u64) {
        let mut accepted = self.accepted.subscribe();
        let _ = accepted.wait_for(|n| *n >= frames).await;
    }
}

#[async_trait]
impl Connection for Tap {
    fn remote(&self) -> ValidatorId {
        self.inner.remote()
    }

    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }

    fn unsent_bound(&self) -> usize {
        self.inner.unsent_bound()
    }

    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        let permit = match &self.gate {
            Some(gate) => Some(gate.pass().await),
            None => None,
        };
        self.inner.send(frame).await?;
        if let Some(permit) = permit {
            permit.forget();
        }
        self.accepted.send_modify(|n| *n += 1);
        Ok(())
    }

    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        let permit = match &self.gate {
            Some(gate) => Some(gate.try_pass()?),
            None => None,
        };
        let outcome = self.inner.try_send(frame)?;
        if outcome.is_ok() {
            if let Some(permit) = permit {
                permit.forget();
            }
            self.accepted.send_modify(|n| *n += 1);
        }
        Some(outcome)
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        self.inner.recv().await
    }

    async fn close(&self) -> Result<(), TransportError> {
        self.inner.close().await
    }
}

/// The part reassembly a [`PeerLink`]'s reader runs, without a task or connection around it, so a fuzz
/// target can feed it a peer's frames one by one and check how much it holds after each.
pub struct PartReassembler {
    reassembly: Reassembly,
    counters: Counters,
}

impl PartReassembler {
    /// The reassembly of a link with `config` over a connection whose frame limit is `max_frame_len`.
    ///
    /// # Errors
    /// [`InvalidConfig`] where [`PeerLink::spawn`] would refuse `config`.
    pub fn new(config: &PeerLinkConfig, max_frame_len: usize) -> Result<Self, InvalidConfig> {
        config.validate(max_frame_len)?;
        let reassembly = Reassembly::new(ReassemblyLimits::new(config, max_frame_len));
        Ok(PartReassembler { reassembly, counters: Counters::default() })
    }

    /// Takes one frame's contents as the connection delivered them (within its frame limit): the whole
    /// frame this completes, if any. After an error the link would be closed: feed nothing more.
    ///
    /// # Errors
    /// The [`Violation`] the link would close with.
    pub fn receive(&mut self, frame: &Bytes) -> Result<Option<Frame>, Violation> {
        Ok(self.reassembly.receive(frame, &self.counters)?.map(|received| received.frame))
    }

    /// Bytes of partial frames held now; never above [`PeerLinkConfig::max_reassembly_bytes`].
    pub fn buffered_bytes(&self) -> usize {
        self.reassembly.buffered_bytes()
    }

    /// Frames partly received now; never above [`PeerLinkConfig::max_partial_frames`].
    pub fn partial_frames(&self) -> usize {
        self.reassembly.partial_frames()
    }
}

/// What the link between the two transports is known to do, to bound the vote's latency.
#[derive(Debug, Clone, Copy)]
pub struct LinkShape {
    /// Bytes per second, if the link is shaped; `None` (e.g. loopback) asserts ordering only.
    pub bandwidth: Option<u64>,
    /// One-way latency.
    pub latency: Duration,
    /// Allowed above the computed bound: timer granularity, scheduling.
    pub slack: Duration,
}

/// What [`vote_overtakes_proposal`] measured.
#[derive(Debug, Clone)]
pub struct HeadlineReport {
    /// From queueing the vote to its delivery at the peer.
    pub vote_latency: Duration,
    /// The asserted bound on `vote_latency`, when the link's bandwidth is known.
    pub vote_bound: Option<Duration>,
    /// From queueing the proposal to its reassembled delivery.
    pub proposal_latency: Duration,
    /// From queueing the vote to the proposal's delivery: how long after the vote the proposal completed.
    pub proposal_after_vote: Duration,
    /// The proposal's encoded length and the number of parts it took.
    pub proposal_len: usize,
    /// Parts the proposal was sent in.
    pub parts: u64,
    /// Parts the transport had accepted when the vote was queued.
    pub parts_before_vote: u64,
    /// The transport's declared K.
    pub unsent_bound: usize,
}

impl std::fmt::Display for HeadlineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "vote latency {:?} (bound {:?}); proposal of {} bytes in {} parts: {:?} after queueing, {:?} after the \
             vote was queued ({} parts out when the vote was queued; K = {} bytes)",
            self.vote_latency,
            self.vote_bound,
            self.proposal_len,
            self.parts,
            self.proposal_latency,
            self.proposal_after_vote,
            self.parts_before_vote,
            self.unsent_bound
        )
    }
}

/// The headline scenario (DESIGN.md §2): over a connection of the transport `build` makes, a vote
/// queued while a 4 MiB proposal is being sent arrives before the proposal completes; with a known
/// bandwidth, within `(K + one part + the vote) / bandwidth + latency + slack`; and the proposal
/// arrives intact.
///
/// `build` makes a participant's transport from its context (a conformance `TransportFactory`'s
/// `build` fits); the listener listens at `listen`. Every wait is bounded.
///
/// # Errors
/// A description of what did not happen.
pub async fn vote_overtakes_proposal(
    build: impl Fn(TransportContext) -> Arc<dyn Transport>,
    listen: PeerAddress,
    shape: LinkShape,
) -> Result<HeadlineReport, String> {
    const PATIENCE: Duration = Duration::from_secs(120);
    const PARTS_BEFORE_VOTE: u64 = 3;
    let within = |what: &'static str| move |_| format!("timed out after {PATIENCE:?} waiting for {what}");
    let keys = [1u8, 2].map(|seed| Arc::new(Keypair::from_seed(&[seed; 32])));
    let admission = Admission::for_validators(keys.iter().map(|key| key.validator_id()));
    let chain = ChainId::from_network_name("node-link-headline");
    let context = |key: &Arc<Keypair>| TransportContext {
        keypair: key.clone(),
        chain_id: chain,
        admission: admission.clone(),
        config: TransportConfig::test(),
    };
    let (dialer, listener) = (build(context(&keys[0])), build(context(&keys[1])));
    let mut listener = listener.listen(&listen).await.map_err(|e| format!("listen on {listen}: {e}"))?;
    let addr = listener.local_addr();
    let (dialed, accepted) = tokio::time::timeout(PATIENCE, async {
        tokio::join!(dialer.dial(&addr, Some(keys[1].validator_id())), listener.accept())
    })
    .await
    .map_err(within("dial and accept"))?;
    let dialed: Arc<dyn Connection> = Arc::from(dialed.map_err(|e| format!("dial {addr}: {e}"))?);
    let accepted: Arc<dyn Connection> = Arc::from(accepted.map_err(|e| format!("accept on {addr}: {e}"))?);

    // The tap holds the proposal after its first parts until the vote is queued: on an unshaped
    // link a busy machine could otherwise run the whole proposal out before the vote exists.
    let (tap, gate) = Tap::holding_after(dialed, PARTS_BEFORE_VOTE as usize);
    let tap = Arc::new(tap);
    let unsent_bound = tap.unsent_bound();
    let config = PeerLinkConfig::test();
    let part_size = config.part_size;
    let (sender, _sender_events) = PeerLink::spawn(tap.clone(), config.clone()).map_err(|e| e.to_string())?;
    let (receiver, mut events) = PeerLink::spawn(accepted, config).map_err(|e| e.to_string())?;

    let (proposal, vote) = proposal_and_vote(&keys[0], chain, tap.max_frame_len());
    let proposal_len = proposal.encode().len();
    let vote_len = vote.encode().len();
    let proposal_queued = Instant::now();
    sender.send(&proposal, Priority::Proposal).await.map_err(|e| format!("queueing the proposal: {e}"))?;
    tokio::time::timeout(PATIENCE, tap.accepted_at_least(PARTS_BEFORE_VOTE))
        .await
        .map_err(within("the transport to accept the proposal's first parts"))?;
    let parts_before_vote = sender.stats().parts_sent;
    let vote_queued = Instant::now();
    sender.send(&vote, Priority::Vote).await.map_err(|e| format!("queueing the vote: {e}"))?;
    gate.open();

    let mut arrivals = Vec::new();
    while arrivals.len() < 2 {
        match tokio::time::timeout(PATIENCE, events.recv()).await.map_err(within("the vote and the proposal"))? {
            Some(LinkEvent::Frame(inbound)) => arrivals.push((inbound.frame.clone(), inbound.received_at)),
            other => return Err(format!("the receiving link ended before both frames arrived: {other:?}")),
        }
    }
    let [(first, vote_at), (second, proposal_at)] = <[_; 2]>::try_from(arrivals).expect("two arrivals");
    if first != vote {
        return Err(format!("the first frame to arrive was not the vote but {:?}", Priority::of(&first)));
    }
    if second != proposal {
        return Err("the proposal did not arrive intact".into());
    }
    let vote_bound = shape.bandwidth.map(|bandwidth| {
        let bytes = (unsent_bound + part_size + PART_OVERHEAD + vote_len) as f64;
        Duration::from_secs_f64(bytes / bandwidth as f64) + shape.latency + shape.slack
    });
    let report = HeadlineReport {
        vote_latency: vote_at - vote_queued,
        vote_bound,
        proposal_latency: proposal_at - proposal_queued,
        proposal_after_vote: proposal_at - vote_queued,
        proposal_len,
        parts: sender.stats().parts_sent,
        parts_before_vote,
        unsent_bound,
    };
    if vote_bound.is_some_and(|bound| report.vote_latency > bound) {
        return Err(format!("the vote took longer than its bound: {report}"));
    }
    sender.close().await;
    receiver.close().await;
    Ok(report)
}

/// A signed proposal whose frame is just under `max_frame_len`, and a signed pre-vote for it.
fn proposal_and_vote(key: &Keypair, chain: ChainId, max_frame_len: usize) -> (Frame, Frame) {
    /// Room for the envelope and proposal fields (an ML-DSA signature alone is 3 309 bytes).
    const ENVELOPE_ROOM: usize = 16 * 1024;
    let (height, round, block_hash) = (Height(1), Round(0), BlockHash([0xb1; 32]));
    let block = (0..max_frame_len - ENVELOPE_ROOM).map(|i| (i % 251) as u8).collect();
    let proposal = ConsensusMessage::Proposal(Proposal {
        height,
        round,
        proposer: key.validator_id(),
        block_hash,
        pol_round: None,
        block,
    });
    let vote =
        ConsensusMessage::PreVote(Vote { height, round, validator: key.validator_id(), block_hash: Some(block_hash) });
    let frame = |seq, message| Frame::Envelope(Envelope::sign_message(key, chain, seq, 0, message));
    (frame(1, &proposal), frame(2, &vote))
}
