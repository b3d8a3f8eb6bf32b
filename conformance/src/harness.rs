//! What every case is built from: participants, bounded waits, and failures that name the case.

use std::fmt::{self, Display};
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::transport::{
    Admission, Connection, Listener, PeerAddress, Transport, TransportConfig, TransportContext, TransportError,
};
use tokio::task::JoinHandle;

use crate::TransportFactory;

/// Why a case failed: the case's name and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    /// The case, as named in [`crate::CASES`] and in the generated tests.
    pub case: &'static str,
    /// What was expected and what happened instead.
    pub message: String,
}

impl Display for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conformance case `{}` failed: {}", self.case, self.message)
    }
}

impl std::error::Error for CaseFailure {}

/// What a case returns.
pub type Outcome = Result<(), CaseFailure>;

/// Fails the case with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($run:expr, $cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err($run.fail(format!($($message)+)));
        }
    };
}
pub(crate) use ensure;

/// The case's name and patience: everything a spawned task needs to wait and fail properly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub case: &'static str,
    pub patience: Duration,
}

impl Limits {
    pub fn fail(&self, message: impl Display) -> CaseFailure {
        CaseFailure { case: self.case, message: message.to_string() }
    }

    /// Awaits `fut` for at most the patience; on time-out the case fails naming `what`.
    pub async fn wait<T>(&self, what: impl Display, fut: impl Future<Output = T>) -> Result<T, CaseFailure> {
        self.wait_at_most(self.patience, what, fut).await
    }

    /// Awaits `fut` for at most `limit`; on time-out the case fails naming `what`.
    pub async fn wait_at_most<T>(
        &self,
        limit: Duration,
        what: impl Display,
        fut: impl Future<Output = T>,
    ) -> Result<T, CaseFailure> {
        tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| self.fail(format!("timed out after {limit:?} waiting for {what}")))
    }

    /// Sends `frame`, failing the case if the send errs or stays pending past the patience.
    pub async fn send(&self, conn: &dyn Connection, frame: Bytes, what: impl Display) -> Result<(), CaseFailure> {
        let len = frame.len();
        self.wait(format!("send of {what} ({len} bytes)"), conn.send(frame))
            .await?
            .map_err(|e| self.fail(format!("send of {what} ({len} bytes) failed: {e}")))
    }

    /// The next `recv` result, bounded; a transport error fails the case.
    pub async fn recv(&self, conn: &dyn Connection, what: impl Display) -> Result<Option<Bytes>, CaseFailure> {
        self.wait(format!("recv of {what}"), conn.recv())
            .await?
            .map_err(|e| self.fail(format!("recv of {what} failed: {e}")))
    }

    /// The next frame, which must exist.
    pub async fn recv_frame(&self, conn: &dyn Connection, what: impl Display) -> Result<Bytes, CaseFailure> {
        self.recv(conn, &what)
            .await?
            .ok_or_else(|| self.fail(format!("recv of {what} returned Ok(None): the connection ended instead")))
    }

    /// Spawns part of a case; dropping the [`Task`] aborts it.
    pub fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, CaseFailure>> + Send + 'static,
    ) -> Task<T> {
        Task { handle: tokio::spawn(fut), limits: *self }
    }
}

/// A spawned part of a case, aborted when dropped (a failing case leaves nothing running).
pub(crate) struct Task<T> {
    handle: JoinHandle<Result<T, CaseFailure>>,
    limits: Limits,
}

impl<T> Task<T> {
    /// Its result, waited for at most the patience (its own waits are bounded too).
    pub async fn join(mut self, what: impl Display) -> Result<T, CaseFailure> {
        let limits = self.limits;
        match limits.wait(&what, &mut self.handle).await? {
            Ok(result) => result,
            Err(e) => Err(limits.fail(format!("{what}: task failed: {e}"))),
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// One participant: a key, its live admission handle, and the transport under test built for it.
pub(crate) struct Peer {
    pub key: Arc<Keypair>,
    pub id: ValidatorId,
    pub admission: Admission,
    pub transport: Arc<dyn Transport>,
}

/// Both ends of one connection.
pub(crate) struct Link {
    pub dialer: Arc<dyn Connection>,
    pub listener: Arc<dyn Connection>,
}

/// One run of one case against one factory.
pub(crate) struct Run<'a> {
    limits: Limits,
    pub factory: &'a dyn TransportFactory,
    pub config: TransportConfig,
    chain: ChainId,
}

impl Deref for Run<'_> {
    type Target = Limits;

    fn deref(&self) -> &Limits {
        &self.limits
    }
}

impl<'a> Run<'a> {
    pub fn new(factory: &'a dyn TransportFactory, case: &'static str) -> Self {
        Run {
            limits: Limits { case, patience: factory.patience() },
            factory,
            config: factory.config(),
            chain: ChainId::from_network_name("quorumnet-conformance"),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The deterministic key of participant `seed`.
    pub fn key(&self, seed: u8) -> Arc<Keypair> {
        Arc::new(Keypair::from_seed(&[seed; 32]))
    }

    pub fn context(&self, key: Arc<Keypair>, admission: Admission) -> TransportContext {
        TransportContext { keypair: key, chain_id: self.chain, admission, config: self.config.clone() }
    }

    pub fn peer(&self, key: Arc<Keypair>, admission: Admission) -> Peer {
        let transport = self.factory.build(self.context(key.clone(), admission.clone()));
        Peer { id: key.validator_id(), key, admission, transport }
    }

    /// `N` participants (keys 1..=N) that all admit each other.
    pub fn group<const N: usize>(&self) -> [Peer; N] {
        let keys: [Arc<Keypair>; N] = std::array::from_fn(|i| self.key(i as u8 + 1));
        let ids: Vec<ValidatorId> = keys.iter().map(|k| k.validator_id()).collect();
        keys.map(|key| self.peer(key, Admission::for_validators(ids.clone())))
    }

    /// `peer` listening on a fresh address.
    pub async fn listen(&self, peer: &Peer) -> Result<Box<dyn Listener>, CaseFailure> {
        let addr = self.factory.listen_address();
        self.wait(format!("listen on {addr}"), peer.transport.listen(&addr))
            .await?
            .map_err(|e| self.fail(format!("listen on {addr} failed: {e}")))
    }

    /// `from` dialing `addr`; the dial's own result is the case's to judge.
    pub async fn dial(
        &self,
        from: &Peer,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Result<Box<dyn Connection>, TransportError>, CaseFailure> {
        self.wait(format!("dial to {addr}"), from.transport.dial(addr, expected)).await
    }

    /// The listener's next connection, which must come.
    pub async fn accept(
        &self,
        listener: &mut dyn Listener,
        what: impl Display,
    ) -> Result<Arc<dyn Connection>, CaseFailure> {
        let connection = self
            .wait(format!("accept of {what}"), listener.accept())
            .await?
            .map_err(|e| self.fail(format!("accept of {what} failed: {e}")))?;
        Ok(Arc::from(connection))
    }

    /// `dialer` connects to `target` (listening on `listener`), expecting its id; checks both `remote()`s.
    pub async fn connect(
        &self,
        dialer: &Peer,
        target: &Peer,
        listener: &mut dyn Listener,
    ) -> Result<Link, CaseFailure> {
        let addr = listener.local_addr();
        let (dialed, accepted) =
            tokio::join!(self.dial(dialer, &addr, Some(target.id)), self.accept(listener, "a dialed connection"));
        let dialed: Arc<dyn Connection> =
            Arc::from(dialed?.map_err(|e| self.fail(format!("dial to {addr} failed: {e}")))?);
        let accepted = accepted?;
        ensure!(
            self,
            dialed.remote() == target.id,
            "the dialer's remote() is {:?}, but it dialed {:?}",
            dialed.remote(),
            target.id
        );
        ensure!(
            self,
            accepted.remote() == dialer.id,
            "the listener's remote() is {:?}, but {:?} dialed it",
            accepted.remote(),
            dialer.id
        );
        Ok(Link { dialer: dialed, listener: accepted })
    }

    /// A refused dial: an error, or (for transports where the dialer cannot learn of its refusal during
    /// the handshake) a connection that ends at once without ever delivering a frame.
    pub async fn expect_refused(&self, what: &str, dialed: Result<Box<dyn Connection>, TransportError>) -> Outcome {
        let Ok(connection) = dialed else { return Ok(()) };
        match tokio::time::timeout(self.patience, connection.recv()).await {
            Ok(Ok(None) | Err(_)) => Ok(()),
            Ok(Ok(Some(frame))) => {
                Err(self.fail(format!("{what} got a connection that delivered a {}-byte frame", frame.len())))
            }
            Err(_) => Err(self.fail(format!(
                "{what} got a connection (remote {:?}) that was still open after {:?}",
                connection.remote(),
                self.patience
            ))),
        }
    }

    /// Proves the listener yielded nothing for the attempts before: an admitted `sentinel` dials, and the
    /// listener's next connection must be the sentinel's.
    pub async fn expect_next_accept_is(&self, sentinel: &Peer, listener: &mut dyn Listener, refused: &str) -> Outcome {
        let addr = listener.local_addr();
        let (dialed, accepted) = tokio::join!(
            self.dial(sentinel, &addr, None),
            self.accept(listener, format!("the admitted sentinel dialing after {refused}"))
        );
        dialed?.map_err(|e| self.fail(format!("an admitted sentinel's dial after {refused} failed: {e}")))?;
        let remote = accepted?.remote();
        ensure!(
            self,
            remote == sentinel.id,
            "the listener yielded a connection from {remote:?} before the sentinel {:?}'s: {refused} got a connection",
            sentinel.id
        );
        Ok(())
    }
}
