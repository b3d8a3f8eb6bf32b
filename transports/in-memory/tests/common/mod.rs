//! Helpers shared by the integration tests: keys, contexts, connected pairs, bounded waits.
#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::transport::{
    Admission, Connection, Listener, PeerAddress, Transport, TransportConfig, TransportContext,
};
use quorumnet_memory::{MemoryNetwork, MemoryTransport};

/// The deterministic key of validator `i`.
pub fn key(i: u8) -> Arc<Keypair> {
    Arc::new(Keypair::from_seed(&[i; 32]))
}

pub fn id(i: u8) -> ValidatorId {
    key(i).validator_id()
}

pub fn chain() -> ChainId {
    ChainId::from_network_name("memory-tests")
}

pub fn addr(name: &str) -> PeerAddress {
    format!("mem://{name}").parse().expect("valid mem address")
}

/// Admits validators 1..=9.
pub fn admit_all() -> Admission {
    Admission::for_validators((1..=9).map(id))
}

pub fn ctx(key: Arc<Keypair>, admission: Admission, config: TransportConfig) -> TransportContext {
    TransportContext { keypair: key, chain_id: chain(), admission, config }
}

/// Validator `i` on `network`, admitting validators 1..=9, with the test config.
pub fn node(network: &MemoryNetwork, i: u8) -> MemoryTransport {
    node_with(network, i, admit_all(), TransportConfig::test())
}

pub fn node_with(network: &MemoryNetwork, i: u8, admission: Admission, config: TransportConfig) -> MemoryTransport {
    MemoryTransport::new(network.clone(), ctx(key(i), admission, config))
}

/// `fut`, or a panic naming `what` if it takes longer than `limit` (virtual time under pause).
pub async fn within<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Dials `listener` from `dialer` and accepts, returning (dialer's end, listener's end).
pub async fn connect(
    dialer: &MemoryTransport,
    listener: &mut Box<dyn Listener>,
) -> (Box<dyn Connection>, Box<dyn Connection>) {
    let addr = listener.local_addr();
    let (dialed, accepted) = within("dial and accept", Duration::from_secs(30), async {
        tokio::join!(dialer.dial(&addr, None), listener.accept())
    })
    .await;
    (dialed.expect("dial succeeds"), accepted.expect("accept succeeds"))
}

/// Asserts the listener yields no connection within `limit`.
pub async fn assert_no_accept(listener: &mut Box<dyn Listener>, limit: Duration) {
    if let Ok(result) = tokio::time::timeout(limit, listener.accept()).await {
        panic!("listener yielded a connection it should have refused: {:?}", result.map(|c| c.remote()));
    }
}
