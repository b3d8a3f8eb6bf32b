//! The metrics endpoint: `GET /metrics` on one TCP address, answered with what a [`Scrape`]
//! renders; anything else gets a 4xx. Independent of what is measured, so a node and a relay serve
//! their own metrics through the same endpoint.
//!
//! Hand-written HTTP/1.1 on a tokio listener rather than hyper: it answers one request per
//! connection on one path, so the whole protocol is a bounded head read ([`request`](super::request),
//! parsed by `httparse`) and one response ([`response`](super::response)). Every wait is bounded —
//! the head read, the scrape and the write each have a timeout — and at most
//! [`MAX_CONNECTIONS`] are served at once (more are closed unanswered), so a slow or hostile client
//! costs bounded memory and never stalls the scrapes of others.
//!
//! ```no_run
//! use prometheus_client::metrics::counter::Counter;
//! use prometheus_client::registry::Registry;
//! use quorumnet::operator::metrics::server::MetricsServer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let mut registry = Registry::default();
//! let relayed: Counter = Counter::default();
//! registry.register("quorumnet_relayed_frames", "Frames relayed", relayed.clone());
//! // Bind first, so a busy port is reported before anything else starts.
//! let server = MetricsServer::bind("127.0.0.1:9100".parse().unwrap()).await?;
//! let endpoint = server.serve(registry);
//! relayed.inc();
//! // … until shutdown:
//! endpoint.stop().await;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use super::request::{route, Route, MAX_HEAD_BYTES};
use super::response::Response;

/// Connections served at once; a scraper needs one, a few more leave room for an operator's curl.
pub const MAX_CONNECTIONS: usize = 16;

/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a scrape may take to render; past it the client gets a 503 (a wedged node must not
/// hold connections forever).
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long writing the response may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// After a failed accept (out of file descriptors, say), the pause before the next, so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the endpoint serves: the text exposition of some metrics, rendered when scraped.
pub trait Scrape: Send + Sync + 'static {
    /// The metrics now, in the OpenMetrics text format (ending in `# EOF`).
    fn scrape(&self) -> impl Future<Output = String> + Send;
}

/// A registry of live metrics (counters and gauges the process updates as it goes) is rendered as
/// it stands.
impl Scrape for Registry {
    async fn scrape(&self) -> String {
        render(self)
    }
}

/// The OpenMetrics text of `registry`.
///
/// ```
/// use prometheus_client::metrics::gauge::Gauge;
/// use prometheus_client::registry::Registry;
///
/// let mut registry = Registry::default();
/// let peers: Gauge = Gauge::default();
/// registry.register("quorumnet_connected_peers", "Validators connected now", peers.clone());
/// peers.set(3);
/// let text = quorumnet::operator::metrics::server::render(&registry);
/// assert!(text.contains("\nquorumnet_connected_peers 3\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
pub fn render(registry: &Registry) -> String {
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, registry) {
        // Writing to a String cannot fail; a metric's own encoder could, and the scrape shows it.
        tracing::warn!(%error, "a metric failed to encode");
        text.push_str("# a metric failed to encode\n# EOF\n");
    }
    text
}

/// A bound metrics address, not yet answering.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
    address: SocketAddr,
}

impl MetricsServer {
    /// Binds `address` (port 0: any free port, see [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    /// The operating system's, e.g. [`io::ErrorKind::AddrInUse`] when another socket holds it.
    pub async fn bind(address: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        Ok(MetricsServer { listener, address })
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Starts answering, on a task of the current tokio runtime, with what `scrape` renders.
    pub fn serve<S: Scrape>(self, scrape: S) -> MetricsEndpoint {
        let task = tokio::spawn(accept_loop(self.listener, Arc::new(scrape)));
        MetricsEndpoint { address: self.address, task }
    }
}

/// A serving endpoint. Stops when [`stop`](Self::stop)ped or dropped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsEndpoint {
    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, drops the connections being served and returns once the listener is closed.
    pub async fn stop(mut self) {
        self.task.abort();
        // Only a cancellation (or a panic, which there is no caller to report to) can come back.
        let _ = (&mut self.task).await;
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections for ever, each served on its own task. The tasks live in a [`JoinSet`]
/// owned here, so aborting this loop aborts them too.
async fn accept_loop<S: Scrape>(listener: TcpListener, scrape: Arc<S>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, client)) => {
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        tracing::debug!(%client, "metrics endpoint at its connection cap: closed unanswered");
                        continue;
                    };
                    let scrape = scrape.clone();
                    connections.spawn(async move {
                        serve_connection(stream, scrape.as_ref()).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics endpoint cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reaps finished connections so the set stays at most the cap.
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Answers the one request of a connection, then closes it. A client that goes silent or away
/// gets nothing: there is no one to tell.
async fn serve_connection<S: Scrape>(mut stream: TcpStream, scrape: &S) {
    let Ok(Ok(route)) = timeout(READ_TIMEOUT, read_route(&mut stream)).await else { return };
    let response = match route {
        Route::Metrics => match timeout(SCRAPE_TIMEOUT, scrape.scrape()).await {
            Ok(text) => Response::metrics(text),
            Err(_) => Response::unavailable(),
        },
        refused => Response::refusal(refused),
    };
    let write = async {
        stream.write_all(&response.to_bytes()).await?;
        stream.shutdown().await
    };
    if let Ok(Err(error)) | Err(error) = timeout(WRITE_TIMEOUT, write).await.map_err(io::Error::from) {
        tracing::debug!(%error, "metrics response not delivered");
    }
}

/// Reads the request head until it routes (complete, malformed or too large).
async fn read_route(stream: &mut TcpStream) -> io::Result<Route> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    loop {
        // `route` answers once the head reaches the bound, so there is always room here.
        let room = (MAX_HEAD_BYTES - head.len()).min(buffer.len());
        let n = stream.read(&mut buffer[..room]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buffer[..n]);
        if let Some(route) = route(&head) {
            return Ok(route);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use prometheus_client::metrics::counter::Counter;

    use super::*;
    use crate::operator::metrics::response::OPENMETRICS_CONTENT_TYPE;

    /// A registry with one counter at 7, served on a free loopback port.
    async fn endpoint() -> MetricsEndpoint {
        let mut registry = Registry::default();
        let counter: Counter = Counter::default();
        registry.register("quorumnet_test_things", "Things counted by the test", counter.clone());
        counter.inc_by(7);
        MetricsServer::bind("127.0.0.1:0".parse().unwrap()).await.unwrap().serve(registry)
    }

    /// Connects to `address` with read and write timeouts, so a hung endpoint fails the test.
    fn connect(address: SocketAddr) -> io::Result<std::net::TcpStream> {
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(stream)
    }

    /// Sends `request` on `stream`, closes the sending half, and reads the whole response.
    fn send(mut stream: std::net::TcpStream, request: &[u8]) -> io::Result<String> {
        stream.write_all(request)?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(String::from_utf8_lossy(&response).into_owned())
    }

    /// [`send`]s `request` on a new connection, on a blocking thread (the endpoint runs on the
    /// test's runtime).
    async fn exchange(address: SocketAddr, request: Vec<u8>) -> io::Result<String> {
        tokio::task::spawn_blocking(move || send(connect(address)?, &request)).await.unwrap()
    }

    async fn get(address: SocketAddr, path: &str) -> String {
        exchange(address, format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn get_metrics_serves_the_registry_as_openmetrics_text() {
        let endpoint = endpoint().await;
        let response = get(endpoint.local_addr(), "/metrics").await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains(&format!("Content-Type: {OPENMETRICS_CONTENT_TYPE}\r\n")), "{response}");
        assert!(response.contains("Connection: close\r\n"), "{response}");
        assert!(response.contains("\nquorumnet_test_things_total 7\n"), "{response}");
        assert!(response.ends_with("# EOF\n"), "{response}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_paths_are_404_and_other_methods_405() {
        let endpoint = endpoint().await;
        let response = get(endpoint.local_addr(), "/").await;
        assert!(response.starts_with("HTTP/1.1 404 Not Found\r\n"), "{response}");
        assert!(!response.contains("quorumnet_test_things"), "{response}");
        let request = b"DELETE /metrics HTTP/1.1\r\n\r\n".to_vec();
        let response = exchange(endpoint.local_addr(), request).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 405 Method Not Allowed\r\nContent-Type"), "{response}");
        assert!(response.contains("Allow: GET\r\n"), "{response}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_bytes_get_400_and_the_endpoint_keeps_serving() {
        let endpoint = endpoint().await;
        let response = exchange(endpoint.local_addr(), b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n".to_vec()).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{response}");
        assert!(get(endpoint.local_addr(), "/metrics").await.starts_with("HTTP/1.1 200 OK\r\n"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_oversized_head_gets_431_and_the_endpoint_keeps_serving() {
        let endpoint = endpoint().await;
        // Exactly the bound and no end of head: all of it is read, so the answer is not lost to a
        // reset for unread bytes.
        let mut request = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
        request.resize(MAX_HEAD_BYTES, b'a');
        let response = exchange(endpoint.local_addr(), request).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
        assert!(get(endpoint.local_addr(), "/metrics").await.starts_with("HTTP/1.1 200 OK\r\n"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_closes_early_gets_nothing_and_the_endpoint_keeps_serving() {
        let endpoint = endpoint().await;
        let response = exchange(endpoint.local_addr(), b"GET /metr".to_vec()).await.unwrap();
        assert_eq!(response, "", "a head cut short is not answered");
        assert!(get(endpoint.local_addr(), "/metrics").await.starts_with("HTTP/1.1 200 OK\r\n"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn over_the_connection_cap_a_client_is_closed_unanswered_and_the_others_are_served() {
        let endpoint = endpoint().await;
        let address = endpoint.local_addr();
        let request = b"GET /metrics HTTP/1.1\r\n\r\n";
        let (over, held) = tokio::task::spawn_blocking(move || {
            // Accepted in connection order, each holding its permit while it sends nothing.
            let held: Vec<_> = (0..MAX_CONNECTIONS).map(|_| connect(address).unwrap()).collect();
            let over = send(connect(address).unwrap(), request);
            let held: Vec<String> = held.into_iter().map(|stream| send(stream, request).unwrap()).collect();
            (over, held)
        })
        .await
        .unwrap();
        // Closed unanswered: an empty read, or a reset for the request it never read.
        assert!(over.as_ref().map_or(true, String::is_empty), "over the cap: {over:?}");
        for response in held {
            assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_endpoint_refuses_connections() {
        let endpoint = endpoint().await;
        let address = endpoint.local_addr();
        endpoint.stop().await;
        let refused = tokio::task::spawn_blocking(move || std::net::TcpStream::connect(address)).await.unwrap();
        assert_eq!(refused.map_err(|e| e.kind()).err(), Some(io::ErrorKind::ConnectionRefused));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_address_fails_to_bind_with_addr_in_use() {
        let endpoint = endpoint().await;
        let error = MetricsServer::bind(endpoint.local_addr()).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }
}
