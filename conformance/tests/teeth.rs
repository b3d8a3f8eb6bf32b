//! The suite has teeth: a working transport, broken in each way DESIGN.md §4 lists and in each way
//! `core::transport`'s contract now rules out (a frame larger than K, `recv` after a local close, a
//! drop without close, a dropped listener), fails the case named for that fault — and the same wrapper without a fault passes that case, so each test proves
//! the fault is caught rather than that the case is flaky.
//!
//! The working transport is the example third-party transport `custom-tcp`, built by the very factory
//! its own conformance test uses (included by path below). Faults are injected generically: one
//! [`Broken`] transport (with [`BrokenListener`] and [`BrokenConnection`]) wraps whatever the factory
//! builds, and one [`BrokenFactory`] builds it. Faults that live below a wrapper's reach are injected
//! where they would really arise:
//! - *ignores the admission handle*: the inner transport is built with an open admission handle
//!   instead of the live one it was given;
//! - *accepts oversize frames*: the inner transport is built with twice the limit, while the wrapper
//!   declares the configured one and skips the size check;
//! - *skips authentication*: a wrapper cannot make the inner handshake accept a forged proof, so the
//!   broken factory's impostor produces the outcome such a listener would give — it dials honestly with
//!   the victim's key, and gets a connection as the victim, which is what an impostor replaying the
//!   victim's proof gets from a listener that does not check the proof against the link;
//! - *dies on garbage*: the broken factory marks garbage as delivered, and from then on the broken
//!   listener's `accept` fails, as a listener whose accept loop died on those bytes would.

#[path = "../../examples/custom-transport/tests/factory/mod.rs"]
mod custom_tcp;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use custom_tcp::CustomTcpFactory;
use quorumnet_conformance::{case, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{
    check_outgoing_frame, Admission, Connection, Listener, PeerAddress, Transport, TransportConfig, TransportContext,
    TransportError,
};
use tokio::sync::{mpsc, Mutex};

/// Which received frame a stream fault hits: early in the ordering case's 10 000, past the handshake.
const FAULTY_FRAME: usize = 100;
/// Short patience for both the broken and the unbroken runs, so faults that hang fail fast.
const PATIENCE: Duration = Duration::from_secs(2);

/// The ways DESIGN.md §4 breaks a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    DropsAFrame,
    DuplicatesAFrame,
    ReordersFrames,
    CorruptsOneByte,
    SkipsAuthentication,
    IgnoresTheAdmissionHandle,
    IgnoresTheExpectedId,
    AcceptsOversizeFrames,
    BuffersWithoutBound,
    NeverReportsClose,
    HangsDialingADeadAddress,
    DiesOnGarbage,
    WaitsForRoomForAFrameLargerThanK,
    EndsRecvAtLocalClose,
    DiscardsUnflushedFramesOnDrop,
    KeepsADroppedListenerOpen,
}

impl Fault {
    /// The case that must catch it.
    fn caught_by(self) -> &'static str {
        match self {
            Fault::DropsAFrame | Fault::DuplicatesAFrame | Fault::ReordersFrames | Fault::CorruptsOneByte => {
                "ten_thousand_mixed_frames_in_order_exactly_once"
            }
            Fault::SkipsAuthentication => "impostor_replaying_a_proof_gets_no_connection",
            Fault::IgnoresTheAdmissionHandle => "unadmitted_peer_is_refused",
            Fault::IgnoresTheExpectedId => "wrong_expected_identity_is_refused",
            Fault::AcceptsOversizeFrames => "oversize_and_empty_frames_fail_cleanly",
            Fault::BuffersWithoutBound => "backpressure_declared_bound_and_blocks_before_16_mib",
            Fault::NeverReportsClose => "clean_close_is_seen_as_none",
            Fault::HangsDialingADeadAddress => "dial_to_dead_address_fails_within_bound",
            Fault::DiesOnGarbage => "garbage_does_not_take_listener_down",
            Fault::WaitsForRoomForAFrameLargerThanK => "frame_larger_than_k_is_accepted_alone",
            Fault::EndsRecvAtLocalClose => "recv_works_after_local_close",
            Fault::DiscardsUnflushedFramesOnDrop => "dropped_connection_delivers_what_it_accepted",
            Fault::KeepsADroppedListenerOpen => "dropped_listener_ends_unaccepted_connections",
        }
    }
}

/// Builds `custom-tcp` wrapped in [`Broken`]; with no fault, the wrapper passes everything through.
struct BrokenFactory {
    inner: CustomTcpFactory,
    fault: Option<Fault>,
    garbage_delivered: Arc<AtomicBool>,
}

impl BrokenFactory {
    fn new(fault: Option<Fault>) -> Self {
        BrokenFactory { inner: CustomTcpFactory, fault, garbage_delivered: Arc::default() }
    }

    fn has(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }
}

#[async_trait]
impl TransportFactory for BrokenFactory {
    fn build(&self, mut ctx: TransportContext) -> Arc<dyn Transport> {
        let limit = ctx.config.max_frame_len;
        if self.has(Fault::IgnoresTheAdmissionHandle) {
            ctx.admission = Admission::open();
        }
        if self.has(Fault::AcceptsOversizeFrames) {
            ctx.config.max_frame_len *= 2;
        }
        Arc::new(Broken {
            inner: self.inner.build(ctx),
            fault: self.fault,
            limit,
            garbage_delivered: self.garbage_delivered.clone(),
        })
    }

    fn listen_address(&self) -> PeerAddress {
        self.inner.listen_address()
    }

    fn dead_address(&self) -> PeerAddress {
        self.inner.dead_address()
    }

    fn impostor(&self, mut ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport> {
        match attack {
            ImpostorAttack::ReplaysProof { victim } if self.has(Fault::SkipsAuthentication) => {
                ctx.keypair = victim;
                self.build(ctx)
            }
            attack => self.inner.impostor(ctx, attack),
        }
    }

    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
        let garbage = matches!(how, Misbehaviour::Garbage(_));
        self.inner.misbehave(addr, how).await;
        if garbage {
            self.garbage_delivered.store(true, Ordering::Release);
        }
    }

    fn config(&self) -> TransportConfig {
        self.inner.config()
    }

    fn patience(&self) -> Duration {
        PATIENCE
    }
}

/// A transport with at most one fault.
struct Broken {
    inner: Arc<dyn Transport>,
    fault: Option<Fault>,
    /// The configured frame limit (the inner one may be larger).
    limit: usize,
    garbage_delivered: Arc<AtomicBool>,
}

impl Broken {
    fn wrap(&self, inner: Box<dyn Connection>) -> Box<dyn Connection> {
        let inner: Arc<dyn Connection> = Arc::from(inner);
        let unbounded = (self.fault == Some(Fault::BuffersWithoutBound)).then(|| {
            let (queue, mut queued) = mpsc::unbounded_channel::<Bytes>();
            let forwarder = inner.clone();
            tokio::spawn(async move {
                while let Some(frame) = queued.recv().await {
                    if forwarder.send(frame).await.is_err() {
                        return;
                    }
                }
            });
            queue
        });
        Box::new(BrokenConnection {
            inner,
            fault: self.fault,
            limit: self.limit,
            unbounded,
            received: Mutex::new(Received { count: 0, stashed: None }),
            closed: AtomicBool::new(false),
            unflushed: std::sync::Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl Transport for Broken {
    fn scheme(&self) -> &'static str {
        self.inner.scheme()
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        let inner = self.inner.listen(addr).await?;
        let transport = Broken {
            inner: self.inner.clone(),
            fault: self.fault,
            limit: self.limit,
            garbage_delivered: self.garbage_delivered.clone(),
        };
        Ok(Box::new(BrokenListener { inner: Some(inner), transport }))
    }

    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let expected = if self.fault == Some(Fault::IgnoresTheExpectedId) { None } else { expected };
        match self.inner.dial(addr, expected).await {
            Ok(connection) => Ok(self.wrap(connection)),
            // A dialer that silently retries forever.
            Err(_) if self.fault == Some(Fault::HangsDialingADeadAddress) => std::future::pending().await,
            Err(e) => Err(e),
        }
    }
}

struct BrokenListener {
    /// `None` only once dropped.
    inner: Option<Box<dyn Listener>>,
    transport: Broken,
}

impl BrokenListener {
    fn inner(&mut self) -> &mut dyn Listener {
        &mut **self.inner.as_mut().expect("present until drop")
    }
}

impl Drop for BrokenListener {
    fn drop(&mut self) {
        if self.transport.fault == Some(Fault::KeepsADroppedListenerOpen) {
            // A listener whose drop leaves its accept loop running, still holding what it accepted.
            let kept = self.inner.take();
            tokio::spawn(async move {
                let _kept = kept;
                std::future::pending::<()>().await
            });
        }
    }
}

#[async_trait]
impl Listener for BrokenListener {
    fn local_addr(&self) -> PeerAddress {
        self.inner.as_ref().expect("present until drop").local_addr()
    }

    async fn accept(&mut self) -> Result<Box<dyn Connection>, TransportError> {
        let died = self.transport.fault == Some(Fault::DiesOnGarbage)
            && self.transport.garbage_delivered.load(Ordering::Acquire);
        if died {
            return Err(TransportError::ListenerClosed { addr: self.local_addr().to_string() });
        }
        let accepted = self.inner().accept().await?;
        Ok(self.transport.wrap(accepted))
    }
}

struct BrokenConnection {
    inner: Arc<dyn Connection>,
    fault: Option<Fault>,
    limit: usize,
    unbounded: Option<mpsc::UnboundedSender<Bytes>>,
    received: Mutex<Received>,
    /// Whether `close` was called (for [`Fault::EndsRecvAtLocalClose`]).
    closed: AtomicBool,
    /// Frames held back until `close` (for [`Fault::DiscardsUnflushedFramesOnDrop`]).
    unflushed: std::sync::Mutex<Vec<Bytes>>,
}

struct Received {
    count: usize,
    /// A frame to return on the next `recv` (a duplicate, or the one overtaken).
    stashed: Option<Bytes>,
}

#[async_trait]
impl Connection for BrokenConnection {
    fn remote(&self) -> ValidatorId {
        self.inner.remote()
    }

    fn max_frame_len(&self) -> usize {
        self.limit
    }

    fn unsent_bound(&self) -> usize {
        self.inner.unsent_bound()
    }

    async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        if self.fault != Some(Fault::AcceptsOversizeFrames) {
            check_outgoing_frame(&frame, self.limit)?;
        }
        if self.fault == Some(Fault::WaitsForRoomForAFrameLargerThanK) && frame.len() > self.inner.unsent_bound() {
            // A byte budget of K that a frame larger than K can never fit into.
            return std::future::pending().await;
        }
        if self.fault == Some(Fault::DiscardsUnflushedFramesOnDrop) {
            // A coalescing writer that flushes only on `close`, and so loses its batch on drop.
            self.unflushed.lock().expect("not poisoned").push(frame);
            return Ok(());
        }
        match &self.unbounded {
            Some(queue) => queue.send(frame).map_err(|_| TransportError::Closed),
            None => self.inner.send(frame).await,
        }
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        if self.fault == Some(Fault::EndsRecvAtLocalClose) && self.closed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut received = self.received.lock().await;
        if let Some(frame) = received.stashed.take() {
            return Ok(Some(frame));
        }
        loop {
            let Some(mut frame) = self.inner.recv().await? else {
                return match self.fault {
                    Some(Fault::NeverReportsClose) => std::future::pending().await,
                    _ => Ok(None),
                };
            };
            let n = received.count;
            received.count += 1;
            if n != FAULTY_FRAME {
                return Ok(Some(frame));
            }
            match self.fault {
                Some(Fault::DropsAFrame) => continue,
                Some(Fault::DuplicatesAFrame) => received.stashed = Some(frame.clone()),
                Some(Fault::ReordersFrames) => {
                    if let Some(next) = self.inner.recv().await? {
                        received.count += 1;
                        received.stashed = Some(frame);
                        return Ok(Some(next));
                    }
                }
                Some(Fault::CorruptsOneByte) => {
                    let mut bytes = frame.to_vec();
                    let middle = bytes.len() / 2;
                    bytes[middle] ^= 0x20;
                    frame = bytes.into();
                }
                _ => {}
            }
            return Ok(Some(frame));
        }
    }

    async fn close(&self) -> Result<(), TransportError> {
        self.closed.store(true, Ordering::Release);
        let unflushed = std::mem::take(&mut *self.unflushed.lock().expect("not poisoned"));
        for frame in unflushed {
            self.inner.send(frame).await?;
        }
        self.inner.close().await
    }
}

/// Runs the case that must catch `fault`: it passes unbroken, and fails, by that name, broken.
async fn assert_caught(fault: Fault) {
    let name = fault.caught_by();
    let case = case(name).unwrap_or_else(|| panic!("the suite has no case named {name:?}"));
    if let Err(failure) = (case.run)(&BrokenFactory::new(None)).await {
        panic!("the unbroken transport must pass `{name}` for this test to prove anything, but: {failure}");
    }
    match (case.run)(&BrokenFactory::new(Some(fault))).await {
        Ok(()) => panic!("a transport that {fault:?} passed `{name}`: the suite has no teeth there"),
        Err(failure) => {
            assert_eq!(failure.case, name, "{fault:?} was reported by the wrong case: {failure}");
            println!("{fault:?} caught: {failure}");
        }
    }
}

macro_rules! teeth {
    ($($test:ident: $fault:ident,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            assert_caught(Fault::$fault).await;
        }
    )*};
}

teeth! {
    a_dropped_frame_is_caught: DropsAFrame,
    a_duplicated_frame_is_caught: DuplicatesAFrame,
    reordered_frames_are_caught: ReordersFrames,
    a_corrupted_byte_is_caught: CorruptsOneByte,
    skipped_authentication_is_caught: SkipsAuthentication,
    an_ignored_admission_handle_is_caught: IgnoresTheAdmissionHandle,
    an_ignored_expected_id_is_caught: IgnoresTheExpectedId,
    accepted_oversize_frames_are_caught: AcceptsOversizeFrames,
    unbounded_buffering_is_caught: BuffersWithoutBound,
    a_close_never_reported_is_caught: NeverReportsClose,
    a_dial_hanging_on_a_dead_address_is_caught: HangsDialingADeadAddress,
    a_listener_dying_on_garbage_is_caught: DiesOnGarbage,
    waiting_for_room_for_a_frame_larger_than_k_is_caught: WaitsForRoomForAFrameLargerThanK,
    recv_ending_at_a_local_close_is_caught: EndsRecvAtLocalClose,
    unflushed_frames_discarded_on_drop_are_caught: DiscardsUnflushedFramesOnDrop,
    a_dropped_listener_kept_open_is_caught: KeepsADroppedListenerOpen,
}
