//! A relay on the simulator and validators that reach it: shared by the relay tests.
#![allow(dead_code, reason = "each relay test uses part of the world")]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::relay::{RelayClientConfig, RelayConfig, RelayServer, RelayTransport};
use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
use quorumnet_memory::{MemoryNetwork, MemoryTransport};

pub const RELAY_NAME: &str = "relay";

pub fn key(seed: u8) -> Arc<Keypair> {
    Arc::new(Keypair::from_seed(&[seed; 32]))
}

pub fn context(key: &Arc<Keypair>, admission: Admission) -> TransportContext {
    TransportContext {
        keypair: key.clone(),
        chain_id: ChainId::from_network_name("relay-tests"),
        admission,
        config: TransportConfig::test(),
    }
}

/// `what` within `limit`, or the test fails naming it.
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future).await.unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
}

/// A relay at `mem://relay` admitting validators `1..=n` (seeds), and their keys.
pub struct World {
    pub network: MemoryNetwork,
    pub relay: RelayServer,
    pub relay_id: ValidatorId,
    pub keys: Vec<Arc<Keypair>>,
}

impl World {
    pub async fn new(n: u8, config: RelayConfig) -> Self {
        let network = MemoryNetwork::new(11);
        let keys: Vec<_> = (1..=n).map(key).collect();
        let relay_key = key(200);
        let admitted = Admission::for_validators(keys.iter().map(|k| k.validator_id()));
        let listener = MemoryTransport::new(network.clone(), context(&relay_key, admitted))
            .listen(&format!("mem://{RELAY_NAME}").parse().unwrap())
            .await
            .unwrap();
        let relay = RelayServer::spawn(listener, config);
        World { network, relay, relay_id: relay_key.validator_id(), keys }
    }

    /// The `relay` transport of `key`, admitting the world's validators and the relay.
    pub fn transport_of(&self, key: &Arc<Keypair>) -> RelayTransport {
        let admission = Admission::for_validators(self.keys.iter().map(|k| k.validator_id()));
        admission.allow(self.relay_id);
        let ctx = context(key, admission);
        let inner = Arc::new(MemoryTransport::new(self.network.clone(), ctx.clone()));
        RelayTransport::over(ctx, inner).with_config(RelayClientConfig::test())
    }

    pub fn transport(&self, index: usize) -> RelayTransport {
        self.transport_of(&self.keys[index])
    }

    pub fn listen_address(&self) -> quorumnet_core::transport::PeerAddress {
        format!("relay://mem://{RELAY_NAME}").parse().unwrap()
    }
}
