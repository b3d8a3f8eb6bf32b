//! quic passes the shared conformance suite: one line, one test per case, on loopback.
//!
//! The factory's impostors run real QUIC + TLS sessions and present a forged proof (the victim's key
//! with the impostor's signature) or a replayed one (the victim's genuine signature over another
//! session's exporter); garbage is a UDP datagram, and the stall a dialer that completes TLS and then
//! sends half a length prefix.

use std::sync::Arc;

use async_trait::async_trait;
use quorumnet_conformance::{sockets, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::secure::{IdentityPayload, IDENTITY_PAYLOAD_VERSION};
use quorumnet_core::transport::{PeerAddress, Transport, TransportContext};
use quorumnet_quic::proof::{sign, signing_bytes};
use quorumnet_quic::{testing, ProofMaker, QuicTransport, SCHEME};

/// How many handshake timeouts a stalled dialer holds its connection at most.
const STALL_HOLD_TIMEOUTS: u32 = 4;

/// Builds `quic` transports on 127.0.0.1.
#[derive(Debug, Default, Clone, Copy)]
struct QuicFactory;

#[async_trait]
impl TransportFactory for QuicFactory {
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport> {
        Arc::new(QuicTransport::new(ctx).expect("TLS setup"))
    }

    fn listen_address(&self) -> PeerAddress {
        sockets::loopback_listen_address(SCHEME)
    }

    fn dead_address(&self) -> PeerAddress {
        sockets::dead_loopback_address(SCHEME)
    }

    fn impostor(&self, ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport> {
        let forge: ProofMaker = match attack {
            ImpostorAttack::ClaimsKey { victim } => Arc::new(move |own, chain, role, exporter| IdentityPayload {
                v: IDENTITY_PAYLOAD_VERSION,
                pk: victim.encoded().to_vec(),
                sig: own.sign(&signing_bytes(chain, role, exporter)),
            }),
            // The victim's genuine proof for another session, as a capture would hold it.
            ImpostorAttack::ReplaysProof { victim } => {
                Arc::new(move |_, chain, role, _| sign(&victim, chain, role, &[0x42; 32]))
            }
        };
        Arc::new(QuicTransport::with_proof_maker(ctx, forge).expect("TLS setup"))
    }

    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
        let server = sockets::socket_addr(addr);
        match how {
            Misbehaviour::Garbage(bytes) => {
                let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("a loopback UDP socket");
                // A QUIC server drops what does not parse; there is no answer to wait for.
                socket.send_to(&bytes, server).await.expect("sending garbage");
            }
            Misbehaviour::StallMidHandshake => {
                testing::stall_after_tls(server, self.config().handshake_timeout * STALL_HOLD_TIMEOUTS).await;
            }
        }
    }
}

quorumnet_conformance::conformance_tests!(QuicFactory);
