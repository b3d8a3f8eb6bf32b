//! The in-memory transport passes the shared conformance suite: one line, one test per case, each on a
//! paused current-thread runtime as simulations run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use quorumnet_conformance::{ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::transport::{PeerAddress, Transport, TransportContext};
use quorumnet_memory::testing::{impostor_claiming, impostor_replaying, RawLink};
use quorumnet_memory::{MemoryNetwork, MemoryTransport, NONCE_LEN};

/// One simulated network per case, with fresh listener names.
struct MemoryFactory {
    network: MemoryNetwork,
    next_name: AtomicU64,
}

impl MemoryFactory {
    fn new() -> Self {
        MemoryFactory { network: MemoryNetwork::new(7), next_name: AtomicU64::new(0) }
    }
}

#[async_trait]
impl TransportFactory for MemoryFactory {
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport> {
        Arc::new(MemoryTransport::new(self.network.clone(), ctx))
    }

    fn listen_address(&self) -> PeerAddress {
        let n = self.next_name.fetch_add(1, Ordering::Relaxed);
        PeerAddress::new("mem", &format!("listener-{n}")).expect("valid address")
    }

    fn dead_address(&self) -> PeerAddress {
        PeerAddress::new("mem", "nobody-listens-here").expect("valid address")
    }

    fn impostor(&self, ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport> {
        Arc::new(match attack {
            ImpostorAttack::ClaimsKey { victim } => impostor_claiming(self.network.clone(), ctx, victim),
            ImpostorAttack::ReplaysProof { victim } => impostor_replaying(self.network.clone(), ctx, victim),
        })
    }

    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
        let link = self.network.open_raw(addr.rest()).expect("the listener exists");
        match how {
            Misbehaviour::Garbage(bytes) => {
                let _ = link.send(bytes).await;
                let deadline = self.config().handshake_timeout;
                let _ = tokio::time::timeout(deadline, until_closed(&link)).await;
            }
            Misbehaviour::StallMidHandshake => {
                // The first handshake message of an honest dialer is its nonce; then silence.
                let _ = link.send(vec![0x5a; NONCE_LEN]).await;
                tokio::spawn(async move { until_closed(&link).await });
            }
        }
    }
}

/// Waits until the listener drops the link.
async fn until_closed(link: &RawLink) {
    while let Ok(Some(_)) = link.recv().await {}
}

quorumnet_conformance::conformance_tests!(MemoryFactory::new(), runtime = CurrentThreadPaused);
