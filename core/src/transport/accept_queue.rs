//! The accept side every listener shares: raw inbound connections in, authenticated and admitted
//! [`Connection`]s out, with handshakes run concurrently and bounded in number and in time.
//!
//! A transport says where its raw inbound connections come from and how one becomes authenticated
//! (an [`Inbound`]); [`AcceptQueue::spawn`] runs the loop and is itself the [`Listener`].
//!
//! # Bounds
//! - At most `max_concurrent_handshakes` (at least 1) handshakes run at once; further inbound
//!   connections wait in the source (the OS backlog, the simulator's backlog) until a slot frees.
//! - Each handshake is cut off `handshake_timeout` after its connection was taken from the source, so a
//!   stalled or garbage peer holds a slot for at most that long.
//! - At most `max_concurrent_handshakes` authenticated connections wait for [`Listener::accept`]; while
//!   that queue is full, finished handshakes wait holding their slots, so an application that stops
//!   accepting stops the listener taking new work instead of growing a queue.
//!
//! # Closing
//! Dropping the queue closes the listener: it stops taking inbound connections, aborts the handshakes
//! in progress (their peers see the connection fail, never a clean end) and drops the connections that
//! finished their handshake but were not yet accepted (their peers see what dropping a [`Connection`]
//! shows, `core::transport`'s contract says what). When the source itself ends, `accept` returns what
//! is still queued, then [`TransportError::ListenerClosed`].

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use super::{Connection, Listener, PeerAddress, TransportConfig, TransportError};

/// One inbound handshake, run as its own task: an authenticated, admitted connection or why not.
pub type Handshake = Pin<Box<dyn Future<Output = Result<Box<dyn Connection>, TransportError>> + Send + 'static>>;

/// Where a listener's raw inbound connections come from, and how one becomes authenticated.
///
/// # Example
/// ```
/// use async_trait::async_trait;
/// use quorumnet_core::transport::{AcceptQueue, Handshake, Inbound, PeerAddress, TransportConfig, TransportError};
///
/// /// A source that yields nothing: its listener reports closed at once.
/// struct Nobody;
///
/// #[async_trait]
/// impl Inbound for Nobody {
///     type Pending = ();
///     async fn next(&mut self) -> Option<()> {
///         None
///     }
///     fn authenticate(&self, _: ()) -> Handshake {
///         Box::pin(async { Err(TransportError::Closed) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use quorumnet_core::transport::Listener;
/// let local: PeerAddress = "mem://nobody".parse().unwrap();
/// let mut listener = AcceptQueue::spawn(local, &TransportConfig::test(), Nobody);
/// assert!(matches!(listener.accept().await, Err(TransportError::ListenerClosed { .. })));
/// # }
/// ```
#[async_trait]
pub trait Inbound: Send + 'static {
    /// A raw inbound connection whose handshake has not run yet (a TCP stream, a simulated link, a
    /// QUIC incoming connection).
    type Pending: Send + 'static;

    /// Waits for the next raw inbound connection; `None` once no more can come, which closes the
    /// listener. Transient failures (out of file descriptors) are the source's to log and back off from.
    async fn next(&mut self) -> Option<Self::Pending>;

    /// The handshake for `pending`. Its failures are logged by the queue, never returned from
    /// `accept`; the queue bounds it by the config's `handshake_timeout`.
    fn authenticate(&self, pending: Self::Pending) -> Handshake;
}

/// A [`Listener`] over an [`Inbound`] source: at most `max_concurrent_handshakes` handshakes at
/// once, each cut off `handshake_timeout` after its connection was taken from the source, and as
/// many authenticated connections waiting for [`Listener::accept`].
pub struct AcceptQueue {
    local: PeerAddress,
    ready: mpsc::Receiver<Box<dyn Connection>>,
    task: JoinHandle<()>,
}

impl AcceptQueue {
    /// Starts accepting from `source` for the listener at `local`, with `config`'s handshake limits.
    /// Must be called inside a tokio runtime.
    pub fn spawn(local: PeerAddress, config: &TransportConfig, source: impl Inbound) -> Self {
        // A config of 0 would accept nobody: run at least one handshake at a time.
        let limit = config.max_concurrent_handshakes.max(1);
        let (found, ready) = mpsc::channel(limit);
        let span = tracing::info_span!("listener", addr = %local);
        let task = tokio::spawn(accept_loop(source, found, limit, config.handshake_timeout).instrument(span));
        AcceptQueue { local, ready, task }
    }
}

impl std::fmt::Debug for AcceptQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptQueue").field("local", &self.local).finish_non_exhaustive()
    }
}

impl Drop for AcceptQueue {
    fn drop(&mut self) {
        // Dropping the loop's future drops its `JoinSet`, which aborts every handshake in progress.
        self.task.abort();
    }
}

#[async_trait]
impl Listener for AcceptQueue {
    fn local_addr(&self) -> PeerAddress {
        self.local.clone()
    }

    async fn accept(&mut self) -> Result<Box<dyn Connection>, TransportError> {
        self.ready.recv().await.ok_or_else(|| TransportError::ListenerClosed { addr: self.local.to_string() })
    }
}

async fn accept_loop<S: Inbound>(
    mut source: S,
    found: mpsc::Sender<Box<dyn Connection>>,
    limit: usize,
    timeout: std::time::Duration,
) {
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            pending = source.next(), if handshakes.len() < limit => {
                let Some(pending) = pending else { break };
                let handshake = source.authenticate(pending);
                let found = found.clone();
                handshakes.spawn(
                    async move {
                        match tokio::time::timeout(timeout, handshake).await {
                            // If the listener is gone, dropping the connection closes it.
                            Ok(Ok(connection)) => drop(found.send(connection).await),
                            Ok(Err(error)) => tracing::info!(%error, "inbound handshake failed"),
                            Err(_) => tracing::info!(after = ?timeout, "inbound handshake timed out"),
                        }
                    }
                    .in_current_span(),
                );
            }
        }
    }
    // The source ended: let the handshakes already running finish, so `accept` still yields them.
    while handshakes.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::node::link::testing::channel_pair;

    /// A source fed by the test: each pending connection is a oneshot the test answers to finish its
    /// handshake (or drops to fail it); `running` counts handshakes in progress.
    struct Scripted {
        pending: mpsc::Receiver<oneshot::Receiver<()>>,
        running: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Inbound for Scripted {
        type Pending = oneshot::Receiver<()>;

        async fn next(&mut self) -> Option<Self::Pending> {
            self.pending.recv().await
        }

        fn authenticate(&self, finish: Self::Pending) -> Handshake {
            let running = self.running.clone();
            running.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let outcome = finish.await;
                running.fetch_sub(1, Ordering::SeqCst);
                outcome.map_err(|_| TransportError::Closed)?;
                Ok(Box::new(channel_pair(1024).0) as Box<dyn Connection>)
            })
        }
    }

    fn config(handshakes: usize) -> TransportConfig {
        TransportConfig { max_concurrent_handshakes: handshakes, ..TransportConfig::test() }
    }

    fn queue(handshakes: usize) -> (AcceptQueue, mpsc::Sender<oneshot::Receiver<()>>, Arc<AtomicUsize>) {
        let (feed, pending) = mpsc::channel(64);
        let running = Arc::new(AtomicUsize::new(0));
        let source = Scripted { pending, running: running.clone() };
        (AcceptQueue::spawn("mem://queue".parse().unwrap(), &config(handshakes), source), feed, running)
    }

    /// Lets the spawned loop and handshakes run until nothing more is ready (virtual time stands still).
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_handshakes_run_at_once_than_the_config_allows() {
        let (_queue, feed, running) = queue(2);
        let mut answers = Vec::new();
        for _ in 0..5 {
            let (answer, pending) = oneshot::channel();
            feed.send(pending).await.unwrap();
            answers.push(answer);
        }
        settle().await;
        assert_eq!(running.load(Ordering::SeqCst), 2, "two slots, five waiting peers");
        drop(answers.remove(0)); // one handshake fails: its slot goes to the next peer
        settle().await;
        assert_eq!(running.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_handshake_is_cut_off_at_the_handshake_timeout() {
        let (mut queue, feed, running) = queue(1);
        let (_stalled, pending) = oneshot::channel();
        feed.send(pending).await.unwrap();
        let (answer, pending) = oneshot::channel();
        feed.send(pending).await.unwrap();
        settle().await;
        assert_eq!(running.load(Ordering::SeqCst), 1, "the second peer waits for the only slot");
        tokio::time::sleep(TransportConfig::test().handshake_timeout + Duration::from_millis(1)).await;
        answer.send(()).unwrap();
        let accepted = tokio::time::timeout(Duration::from_secs(1), queue.accept()).await;
        assert!(matches!(accepted, Ok(Ok(_))), "the slot freed by the timeout served the next peer");
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_source_ends_queued_connections_are_still_accepted_then_closed_is_reported() {
        let (mut queue, feed, _) = queue(4);
        for _ in 0..2 {
            let (answer, pending) = oneshot::channel();
            feed.send(pending).await.unwrap();
            answer.send(()).unwrap();
        }
        drop(feed);
        assert!(queue.accept().await.is_ok());
        assert!(queue.accept().await.is_ok());
        assert!(matches!(queue.accept().await, Err(TransportError::ListenerClosed { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_listener_aborts_handshakes_in_progress() {
        let (queue, feed, running) = queue(4);
        let (answer, pending) = oneshot::channel();
        feed.send(pending).await.unwrap();
        settle().await;
        assert_eq!(running.load(Ordering::SeqCst), 1);
        drop(queue);
        settle().await;
        assert!(answer.is_closed(), "the handshake's future was dropped with the listener");
        assert!(feed.is_closed(), "the source was dropped too: no more peers are taken");
    }
}
