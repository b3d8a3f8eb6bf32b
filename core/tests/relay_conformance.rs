//! The `relay` transport passes the shared conformance suite: every case runs through a real
//! `RelayServer` on the simulator, the two ends running Noise over their circuit.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use quorumnet_conformance::{noise, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::relay::{RelayClientConfig, RelayConfig, RelayServer, RelayTransport};
use quorumnet_core::transport::{Admission, PeerAddress, Transport, TransportConfig, TransportContext};
use quorumnet_memory::{MemoryNetwork, MemoryTransport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One simulated network and one relay per case.
struct RelayFactory {
    network: MemoryNetwork,
    relay_id: quorumnet_core::identity::ValidatorId,
    _relay: RelayServer,
    next_key: AtomicU64,
}

impl RelayFactory {
    fn new() -> Self {
        let network = MemoryNetwork::new(5);
        let relay_key = Arc::new(Keypair::from_seed(&[0xee; 32]));
        let ctx = TransportContext {
            keypair: relay_key.clone(),
            chain_id: ChainId::from_network_name("quorumnet-conformance"),
            // The suite's participants (on the suite's chain) hold keys of its choosing; the relay serves them all.
            admission: Admission::open(),
            config: TransportConfig::test(),
        };
        let (transport, addr) = (MemoryTransport::new(network.clone(), ctx), "mem://relay".parse().unwrap());
        let listen = transport.listen(&addr);
        // The simulator registers a listener without waiting: one poll finishes it (the factory is
        // built synchronously, inside the case's runtime).
        let Poll::Ready(listener) = std::pin::pin!(listen).poll(&mut Context::from_waker(Waker::noop())) else {
            unreachable!("MemoryTransport::listen does not wait")
        };
        let relay = RelayServer::spawn(listener.expect("the relay listens"), RelayConfig::test());
        RelayFactory { network, relay_id: relay_key.validator_id(), _relay: relay, next_key: AtomicU64::new(0) }
    }

    /// `ctx`'s relay transport; its links to the relay admit exactly the relay (the case's own
    /// admission handle judges only the end-to-end peers).
    fn relay_transport(&self, ctx: TransportContext) -> RelayTransport {
        let link_ctx = TransportContext { admission: Admission::for_validators([self.relay_id]), ..ctx.clone() };
        let inner = Arc::new(MemoryTransport::new(self.network.clone(), link_ctx));
        RelayTransport::over(ctx, inner).with_config(RelayClientConfig::test())
    }

    fn stranger(&self) -> RelayTransport {
        let n = self.next_key.fetch_add(1, Ordering::Relaxed);
        let mut seed = [0x77; 32];
        seed[..8].copy_from_slice(&n.to_be_bytes());
        self.relay_transport(TransportContext {
            keypair: Arc::new(Keypair::from_seed(&seed)),
            chain_id: ChainId::from_network_name("quorumnet-conformance"),
            admission: Admission::open(),
            config: self.config(),
        })
    }
}

#[async_trait]
impl TransportFactory for RelayFactory {
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport> {
        Arc::new(self.relay_transport(ctx))
    }

    fn listen_address(&self) -> PeerAddress {
        "relay://mem://relay".parse().unwrap()
    }

    fn dead_address(&self) -> PeerAddress {
        let nobody = Keypair::from_seed(&[0xdd; 32]).validator_id();
        format!("relay://mem://relay/{nobody}").parse().unwrap()
    }

    fn impostor(&self, ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport> {
        let (impostor, chain) = (ctx.keypair.clone(), ctx.chain_id);
        let attack = Arc::new(attack);
        let forge = Arc::new(move |keys: &_| noise::forged_payload(&attack, &impostor, &chain, keys).encode());
        Arc::new(self.relay_transport(ctx).with_payload_forger_for_testing(forge))
    }

    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
        let stranger = self.stranger();
        let Ok(mut circuit) = stranger.open_raw_circuit_for_testing(addr).await else { return };
        let bytes = match &how {
            Misbehaviour::Garbage(bytes) => bytes.clone(),
            Misbehaviour::StallMidHandshake => noise::honest_message_1(),
        };
        let _ = circuit.write_all(&bytes).await;
        let until_closed = async move {
            let mut sink = [0u8; 1024];
            while matches!(circuit.read(&mut sink).await, Ok(n) if n > 0) {}
            drop(stranger);
        };
        match how {
            Misbehaviour::Garbage(_) => {
                let _ = tokio::time::timeout(self.config().handshake_timeout, until_closed).await;
            }
            Misbehaviour::StallMidHandshake => drop(tokio::spawn(until_closed)),
        }
    }
}

quorumnet_conformance::conformance_tests!(RelayFactory::new(), runtime = CurrentThreadPaused);
